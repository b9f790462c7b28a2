"""Replay mode: record a training step's graph once, then replay it as a flat list of kernels.

The eager engine builds a fresh graph at every call: one Python node object,
one output Tensor, a weak reference and a scope string per op, then a walk that
discovers the order again. For a fixed model and fixed shapes that graph is the
same every time; only the numbers change. A *tracing JIT* (tinygrad's TinyJit,
``torch.compile``, ``jax.jit``) exploits that: run the function once, keep
the recorded graph, and from then on run just its arithmetic.

``step = tr.compile(fn)`` does exactly that for a function from tensors to a
scalar loss::

    step = tr.compile(lambda x, y: F.mse_loss(lstm(x)[0], y))
    loss = step(x, y)        # first call for these shapes: eager run, recorded
    loss = step(x2, y2)      # later calls: replay forward and backward, fill .grad

This module only *reads* the recorded graph (``graph.trace``): the plan is
two flat lists, one forward kernel per node in topological order and one
backward kernel per node in reverse, over numbered value slots. The kernels
are the ops' own ``forward`` and ``backward`` methods and gradients are summed
in the same order as ``backward()`` sums them, so a replay gives the same
numbers as the eager engine *bit for bit* (a test holds it to that).

What is replayed, and what is fixed at recording time:

- the arguments (new arrays of the same shapes and dtypes each call);
- parameters and other leaves that require grad: read from ``.data`` at every
  call, so an optimizer may update them in place or rebind them;
- every other leaf (constants made inside ``fn``, such as a zero initial state)
  keeps the value it had when recorded. So does anything ``fn`` computes from
  its arguments *outside* the engine's ops (with NumPy on ``.data``, under
  ``no_grad``): ``check=True`` (the default) compares the first replay with an
  eager run and raises if they differ.

A new shape or dtype of any argument records a new plan (like ``jax.jit``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .backward import _accumulate, _to_leaf
from .graph import gc_paused, trace
from .ops import Op
from .tensor import Tensor


class ReplayMismatch(RuntimeError):
    """The first replay of a compiled function did not reproduce the eager result."""


class _Plan:
    """One recorded graph, as slots and kernels."""

    def __init__(self, loss: Tensor, arguments: list[Tensor], params: dict[int, dict]):
        graph = trace(loss)
        slot_of: dict[int, int] = {}
        values: list[Any] = []

        def slot(key: int, value: Any) -> int:
            if key not in slot_of:
                slot_of[key] = len(values)
                values.append(value)
            return slot_of[key]

        # arguments first (slots 0..n-1), then every tensor of the graph
        for arg in arguments:
            slot(id(arg), None)
        self.n_args = len(arguments)
        self.leaves: list[tuple[int, Tensor]] = []  # leaves that require grad: (slot, tensor)
        argument_ids = {id(a) for a in arguments}
        for rec in graph.tensors.values():
            if rec.producer is None and rec.id not in argument_ids:
                s = slot(rec.id, rec.tensor.data)
                if rec.tensor.requires_grad:
                    self.leaves.append((s, rec.tensor))
        self.grad_leaf: dict[int, Tensor] = {s: t for s, t in self.leaves}
        self.grad_leaf.update({slot_of[id(a)]: a for a in arguments if a.requires_grad})
        argument_arrays = {id(a.data): i for i, a in enumerate(arguments)}

        self.forward: list[tuple] = []  # (node, input slots, output slots, params, params fed by arguments)
        for rec in graph.nodes:
            node = rec.node
            ins = tuple(slot_of[id(t)] for t in node.inputs)
            outs = []
            for k, ref in enumerate(node.outputs):
                out = ref()
                outs.append(slot(id(out), None) if out is not None else slot(-len(values) - 1 - k, None))
            kwargs = params.get(id(node), {})
            fed = tuple((name, argument_arrays[id(v)]) for name, v in kwargs.items() if id(v) in argument_arrays)
            self.forward.append((node, ins, tuple(outs), kwargs, fed))
        # Arguments were recorded as if they required grad (so that every op on them is in the
        # graph, not folded into a constant); the replay computes gradients only where eager
        # backward would: towards leaves that require grad.
        requires = [False] * len(values)
        for s in self.grad_leaf:
            requires[s] = True
        for node, ins, outs, _, _ in self.forward:
            node.needs = tuple(requires[s] for s in ins)
            if True in node.needs:
                for s in outs:
                    requires[s] = True
        self.n_slots = len(values)
        self.constants = values
        self.loss_slot = slot_of[id(loss)]
        self.dtype = loss.data.dtype
        for node, *_ in self.forward:  # the plan keeps the op objects, not the first call's tensors
            node.inputs, node.outputs = (), ()

    def run(self, arguments: list[np.ndarray]) -> np.ndarray:
        """Forward, then backward into the leaves' .grad; returns the loss array."""
        vals = list(self.constants)
        vals[: self.n_args] = arguments
        for s, leaf in self.leaves:
            vals[s] = leaf.data
        for node, ins, outs, kwargs, fed in self.forward:
            if fed:
                kwargs = {**kwargs, **{name: arguments[i] for name, i in fed}}
            out = node.forward(*[vals[s] for s in ins], **kwargs)
            if len(outs) == 1 and type(out) is not tuple:
                vals[outs[0]] = out
            else:
                for s, o in zip(outs, out):
                    vals[s] = o
        loss = vals[self.loss_slot]
        self._backward(np.ones_like(loss))
        return loss

    def _backward(self, seed: np.ndarray) -> None:
        """The walk of backward.BackwardPass, over slots: the same sums in the same order."""
        grads: list[Any] = [None] * self.n_slots
        owned = [False] * self.n_slots
        grads[self.loss_slot] = seed
        leaf = self.grad_leaf
        for node, ins, outs, _, _ in reversed(self.forward):
            upstream = [grads[s] for s in outs]
            for s in outs:  # consumed: let it go (as backward() pops a node's pending slots)
                grads[s] = None
            if True not in node.needs or all(g is None for g in upstream):
                continue
            if node.add_into is not None:
                self._scatter(node, ins[0], upstream[0], grads, owned)
                continue
            sent = node.backward(upstream[0] if len(upstream) == 1 else tuple(upstream))
            for s, needed, g in zip(ins, node.needs, sent):
                if not needed or g is None:
                    continue
                if s in leaf:
                    _to_leaf(leaf[s], g)
                elif grads[s] is None:
                    grads[s] = g  # borrowed
                else:
                    box = [grads[s], int(owned[s])]
                    _accumulate(box, 0, g)
                    grads[s], owned[s] = box[0], bool(box[1])

    def _scatter(self, node: Op, s: int, g: np.ndarray, grads: list, owned: list) -> None:
        if not node.needs[0]:
            return
        if s in self.grad_leaf:
            t = self.grad_leaf[s]
            if t.grad is None:
                _to_leaf(t, node.backward(g)[0])
            else:
                node.add_into(t.grad, g)
            return
        if grads[s] is None:
            grads[s] = node.backward(g)[0]
        else:
            if not owned[s]:
                grads[s] = grads[s].copy()
            node.add_into(grads[s], g)
        owned[s] = True


