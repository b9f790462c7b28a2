"""viz: the pictures parse, group by time step, escape user text, and render without system Graphviz."""

import re
import sys
import time
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import tinygrad_rnn as tr
import viz
from tests.viz.svg_tools import SVG, groups, svg_of
from tinygrad_rnn import cli
from tinygrad_rnn.cli.render import toy_loss
from tinygrad_rnn.notation import names_of
from viz.labels import PALETTE


def text_of(g):
    return "".join(t.text or "" for t in g.iter(SVG + "text"))


def first_text(g):
    return next(g.iter(SVG + "text")).text


def centre(g):
    t = next(g.iter(SVG + "text"))
    return float(t.get("x")), float(t.get("y"))


def box(g):
    """Bounding box of a cluster's outline (polygon points or path data)."""
    shape = next(e for e in g if e.tag in (SVG + "polygon", SVG + "path"))
    numbers = [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?", shape.get("points") or shape.get("d"))]
    xs, ys = numbers[0::2], numbers[1::2]
    return min(xs), min(ys), max(xs), max(ys)


def inside(point, rect):
    return rect[0] <= point[0] <= rect[2] and rect[1] <= point[1] <= rect[3]


def elman(steps, scale=1.0, seed=0):
    """h_t = tanh(W_hh h_(t-1) + W_xh x_t), loss = sum(h_T); written here with engine primitives."""
    rng = np.random.default_rng(seed)
    W_hh = tr.Parameter(scale * np.eye(3) + 0.05 * rng.standard_normal((3, 3)), name="W_hh")
    W_xh = tr.Parameter(rng.standard_normal((3, 2)), name="W_xh")
    h = tr.Tensor(np.zeros((3, 1)), name="h0")
    for t in range(1, steps + 1):
        with tr.scope("rnn"), tr.scope("l0"), tr.scope("fwd"), tr.scope(f"t{t}"), tr.scope("hidden"):
            h = (W_hh @ h + W_xh @ tr.Tensor(rng.standard_normal((2, 1)))).tanh()
    loss = h.sum()
    loss.backward()
    return loss, W_hh


def test_ops_view_has_one_cluster_per_time_step_and_parses_as_svg():
    loss = toy_loss("lstm", 3)
    svg = svg_of(viz.draw(loss))
    steps = sorted(text_of(g) for g in groups(svg, "time"))
    assert steps == ["t = 1", "t = 2", "t = 3"]


def test_every_op_and_tensor_of_the_recorded_graph_is_drawn():
    loss = toy_loss("gru", 2)
    graph = tr.trace(loss)
    svg = svg_of(viz.draw(loss, all_tensors=True))
    assert len(groups(svg, "op")) == len(graph.nodes)
    assert len(groups(svg, "tensor")) == len(graph.tensors)
    compact = svg_of(viz.draw(loss))
    assert len(groups(compact, "op")) == len(graph.nodes)
    names = {text_of(g) for g in groups(compact, "parameter")}
    shown = {n.split("(")[0] for n in names}  # each box: the notes' alias over PyTorch's name (W_hh, weight_hh_l0)
    assert {names_of(graph).name(rec.id) + rec.name for rec in graph.parameters()} <= shown


def test_parameters_are_drawn_once_outside_the_time_steps():
    loss, _ = elman(4)
    svg = svg_of(viz.draw(loss))
    params = {text_of(g).split("(")[0]: g for g in groups(svg, "parameter")}
    assert set(params) == {"W_hh", "W_xh"}
    steps = [box(g) for g in groups(svg, "time")]
    assert len(steps) == 4
    for g in params.values():
        assert not any(inside(centre(g), rect) for rect in steps)
    # W_hh feeds a matmul in every one of the four steps
    w_id = params["W_hh"].get("id")
    uses = [e for e in groups(svg, "edge") if e.find(SVG + "title").text.startswith(w_id + "->")]
    assert len(uses) == 4


NASTY = [
    "<script>alert(1)</script>",
    'say "hi" & {brace} | pipe',
    "line one\nline two",
    "back\\slash \\n \\N",
    "x]]>y",
]


@pytest.mark.parametrize("name", NASTY)
def test_user_names_are_shown_literally_in_valid_dot_and_svg(name):
    w = tr.Parameter(np.ones((2, 2)), name=name)
    scope_name = name.replace("/", "_")  # scope names can't contain '/'
    with tr.scope(scope_name):
        loss = (w * 2.0).sum()
    loss.backward()
    drawing = viz.draw(loss, values=True, grads=True)
    labels = " ".join(re.findall(r"label=<(.*?)> id=", drawing.source))
    assert "<script>" not in labels and "&lt;script&gt;" in labels or "script" not in name
    svg = svg_of(drawing)
    assert not list(svg.iter(SVG + "script"))
    shown = [text_of(g) for g in groups(svg, "parameter")]
    assert len(shown) == 1
    for line in name.split("\n"):
        assert line in shown[0]
    clusters = [text_of(g) for g in groups(svg, "scope")]
    assert any(scope_name.replace("\n", "") == c for c in clusters)


def test_pip_only_rendering_uses_graphviz_pure_beside_python(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", "")  # no system `dot`, no graphviz-pure on PATH
    monkeypatch.delenv("TINYGRAD_RNN_RENDERER", raising=False)
    program = viz.find_renderer()
    assert "graphviz-pure" in program
    loss, _ = elman(2)
    out = viz.render(loss, tmp_path / "rnn.svg")
    ET.parse(out)
    png = viz.render(loss, tmp_path / "rnn.png").read_bytes()
    assert png.startswith(b"\x89PNG")
    bundle = viz.draw(loss)._repr_mimebundle_()  # what Jupyter shows inline
    assert bundle["image/svg+xml"].lstrip().startswith("<?xml")
    written = viz.draw(loss).render(tmp_path / "graph", format="svg")  # graphviz.Digraph's own API
    ET.parse(written)


def test_without_any_renderer_the_error_says_how_to_install_one(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", "")
    monkeypatch.delenv("TINYGRAD_RNN_RENDERER", raising=False)
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    loss, _ = elman(1)
    with pytest.raises(viz.RendererNotFound, match="pip install graphviz-pure"):
        viz.render(loss, tmp_path / "x.svg")
    dot = viz.render(loss, tmp_path / "x.dot")  # DOT text never needs a renderer
    assert dot.read_text().startswith("digraph")


def test_in_pyodide_viz_says_it_cannot_draw_and_everything_else_works(monkeypatch, tmp_path):
    monkeypatch.setattr(sys, "platform", "emscripten")  # Pyodide / JupyterLite: no graphviz-pure, no subprocesses
    loss, _ = elman(1)
    with pytest.raises(viz.RendererNotFound, match="Pyodide or JupyterLite.*drawing.source"):
        viz.render(loss, tmp_path / "x.svg")
    assert viz.render(loss, tmp_path / "x.dot").read_text().startswith("digraph")
    stepper = loss.backward(step=True)
    stepper.step()
    shown = stepper._repr_html_()  # a notebook still shows the stepper, as text, with the reason
    assert "step 1 of" in shown and "cannot run a Graphviz program" in shown


def test_render_rejects_an_unknown_extension(tmp_path):
    loss, _ = elman(1)
    with pytest.raises(ValueError, match=r"\.svg"):
        viz.render(loss, tmp_path / "graph.jpeg")


def test_ops_view_refuses_huge_untiled_graphs_and_points_to_the_cells_view():
    w = tr.Parameter(np.ones(2), name="w")
    h = w
    for _ in range(300):  # a long chain with no time-step scopes: nothing to tile
        h = (h * w).tanh()
    loss = h.sum()
    with pytest.raises(viz.GraphTooLarge, match="view='cells'"):
        viz.draw(loss)
    assert viz.draw(loss, max_nodes=10_000).source.count("op-tanh") == 300
    with pytest.raises(viz.GraphTooLarge, match="max_nodes=500"):
        viz.draw(toy_loss("lstm", 100), layout="full")
    tiled = viz.draw(toy_loss("lstm", 100))  # a regular unroll is tiled: no limit
    assert tiled.pinned and tiled.source.count("op-tanh") == 200


def test_cells_view_draws_three_hundred_steps_quickly():
    loss = toy_loss("rnn", 300)
    start = time.perf_counter()
    svg = svg_of(viz.draw(loss, view="cells", grads=True))
    assert time.perf_counter() - start < 20
    cells = groups(svg, "cell")
    assert len(cells) == 300
    assert [first_text(c) for c in cells[:2]] == ["t = 1", "t = 2"]


def test_cells_view_edges_carry_h_and_c_from_step_to_step():
    svg = svg_of(viz.draw(toy_loss("lstm", 3), view="cells"))
    names = {g.get("id"): first_text(g) for g in groups(svg, "cell")}
    carried: dict = {}
    for edge in groups(svg, "edge"):
        tail, _, head = edge.find(SVG + "title").text.partition("->")
        if tail in names and head in names:
            carried.setdefault((names[tail], names[head]), []).append(text_of(edge))
    assert {pair: sorted(labels) for pair, labels in carried.items()} == {
        ("t = 1", "t = 2"): ["c\u2081", "h\u2081"],  # c₁, h₁
        ("t = 2", "t = 3"): ["c\u2082", "h\u2082"],
    }


def tooltip(g):
    return next(a for a in g.iter(SVG + "a")).get("{http://www.w3.org/1999/xlink}title")


def test_cells_view_is_a_grid_rows_per_layer_and_direction_columns_per_time_step():
    loss = toy_loss("gru", 4, layers=2, bidirectional=True)
    svg = svg_of(viz.draw(loss, view="cells"))
    cells = groups(svg, "cell")
    assert len(cells) == 2 * 2 * 4
    rows: dict = {}
    for c in cells:
        row, step = tooltip(c).rsplit("/", 1)  # e.g. "gru/l1/rev", "t3"
        rows.setdefault(row, []).append((int(step[1:]), centre(c)[0]))
    assert sorted(rows) == ["gru/l0/fwd", "gru/l0/rev", "gru/l1/fwd", "gru/l1/rev"]
    for row in rows.values():  # time runs left to right in every row, the reverse ones too
        assert [t for t, _ in sorted(row, key=lambda p: p[1])] == [1, 2, 3, 4]
    for t in range(1, 5):  # and t = 3 of every row sits in one column
        xs = [x for row in rows.values() for step, x in row if step == t]
        assert max(xs) - min(xs) < 1


def test_highlight_marks_exactly_the_paths_from_the_loss_to_the_parameter():
    W = tr.Parameter(np.ones((2, 2)), name="W")
    V = tr.Parameter(np.ones((2, 2)), name="V")
    x = tr.Tensor(np.ones((2, 1)), name="x")
    loss = ((W @ x).tanh() + V @ x).sum()
    loss.backward()
    svg = svg_of(viz.draw(loss, highlight=W))
    ids = {text_of(g).split("(")[0]: g.get("id") for g in groups(svg, "tensor")}
    marked = [e.find(SVG + "title").text.replace("&#45;", "-") for e in groups(svg, "highlight")]
    # W -> matmul -> tanh -> add -> sum -> loss: five edges, none from V or x
    assert len(marked) == 5
    assert any(m.startswith(ids["W"] + "->") for m in marked)
    assert any(m.endswith("->" + ids["loss"]) for m in marked)
    assert not any(ids["V"] in m or ids["x"] in m for m in marked)
    assert viz.draw(loss, highlight="W").source == viz.draw(loss, highlight=W).source
    with pytest.raises(ValueError, match="named tensors: V, W, x"):
        viz.draw(loss, highlight="U")
    lstm = toy_loss("lstm", 3)  # the notes' names work too, typed or not: c2 is c₂
    assert viz.draw(lstm, highlight="c2").source == viz.draw(lstm, highlight="c₂").source != viz.draw(lstm).source
    with pytest.raises(ValueError, match="not part of this graph"):
        viz.draw(loss, highlight=tr.Parameter(np.ones(2), name="elsewhere"))


def test_highlight_reaches_every_time_step_through_w_hh():
    loss, W_hh = elman(5)
    svg = svg_of(viz.draw(loss, highlight=W_hh))
    w_id = next(g.get("id") for g in groups(svg, "parameter") if text_of(g).startswith("W_hh"))
    marked = [e.find(SVG + "title").text for e in groups(svg, "highlight")]
    assert sum(m.startswith(w_id + "->") for m in marked) == 5
    cells = svg_of(viz.draw(loss, view="cells", highlight="W_hh"))
    assert len(groups(cells, "highlight")) >= 5


def fill(g):
    shape = next(e for e in g.iter() if e.tag in (SVG + "polygon", SVG + "path", SVG + "ellipse"))
    return shape.get("fill")


def test_gradient_colours_fade_back_through_time_when_gradients_vanish():
    loss, _ = elman(8, scale=0.3)  # contracting recurrence: dL/dh_t shrinks going back from t = 8
    svg = svg_of(viz.draw(loss, view="cells", grads=True))
    levels = [PALETTE.index(fill(c)) for c in groups(svg, "cell")]
    assert levels == sorted(levels) and levels[0] < levels[-1]
    assert "gradient norm" in text_of(next(g for g in groups(svg, "node") if g.get("id") == "legend"))


def test_values_and_grads_appear_on_the_labels():
    w = tr.Parameter(np.array([[0.5, -2.0]]), name="w")
    loss = (w * w).sum()
    loss.backward()
    svg = svg_of(viz.draw(loss, values=True, grads=True))
    label = text_of(next(g for g in groups(svg, "parameter")))
    assert "value [0.5, -2]" in label and "grad [1, -4]" in label  # d(w^2)/dw = 2w
    big = tr.Parameter(np.arange(12.0).reshape(3, 4), name="big")
    loss = big.sum()
    label = text_of(groups(svg_of(viz.draw(loss, values=True)), "parameter")[0])
    # whose norm and range: the value's (it used to say "‖·‖=22.5 / min 0 max 11", of what it did not say)
    assert "value min 0 max 11" in label and "\u2016value\u2016=22.5" in label  # ||0..11|| = sqrt(506)


class FakeStepper:
    """The stepper protocol, stopped after processing the last ``done`` nodes of the backward pass."""

    def __init__(self, loss, done):
        self.graph = tr.trace(loss)
        n = len(self.graph.nodes)
        self.current = n - 1 - done
        self.done = done

    def __viz_state__(self):
        status = {}
        for node in self.graph.nodes:
            i = node.index
            status[i] = "done" if i > self.current else "current" if i == self.current else "pending"
        return {"graph": self.graph, "status": status, "grads": {self.graph.root: np.array(1.0)}}


def test_stepper_state_styles_done_current_and_pending_nodes():
    loss, _ = elman(3)
    stepper = FakeStepper(loss, done=2)
    svg = svg_of(viz.draw(stepper))
    n = len(stepper.graph.nodes)
    assert len(groups(svg, "current")) == 1
    assert len(groups(svg, "done")) == 2
    assert len(groups(svg, "pending")) == n - 3
    root = next(g for g in groups(svg, "root"))
    assert "grad 1" in text_of(root)  # gradients known so far are shown by default
    cells = svg_of(viz.draw(stepper, view="cells"))
    assert len(groups(cells, "pending")) == 2 and len(groups(cells, "current")) == 1


def test_bad_stepper_state_and_bad_arguments_are_explained():
    class Broken:
        def __viz_state__(self):
            return {"graph": tr.trace(elman(1)[0]), "status": {0: "running"}}

    with pytest.raises(ValueError, match="unknown node status"):
        viz.draw(Broken())
    with pytest.raises(TypeError, match="expected a Tensor"):
        viz.draw([1, 2])
    with pytest.raises(ValueError, match="view must be"):
        viz.draw(elman(1)[0], view="layers")


def test_render_command_writes_the_lstm_picture_with_gradients(tmp_path, capsys):
    out = tmp_path / "lstm.svg"
    assert cli.main(["render", "--cell", "lstm", "--steps", "4", "--grads", "--out", str(out)]) == 0
    svg = ET.parse(out).getroot()
    assert sorted(text_of(g) for g in groups(svg, "time")) == [f"t = {t}" for t in range(1, 5)]
    assert {text_of(g).split("(")[0] for g in groups(svg, "parameter")} >= {"W_hhweight_hh_l0", "W_ihweight_ih_l0"}
    assert "wrote" in capsys.readouterr().out
    assert cli.main(["render", "--steps", "100", "--layout", "full", "--out", str(tmp_path / "big.svg")]) == 1
    assert re.search(r"--view cells.*--max-nodes", capsys.readouterr().err)
