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
# # 2. The unrolled RNN, and why W_hh's gradient is a sum over t
#
# `tr.nn.RNN` is PyTorch's Elman network: h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh),
# with the same parameter names, shapes and numbers. Running it over T inputs records the
# *unrolled* graph: one copy of the cell per time step, all sharing the same W_hh.

# %%
import numpy as np

import tinygrad_rnn as tr
import viz

tr.manual_seed(0)
rnn = tr.nn.RNN(input_size=2, hidden_size=3)
x = tr.Tensor(np.random.default_rng(0).standard_normal((4, 1, 2)), name="x")  # T = 4, batch 1
output, h_n = rnn(x)
loss = output[-1].sum()
loss.name = "loss"
print({name: value.shape for name, value in rnn.state_dict().items()})

# %% [markdown]
# The notes draw the RNN twice. First *rolled*: one cell, drawn once, its state h handed back into
# itself; the loop goes round T = 4 times (`view="rolled"`, the same picture for any T).

# %%
viz.draw(loss, view="rolled")

# %% [markdown]
# Then unrolled. Drawn one box per time step (the *cells* view), W_hh appears once, with an edge to every
# step that uses it: the picture of the sum.

# %%
viz.draw(loss, view="cells")

# %% [markdown]
# ## The sum, taken apart
#
# Because W_hh is used at t = 1..T, the chain rule gives one term per use:
#
# $$\frac{\partial L}{\partial W_{hh}} = \sum_{t=1}^{T} \left(\frac{\partial L}{\partial W_{hh}}\right)_t,
# \qquad \left(\frac{\partial L}{\partial W_{hh}}\right)_t
# = \left(\frac{\partial L}{\partial s_t}\right)^{\!\top} h_{t-1}$$
#
# where s_t is the pre-activation at step t (docs/notation.md: a, b and z belong to the BPTT
# recurrence). The stepper counts those terms as the backward pass delivers them (one frame per
# step; chapter 3 watches them arrive). Here we collect each contribution to `weight_hh_l0` (the
# events call it W_hh, the notes' name) and check that they add up to what `backward()` gives.

# %%
stepper = tr.BackwardStepper(loss)
pieces = {}
for event in stepper.run():
    for a in event.accumulations:
        if a.leaf == "W_hh" and a.contribution is not None:
            pieces[a.t] = a.grad
stepper.reset()
loss.backward()
W_hh = rnn.weight_hh_l0
total = sum(pieces.values())
print("contributions from t =", sorted(pieces))
for t in sorted(pieces):
    print(f"  t = {t}: ||piece|| = {np.linalg.norm(pieces[t]):.4f}")
# PyTorch's layout multiplies h_{t-1} @ W_hh^T, so each piece is a gradient of W_hh^T: transpose it back
print("max |sum of pieces^T - W_hh.grad| =", np.abs(total.T - W_hh.grad).max())

# %% [markdown]
# The pieces from early steps are smaller: each has travelled back through more factors
# tanh'(a) W_hh. That shrinking is the vanishing gradient (chapter 5). In the ops view,
# `highlight=` marks every path from the loss to W_hh: one per term of the sum.

# %%
viz.draw(loss, grads=True, highlight="weight_hh_l0")


# %% [markdown]
# ## Exercises
#
# (Reference solutions: `notebooks/solutions/`; replace the imports with your own functions.)
#
# **1. Predict, then check.** A scalar RNN h_t = tanh(w h_{t-1} + x_t), h_0 = 0.5, w = 0.8,
# x = (0.1, 0.2, 0.3), L = h_3. Which step contributes most to dL/dw, t = 1 or t = 3?

# %%
import sys
from pathlib import Path

if not Path("notebooks/solutions").is_dir():  # Jupyter runs a chapter in notebooks/: the root is one up
    sys.path.insert(0, str(Path.cwd().parent))

import numpy as np

import tinygrad_rnn as tr

w = tr.Tensor(0.8, requires_grad=True, name="w")
h, hs = tr.Tensor(0.5), []
for t, x_t in enumerate((0.1, 0.2, 0.3), start=1):
    with tr.scope(f"t{t}"):
        h_prev, h = h, tr.tanh(w * h + x_t)
    h.retain_grad()
    hs.append((h_prev, h))
h.backward()
for t, (h_prev, h_t) in enumerate(hs, start=1):  # the piece from step t: dL/dh_t (1 - h_t^2) h_{t-1}
    print(f"t = {t}: contribution to dL/dw = {float(h_t.grad * (1 - h_t.data ** 2) * h_prev.data):+.4f}")
print(f"sum = w.grad = {float(w.grad):+.4f}")

# %% [markdown]
# **2. One step backwards.** Write `rnn_step_backward(dh, cache)` for
# h_t = tanh(x_t W_x + h_{t-1} W_h + b) (the cache of `tr.exercises.rnn_step_forward`), returning
# `dx, dh_prev, dWx, dWh, db` (and, to help the checker locate a mistake, `da` = dL/ds_t, the
# gradient of the pre-activation s_t).

# %%
from notebooks.solutions import rnn_step_backward  # the reference: replace with yours

print(tr.exercises.check("rnn_step_backward", rnn_step_backward))

# %% [markdown]
# **3. BPTT.** Write `rnn_backward(dhs, caches)`: dhs (T, N, H) holds the upstream
# gradient of every h_t; walk the steps backwards carrying dL/dh_{t-1}. A mistake is
# reported with its time step, e.g. "dx at t=3".

# %%
from notebooks.solutions import rnn_backward  # the reference: replace with yours

print(tr.exercises.check("rnn_backward", rnn_backward))
