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
# # 9. BPTT as the loop the notes write
#
# min-char-rnn, CS231n and d2l write backpropagation through time as a loop:
# the forward over $t = 1..T$, then the same loop backwards, carrying the
# gradient of the hidden state from step $t$ to step $t-1$:
#
# ```python
# for t in reversed(range(1, T + 1)):
#     dh = dh_out[t - 1] + dh_next      # what reaches h_t: from above, and from step t + 1
#     ...
#     dW_hh += ...                      # this step's share of dL/dW_hh
#     dh_next = ...                     # passed on to h_{t-1}
# ```
#
# The engine records every step as separate nodes, under scopes `t1`, `t2`, ...
# `tr.bptt_loop(loss)` folds that recorded graph back into the loop: each step
# repeats the same ops, so one step is the loop body. Every backward line is an
# op's own backward rule (`tinygrad_rnn/ops.py`) with the names filled in.

# %%
import numpy as np

import tinygrad_rnn as tr
from tinygrad_rnn.symbolic import recurrence, scalar

lstm = tr.nn.LSTM(3, 4, rng=0)
x = tr.Tensor(np.random.default_rng(1).normal(size=(5, 2, 3)), name="x")  # T = 5, batch 2
out, _ = lstm(x)
loss = tr.F.mse_loss(out, np.random.default_rng(2).normal(size=out.shape))
loop = tr.bptt_loop(loss)
print(loop.source[loop.source.index("def training_step"):])

# %% [markdown]
# The text is the program. `loop.run()` executes it (with NumPy only, not the
# engine) on the recorded inputs and parameters; its gradients are
# `loss.backward()`'s. Its length does not depend on $T$: at $T = 50$ only the
# line `T = 50` changes.

# %%
grads = loop.run()
loss.backward()
worst = max(float(np.abs(grads[name] - p.grad).max()) for name, p in lstm.named_parameters())
print(f"largest |run() - backward()| over {len(grads)} parameters = {worst:.1e}")

long_out, _ = lstm(tr.Tensor(np.random.default_rng(3).normal(size=(50, 2, 3))))
long_loop = tr.bptt_loop(tr.F.mse_loss(long_out, np.zeros(long_out.shape)))
print(f"lines at T = 5: {len(loop.lines)}, at T = 50: {len(long_loop.lines)}")

# %% [markdown]
# ## Three views of one computation
#
# A scalar Elman RNN, as in the notes: $h_t = \tanh(w_x x_t + w_h h_{t-1} + b)$,
# hidden size 1, loss $L = \frac1T \sum_t (h_t - y_t)^2$. First the loop the
# engine writes (only its backward part is printed).

# %%
T = 5
rnn = tr.nn.RNN(1, 1, rng=4)
xs = np.random.default_rng(5).normal(size=(T, 1, 1))
ys = np.random.default_rng(6).normal(size=(T, 1, 1))
h_out, _ = rnn(tr.Tensor(xs))
scalar_loss = tr.F.mse_loss(h_out, ys)
generated = tr.bptt_loop(scalar_loss)
source = generated.source
print(source[source.index("    # rnn/l0/fwd: backpropagation"):source.index("    dxWb = ")])


# %% [markdown]
# Second, the loop written by hand, the way min-char-rnn writes it:


# %%
def hand_written(x, y, W_ih, W_hh, b_ih, b_hh):
    """Forward over t, then BPTT: the same loop reversed, dh_next carried from t to t - 1."""
    T = len(x)
    h = {0: np.zeros((1, W_hh.shape[0]))}
    for t in range(1, T + 1):
        h[t] = np.tanh(x[t - 1] @ W_ih.T + b_ih + h[t - 1] @ W_hh.T + b_hh)
    dW_ih, dW_hh, db = np.zeros_like(W_ih), np.zeros_like(W_hh), np.zeros_like(b_ih)
    dh_next = np.zeros_like(h[0])
    for t in reversed(range(1, T + 1)):
        dh = 2 * (h[t] - y[t - 1]) / y.size + dh_next  # from the loss at t, and from step t + 1
        ds = dh * (1 - h[t] ** 2)                     # back through tanh
        dW_ih += ds.T @ x[t - 1]
        dW_hh += ds.T @ h[t - 1]
        db += ds.sum(axis=0)
        dh_next = ds @ W_hh                           # to h_{t-1}
    return {"weight_ih_l0": dW_ih, "weight_hh_l0": dW_hh, "bias_ih_l0": db, "bias_hh_l0": db}


