"""Drawing a recorded graph: every primitive (ops view) or one node per time step (cells view).

The picture follows the notes (d2l's computational-graph figures): variables
are unshaded boxes, parameters shaded boxes, operators circles, and the loss
stands out. Scope paths recorded by the engine (``lstm/l0/fwd/t3/forget_gate``)
become nested clusters, so every time step is a box of its own, laid out left
to right. A parameter is drawn once, outside the time steps, with an edge to
every step that uses it: the picture of why its gradient is a sum over time.

An unrolled network is T copies of one cell, so the ops view of a regular
unroll is *tiled* (see ``viz.tiled``): Graphviz lays out one time step of each
layer and direction, and the T copies are placed along the time axis here, at
a cost linear in T. Anything else (a graph without time-step scopes, steps that
differ) gets Graphviz's full layout, which grows about quadratically.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import graphviz
import numpy as np

import tinygrad_rnn as tr
from tinygrad_rnn.files import write_atomic
from tinygrad_rnn.graph import gc_paused
from tinygrad_rnn.notation import GATE_SYMBOLS, names_of

from . import labels
from .labels import ColourScale, dot_string, summary, summary_of, text
from .render import FORMATS, Drawing, pipe_source

TIME = tr.graph.TIME_STEP
LAYER = re.compile(r"^l(\d+)$")
KINDS = {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU", "jordan": "Jordan"}
DIRECTIONS = {"fwd": "forward", "rev": "reverse"}
FONT = "Helvetica"
# off the highlighted paths: a pale fill under grey text (contrast 5.0:1, WCAG's 4.5:1 for small text), not
# grey text on the saturated gradient colour (down to 1.1:1)
FADED = dict(color="#b0bec5", fillcolor="#f5f7f8", fontcolor="#546e7a")
FAN_LIMIT = 3  # cells view: a tensor used by more steps of a row than this gets one edge to the row


class GraphTooLarge(ValueError):
    """The ops view would have more nodes than Graphviz can lay out readably."""


@dataclass
class _Source:
    """What to draw: the graph, the stepper's node status (if any) and the gradients known."""

    graph: tr.Graph
    status: dict[int, str] | None
    grads: dict[int, np.ndarray]


@dataclass
class _Cluster:
    lines: list[str] = field(default_factory=list)
    children: list[tuple] = field(default_factory=list)
    name: str = ""


class _HTML(str):
    """An attribute value that is already an HTML-like label (written as <...>)."""


@dataclass
class _Item:
    """A node of the ops view: its DOT name, its statement, the scope path it is drawn in."""

    name: str
    stmt: str
    path: tuple
    sig: str  # the op's name, or "tensor": what a copy of it in another time step must match
    leaf: bool = False


@dataclass
class _Link:
    """An edge of the ops view, from the node that makes a tensor to one that uses it."""

    tail: str
    tail_path: tuple
    head: str
    head_path: tuple
    style: dict
    tensor: int


def draw(
    obj: Any,
    view: str = "ops",
    values: bool = False,
    grads: bool | None = None,
    highlight: Any = None,
    rankdir: str = "LR",
    max_nodes: int = 500,
    all_tensors: bool = False,
    layout: str = "auto",
    renderer: str | None = None,
    elide: int | None = None,
) -> Drawing:
    """Draw the computation graph behind ``obj`` and return it as a ``graphviz.Digraph``.

    obj: a Tensor (its recorded graph is traced), a ``tr.Graph``, or a stepper
        (anything with ``__viz_state__()``: current (the step just taken), next,
        done and pending nodes are styled apart, as ``labels.STATUS_STYLE`` and the
        legend say, and the gradients known so far are shown).
    view: "ops" draws every primitive op (see all_tensors for the tensors);
        "cells" draws one node per time step of each layer and direction
        (edges carry h and c), which stays readable for hundreds of steps;
        "rolled" draws one step of each layer and direction once, its
        recurrent edges (h, c) as a loop back into it labelled with T
        ("× 20"): the notes' folded picture, the same size for any T
        (``viz.rolled``; the drawing's ``.rolled`` maps every recorded node
        to the node drawn for it and its t).
    values: show each tensor's numbers (tiny tensors) or norm, min and max.
    grads: show gradients and colour nodes and edges by gradient norm (log
        scale). Default: on for a stepper, off otherwise.
    highlight: a tensor (or a tensor's name, e.g. "weight_hh_l0"): mark every
        path from the loss down to it, i.e. every term of its BPTT sum.
    rankdir: "LR" (time runs left to right), "TB", "RL" or "BT"; a tiled
        ops view always runs time left to right.
    max_nodes: the ops view refuses a full (untiled) layout of more nodes
        than this, which would take Graphviz minutes; tiled unrolls of any
        length are drawn.
    all_tensors: ops view: a box for every tensor. By default only leaves
        (parameters, inputs), named tensors, gate outputs (i, f, g, o, c, h,
        r, z, n) and the loss get a box; other intermediates are plain edges
        between their ops (hover for shape, value and gradient).
    layout: ops view: "auto" tiles a regular unroll (one step laid out by
        Graphviz, copied T times, parameters fanned out along rails) and lays
        out anything else in full; "full" always asks Graphviz for the whole
        graph (today's picture for short unrolls, slow for long ones).
    renderer: "graphviz-pure", "dot" or a path (see ``viz.find_renderer``):
        lays out the tiled template and draws the picture.
    elide: ops view of a long regular unroll: keep this many time steps at
        each end and leave out the middle, the first step after the gap
        labelled "… 194 steps …" (``viz.elide``; ``tinygrad-rnn render`` keeps
        3 unless given ``--full``). None (the default) draws every step.

    The result displays inline in Jupyter; ``viz.render(drawing, "g.svg")``
    writes a file and ``drawing.source`` is the DOT text.
    """
    if view not in ("ops", "cells", "rolled"):
        raise ValueError(f"draw: view must be 'ops', 'cells' or 'rolled', got {view!r}")
    if rankdir not in ("LR", "TB", "RL", "BT"):
        raise ValueError(f"draw: rankdir must be 'LR', 'TB', 'RL' or 'BT', got {rankdir!r}")
    if layout not in ("auto", "full"):
        raise ValueError(f"draw: layout must be 'auto' (tile a regular unroll) or 'full', got {layout!r}")
    with gc_paused():  # tracing and laying out a big graph makes many objects and no cycles
        source = _source(obj)
        if grads is None:
            grads = source.status is not None
        marked = _highlighted(source.graph, highlight) if highlight is not None else None
        builder = _builder(view)
        view_ = builder(source, values, grads, marked, rankdir, max_nodes, all_tensors, layout, renderer)
        view_.elide = elide
        drawing = view_.build()
    drawing.renderer = renderer
    return drawing


