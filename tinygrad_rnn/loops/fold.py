"""Finding the loops in a recorded graph: which nodes are which step, in one order per step.

Nodes whose scope holds a segment ``t<k>`` belong to step k of the loop named by the
scope before it (``lstm/l0/fwd``). Each step's nodes are put in one canonical order
(a topological order whose ties are broken by gate, op and operands), so that node j
of one step does what node j of every other step does; ``write.Builder`` then checks
that they do and takes one step as the loop body.
"""

from __future__ import annotations

import functools
import heapq
from dataclasses import dataclass, field
from typing import Any


class LoopError(ValueError):
    """The graph cannot be written as a loop over time steps (the message says what is needed)."""


# the order the cells compute their gates in (cells.py), so the loop body reads like the cell
_SCOPE_ORDER = ["", "input_gate", "forget_gate", "cell_gate", "output_gate", "cell_state", "reset_gate",
                "update_gate", "new_gate", "hidden", "output"]


@functools.lru_cache(maxsize=1 << 16)
def split_scope(scope: str) -> tuple[str, int, str] | None:
    """'lstm/l0/fwd/t3/forget_gate' -> ('lstm/l0/fwd', 3, 'forget_gate'); None outside time steps."""
    parts = scope.split("/") if scope else []
    for k, part in enumerate(parts):
        if part[:1] == "t" and part[1:].isdigit() and part[1:].isascii():
            return "/".join(parts[:k]), int(part[1:]), "/".join(parts[k + 1:])
    return None


@dataclass
class Loop:
    """One loop over time steps: the steps' nodes, the template, and how its inputs connect."""

    prefix: str
    steps: list[tuple[int, list[int]]]  # (t, node indices in canonical order), in execution order
    reverse: bool
    suffix: str = ""
    template: list[tuple[str, str, Any]] = field(default_factory=list)  # (op, scope tail, node of the template step)
    # per template node: per input: (kind, detail): ("local", (j, o)), ("carry", (j, o)), ("inv", tid),
    # ("seq", (source, offset)), ("literal", text)
    inputs: list[list[tuple[str, Any]]] = field(default_factory=list)
    inits: dict[tuple[int, int], int] = field(default_factory=dict)  # carried (j, o) -> tensor id at the first step
    names: dict[tuple[int, int], str] = field(default_factory=dict)

    @property
    def first(self) -> int:
        """The smallest t (the loop runs over first..last; backwards when ``reverse``)."""
        return min(t for t, _ in self.steps)

    @property
    def last(self) -> int:
        return max(t for t, _ in self.steps)


def output_positions(graph: Any) -> dict[int, int]:
    """Tensor id -> which output of its producer it is (counting outputs nobody kept, too)."""
    positions = {}
    for rec in graph.nodes:
        for k, ref in enumerate(rec.node.outputs):
            out = ref()
            if out is not None:
                positions[id(out)] = k
    return positions


def _canonical(graph: Any, members: list[int], position: dict[int, int]) -> list[int]:
    """The step's nodes in a topological order that is the same at every step.

    Among the nodes ready to go, the one with the smallest key goes first; the key
    names the scope tail, the op, and each operand by its place in this order (or as
    "outside"), so two steps built by the same code get the same order.
    """
    inside = set(members)
    producer_of = {}
    for n in members:
        for o in graph.nodes[n].outputs:
            producer_of[o] = n
    deps = {n: {producer_of[t] for t in graph.nodes[n].inputs if t in producer_of} for n in members}
    users: dict[int, list[int]] = {n: [] for n in members}
    for n, ds in deps.items():
        for d in ds:
            users[d].append(n)
    place: dict[int, int] = {}

    def key(n: int) -> tuple:
        rec = graph.nodes[n]
        operands = []
        for tid in rec.inputs:
            p = producer_of.get(tid)
            if p is not None and p in inside:
                operands.append((0, place[p], position[tid]))
            else:
                operands.append((1, -1, tuple(graph.tensors[tid].shape)))
        tail = split_scope(rec.scope)[2]
        rank = _SCOPE_ORDER.index(tail.split("/")[-1]) if tail.split("/")[-1] in _SCOPE_ORDER else len(_SCOPE_ORDER)
        return (rank, tail, rec.op, tuple(operands), n)

    waiting = {n: len(ds) for n, ds in deps.items()}
    ready = [key(n) for n in members if waiting[n] == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        n = heapq.heappop(ready)[-1]
        place[n] = len(order)
        order.append(n)
        for u in users[n]:
            waiting[u] -= 1
            if waiting[u] == 0:
                heapq.heappush(ready, key(u))
    return order


def find_loops(graph: Any, position: dict[int, int]) -> tuple[list[Loop], dict[int, tuple[Loop, int, int]]]:
    """Group the nodes by loop and step; return the loops and node index -> (loop, step number, template place)."""
    groups: dict[str, dict[int, list[int]]] = {}
    for rec in graph.nodes:
        parts = split_scope(rec.scope)
        if parts is not None:
            groups.setdefault(parts[0], {}).setdefault(parts[1], []).append(rec.index)
    loops, where = [], {}
    for prefix, steps in groups.items():
        ts = sorted(steps)
        if ts != list(range(ts[0], ts[0] + len(ts))):
            raise LoopError(f"bptt_loop: the time steps under '{prefix or '(root)'}' are not consecutive "
                            f"({', '.join(f't{t}' for t in ts[:8])}...); name them t1, t2, ..., tT")
        by_start = sorted(ts, key=lambda t: max(steps[t]))  # a step ends after the step it reads from
        reverse = len(ts) > 1 and by_start[0] > by_start[-1]
        executed = sorted(ts, reverse=reverse)
        if by_start != executed:
            raise LoopError(f"bptt_loop: the steps under '{prefix or '(root)'}' did not run in order of t "
                            f"(neither t1, t2, ... nor tT, ..., t1)")
        loop = Loop(prefix, [(t, _canonical(graph, steps[t], position)) for t in executed], reverse)
        for t, members in loop.steps:
            for place, n in enumerate(members):
                where[n] = (loop, t, place)
        loops.append(loop)
    return loops, where
