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
# # 1. The engine in one screen, and its graph
#
# A `tr.Tensor` is a NumPy array with three more things: `.grad` (another array, filled by
# `backward()`), the *node* of the op that made it, and a name. Every op call records a node,
# so after the forward pass the computation exists as data: a graph we can draw, walk
# backwards and check.
#
# Below: one recurrent unit, h_t = tanh(W h_{t-1} + 1), run for three steps, each in its own
# scope `t1`, `t2`, `t3`. The scopes are what lets the picture put every time step in a box.

# %%
import numpy as np

import tinygrad_rnn as tr
import viz

W = tr.Parameter(np.array([[0.5, -0.3], [0.2, 0.4]]), name="W_hh")
h = tr.Tensor(np.zeros(2), name="h0")
for t in (1, 2, 3):
    with tr.scope(f"t{t}"):
        h = (W @ h + 1.0).tanh()
    h.name = f"h{t}"
loss = h.sum()
loss.name = "loss"
loss.backward()
W.grad

# %% [markdown]
# `loss.backward()` visits the nodes in reverse topological order and applies the chain rule
# at each: dL/dx = dL/dy · dy/dx. W_hh is used at every step, so its gradient is the sum of
# three pieces, one per use (chapter 2 takes that sum apart).
#
# In a notebook a tensor shows its value, its gradient and the graph that computed it. Done
# ops and tensors are coloured by the norm of their gradient (light = small, dark = large):

# %%
loss

# %% [markdown]
# The same graph as plain data: `tr.trace` returns the nodes in topological order (op, inputs,
# outputs, scope, the formula of its local derivative) and every tensor.

# %%
graph = tr.trace(loss)
for node in graph.nodes[:4]:
    print(f"{node.index:2d} {node.op:9s} {node.scope or '(top level)':6s} {node.formula}")
graph

# %% [markdown]
# Each op keeps its forward, its backward and that formula side by side (`tinygrad_rnn/ops.py`).
# `tr.gradcheck` compares the backward of any function with finite differences:

# %%
def unrolled(W):
    h = tr.Tensor(np.zeros(2))
    for _ in range(3):
        h = (W @ h + 1.0).tanh()
    return h.sum()


tr.gradcheck(unrolled, [tr.Tensor(W.data.copy(), requires_grad=True)])

# %% [markdown]
# `viz.draw` gives the picture as a `graphviz.Digraph` (`viz.render(loss, "graph.svg")` writes
# a file); `highlight=` marks every path from the loss down to one tensor: every term of
# its gradient.

# %%
viz.draw(loss, grads=True, highlight="W_hh")


# %% [markdown]
# ## Exercises
#
# Reference solutions live in `notebooks/solutions/` (try first). The code exercises are
# checked by `tr.exercises.check`, whose oracle is this engine: it names the first wrong
# gradient and the rule that produces it. The cells below run the reference solutions;
# replace the import with your own function. (`tinygrad-rnn exercise NAME FILE.py` does the
# same from a terminal.)
#
# **1. Predict, then check.** y = tanh(w·x) with w = 0.5 and x = 2. What is dy/dw? Write
# your number down, then run the cell.

# %%
import sys
from pathlib import Path

if not Path("notebooks/solutions").is_dir():  # Jupyter runs a chapter in notebooks/: the root is one up
    sys.path.insert(0, str(Path.cwd().parent))

import numpy as np

import tinygrad_rnn as tr

w = tr.Tensor(0.5, requires_grad=True, name="w")
y = tr.tanh(w * 2.0)
y.backward()
print(f"dy/dw = (1 - tanh(1)^2) * x = {w.grad:.4f}")

# %% [markdown]
# **2. The tanh and sigmoid rules.** Write `tanh_backward(g, cache)` and
# `sigmoid_backward(g, cache)`: given g = dL/dy and the cache of `tanh_forward` /
# `sigmoid_forward` (it holds x and y), return `{"dx": dL/dx}`.

# %%
from notebooks.solutions import sigmoid_backward, tanh_backward  # the reference: replace with yours

print(tr.exercises.check("tanh_backward", tanh_backward))
print(tr.exercises.check("sigmoid_backward", sigmoid_backward))

# %% [markdown]
# **3. Multiplication with broadcasting.** y = a ⊙ b where b may be broadcast (a (3, 4)
# times b (4,), or a (3, 1) times b (1, 4)). Write `mul_backward(g, cache)` returning
# `{"da": ..., "db": ...}`, each in the shape of its operand. Hint: sum over the axes the
# operand was stretched along.

# %%
from notebooks.solutions import mul_backward  # the reference: replace with yours

print(tr.exercises.check("mul_backward", mul_backward))
