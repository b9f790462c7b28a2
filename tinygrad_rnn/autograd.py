"""The graph walk: recording switches, scopes, backward, and the recorded graph as data.

Every op call (see ``ops.py``) leaves a *node* behind: the op, its input
tensors, what it saved for backward, and the scope path that was open when it
ran. ``backward()`` visits those nodes in reverse topological order and applies
the chain rule at each one:

    grad(input) += local_derivative(node) . grad(output)

The walk is iterative (an explicit stack, no recursion), so a graph that is
10,000 ops deep, such as an RNN unrolled over 10,000 time steps, is fine.
"""

from __future__ import annotations

import contextlib
import gc
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np


class _State:
    """Global switches read by every op call (one instance, module level)."""

    grad_enabled = True
    anomaly = False
    scope = ""  # the open scope path, e.g. "lstm/l0/fwd/t3"


STATE = _State()


class AnomalyError(FloatingPointError):
    """Raised in anomaly mode by the first op whose output or gradient is NaN/Inf."""


@contextlib.contextmanager
def no_grad() -> Iterator[None]:
    """Run ops without recording them: no nodes, no gradients (evaluation, sampling)."""
    previous = STATE.grad_enabled
    STATE.grad_enabled = False
    try:
        yield
    finally:
        STATE.grad_enabled = previous


@contextlib.contextmanager
def enable_grad() -> Iterator[None]:
    """Turn recording back on inside a ``no_grad`` block."""
    previous = STATE.grad_enabled
    STATE.grad_enabled = True
    try:
        yield
    finally:
        STATE.grad_enabled = previous


def is_grad_enabled() -> bool:
    """True when ops are being recorded."""
    return STATE.grad_enabled


class scope:
    """Open a named scope; every node recorded inside carries the nested path.

    >>> with scope("rnn"), scope("t3"):
    ...     h = (W @ h).tanh()        # its nodes are tagged "rnn/t3"

    (A small class rather than a generator: it is entered at every time step.)
    """

    __slots__ = ("name", "previous")

    def __init__(self, name: str):
        name = str(name)
        if not name or "/" in name:
            raise ValueError(f"scope names must be non-empty and contain no '/': {name!r}")
        self.name = name

    def __enter__(self) -> str:
        self.previous = previous = STATE.scope
        STATE.scope = path = f"{previous}/{self.name}" if previous else self.name
        return path

    def __exit__(self, *exc_info: Any) -> None:
        STATE.scope = self.previous


TIME_STEP = re.compile(r"^t\d+$")  # the scope segment that names a time step: "t1", "t2", ...


def time_step(scope: str) -> int | None:
    """The time index t of a scope path such as ``rnn/l0/fwd/t3/hidden`` (None if it has none)."""
    for segment in scope.split("/"):
        if TIME_STEP.match(segment):
            return int(segment[1:])
    return None


def current_scope() -> str:
    """The scope path open right now ("" at top level)."""
    return STATE.scope


@contextlib.contextmanager
def detect_anomaly(enabled: bool = True) -> Iterator[None]:
    """Check every op's output (forward) and every gradient (backward) for NaN/Inf.

    The first op that produces one raises ``AnomalyError`` naming the op, its
    scope and its input shapes. Costs one ``isfinite`` pass per op.
    """
    previous = STATE.anomaly
    STATE.anomaly = enabled
    try:
        yield
    finally:
        STATE.anomaly = previous


def describe(node: Any) -> str:
    """'tanh at scope rnn/l0/t2 (inputs (3, 4))' — used in error messages."""
    shapes = ", ".join(str(t.shape) for t in node.inputs)
    where = f" at scope '{node.scope}'" if node.scope else ""
    return f"{node.name}{where} (input shapes {shapes})"


def check_finite(node: Any, arrays: Any, what: str) -> None:
    """Anomaly mode: raise if any array is NaN/Inf, naming the node."""
    for array in arrays:
        if array is not None and not np.all(np.isfinite(array)):
            bad = [i for i, t in enumerate(node.inputs) if not np.all(np.isfinite(t.data))]
            note = f"; inputs {bad} were already non-finite" if bad else ""
            raise AnomalyError(f"{what} of {describe(node)} contains NaN or Inf{note}")


def topological_order(root: Any) -> list[Any]:
    """Nodes reachable from ``root``'s producer, inputs before outputs (iterative DFS)."""
    start = root._node
    if start is None:
        return []
    order: list[Any] = []
    visited = set()
    stack: list[tuple[Any, bool]] = [(start, False)]
    pop, push = stack.pop, stack.append
    while stack:
        node, expanded = pop()
        if expanded:
            order.append(node)
            continue
        if node in visited:
            continue
        visited.add(node)
        push((node, True))
        for t in reversed(node.inputs):
            parent = t._node
            if parent is not None and parent not in visited:
                push((parent, False))
    return order


@dataclass
class NodeEvent:
    """What one step of the backward pass did at one node."""

    node: Any
    grad_outputs: tuple  # upstream gradient for each output
    grad_inputs: tuple  # gradient sent to each input (None where not needed)


