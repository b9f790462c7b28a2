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
# # 7. Recurrences: difference equations, the linear RNN in closed form, RTRL beside BPTT, Jacobian spectra
#
# An RNN *is* a difference equation in its state, and BPTT's recurrence
# $z_k = a_k + b_k z_{k-1}$ is one too. This chapter solves difference equations with SymPy,
# writes the linear RNN and its gradient in closed form, runs the recurrence *forward*
# (real-time recurrent learning) beside BPTT, and reads the singular values of every step's
# Jacobian to say how much of a gradient survives a distance. Every result is checked
# against the engine's autograd.
#
# The same from the command line: `tinygrad-rnn derive --difference --check`,
# `tinygrad-rnn derive --rtrl --check`, `tinygrad-rnn derive --spectra --out DIR`.

# %%
import tempfile
from pathlib import Path

import numpy as np
import sympy as sp
from IPython.display import SVG, Markdown, display

import tinygrad_rnn as tr
from tinygrad_rnn.stories import spectra
from tinygrad_rnn.symbolic import difference, rtrl

# %% [markdown]
# ## Difference equations, as the notes classify them
#
# The notes' example $f(n) = f(n-1) + f(n-2) + 2$ with $f(1) = 1$, $f(2) = 2$: second order,
# linear, inhomogeneous, constant coefficients. `sympy.rsolve` solves it; the solution is checked
# by substitution and against iteration.

# %%
n, f = sp.Symbol("n", integer=True), sp.Function("f")
eq = tr.symbolic.DifferenceEquation(f, n, f(n - 1) + f(n - 2) + 2, {1: 1, 2: 2})
solution = eq.solve()
assert eq.satisfies(solution) and eq.values(solution, 10) == eq.iterate(10)
print(eq.classify())
print("first 10 values:", eq.values(solution, 10))
Markdown(difference.fibonacci_like().markdown())

# %% [markdown]
# ## BPTT's recurrence, solved by the summation factor
#
# $z_k = a_k + b_k z_{k-1}$ is first order, linear and inhomogeneous with *variable*
# coefficients. Dividing by $P_k = b_1 \cdots b_k$ makes it telescope, and the solution is exactly
# the closed form the package proves by induction.

# %%
Markdown(difference.summation_factor_derivation().markdown())

# %% [markdown]
# ## The scalar linear RNN in closed form
#
# $h_t = w h_{t-1} + u x_t$ has constant coefficients, so $h_t = w^t h_0 + \sum_i w^{t-i} u x_i$
# and its gradient come in closed form: every path from $x_i$ to $h_t$ carries $w^{t-i}$.

# %%
linear = tr.symbolic.LinearRNN(steps=8, seed=0)
doc = linear.derivation(check=True)
assert doc.ok(), doc.checks[0].failures()
Markdown(doc.markdown())

# %% [markdown]
# ## The matrix linear RNN: powers of $W^\top$ and its eigenvalues
#
# $\partial L/\partial h_t = \sum_{i \ge t} (W^\top)^{i-t} V^\top \partial L/\partial o_i$. SymPy
# diagonalises a small $W$ exactly; the spectral radius against 1 decides vanishing or exploding.

# %%
matrix = tr.symbolic.MatrixLinearRNN(hidden=2, steps=6, seed=0)
doc = matrix.derivation(check=True, symbolic=True)
assert doc.ok(), doc.checks[0].failures()
Markdown(doc.markdown())

# %% [markdown]
# ## RTRL beside BPTT
#
# Real-time recurrent learning carries $S_t = \partial h_t/\partial\theta$ forward beside the
# unroll. Its gradient is the engine's to rounding, and its per-step terms are BPTT's (the
# stepper's ledger) summed the other way round.

# %%
model = tr.symbolic.VectorRNN(hidden=2, steps=4, seed=0)
doc = rtrl.derivation(model, check=True)
assert doc.ok(), doc.checks[0].failures()
Markdown(doc.markdown())

# %% [markdown]
# What each keeps: BPTT $O(TH)$ states, RTRL $O(HP)$ sensitivities with $P \approx H^2$
# parameters (small sizes here; `tinygrad-rnn derive --rtrl --measure` runs bigger ones).

# %%
rows = [
    f"| {m.hidden} | {m.steps} | {m.bptt_floats:,} | {m.rtrl_floats:,} | {m.bptt_peak / 1024:.0f} KiB "
    f"| {m.rtrl_peak / 1024:.0f} KiB | {m.rtrl_seconds / m.bptt_seconds:.1f} |"
    for m in rtrl.cost_table(sizes=((4, 200), (16, 200), (4, 800)), repeats=1)
]
header = "| H | T | BPTT keeps | RTRL keeps | BPTT peak | RTRL peak | RTRL / BPTT time |"
Markdown("\n".join([header, "|---" * 7 + "|", *rows]))

# %% [markdown]
# ## Jacobian spectra per step
#
# One Jacobian per step carries the gradient back: $B_t = \partial h_t/\partial h_{t-1}$ for the
# RNN and GRU, whose state is $h_t$, and $B_t = \partial (h_t, c_t)/\partial (h_{t-1}, c_{t-1})$ for
# the LSTM, whose state is $(h_t, c_t)$. The largest singular value of the product
# $B_T \cdots B_{t+1}$ bounds how much of $\partial L/\partial h_T$ can reach step $t$.
# The gradient-flow story's measured norms sit under it.

# %%
folder = Path(tempfile.mkdtemp())
doc = spectra.derivation(steps=40, hidden=8, seed=0, out=folder)
for kind in spectra.KINDS:
    check = spectra.bound_check(kind, steps=40, hidden=8, seed=0)
    assert np.all(check["measured"] <= check["bound"] * (1 + 1e-10)), kind
display(SVG(filename=str(folder / "spectra_products.svg")))
display(SVG(filename=str(folder / "spectra_bound.svg")))
Markdown(doc.markdown())


# %% [markdown]
# ## Exercises
#
# **1. Predict, then check.** The scalar linear RNN h_t = w h_{t-1} + x_t with w = 0.9:
# how much of dL/dh_10 reaches h_0?

# %%
w = 0.9
h0 = tr.Tensor(1.0, requires_grad=True, name="h0")
h = h0
for t in range(10):
    h = w * h + 0.1 * t
h.backward()
print(f"dh_10/dh_0 = {float(h0.grad):.6f}; w^10 = {w ** 10:.6f}")

# %% [markdown]
# **2. The matrix case.** For h_t = W h_{t-1}, dL/dh_0 = (W^T)^T dL/dh_T. Compute it with
# `np.linalg.matrix_power` and compare with the engine.

# %%
rng = np.random.default_rng(0)
W_np = 0.5 * rng.standard_normal((3, 3))
W = tr.Tensor(W_np, name="W")
h0 = tr.Tensor(rng.standard_normal(3), requires_grad=True, name="h0")
h = h0
for _ in range(5):
    h = W @ h
upstream = rng.standard_normal(3)
(h * upstream).sum().backward()
mine = np.linalg.matrix_power(W_np.T, 5) @ upstream
print(f"max |(W^T)^5 dL/dh_5 - h0.grad| = {np.max(np.abs(mine - h0.grad)):.1e}")