def _builder(view: str) -> type:
    if view == "rolled":
        from .rolled import _RolledView

        return _RolledView
    return _OpsView if view == "ops" else _CellsView


def _source(obj: Any) -> _Source:
    if hasattr(obj, "__viz_state__"):
        state = obj.__viz_state__()
        if not isinstance(state, dict) or not isinstance(state.get("graph"), tr.Graph):
            raise TypeError(
                "draw: __viz_state__() must return a dict with 'graph' (a tr.Graph), "
                "'status' ({node index: 'done'|'current'|'next'|'pending'}) and 'grads' ({tensor id: array})"
            )
        status = dict(state.get("status") or {})
        bad = {s for s in status.values() if s not in labels.STATUS_STYLE}
        if bad:
            raise ValueError(f"draw: unknown node status {sorted(bad)}: use 'done', 'current', 'next' or 'pending'")
        return _Source(state["graph"], status, dict(state.get("grads") or {}))
    if isinstance(obj, tr.Graph):
        graph = obj
    elif isinstance(obj, tr.Tensor):
        graph = tr.trace(obj)
    else:
        raise TypeError(
            f"draw: expected a Tensor, a tr.Graph or a stepper with __viz_state__(), got {type(obj).__name__}"
        )
    known = {tid: getattr(rec.tensor.grad, "data", rec.tensor.grad)  # a recorded gradient (create_graph): its numbers
             for tid, rec in graph.tensors.items() if rec.tensor.grad is not None}
    return _Source(graph, None, known)


def _highlighted(graph: tr.Graph, target: Any) -> set:
    """Tensor ids and node indices on some path from ``target`` up to the root."""
    if isinstance(target, tr.Tensor):
        start = {id(target)} & graph.tensors.keys()
        if not start:
            raise ValueError("draw: the highlight tensor is not part of this graph (does the loss depend on it?)")
    else:
        start = {tid for tid, rec in graph.tensors.items() if rec.name == str(target)}
        start = start or set(names_of(graph).find(str(target)))  # the notes' name: c₃, typed c3; W_hh
        if not start:
            names = sorted({rec.name for rec in graph.tensors.values() if rec.name})
            raise ValueError(
                f"draw: no tensor named {str(target)!r} in this graph; named tensors: {', '.join(names) or 'none'} "
                f"(or the notes' names the step text uses, such as h3 for h₃)"
            )
    downstream = set(start)
    for node in graph.nodes:
        if any(t in downstream for t in node.inputs):
            downstream.update(node.outputs)
    upstream = {graph.root}
    marked: set = set()
    for node in reversed(graph.nodes):
        if any(t in upstream for t in node.outputs):
            upstream.update(node.inputs)
            if any(t in downstream for t in node.inputs):
                marked.add(("node", node.index))
    marked.update(("tensor", t) for t in downstream & upstream)
    return marked


def segments(scope: str) -> tuple[str, ...]:
    return tuple(scope.split("/")) if scope else ()


def _time_index(path: tuple) -> int | None:
    return next((i for i, seg in enumerate(path) if TIME.match(seg)), None)


def _layer_of(path: tuple) -> int | None:
    return next((int(m.group(1)) for m in map(LAYER.match, path) if m), None)


def _climbs(tail: tuple, head: tuple) -> bool:
    """True for data flowing from a lower layer into a higher one (layer l's outputs into layer l+1)."""
    low, high = _layer_of(tail), _layer_of(head)
    return low is not None and high is not None and low < high


