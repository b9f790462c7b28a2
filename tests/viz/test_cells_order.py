"""The cells view of a 2-layer bidirectional stack reads the same way with either renderer (issue 12).

Rows from top to bottom: layer 0 forward, layer 0 reverse, layer 1 forward,
layer 1 reverse; in every row t = 1..T from left to right, the reverse rows too.
"""

import importlib
import re
import xml.etree.ElementTree as ET

import pytest

import viz
from tinygrad_rnn.cli.render import toy_loss

render_module = importlib.import_module("viz.render")  # the module (viz.render is also the function)
SVG = "{http://www.w3.org/2000/svg}"
XLINK = "{http://www.w3.org/1999/xlink}"
RENDERERS = [name for name in ("graphviz-pure", "dot") if render_module._locate(name)]
ROWS = ["l0/fwd", "l0/rev", "l1/fwd", "l1/rev"]
STEPS = 8


def numbers(shape):
    return [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?", shape.get("points") or shape.get("d"))]


def cell_centres(svg):
    """{row "l0/fwd": [(t, x, y, id, width)]} for every cell node; row and t from its tooltip (its scope path)."""
    rows: dict = {}
    for g in svg.iter(SVG + "g"):
        if "cell" not in g.get("class", "").split():
            continue
        a = next(g.iter(SVG + "a"))
        path = a.get(XLINK + "title").split("/")
        shape = next(e for e in g.iter() if e.tag in (SVG + "polygon", SVG + "path"))
        xs, ys = numbers(shape)[0::2], numbers(shape)[1::2]
        assert re.fullmatch(r"t\d+", path[-1]), path
        rows.setdefault("/".join(path[1:-1]), []).append((int(path[-1][1:]), (min(xs) + max(xs)) / 2,
                                                          (min(ys) + max(ys)) / 2, g.get("id"), max(xs) - min(xs)))
    return rows


@pytest.mark.parametrize("renderer", RENDERERS)
@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_rows_run_layer_by_layer_forward_above_reverse_and_t_grows_to_the_right(tmp_path, cell, renderer):
    loss = toy_loss(cell, STEPS, layers=2, bidirectional=True)
    out = viz.render(loss, tmp_path / "cells.svg", renderer=renderer, view="cells", grads=True)
    svg = ET.parse(out).getroot()
    rows = cell_centres(svg)
    assert sorted(rows) == ROWS
    tops = {name: sum(c[2] for c in row) / len(row) for name, row in rows.items()}
    assert sorted(tops, key=tops.get) == ROWS, tops
    for name, row in rows.items():
        assert max(c[2] for c in row) - min(c[2] for c in row) < 1, f"{name} is not one straight row"
        assert [c[0] for c in sorted(row, key=lambda c: c[1])] == list(range(1, STEPS + 1)), name
    lowest = {name: max(c[2] for c in row) for name, row in rows.items()}
    highest = {name: min(c[2] for c in row) for name, row in rows.items()}
    for upper, lower in zip(ROWS, ROWS[1:]):
        assert lowest[upper] < highest[lower]  # rows apart, not interleaved
    widths = {round(c[4], 1) for row in rows.values() for c in row}
    assert len(widths) == 1, widths  # one width for every cell: none outgrew the grid's column
    # h (and c) from step to step: the arrowhead points right in forward rows, left in reverse rows
    row_of = {c[3]: (name, c[1]) for name, row in rows.items() for c in row}
    seen = 0
    for g in svg.iter(SVG + "g"):
        ends = g.find(SVG + "title").text.replace("&#45;", "-").split("->") if "edge" in g.get("class", "") else []
        if len(ends) == 2 and ends[0] in row_of and ends[1] in row_of and row_of[ends[0]][0] == row_of[ends[1]][0]:
            name = row_of[ends[0]][0]
            tip = numbers(g.find(SVG + "polygon"))[0::2]
            cells_x = sorted(row_of[e][1] for e in ends)
            points_right = abs(sum(tip) / len(tip) - cells_x[1]) < abs(sum(tip) / len(tip) - cells_x[0])
            assert points_right == name.endswith("fwd"), (name, ends)
            seen += 1
    assert seen >= 4 * (STEPS - 1)
