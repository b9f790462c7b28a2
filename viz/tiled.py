"""The ops view of a long unroll, in time linear in T: lay out one time step, then tile it.

An unrolled network is T copies of one cell, and the scope paths say so
(``lstm/l0/fwd/t3/...``). So Graphviz is asked to lay out only small pieces:

* a *template* per row (a layer and direction): one time step, with a port
  for every edge that enters or leaves it;
* a *block* per scope for the ops outside the time steps, split into the part
  that runs before the steps (parameters, ``W_hhᵀ``, the input projection)
  and the part after them (stacking the outputs, the loss).

Here the copies of step t = 1..T are placed left to right along the time axis
(forward rows above reverse rows, layer by layer), blocks go left or right of
the rows they feed or follow, and every edge between pieces gets a route: the
next step's h and c go straight across, and a tensor that many steps share
(``W_hhᵀ`` feeds every step) runs along a *rail* above the row with a short
drop into each step; outputs collected from every step run along a rail
below it. The result is a DOT with every position pinned (``pos`` of nodes
and edges, ``bb`` of clusters) that Graphviz draws without a layout
(``neato -n2``). Node ids are those of the full layout (``op<i>``, ``v<k>``),
so the player and the stepper restyle the same SVG.

``tile`` returns None when the graph is not a regular unroll (no time-step
scopes, or steps of a row that differ); the caller then lays it out in full.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from tinygrad_rnn.notation import names_of

from . import labels
from .draw import _HTML, GATE_SYMBOLS, TIME, _attrs, _row_order, _segment_label, _time_index
from .render import Drawing, RendererNotFound, RenderError, run_renderer

PAD = 8.0  # cluster padding around its contents, points
LABEL = 20.0  # room for a cluster's label above its contents
STEP_GAP = 44.0  # between two time steps (the drops from the rails run here)
GAP = 36.0  # between a block and the rows beside it
ROW_GAP = 28.0  # between two rows
RAIL = 15.0  # between two rails
LEGEND = 70.0  # room for the colour legend above the picture
STATUS_LEGEND = 110.0  # room for the stepper's status legend (done, current, next, pending) above it


@dataclass
class _Piece:
    """A part laid out by Graphviz on its own: a row's template step, or a block outside the steps."""

    key: tuple  # ("row", row path) or ("block", scope path, "before" | "after")
    names: list[str]  # the nodes in it (for a row: those of its representative step)
    ports: dict[tuple, str] = field(default_factory=dict)  # port key -> port node name
    nodes: dict[str, tuple] = field(default_factory=dict)  # name -> (x, y, w, h) in points, y down
    clusters: dict[tuple, tuple] = field(default_factory=dict)  # relative path -> (x0, y0, x1, y1)
    splines: dict[tuple, list[list]] = field(default_factory=dict)  # (tail, head) -> [[points, end], ...]
    width: float = 0.0
    height: float = 0.0


def tile(view: Any) -> Drawing | None:
    """The ops view of ``view`` (a ``draw._OpsView`` after it collected items and links), tiled; or None."""
    try:
        return _Tiler(view).run()
    except (RendererNotFound, RenderError, _Irregular):
        return None


class _Irregular(Exception):
    """The graph is not T copies of one step per row: it gets the full layout."""


def _backwards(row: tuple) -> bool:
    """Data runs from step t to step t - 1 in this row: a reverse direction, or the recorded backward of a forward one.

    Such a row is drawn mirrored, so that step t still sits at the t-th place along the time axis
    and what one step sends to the next (h, or the adjoint δh) runs from right to left.
    """
    return ("rev" in row) != (row[:1] == ("backward",))


def _ragged(by_t: dict[int, list[str]], sigs: dict[int, list], inner: set, across: dict[str, set]) -> tuple:
    """The steps of a row differ at its ends only: fit the first and the last step into a middle one.

    In the recorded backward of an RNN the step t = T receives no δh (nothing comes after it) and
    step t = 1 sends none to h₀, so they lack ops that the middle steps have. Step 2 is the template,
    and every middle step must be just like it. The end steps' nodes are matched, in the order they
    ran, to template positions of the same op and scope such that every link inside the step is a path
    in the template. What an end step lacks must be the edge of time: each connected group of
    template nodes missing from step 1 must link to a step t - 1, and from step T to a step t + 1
    (``across`` gives the time steps each node links to outside its own step). Returns the template's
    t and, per t, the template position of each node (ops keep their order; the boxes of named tensors,
    listed after them, may come in any order; a box with no place in the template gets -1 and is drawn
    beside the row); raises _Irregular when the steps do not fit
    (the graph then gets the full layout).
    """
    T = len(by_t)
    if T < 3 or any(sigs[t] != sigs[2] for t in range(3, T)):
        raise _Irregular
    rep, template = 2, sigs[2]
    links = set(inner)
    k_of = {n: k for k, n in enumerate(by_t[rep])}
    direct = {(k_of[a], k_of[b]) for a, b in links if a in k_of and b in k_of}
    paths = set(direct)
    grown = True
    while grown:  # a link of an end step may stand for a path through ops it lacks (matmul -> [add] -> tensor)
        more = {(a, d) for a, b in paths for c, d in paths if b == c} - paths
        paths |= more
        grown = bool(more)
    slots = {t: list(range(len(template))) for t in range(2, T)}
    for t, edge in ((1, rep - 1), (T, rep + 1)):
        names = by_t[t]
        preds = {n: [a for a, b in links if b == n] for n in names}
        succs = {n: [b for a, b in links if a == n] for n in names}
        match: dict[str, int] = {}
        budget = [20000]

        def fit(i: int, lo: int, names: list = names, sig: list = sigs[t], preds: dict = preds, succs: dict = succs,
                match: dict = match, budget: list = budget) -> bool:
            if i == len(names):
                return True
            n = names[i]
            box = sig[i][0] == "tensor"  # boxes are listed after the ops, not in the order they were made
            for k in range(0 if box else lo, len(template)):
                budget[0] -= 1
                if budget[0] < 0:
                    raise _Irregular
                if template[k] != sig[i] or k in match.values():
                    continue
                if any(match.get(p, -1) >= 0 and (match[p], k) not in paths for p in preds[n]):
                    continue
                if any(match.get(s, -1) >= 0 and (k, match[s]) not in paths for s in succs[n]):
                    continue
                match[n] = k
                if fit(i + 1, lo if box else k + 1):
                    return True
                del match[n]
            if box:  # a box the template lacks (the last step's sum, named there only) is drawn beside the row
                match[n] = -1
                if fit(i + 1, lo):
                    return True
                del match[n]
            return False

        if not fit(0, 0):
            raise _Irregular
        slots[t] = [match[n] for n in names]
        missing = set(range(len(template))) - set(slots[t])
        while missing:  # each group of missing template nodes must touch the edge of time
            group, todo = set(), [missing.pop()]
            while todo:
                k = todo.pop()
                group.add(k)
                near = {b for a, b in direct if a == k} | {a for a, b in direct if b == k}
                todo += list(near & missing)
                missing -= near
            if not any(edge in across.get(by_t[rep][k], ()) for k in group):
                raise _Irregular
    return rep, slots