def _segment_label(seg: str) -> str:
    if TIME.match(seg):
        return f"t = {seg[1:]}"
    if seg in KINDS:
        return KINDS[seg]
    if seg.endswith("_cell") and seg[:-5] in KINDS:
        return f"{KINDS[seg[:-5]]} cell"
    layer = LAYER.match(seg)
    if layer:
        return f"layer {layer.group(1)}"
    if seg in DIRECTIONS:
        return DIRECTIONS[seg]
    if seg in GATE_SYMBOLS:
        return seg.replace("_", " ")
    return seg


def _row_order(rows: list[tuple]) -> list[tuple]:
    """Rows by layer, forward above reverse, else in order of appearance."""
    first: dict[tuple, int] = {}
    for row in rows:
        for i in range(1, len(row) + 1):
            first.setdefault(row[:i], len(first))

    def key(row: tuple) -> tuple:
        out = []
        for i, seg in enumerate(row):
            layer = LAYER.match(seg)
            if layer:
                out.append((0, int(layer.group(1))))
            elif seg in DIRECTIONS:
                out.append((0, list(DIRECTIONS).index(seg)))
            else:
                out.append((1, first[row[: i + 1]]))
        return tuple(out)

    return sorted(rows, key=key)


def _common_prefix(paths: list[tuple]) -> tuple:
    if not paths:
        return ()
    first = paths[0]
    n = len(first)
    for p in paths[1:]:
        n = min(n, len(p))
        for i in range(n):
            if p[i] != first[i]:
                n = i
                break
    return first[:n]


def _attrs(**kw: Any) -> str:
    parts = []
    for key, value in kw.items():
        if value is None:
            continue
        key = key.rstrip("_")
        if isinstance(value, _HTML):
            parts.append(f"{key}={value}")
        elif isinstance(value, bool):
            parts.append(f"{key}={'true' if value else 'false'}")
        else:
            parts.append(f"{key}={dot_string(str(value))}")
    return "[" + " ".join(parts) + "]"


# How a scope's box looks, by kind: a time step (a filled box, its t at the top left), a gate
# (dotted, small grey label) or any other scope (dashed). The rolled view draws its one step as a time step.
SCOPE_LOOK: dict[str, dict[str, Any]] = {
    "time": dict(class_="scope time", style="rounded,filled", fillcolor="#eef3fa", color="#90a4ae", fontsize=12,
                 labeljust="l"),
    "gate": dict(class_="scope gate", style="rounded,dotted,filled", fillcolor="#f8fafd", color="#90a4ae",
                 fontsize=9, fontcolor="#546e7a"),
    "scope": dict(class_="scope", style="rounded,dashed", color="#78909c", fillcolor="white", fontsize=13,
                  labeljust="l"),
}