class BackwardPass:
    """The backward pass as a sequence of node steps (``backward()`` runs them all).

    Kept separate so that a stepper can run it one node at a time and still get
    exactly the numbers ``backward()`` gets.

    Gradient bookkeeping: ``pending[id(node)]`` holds one gradient slot per output
    of a node not processed yet. A slot first *borrows* the array it receives
    (no copy); the second gradient into the same slot makes a fresh sum, which
    the slot then owns, and later ones are added into it in place.
    """

    def __init__(self, root: Any, grad: np.ndarray, retain_grads: bool = True):
        self.root = root
        self.order = topological_order(root)
        self.position = len(self.order)  # nodes left to process: order[:position]
        self.retain_grads = retain_grads
        self.pending: dict[int, list] = {}  # id(node) -> [grad per output..., owned bit mask]
        if root._node is None:
            _to_leaf(root, grad)
        else:
            self._slots(root._node)[root._index] = grad
        self._events = True  # step() wants a NodeEvent per node; run() doesn't
        self._walker = self._walk()

    @property
    def done(self) -> bool:
        return self.position == 0

    def step(self) -> NodeEvent:
        """Process the next node: apply its local rule, pass gradients to its inputs."""
        if self.done:
            raise RuntimeError("the backward pass is done: every node has been processed")
        self._events = True
        return next(self._walker)

    def run(self) -> None:
        """Process every node left (this is ``backward()``; no events are built)."""
        self._events = False
        for _ in self._walker:
            pass

    def _slots(self, node: Any) -> list:
        slots = self.pending.get(id(node))
        if slots is None:
            slots = [None] * len(node.outputs) + [0]
            self.pending[id(node)] = slots
        return slots

    def _walk(self) -> Iterator[NodeEvent | None]:
        """The chain rule at each node in reverse topological order, one node per ``next()``.

        (One generator serves both step() and run(): the same code, so the same
        numbers; a generator also keeps the per-node loop free of call overhead.)
        """
        order, pending, retain, state = self.order, self.pending, self.retain_grads, STATE
        position = self.position
        while position:
            position -= 1
            self.position = position
            node = order[position]
            slots = pending.pop(id(node), None)
            if slots is None:  # no gradient reached this node: nothing depends on it
                yield NodeEvent(node, (None,) * len(node.outputs), (None,) * len(node.inputs)) if self._events else None
                continue
            grad_outputs = slots[:-1] if len(slots) > 2 else (slots[0],)
            if retain:
                for ref, g in zip(node.outputs, grad_outputs):
                    if g is not None:
                        out = ref()
                        if out is not None:
                            out.grad = g
            if node.add_into is not None:  # a slice x[idx]: add g into x's gradient where it sits
                self._scatter(node, grad_outputs[0])
                yield NodeEvent(node, tuple(grad_outputs), node.backward(grad_outputs[0])) if self._events else None
                continue
            grad_inputs = node.backward(grad_outputs[0] if len(grad_outputs) == 1 else tuple(grad_outputs))
            if state.anomaly:
                check_finite(node, grad_inputs, "gradient")
            for t, needed, g in zip(node.inputs, node.needs, grad_inputs):
                if needed and g is not None:
                    parent = t._node
                    if parent is None:
                        _to_leaf(t, g)
                        continue
                    into = pending.get(id(parent))
                    if into is None:  # self._slots(parent), inlined: this loop is the hot path
                        n = len(parent.outputs)
                        into = pending[id(parent)] = [None, 0] if n == 1 else [None] * n + [0]
                    if into[t._index] is None:
                        into[t._index] = g  # borrowed
                    else:
                        _accumulate(into, t._index, g)
            yield NodeEvent(node, tuple(grad_outputs), tuple(grad_inputs)) if self._events else None

    def _scatter(self, node: Any, g: np.ndarray) -> None:
        """Accumulate for a node whose gradient is ``g`` in part of its input and zero elsewhere.

        Unrolled RNNs read x_t = xs[t] from one projected sequence at every step:
        materialising a full-size zero gradient per step would make BPTT
        quadratic in T. Instead ``node.add_into`` adds ``g`` into the input's
        gradient buffer in place (the first step's buffer comes from backward()).
        """
        if STATE.anomaly:
            check_finite(node, (g,), "gradient")
        (t,) = node.inputs
        if not node.needs[0]:
            return
        parent = t._node
        if parent is None:
            if t.grad is None:
                _to_leaf(t, node.backward(g)[0])
            elif t.requires_grad:
                node.add_into(t.grad, g)
            return
        slots = self._slots(parent)
        index = t._index
        current = slots[index]
        if current is None:
            slots[index] = node.backward(g)[0]  # freshly made, so owned
        else:
            if not slots[-1] & (1 << index):  # borrowed: copy once before writing into it
                current = slots[index] = current.copy()
            node.add_into(current, g)
        slots[-1] |= 1 << index


