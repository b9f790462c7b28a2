"""The rough error surface: a cliff whose gradient throws plain gradient descent away, and clipping that doesn't."""

import json
import re

import numpy as np
import pytest

from tinygrad_rnn import cli
from tinygrad_rnn.stories import error_surface as es
from viz import plot


def in_picture(run: dict) -> bool:
    w, b = np.array(run["w"]), np.array(run["b"])
    return bool(np.all((-4 < w) & (w < 12) & (-8 < b) & (b < 6)))


def test_the_unclipped_run_jumps_off_the_cliff_and_the_clipped_one_stays():
    free = es.descend((10.0, -5.0), lr=0.05, iterations=40, clip=None)
    capped = es.descend((10.0, -5.0), lr=0.05, iterations=40, clip=5.0)
    jump = es.biggest_jump(free)
    assert jump["grad_norm"] > 500 and jump["step_length"] > 20  # one step flings (w, b) far away
    steps = np.hypot(np.diff(capped["w"]), np.diff(capped["b"]))
    assert np.all(np.isfinite(capped["w"])) and np.all(np.isfinite(capped["b"]))
    assert steps.max() <= 0.05 * 5.0 + 1e-9  # a clipped step is never longer than lr * threshold
    assert max(capped["grad_norm"]) > 5  # clipping did act
    assert in_picture(capped) and not in_picture(free)  # the unclipped run leaves the picture


def test_the_surface_gradients_are_each_points_own():
    ws, bs = np.array([1.0, 4.0, 8.0]), np.array([-3.0, 0.5])
    grid = es.surface(ws, bs, steps=20)
    assert grid["loss"].shape == (2, 3) == grid["grad_norm"].shape

    def loss(w, b):
        x = 0.5
        for _ in range(20):
            x = w / (1 + np.exp(-x)) + b
        return (x - 0.7) ** 2

    h = 1e-6
    for r, b in enumerate(bs):
        for c, w in enumerate(ws):
            gw = (loss(w + h, b) - loss(w - h, b)) / (2 * h)
            gb = (loss(w, b + h) - loss(w, b - h)) / (2 * h)
            assert grid["loss"][r, c] == pytest.approx(loss(w, b), rel=1e-12)
            assert grid["grad_norm"][r, c] == pytest.approx(np.hypot(gw, gb), rel=1e-5)


def test_the_cliff_is_found_where_the_final_state_jumps():
    cliff = es.find_cliff(np.linspace(-4, 12, 201), -2.634)
    low, high = cliff["x_T_either_side"]
    assert low < 0 < high and 4.5 < cliff["w"] < 5.5
    assert cliff["grad_norm"] > 1e4  # far steeper than anywhere a grid samples


def test_error_surface_command_draws_the_paths_over_the_surface(tmp_path, capsys):
    assert cli.main(["train", "error-surface", "--grid", "12", "--iterations", "40", "--out", str(tmp_path),
                     "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "the cliff: along b = -2.63" in out and "no clipping: at step 29" in out
    svg = (tmp_path / "error_surface.svg").read_text()
    assert svg.count("<polyline") >= 2 and "clip-path" in svg
    assert "no clipping" in svg and "clip_grad_norm_ at 5" in svg
    for name in ("error_surface_slice.svg", "error_surface_grad_steps.svg"):
        assert (tmp_path / name).read_text().rstrip().endswith("</svg>")
    saved = json.loads((tmp_path / "error_surface.json").read_text())
    assert saved["cliff"]["grad_norm"] > 1e4 and saved["unclipped_jump"]["iteration"] == 29


def test_heatmap_paths_need_an_extent_and_are_placed_by_it():
    m = np.arange(9.0).reshape(3, 3)
    with pytest.raises(ValueError, match="extent"):
        plot.heatmap(m, paths={"p": ([0], [0])})
    svg = plot.heatmap(m, extent=(0, 2, 0, 2), paths={"p": ([0, 2], [2, 0])}, width=460, height=400)
    # the frame is x 60..360, y 48..350; cell centres at the extent's ends, so (0, 2) is half a cell in
    (points,) = re.findall(r'<polyline points="([^"]+)"', svg)
    (x0, y0), (x1, y1) = [tuple(map(float, p.split(","))) for p in points.split()]
    assert x0 == pytest.approx(60 + 50) and y0 == pytest.approx(48 + 302 / 6, abs=0.1)
    assert x1 == pytest.approx(360 - 50) and y1 == pytest.approx(350 - 302 / 6, abs=0.1)
