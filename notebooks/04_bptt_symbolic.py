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
# # 4. The BPTT recurrence and its closed form, with SymPy, checked three ways
#
# For a one-unit RNN h_t = f(x_t, h_{t-1}, w_h), the chain rule through one step gives a
# linear recurrence for z_k = ∂h_k/∂w_h, and unrolling it gives the closed form of the notes:
#
# $$z_k = a_k + \sum_{i<k} \Big(\prod_{j=i+1}^{k} b_j\Big) a_i,
# \qquad a_k = \frac{\partial f}{\partial w_h},\; b_k = \frac{\partial f}{\partial h_{k-1}}$$
#
# `tr.symbolic.derive` does the derivation in SymPy (with a proof by induction), then
# evaluates it and compares it with autograd and with finite differences.

# %%
from IPython.display import Markdown

import tinygrad_rnn as tr

doc = tr.symbolic.derive("rnn", 3, check=True)
Markdown(doc.markdown())

# %% [markdown]
# ## Three ways, one number
#
# The check tables above put the same derivatives side by side: from the **symbolic** closed
# form, from **autograd** (the engine's backward pass), and from **finite differences**
# (central differences of the forward pass). The worst disagreement:

# %%
rows = [f"| {c.title.removeprefix('check: ')} | {c.summary()} |" for c in doc.checks]
worst = max(c.max_error for c in doc.checks)
assert doc.ok(1e-8), worst
Markdown("| check | result |\n|---|---|\n" + "\n".join(rows) + f"\n\nworst error: {worst:.1e} (tolerance 1e-8)")

# %% [markdown]
# The same from the command line: `tinygrad-rnn derive --cell rnn --steps 3 --check`.


# %% [markdown]
# ## Exercises
#
# **1. Predict, then check.** In z_k = a_k + b_k z_{k-1} with z_0 = a_0 = 1, let every
# a_k = 1 and every b_k = 0.5. What is z_3? And what does the closed form say each a_i
# contributes?

# %%
a, b = [1.0, 1.0, 1.0, 1.0], [None, 0.5, 0.5, 0.5]
z = a[0]
for k in (1, 2, 3):
    z = a[k] + b[k] * z
pieces = [a[i] * 0.5 ** (3 - i) for i in range(4)]
print(f"z_3 by the recurrence: {z}; the closed form's terms a_i * prod b_j: {pieces}, sum {sum(pieces)}")

# %% [markdown]
# **2. The closed form as code.** Write `closed_form(a, b, k)` = Σ_{i≤k} (∏_{j=i+1..k} b_j) a_i
# and compare it with the recurrence on random numbers. (Then run the checker on BPTT,
# chapter 2's exercise 3: its dL/dh_t is exactly this z.)

# %%
import numpy as np


def closed_form(a, b, k):
    return sum(np.prod(b[i + 1 : k + 1]) * a[i] for i in range(k + 1))


rng = np.random.default_rng(0)
a, b = rng.standard_normal(6), rng.standard_normal(6)
z = a[0]
for k in range(1, 6):
    z = a[k] + b[k] * z
print(f"closed form {closed_form(a, b, 5):.12f}, recurrence {z:.12f}")
