"""The recorded backward pass as a picture (viz.draw of a gradient, viz.adjoint) and the cliff story."""

import re

import numpy as np

import tinygrad_rnn as tr
import viz
from tests.viz.svg_tools import SVG, svg_of
from tinygrad_rnn import cli
from tinygrad_rnn.stories import curvature


def rnn_t3():
    rnn = tr.nn.RNN(1, 2, rng=0)
    x = tr.Tensor(np.random.default_rng(0).standard_normal((3, 1, 1)), name="x")
    out, _ = rnn(x)
    return (out * out).sum(), rnn


def texts(g):
    return "".join(t.text or "" for t in g.iter(SVG + "text"))


def test_draw_of_a_recorded_gradient_shows_the_backward_ops_in_backward_clusters():
    loss, rnn = rnn_t3()
    (g,) = tr.grad(loss, [rnn.weight_hh_l0], create_graph=True)
    svg = svg_of(viz.draw(g))
    clusters = [texts(c) for c in svg.iter(SVG + "g") if "cluster" in c.get("class", "").split()]
    assert any(c.startswith("backward") for c in clusters)
    assert sum(1 for c in clusters if re.match(r"t = \d", c)) == 6  # three forward steps, three backward


def test_adjoint_view_puts_backward_steps_under_their_forward_steps_running_right_to_left():
    loss, rnn = rnn_t3()
    svg = svg_of(viz.adjoint(loss, rnn.weight_hh_l0))
    cells = {}
    for g in svg.iter(SVG + "g"):
        if "cell" in g.get("class", "").split():
            t = next(g.iter(SVG + "text"))
            cells.setdefault(t.text, []).append((float(t.get("x")), float(t.get("y"))))
    assert sorted(cells) == ["t = 1", "t = 2", "t = 3"] and all(len(v) == 2 for v in cells.values())
    forward = {k: min(v, key=lambda p: p[1]) for k, v in cells.items()}  # upper row (SVG y grows downwards)
    backward = {k: max(v, key=lambda p: p[1]) for k, v in cells.items()}
    assert all(forward[k][1] < backward[k][1] for k in cells)
    for row in (forward, backward):  # the time axis is shared: t = 1, 2, 3 from left to right in both rows
        assert row["t = 1"][0] < row["t = 2"][0] < row["t = 3"][0]
    for k in cells:
        assert abs(forward[k][0] - backward[k][0]) < 60
    labels = texts(svg)
    assert "δh₃" in labels and "δh₂" in labels and "dL/dweight_hh_l0" in labels
    assert rnn.weight_hh_l0.grad is None  # drawing computes the gradient without writing .grad


def test_the_cliff_peaks_where_w_crosses_one_and_hvp_matches_finite_differences():
    result = curvature.train(steps=20, low=0.6, high=1.4, points=9)
    assert abs(result["peak_w"] - 1.0) <= 0.1
    assert result["peak_curvature"] > 20 * result["curvature_at_low"]
    assert result["max_relative_fd_difference"] < 1e-5


def test_curvature_story_writes_its_pictures(tmp_path, capsys):
    assert cli.main(["train", "curvature", "--steps", "10", "--points", "5", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "peaks at w =" in out and "hvp vs finite differences" in out
    for name in ("cliff_loss.svg", "cliff_curvature.svg", "curvature.json"):
        assert (tmp_path / name).stat().st_size > 200


def test_draw_with_grads_after_backward_create_graph_shows_the_numbers():
    loss, rnn = rnn_t3()
    loss.backward(create_graph=True)
    assert isinstance(rnn.weight_hh_l0.grad, tr.Tensor)
    first = rnn.weight_hh_l0.grad.data.reshape(-1)[0]
    svg = viz.draw(loss, grads=True).source
    assert f"grad [{first:.3g}," in svg  # the parameter's box shows its gradient's numbers
