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
# # 5. LSTM and GRU: the additive path, and pictures of gradient flow
#
# Backpropagation through time multiplies one local factor per step: the gradient that
# reaches step i from step k is (∏_{j=i+1..k} b_j) times what left step k. For a vanilla RNN,
# b_j = w (1 − h_j²), usually below 1, so the product vanishes with distance. The LSTM's cell
# state is updated *additively*, c_t = f_t ⊙ c_{t−1} + i_t ⊙ g_t, so along c its factor is
# b_j = f_j, the forget gate, which the network can hold near 1. The GRU's
# h_t = (1 − u_t) ⊙ n_t + u_t ⊙ h_{t−1} has the same kind of direct path, with factor u_t, the update gate
# (PyTorch and d2l call it z_t; these notes write u_t, because z_k is the BPTT sensitivity).
#
# The LSTM cell, op by op, for two steps: find the `⊙` by f and the `+` that make c_t.

# %%
import numpy as np
from IPython.display import SVG, display

import tinygrad_rnn as tr
import viz
from tinygrad_rnn.stories import gradient_flow

tr.manual_seed(0)
output, (h_n, c_n) = tr.nn.LSTM(2, 2)(tr.Tensor(np.random.default_rng(0).standard_normal((2, 1, 2))))
viz.draw(h_n.sum())

# %% [markdown]
# ## How much of dL/dh_T reaches h_t
#
# One cell of each kind (hidden size 16, PyTorch's initialisation), unrolled over 40 steps;
# L = sum(h_T). The norm of dL/dh_t against the distance T − t, on a log scale:

# %%
steps = 40
norms = {kind: gradient_flow.hidden_gradient_norms(kind, steps, 16, 4, seed=0) for kind in ("rnn", "lstm", "gru")}
distance = np.arange(steps - 1, -1, -1)
SVG(gradient_flow.plot.line_plot({kind.upper(): (distance, n) for kind, n in norms.items()},
                                 title="||dL/dh_t|| against the distance from the loss",
                                 xlabel="T - t", ylabel="gradient norm", logy=True))

# %%
for kind, n in norms.items():
    print(f"{kind.upper():5s} ||dL/dh_1|| / ||dL/dh_T|| = {n[0] / n[-1]:.2e}")

# %% [markdown]
# At PyTorch's initialisation *none* of them carries the gradient 40 steps back, and the LSTM
# fades fastest: its forget gate starts at f = σ(≈0) ≈ 0.5, so along c every step halves the
# gradient. The additive path is a capacity, not a gift: the network must learn to hold f near
# 1. A common trick (Jozefowicz et al., 2015) starts it there, with a forget-gate bias of +1 or
# more. Below, L = sum(c_T) and the norm of dL/dc_t for forget biases 0, 1 and 3 (PyTorch's
# gate order i, f, g, o: the forget bias is the second quarter of `bias_ih`).

# %%
def cell_state_gradients(forget_bias, steps=40, hidden=16, seed=0):
    """||dL/dc_t|| for t = 1..steps, L = sum(c_T), one LSTM cell with its forget bias raised."""
    tr.manual_seed(seed)
    cell = tr.nn.LSTMCell(4, hidden)
    cell.bias_ih.data[hidden : 2 * hidden] += forget_bias
    xs = np.random.default_rng(seed).standard_normal((steps, 1, 4))
    h, c = tr.Tensor(np.zeros((1, hidden))), tr.Tensor(np.zeros((1, hidden)))
    states = []
    for x in xs:
        h, c = cell(tr.Tensor(x), (h, c))
        states.append(c)
    c.sum().backward()
    return np.array([np.linalg.norm(state.grad) for state in states])


carried = {f"forget bias {b}": (distance, cell_state_gradients(b)) for b in (0, 1, 3)}
for name, (_, n) in carried.items():
    print(f"LSTM, {name}: ||dL/dc_1|| / ||dL/dc_T|| = {n[0] / n[-1]:.2e}")
SVG(gradient_flow.plot.line_plot(carried, title="LSTM: ||dL/dc_t|| against the distance from the loss",
                                 xlabel="T - t", ylabel="gradient norm", logy=True))