class Compiled:
    """A function recorded once per input signature and replayed (see the module docstring)."""

    def __init__(self, fn: Callable[..., Tensor], check: bool = True):
        if not callable(fn):
            raise TypeError(f"tr.compile: expected a function returning a scalar loss, got {fn!r}")
        self.fn = fn
        self.check = check
        self.plans: dict[tuple, _Plan] = {}
        self._checked: set[tuple] = set()

    def __call__(self, *args: Any) -> Tensor:
        arrays = [np.asarray(a.data if isinstance(a, Tensor) else a) for a in args]
        key = tuple((a.shape, a.dtype.str) for a in arrays)
        wants_grad = [isinstance(a, Tensor) and a.requires_grad for a in args]
        plan = self.plans.get(key)
        if plan is None:
            loss, plan = self._record(arrays, wants_grad, [a if isinstance(a, Tensor) else None for a in args])
            self.plans[key] = plan
            return loss
        if self.check and key not in self._checked:
            self._checked.add(key)
            self._verify(plan, arrays, wants_grad)
        with gc_paused():
            loss = plan.run(arrays)
        self._copy_argument_grads(plan, args)
        return Tensor(loss)

    def _wrap_arguments(self, arrays: list[np.ndarray], wants_grad: list[bool]) -> list[Tensor]:
        return [Tensor(a, requires_grad=g) for a, g in zip(arrays, wants_grad)]

    @staticmethod
    def _recorded_arguments(arrays: list[np.ndarray]) -> list[Tensor]:
        """Float arguments require grad while recording, so every op reading them is recorded."""
        return [Tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]

    def _record(self, arrays: list[np.ndarray], wants_grad: list[bool], originals: list) -> tuple[Tensor, _Plan]:
        """Run ``fn`` eagerly (this call's result) and keep its graph as a plan."""
        arguments = self._recorded_arguments(arrays)
        params: dict[int, dict] = {}
        loss = _recording(self.fn, arguments, params)
        if not isinstance(loss, Tensor) or loss.data.size != 1:
            raise TypeError("tr.compile: the function must return a scalar loss Tensor (e.g. F.mse_loss(...))")
        if loss._node is None:
            raise TypeError("tr.compile: the loss does not depend on any op that requires grad: nothing to replay")
        loss.backward(retain_grads=False, retain_graph=True)
        result = Tensor(loss.data)
        for arg, original, wanted in zip(arguments, originals, wants_grad):
            if wanted and arg.grad is not None:
                _to_leaf(original, arg.grad)
            arg.requires_grad = wanted
        plan = _Plan(loss, arguments, params)
        return result, plan

    def _copy_argument_grads(self, plan: _Plan, args: tuple) -> None:
        for s, t in plan.grad_leaf.items():
            if s < plan.n_args and isinstance(args[s], Tensor):
                if t.grad is not None:
                    _to_leaf(args[s], t.grad)
                t.grad = None

    def _verify(self, plan: _Plan, arrays: list[np.ndarray], wants_grad: list[bool]) -> None:
        """First replay for a signature: compare with an eager run on the same inputs, then undo it."""
        leaves = [t for _, t in plan.leaves]
        before = [None if t.grad is None else t.grad.copy() for t in leaves]
        eager = self.fn(*self._wrap_arguments(arrays, wants_grad))
        eager.backward(retain_grads=False, retain_graph=False)
        expected = [t.grad for t in leaves]
        for t, g in zip(leaves, before):
            t.grad = None if g is None else g.copy()
        with gc_paused():
            loss = plan.run(arrays)
        same = np.array_equal(loss, eager.data) and all(
            (a is None and t.grad is None) or (a is not None and t.grad is not None and np.array_equal(a, t.grad))
            for a, t in zip(expected, leaves)
        )
        for t, g in zip(leaves, before):
            t.grad = g
        if not same:
            raise ReplayMismatch(
                "tr.compile: replaying the recorded graph on new inputs did not give what running the "
                "function gives. The function probably computes something from its arguments outside "
                "the engine's ops (NumPy on .data, no_grad, Python control flow on values), which a "
                "replay keeps fixed at its recorded value. Keep that work in tensor ops, or pass "
                "check=False if you know the difference is intended."
            )


