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
