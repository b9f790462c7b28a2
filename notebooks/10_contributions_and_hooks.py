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
# # 10. Where the gradient comes from: contributions over time, and hooks that change it
#
# BPTT hands you one gradient per weight, a sum over every loss step t̃ and every step t
# at which the weight was used:
#
# $$\frac{\partial L}{\partial W_{hh}} = \sum_{\tilde t} \sum_{t \le \tilde t} C[\tilde t, t]$$
#
# `tr.contributions(losses, W_hh)` returns the whole table C, `tr.connectivity` asks the same
# question of the input (how much does the prediction at t̃ depend on the character read at
# t?), and `tensor.register_hook(fn)` changes a gradient in flight, as in PyTorch. This chapter
# takes the sum apart, cuts it with hooks, and ends with what goes wrong when the per-step
# Jacobians are multiplied in the wrong order.
#
# The same from the command line: `tinygrad-rnn train connectivity` (RNN, LSTM and GRU on real
# text, before and after training, with the coloured-text page).

# %%
import tempfile
from pathlib import Path

import numpy as np
import sympy as sp
from IPython.display import SVG, display

import tinygrad_rnn as tr
from tinygrad_rnn.attribution.jacobian_order import lesson
from tinygrad_rnn.stories import connectivity as story
from viz import plot

T, H = 12, 8
SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
rng = np.random.default_rng(0)
xs = rng.standard_normal((T, 1, 3))


def unroll(cell, hooks=None, detach_every=None, hook_every=None):
    """h_t = cell(x_t, h_{t-1}) for t = 1..T, each step in its own scope; one loss term per step.

    ``hooks``: {t: fn} registers fn on h_t. Truncated BPTT after every k steps: ``detach_every=k``
    lets the recurrence read h.detach(); ``hook_every=k`` lets it read its own copy h + 0, whose
    gradient a hook zeroes."""
    h, hs, losses = tr.Tensor(np.zeros((1, H))), [], []
    for t in range(1, T + 1):
        if detach_every and t > 1 and (t - 1) % detach_every == 0:
            h = h.detach()
        if hook_every and t > 1 and (t - 1) % hook_every == 0:
            h = h + 0  # the recurrence's own handle on h: its gradient is only what later steps send
            h.register_hook(lambda g: np.zeros_like(g))
        with tr.scope(f"t{t}"):
            h = cell(tr.Tensor(xs[t - 1]), h)
        if hooks and t in hooks:
            h.register_hook(hooks[t])
        h.name = "h" + str(t).translate(SUBSCRIPTS)  # h₁, h₂, ...: the name the step text uses
        hs.append(h)
        losses.append((h * h).sum())
    return hs, losses


tr.manual_seed(0)
cell = tr.nn.RNNCell(3, H)
W_hh = cell.weight_hh
hs, losses = unroll(cell)
C = tr.contributions(losses, W_hh)
print("C has shape", C.shape, "= (loss steps, steps W_hh is used at, *W_hh.shape)")

# %% [markdown]
# ## Two facts to check the table by
#
# The table sums to the gradient of the summed loss, and nothing flows from a loss to a step
# after it (causality).

# %%
total = losses[0]
for loss in losses[1:]:
    total = total + loss
total.backward()
print(f"max |sum of C - W_hh.grad| = {np.abs(C.sum(axis=(0, 1)) - W_hh.grad).max():.2e}")
print("causality:", all(not C[row, row + 1:].any() for row in range(T)))
sizes = np.linalg.norm(C, axis=(2, 3))
display(SVG(plot.heatmap(sizes, title="||C[t~, t]||: RNN at initialisation", log=True, xlabel="step t W_hh is used",
                         ylabel="loss step t~", xticks=range(1, T + 1), yticks=range(1, T + 1),
                         colour_label="||C||")))

# %% [markdown]
# Read a row: the loss at step t̃, and how much of its gradient comes from W_hh's use at each
# earlier step. It fades going left: every step back multiplies by another diag(1 − h²) W_hh.
#
# ## Hooks: change a gradient in flight
#
# `h.register_hook(fn)` calls `fn(dL/dh)` when that gradient is complete, before it flows on;
# whatever `fn` returns replaces it (None: unchanged). It returns a handle with `.remove()`.
#
# **Experiment 1: zero dL/dh_t at one step.** The question: which entries of the table does
# cutting the gradient at h₆ remove?