params = {name: p.data for name, p in rnn.named_parameters()}
by_hand = hand_written(xs, ys, *(params[n] for n in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")))
from_text = generated.run()
scalar_loss.backward()
for name, p in rnn.named_parameters():
    print(f"{name:13s} backward() {p.grad.ravel()[0]: .12f}   generated loop {from_text[name].ravel()[0]: .12f}"
          f"   hand-written {by_hand[name].ravel()[0]: .12f}")
print("the generated loop equals backward():", all(np.allclose(from_text[n], p.grad, rtol=0, atol=1e-12)
                                                   for n, p in rnn.named_parameters()))
print("the hand-written loop equals backward():", all(np.allclose(by_hand[n], p.grad, rtol=0, atol=1e-12)
                                                      for n, p in rnn.named_parameters()))

# %% [markdown]
# Third, the symbolic recurrence of chapter 4. SymPy differentiates one step
# $f = \tanh(w_x x_t + w_h h_{t-1} + b_h)$:

# %%
step = scalar.ScalarRNN(T)
print("a_t = df/dw_h     =", step.a_expr)
print("b_t = df/dh_{t-1} =", step.b_expr)
print("recurrence:       ", recurrence.recurrence())

# %% [markdown]
# Both $a_t$ and $b_t$ carry the factor $1 - h_t^2$: in the loop that is the
# line through tanh (`ds = dh * (1 - h[t] * h[t])`). Multiplied by
# $h_{t-1}$ it is $a_t$ (the line `dW_hh += ...`); multiplied by $w_h$ it is
# $b_t$ (the line `dh_next = ...`).
#
# | the recurrence | the generated loop's line | the hand-written loop's line |
# |---|---|---|
# | $1 - h_t^2$, the factor in $a_t$ and $b_t$ | `ds = dh * (1 - h[t] * h[t])` | `ds = dh * (1 - h[t] ** 2)` |
# | $a_t = (1 - h_t^2)\,h_{t-1}$ (times $\delta_t$) | `dW_hh += (h[t - 1].T @ dhW).T` | `dW_hh += ds.T @ h[t - 1]` |
# | $b_t = w_h (1 - h_t^2)$ (times $\delta_t$) | `dh_next = dhW @ W_hh` | `dh_next = ds @ W_hh` |
# | $\delta_t = \partial L/\partial h_t$, the reverse twin of $z_t$ | `dh = dh_out[t - 1] + dh_next` | `dh = 2 * (h[t] - y[t - 1]) / y.size + dh_next` |
#
# $z_k = \partial h_k/\partial w_h$ runs *forward* (it is what RTRL carries).
# The loop runs the same $b_t$ *backwards*: $\delta_{t-1} = e_{t-1} + b_t\,\delta_t$
# with $e_t = \partial L/\partial h_t$ from the loss at $t$ alone. The two sums are
# one number:
# $\frac{\partial L}{\partial w_h} = \sum_k e_k z_k = \sum_t \delta_t a_t$.
# Computed from the forward values:

# %%
h = {0: 0.0, **{t: float(h_out.data[t - 1, 0, 0]) for t in range(1, T + 1)}}
w_h = float(rnn.weight_hh_l0.data[0, 0])
a = {t: (1 - h[t] ** 2) * h[t - 1] for t in range(1, T + 1)}
b = {t: w_h * (1 - h[t] ** 2) for t in range(1, T + 1)}
e = {t: 2 * (h[t] - float(ys[t - 1, 0, 0])) / T for t in range(1, T + 1)}
z = {0: 0.0}
for t in range(1, T + 1):  # forward: z_k = a_k + b_k z_{k-1}
    z[t] = a[t] + b[t] * z[t - 1]
delta, carry = {}, 0.0
for t in reversed(range(1, T + 1)):  # backward: what dh_next carries
    delta[t] = e[t] + carry
    carry = b[t] * delta[t]
forward_sum = sum(e[t] * z[t] for t in range(1, T + 1))
backward_sum = sum(delta[t] * a[t] for t in range(1, T + 1))
print(f"sum_k e_k z_k     = {forward_sum:.15f}")
print(f"sum_t delta_t a_t = {backward_sum:.15f}")
print(f"the loop's dW_hh  = {from_text['weight_hh_l0'][0, 0]:.15f}")
print("all three agree:", abs(forward_sum - backward_sum) < 1e-12
      and abs(backward_sum - from_text["weight_hh_l0"][0, 0]) < 1e-12)

# %% [markdown]
# In a notebook the loop shows highlighted:

# %%
generated

# %% [markdown]
# The explorer shows the same loop beside the graph. Each backward step runs
# one node's rule; the panel below the leaf gradients marks that line of the
# loop and says at which $t$ ("line 54, t = 2"). Click the explorer and press
# → to step; click a line of the loop to go to the step that runs it. On the
# command line: `tinygrad-rnn derive --loop --cell lstm`.

# %%
small = tr.nn.RNN(1, 2, rng=0)
small_out, _ = small(tr.Tensor(np.random.default_rng(7).normal(size=(3, 1, 1))))
stepper = tr.BackwardStepper(tr.F.mse_loss(small_out, np.zeros(small_out.shape)))
stepper.step(4)
stepper

# %% [markdown]
# ## Exercises
#
# (Reference solutions: `notebooks/solutions/`; replace the imports with your own functions.)
#
# **1. Predict, then check.** Chapter 4's recurrence $z_k = a_k + b_k z_{k-1}$ gives
# $\partial L/\partial w_h = \sum_k e_k z_k$. Which line of the generated loop above carries
# $z_k$ from one step to the next? (Hint: in which direction does $z_k$ run, and in which does
# the loop?)

# %%
carry_line = next(line.strip() for line in source.split("\n") if line.strip().startswith("dh_next = d"))
print("the line that carries something from step t to step t - 1:", carry_line)
carried, dh_next = {}, 0.0
for t in reversed(range(1, T + 1)):  # that loop's body, on the scalars above
    dh_t = e[t] + dh_next  # dh = dh_out[t - 1] + dh_next
    ds_t = dh_t * (1 - h[t] * h[t])  # ds = dh * (1 - h[t] * h[t])
    dh_next = ds_t * w_h  # dh_next = dhW @ W_hh
    carried[t] = dh_next
print(" t   z_t (forward)      delta_t (backward)   dh_next leaving step t   b_t * delta_t")
for t in range(1, T + 1):
    print(f"{t:2d}  {z[t]: .12f}  {delta[t]: .12f}     {carried[t]: .12f}        {b[t] * delta[t]: .12f}")
print("dh_next is b_t delta_t at every step:", all(abs(carried[t] - b[t] * delta[t]) < 1e-12 for t in carried))

# %% [markdown]
# None does: $z_k$ runs forward from $z_0 = 0$ (what RTRL would carry beside $h_t$), and the
# loop runs backward. The line `dh_next = dhW @ W_hh` carries $b_t\,\delta_t$, the reverse twin;
# the two directions only meet in the sum, $\sum_k e_k z_k = \sum_t \delta_t a_t$.
#
# **2. The loop's dW_hh by hand.** Write `rnn_backward(dhs, caches)` (chapter 2's exercise 3)
# as the loop above: `dh = dhs[t] + carry`, back through tanh, `dWh += ...`, `carry = ...`.
# The checker runs it on random RNNs; then the cell feeds it this chapter's scalar RNN, whose
# `dhs` is the loss's $\partial L/\partial h_t = 2 (h_t - y_t) / T$, and compares its `dWh` with
# the generated loop's `dW_hh` (the exercises write $x W_x$, PyTorch $W_{ih} x$: the weights
# are each other's transposes).

# %%
import sys
from pathlib import Path

if not Path("notebooks/solutions").is_dir():  # Jupyter runs a chapter in notebooks/: the root is one up
    sys.path.insert(0, str(Path.cwd().parent))

from notebooks.solutions import rnn_backward  # the reference: replace with yours

print(tr.exercises.check("rnn_backward", rnn_backward))
hs, caches = tr.exercises.rnn_forward(xs, np.zeros((1, 1)), params["weight_ih_l0"].T, params["weight_hh_l0"].T,
                                      params["bias_ih_l0"] + params["bias_hh_l0"])
mine = rnn_backward(2 * (hs - ys) / ys.size, caches)
print(f"your dWh.T = {mine['dWh'].T[0, 0]:.15f}; the generated loop's dW_hh = {from_text['weight_hh_l0'][0, 0]:.15f}")
print("equal to 1e-12:", np.allclose(mine["dWh"].T, from_text["weight_hh_l0"], rtol=0, atol=1e-12))
