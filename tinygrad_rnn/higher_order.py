"""Gradients as tensors: ``tr.grad``, ``backward(create_graph=True)`` and Hessian-vector products.

The first-order walk of ``backward.py`` fills ``.grad`` with NumPy arrays. Here
the same backward rules run on the engine's own ops instead (``Op.recorded_backward``),
so a gradient is itself a recorded computation, with nodes scoped
``backward/<the forward node's scope>``: it can be drawn, stepped, and
differentiated again. Differentiating g . v (v held fixed) gives H v, the
Hessian times a vector, for the price of about two more backward passes,
without ever forming H (n^2 numbers for n parameters).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .backward import seed_grad
from .graph import SWITCHES, check_finite, enable_grad, gc_paused, topological_order
from .hooks import HOOKS
from .hooks import run as run_hooks
from .tensor import Tensor


def grad(
    outputs: Any,
    inputs: Any,
    grad_outputs: Any = None,
    create_graph: bool = False,
    retain_graph: bool | None = None,
    allow_unused: bool = False,
) -> tuple:
    """The gradients of ``outputs`` with respect to ``inputs``, returned (``torch.autograd.grad``).

    ``outputs``: a tensor or a sequence of tensors; ``grad_outputs``: the
    matching upstream gradients (None: ones, for one-element outputs), so the
    result is the vector-Jacobian product sum_k grad_outputs[k] . d outputs[k]/d input.
    Nothing is written into any ``.grad``.

    ``create_graph=True`` runs every op's backward rule on engine ops, so each
    returned gradient is a Tensor whose own graph records how it was computed
    (nodes scoped ``backward/<the forward node's scope>``): draw it, step it,
    or differentiate it again. Otherwise the results are constant tensors.

    ``retain_graph`` is accepted for PyTorch compatibility; the engine always
    keeps the recorded graph, so a second pass over it always works.
    ``allow_unused=True`` returns None for an input no output depends on
    (otherwise that is an error).
    """
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    single = isinstance(inputs, Tensor)
    inputs = [inputs] if single else list(inputs)
    if grad_outputs is None or isinstance(grad_outputs, Tensor) or isinstance(grad_outputs, np.ndarray):
        grad_outputs = [grad_outputs] * len(outputs) if grad_outputs is None else [grad_outputs]
    grad_outputs = list(grad_outputs)
    if len(grad_outputs) != len(outputs):
        raise ValueError(f"grad: {len(outputs)} outputs but {len(grad_outputs)} grad_outputs; give one per output")
    for k, t in enumerate(inputs):
        if not isinstance(t, Tensor):
            raise TypeError(f"grad: inputs[{k}] is a {type(t).__name__}, not a Tensor")
        if not t.requires_grad:
            raise RuntimeError(
                f"grad: inputs[{k}]{_named(t)} does not require grad, so no gradient flows to it "
                "(make it with requires_grad=True, or pass a tensor computed from one)"
            )
    seeds = [_seed(out, g, create_graph) for out, g in zip(outputs, grad_outputs)]
    wanted = {id(t) for t in inputs}
    with gc_paused():
        found = _walk_recorded(outputs, seeds, create_graph, wanted)
    results = []
    for k, t in enumerate(inputs):
        g = found.get(id(t))
        if g is None and not allow_unused:
            raise RuntimeError(
                f"grad: inputs[{k}]{_named(t)} was not used to compute the outputs; "
                "pass allow_unused=True to get None for it"
            )
        if g is not None and not create_graph:
            g = Tensor(np.array(g, dtype=t.data.dtype))
        results.append(g)
    return tuple(results)


def backward_recorded(root: Any, grad: Any = None, retain_grads: bool = True) -> None:
    """``root.backward(create_graph=True)``: like ``backward()``, but every ``.grad`` it
    writes is a Tensor with a graph (leaves accumulate, as in PyTorch)."""
    with gc_paused():
        found = _walk_recorded([root], [_seed(root, grad, True)], True, None, keep_all=retain_grads)
    for t, g in found.values():
        if t._node is not None:
            t.grad = g
        elif t.grad is None:
            t.grad = g
        else:
            previous = t.grad if isinstance(t.grad, Tensor) else Tensor(t.grad)
            t.grad = previous + g


def _named(t: Any) -> str:
    return f" ({t.name!r})" if t.name else ""


def _seed(root: Any, grad: Any, create_graph: bool) -> Any:
    """The starting gradient: a Tensor when recording (it may itself require grad)."""
    if create_graph and isinstance(grad, Tensor):
        seed_grad(root, grad)  # the same checks
        return grad
    seed = seed_grad(root, grad)
    return Tensor._wrap(seed, None, 0) if create_graph else seed


def _walk_recorded(roots: list, seeds: list, create_graph: bool, wanted: set | None, keep_all: bool = False) -> dict:
    """The reference walk, with each rule run on engine ops when ``create_graph``.

    Returns {id(t): gradient} for the tensors in ``wanted`` (tr.grad), or
    {id(t): (t, gradient)} for every leaf requiring grad and, with
    ``keep_all``, every intermediate (backward(create_graph=True)).
    Only nodes on a path to a wanted tensor are visited.
    """
    grads: dict[int, Any] = {}
    tensors: dict[int, Any] = {}
    found: dict[int, Any] = {}

    def arrive(t: Any, g: Any) -> None:
        key = id(t)
        grads[key] = grads[key] + g if key in grads else g
        tensors[key] = t

    for root, seed in zip(roots, seeds):
        arrive(root, seed)
    order = topological_order(roots)
    if wanted is not None:
        order = _on_paths(order, wanted)

    def settle(t: Any) -> None:  # the gradient of t is complete: hand it over
        key = id(t)
        g = grads.pop(key)
        tensors.pop(key)
        if wanted is None:
            if t._node is None or keep_all:
                found[key] = (t, g)
        elif key in wanted:
            found[key] = g

    previous = SWITCHES.now  # (grad enabled, anomaly, scope) of this thread
    anomaly = previous[1]
    try:
        for node in reversed(order):
            outputs = [ref() for ref in node.outputs]
            upstream = [grads.get(id(o)) if o is not None else None for o in outputs]
            if all(g is None for g in upstream):
                continue
            for k, o in enumerate(outputs):
                if o is not None and id(o) in grads:
                    if HOOKS and id(o) in HOOKS:  # its gradient is complete: hooks may replace it
                        grads[id(o)] = upstream[k] = hook(o, grads[id(o)], create_graph)
                    settle(o)
            SWITCHES.now = (create_graph, anomaly, f"backward/{node.scope}" if node.scope else "backward")
            g = upstream[0] if len(upstream) == 1 else tuple(upstream)
            sent = node.recorded_backward(g) if create_graph else node.backward(g)
            if anomaly:
                check_finite(node, [getattr(s, "data", s) for s in sent], "gradient")
            for x, needed, s in zip(node.inputs, node.needs, sent):
                if needed and s is not None:
                    arrive(x, s)
        for t in list(tensors.values()):  # leaves (and roots no node produced)
            if t.requires_grad:
                if HOOKS and id(t) in HOOKS:
                    grads[id(t)] = hook(t, grads[id(t)], create_graph)
                settle(t)
    finally:
        SWITCHES.now = previous
    return found


def hook(t: Any, g: Any, create_graph: bool) -> Any:
    """Run ``t``'s hooks on its gradient (recorded as engine ops, scoped ``backward/hook``,
    when ``create_graph``). Called inside ``_walk_recorded``, which restores the switches after."""
    SWITCHES.now = (create_graph, SWITCHES.now[1], "backward/hook")
    return run_hooks(t, g)


def _on_paths(order: list, wanted: set) -> list:
    """The nodes of ``order`` from which some wanted tensor can be reached going backwards."""
    useful: set = set()
    for node in order:  # inputs before outputs: a node is useful if it reads a wanted or useful tensor
        for t in node.inputs:
            if id(t) in wanted or (t._node is not None and id(t._node) in useful):
                useful.add(id(node))
                break
    return [node for node in order if id(node) in useful]


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