# %%
k = 6
W_hh.grad = None
hs, losses = unroll(cell, hooks={k: lambda g: np.zeros_like(g)})
C_cut = tr.contributions(losses, W_hh)
cut = np.linalg.norm(C_cut, axis=(2, 3))
gone = [(row + 1, col + 1) for row in range(T) for col in range(T) if sizes[row, col] > 0 and cut[row, col] == 0]
print(f"entries removed: {len(gone)}; every one has t <= {k} <= t~:",
      all(col <= k <= row for row, col in gone))
print("rows before the cut unchanged:", np.array_equal(C_cut[: k - 1], C[: k - 1]))
print(f"entries with t > {k} unchanged:", np.array_equal(C_cut[:, k:], C[:, k:]))
display(SVG(plot.heatmap(np.where(cut > 0, cut, np.nan), title=f"||C[t~, t]|| with dL/dh_{k} zeroed by a hook",
                         log=True, xlabel="step t W_hh is used", ylabel="loss step t~", xticks=range(1, T + 1),
                         yticks=range(1, T + 1), colour_label="||C||")))

# %% [markdown]
# The measured answer: a block disappears, every loss at or after step 6 loses every path
# through steps 1..6, and nothing else changes. The stepper says so at the step where the hook
# ran:

# %%
hs, losses = unroll(cell, hooks={k: lambda g: np.zeros_like(g)})
events = losses[-1].backward(step=True).run()
print("\n".join(line for e in events for line in e.hooks))

# %% [markdown]
# **Experiment 2: clip per step.** `clip_grad_norm_` clips the whole gradient once; a hook can
# clip dL/dh_t at every step instead. The question: how much of W_hh's gradient is left when
# each step's dL/dh is clipped to [−0.05, 0.05]?

# %%
seen = {}


def observe_then_clip(t):
    def hook(g):
        seen[t] = np.abs(g).max()
        return np.clip(g, -0.05, 0.05)
    return hook


W_hh.grad = None
hs, losses = unroll(cell, hooks={t: observe_then_clip(t) for t in range(1, T + 1)})
sum(losses[1:], losses[0]).backward()
clipped = np.linalg.norm(W_hh.grad)
print("largest |dL/dh_t| per step before clipping:", ", ".join(f"{seen[t]:.2f}" for t in range(1, T + 1)))
print(f"||W_hh.grad||: {np.linalg.norm(C.sum(axis=(0, 1))):.3f} unclipped, {clipped:.3f} clipped per step")

# %% [markdown]
# **Experiment 3: truncated BPTT, as a hook beside `detach`.** Truncation after every 4 steps
# (what `train char-lm` does at its window boundary) is usually written `h = h.detach()`: the
# next step reads a copy outside the graph. A hook can do the same while the graph stays whole
# (so it can still be drawn and stepped): give the recurrence its own handle on h, `h + 0`, and
# zero the gradient that comes back through it. The question: do the two give the same W_hh.grad?

# %%
W_hh.grad = None
hs, losses = unroll(cell, detach_every=4)
sum(losses[1:], losses[0]).backward()
with_detach = W_hh.grad.copy()


W_hh.grad = None
hs, losses = unroll(cell, hook_every=4)
sum(losses[1:], losses[0]).backward()
print(f"max |hook - detach| over W_hh.grad: {np.abs(W_hh.grad - with_detach).max():.2e}")
print(f"and truncation changed it: max |truncated - full| = {np.abs(with_detach - C.sum(axis=(0, 1))).max():.3f}")

# %% [markdown]
# ## Connectivity on trained models: RNN, LSTM and GRU
#
# `tr.connectivity(logits, x, targets=...)` is ‖∂y_t̃/∂x_t‖ with y_t̃ the logit of the character
# that really comes next. A tiny version of `tinygrad-rnn train connectivity`: the question is
# how far back the prediction depends on the text, at initialisation and after a little training.

# %%
text = tr.data.load_text()
r = story.train(text, hidden=16, embed=8, batches=10, window=24, max_chars=20_000)
print(story.QUESTIONS["connectivity"])
print(story.answer(r))
folder = Path(tempfile.mkdtemp())
pages = story.pictures(r, folder)
print("hover the characters of", pages[0])
display(SVG(plot.heatmap(r["models"]["gru"]["trained"]["connectivity"], title="GRU after training: ||dy_t~/dx_t||",
                         log=True, xlabel="input step t", ylabel="output step t~", colour_label="||dy/dx||")))