class _View:
    """Shared machinery: clusters from scope paths, gradient colours, highlight, styles."""

    def __init__(
        self,
        source: _Source,
        values: bool,
        grads: bool,
        marked: set | None,
        rankdir: str,
        max_nodes: int,
        all_tensors: bool,
        layout: str = "auto",
        renderer: str | None = None,
    ):
        self.graph = source.graph
        self.status = source.status
        self.grads = source.grads if grads else {}
        self.show_grads = grads
        self.values = values
        self.marked = marked
        self.rankdir = rankdir
        self.max_nodes = max_nodes
        self.all_tensors = all_tensors
        self.layout = layout
        self.renderer = renderer
        self.tree: dict[tuple, _Cluster] = {(): _Cluster()}
        self.edges: list[str] = []
        self.aligned: list[list[str]] = []  # node names to put in one column (rank)
        self.norm = {tid: float(np.linalg.norm(g)) for tid, g in self.grads.items()}
        self.scale = ColourScale(list(self.norm.values()))
        self.tid_name = {tid: f"v{k}" for k, tid in enumerate(self.graph.tensors)}
        self.elide: int | None = None  # ops view: steps kept at each end of a long unroll (viz.elide)
        self.step_labels: dict[tuple, str] = {}  # a time step's label when it is not its segment's (elided)

    # --- clusters -------------------------------------------------------
    def cluster(self, path: tuple) -> _Cluster:
        """The cluster for a scope path, creating its ancestors as needed."""
        found = self.tree.get(path)
        if found is None:
            parent = self.cluster(path[:-1])
            found = self.tree[path] = _Cluster(name=f"cluster_{len(self.tree)}")
            parent.children.append(path)
        return found

    def cluster_attrs_for(self, path: tuple) -> str:
        """The attributes of the cluster for ``path`` (registering it, so it has a stable name)."""
        self.cluster(path)
        return self.cluster_attrs(path)

    def cluster_attrs(self, path: tuple) -> str:
        seg = path[-1]
        label = _HTML(f"<{text(self.step_labels.get(path, _segment_label(seg)))}>")
        look = SCOPE_LOOK["time" if TIME.match(seg) else "gate" if seg in GATE_SYMBOLS else "scope"]
        return _attrs(label=label, id_=self.tree[path].name, **look)

    def header(self, **graph: Any) -> list[str]:
        """The graph, node and edge defaults every picture (and every tiled template) starts with."""
        attrs: dict[str, Any] = dict(
            rankdir=self.rankdir,
            compound=True,
            fontname=FONT,
            nodesep=0.18,
            ranksep=0.28,
            newrank=bool(self.aligned),
            bgcolor="white",
            class_="tinygrad-rnn",
        )
        attrs.update(graph)
        return [
            "\tgraph " + _attrs(**attrs) + "\n",
            "\tnode " + _attrs(fontname=FONT, fontsize=11, penwidth=1.2) + "\n",
            "\tedge " + _attrs(fontname=FONT, fontsize=9, color="#455a64", arrowsize=0.6) + "\n",
        ]

    def emit(self) -> Drawing:
        drawing = Drawing(name="computation_graph", format="svg")
        body = drawing.body
        body.extend(self.header())

        # clusters, depth first (the nesting of scopes is shallow, so recursion is fine here)
        def write(path: tuple, depth: int) -> None:
            cluster = self.tree[path]
            indent = "\t" * depth
            if path:
                body.append(f"{indent}subgraph {cluster.name} {{\n")
                body.append(f"{indent}\tgraph {self.cluster_attrs(path)}\n")
            for line in cluster.lines:
                body.append(f"{indent}\t{line}\n")
            for child in cluster.children:
                write(child, depth + 1)
            if path:
                body.append(f"{indent}}}\n")

        write((), 0)
        for line in self.edges:
            body.append(f"\t{line}\n")
        for names in self.aligned:
            body.append("\t{rank=same; " + "; ".join(names) + "}\n")
        if self.show_grads and self.norm:
            body.append("\tlegend " + _attrs(shape="plaintext", label=_HTML(self.scale.legend()), id_="legend") + "\n")
        if self.status is not None:
            legend = labels.status_legend()
            body.append("\tstatus_legend " + _attrs(shape="plaintext", label=_HTML(legend), id_="status_legend") + "\n")
        return drawing

    # --- styles ---------------------------------------------------------
    def edge_style(self, tid: int, on_path: bool) -> dict:
        style: dict[str, Any] = {}
        if tid in self.norm:
            colour = self.scale.colour(self.norm[tid])
            if colour:
                style.update(color=_darker(colour), penwidth=f"{self.scale.width(self.norm[tid]):.2f}")
        if self.marked is not None:
            if on_path:
                style.update(color="#1565c0", penwidth=3, class_="edge highlight")
            else:
                style.update(color="#cfd8dc", class_="edge")
        return style

    def tensor_lines(self, tid: int, title: str | None) -> list[str]:
        rec = self.graph.tensors[tid]
        rows = []
        if title:
            rows.append(f"<b>{title}</b>")
            torch = names_of(self.graph).torch_name(tid)
            if torch:  # the notes' alias above, PyTorch's name under it: W_hh, weight_hh_l0
                rows.append(f'<font point-size="8">{text(torch)}</font>')
        rows.append(f'<font point-size="8">{text(rec.shape)}</font>')
        if self.values:
            rows.append(f'<font point-size="9">{text(summary_of(rec.tensor.data, "value"))}</font>')
        if self.show_grads and tid in self.grads:
            rows.append(f'<font point-size="9">{text(summary_of(self.grads[tid], "grad"))}</font>')
        return rows

    def tensor_line(self, rec: tr.TensorRecord) -> str:
        g = self.graph
        title = _symbol_title(g, rec)
        rows = self.tensor_lines(rec.id, title)
        style: dict[str, Any] = dict(
            shape="box", style="filled", fillcolor="white", color="#37474f", margin="0.1,0.04", height=0.3
        )
        kind = rec.kind
        if kind == "parameter":
            style.update(fillcolor="#cfd8dc", penwidth=1.6)
        elif kind == "constant":
            style.update(style="dashed,filled", color="#78909c")
        if rec.id in self.norm:
            colour = self.scale.colour(self.norm[rec.id])
            if colour:
                style.update(fillcolor=colour, fontcolor=self.scale.font_colour(self.norm[rec.id]))
        if kind == "constant" and not title and rec.tensor.size == 1:
            rows.insert(0, f"<b>{text(summary(rec.tensor.data))}</b>")  # a number in the formula, e.g. 1 - z
        if rec.id == g.root:
            kind = "root"
            style.update(penwidth=2.5, color="#b71c1c", peripheries=2)
            if rec.id not in self.norm:
                style.update(fillcolor="#ffe082")
            if not title:
                rows.insert(0, "<b>loss</b>" if rec.tensor.size == 1 else "<b>output</b>")
        if self.marked is not None:
            if ("tensor", rec.id) in self.marked:
                style.update(color="#1565c0", penwidth=2.5)
            elif rec.id != g.root:
                style.update(FADED)
        tooltip = f"{names_of(g).full(rec.id)} {rec.shape} ({kind})"
        return f"{self.tid_name[rec.id]} " + _attrs(
            label=_HTML("<" + "<br/>".join(rows) + ">"),
            id_=self.tid_name[rec.id],
            class_=f"tensor {kind}",
            tooltip=tooltip,
            **style,
        )


def _status_style(status: str, base: str) -> dict[str, Any]:
    """Graphviz attributes for a node status, from the table the explorer uses too."""
    look = labels.STATUS_STYLE[status]
    style = f"{base},dashed" if look.get("dash") and "dashed" not in base else base
    return dict(style=style, fillcolor=look["fill"], color=look["stroke"], penwidth=look["width"],
                fontcolor=look["font"])


def _darker(colour: str) -> str:
    """Edges need more contrast than fills: the palette colour at 80% brightness."""
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return "#{:02x}{:02x}{:02x}".format(*(int(v * 0.8) for v in (r, g, b)))