def _visible_length(stmt: str) -> int:
    """How long the longest line of a node's label is, tags and entities removed (to pick the widest copy)."""
    match = re.search(r"label=<(.*?)> id=", stmt)
    body = match.group(1) if match else ""
    lines = re.split(r"<br/>", body)
    return max((len(re.sub(r"&[#\w]+;", "x", re.sub(r"<[^>]*>", "", line))) for line in lines), default=0)


def _parse_spline(pos: str) -> list[list]:
    """Graphviz ``pos`` of an edge -> [[points, end point or None], ...] (one per spline piece)."""
    pieces = []
    for part in pos.split(";"):
        points, end = [], None
        for token in part.split():
            if token.startswith("e,"):
                end = tuple(float(v) for v in token[2:].split(","))
            elif token.startswith("s,"):
                continue
            else:
                points.append(tuple(float(v) for v in token.split(",")))
        pieces.append([points, end])
    return pieces


def _line(a: tuple, b: tuple) -> list[tuple]:
    """A straight segment as the three further points of a cubic Bezier."""
    (ax, ay), (bx, by) = a, b
    return [(ax + (bx - ax) / 3, ay + (by - ay) / 3), (ax + 2 * (bx - ax) / 3, ay + 2 * (by - ay) / 3), (bx, by)]


def _polyline(points: list[tuple]) -> list[tuple]:
    out = [points[0]]
    for a, b in zip(points, points[1:]):
        if a != b:
            out += _line(a, b)
    return out


def _curve(a: tuple, b: tuple) -> list[tuple]:
    """An S-curve from a to b, leaving and arriving horizontally."""
    (ax, ay), (bx, by) = a, b
    d = (bx - ax) / 2
    return [a, (ax + d, ay), (bx - d, by), b]