# %% [markdown]
# ## The products themselves
#
# With one hidden unit the factors b_j are numbers, read off autograd one step at a time
# (for the LSTM, b_j = f_j along c). The table |∏_{j=i+1..k} b_j| for every pair i ≤ k is the
# closed form of chapter 4 read backwards: each row k fades to the left, as fast as the
# factors are small. The closed form is checked against the full unrolled chain:

# %%
for kind in ("rnn", "lstm"):
    factors = gradient_flow.local_factors(kind, 20, seed=1)
    table = gradient_flow.product_table(factors)
    print(f"{kind.upper()}: median |b_j| = {np.median(np.abs(factors)):.3f}")
    display(SVG(gradient_flow.plot.heatmap(table, title=f"{kind.upper()}: |prod b_j| for each (i, k)",
                                           xlabel="i", ylabel="k", log=True, colour_label="|prod b_j|")))
print("RNN chain check, max |autograd - closed form| =", f"{gradient_flow.chain_check('rnn', 20, seed=1):.1e}")

# %% [markdown]
# ## The whole derivation: the additive path and the recurrent weight
#
# The additive path is one entry of a matrix. For the recurrent weight W_hh the gated cells
# obey chapter 4's recurrence z_k = a_k + B_k z_{k-1}, with the state's Jacobian B_k a matrix:
# for the LSTM the state is (h_k, c_k), and B_k's c-to-c block is diag(f_k). SymPy derives one
# step; the closed form is checked against autograd and finite differences (typeset below:
# the derivation's HTML is MathML, which the browser renders with nothing fetched).

# %%
tr.symbolic.derive("lstm", 3, check=True)

# %% [markdown]
# ## Exercises
#
# (Reference solutions: `notebooks/solutions/`; replace the imports with your own functions.)
#
# **1. Predict, then check.** An LSTM step whose forget gate is saturated open (f ≈ 1) gets
# only dL/dc_t = 1 from above. What is dL/dc_{t-1}?

# %%
import sys
from pathlib import Path

if not Path("notebooks/solutions").is_dir():  # Jupyter runs a chapter in notebooks/: the root is one up
    sys.path.insert(0, str(Path.cwd().parent))

from tinygrad_rnn.exercises import lstm_step_forward

rng = np.random.default_rng(0)
N, D, H = 1, 2, 3
b = np.zeros(4 * H)
b[H : 2 * H] = 20.0  # the forget gate's bias: f = σ(20) ≈ 1
_, _, cache = lstm_step_forward(rng.standard_normal((N, D)), np.zeros((N, H)), np.ones((N, H)),
                                0.1 * rng.standard_normal((D, 4 * H)), 0.1 * rng.standard_normal((H, 4 * H)), b)
print("f_t =", cache["f"].round(9), "so dL/dc_{t-1} = dL/dc_t ⊙ f_t =", (np.ones((N, H)) * cache["f"]).round(9))

# %% [markdown]
# **2. The LSTM step backwards.** Write `lstm_step_backward(dh, dc, cache)` (the cache of
# `tr.exercises.lstm_step_forward`, gates in the order i, f, g, o) returning
# `dx, dh_prev, dc_prev, dWx, dWh, db`. Return the intermediates `do, dc_total, di, df, dg, da`
# too, and the checker tells you the first one that goes wrong.

# %%
from notebooks.solutions import lstm_step_backward  # the reference: replace with yours

print(tr.exercises.check("lstm_step_backward", lstm_step_backward))

# %% [markdown]
# **3. Harder: the GRU step backwards**, the first piece of BPTT for a GRU (r reset, u
# update, n new gate; `tr.exercises.gru_step_forward`). Note the two paths into h_{t-1}: the
# direct one through u_t and the one through the gates. Then BPTT for a GRU is chapter 2's
# loop with this step inside.

# %%
from notebooks.solutions import gru_step_backward  # the reference: replace with yours

print(tr.exercises.check("gru_step_backward", gru_step_backward))

# %% [markdown]
# **4. Harder: BPTT for a GRU.** Write `gru_backward(dhs, caches)` over the caches of
# `tr.exercises.gru_forward`: the loop of chapter 2's `rnn_backward` with your GRU step inside.
# A forgotten carry is reported with its time step.

# %%
from notebooks.solutions import gru_backward  # the reference: replace with yours

print(tr.exercises.check("gru_backward", gru_backward))
