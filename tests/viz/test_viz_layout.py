"""The tiled ops view: the same graph as the full layout, steps in order along the time axis, no text on text."""

import importlib
import re
import subprocess
import xml.etree.ElementTree as ET
from collections import Counter

import numpy as np
import pytest

import tinygrad_rnn as tr
import viz
from tests.viz.svg_tools import SVG, groups, svg_of
from tinygrad_rnn import cli
from tinygrad_rnn.cli.render import toy_loss

render_module = importlib.import_module("viz.render")  # the module (viz.render is also the function)

XLINK = "{http://www.w3.org/1999/xlink}"
RENDERERS = [name for name in ("graphviz-pure", "dot") if render_module._locate(name)]


def text_of(g):
    return "".join(t.text or "" for t in g.iter(SVG + "text"))


def title(g):
    return g.find(SVG + "title").text.replace("&#45;", "-")


def tooltip(g):
    a = next(g.iter(SVG + "a"), None)
    return a.get(XLINK + "title") if a is not None else ""


def outline(g):
    """Bounding box (x0, y0, x1, y1) of a cluster or node's first shape."""
    shape = next(e for e in g.iter() if e.tag in (SVG + "polygon", SVG + "path", SVG + "ellipse"))
    if shape.tag == SVG + "ellipse":
        cx, cy, rx, ry = (float(shape.get(k)) for k in ("cx", "cy", "rx", "ry"))
        return cx - rx, cy - ry, cx + rx, cy + ry
    numbers = [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?", shape.get("points") or shape.get("d"))]
    xs, ys = numbers[0::2], numbers[1::2]
    return min(xs), min(ys), max(xs), max(ys)


def centre(g):
    x0, y0, x1, y1 = outline(g)
    return (x0 + x1) / 2, (y0 + y1) / 2


def text_boxes(svg):
    """Every <text> as an estimated box: its font size tall, 0.5 em per character wide.

    Sub- and superscripts (``baseline-shift``) move their box by a third of an
    em, which is how a browser draws them; Graphviz does not count that shift
    when it stacks the lines of a label. Each box carries the node, edge or
    cluster it belongs to and its baseline: the runs of one line of one label
    (``h`` in italics, then ``₁``) are placed by Graphviz's own font metrics.
    """
    boxes = []
    for owner in svg.iter(SVG + "g"):
        if not {"node", "edge", "cluster"} & set(owner.get("class", "").split()):
            continue
        for t in owner.iter(SVG + "text"):
            s = t.text or ""
            if not s.strip():
                continue
            size = float(t.get("font-size", "14"))
            x, y = float(t.get("x")), float(t.get("y"))
            line = (id(owner), y)
            y += {"sub": size / 3, "super": -size / 3}.get(t.get("baseline-shift"), 0.0)
            width = 0.5 * size * len(s)
            anchor = t.get("text-anchor", "start")
            x0 = x - width / 2 if anchor == "middle" else x - width if anchor == "end" else x
            boxes.append((s, x0, y - 0.75 * size, x0 + width, y + 0.2 * size, line))
    return boxes


def overlaps(svg):
    boxes = sorted(text_boxes(svg), key=lambda b: b[1])
    found = []
    for i, (s, x0, y0, x1, y1, line) in enumerate(boxes):
        for t, u0, v0, u1, v1, other in boxes[i + 1 :]:
            if u0 >= x1 - 0.5:
                break
            if line != other and min(y1, v1) - max(y0, v0) > 0.5 and min(x1, u1) - max(x0, u0) > 0.5:
                found.append((s, t))
    return found


def edges(svg):
    return Counter(title(e) for e in groups(svg, "edge"))


def test_the_tiled_picture_has_exactly_the_nodes_and_edges_of_the_full_layout():
    loss = toy_loss("lstm", 5)
    tiled = viz.draw(loss, grads=True)
    full = viz.draw(loss, grads=True, layout="full")
    assert tiled.pinned and not full.pinned
    a, b = svg_of(tiled), svg_of(full)
    ids = lambda svg: sorted(g.get("id") for g in groups(svg, "node"))  # noqa: E731
    assert ids(a) == ids(b)  # op<i> and v<k>: what the player and the stepper restyle
    graph = tr.trace(loss)
    assert {g.get("id") for g in groups(a, "op")} == {f"op{n.index}" for n in graph.nodes}
    assert edges(a) == edges(b)


def test_a_bidirectional_stack_keeps_every_node_and_each_edge_once():
    loss = toy_loss("gru", 3, layers=2, bidirectional=True)
    a, b = svg_of(viz.draw(loss)), svg_of(viz.draw(loss, layout="full"))
    assert sorted(g.get("id") for g in groups(a, "node")) == sorted(g.get("id") for g in groups(b, "node"))
    # the full layout writes the reverse direction's edges backwards (dir=back); compare them as data flows
    assert sum(edges(a).values()) == sum(edges(b).values())
    undirected = lambda svg: Counter(frozenset(k.split("->")) for k in edges(svg).elements())  # noqa: E731
    assert undirected(a) == undirected(b)


def steps_by_row(svg):
    """{row scope: [(t, box)]} for every time-step box, the row read from the ops drawn inside it."""
    ops = [(centre(g), tooltip(g).split(" at ")[1].split("\n")[0]) for g in groups(svg, "op")]
    rows: dict = {}
    for g in groups(svg, "time"):
        box = outline(g)
        inside = [scope for (x, y), scope in ops if box[0] <= x <= box[2] and box[1] <= y <= box[3]]
        path = inside[0].split("/")
        cut = next(i for i, seg in enumerate(path) if re.fullmatch(r"t\d+", seg))
        assert text_of(g).startswith(f"t = {path[cut][1:]}")
        rows.setdefault("/".join(path[:cut]), []).append((int(path[cut][1:]), box))
    return rows


def test_time_steps_run_left_to_right_in_every_row_without_overlapping():
    svg = svg_of(viz.draw(toy_loss("gru", 4, layers=2, bidirectional=True)))
    rows = steps_by_row(svg)
    assert sorted(rows) == ["gru/l0/fwd", "gru/l0/rev", "gru/l1/fwd", "gru/l1/rev"]
    for row in rows.values():
        row.sort(key=lambda step: step[1][0])
        assert [t for t, _ in row] == [1, 2, 3, 4]  # the reverse rows too
        for (_, left), (_, right) in zip(row, row[1:]):
            assert left[2] < right[0]  # side by side, apart
    tops = {name: min(box[1] for _, box in row) for name, row in rows.items()}
    assert sorted(tops, key=tops.get) == ["gru/l0/fwd", "gru/l0/rev", "gru/l1/fwd", "gru/l1/rev"]
    for t in range(1, 5):  # t = 3 of every row in one column
        lefts = [box[0] for row in rows.values() for step, box in row if step == t]
        assert max(lefts) - min(lefts) < 1


def test_the_loss_sits_at_the_end_of_time():
    svg = svg_of(viz.draw(toy_loss("lstm", 6)))
    loss = next(g for g in groups(svg, "root"))
    assert "loss" in text_of(loss)
    last = max(box[2] for row in steps_by_row(svg).values() for _, box in row)
    assert outline(loss)[0] > last


def test_w_hh_feeds_every_step_along_a_rail_named_after_it():
    steps = 6
    svg = svg_of(viz.draw(toy_loss("lstm", steps)))
    w = next(g for g in groups(svg, "parameter") if text_of(g).startswith("W_hhweight_hh_l0"))
    (transpose,) = [title(e).split("->")[1] for e in groups(svg, "edge") if title(e).startswith(w.get("id") + "->")]
    fan = [e for e in groups(svg, "edge") if title(e).startswith(transpose + "->")]
    assert len(fan) == steps  # one edge into each step's matmul
    assert any("W_hh\u1d40 \u2192 every step" in text_of(e) for e in fan)
    # the rail runs along the row, above the steps: the edges leave the block and stay out of the step boxes
    top = min(box[1] for row in steps_by_row(svg).values() for _, box in row)
    for e in fan:
        ys = [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?", next(e.iter(SVG + "path")).get("d"))][1::2]
        assert min(ys) < top


CASES = {
    "tiled ops, LSTM with grads": lambda: viz.draw(toy_loss("lstm", 3), grads=True, values=True),
    "tiled ops, bidirectional GRU": lambda: viz.draw(toy_loss("gru", 2, layers=2, bidirectional=True), grads=True),
    "full ops, LSTM with grads": lambda: viz.draw(toy_loss("lstm", 2), grads=True, layout="full"),
    "cells, 2-layer bidirectional RNN": lambda: viz.draw(
        toy_loss("rnn", 3, layers=2, bidirectional=True), view="cells", grads=True, values=True
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_no_two_texts_overlap(case):
    assert overlaps(svg_of(CASES[case]())) == []


def test_the_overlap_check_sees_a_subscript_running_into_the_line_under_it():
    # what every named label looked like before: h<sub>1</sub> over its shape line
    drawing = viz.Drawing()
    drawing.node("h", label='<<b><i>h</i><sub>1</sub></b><br/><font point-size="8">(1, 2)</font>>', shape="box")
    assert overlaps(svg_of(drawing))
    fixed = viz.Drawing()
    fixed.node("h", label='<<b><i>h</i>\u2081</b><br/><font point-size="8">(1, 2)</font>>', shape="box")
    assert not overlaps(svg_of(fixed))


def test_the_same_model_gives_the_same_picture_twice():
    first = viz.draw(toy_loss("gru", 4), grads=True)
    second = viz.draw(toy_loss("gru", 4), grads=True)
    assert first.source == second.source
    assert first.pipe(format="svg") == second.pipe(format="svg")


def test_graphs_that_are_not_a_regular_unroll_get_the_full_layout():
    W = tr.Parameter(np.ones((2, 2)), name="W")
    x = tr.Tensor(np.ones((2, 1)), name="x")
    plain = viz.draw(((W @ x).tanh()).sum())  # no time-step scopes at all
    assert not plain.pinned and groups(svg_of(plain), "op")
    h = x
    for t in (1, 2, 3):  # step 2 does one more op than the others
        with tr.scope("rnn"), tr.scope(f"t{t}"):
            h = (W @ h).tanh()
            if t == 2:
                h = h * 2.0
    odd = viz.draw(h.sum())
    assert not odd.pinned
    assert sorted(text_of(g) for g in groups(svg_of(odd), "time")) == ["t = 1", "t = 2", "t = 3"]


def test_hostile_names_are_escaped_in_the_tiled_picture():
    name = '<script>alert("w")</script> & co'
    W = tr.Parameter(0.5 * np.eye(2), name=name)
    h = tr.Tensor(np.zeros((2, 1)), name="h0")
    for t in range(1, 5):
        with tr.scope("rnn"), tr.scope("l0"), tr.scope("fwd"), tr.scope(f"t{t}"), tr.scope("hidden"):
            h = (W @ h + 1.0).tanh()
    drawing = viz.draw(h.sum())
    assert drawing.pinned
    svg = svg_of(drawing)
    assert not list(svg.iter(SVG + "script"))
    assert name in [text_of(g) for g in groups(svg, "parameter")][0]
    assert any(name in text_of(e) for e in groups(svg, "edge"))  # the rail's name, shown literally


def test_built_in_models_name_their_input_and_initial_state():
    svg = svg_of(viz.draw(toy_loss("lstm", 2), grads=True))
    shown = {text_of(g).split("(")[0] for g in groups(svg, "constant")}
    assert {"x", "h₀", "c₀"} <= shown  # the notes' names of the initial state
    texts = " ".join(t.text or "" for t in svg.iter(SVG + "text"))
    assert "[0, 0]" in texts and "-0," not in texts and "-0]" not in texts  # f at t = 1 has no gradient: 0, not -0


@pytest.mark.parametrize("renderer", RENDERERS)
def test_the_tiled_view_draws_with_either_renderer(renderer):
    drawing = viz.draw(toy_loss("gru", 3), renderer=renderer)
    assert drawing.pinned
    svg = svg_of(drawing)
    assert len(groups(svg, "op")) == len(tr.trace(toy_loss("gru", 3)).nodes)
    assert [t for t, _ in sorted(steps_by_row(svg)["gru/l0/fwd"], key=lambda s: s[1][0])] == [1, 2, 3]


def test_graphviz_pure_is_preferred_unless_a_renderer_is_named(monkeypatch):
    monkeypatch.delenv("TINYGRAD_RNN_RENDERER", raising=False)
    assert "graphviz-pure" in viz.find_renderer()
    monkeypatch.setenv("TINYGRAD_RNN_RENDERER", "no-such-program")
    with pytest.raises(viz.RendererNotFound, match="TINYGRAD_RNN_RENDERER"):
        viz.find_renderer()
    with pytest.raises(viz.RendererNotFound, match="renderer="):
        viz.find_renderer("no-such-program-either")
    if "dot" in RENDERERS:
        monkeypatch.setenv("TINYGRAD_RNN_RENDERER", "dot")
        assert viz.find_renderer().endswith("dot")
        assert "graphviz-pure" in viz.find_renderer("graphviz-pure")  # an argument beats the variable


def test_a_slow_render_says_so_on_stderr(monkeypatch, capsys):
    monkeypatch.setattr(render_module, "SLOW", 0.0)  # treat every render as slow
    viz.draw(toy_loss("rnn", 3)).pipe(format="svg")
    err = capsys.readouterr().err
    assert "rendering" in err and "rendered" in err and "tiled" in err


def test_render_command_draws_two_hundred_lstm_steps(tmp_path, capsys):
    out = tmp_path / "l.svg"
    assert cli.main(["render", "--cell", "lstm", "--steps", "200", "--full", "--out", str(out)]) == 0
    svg = ET.parse(out).getroot()
    row = sorted(steps_by_row(svg)["lstm/l0/fwd"], key=lambda s: s[1][0])
    assert [t for t, _ in row] == list(range(1, 201))
    # without --full the middle is left out (issue 23): t = 1, 2, 3, "… 194 steps …", 198, 199, 200
    assert cli.main(["render", "--cell", "lstm", "--steps", "200", "--out", str(out)]) == 0
    svg = ET.parse(out).getroot()
    row = sorted(steps_by_row(svg)["lstm/l0/fwd"], key=lambda s: s[1][0])
    assert [t for t, _ in row] == [1, 2, 3, 198, 199, 200]
    assert "194 steps left out" in text_of(next(g for g in groups(svg, "time") if "t = 198" in text_of(g)))
    capsys.readouterr()
    assert cli.main(["render", "--steps", "2", "--renderer", "no-such", "--out", str(tmp_path / "x.svg")]) == 1
    err = capsys.readouterr().err
    assert "no-such" in err and "Traceback" not in err


def test_the_pinned_source_is_plain_dot_that_graphviz_draws_without_a_layout(tmp_path):
    drawing = viz.draw(toy_loss("rnn", 3))
    path = viz.render(drawing, tmp_path / "rnn.dot")
    program = viz.find_renderer()
    out = subprocess.run([program, "-Kneato", "-n2", "-Tsvg"], input=path.read_bytes(), capture_output=True,
                         check=True, timeout=60).stdout
    assert len(groups(ET.fromstring(out), "op")) == len(tr.trace(toy_loss("rnn", 3)).nodes)


def test_a_users_own_loop_of_cells_with_time_scopes_is_tiled_too():
    cell = tr.nn.LSTMCell(2, 3, rng=0)
    x = tr.Tensor(np.ones((1, 2)), name="x")
    state = None
    for t in range(1, 5):  # time steps at the top level, no layer or direction scopes
        with tr.scope(f"t{t}"):
            state = cell(x, state)
    loss = state[0].sum()
    loss.backward()
    drawing = viz.draw(loss, grads=True)
    assert drawing.pinned
    svg = svg_of(drawing)
    assert [t for t, _ in sorted(steps_by_row(svg)[""], key=lambda s: s[1][0])] == [1, 2, 3, 4]
    assert overlaps(svg) == []