def _accumulate(slots: list, index: int, grad: np.ndarray) -> None:
    """slots[index] += grad, without ever writing into an array we don't own."""
    current = slots[index]
    if current is None:
        slots[index] = grad  # borrowed
    elif slots[-1] & (1 << index):  # we own it: add in place
        current += grad
    else:
        # np.asarray: with 0-d tensors current + grad is a NumPy scalar, which += can't update in place
        slots[index] = np.asarray(current + grad)
        slots[-1] |= 1 << index


def _to_leaf(leaf: Any, grad: np.ndarray) -> None:
    """Leaves (parameters, inputs) accumulate across uses *and* across backward calls."""
    if not leaf.requires_grad:
        return
    if leaf.grad is None:
        leaf.grad = np.array(grad, dtype=leaf.data.dtype, copy=True)
    else:
        leaf.grad += grad


def seed_grad(root: Any, grad: Any = None) -> np.ndarray:
    """The gradient backward starts from: ones for a scalar ``root``, else ``grad`` checked."""
    if not root.requires_grad:
        raise RuntimeError(
            "backward() on a tensor that does not require grad: nothing it depends on "
            "requires grad (was it computed under no_grad(), or from detached tensors?)"
        )
    if grad is None:
        if root.data.size != 1:
            raise RuntimeError(
                f"backward() needs a gradient argument for a non-scalar tensor of shape "
                f"{root.shape}: pass grad= of the same shape, or reduce first (e.g. .sum())"
            )
        return np.ones_like(root.data)
    grad = np.asarray(getattr(grad, "data", grad), dtype=root.data.dtype)
    if grad.shape != root.shape:
        raise ValueError(f"backward(): grad has shape {grad.shape} but the tensor has shape {root.shape}")
    return grad


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while a large graph is built or walked.

    Recording and backward make no reference cycles (outputs are held weakly by
    their nodes), so the collector has nothing to find there; left on, it keeps
    re-traversing the whole growing graph, which costs up to a quarter of the
    time of a 10,000-step unroll. Everything is still freed by reference counting.
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def backward(root: Any, grad: Any = None, retain_grads: bool = True) -> None:
    """Fill ``.grad`` of every tensor that ``root`` depends on (see ``Tensor.backward``)."""
    seed = seed_grad(root, grad)
    with gc_paused():
        BackwardPass(root, seed, retain_grads).run()


# ---------------------------------------------------------------------------
# The recorded graph as plain data (for viz, the stepper, symbolic).


@dataclass
class TensorRecord:
    """One tensor in a recorded graph."""

    id: int
    tensor: Any
    name: str | None
    shape: tuple
    kind: str  # "parameter", "input" (leaf needing grad), "constant", or "intermediate"
    producer: int | None = None  # index of the node that made it
    consumers: list[int] = field(default_factory=list)  # indices of nodes that read it


@dataclass
class NodeRecord:
    """One op application in a recorded graph."""

    index: int
    op: str
    scope: str
    formula: str
    inputs: tuple[int, ...]  # tensor ids
    outputs: tuple[int, ...]  # tensor ids (outputs nobody kept are left out)
    node: Any  # the op object itself: its saved values are attributes


@dataclass
class Graph:
    """The computation that produced ``root``: nodes in topological order, and tensors."""

    root: int
    nodes: list[NodeRecord]
    tensors: dict[int, TensorRecord]

    def __len__(self) -> int:
        return len(self.nodes)

    def scopes(self) -> list[str]:
        """Every scope path that some node was recorded in, in first-seen order."""
        return list(dict.fromkeys(n.scope for n in self.nodes))

    def parameters(self) -> list[TensorRecord]:
        return [t for t in self.tensors.values() if t.kind == "parameter"]

    def __repr__(self) -> str:
        return (
            f"Graph({len(self.nodes)} nodes, {len(self.tensors)} tensors, "
            f"{len(self.parameters())} parameters, {len(self.scopes())} scopes)"
        )

    def _repr_html_(self) -> str:
        """Jupyter: the counts, the scopes and a drawing (viz is imported only here)."""
        from viz.notebook import graph_html

        return graph_html(self)


def trace(root: Any) -> Graph:
    """Return the graph recorded behind ``root`` as plain data."""
    order = topological_order(root)
    tensors: dict[int, TensorRecord] = {}

    def record(t: Any) -> TensorRecord:
        rec = tensors.get(id(t))
        if rec is None:
            if t._node is not None:
                kind = "intermediate"
            elif getattr(t, "is_parameter", False):
                kind = "parameter"
            else:
                kind = "input" if t.requires_grad else "constant"
            rec = TensorRecord(id(t), t, t.name, t.shape, kind)
            tensors[id(t)] = rec
        return rec

    nodes = []
    for index, node in enumerate(order):
        ins = tuple(record(t).id for t in node.inputs)
        outs = []
        for ref in node.outputs:
            out = ref()
            if out is not None:
                rec = record(out)
                rec.producer = index
                outs.append(rec.id)
        for tid in dict.fromkeys(ins):
            tensors[tid].consumers.append(index)
        nodes.append(NodeRecord(index, node.name, node.scope, node.formula, ins, tuple(outs), node))
    record(root)
    return Graph(id(root), nodes, tensors)