class _Tiler:
    def __init__(self, view: Any):
        self.view = view
        self.items = {item.name: item for item in view.items}

    # --- which node is where ------------------------------------------------
    def classify(self) -> None:
        """Step nodes (row, t, position k in the step) and outer nodes; raises _Irregular if steps differ."""
        self.place: dict[str, tuple] = {}  # name -> ("step", row, t, k) | ("block", path, side)
        steps: dict[tuple, dict[int, list[str]]] = {}
        self.outer: list[str] = []
        self.path: dict[str, tuple] = {}
        inside: list = []  # leaves used inside one step: part of the step if every step has one like it
        for item in self.view.items:
            cut = _time_index(item.path)
            if cut is not None and not item.leaf:
                steps.setdefault(item.path[:cut], {}).setdefault(int(item.path[cut][1:]), []).append(item.name)
                self.path[item.name] = item.path
            elif cut is not None:
                inside.append((item, cut))
            else:
                self.outer.append(item.name)
                self.path[item.name] = item.path
        if not steps:
            raise _Irregular
        self.rows = _row_order(list(steps))
        self.steps = steps
        self.T: dict[tuple, int] = {}
        self.rep: dict[tuple, int] = {}
        self.at: dict[tuple, dict[int, dict[int, str]]] = {}  # row -> t -> {position k: name}
        inner = self.inner_links()
        ragged: set = set()
        for row, by_t in steps.items():
            ts = sorted(by_t)
            if ts != list(range(1, len(ts) + 1)):
                raise _Irregular
            self.T[row] = len(ts)
            cut = len(row) + 1
            sigs = {t: [(self.items[n].sig, self.items[n].path[cut:]) for n in by_t[t]] for t in ts}
            if all(sigs[t] == sigs[1] for t in ts):
                self.rep[row] = 2 if len(ts) >= 2 else 1
                slots = {t: list(range(len(by_t[t]))) for t in ts}
            else:
                self.rep[row], slots = _ragged(by_t, sigs, inner, self.across())
                ragged.add(row)  # its steps were matched to the template link by link
            self.at[row] = {t: {k: n for k, n in zip(slots[t], by_t[t]) if k >= 0} for t in ts}
            for t in ts:
                for n, k in zip(by_t[t], slots[t]):
                    if k < 0:
                        self.outer.append(n)
                        self.path[n] = row
                    else:
                        self.place[n] = ("step", row, t, k)
            by_t.update({t: [n for n, k in zip(by_t[t], slots[t]) if k >= 0] for t in ts})
        users: dict[str, list] = {}
        for link in self.view.links:
            where = self.place.get(link.head)
            users.setdefault(link.tail, []).append(where[3] if where else None)
        leaves: dict[tuple, dict[int, str]] = {}
        for item, cut in inside:
            slot = (item.path[:cut], item.path[cut + 1 :], tuple(users.get(item.name, ())))
            leaves.setdefault(slot, {})[int(item.path[cut][1:])] = item.name
        for (row, _, _), by_t in leaves.items():
            every = row in steps and set(by_t) == set(steps[row])
            k = len(steps[row][self.rep[row]]) if every else None
            for t, name in by_t.items():
                if every:  # e.g. the constant 1 of 1 - z in every GRU step
                    steps[row][t].append(name)
                    self.at[row][t][k] = name
                    self.place[name] = ("step", row, t, k)
                    self.path[name] = self.items[name].path
                else:  # e.g. h0 of a hand-written loop, used by step 1 only: drawn beside its row
                    self.outer.append(name)
                    self.path[name] = row
        for row, at in self.at.items():
            shapes = {frozenset(self.shape(inner, list(at[t].values()), list(at[t]))) for t in at}
            if row not in ragged and len(shapes) > 1:
                raise _Irregular
        self.sides()

    def inner_links(self) -> set:
        """The links (tail, head) between two nodes of one time step."""
        step_of = {}
        for item in self.view.items:
            cut = _time_index(item.path)
            if cut is not None:
                step_of[item.name] = item.path[: cut + 1]
        return {
            (link.tail, link.head)
            for link in self.view.links
            if link.tail in step_of and step_of[link.tail] == step_of.get(link.head)
        }

    def across(self) -> dict[str, set]:
        """For each node in a time step: the time steps (of any row) it links to outside its own step."""
        step_of = {}
        for item in self.view.items:
            cut = _time_index(item.path)
            if cut is not None:
                step_of[item.name] = item.path[: cut + 1]
        out: dict[str, set] = {}
        for link in self.view.links:
            a, b = step_of.get(link.tail), step_of.get(link.head)
            if a and b and a != b:
                out.setdefault(link.tail, set()).add(int(b[-1][1:]))
                out.setdefault(link.head, set()).add(int(a[-1][1:]))
        return out

    @staticmethod
    def shape(inner: set, names: list[str], slots: list[int]) -> set:
        """A step's links as pairs of positions (k of tail, k of head)."""
        k = dict(zip(names, slots))
        return {(k[a], k[b]) for a, b in inner if a in k and b in k}

    def related(self, path: tuple, row: tuple) -> bool:
        n = min(len(path), len(row))
        return path[:n] == row[:n]

    def sides(self) -> None:
        """Outer nodes run before or after the steps of the rows in their scope (as in the cells view)."""
        rows_of: dict[str, set] = {}  # outer name -> rows it depends on
        incoming: dict[str, list[str]] = {}
        consumers: dict[str, list[str]] = {}
        for link in self.view.links:
            incoming.setdefault(link.head, []).append(link.tail)
            consumers.setdefault(link.tail, []).append(link.head)
        order = [n for n in self.outer if not self.items[n].leaf]
        for name in order:  # ops are in the order they ran, so inputs come first
            deps: set = set()
            for tail in incoming.get(name, ()):
                where = self.place.get(tail)
                if where and where[0] == "step":
                    deps.add(where[1])
                else:
                    deps |= rows_of.get(tail, set())
            rows_of[name] = deps
        boxes = [n for n in self.outer if self.items[n].leaf is False and self.items[n].sig == "tensor"]
        for name in boxes:  # a named intermediate's box follows the op that made it
            rows_of[name] = set().union(*(rows_of.get(t, set()) for t in incoming.get(name, ())))
        for name in self.outer:
            if self.items[name].leaf:
                continue
            path = self.path[name]
            deps = rows_of.get(name, set())
            scoped = [r for r in self.rows if self.related(path, r)]
            after = any(self.related(path, r) for r in deps) if scoped else bool(deps)
            self.place[name] = ("block", path, "after" if after else "before")
        for name in self.outer:  # a leaf joins the block of its users in its scope
            if self.items[name].leaf:
                path = self.path[name]
                users = [c for c in consumers.get(name, ()) if self.place.get(c, ("",))[0] == "block"]
                after = any(self.place[c] == ("block", path, "after") for c in users)
                self.place[name] = ("block", path, "after" if after else "before")

    # --- ports --------------------------------------------------------------
    def unit(self, name: str) -> tuple:
        where = self.place[name]
        return where[:3] if where[0] == "step" else where

    def local(self, name: str) -> Any:
        where = self.place[name]
        return where[3] if where[0] == "step" else name

    def adjacent(self, a: tuple, b: tuple) -> bool:
        """b is the step right after a in data order (reverse rows run from t = T down to 1)."""
        if a[0] != "step" or b[0] != "step" or a[1] != b[1]:
            return False
        return b[2] == a[2] + (-1 if _backwards(a[1]) else 1)

    def out_key(self, link: Any) -> tuple:
        a, b = self.unit(link.tail), self.unit(link.head)
        if self.adjacent(a, b):
            dest = ("next",)
        elif b[0] == "step":
            dest = ("row", b[1])
        else:
            dest = ("unit", b)
        return (self.local(link.tail), dest)

    def in_key(self, link: Any) -> tuple:
        a, b = self.unit(link.tail), self.unit(link.head)
        if self.adjacent(a, b):
            src = ("prev",)
        elif a[0] == "block" and b[0] == "step":
            src = ("src", link.tail)
        elif a[0] == "step":
            src = ("row", a[1])
        else:
            src = ("unit", a)
        return (self.local(link.head), src)

    # --- laying out the pieces ------------------------------------------------
    def pieces(self) -> None:
        self.pieces_: dict[tuple, _Piece] = {}
        for row in self.rows:
            names = self.steps[row][self.rep[row]]
            self.pieces_[("row", row)] = _Piece(("row", row), names)
        for name in self.outer:
            key = self.place[name]
            self.pieces_.setdefault(key, _Piece(key, [])).names.append(name)
        cross: dict[tuple, list] = {}  # piece key -> [(kind, port key, edge end name)]
        for link in self.view.links:
            a, b = self.unit(link.tail), self.unit(link.head)
            if a == b:
                continue
            pa = ("row", a[1]) if a[0] == "step" else a
            pb = ("row", b[1]) if b[0] == "step" else b
            if a[0] != "step" or a[2] == self.rep[a[1]]:
                cross.setdefault(pa, []).append(("out", self.out_key(link), link.tail))
            if b[0] != "step" or b[2] == self.rep[b[1]]:
                cross.setdefault(pb, []).append(("in", self.in_key(link), link.head))
        sources = [self.template(piece, cross.get(key, [])) for key, piece in self.pieces_.items()]
        self.layout(sources)

    def template(self, piece: _Piece, cross: list) -> str:
        """DOT for one piece: its nodes (the widest copy of each, for a row), its clusters, its ports."""
        view = self.view
        lines = [f"digraph p{len(piece.names)} {{\n"]
        lines += view.header(rankdir="LR", newrank=False, compound=False)
        is_row = piece.key[0] == "row"
        row = piece.key[1] if is_row else None
        if is_row:
            widest = self.widest(row)
            base = len(row) + 1
        tree: dict[tuple, list[str]] = {}
        for k, name in enumerate(piece.names):
            stmt = self.items[name].stmt
            if is_row:
                wide = widest[k]
                stmt = name + self.items[wide].stmt[len(wide):]
                rel = self.items[name].path[base:]
            else:
                rel = ()
            tree.setdefault(rel, []).append(stmt)
            for i in range(len(rel)):
                tree.setdefault(rel[:i], [])
        ports_in, ports_out = [], []
        for kind, key, _ in cross:
            if key in piece.ports:
                continue
            port = f"port{len(piece.ports)}"
            piece.ports[key] = port
            node = self.steps[row][self.rep[row]][key[0]] if is_row else key[0]
            (ports_in if kind == "in" else ports_out).append((port, node))
        port_line = '[shape=point width=0.03 height=0.03 style=invis label=""]'
        tree.setdefault((), [])
        for port, _ in ports_in + ports_out:
            tree[()].append(f"{port} {port_line}")
        if ports_in:
            tree[()].append("{rank=min; " + "; ".join(p for p, _ in ports_in) + "}")
        if ports_out:
            tree[()].append("{rank=max; " + "; ".join(p for p, _ in ports_out) + "}")
        self.names_: dict[str, tuple] = {}

        def write(rel: tuple, depth: int) -> None:
            if is_row or rel:
                full = row + (f"t{self.rep[row]}",) + rel if is_row else piece.key[1] + rel
                attrs = view.cluster_attrs_for(full)
                lines.append(f"subgraph cluster_r{len(self.names_)} {{\n graph {attrs}\n")
                self.names_[f"cluster_r{len(self.names_)}"] = rel
            lines.extend(f"{s}\n" for s in tree[rel])
            for child in [c for c in tree if len(c) == len(rel) + 1 and c[: len(rel)] == rel]:
                write(child, depth + 1)
            if is_row or rel:
                lines.append("}\n")

        write((), 0)
        piece.cluster_names = dict(self.names_)
        members = set(piece.names)
        for link in self.view.links:
            if link.tail in members and link.head in members:
                lines.append(f"{link.tail} -> {link.head} " + _attrs(**_layout_style(link.style)) + "\n")
        for port, node in ports_in:
            lines.append(f"{port} -> {node}\n")
        for port, node in ports_out:
            lines.append(f"{node} -> {port}\n")
        lines.append("}\n")
        return "".join(lines)

    def widest(self, row: tuple) -> list[str]:
        """For each position k in a step of ``row``: the name of its copy with the longest label."""
        at = self.at[row]
        best = list(self.steps[row][self.rep[row]])
        longest = [_visible_length(self.items[n].stmt) for n in best]
        for t in (1, self.T[row], (1 + self.T[row]) // 2):
            for k, n in at[t].items():
                length = _visible_length(self.items[n].stmt)
                if length > longest[k]:
                    best[k], longest[k] = n, length
        return best

    def layout(self, sources: list[str]) -> None:
        """One renderer run for all pieces (one DOT graph each, in one input): positions from -Tjson0."""
        out = run_renderer("".join(sources), ["-Tjson0"], self.view.renderer, "the tiled templates")
        decoder = json.JSONDecoder()
        text = out.decode("utf-8")
        graphs, at = [], 0
        while True:
            while at < len(text) and text[at].isspace():
                at += 1
            if at >= len(text):
                break
            graph, at = decoder.raw_decode(text, at)
            graphs.append(graph)
        if len(graphs) != len(self.pieces_):
            raise RenderError(f"expected {len(self.pieces_)} laid-out pieces, got {len(graphs)}")
        for piece, graph in zip(self.pieces_.values(), graphs):
            self.read(piece, graph)

    def read(self, piece: _Piece, graph: dict) -> None:
        x0, y0, x1, y1 = (float(v) for v in graph["bb"].split(","))
        objects = graph.get("objects", [])
        gvid = {o["_gvid"]: o["name"] for o in objects if "pos" in o}
        step_box = None
        for o in objects:
            if "nodes" in o and "bb" in o:
                bx0, by0, bx1, by1 = (float(v) for v in o["bb"].split(","))
                rel = piece.cluster_names.get(o["name"])
                if rel is None:
                    continue
                box = (bx0 - x0, y1 - by1, bx1 - x0, y1 - by0)
                piece.clusters[rel] = box
                if rel == () and piece.key[0] == "row":
                    step_box = box
            elif "pos" in o:
                x, y = (float(v) for v in o["pos"].split(","))
                piece.nodes[o["name"]] = (x - x0, y1 - y, float(o["width"]) * 72, float(o["height"]) * 72)
        for e in graph.get("edges", []):
            key = (gvid[e["tail"]], gvid[e["head"]])
            pieces = _parse_spline(e.get("pos", ""))
            flipped = [[[(x - x0, y1 - y) for x, y in pts], (end[0] - x0, y1 - end[1]) if end else None]
                       for pts, end in pieces]
            piece.splines.setdefault(key, []).append(flipped[0])
        if step_box is not None:  # a row's template: coordinates relative to its time-step box
            sx, sy = step_box[0], step_box[1]
            piece.width, piece.height = step_box[2] - sx, step_box[3] - sy
        else:
            sx, sy = 0.0, 0.0
            piece.width, piece.height = x1 - x0, y1 - y0
        if sx or sy:
            piece.nodes = {n: (x - sx, y - sy, w, h) for n, (x, y, w, h) in piece.nodes.items()}
            piece.clusters = {r: (a - sx, b - sy, c - sx, d - sy) for r, (a, b, c, d) in piece.clusters.items()}
            piece.splines = {
                k: [[[(x - sx, y - sy) for x, y in pts], (end[0] - sx, end[1] - sy) if end else None]
                    for pts, end in v]
                for k, v in piece.splines.items()
            }

    # --- placing the pieces -------------------------------------------------
    def arrange(self) -> None:
        """Rows top to bottom, steps t = 1..T left to right, blocks beside the rows they belong to."""
        rows = self.rows
        links = self.view.links
        self.rails_above: dict[tuple, dict[str, int]] = {row: {} for row in rows}
        self.rails_below: dict[tuple, dict[str, int]] = {row: {} for row in rows}
        for link in links:
            a, b = self.unit(link.tail), self.unit(link.head)
            if a[0] == "block" and b[0] == "step":
                rails = self.rails_above[b[1]]
                rails.setdefault(link.tail, len(rails))
            elif a[0] == "step" and b[0] == "block":
                rails = self.rails_below[a[1]]
                rails.setdefault(link.head, len(rails))
        self.pitch = max(self.pieces_[("row", r)].width for r in rows) + STEP_GAP
        own = {row: [p for k, p in self.pieces_.items() if k[0] == "block" and k[1] == row] for row in rows}
        self.origin: dict[tuple, tuple] = {}  # row -> (x, y) of the top-left of its step t = 1
        self.band: dict[tuple, tuple] = {}  # row -> (top, bottom) of everything in the row
        y = _legend_room(self.view)
        previous: tuple = ()
        for i, row in enumerate(rows):
            common = 0
            while common < min(len(row), len(previous)) and row[common] == previous[common]:
                common += 1
            y += (len(previous) - common) * PAD + (len(row) - common) * (PAD + LABEL) + (ROW_GAP if i else 0)
            top = y
            y += len(self.rails_above[row]) * RAIL + (RAIL / 2 if self.rails_above[row] else 0)
            height = max([self.pieces_[("row", row)].height] + [p.height for p in own[row]])
            self.origin[row] = (0.0, y)
            y += height + len(self.rails_below[row]) * RAIL + (RAIL / 2 if self.rails_below[row] else 0)
            self.band[row] = (top, y)
            previous = row
        self.offset: dict[tuple, tuple] = {}  # block key -> (x, y) of its top-left
        extent: dict[tuple, list] = {}  # scope path -> [x0, x1] of what is placed in it so far

        def grow(path: tuple, x0: float, x1: float) -> None:
            for i in range(len(path) + 1):
                box = extent.setdefault(path[:i], [x0, x1])
                box[0], box[1] = min(box[0], x0), max(box[1], x1)

        for row in rows:
            grow(row, 0.0, self.T[row] * self.pitch - STEP_GAP)
        blocks = [k for k in self.pieces_ if k[0] == "block"]
        blocks.sort(key=lambda k: -len(k[1]))  # deepest scopes first, next to their rows
        for key in blocks:
            path, side = key[1], key[2]
            piece = self.pieces_[key]
            related = [r for r in rows if self.related(path, r)]
            span_rows = related or rows
            near = [box for p, box in extent.items() if p[: len(path)] == path] or list(extent.values())
            x0 = min(b[0] for b in near) if near else 0.0
            x1 = max(b[1] for b in near) if near else 0.0
            depth = max((len(r) - len(path) for r in related), default=0)
            gap = GAP + PAD * max(depth, 1)
            x = x1 + gap if side == "after" else x0 - gap - piece.width
            if path in rows:
                top = self.origin[path][1]
            else:
                top = (self.band[span_rows[0]][0] + self.band[span_rows[-1]][1]) / 2 - piece.height / 2
            self.offset[key] = (x, top)
            grow(path, x, x + piece.width)

    # --- the pinned DOT -----------------------------------------------------
    def position(self, name: str) -> tuple:
        """(x, y, w, h) of a node in the picture (y down)."""
        where = self.place[name]
        if where[0] == "step":
            _, row, t, k = where
            piece = self.pieces_[("row", row)]
            x, y, w, h = piece.nodes[self.steps[row][self.rep[row]][k]]
            ox, oy = self.step_origin(row, t)
            if _backwards(row):
                x = piece.width - x
            return (ox + x, oy + y, w, h)
        piece = self.pieces_[where]
        x, y, w, h = piece.nodes[name]
        ox, oy = self.offset[where]
        return (ox + x, oy + y, w, h)

    def step_origin(self, row: tuple, t: int) -> tuple:
        x, y = self.origin[row]
        return (x + (t - 1) * self.pitch, y)

    def piece_spline(self, unit: tuple, tail: str, head: str) -> list | None:
        """A spline of the piece ``unit`` from ``tail`` to ``head`` (names in that piece), in picture coordinates."""
        if unit[0] == "step":
            piece = self.pieces_[("row", unit[1])]
            ox, oy = self.step_origin(unit[1], unit[2])
            mirror = _backwards(unit[1])
        else:
            piece = self.pieces_[unit]
            ox, oy = self.offset[unit]
            mirror = False
        found = piece.splines.get((tail, head))
        if not found:
            return None
        points, end = found[0]
        if mirror:
            points = [(piece.width - x, y) for x, y in points]
            end = (piece.width - end[0], end[1]) if end else None
        return [[(ox + x, oy + y) for x, y in points], (ox + end[0], oy + end[1]) if end else None]

    def rep_name(self, unit: tuple, name: str) -> str:
        """The name of ``name``'s counterpart in its piece's template (itself for a block)."""
        if unit[0] == "step":
            return self.steps[unit[1]][self.rep[unit[1]]][self.place[name][3]]
        return name

    def port_of(self, unit: tuple, key: tuple, node: str) -> str | None:
        piece = self.pieces_[("row", unit[1])] if unit[0] == "step" else self.pieces_[unit]
        if key in piece.ports:
            return piece.ports[key]
        if unit[0] == "step":  # e.g. h0 enters step 1 where h_(t-1) enters the others
            for fallback in ((key[0], ("prev",)), (key[0], ("next",))):
                if fallback in piece.ports:
                    return piece.ports[fallback]
        return None

    def route(self, link: Any) -> tuple[list, tuple | None]:
        """The spline of a link between two pieces: out of the tail's piece, a route, into the head's piece."""
        a, b = self.unit(link.tail), self.unit(link.head)
        tail_port = self.port_of(a, self.out_key(link), link.tail)
        head_port = self.port_of(b, self.in_key(link), link.head)
        start: list = []
        if tail_port:
            found = self.piece_spline(a, self.rep_name(a, link.tail), tail_port)
            if found:
                start = found[0]
        if not start:
            x, y, w, _ = self.position(link.tail)
            start = [(x, y)]
        end_part: list = []
        end = None
        if head_port:
            found = self.piece_spline(b, head_port, self.rep_name(b, link.head))
            if found:
                end_part, end = found
        if not end_part:
            x, y, w, h = self.position(link.head)
            end_part = [(x - w / 2, y)]
        p, q = start[-1], end_part[0]
        if self.adjacent(a, b) or a[0] == b[0] == "block" and q[0] > p[0] + 12:
            middle = _curve(p, q)
        elif a[0] == "block" and b[0] == "step":
            middle = _polyline(self.rail_above(link, p, q, b))
        elif a[0] == "step" and b[0] == "block":
            middle = _polyline(self.rail_below(link, p, q, a))
        else:
            middle = _polyline(self.channel(p, q, b))
        points = start + middle[1:] + end_part[1:]
        return points, end

    def rail_y(self, row: tuple, level: int, above: bool) -> float:
        top, bottom = self.band[row]
        return top + (level + 0.5) * RAIL if above else bottom - (level + 0.5) * RAIL

    def rail_above(self, link: Any, p: tuple, q: tuple, b: tuple) -> list[tuple]:
        row, t = b[1], b[2]
        level = self.rails_above[row][link.tail]
        y = self.rail_y(row, level, True)
        x, _ = self.step_origin(row, t)
        rev = _backwards(row)
        drop = x + self.pieces_[("row", row)].width + 6 + 5 * level if rev else x - 6 - 5 * level
        climb = p[0] + 6 + 5 * level
        return [p, (climb, p[1]), (climb, y), (drop, y), (drop, q[1]), q]

    def rail_below(self, link: Any, p: tuple, q: tuple, a: tuple) -> list[tuple]:
        row, t = a[1], a[2]
        level = self.rails_below[row][link.head]
        y = self.rail_y(row, level, False)
        x, _ = self.step_origin(row, t)
        rev = _backwards(row)
        rise = x - 6 - 5 * level if rev else x + self.pieces_[("row", row)].width + 6 + 5 * level
        last = q[0] - 6 - 5 * level
        return [p, (rise, p[1]), (rise, y), (last, y), (last, q[1]), q]

    def channel(self, p: tuple, q: tuple, b: tuple) -> list[tuple]:
        """A route between pieces that are not side by side: down into the gap above the head's row."""
        row = b[1] if b[0] == "step" else next((r for r in self.rows if self.related(b[1], r)), self.rows[0])
        y = self.band[row][0] - ROW_GAP / 2
        return [p, (p[0] + 8, p[1]), (p[0] + 8, y), (q[0] - 8, y), (q[0] - 8, q[1]), q]

    def rail_label(self, tail: str, row: tuple, room: int) -> str:
        """What runs along a rail: the names of the leaves behind it (in its block), and which steps it feeds."""
        view, graph = self.view, self.view.graph
        names: list[str] = []
        block = self.place[tail]
        frontier = [tail]
        seen = set()
        while frontier:
            name = frontier.pop()
            if name in seen:
                continue
            seen.add(name)
            item = self.items[name]
            if item.leaf:
                rec = graph.tensors[view.tensor_of[name]]
                if rec.name:
                    names.append(names_of(graph).name(rec.id))
            frontier += [link.tail for link in self.incoming.get(name, ()) if self.place[link.tail] == block]
        fed = [link for link in view.links if link.tail == tail and self.unit(link.head)[:2] == ("step", row)]
        steps = sorted({self.place[link.head][2] for link in fed})
        if len(steps) == 1:
            where = f"t = {steps[0]}"
        elif len({link.tensor for link in fed}) == 1:
            where = "every step" if len(steps) == self.T[row] else f"{len(steps)} steps"
        else:
            where = "a slice per step"
        suffix = "\u1d40" if self.items[tail].sig == "transpose" and len(names) == 1 else ""
        what = ", ".join(sorted(dict.fromkeys(names))) or "input"
        return labels.text(what, max(8, room - len(where) - 3 - len(suffix))) + f"{suffix} \u2192 {where}"

    def run(self) -> Drawing:
        self.classify()
        self.pieces()
        self.arrange()
        return self.emit()

    def emit(self) -> Drawing:
        view = self.view
        self.incoming: dict[str, list] = {}
        for link in view.links:
            self.incoming.setdefault(link.head, []).append(link)
        view.tensor_of = {name: tid for tid, name in view.tid_name.items()}
        # node positions and cluster boxes, y down
        pos = {name: self.position(name) for name in self.items}
        boxes: dict[tuple, list] = {}
        cluster_of: dict[str, tuple] = {}
        for name, where in self.place.items():
            if where[0] == "step":
                cluster_of[name] = self.items[name].path
            else:
                cluster_of[name] = self.path[name]
        for row in self.rows:
            piece = self.pieces_[("row", row)]
            for t in range(1, self.T[row] + 1):
                ox, oy = self.step_origin(row, t)
                for rel, (x0, y0, x1, y1) in piece.clusters.items():
                    if _backwards(row):
                        x0, x1 = piece.width - x1, piece.width - x0
                    boxes[row + (f"t{t}",) + rel] = [ox + x0, oy + y0, ox + x1, oy + y1]
        fixed = set(boxes)
        # every other cluster: around what it holds
        def include(path: tuple, box: tuple) -> None:
            for i in range(len(path) + 1):
                sub = path[:i]
                if sub in fixed or not sub:
                    continue
                have = boxes.setdefault(sub, [box[0], box[1], box[2], box[3]])
                have[0], have[1] = min(have[0], box[0]), min(have[1], box[1])
                have[2], have[3] = max(have[2], box[2]), max(have[3], box[3])

        for name in self.items:
            x, y, w, h = pos[name]
            include(cluster_of[name], (x - w / 2, y - h / 2, x + w / 2, y + h / 2))
        for path in list(boxes):
            if path in fixed:
                include(path[:-1], tuple(boxes[path]))
        for row in self.rows:  # the rails run inside their row (the picture itself for steps at the top level)
            if row in boxes:
                top, bottom = self.band[row]
                include(row, (boxes[row][0], top, boxes[row][2], bottom))
        order = sorted((p for p in boxes if p not in fixed), key=len, reverse=True)
        for path in order:  # grow outwards: padding and a label line per level
            box = boxes[path]
            box[0] -= PAD
            box[2] += PAD
            box[1] -= PAD + LABEL
            box[3] += PAD
            if len(path) > 1:
                include(path[:-1], tuple(box))
        everything = [b for p, b in boxes.items() if len(p) == 1] + [
            (x - w / 2, y - h / 2, x + w / 2, y + h / 2) for x, y, w, h in pos.values()
        ]
        for row in self.rows:  # with the rails above and below each row
            x0 = self.step_origin(row, 1)[0]
            everything.append((x0, self.band[row][0], x0 + self.T[row] * self.pitch, self.band[row][1]))
        left = min(b[0] for b in everything) - 8
        top = min(b[1] for b in everything) - 8 - _legend_room(view)
        right = max(b[2] for b in everything) + 8
        bottom = max(b[3] for b in everything) + 8
        height = bottom - top

        def X(x: float) -> float:
            return x - left

        def Y(y: float) -> float:
            return height - (y - top)

        def pt(p: tuple) -> str:
            return f"{X(p[0]):.1f},{Y(p[1]):.1f}"

        drawing = Drawing(name="computation_graph", format="svg")
        drawing.pinned = True
        drawing.renderer = view.renderer
        count = sum(self.T.values())
        drawing.summary = f"{len(self.items)} nodes ({count} time steps, tiled)"
        body = drawing.body
        body.append("\t// every position is pinned: draw with `neato -n2 -Tsvg` (viz does)\n")
        body.extend(view.header(bb=f"0,0,{right - left:.1f},{height:.1f}", layout="neato", splines="true"))
        children: dict[tuple, list] = {}
        for path in boxes:
            children.setdefault(path[:-1], []).append(path)
        members: dict[tuple, list] = {}
        for name in self.items:
            members.setdefault(cluster_of[name], []).append(name)

        def node_stmt(name: str) -> str:
            x, y, w, h = pos[name]
            stmt = self.items[name].stmt
            return f'{stmt[:-1]} pos="{pt((x, y))}!" width={w / 72:.3f} height={h / 72:.3f}]'

        labelled: set = set()
        edge_lines: list[str] = []
        drawn = _Splines()  # every edge's points, for placing the cluster labels clear of them
        for link in view.links:
            a, b = self.unit(link.tail), self.unit(link.head)
            if a == b:
                found = self.piece_spline(a, self.rep_name(a, link.tail), self.rep_name(b, link.head))
                if found:
                    points, end = found
                else:
                    points, end = [pos[link.tail][:2]] + _line(pos[link.tail][:2], pos[link.head][:2]), None
            else:
                points, end = self.route(link)
            spline = (f"e,{pt(end)} " if end else "") + " ".join(pt(p) for p in points)
            style = dict(link.style)
            style.pop("constraint", None)
            if a[0] == "block" and b[0] == "step" and (link.tail, b[1]) not in labelled:
                # the rail's name, over it just inside step 1's column (no drop into a step crosses it there)
                labelled.add((link.tail, b[1]))
                row = b[1]
                room = int((self.pitch - STEP_GAP) / (0.55 * 9)) - 2
                text = self.rail_label(link.tail, row, room)
                y = self.rail_y(row, self.rails_above[row][link.tail], True) - 4
                x = self.step_origin(row, 1)[0] + 6 + 0.55 * 9 * len(re.sub(r"<[^>]*>|&[#\w]+;", "", text)) / 2
                style.update(label=_HTML(f"<{text}>"), lp=pt((x, y)), fontcolor="#37474f")
            edge_lines.append(f"\t{link.tail} -> {link.head} " + _attrs(pos=spline, **style) + "\n")
            drawn.add(points)
        def write(path: tuple, depth: int) -> None:
            indent = "\t" * depth
            if path:
                x0, y0, x1, y1 = boxes[path]
                attrs = view.cluster_attrs_for(path)
                size = 12 if TIME.match(path[-1]) else 9 if path[-1] in GATE_SYMBOLS else 13
                half = 0.3 * size * len(view.step_labels.get(path, _segment_label(path[-1])))
                cx, cy = _clear_corner(drawn, x0, x1, y0 + 4 + size / 2, half, size)
                label_at = f"{X(cx):.1f},{Y(cy):.1f}"
                extra = f' bb="{X(x0):.1f},{Y(y1):.1f},{X(x1):.1f},{Y(y0):.1f}" lp="{label_at}"'
                body.append(f"{indent}subgraph {view.cluster(path).name} {{\n{indent}\tgraph {attrs[:-1]}{extra}]\n")
            for name in members.get(path, ()):
                body.append(f"{indent}\t{node_stmt(name)}\n")
            for child in children.get(path, ()):
                write(child, depth + 1)
            if path:
                body.append(f"{indent}}}\n")

        write((), 0)
        body.extend(edge_lines)
        if view.show_grads and view.norm:
            legend = _attrs(shape="plaintext", label=_HTML(view.scale.legend()), id_="legend")
            body.append(f'\tlegend {legend[:-1]} pos="{X(left + 100):.1f},{Y(top + LEGEND / 2):.1f}!"]\n')
        if view.status is not None:
            below = LEGEND if view.show_grads and view.norm else 0.0
            legend = _attrs(shape="plaintext", label=_HTML(labels.status_legend()), id_="status_legend")
            y = top + below + STATUS_LEGEND / 2
            body.append(f'\tstatus_legend {legend[:-1]} pos="{X(left + 180):.1f},{Y(y):.1f}!"]\n')
        return drawing


class _Splines:
    """The cubic pieces of the edges drawn so far, found by where they are: a grid of CELL-point squares,
    so that a label's check looks at the few pieces near it, not at all of a long unroll's edges. A long
    straight piece (a rail runs the width of the picture) is filed under its band of rows or columns."""

    CELL = 60.0
    BIG = 32  # a piece over more cells than this is filed by its row band, its column band, or with all

    def __init__(self) -> None:
        self.buckets: dict[tuple, list[tuple]] = {}
        self.big: list[tuple] = []

    def span(self, lo: float, hi: float) -> range:
        return range(int(lo // self.CELL), int(hi // self.CELL) + 1)

    def add(self, points: list) -> None:
        for i in range(0, len(points) - 3, 3):
            piece = tuple(points[i : i + 4])
            xs, ys = [p[0] for p in piece], [p[1] for p in piece]
            columns, rows = self.span(min(xs), max(xs)), self.span(min(ys), max(ys))
            if len(columns) * len(rows) <= self.BIG:
                keys = [(c, r) for c in columns for r in rows]
            elif len(rows) <= 2:
                keys = [("row", r) for r in rows]
            elif len(columns) <= 2:
                keys = [("column", c) for c in columns]
            else:
                self.big.append(piece)
                continue
            for key in keys:
                self.buckets.setdefault(key, []).append(piece)

    def near(self, box: tuple) -> list[tuple]:
        columns, rows = self.span(box[0], box[2]), self.span(box[1], box[3])
        keys = [(c, r) for c in columns for r in rows] + [("row", r) for r in rows] + [("column", c) for c in columns]
        found: dict[int, tuple] = {id(piece): piece for piece in self.big}
        for key in keys:
            for piece in self.buckets.get(key, ()):
                found[id(piece)] = piece
        return list(found.values())


def _clear_corner(drawn: _Splines, x0: float, x1: float, y: float, half: float, size: float) -> tuple:
    """Where a cluster's label goes: at the left of its top line, as Graphviz puts it, unless an edge runs
    through it there (an LSTM's c_{t-1} entering "cell state" at its top left); then at the right."""
    spots = [(x0 + 8 + half, y), (x1 - 8 - half, y)]
    for cx, cy in spots:
        box = (cx - half - 1, cy - 0.6 * size, cx + half + 1, cy + 0.6 * size)
        if not any(_crosses(piece, box) for piece in drawn.near(box)):
            return cx, cy
    return spots[0]


def _crosses(piece: tuple, box: tuple) -> bool:
    """Does a cubic Bezier piece (four points) come into the box?"""
    p0, p1, p2, p3 = piece
    xs, ys = (p0[0], p1[0], p2[0], p3[0]), (p0[1], p1[1], p2[1], p3[1])
    if max(xs) < box[0] or min(xs) > box[2] or max(ys) < box[1] or min(ys) > box[3]:
        return False
    for k in range(17):
        u = k / 16
        a, b, c, d = (1 - u) ** 3, 3 * (1 - u) ** 2 * u, 3 * (1 - u) * u * u, u ** 3
        x = a * xs[0] + b * xs[1] + c * xs[2] + d * xs[3]
        y = a * ys[0] + b * ys[1] + c * ys[2] + d * ys[3]
        if box[0] < x < box[2] and box[1] < y < box[3]:
            return True
    return False


def _legend_room(view: Any) -> float:
    """The height kept free above the picture for its legends."""
    room = LEGEND if view.show_grads and view.norm else 0.0
    return room + (STATUS_LEGEND if view.status is not None else 0.0)


def _layout_style(style: dict) -> dict:
    """What of an edge's style matters to the layout of a template (its width; not its colour or tooltip)."""
    return {k: v for k, v in style.items() if k in ("penwidth", "arrowsize")}

