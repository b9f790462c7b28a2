"""The rolled view: the recurrence as the notes draw it first, one cell with a loop.

An unrolled network is T copies of one step. The rolled view draws one step of
each layer and direction once, with every op of it, and turns the edges that
run from step t-1 into step t (h, and c for an LSTM) into a loop back into the
cell, labelled with how often it goes round ("hₜ₋₁ × 20"). Everything outside
the steps (the parameters, the input projection, the stacked outputs and the
loss) is drawn as in the ops view, each once. So the picture has the same
nodes for T = 3 and T = 3000: its size does not depend on T.

The step drawn is a representative one (t = 2 when T >= 2, else t = 1), so the
recurrent inputs come from the step before it, as for every t > 1; the initial
states ``h0``/``c0`` enter the loop from outside. Gate outputs are named with
the step left open: ``hₜ``, ``cₜ``, ``fₜ``.

``rolled_map(view)`` says, for each node of the recorded graph, which node of
the rolled picture stands for it and at which t it ran; the explorer uses it to
light the gate the backward pass is in and to say "t = 7 of 20".
"""

from __future__ import annotations

import re
from typing import Any

from . import labels
from .draw import _HTML, GATE_SYMBOLS, SCOPE_LOOK, TIME, Drawing, _attrs, _OpsView, _segment_label, text
from .tiled import _Irregular, _Tiler

LOOP_COLOUR = "#6a1b9a"  # the recurrence: purple, apart from gradient reds and highlight blue
T_OPEN = "\u209c"  # subscript t: the step left open
MINUS_ONE = "\u208b\u2081"
PLUS_ONE = "\u208a\u2081"
COUNT_WIDTH = 52  # points: "× 100000" at 11 pt


class RolledUnavailable(ValueError):
    """The graph has no regular time steps to roll up."""


