"""The cells view laid out as the grid it is: one row per layer and direction, one column per t.

Graphviz's own layout of the cells view orders the rows by crossing
minimisation, which put layer 1's "reverse" row above its "forward" row in
some pictures and not in others (issue 12). The cells view is a grid, so it
is placed here instead: rows from top to bottom layer by layer, forward above
reverse (``_row_order``); in every row t = 1..T left to right (the reverse
rows too: their arrows run right to left); the blocks and tensors outside the
steps in columns left (before the steps) and right (after them) of the rows,
the more deeply nested the closer to the steps. Edges get routes: h and c
straight across to the next step, edges entering a row from outside along a
rail above it, edges leaving a row along a rail below it. Node sizes come
from the renderer itself (one ``-Tjson0`` pass with no layout), and the DOT
written has every position pinned, drawn with ``neato -n2`` like the tiled
ops view; node ids are those of the Graphviz layout (``g<k>``, ``v<k>``).

``pin`` returns None when the picture is not a grid (no time-step rows, or
time not running left to right); the caller then lets Graphviz lay it out.
"""

from __future__ import annotations

import json
import re
from typing import Any

from . import labels
from .draw import _HTML, TIME, _attrs, _row_order, _segment_label
from .render import Drawing, RendererNotFound, RenderError, run_renderer
from .tiled import _visible_length

PAD = 8.0  # a cluster's padding around what it holds, points
LABEL = 20.0  # room for a cluster's label above its contents
STEPS_PAD = 6.0  # the dotted box around a row's steps
COLUMN_GAP = 40.0  # between two columns of blocks and tensors (vertical edge segments run here)
STACK_GAP = 10.0  # between two nodes stacked in one column
ROW_GAP = 24.0  # between two rows, besides their clusters' padding (a channel for edges runs here)
RAIL = 15.0  # between two rails above or below a row
RAIL_MARGIN = 16.0  # between a row's steps box and its nearest rail (room for a label line)
LANE = 12.0  # between the h and c edges from one step to the next
ARROW = 6.0  # arrow length: arrowsize 0.6 of Graphviz's 10 points
LEGEND = 70.0  # room for the colour legend above the picture
STATUS_LEGEND = 110.0  # room for the stepper's status legend above it
EDGE_FONT = 9.0
WIDEST = 12  # cells with the longest labels measured to find the widest
SLACK = 6.0  # points added to that width: a label of as many letters can be a little wider


def pin(view: Any) -> Drawing | None:
    """The cells view of ``view`` (a ``draw._CellsView`` after ``build`` collected it), pinned; or None."""
    if view.rankdir != "LR" or not view.rows:
        return None
    try:
        return _Grid(view).run()
    except (RendererNotFound, RenderError, _NotAGrid):
        return None


class _NotAGrid(Exception):
    """Some step is not where a grid would put it: Graphviz lays the view out instead."""


_SIZING = re.compile(
    r'(?:label=<.*?>(?= \w+=|\]$)|(?<= )(?:shape|margin|width|height|fontsize|fontname|penwidth|peripheries)="[^"]*")'
)
"""The attributes of a node statement that decide its size (not its colours, id or tooltip)."""


def _text_width(label: str, size: float = EDGE_FONT) -> float:
    """A generous estimate of how wide a one-line edge label is (tags and entities removed)."""
    plain = re.sub(r"&[#\w]+;", "x", re.sub(r"<[^>]*>", "", label))
    return 0.6 * size * len(plain) + 4


_UNLABEL = re.compile(r" ?label=<.*?>(?= \w+=|\]$)")


def _edge_label(stmt: str) -> str | None:
    match = re.search(r"label=<(.*?)>(?= \w+=|\]$)", stmt)
    return match.group(1) if match else None


def _spline(points: list[tuple]) -> list[tuple]:
    """Straight pieces through ``points`` as the points of a Graphviz cubic B-spline."""
    pts = [points[0]]
    for a, b in zip(points, points[1:]):
        if a != b:
            pts += [(a[0] + (b[0] - a[0]) / 3, a[1] + (b[1] - a[1]) / 3),
                    (a[0] + 2 * (b[0] - a[0]) / 3, a[1] + 2 * (b[1] - a[1]) / 3), b]
    return pts