def _symbol_title(graph: tr.Graph, rec: tr.TensorRecord) -> str | None:
    """The title of a tensor's box: its display name (``tinygrad_rnn.notation``), for tensors that are
    named or named by their scope (h₃, c₃, f₃, a loop's h_t); None for the other intermediates (drawn as edges).

    The name is the one the step text, the shell and the explorer use. Its time step is
    written with Unicode subscript digits, not an HTML <sub>: Graphviz sizes a line without
    the subscript's drop, so a <sub> digit ran into the shape line drawn under it.
    """
    notation = names_of(graph)
    if not rec.name and rec.id not in notation.symbols:
        return None
    return text(notation.name(rec.id))


class _OpsView(_View):
    """Every primitive op (a circle) and the tensors that have a name (boxes), clustered by scope."""

    def build(self) -> Drawing:
        self.collect()
        if self.elide is not None and self.layout == "auto":
            from .elide import elide

            elide(self, self.elide)
        if self.layout == "auto":
            from .tiled import tile

            tiled = tile(self)
            if tiled is not None:
                return tiled
        total = len(self.items)
        if total > self.max_nodes:
            raise GraphTooLarge(
                f"draw: the ops view of this graph has {total} nodes ({len(self.graph.nodes)} ops, "
                f"{total - len(self.graph.nodes)} tensors) and no regular time steps to tile, more than "
                f"max_nodes={self.max_nodes}: Graphviz's full layout would take minutes and the picture would be a "
                f"hairball. Use view='cells' (one node per time step), unroll fewer time steps, or pass "
                f"max_nodes={total} to draw it anyway."
            )
        return self.emit_full()

    def collect(self) -> None:
        """Every node of the picture (``self.items``) and every edge (``self.links``), not yet placed."""
        g = self.graph
        boxed = [tid for tid, rec in g.tensors.items() if self.all_tensors or self.boxed(rec)]
        op_path = {n.index: segments(n.scope) for n in g.nodes}
        tensor_path = {tid: self.tensor_path(rec, op_path) for tid, rec in g.tensors.items()}
        # every node of the picture and every edge (tail -> head in the direction data flows)
        self.items = [_Item(f"op{n.index}", self.op_line(n), op_path[n.index], n.op) for n in g.nodes]
        for tid in boxed:
            rec = g.tensors[tid]
            self.items.append(_Item(self.tid_name[tid], self.tensor_line(rec), tensor_path[tid], "tensor",
                                    rec.producer is None))
        self.links: list[_Link] = []
        self.edge_names: dict[int, tuple[str, str]] = {}  # unboxed tensor -> the one edge that shows its name
        boxed_set = set(boxed)
        for node in g.nodes:
            here = op_path[node.index]
            for tid in node.inputs:
                rec = g.tensors[tid]
                on = self.marked is not None and {("node", node.index), ("tensor", tid)} <= self.marked
                style = self.edge_style(tid, on)
                there = tensor_path[tid]
                if rec.producer is not None and (
                    (_time_index(here) is not None and _time_index(there) is None) or _climbs(there, here)
                ):
                    style["constraint"] = False  # keeps the time steps of stacked layers aligned
                if tid in boxed_set:
                    self.links.append(_Link(self.tid_name[tid], there, f"op{node.index}", here, style, tid))
                else:  # an anonymous intermediate: an edge from the op that made it, its name on it, details on hover
                    style["tooltip"] = self.edge_tooltip(rec)
                    self.edge_names.setdefault(tid, (f"op{rec.producer}", f"op{node.index}"))
                    self.links.append(_Link(f"op{rec.producer}", there, f"op{node.index}", here, style, tid))
            for tid in node.outputs:
                if tid in boxed_set:
                    on = self.marked is not None and ("tensor", tid) in self.marked
                    style = self.edge_style(tid, on)
                    self.links.append(_Link(f"op{node.index}", here, self.tid_name[tid], here, style, tid))

    def emit_full(self) -> Drawing:
        """Today's picture: Graphviz lays out the whole graph, clusters and all."""
        for item in self.items:
            self.cluster(item.path).lines.append(item.stmt)

        def reversed_time(path: tuple) -> bool:
            return "rev" in path and _time_index(path) is not None

        named = {ends: tid for tid, ends in self.edge_names.items()}
        for link in self.links:
            tid = named.get((link.tail, link.head))
            if tid is not None and tid == link.tensor:
                name = text(names_of(self.graph).name(tid))
                link.style.update(label=_HTML(f'<<font point-size="8" color="#455a64">{name}</font>>'))
            if reversed_time(link.tail_path) and reversed_time(link.head_path):
                # the reverse direction runs from t = T down to 1: drawn right to left
                self.edges.append(f"{link.head} -> {link.tail} " + _attrs(dir="back", **link.style))
            else:
                self.edges.append(f"{link.tail} -> {link.head} " + _attrs(**link.style))
        return self.emit()

    def boxed(self, rec: tr.TensorRecord) -> bool:
        """Leaves, named tensors, gate outputs (h_t, c_t, f_t, ...), the root and unused outputs get a box."""
        return (
            rec.producer is None
            or rec.id == self.graph.root
            or not rec.consumers
            or _symbol_title(self.graph, rec) is not None
        )

    def edge_tooltip(self, rec: tr.TensorRecord) -> str:
        lines = [f"tensor {rec.shape}"]
        if self.values:
            lines.append(summary_of(rec.tensor.data, "value").replace("\n", ", "))
        if self.show_grads and rec.id in self.grads:
            lines.append(summary_of(self.grads[rec.id], "grad").replace("\n", ", "))
        return "\n".join(lines)

    def tensor_path(self, rec: tr.TensorRecord, op_path: dict) -> tuple:
        if rec.producer is not None:
            return op_path[rec.producer]
        path = _common_prefix([op_path[c] for c in rec.consumers])
        if rec.kind == "parameter":
            cut = _time_index(path)
            path = path if cut is None else path[:cut]
        return path

    def op_line(self, node: tr.NodeRecord) -> str:
        symbol = labels.OP_SYMBOLS.get(node.op, node.op)
        if node.op == "pow":
            symbol = f"x^{labels.number(getattr(node.node, 'p', 0))}"
        status = self.status.get(node.index, "done") if self.status is not None else None
        style: dict[str, Any] = dict(
            shape="circle",
            width=0.42,
            fixedsize=False,
            margin=0.02,
            fontsize=10,
            style="filled",
            fillcolor="white",
            color="#37474f",
        )
        output_norms = [self.norm[t] for t in node.outputs if t in self.norm]
        if output_norms:
            colour = self.scale.colour(max(output_norms))
            if colour:
                style.update(fillcolor=colour, fontcolor=self.scale.font_colour(max(output_norms)))
        if self.marked is not None:
            if ("node", node.index) in self.marked:
                style.update(color="#1565c0", penwidth=2.5)
            else:
                style.update(FADED)
        if status in ("current", "next", "pending"):
            style.update(_status_style(status, style["style"]))
        classes = f"op op-{node.op}" + (f" {status}" if status else "")
        made = ", ".join(names_of(self.graph).name(t) for t in node.outputs)
        tooltip = f"{node.op} at {node.scope or '(top level)'}\n{node.formula}\nmakes {made} (node #{node.index})"
        return f"op{node.index} " + _attrs(
            label=_HTML(f"<{text(symbol)}>"), id_=f"op{node.index}", class_=classes, tooltip=tooltip, **style
        )