class _RolledView(_OpsView):
    """One step per layer and direction, its recurrent edges drawn as loops labelled with T."""

    def build(self) -> Drawing:
        self.seq_T = max((int(seg[1:]) for node in self.graph.nodes for seg in node.scope.split("/")
                          if TIME.match(seg)), default=None)
        self.collect()
        tiler = _Tiler(self)
        try:
            tiler.classify()
        except _Irregular:
            raise RolledUnavailable(
                "draw: view='rolled' needs a regular unroll (time-step scopes t1..tT whose steps run the same ops); "
                "this graph has none: use view='ops' or view='cells'"
            ) from None
        self.place = tiler.place
        self.T = tiler.T
        self.rep = {row: 2 if tiler.T[row] >= 2 else 1 for row in tiler.rows}
        self.step_names = tiler.steps
        self.rows = tiler.rows
        self.where: tuple | None = None  # a stepper's position: (row, t) of its current (else next) node
        if self.status is not None:
            self.status = self.rolled_status()
            self.collect()  # the ops again, styled by the rolled status
        keep = {name for name, where in tiler.place.items() if where[0] != "step" or where[2] == self.rep[where[1]]}
        for item in self.items:
            if item.name in keep:  # an initial state (h0, c0) recorded in step 1 is drawn beside its row
                path = item.path if tiler.place[item.name][0] == "step" else tiler.path[item.name]
                self.cluster(path).lines.append(self.open_step(item.stmt, item.path) if path == item.path
                                                else item.stmt)
        seen: set = set()
        for link in self.links:
            tail, head = self.mapped(link.tail), self.mapped(link.head)
            a, b = tiler.place.get(link.tail), tiler.place.get(link.head)
            loop = a is not None and b is not None and a[0] == b[0] == "step" and a[1] == b[1] and a[2] != b[2]
            key = (tail, head, loop)
            if key in seen:
                continue
            seen.add(key)
            if loop:  # a tensor used twice by the next step (the GRU's h) is labelled once
                labelled = (tail, "label") not in seen
                seen.add((tail, "label"))
                self.edges.append(self.loop_edge(link, tail, head, b[2] - a[2], tiler.T[a[1]], labelled))
            else:
                self.edges.append(f"{tail} -> {head} " + _attrs(**link.style))
        drawing = self.emit()
        drawing.rolled = self.node_map()
        return drawing

    def rolled_status(self) -> dict[int, str]:
        """A stepper's node status on the drawn step: the op standing for the current (next) node is current
        (next), whatever its t; the rest of the step stays plain. Remembers the current node's (row, t)."""
        status: dict[int, str] = {}
        for kind in ("next", "current"):  # current wins where both fall on one drawn op
            for index, state in self.status.items():
                if state == kind:
                    name = f"op{index}"
                    status[int(self.mapped(name)[2:])] = kind
                    where = self.place.get(name)
                    if where is not None and where[0] == "step" and (kind == "current" or self.where is None):
                        self.where = (where[1], where[2])
        return {i: status.get(i, "done") for i in range(len(self.graph.nodes))}

    def mapped(self, name: str) -> str:
        """The node of the rolled picture that stands for ``name`` (its copy in the representative step)."""
        where = self.place.get(name)
        if where is None or where[0] != "step":
            return name
        row, _, k = where[1], where[2], where[3]
        return self.step_names[row][self.rep[row]][k]

    def node_map(self) -> dict[int, tuple[int, int | None, int | None]]:
        """{node index: (index of the op drawn for it, its t, its row's T)}; t is None outside the steps."""
        out = {}
        for node in self.graph.nodes:
            name = f"op{node.index}"
            where = self.place.get(name)
            if where is not None and where[0] == "step":
                out[node.index] = (int(self.mapped(name)[2:]), where[2], self.T[where[1]])
            else:
                out[node.index] = (node.index, None, None)
        return out

    def open_step(self, stmt: str, path: tuple) -> str:
        """Write the representative step's t as an open t in the labels of its tensors: h₂ (or a
        tensor named h2) becomes hₜ."""
        cut = next((i for i, seg in enumerate(path) if TIME.match(seg)), None)
        if cut is None:
            return stmt
        t = path[cut][1:]
        stmt = re.sub(rf"(?<=[A-Za-z\u03b1-\u03c9>]){labels.subscript(t)}(?![\u2080-\u2089])", T_OPEN, stmt)
        return re.sub(rf"<b>([A-Za-z]+){t}</b>", rf"<b><i>\1</i>{T_OPEN}</b>", stmt)

    def loop_edge(self, link: Any, tail: str, head: str, step: int, T: int, labelled: bool = True) -> str:
        """The recurrence: the tensor leaving step t comes back in at step t+1 (t-1 for a reverse row)."""
        tid = link.tensor
        name = self.loop_symbol(tid)
        shift = MINUS_ONE if step > 0 else PLUS_ONE
        label = _loop_label(f"<b>{name}{T_OPEN}{shift}</b>" if name else "", T)
        style = dict(link.style)
        style.pop("tooltip", None)
        style.update(color=style.get("color", LOOP_COLOUR) if self.marked is not None else LOOP_COLOUR,
                     penwidth=style.get("penwidth", 2.2), fontcolor=LOOP_COLOUR, constraint=False,
                     class_="edge loop", tooltip=f"the recurrence: {T} steps, each hands this to the next")
        return f"{tail} -> {head} " + _attrs(label=_HTML(f"<{label}>") if labelled else None, fontsize=11, **style)

    def tensor_lines(self, tid: int, title: str | None) -> list[str]:
        """As in the ops view, with the time axis of a whole sequence (x, the outputs: its first axis) written T."""
        rows = super().tensor_lines(tid, title)
        rec = self.graph.tensors[tid]
        shape = tuple(rec.shape)
        if self.seq_T is not None and len(shape) >= 2 and shape[0] == self.seq_T and rec.kind != "parameter":
            named = "(" + ", ".join(["T", *map(str, shape[1:])]) + ")"
            old = f'<font point-size="8">{text(shape)}</font>'
            rows = [f'<font point-size="8">{text(named)}</font>' if row == old else row for row in rows]
        return rows

    def loop_symbol(self, tid: int) -> str | None:
        rec = self.graph.tensors[tid]
        if rec.producer is None:
            return None
        scope = self.graph.nodes[rec.producer].scope
        gate = scope.rsplit("/", 1)[-1]
        return f"<i>{GATE_SYMBOLS[gate]}</i>" if gate in GATE_SYMBOLS else None

    def cluster_attrs(self, path: tuple) -> str:
        seg = path[-1]
        if not TIME.match(seg):
            return super().cluster_attrs(path)
        label = f"{text(_segment_label('t1'))} &#8230; T: every step, drawn once"
        if self.where is not None and self.where[0] == path[:-1]:
            label += f"; the backward pass is at <b>t = {self.where[1]} of {self.T[path[:-1]]}</b>"
        return _attrs(label=_HTML(f"<{label}>"), id_=self.tree[path].name,
                      **{**SCOPE_LOOK["time"], "class_": "scope time rolled"})


def _loop_label(name: str, T: int) -> str:
    """'hₜ₋₁ × 20', the count in a cell of fixed width: the picture is as wide for T = 3 as for T = 3000."""
    return ('<table border="0" cellpadding="0" cellspacing="0"><tr>'
            + (f"<td>{name}</td>" if name else "")
            + f'<td fixedsize="true" width="{COUNT_WIDTH}" height="14">&#215; {T}</td></tr></table>')