# %% [markdown]
# ## The order of the Jacobians
#
# The gradient of loss t̃ reaches h_t through the product of the per-step Jacobians
# J_k = ∂h_k/∂h_{k−1} = diag(1 − h_k²) W_hh, **latest on the left**:
# ∂h_t̃/∂h_t = J_t̃ ⋯ J_{t+1}. In 2026 a framework shipped a BPTT that multiplied them in forward
# order instead, and every dynamically unrolled LSTM/GRU on it trained on wrong gradients.
# `lesson()` builds that wrong BPTT and runs `tr.gradcheck` on it.

# %%
for row in lesson((1, 2, 4)):
    print(f"hidden {row['hidden']}: gradcheck passes the right order: {row['reverse_passes']}, "
          f"the wrong order: {row['forward_passes']}; largest error of the wrong one {row['max_error']:.3g}")

# %% [markdown]
# At hidden size 1 the Jacobians are numbers, numbers commute, and no test can tell the two
# orders apart. That is exactly the case the notes' scalar derivation (chapter 4,
# z_k = a_k + b_k z_{k−1}) works in: with scalars b_j the product b_{i+1} ⋯ b_k has no order to
# get wrong. With matrices it does:

# %%
b1, b2 = sp.symbols("b1 b2")
J1, J2 = sp.symbols("J1 J2", commutative=False)
print("scalars:  b2*b1 - b1*b2 =", sp.simplify(b2 * b1 - b1 * b2))
print("matrices: J2*J1 - J1*J2 =", J2 * J1 - J1 * J2)

# %% [markdown]
# ## Exercises
#
# (Reference solutions: `notebooks/solutions/`; replace the imports with your own functions.)
#
# **1. Predict, then check.** A hook zeroes dL/dh₄. Which entries C[t̃, t] of the table change,
# and which stay as they were? Write your answer as a rule on t̃ and t before running the cell.

# %%
k = 4
hs, losses = unroll(cell, hooks={k: lambda g: np.zeros_like(g)})
C_4 = tr.contributions(losses, W_hh)
changed = {(row + 1, col + 1) for row in range(T) for col in range(T)
           if not np.array_equal(C_4[row, col], C[row, col])}
print("changed entries (t~, t):", sorted(changed))
predicted = {(row, col) for row in range(1, T + 1) for col in range(1, T + 1)
             if col <= k <= row and sizes[row - 1, col - 1] > 0}
print(f"the rule t <= {k} <= t~ (on the entries that were not zero already):", changed == predicted)
print("column t = 1 is zero in both tables (h_0 = 0, so W_hh's first use adds nothing):",
      not C[:, 0].any() and not C_4[:, 0].any())

# %% [markdown]
# **2. Predict, then check.** Now the hook doubles dL/dh₄ instead (`lambda g: 2 * g`). Which
# entries change, and by what factor? Is W_hh's gradient doubled?

# %%
hs, losses = unroll(cell, hooks={k: lambda g: 2 * g})
C_2 = tr.contributions(losses, W_hh)
ratio = {(row, col): np.linalg.norm(C_2[row - 1, col - 1]) / sizes[row - 1, col - 1] for row, col in predicted}
print(f"the same {len(predicted)} entries change; each by a factor {min(ratio.values()):.12f} .. "
      f"{max(ratio.values()):.12f}")
outside = [(r, c) for r in range(T) for c in range(T) if (r + 1, c + 1) not in predicted]
print("every other entry unchanged:", all(np.array_equal(C_2[r, c], C[r, c]) for r, c in outside))
print(f"||W_hh.grad||: {np.linalg.norm(C.sum(axis=(0, 1))):.4f} before, {np.linalg.norm(C_2.sum(axis=(0, 1))):.4f} "
      "with the hook: not doubled, only the paths through h₄ are")

# %% [markdown]
# **3. Truncation by hand.** Experiment 3 truncated BPTT with a hook that zeroes the gradient
# coming back through the recurrence every k steps. Write the same in the loop of chapter 2:
# `rnn_backward_truncated(dhs, caches, k)`, which drops the carried dL/dh at the start of every
# block of k steps (the checker calls it with k = 2).

# %%
import sys

if not Path("notebooks/solutions").is_dir():  # Jupyter runs a chapter in notebooks/: the root is one up
    sys.path.insert(0, str(Path.cwd().parent))

from notebooks.solutions import rnn_backward_truncated  # the reference: replace with yours

print(tr.exercises.check("rnn_backward_truncated", rnn_backward_truncated))