def _structural(seg: str) -> bool:
    return seg in KINDS or bool(LAYER.match(seg)) or seg in DIRECTIONS


def _block_key(path: tuple) -> tuple:
    """Where a non-time op is grouped: up to its last layer/direction segment, else its first segment."""
    last = max((i for i, seg in enumerate(path) if _structural(seg)), default=None)
    return path[: last + 1] if last is not None else path[:1]


def _group_cluster(key: tuple) -> tuple:
    path = key[1]
    if key[0] == "cell" or (path and not _structural(path[-1])):
        return path[:-1]
    return path


def _is_prefix(prefix: tuple, path: tuple) -> bool:
    return path[: len(prefix)] == prefix


class _CellsView(_View):
    """One node per cell application (layer, direction, time step); edges carry h and c.

    Ops outside any time step are grouped per scope into blocks (e.g. the input
    projection of a layer, the loss), split into the part that runs before
    that scope's time steps and the part that runs after them. A tensor used
    by more than FAN_LIMIT steps of a row (a parameter, the projected inputs)
    gets one edge to the whole row, labelled with how many steps use it.
    """

    def build(self) -> Drawing:
        g = self.graph
        group_of: dict[int, tuple] = {}  # node index -> group key
        self.members: dict[tuple, list[int]] = {}
        upstream_rows: dict[int, frozenset] = {}  # tensor id -> cell rows (paths) it depends on
        for node in g.nodes:
            path = segments(node.scope)
            cut = _time_index(path)
            rows = frozenset().union(*(upstream_rows.get(t, frozenset()) for t in node.inputs))
            if cut is not None:
                key = ("cell", path[: cut + 1])
                rows = rows | {path[:cut]}
            else:
                block = _block_key(path)
                after = any(_is_prefix(block, row) for row in rows)
                key = ("block", block, "after" if after else "before")
            for t in node.outputs:
                upstream_rows[t] = rows
            group_of[node.index] = key
            self.members.setdefault(key, []).append(node.index)
        self.group_name = {key: f"g{k}" for k, key in enumerate(self.members)}
        # the cluster a group is drawn in: a cell in its row (layer/direction), a block in the
        # cluster it is named after if that is a layer or direction, else beside it
        self.group_path = {key: _group_cluster(key) for key in self.members}
        self.rows: dict[tuple, list[tuple]] = {}  # row path -> its cells, in order of t
        for key in self.members:
            if key[0] == "cell":
                self.rows.setdefault(key[1][:-1], []).append(key)

        # which tensors flow between groups
        links: dict[tuple, None] = {}
        consumers_of: dict[int, set] = {}
        for node in g.nodes:
            for tid in node.inputs:
                consumers_of.setdefault(tid, set()).add(group_of[node.index])
        visible_leaves = {
            tid
            for tid, rec in g.tensors.items()
            if rec.producer is None
            and (rec.kind == "parameter" or rec.name or len(consumers_of.get(tid, ())) > 1 or tid == g.root)
        }
        for node in g.nodes:
            here = group_of[node.index]
            for tid in node.inputs:
                rec = g.tensors[tid]
                if rec.producer is None:
                    if tid in visible_leaves:
                        links[(("leaf", tid), here, tid)] = None
                elif group_of[rec.producer] != here:
                    links[(group_of[rec.producer], here, tid)] = None
        self.outgoing: dict[tuple, list[int]] = {}
        for src, _, tid in links:
            if src[0] != "leaf" and tid not in self.outgoing.setdefault(src, []):
                self.outgoing[src].append(tid)
        root = g.tensors[g.root]
        if root.producer is not None:
            links[(group_of[root.producer], ("leaf", g.root), g.root)] = None
            visible_leaves.add(g.root)

        for key in self.members:
            lines = self.cluster(self.group_path[key])
            if key[0] == "cell":
                lines = self.cluster(self.group_path[key] + ("\0steps",))
            lines.lines.append(self.group_line(key))
        for tid in visible_leaves:
            users = [self.group_path[k] for k in consumers_of.get(tid, ())]
            path = _common_prefix(users) if users else self.group_path[group_of[g.tensors[tid].producer]]
            self.cluster(path).lines.append(self.tensor_line(g.tensors[tid]))
        self.emit_links(list(links))
        by_step: dict[str, list[str]] = {}
        rank = {row: i for i, row in enumerate(_row_order(list(self.rows)))}
        for key in sorted((k for k in self.members if k[0] == "cell"), key=lambda k: rank[k[1][:-1]]):
            by_step.setdefault(key[1][-1], []).append(self.group_name[key])
        self.aligned = [names for names in by_step.values() if len(names) > 1]  # t = 3 of every row in a column
        if self.layout == "auto":
            from .cells_layout import pin

            pinned = pin(self)
            if pinned is not None:
                return pinned
        return self.emit()

    def cluster_attrs(self, path: tuple) -> str:
        if path[-1] == "\0steps":
            return _attrs(
                label="", id_=self.tree[path].name, class_="steps", style="rounded,dotted", color="#90a4ae", margin=6
            )
        return super().cluster_attrs(path)

    def node_id(self, key: tuple) -> str:
        return self.tid_name[key[1]] if key[0] == "leaf" else self.group_name[key]

    def emit_links(self, links: list[tuple]) -> None:
        """Edges between groups; a row fanning out to (or in from) many steps becomes one edge."""
        fans: dict[tuple, list[tuple]] = {}
        for src, dst, tid in links:
            if dst[0] == "cell" and not (src[0] == "cell" and src[1][:-1] == dst[1][:-1]):
                fans.setdefault(("out", src, dst[1][:-1]), []).append((src, dst, tid))
            if src[0] == "cell" and not (dst[0] == "cell" and src[1][:-1] == dst[1][:-1]):
                fans.setdefault(("in", dst, src[1][:-1]), []).append((src, dst, tid))
        bundled = set()
        for (direction, other, row), group in fans.items():
            cells = sorted(
                dict.fromkeys(dst if direction == "out" else src for src, dst, _ in group),
                key=lambda cell: int(cell[1][-1][1:]),
            )  # by t, so the edge meets the row at t = 1 (fan out) or leaves it at t = T (fan in)
            if len(cells) <= FAN_LIMIT or any(link in bundled for link in group):
                continue
            bundled.update(group)
            tids = list(dict.fromkeys(tid for _, _, tid in group))
            steps = self.tree[row + ("\0steps",)].name
            every = "every step" if len(cells) == len(self.rows[row]) else f"{len(cells)} steps"
            names = ", ".join(dict.fromkeys(s for s in (self.symbol(t) for t in tids) if s))
            norms = [self.norm[t] for t in tids if t in self.norm]
            style = self.edge_style(
                tids[0] if not norms else max(tids, key=lambda t: self.norm.get(t, 0)),
                any(self.on_path(t) for t in tids),
            )
            if direction == "out":
                text_ = f"{names} \u2192 {every}" if other[0] != "leaf" and names else f"\u2192 {every}"
                self.edges.append(
                    f"{self.node_id(other)} -> {self.group_name[cells[0]]} "
                    + _attrs(lhead=steps, label=_HTML(f"<{text_}>"), constraint=False, style="dashed", **style)
                )
            else:
                text_ = f"{names or 'outputs'} of {every}"
                self.edges.append(
                    f"{self.group_name[cells[-1]]} -> {self.node_id(other)} "
                    + _attrs(ltail=steps, label=_HTML(f"<{text_}>"), style="dashed", **style)
                )
        for src, dst, tid in links:
            if (src, dst, tid) in bundled:
                continue
            style = self.edge_style(tid, self.on_path(tid) and self.group_on_path(src) and self.group_on_path(dst))
            title = self.tensor_title(tid) if src[0] == "cell" else None
            label = _HTML(f"<{title}>") if title else None
            if (dst[0] == "cell" and src[0] == "block") or ("leaf" not in (src[0], dst[0]) and _climbs(src[1], dst[1])):
                style["constraint"] = False  # rows of stacked layers stay aligned by t
            if src[0] == "cell" and dst[0] == "cell" and "rev" in src[1] and src[1][:-1] == dst[1][:-1]:
                self.edges.append(
                    f"{self.node_id(dst)} -> {self.node_id(src)} " + _attrs(dir="back", label=label, **style)
                )
            else:
                self.edges.append(f"{self.node_id(src)} -> {self.node_id(dst)} " + _attrs(label=label, **style))

    def symbol(self, tid: int) -> str | None:
        """The bare name of a tensor for bundled edges: its name, or h / c for a gate output."""
        rec = self.graph.tensors[tid]
        if rec.name:
            return text(rec.name)
        if rec.producer is None:
            return None
        path = segments(self.graph.nodes[rec.producer].scope)
        return f"<i>{GATE_SYMBOLS[path[-1]]}</i>" if path and path[-1] in GATE_SYMBOLS else None

    def on_path(self, tid: int) -> bool:
        return self.marked is not None and ("tensor", tid) in self.marked

    def group_on_path(self, key: tuple) -> bool:
        if key[0] == "leaf":
            return self.on_path(key[1])
        return self.marked is not None and any(("node", i) in self.marked for i in self.members[key])

    def tensor_title(self, tid: int) -> str | None:
        return _symbol_title(self.graph, self.graph.tensors[tid])

    def group_line(self, key: tuple) -> str:
        g = self.graph
        nodes = self.members[key]
        outs = self.outgoing.get(key, [])
        if key[0] == "cell":
            rows = [f"<b>{text(_segment_label(key[1][-1]))}</b>"]
            style: dict[str, Any] = dict(shape="box", style="rounded,filled", fillcolor="#eef3fa", color="#455a64")
        else:
            names = list(dict.fromkeys(g.nodes[i].op for i in nodes))
            ops_text = ", ".join(names[:4]) + (", \u2026" if len(names) > 4 else "")
            if key[1] and _structural(key[1][-1]):
                where = "before the steps" if key[2] == "before" else "after the steps"
            else:
                where = _segment_label(key[1][-1]) if key[1] else "top level"
            rows = [f"<b>{text(where)}</b>", f'<font point-size="9">{text(ops_text)}</font>']
            style = dict(shape="box", style="filled", fillcolor="white", color="#78909c")
        count = f"{len(nodes)} op" + ("s" if len(nodes) > 1 else "")
        rows.append(f'<font point-size="8">{count}</font>')
        for tid in outs:
            title = self.tensor_title(tid)
            if not title:
                continue
            if self.values:
                rows.append(f'<font point-size="9">{title}: {text(summary(g.tensors[tid].tensor.data))}</font>')
            if self.show_grads and tid in self.grads:
                rows.append(f'<font point-size="9">grad {title}: {text(summary(self.grads[tid]))}</font>')
        known = [self.norm[t] for t in outs if t in self.norm]
        if known:
            norm = float(np.sqrt(sum(n * n for n in known)))
            colour = self.scale.colour(norm)
            if colour:
                style.update(fillcolor=colour, fontcolor=self.scale.font_colour(norm))
        if self.marked is not None:
            if self.group_on_path(key):
                style.update(color="#1565c0", penwidth=2.5)
            else:
                style.update(FADED)
        statuses = {self.status.get(i, "done") for i in nodes} if self.status is not None else set()
        status = None
        if statuses:
            status = next((s for s in ("current", "next") if s in statuses), None)
            status = status or (statuses.pop() if len(statuses) == 1 else "partial")
            if status in ("current", "next", "pending"):
                style.update(_status_style(status, style["style"]))
        classes = ("cell" if key[0] == "cell" else "block") + (f" {status}" if status else "")
        tooltip = "/".join(key[1]) or "(top level)"
        return f"{self.group_name[key]} " + _attrs(
            label=_HTML("<" + "<br/>".join(rows) + ">"),
            id_=self.group_name[key],
            class_=classes,
            tooltip=tooltip,
            margin="0.08,0.04",
            **style,
        )


