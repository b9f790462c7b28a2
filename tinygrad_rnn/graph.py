"""The recorded graph: recording switches, scopes, and the graph as data.

Every op call (see ``ops.py``) leaves a *node* behind: the op, its input
tensors, what it saved for backward, and the scope path that was open when it
ran (``lstm/l0/fwd/t3/forget_gate``). This module holds what decides whether
and where a node is recorded (``no_grad``, ``scope``, anomaly mode), the order
in which nodes depend on each other (``topological_order``), and ``trace()``,
which hands the recorded graph to viz, the stepper and the symbolic layer as
plain data. The walk that applies the chain rule lives in ``backward.py``.

The thread rule. The switches (recording on/off, the open scope, anomaly
mode) and the default dtype (``tensor.set_default_dtype``) belong to the
thread that set them, as PyTorch's grad mode does: ``no_grad()`` in a web
request's thread, or in a notebook's background thread, does not stop a
training loop in another thread from recording, and the scopes of one model
never tag the nodes of a model running beside it. Every new thread starts
from the defaults: recording on, no scope, anomaly mode off, float64, however
the thread that started it was set. Tensors themselves are shared: two
threads that train the *same* parameters still race on their ``.grad``.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import re
import threading
import weakref
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np


class _Switches(threading.local):
    """This thread's switches, read by every op call as one tuple:
    ``now = (grad_enabled, anomaly, scope)``.

    A ``threading.local``: each thread sees its own ``now``, and a thread that
    never set it sees the class attribute below, the defaults. One tuple, so
    an op pays for one thread-local lookup, not three.
    """

    now: tuple[bool, bool, str] = (True, False, "")


SWITCHES = _Switches()


# In-place writes into tensors' arrays (``W.data -= lr * g``), counted over the whole
# process. Each write gets the next number; a recorded node keeps ``writes =
# WRITES[0]`` as it was when the node was recorded; and ``_WRITTEN`` remembers,
# per memory buffer (the root array that views such as ``W.T`` share), the latest
# write into it. Backward asks ``written_since`` about the arrays a node used, so
# a write into W is found even through the view W.T that a matmul saved.
WRITES = [0]  # (a list, so an op reads it in one step)
_WRITTEN: dict[int, tuple[int, Any, Any, str]] = {}  # id(root) -> (number, ref(root), ref(array written), label)
_WRITES_LOCK = threading.RLock()  # (re-entrant: a weakref callback can fire inside note_write)


def _root(array: np.ndarray) -> np.ndarray:
    """The array that owns the memory ``array`` views (itself when it owns it)."""
    while isinstance(array.base, np.ndarray):
        array = array.base
    return array


def note_write(array: np.ndarray, label: str) -> int:
    """Count one in-place write into ``array`` (``label`` names its tensor); return its number."""
    root = _root(array)
    key = id(root)
    with _WRITES_LOCK:
        WRITES[0] += 1
        _WRITTEN[key] = (WRITES[0], weakref.ref(root, functools.partial(_forget, key)), weakref.ref(array), label)
        return WRITES[0]


def _forget(key: int, ref: Any) -> None:
    """A written buffer was freed: drop its entry (unless a newer buffer took its id)."""
    with _WRITES_LOCK:
        entry = _WRITTEN.get(key)
        if entry is not None and entry[1] is ref:
            del _WRITTEN[key]


def written_since(array: np.ndarray, count: int) -> tuple[int, np.ndarray | None, str] | None:
    """The latest write into ``array``'s memory if it came after write number ``count``:
    (its number, the array written or None if that is gone, its label); else None."""
    root = _root(array)
    entry = _WRITTEN.get(id(root))
    if entry is None or entry[0] <= count or entry[1]() is not root:
        return None
    return entry[0], entry[2](), entry[3]


class AnomalyError(FloatingPointError):
    """Raised in anomaly mode by the first op whose output or gradient is NaN/Inf."""


def _set_grad_enabled(enabled: bool) -> bool:
    """Switch recording on or off in this thread; return what it was."""
    previous, anomaly, path = SWITCHES.now
    SWITCHES.now = (enabled, anomaly, path)
    return previous


@contextlib.contextmanager
def no_grad() -> Iterator[None]:
    """Run ops without recording them: no nodes, no gradients (evaluation, sampling).

    Only this thread stops recording: a training loop in another thread is unaffected.
    """
    previous = _set_grad_enabled(False)
    try:
        yield
    finally:
        _set_grad_enabled(previous)


@contextlib.contextmanager
def enable_grad() -> Iterator[None]:
    """Turn recording back on inside a ``no_grad`` block (in this thread)."""
    previous = _set_grad_enabled(True)
    try:
        yield
    finally:
        _set_grad_enabled(previous)


def is_grad_enabled() -> bool:
    """True when ops called from this thread are being recorded."""
    return SWITCHES.now[0]


class scope:
    """Open a named scope; every node recorded inside carries the nested path.

    >>> with scope("rnn"), scope("t3"):
    ...     h = (W @ h).tanh()        # its nodes are tagged "rnn/t3"

    Scopes are per thread: a model running in another thread gets its own paths.
    (A small class rather than a generator: it is entered at every time step.)
    """

    __slots__ = ("name", "previous")

    def __init__(self, name: str):
        name = str(name)
        if not name or "/" in name:
            raise ValueError(f"scope names must be non-empty and contain no '/': {name!r}")
        self.name = name

    def __enter__(self) -> str:
        enabled, anomaly, previous = SWITCHES.now
        self.previous = previous
        path = f"{previous}/{self.name}" if previous else self.name
        SWITCHES.now = (enabled, anomaly, path)
        return path

    def __exit__(self, *exc_info: Any) -> None:
        enabled, anomaly, _ = SWITCHES.now
        SWITCHES.now = (enabled, anomaly, self.previous)


TIME_STEP = re.compile(r"^t\d+$")  # the scope segment that names a time step: "t1", "t2", ...


def time_step(scope: str) -> int | None:
    """The time index t of a scope path such as ``rnn/l0/fwd/t3/hidden`` (None if it has none)."""
    for segment in scope.split("/"):
        if TIME_STEP.match(segment):
            return int(segment[1:])
    return None


def current_scope() -> str:
    """The scope path open right now in this thread ("" at top level)."""
    return SWITCHES.now[2]


@contextlib.contextmanager
def detect_anomaly(enabled: bool = True) -> Iterator[None]:
    """Check every op's output (forward) and every gradient (backward) for NaN/Inf.

    The first op that produces one raises ``AnomalyError`` naming the op, its
    scope and its input shapes. Costs one ``isfinite`` pass per op. Like every
    switch, it holds for this thread only.
    """
    grad_enabled, previous, path = SWITCHES.now
    SWITCHES.now = (grad_enabled, bool(enabled), path)
    try:
        yield
    finally:
        grad_enabled, _, path = SWITCHES.now
        SWITCHES.now = (grad_enabled, previous, path)


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
    """Nodes reachable from ``root``'s producer (or several roots' producers, given a
    list), inputs before outputs (iterative DFS)."""
    roots = root if isinstance(root, (list, tuple)) else (root,)
    starts = [r._node for r in reversed(roots) if r._node is not None]
    if not starts:
        return []
    order: list[Any] = []
    visited = set()
    stack: list[tuple[Any, bool]] = [(start, False) for start in starts]
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


def trace(root: Any) -> Graph:
    """Return the graph recorded behind ``root`` as plain data.

    ``root`` may be a list of tensors (e.g. ``[loss, grad_of_loss]``): one graph
    holding the computations of all of them, whose root is the last one.
    """
    roots = list(root) if isinstance(root, (list, tuple)) else [root]
    order = topological_order(roots)
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
    for r in roots:
        record(r)
    return Graph(id(roots[-1]), nodes, tensors)
