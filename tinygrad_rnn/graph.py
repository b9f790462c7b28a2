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
    teaching: bool = True  # backward() keeps every intermediate .grad and the graph (see teaching_mode)


SWITCHES = _Switches()


# In-place writes into tensors' arrays (``W.data -= lr * g``), counted over the whole
# process. Each write gets the next number; a recorded node keeps ``writes =
# WRITES[0]`` as it was when the node was recorded; and ``_WRITTEN`` remembers,
# per memory buffer (the root array that views such as ``W.T`` share), the latest
# write into it. Backward asks ``written_since`` about the arrays a node used, so
# a write into W is found even through the view W.T that a matmul saved.
WRITES = [0]  # (a list, so an op reads it in one step)
_WRITTEN: dict[int, tuple[int, Any, Any, str]] = {}  # id(root) -> (number, ref(root), ref(array written), label)
_WRITES_LOCK = threading.Lock()
_SWEEP_AT = [256]  # sweep the entries of freed buffers out of _WRITTEN when it grows this big


def _root(array: np.ndarray) -> np.ndarray:
    """The array that owns the memory ``array`` views (itself when it owns it)."""
    while isinstance(array.base, np.ndarray):
        array = array.base
    return array


def note_write(array: np.ndarray, label: str) -> int:
    """Count one in-place write into ``array`` (``label`` names its tensor); return its number.

    A freed buffer's entry is swept out later (when the table has doubled), never by a weakref
    callback: Python ignores an exception raised in a callback, so a Ctrl-C arriving while one
    ran would be lost (issue 28). A stale entry is harmless: its reference no longer points at
    the buffer, so ``written_since`` ignores it.
    """
    root = _root(array)
    with _WRITES_LOCK:
        WRITES[0] += 1
        if len(_WRITTEN) >= _SWEEP_AT[0]:
            for key in [key for key, entry in _WRITTEN.items() if entry[1]() is None]:
                del _WRITTEN[key]
            _SWEEP_AT[0] = max(256, 2 * len(_WRITTEN))
        _WRITTEN[id(root)] = (WRITES[0], weakref.ref(root), weakref.ref(array), label)
        return WRITES[0]


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
        if name is None:
            raise TypeError("scope: give the scope a name, such as 't3' or 'encoder' (got None)")
        if type(name) is not str:
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


class teaching_mode:
    """Whether backward() keeps everything it touched, so it can be looked at afterwards.

    On (the default, this is a teaching engine): every intermediate tensor keeps
    its ``.grad`` and the graph stays whole, so ``viz.draw(loss)`` or a second
    ``backward()`` after ``loss.backward()`` work. Off (training): ``.grad`` is
    kept only on leaves (parameters, inputs) and on tensors you called
    ``retain_grad()`` on, and the graph is freed as backward walks it (each
    node's saved values and links to its inputs, as PyTorch does), which cuts
    the memory of a long unroll by about half. ``backward(retain_grads=...,
    retain_graph=...)`` overrides it for one call.

    >>> tr.teaching_mode(False)       # off from now on (teaching_mode() turns it back on)
    >>> with tr.teaching_mode(False): # or only inside the block
    ...     loss.backward()
    """

    __slots__ = ("previous",)

    def __init__(self, enabled: bool = True):
        self.previous = SWITCHES.teaching
        SWITCHES.teaching = bool(enabled)

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc_info: Any) -> None:
        SWITCHES.teaching = self.previous


def is_teaching_mode() -> bool:
    """True when backward() keeps every intermediate gradient and the graph (see ``teaching_mode``)."""
    return SWITCHES.teaching


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


class FreedGraphError(RuntimeError):
    """The graph (or part of it) was freed by an earlier ``backward()``."""

    def __init__(self, node: Any):
        where = f" (at scope '{node.scope}')" if node.scope else ""
        super().__init__(
            f"this graph was already freed by backward(): the {node.name} node{where} no longer holds "
            f"its saved values or inputs. To backward through it twice (or draw or trace it after "
            f"backward), call the first backward(retain_graph=True), or turn on tr.teaching_mode()"
        )


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
        inputs = node.inputs
        if not inputs and node.freed:  # (every recorded node has inputs, until backward frees it)
            raise FreedGraphError(node)
        for t in reversed(inputs):
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
    The collector's previous state is restored on exit, whatever happens inside.
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            _freeze_if_big()  # else the next young collection walks everything made in the pause
            gc.enable()


