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
# # 11. Debugging backprop: the checker names the first wrong gradient
#
# Writing a backward by hand is how backprop is learned, and a numeric gradient check is how
# it is usually tested. But a numeric check can only say "relative error 3e-1" for the whole
# function. `tr.exercises.check` knows every intermediate gradient of the same computation,
# because the engine computes them: it compares yours in backward order, nearest the loss
# first, and names the first one that is wrong, with the rule that produces it. Everything
# before it was right, so the mistake is in that one line.
#
# Below, three classic bugs, each in one line of an otherwise correct backward (the reference
# solutions in `notebooks/solutions/`, with one line broken).

# %%
import sys
from pathlib import Path

if not Path("notebooks/solutions").is_dir():  # Jupyter runs a chapter in notebooks/: the root is one up
    sys.path.insert(0, str(Path.cwd().parent))

import numpy as np

import tinygrad_rnn as tr
from notebooks.solutions import lstm, rnn

# %% [markdown]
# ## 1. The missing forget-gate factor
#
# c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t, so the gradient that flows back along the cell state is
# multiplied by f_t. Forgetting that factor is the LSTM's most common slip; it also silently
# turns the LSTM into a network whose cell gradient never fades.

# %%
def lstm_step_backward(dh, dc, cache):
    result = lstm.lstm_step_backward(dh, dc, cache)
    result["dc_prev"] = result["dc_total"]  # the bug: should be dc_total * cache["f"]
    return result


report = tr.exercises.check("lstm_step_backward", lstm_step_backward)
print("first wrong:", report.first_wrong)
print(report)

# %% [markdown]
# In a notebook the report shows itself with the explorer opened on that node: the step of
# the backward pass that sends dL/dc₀ (the `mul` of f₁ and c₀ in `cell_state`). Step back
# and forth around it with ← and →.

# %%
report

# %% [markdown]
# ## 2. The missing transpose
#
# dL/dh_{t-1} = dL/ds_t W_hᵀ. W_h is square (H, H), so forgetting the transpose gives an
# array of the right shape and the wrong numbers: no shape error warns you.

# %%
def rnn_step_backward(dh, cache):
    result = rnn.rnn_step_backward(dh, cache)
    result["dh_prev"] = result["da"] @ cache["Wh"]  # the bug: should be @ cache["Wh"].T
    return result


report = tr.exercises.check("rnn_step_backward", rnn_step_backward)
print("first wrong:", report.first_wrong)
print(report)
report

# %% [markdown]
# Where the shapes differ, the same slip is a shape error, and the message names the shape
# a gradient must have (the shape of the tensor it differentiates):

# %%
def transposed_dWx(dh, cache):
    result = rnn.rnn_step_backward(dh, cache)
    result["dWx"] = result["da"].T @ cache["x"]  # the bug: should be cache["x"].T @ result["da"]
    return result


print(tr.exercises.check("rnn_step_backward", transposed_dWx))

# %% [markdown]
# ## 3. The forgotten carry of dh
#
# In BPTT the gradient reaching h_t is its own upstream dhs_t *plus* what step t+1 sends
# back. Forgetting to add the carry leaves the last step right (nothing comes after it) and
# every earlier one wrong, so the checker names a time step: the first one to miss it.

# %%
def rnn_backward(dhs, caches):
    T = len(caches)
    dx = np.zeros((T, *caches[0]["x"].shape))
    dWx, dWh, db = 0, 0, 0
    for t in reversed(range(T)):
        step = rnn.rnn_step_backward(dhs[t], caches[t])  # the bug: should be dhs[t] + the carry
        dx[t] = step["dx"]
        dWx, dWh, db = dWx + step["dWx"], dWh + step["dWh"], db + step["db"]
    return {"dx": dx, "dh0": step["dh_prev"], "dWx": dWx, "dWh": dWh, "db": db}


report = tr.exercises.check("rnn_backward", rnn_backward)
print("first wrong:", report.first_wrong)
print(report)
report

# %% [markdown]
# The same checks run from a terminal: `tinygrad-rnn exercise rnn_backward my_bptt.py`
# prints the same message and exits 1 while a gradient is wrong, 0 when all match.
#
# ## Exercises
#
# **1. Predict, then check.** A `rnn_step_backward` returns `db = da` (it forgot to sum over
# the batch). Which key will the checker name, and what kind of problem is it?

# %%
def no_batch_sum(dh, cache):
    result = rnn.rnn_step_backward(dh, cache)
    result["db"] = result["da"]
    return result


report = tr.exercises.check("rnn_step_backward", no_batch_sum)
print(f"first wrong: {report.first_wrong} ({report.problem})")

# %% [markdown]
# **2. Fix the three bugs** above (or compare with `notebooks/solutions/`), and check each
# fix: the reports below must all say the gradients match.

# %%
for name in ("lstm_step_backward", "rnn_step_backward", "rnn_backward"):
    fixed = {"lstm_step_backward": lstm.lstm_step_backward, "rnn_step_backward": rnn.rnn_step_backward,
             "rnn_backward": rnn.rnn_backward}[name]  # the references: replace with your fixes
    print(tr.exercises.check(name, fixed))