class _Grid:
    def __init__(self, view: Any):
        self.view = view
        self.statements: dict[str, str] = {}  # node name -> its statement
        self.cluster_of: dict[str, tuple] = {}  # node name -> the cluster path it is drawn in
        for path, cluster in view.tree.items():
            for line in cluster.lines:
                name = line.split(" ", 1)[0]
                self.statements[name] = line
                self.cluster_of[name] = path
        self.rows = _row_order(list(view.rows))
        self.cell_at: dict[str, tuple] = {}  # cell name -> (row index, t)
        for r, row in enumerate(self.rows):
            for key in view.rows[row]:
                if not TIME.match(key[1][-1]):
                    raise _NotAGrid
                self.cell_at[view.group_name[key]] = (r, int(key[1][-1][1:]))
        self.row_path = {r: row for r, row in enumerate(self.rows)}
        self.edges = []  # (tail, head, statement)
        for stmt in view.edges:
            tail, rest = stmt.split(" -> ", 1)
            self.edges.append((tail, rest.split(" ", 1)[0], stmt))

    # --- sizes ------------------------------------------------------------
    def measure(self) -> None:
        """Every node's size as the renderer draws its label: one pass with no layout.

        All cells are drawn as wide as the widest (a tidy grid, and Graphviz
        makes a box no narrower than its ``width``), so only the cells with the
        longest labels are measured, and one per number of label lines for the
        heights; every other node is measured.
        """
        lines = {name: self.statements[name].count("<br/>") for name in self.cell_at}
        longest = sorted(self.cell_at, key=lambda n: _visible_length(self.statements[n]), reverse=True)[:WIDEST]
        by_lines = {lines[n]: n for n in self.cell_at}
        picked = set(longest) | set(by_lines.values())
        measured = [n for n in self.statements if n not in self.cell_at or n in picked]
        body = ["digraph sizes {\n", *self.view.header()]
        body += [f'\t{name} [{" ".join(_SIZING.findall(self.statements[name]))} pos="0,0!"]\n' for name in measured]
        body.append("}\n")
        out = run_renderer("".join(body), ["-Kneato", "-n2", "-Tjson0"], self.view.renderer, "the cells' sizes")
        graph = json.loads(out.decode("utf-8"))
        sized = {o["name"]: (float(o["width"]) * 72, float(o["height"]) * 72)
                 for o in graph.get("objects", []) if "width" in o}
        if set(sized) != set(measured):
            raise RenderError("the renderer did not size every node of the cells view")
        width = max(sized[n][0] for n in sized if n in self.cell_at) + SLACK
        height = {k: max(sized[n][1] for n in sized if lines.get(n) == k) for k in by_lines}
        self.size = {name: (width, height[lines[name]]) if name in self.cell_at else sized[name]
                     for name in self.statements}

    # --- placing ----------------------------------------------------------
    def run(self) -> Drawing:
        self.measure()
        self.place()
        return self.emit()

    def place(self) -> None:
        view = self.view
        self.pos: dict[str, tuple] = {}  # name -> (x, y) centre, y down
        self.labelled: set = set()  # tails whose edge between rows carries the label already
        self.unlabelled: set = set()  # (tail, head) of the other edges between rows from those tails
        cells = self.cell_at
        others = [n for n in self.statements if n not in cells]
        # which edges come into a row from outside, which leave it: one rail each (per tail / per head)
        self.rail_in: dict[int, dict[str, int]] = {r: {} for r in self.row_path}
        self.rail_out: dict[int, dict[str, int]] = {r: {} for r in self.row_path}
        for tail, head, _ in self.edges:
            if head in cells and cells.get(tail, (None,))[0] != cells[head][0]:
                self.rail_in[cells[head][0]].setdefault(tail, len(self.rail_in[cells[head][0]]))
            if tail in cells and cells.get(head, (None,))[0] != cells[tail][0]:
                self.rail_out[cells[tail][0]].setdefault(head, len(self.rail_out[cells[tail][0]]))
        cell_w = max(self.size[n][0] for n in cells)
        label_w = max((_text_width(_edge_label(s) or "") for t, h, s in self.edges
                       if t in cells and h in cells), default=0.0)
        self.pitch = cell_w + max(COLUMN_GAP, label_w + 2 * ARROW + 8)
        # columns outside the steps: the side, then the cluster depth (deeper is nearer the steps)
        side: dict[str, str] = {}
        downstream, upstream = self.reach(cells, True), self.reach(cells, False)
        group_of = {name: key for key, name in view.group_name.items()}
        for name in others:
            key = group_of.get(name)
            after = (key is not None and key[2] == "after") or (name in downstream and name not in upstream)
            side[name] = "after" if after else "before"
        depth_steps = max(len(row) for row in self.rows) + 1
        is_leaf = {n: n.startswith("v") for n in others}
        columns: dict[tuple, list[str]] = {}
        for name in others:
            # tensors further out than the blocks they feed (before) or follow (after)
            columns.setdefault((side[name], len(self.cluster_of[name]), not is_leaf[name]), []).append(name)
        # vertical: rows in order, the gaps as deep as the clusters they close and open
        band: dict[int, tuple] = {}
        self.channel: dict[int, float] = {}  # the middle of the gap above a row, where no node is
        y = 0.0
        previous: tuple | None = None
        for r, row in self.row_path.items():
            shared = 0
            if previous is not None:
                while shared < min(len(row), len(previous)) and row[shared] == previous[shared]:
                    shared += 1
                y += PAD * (len(previous) - shared) + ROW_GAP
            self.channel[r] = y - ROW_GAP / 2
            y += (PAD + LABEL) * (len(row) - shared)
            names = [n for n, (rr, _) in cells.items() if rr == r]
            cell_h = max(self.size[n][1] for n in names)
            above = RAIL_MARGIN + RAIL * max(len(self.rail_in[r]) - 1, 0) + RAIL_MARGIN
            below = RAIL_MARGIN + RAIL * max(len(self.rail_out[r]) - 1, 0) + RAIL_MARGIN
            core = above + 2 * STEPS_PAD + cell_h + below
            stacked = [n for n in others if self.cluster_of[n] == row]
            stacks = {}
            for n in stacked:
                key = (side[n], len(row))
                stacks[key] = stacks.get(key, -STACK_GAP) + self.size[n][1] + STACK_GAP
            height = max([core, *[h for h in stacks.values()]])
            top = y + (height - core) / 2
            band[r] = (y, y + height, top + above, top + above + 2 * STEPS_PAD + cell_h)  # band, steps box
            for n in names:
                self.pos[n] = (0.0, top + above + STEPS_PAD + cell_h / 2)
            y += height
            previous = row
        self.band = band
        total_h = y
        # horizontal: the steps, then columns outwards on each side
        T = max(t for _, t in cells.values())
        x0 = 0.0
        for n, (_, t) in cells.items():
            self.pos[n] = (x0 + (t - 1) * self.pitch + cell_w / 2, self.pos[n][1])
        self.steps_x = (x0 - STEPS_PAD, x0 + (T - 1) * self.pitch + cell_w + STEPS_PAD)
        self.column_x: dict[str, tuple] = {}
        for which, sign in (("before", -1), ("after", 1)):
            keys = sorted((k for k in columns if k[0] == which), key=lambda k: (k[1], k[2]), reverse=True)
            edge = self.steps_x[0] if sign < 0 else self.steps_x[1]
            depth = depth_steps
            for key in keys:
                names = columns[key]
                width = max(self.size[n][0] for n in names)
                edge += sign * (COLUMN_GAP + PAD * max(depth - key[1], 0))
                depth = key[1]
                centre = edge + sign * width / 2
                for n in names:
                    self.column_x[n] = (centre - width / 2, centre + width / 2)
                self.stack(names, centre, total_h)
                edge += sign * width
        for n in self.statements:
            if n not in self.pos:
                raise _NotAGrid

    def reach(self, start: dict, forward: bool) -> set:
        """The nodes data flows to from ``start`` (forward), or from which it flows into ``start``."""
        nexts: dict[str, list[str]] = {}
        for tail, head, stmt in self.edges:
            if 'dir="back"' in stmt:
                tail, head = head, tail
            a, b = (tail, head) if forward else (head, tail)
            nexts.setdefault(a, []).append(b)
        seen, todo = set(start), list(start)
        while todo:
            for n in nexts.get(todo.pop(), ()):
                if n not in seen:
                    seen.add(n)
                    todo.append(n)
        return seen - set(start)

    def stack(self, names: list[str], x: float, total_h: float) -> None:
        """Stack one column's nodes, each group centred on the rows of the cluster it is drawn in."""
        groups: dict[tuple, list[str]] = {}
        for n in names:
            groups.setdefault(self.cluster_of[n], []).append(n)
        for path, members in groups.items():
            under = [r for r, row in self.row_path.items() if row[: len(path)] == path]
            top, bottom = (self.band[under[0]][0], self.band[under[-1]][1]) if under else (0.0, total_h)
            height = sum(self.size[n][1] for n in members) + STACK_GAP * (len(members) - 1)
            y = (top + bottom) / 2 - height / 2
            for n in members:
                h = self.size[n][1]
                self.pos[n] = (x, y + h / 2)
                y += h + STACK_GAP

    # --- routes -----------------------------------------------------------
    def box(self, name: str) -> tuple:
        (x, y), (w, h) = self.pos[name], self.size[name]
        return x - w / 2, y - h / 2, x + w / 2, y + h / 2

    def rail_y(self, r: int, level: int, above: bool) -> float:
        _, _, top, bottom = self.band[r]
        return top - RAIL_MARGIN - RAIL * level if above else bottom + RAIL_MARGIN + RAIL * level

    def route(self, tail: str, head: str, stmt: str, lane: float) -> tuple[list, tuple | None]:
        """The points of an edge's route, and where its label goes (or None)."""
        cells = self.cell_at
        a, b = self.box(tail), self.box(head)
        (tx, ty), (hx, hy) = self.pos[tail], self.pos[head]
        label = _edge_label(stmt)
        if tail in cells and head in cells and cells[tail][0] == cells[head][0]:
            y = ty + lane
            points = [(a[2], y), (b[0], y)] if tx < hx else [(a[0], y), (b[2], y)]
            at = ((points[0][0] + points[1][0]) / 2, y - 7) if label else None
            return points, at
        if tail in cells and head in cells and ty < hy and "lhead=" not in stmt and "ltail=" not in stmt:
            return self.across(tail, head, label)
        if head in cells and cells.get(tail, (None,))[0] != cells[head][0]:
            r = cells[head][0]
            level = self.rail_in[r][tail]
            rail = self.rail_y(r, level, True)
            # up (or down) to the rail beside the tail's whole column, not beside the tail: a narrow h0 in a
            # column of wider parameter boxes would send its edge through their labels
            col = self.column_x.get(tail, (a[0], a[2]))
            jog = (col[1] + 10 + 3 * level) if tx < self.steps_x[0] else (col[0] - 10 - 3 * level)
            if "lhead=" in stmt:
                end = self.steps_x[0] if tx < hx else self.steps_x[1]
                points = [(a[2] if tx < hx else a[0], ty), (jog, ty), (jog, rail), (end, rail)]
                at = None
                if label:
                    w = _text_width(label)
                    at = (self.steps_x[0] + 6 + w / 2, rail - 7)
                return points, at
            x = hx + 6 * (level - (len(self.rail_in[r]) - 1) / 2)
            start = [(a[2] if tx < hx else a[0], ty), (jog, ty)]
            if self.cluster_of[tail][: len(self.row_path[r])] != self.row_path[r]:
                # from outside the row's cluster: by the channel above it, past the row's own columns
                near = self.steps_x[0] - 10 - 3 * level if tx < hx else self.steps_x[1] + 10 + 3 * level
                start += [(jog, self.channel[r]), (near, self.channel[r])]
                jog = near
            return [*start, (jog, rail), (x, rail), (x, b[1])], None
        if tail in cells and cells.get(head, (None,))[0] != cells[tail][0]:
            r = cells[tail][0]
            level = self.rail_out[r][head]
            rail = self.rail_y(r, level, False)
            right = hx > self.steps_x[1]
            col = self.column_x.get(head, (b[0], b[2]))
            jog = (col[0] - 10 - 3 * level) if right else (col[1] + 10 + 3 * level)
            end = [(jog, rail), (jog, hy), (b[0] if right else b[2], hy)]
            w = _text_width(label) if label else 0.0
            if "ltail=" in stmt:
                start = self.steps_x[1] if right else self.steps_x[0]
                at = (self.steps_x[1] - 6 - w / 2, rail - 7) if label else None
                return [(start, rail), *end], at
            x = tx + 6 * (level - (len(self.rail_out[r]) - 1) / 2)
            bottom = self.band[r][3] - STEPS_PAD
            at = (x + 3 + w / 2, (bottom + rail) / 2 + 3) if label else None
            return [(x, bottom), (x, rail), *end], at
        # between blocks and tensors: straight on to a column further out, else round by a channel
        if self.column_x.get(head, (b[0], b[2]))[0] > self.column_x.get(tail, (a[0], a[2]))[1]:
            # out of the tail's column and into the head's level with them: the slant runs between the
            # columns, not across a wider neighbour's label
            out, into = self.column_x.get(tail, (a[0], a[2]))[1], self.column_x.get(head, (b[0], b[2]))[0]
            points = [(a[2], ty), (out + 4, ty), (into - 4, hy), (b[0], hy)]
        else:
            r = next((cells[h][0] for t, h, _ in self.edges if t == head and h in cells), 0)
            gap = self.channel[r]
            points = [(a[2], ty), (a[2] + 12, ty), (a[2] + 12, gap), (b[0] - 12, gap), (b[0] - 12, hy), (b[0], hy)]
        at = None
        if label:
            (p, q) = max(zip(points, points[1:]), key=lambda s: abs(s[1][0] - s[0][0]) + abs(s[1][1] - s[0][1]))
            at = ((p[0] + q[0]) / 2, (p[1] + q[1]) / 2 - 7)
        return points, at

    def across(self, tail: str, head: str, label: str | None) -> tuple[list, tuple | None]:
        """A cell of one row to a cell of another: straight down (or up) by the head row's rail for that tail.

        The forward value h_t feeds the backward cells of steps t and t + 1 of the recorded backward pass
        (adjoint view), which sit right under it: the edge leaves the tail cell, runs along its rail above
        the head row for at most a step and drops into the head. The label is written once per tail, on
        its rail just left of where it comes down.
        """
        cells = self.cell_at
        a, b = self.box(tail), self.box(head)
        (tx, ty), (hx, hy) = self.pos[tail], self.pos[head]
        rt, r = cells[tail][0], cells[head][0]
        level = self.rail_in[r][tail]
        down = ty < hy
        rail = self.rail_y(r, level, down)
        # leave left of the tail's other out-rails (their labels are written right of them), arrive right of
        # the head's other drops: each edge between the rows keeps its own vertical line, near its cells
        outs, ins = self.rail_out[rt], self.rail_in[r]
        mine = list(dict.fromkeys(h for t_, h, _ in self.edges if t_ == tail and h in outs))
        crossing = [h for h in mine if h in cells and cells[h][0] != rt]
        others = [tx + 6 * (outs[h] - (len(outs) - 1) / 2) for h in mine if h not in crossing]
        x_out = min([tx, *others]) - 6 * (1 + crossing.index(head))
        x_label = min([tx, *others]) - 6 * len(crossing) - 4  # left of all of them: drops into the head run right
        theirs = list(dict.fromkeys(t_ for t_, h, _ in self.edges if h == head and t_ in ins))
        crossing = [t_ for t_ in theirs if t_ in cells and cells[t_][0] != r]
        others = [hx + 6 * (ins[t_] - (len(ins) - 1) / 2) for t_ in theirs if t_ not in crossing]
        x_in = max([hx, *others]) + 6 * (1 + crossing.index(tail))
        points = [(x_out, a[3] if down else a[1]), (x_out, rail), (x_in, rail), (x_in, b[1] if down else b[3])]
        at = None
        if label and tail not in self.labelled:
            self.labelled.add(tail)
            at = (x_label - _text_width(label) / 2, rail - 6)
        elif label:
            self.unlabelled.add((tail, head))
        return points, at

    # --- writing ------------------------------------------------------------
    def emit(self) -> Drawing:
        view = self.view
        boxes: dict[tuple, list] = {}

        def include(path: tuple, box: tuple) -> None:
            for i in range(1, len(path) + 1):
                have = boxes.setdefault(path[:i], list(box))
                have[0], have[1] = min(have[0], box[0]), min(have[1], box[1])
                have[2], have[3] = max(have[2], box[2]), max(have[3], box[3])

        for r, row in self.row_path.items():
            _, _, top, bottom = self.band[r]
            steps = (self.steps_x[0], top, self.steps_x[1], bottom)
            boxes[row + ("\0steps",)] = list(steps)
            include(row, (steps[0], self.rail_y(r, len(self.rail_in[r]) - 1, True) - RAIL_MARGIN + 4,
                          steps[2], self.rail_y(r, len(self.rail_out[r]) - 1, False) + 4))
        fixed = {row + ("\0steps",) for row in self.rows}
        for name in self.statements:
            if name not in self.cell_at:
                include(self.cluster_of[name], self.box(name))
        for path in sorted((p for p in boxes if p not in fixed), key=len, reverse=True):
            box = boxes[path]
            box[0] -= PAD
            box[2] += PAD
            box[1] -= PAD + LABEL
            box[3] += PAD
            if len(path) > 1:
                include(path[:-1], tuple(box))
        routes = {}
        lanes: dict[tuple, int] = {}
        pair_count: dict[tuple, int] = {}
        for tail, head, _ in self.edges:
            pair_count[(tail, head)] = pair_count.get((tail, head), 0) + 1
        for k, (tail, head, stmt) in enumerate(self.edges):
            n = pair_count[(tail, head)]
            i = lanes[(tail, head)] = lanes.get((tail, head), -1) + 1
            routes[k] = self.route(tail, head, stmt, LANE * (i - (n - 1) / 2))
        everything = [tuple(b) for b in boxes.values()] + [self.box(n) for n in self.statements]
        everything += [(p[0], p[1], p[0], p[1]) for points, _ in routes.values() for p in points]
        room = (LEGEND if view.show_grads and view.norm else 0.0) + (STATUS_LEGEND if view.status is not None else 0.0)
        left = min(b[0] for b in everything) - 8
        top = min(b[1] for b in everything) - 8 - room
        right = max(b[2] for b in everything) + 8
        height = max(b[3] for b in everything) + 8 - top

        def pt(p: tuple) -> str:
            return f"{p[0] - left:.1f},{height - (p[1] - top):.1f}"

        drawing = Drawing(name="computation_graph", format="svg")
        drawing.pinned = True
        drawing.renderer = view.renderer
        drawing.summary = f"the cells view ({len(self.cell_at)} cells)"
        body = drawing.body
        body.append("\t// every position is pinned: draw with `neato -n2 -Tsvg` (viz does)\n")
        body.extend(view.header(bb=f"0,0,{right - left:.1f},{height:.1f}", layout="neato", splines="true"))

        def write(path: tuple, depth: int) -> None:
            indent = "\t" * depth
            cluster = view.tree[path]
            if path:
                x0, y0, x1, y1 = boxes[path]
                text = "" if path[-1] == "\0steps" else _segment_label(path[-1])
                size = 13
                label_at = pt((x0 + 8 + 0.3 * size * len(text), y0 + 4 + size / 2))
                attrs = view.cluster_attrs(path)
                extra = f' bb="{pt((x0, y1))},{pt((x1, y0))}" lp="{label_at}"'
                body.append(f"{indent}subgraph {cluster.name} {{\n{indent}\tgraph {attrs[:-1]}{extra}]\n")
            for line in cluster.lines:
                name = line.split(" ", 1)[0]
                w, h = self.size[name]
                body.append(f'{indent}\t{line[:-1]} pos="{pt(self.pos[name])}!" width={w / 72:.3f} '
                            f"height={h / 72:.3f}]\n")
            for child in cluster.children:
                write(child, depth + 1)
            if path:
                body.append(f"{indent}}}\n")

        write((), 0)
        for k, (_, _, stmt) in enumerate(self.edges):
            points, at = routes[k]
            back = 'dir="back"' in stmt
            if back:
                (ax, ay), (bx, by) = points[0], points[1]
                d = max(abs(bx - ax) + abs(by - ay), 1e-9)
                tip, points = points[0], [(ax + (bx - ax) * ARROW / d, ay + (by - ay) * ARROW / d), *points[1:]]
                arrow = f"s,{pt(tip)} "
            else:
                (ax, ay), (bx, by) = points[-1], points[-2]
                d = max(abs(bx - ax) + abs(by - ay), 1e-9)
                tip, points = points[-1], [*points[:-1], (ax + (bx - ax) * ARROW / d, ay + (by - ay) * ARROW / d)]
                arrow = f"e,{pt(tip)} "
            spline = arrow + " ".join(pt(p) for p in _spline(points))
            extra = f' pos="{spline}"' + (f' lp="{pt(at)}"' if at else "")
            if (self.edges[k][0], self.edges[k][1]) in self.unlabelled:
                stmt = _UNLABEL.sub("", stmt)
            body.append(f"\t{stmt[:-1]}{extra}]\n")
        if view.show_grads and view.norm:
            legend = _attrs(shape="plaintext", label=_HTML(view.scale.legend()), id_="legend")
            body.append(f'\tlegend {legend[:-1]} pos="{pt((left + 100, top + LEGEND / 2))}!"]\n')
        if view.status is not None:
            below = LEGEND if view.show_grads and view.norm else 0.0
            legend = _attrs(shape="plaintext", label=_HTML(labels.status_legend()), id_="status_legend")
            body.append(f'\tstatus_legend {legend[:-1]} pos="{pt((left + 180, top + below + STATUS_LEGEND / 2))}!"]\n')
        return drawing