# A graph built in user code (a loop of h = (W @ h).tanh(), no gc_paused around it) has no
# pause to sit in. There, the collector is left on, but once a full collection has walked
# a big graph being recorded, the survivors are *frozen* (gc.freeze: moved
# to a generation the collector never scans, an O(1) list splice), so later collections walk
# only what is new. backward() unfreezes them (the graph it consumed is usually garbage soon),
# so nothing frozen stays out of the collector's sight for longer than one recording. The
# same freeze ends a gc_paused() block during a big recording: the objects made in the pause
# (the unrolled graph, a trace of it) would otherwise all be walked by the next collection.
#
# No code of ours runs *inside* the collector (no gc.callbacks): Python ignores an exception
# raised in a gc callback, so a Ctrl-C that arrived while one ran was lost and the program
# went on. Instead the recording itself looks, every CHECK_EVERY recorded nodes, at the
# collector's counters (gc.get_stats) to see whether a full collection has run meanwhile.
RECORDED = [0]  # nodes recorded since the last backward (ops.Op.apply counts them)
FREEZE_AFTER = 10_000  # ... and a graph this big is worth freezing for
CHECK_EVERY = 1024  # recorded nodes between looks at the collector's counters (a power of two)
MAX_FREEZES = 8  # freezes without a backward before everything is given back anyway
_frozen_by_us = [False]
_freezes = [0]
_full_collections = [0]  # how many full collections had run when the recording last looked


def _freeze_if_big() -> None:
    """Freeze everything alive now, if a big graph is being recorded (and the user froze nothing).

    Code that records without ever calling backward (drawing, inference with grad on) would keep
    objects frozen indefinitely, so after MAX_FREEZES freezes they are given back and counting
    starts again: a reference cycle that became garbage meanwhile is collected late, never lost.
    """
    if RECORDED[0] < FREEZE_AFTER or not (_frozen_by_us[0] or gc.get_freeze_count() == 0):
        return
    if _freezes[0] >= MAX_FREEZES:
        recording_consumed()
        return
    gc.freeze()
    _frozen_by_us[0] = True
    _freezes[0] += 1


def recorded_many() -> None:
    """Called by the recording every CHECK_EVERY nodes: if a full collection ran since the last
    look, it walked the whole big graph being recorded, so freeze what is alive now (garbage
    made since that collection is frozen too, and collected after the next backward)."""
    collections = gc.get_stats()[2]["collections"]
    if collections != _full_collections[0]:
        _full_collections[0] = collections
        _freeze_if_big()


def recording_consumed() -> None:
    """A graph was consumed (by backward): give anything we froze back to the collector."""
    RECORDED[0] = _freezes[0] = 0
    if _frozen_by_us[0]:
        _frozen_by_us[0] = False
        gc.unfreeze()


# ---------------------------------------------------------------------------
# The recorded graph as plain data (for viz, the stepper, symbolic).


@dataclass(slots=True)
class TensorRecord:
    """One tensor in a recorded graph."""

    id: int
    tensor: Any
    name: str | None
    shape: tuple
    kind: str  # "parameter", "input" (leaf needing grad), "constant", or "intermediate"
    producer: int | None = None  # index of the node that made it
    consumers: list[int] = field(default_factory=list)  # indices of nodes that read it


@dataclass(slots=True)
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
    """Return the graph recorded behind ``root`` as plain data.

    ``root`` may be a list of tensors (e.g. ``[loss, grad_of_loss]``): one graph
    holding the computations of all of them, whose root is the last one.
    """
    with gc_paused():  # it builds two records per node and makes no cycles (see gc_paused)
        return _trace(list(root) if isinstance(root, (list, tuple)) else [root])


def _trace(roots: list) -> Graph:
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
    get = tensors.get
    for index, node in enumerate(order):  # (the hot loop of tracing a long unroll: record() inlined)
        ins = []
        for t in node.inputs:
            key = id(t)
            rec = get(key) or record(t)
            consumers = rec.consumers
            if not consumers or consumers[-1] != index:  # a tensor read twice by one node counts once
                consumers.append(index)
            ins.append(key)
        outs = []
        for ref in node.outputs:
            out = ref()
            if out is not None:
                rec = record(out)
                rec.producer = index
                outs.append(rec.id)
        nodes.append(NodeRecord(index, node.name, node.scope, node.formula, tuple(ins), tuple(outs), node))
    for r in roots:
        record(r)
    return Graph(id(roots[-1]), nodes, tensors)