def _recording(fn: Callable[..., Tensor], arguments: list[Tensor], params: dict[int, dict]) -> Any:
    """Call ``fn`` with every op's keyword parameters (axis=, index=, ...) noted per node.

    Ops do not keep their keyword parameters (only what forward saved), and a
    replay needs them; so for the length of this one call, ``Op.apply`` is
    wrapped to note them. Nothing else changes, and the hot path is untouched
    outside compile's first call.
    """
    original = Op.__dict__["apply"]

    def apply(cls: type, *inputs: Any, **kwargs: Any) -> Any:
        result = original.__func__(cls, *inputs, **kwargs)
        first = result[0] if isinstance(result, tuple) else result
        if kwargs and first._node is not None:
            params[id(first._node)] = kwargs
        return result

    Op.apply = classmethod(apply)
    try:
        return fn(*arguments)
    finally:
        Op.apply = original


def compile(fn: Callable[..., Tensor], check: bool = True) -> Compiled:
    """Record ``fn`` (tensors -> scalar loss) once per input signature; replay forward + backward after.

    Each call returns the loss as a Tensor (no graph) and *accumulates* the
    gradient of every parameter into its ``.grad``, exactly as
    ``fn(*args).backward()`` would, with the same bits. ``check=True`` runs the
    first replay of each signature side by side with the eager function and
    raises ``ReplayMismatch`` if they differ.
    """
    return Compiled(fn, check)
