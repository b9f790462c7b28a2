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


def cell_centres(svg):
    """{row "l0/fwd": [(t, x, y)]} for every cell node, the row and t read from its tooltip (its scope path)."""
    rows: dict = {}
    for g in svg.iter(SVG + "g"):
        if "cell" not in g.get("class", "").split():
            continue
        a = next(g.iter(SVG + "a"))
        path = a.get(XLINK + "title").split("/")
        shape = next(e for e in g.iter() if e.tag in (SVG + "polygon", SVG + "path"))
        numbers = [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?", shape.get("points") or shape.get("d"))]
        x, y = (min(numbers[0::2]) + max(numbers[0::2])) / 2, (min(numbers[1::2]) + max(numbers[1::2])) / 2
        assert re.fullmatch(r"t\d+", path[-1]), path
        rows.setdefault("/".join(path[1:-1]), []).append((int(path[-1][1:]), x, y))
    return rows


@pytest.mark.parametrize("renderer", RENDERERS)
@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_rows_run_layer_by_layer_forward_above_reverse_and_t_grows_to_the_right(tmp_path, cell, renderer):
    loss = toy_loss(cell, STEPS, layers=2, bidirectional=True)
    out = viz.render(loss, tmp_path / "cells.svg", renderer=renderer, view="cells", grads=True)
    rows = cell_centres(ET.parse(out).getroot())
    assert sorted(rows) == ROWS
    tops = {name: sum(y for _, _, y in row) / len(row) for name, row in rows.items()}
    assert sorted(tops, key=tops.get) == ROWS, tops
    for name, row in rows.items():
        assert max(y for _, _, y in row) - min(y for _, _, y in row) < 1, f"{name} is not one straight row"
        assert [t for t, _, _ in sorted(row, key=lambda c: c[1])] == list(range(1, STEPS + 1)), name
    lowest = {name: max(y for _, _, y in row) for name, row in rows.items()}
    highest = {name: min(y for _, _, y in row) for name, row in rows.items()}
    for upper, lower in zip(ROWS, ROWS[1:]):
        assert lowest[upper] < highest[lower]  # rows apart, not interleaved