def render(obj: Any, path: str | os.PathLike, renderer: str | None = None, **draw_options: Any) -> Path:
    """Write a picture of ``obj`` to ``path``; the extension picks the format.

    ``obj`` is a drawing from ``viz.draw`` (or any ``graphviz.Digraph``), or
    something ``viz.draw`` accepts (a Tensor, a Graph, a stepper), drawn with
    ``draw_options``. ``.svg`` and ``.png`` need a renderer (``graphviz-pure``
    or ``dot``; ``renderer`` picks one, see ``find_renderer``); ``.dot``/``.gv``
    write the DOT text and never do. Missing folders on the way are created;
    the file is replaced at once (``tinygrad_rnn.files.write_atomic``), never
    left half-written.
    """
    path = Path(path)
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ValueError(f"render: can't tell the format from {path.name!r}: use a path ending in {', '.join(FORMATS)}")
    if isinstance(obj, graphviz.Digraph):
        if draw_options:
            raise TypeError("render: drawing options only apply when passing a tensor, graph or stepper")
        drawing = obj
    else:
        drawing = draw(obj, renderer=renderer, **draw_options)
    if fmt == "dot":
        data: str | bytes = drawing.source
    elif isinstance(drawing, Drawing):
        if renderer is not None:
            drawing.renderer = renderer
        data = drawing.pipe(format=fmt)
    else:
        data = pipe_source(drawing.source, fmt, renderer)
    return write_atomic(path, data)
