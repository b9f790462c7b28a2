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
# # 8. The backward pass as a graph
#
# Backpropagation through time is itself a computation: an unrolled network
# that runs right to left,
#
# $$\frac{\partial L}{\partial h_t} = \Big(\frac{\partial h_{t+1}}{\partial h_t}\Big)^{\!\top}
#   \frac{\partial L}{\partial h_{t+1}} + \frac{\partial L_t}{\partial h_t}.$$
#
# With `create_graph=True` the engine *records* that computation, the same
# way it records the forward pass. The gradient is then an ordinary tensor
# with a graph: we can draw it, step through it, check it symbolically and
# differentiate it again.

# %%
import numpy as np
import sympy as sp

import tinygrad_rnn as tr
import viz
from tinygrad_rnn.stories import curvature
from tinygrad_rnn.symbolic import convert, scalar
from viz import plot

rnn = tr.nn.RNN(1, 2, rng=0)
x = tr.Tensor(np.random.default_rng(0).standard_normal((3, 1, 1)), name="x")  # T = 3, batch 1
out, _ = rnn(x)
loss = (out * out).sum()

(g,) = tr.grad(loss, [rnn.weight_hh_l0], create_graph=True)
print(g)

# %% [markdown]
# `g` is dL/dW_hh, and it has a graph. Its nodes carry the scope of the
# forward node whose backward rule made them, under `backward/`: the
# backward of time step 3 lives in `backward/rnn/l0/fwd/t3/...`.

# %%
graph = tr.trace(g)
print(graph)
print([s for s in graph.scopes() if s.startswith("backward")])

# %% [markdown]
# ## Drawing it
#
# `viz.draw(g)` draws the gradient's computation tiled by time step: the
# forward steps on top, and under each one the backward of that step (in the
# `backward` cluster), δh running from t = T back to t = 1.

# %%
viz.draw(g)

# %% [markdown]
# `viz.adjoint` draws the forward pass and its recorded backward pass as
# one picture in the cells view: forward left to right, backward right to
# left, sharing the time axis. The edges between backward cells, labelled
# δh_t, are the adjoint recurrence; the edges between the rows drop straight
# down, bringing h_t to the backward of steps t and t + 1.

# %%
viz.adjoint(loss, rnn.weight_hh_l0)

# %% [markdown]
# ## Stepping through it
#
# The gradient's graph is a graph like any other, so the stepper walks its
# backward pass (the *second* backward) node by node.

# %%
stepper = g.sum().backward(step=True)
for _ in range(4):
    (event,) = stepper.step()
    print(f"{event.op:10s} @ {event.scope}")
stepper.run_to("t2")

# %% [markdown]
# ## Differentiating it again
#
# `tr.grad(g.sum(), [W_hh])` differentiates the recorded backward pass.
# `tr.gradgradcheck` compares such second derivatives with central
# differences of the first derivative.

# %%
(gg,) = tr.grad(g.sum(), [rnn.weight_hh_l0])
print("d(sum dL/dW_hh)/dW_hh =\n", gg.data)


def rnn_loss(w_hh):  # the same RNN written out, as a function of W_hh alone
    h = tr.Tensor(np.zeros((1, 2)))
    for t in range(3):
        h = (x[t] @ rnn.weight_ih_l0.T + h @ w_hh.T + rnn.bias_ih_l0 + rnn.bias_hh_l0).tanh()
    return (h * h).sum()


print("gradgradcheck:", tr.gradgradcheck(rnn_loss, [tr.Tensor(rnn.weight_hh_l0.data.copy(), requires_grad=True)]))

# %% [markdown]
# ## Symbolically
#
# `to_sympy` of a gradient tensor gives its expression. For the scalar RNN
# of the notes it is exactly `sympy.diff` of the loss, and exactly the closed
# form dL/dw_h = (1/T) Σ_k ∂l/∂o_k · w_o · z_k with
# z_k = a_k + Σ_{i<k} (Π_{j=i+1..k} b_j) a_i.

# %%
T = 2
model = scalar.ScalarRNN(T)
values = scalar.Values.random(T, seed=0)
L, _, params = model.engine(values)
(dw,) = tr.grad(L, [params["w_h"]], create_graph=True)


def exact(t):
    """to_sympy, with each constant as the exact rational value of its float."""
    expr = convert.to_sympy(t, constants_as_symbols=True)
    fixed = {s: sp.Rational(float(v)) for name, syms in expr.symbols.items() if not expr.leaves[name].requires_grad
             for s, v in zip(syms.reshape(-1), expr.leaves[name].data.reshape(-1))}
    return expr.scalar().xreplace(fixed)


by_backward = exact(dw)
same_as_diff = sp.expand(by_backward - sp.diff(exact(L), scalar.w_h)) == 0
print("recorded backward == sympy.diff:", same_as_diff)
xs, ys, h0 = model.symbols()
data = {h0: sp.Rational(values.h0), **{s: sp.Rational(float(v)) for s, v in zip(xs + ys, np.r_[values.xs, values.ys])}}
closed = model.closed_form_gradient(model.unrolled()[0]).xreplace(data)
same_as_closed_form = sp.expand(by_backward - closed) == 0
print("recorded backward == closed form:", same_as_closed_form)
assert same_as_diff and same_as_closed_form

# %% [markdown]
# ## Second order: the cliff
#
# A Hessian-vector product differentiates the gradient along a direction:
# `tr.hvp(f, inputs, v)`. For a one-unit RNN h_t = tanh(w h_{t-1} + b), the
# curvature of the loss along its own gradient explodes as w crosses 1, the
# "cliff" of Pascanu et al. (2013); finite differences of the gradient agree.

# %%
cliff = curvature.train(steps=30, low=0.5, high=1.5, points=21)
print(f"peak curvature {cliff['peak_curvature']:.4g} at w = {cliff['peak_w']:.3g} "
      f"(at w = 0.5: {cliff['curvature_at_low']:.3g}); "
      f"hvp vs finite differences: {cliff['max_relative_fd_difference']:.1e}")


class SVG:
    def __init__(self, text):
        self.text = text

    def _repr_svg_(self):
        return self.text


SVG(plot.line_plot({"hvp": (cliff["w"], cliff["curvature"]), "finite differences": (cliff["w"], cliff["curvature_fd"])},
                   title="Curvature along the gradient", xlabel="w", ylabel="u^T H u", markers=True,
                   dashed=["finite differences"]))


# %% [markdown]
# ## Exercises
#
# (Reference solutions: `notebooks/solutions/`.)
#
# **1. Predict, then check.** The backward of y = tanh(x) is itself a graph, so it can be
# differentiated again. What is d²y/dx² at x = 0.5?

# %%
import sys
from pathlib import Path

if not Path("notebooks/solutions").is_dir():  # Jupyter runs a chapter in notebooks/: the root is one up
    sys.path.insert(0, str(Path.cwd().parent))

x = tr.Tensor(0.5, requires_grad=True, name="x")
(dy,) = tr.grad(tr.tanh(x), x, create_graph=True)
(d2y,) = tr.grad(dy, x)
t = np.tanh(0.5)
print(f"d2y/dx2 = {float(d2y.data):.6f}; -2 tanh(x)(1 - tanh(x)^2) = {-2 * t * (1 - t * t):.6f}")

# %% [markdown]
# **2. The sigmoid rule, the one the recorded backward uses.** Write `sigmoid_backward(g, cache)`
# returning `{"dx": ...}` (the cache holds x and y = σ(x)).

# %%
from notebooks.solutions import sigmoid_backward  # the reference: replace with yours

print(tr.exercises.check("sigmoid_backward", sigmoid_backward))
