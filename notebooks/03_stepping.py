# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 3. Stepping through backward with the explorer
#
# `loss.backward(step=True)` returns a `BackwardStepper`: the same pass as `backward()`, one
# node at a time. Each step says which node it processed, the gradient that arrived from
# above (*upstream*), the op's *local rule*, and what it *sent* to each input; when the input is
# a parameter, which of its contributions this was ("contribution 2 of 3, from t=2").

# %%
import sys

import numpy as np

import tinygrad_rnn as tr
import viz

tr.manual_seed(0)
lstm = tr.nn.LSTM(input_size=2, hidden_size=2)
x = tr.Tensor(np.random.default_rng(0).standard_normal((3, 1, 2)), name="x")  # T = 3
output, (h_n, c_n) = lstm(x)
loss = h_n.sum()
loss.name = "loss"
stepper = loss.backward(step=True)
stepper.step(4)[-1]

# %% [markdown]
# ## The explorer
#
# Displayed in a notebook, a stepper is the **explorer**: the graph, the step text beside it,
# and every gradient so far. It is plain HTML and JavaScript (it works in a rendered notebook
# with no kernel). Click on it, then:
#
# - **→** or **n**: one step; **←** or **p**: back; **Home** / **End**: start / end.
# - The node of the step just taken is **current** (solid blue), the one the next step will
#   process is **next** (dashed blue ring); done ops take the colour of their gradient's norm.
#   The view pans to follow the current node; drag to pan, the wheel zooms, *show all* fits.
# - Click an op for its value, gradient, local rule and scope; click a parameter for its
#   contributions per time step, as a bar chart: the BPTT sum as far as it has got.
# - Long unrolls open in the *cells* view (one box per time step): click a step to open its ops.

# %%
stepper

# %% [markdown]
# The explorer shows frames the stepper computed in one pass: `stepper.frames()` is plain
# data, one dict per position (the event text, the nodes done, the gradients known, the
# contributions delivered). The stepper itself was left where it was:

# %%
frames = stepper.frames()
print(len(frames), "frames for", stepper.steps, "steps; the stepper is still at", stepper.position)
print(frames[4]["text"].splitlines()[0])
print([(c["leaf"], c["number"], c["of"], c["t"]) for f in frames for c in f["contributions"]][:4])

# %% [markdown]
# ## The live widget
#
# `viz.explore(loss_or_stepper)` is the same explorer as a widget whose buttons move the
# *real* stepper in the kernel (step, back, run to a scope), so the next cell sees the
# gradients the view shows. It needs anywidget (`pip install -e '.[notebook]'`).

# %%
live = viz.explore(stepper)
live

# %%
live.run_to("t2")  # what the "run to" box does; the view follows
print(stepper.where())
print("W_hh so far:", stepper.show("weight_hh_l0").splitlines()[-1])

# %% [markdown]
# The command line has the same stepper as a prompt, `tinygrad-rnn step`. In a notebook it
# cannot read your typing (it says so and points here), but commands piped into it work, and
# it writes the explorer as a page: `tinygrad-rnn step --cell gru --steps 20 --html backward.html`.

# %%
python = sys.executable  # this kernel's Python, which has tinygrad_rnn
# !printf 'n 2\nw\n' | {python} -m tinygrad_rnn step --cell gru --steps 2


# %% [markdown]
# ## Exercises
#
# (Reference solutions: `notebooks/solutions/`.)
#
# **1. Predict, then check.** In the backward pass of L = sum(h_2) of a two-step RNN, which
# op does the first step process, and which the last? Run the stepper to see.

# %%
import sys
from pathlib import Path

if not Path("notebooks/solutions").is_dir():  # Jupyter runs a chapter in notebooks/: the root is one up
    sys.path.insert(0, str(Path.cwd().parent))

import numpy as np

import tinygrad_rnn as tr

W = tr.Parameter(np.array([[0.5, -0.3], [0.2, 0.4]]), name="W_hh")
h = tr.Tensor(np.array([0.1, -0.2]), name="h0")
for t in (1, 2):
    with tr.scope(f"t{t}"):
        h = tr.tanh(W @ h + 0.5)
walk = h.sum().backward(step=True)
print("first:", walk.step()[0].headline())
print("last: ", walk.run()[-1].headline())

# %% [markdown]
# **2. The matmul rule.** The stepper prints each op's local rule. Write
# `matmul_backward(g, cache)` for y = a @ b, returning `{"da": ..., "db": ...}`; b may be
# shared by a batch of a's (a (B, N, K)), so its gradient sums over the batch.

# %%
from notebooks.solutions import matmul_backward  # the reference: replace with yours

print(tr.exercises.check("matmul_backward", matmul_backward))
