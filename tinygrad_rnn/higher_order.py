"""Second-order quantities from a recorded backward pass: Hessian-vector products.

With ``create_graph=True`` the gradient g(x) = dL/dx is itself a recorded
computation, so it can be differentiated again. Differentiating g . v (v held
fixed) gives H v, the Hessian times a vector, for the price of about two more
backward passes, without ever forming H (n^2 numbers for n parameters).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .backward import grad
from .graph import enable_grad
from .tensor import Tensor


def hvp(
    f: Callable[..., Tensor],
    inputs: Tensor | Sequence[Tensor],
    v: Any,
    create_graph: bool = False,
) -> tuple[Tensor, Any]:
    """``(f(inputs), H v)``: the Hessian of the scalar ``f`` at ``inputs`` times ``v``
    (``torch.autograd.functional.hvp``).

    ``inputs`` is a tensor or a sequence of tensors and ``v`` has the same
    structure (tensors or arrays of the same shapes). The inputs are copied to
    fresh leaves, so their ``.grad`` is untouched. The result is returned in
    the structure of ``inputs``; with ``create_graph=True`` it is recorded too.

    How: g = grad(f(x), x, create_graph=True) is a recorded function of x;
    grad(g, x, grad_outputs=v) is then v^T dg/dx = (H v)^T, and H is symmetric.
    """
    single = isinstance(inputs, Tensor)
    xs = [inputs] if single else list(inputs)
    vs = [v] if single else list(v)
    if len(vs) != len(xs):
        raise ValueError(f"hvp: {len(xs)} inputs but {len(vs)} vectors in v; give one per input")
    leaves = []
    for k, (x, u) in enumerate(zip(xs, vs)):
        if not isinstance(x, Tensor):
            raise TypeError(f"hvp: inputs[{k}] is a {type(x).__name__}, not a Tensor")
        if np.shape(getattr(u, "data", u)) != x.shape:
            raise ValueError(f"hvp: v[{k}] has shape {np.shape(getattr(u, 'data', u))}, inputs[{k}] {x.shape}")
        leaves.append(Tensor(x.data.copy(), requires_grad=True, name=x.name))
    vs = [u if isinstance(u, Tensor) else Tensor(np.asarray(u, dtype=x.dtype)) for u, x in zip(vs, xs)]
    with enable_grad():
        out = f(*leaves)
        if not isinstance(out, Tensor) or out.size != 1:
            raise ValueError("hvp: f must return a one-element Tensor (a scalar loss)")
        gs = grad(out, leaves, create_graph=True, allow_unused=True)
        used = [(leaf, g, u) for leaf, g, u in zip(leaves, gs, vs) if g is not None and g.requires_grad]
        products = dict.fromkeys(map(id, leaves))
        if used:
            found = grad([g for _, g, _ in used], [leaf for leaf, _, _ in used], [u for _, _, u in used],
                         create_graph=create_graph, allow_unused=True)
            products.update({id(leaf): h for (leaf, _, _), h in zip(used, found)})
    result = [products[id(leaf)] if products[id(leaf)] is not None else Tensor(np.zeros_like(leaf.data))
              for leaf in leaves]
    return out.detach(), result[0] if single else tuple(result)
