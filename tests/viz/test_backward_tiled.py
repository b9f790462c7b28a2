"""Chapter 8's pictures: the recorded backward pass tiles by time step like the forward pass.

``tr.grad(loss, [W_hh], create_graph=True)`` records the backward pass; its
steps differ at the ends (step T receives no δh, step 1 sends none to h₀).
These tests read the drawn SVG: where each time step's box is, whether any two
texts collide, and how far an edge between the forward and the backward row
runs sideways.
"""

import re

import numpy as np
import pytest

import tinygrad_rnn as tr
import viz
from tests.viz.test_edges_clear_labels import bezier_points
from tests.viz.test_viz_layout import groups, overlaps, steps_by_row, svg_of, title


def rnn_loss(T, cell="RNN"):
    rnn = getattr(tr.nn, cell)(1, 2, rng=0)
    x = tr.Tensor(np.random.default_rng(0).standard_normal((T, 1, 1)), name="x")
    out, _ = rnn(x)
    return (out * out).sum(), rnn


def gradient_graph(T, cell="RNN"):
    loss, rnn = rnn_loss(T, cell)
    (g,) = tr.grad(loss, [rnn.weight_hh_l0], create_graph=True)
    g.name = "dL/dweight_hh_l0"
    return viz.draw(g)


@pytest.mark.parametrize(("cell", "T"), [("RNN", 3), ("RNN", 6), ("LSTM", 3), ("GRU", 4)])
def test_the_recorded_backward_is_drawn_step_by_step_under_the_forward(cell, T):
    drawing = gradient_graph(T, cell)
    assert drawing.pinned  # tiled, not Graphviz's staircase of the whole graph
    svg = svg_of(drawing)
    rows = steps_by_row(svg)  # the row of a step box is read from the scopes of the ops inside it
    scope = f"{cell.lower()}/l0/fwd"
    assert sorted(rows) == [f"backward/{scope}", scope]
    for row in rows.values():
        row.sort(key=lambda step: step[1][0])
        assert [t for t, _ in row] == list(range(1, T + 1))  # one axis, t = 1..T, in order
        for (_, left), (_, right) in zip(row, row[1:]):
            assert left[2] < right[0]  # side by side, apart
    forward, backward = (dict(rows[name]) for name in (scope, f"backward/{scope}"))
    assert max(box[3] for box in forward.values()) < min(box[1] for box in backward.values())  # forward above
    for t in range(1, T + 1):  # backward step t in the column of forward step t
        f, b = forward[t], backward[t]
        assert abs((f[0] + f[2]) / 2 - (b[0] + b[2]) / 2) < (b[2] - b[0]) / 2


@pytest.mark.parametrize("T", [3, 6])
def test_no_two_texts_overlap_in_the_gradient_graph_and_the_adjoint_view(T):
    assert overlaps(svg_of(gradient_graph(T))) == []
    loss, rnn = rnn_loss(T)
    assert overlaps(svg_of(viz.adjoint(loss, rnn.weight_hh_l0))) == []


@pytest.mark.parametrize("T", [3, 6])
def test_adjoint_edges_between_the_rows_are_short(T):
    loss, rnn = rnn_loss(T)
    svg = svg_of(viz.adjoint(loss, rnn.weight_hh_l0))
    cells = {}
    for g in groups(svg, "cell"):
        scope = next(a for a in g.iter() if a.tag.endswith("}a")).get("{http://www.w3.org/1999/xlink}title")
        numbers = [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?", next(g.iter("{http://www.w3.org/2000/svg}path")).get("d"))]
        xs, ys = numbers[0::2], numbers[1::2]
        cells[title(g)] = (scope.startswith("backward"), int(scope.rsplit("/t", 1)[1]), (min(xs) + max(xs)) / 2,
                           (min(ys) + max(ys)) / 2)
    by_row_t = {(back, t): x for back, t, x, _ in cells.values()}
    pitch = by_row_t[(False, 2)] - by_row_t[(False, 1)]
    between = []
    for e in groups(svg, "edge"):
        tail, head = title(e).split("->")
        if tail in cells and head in cells and cells[tail][0] != cells[head][0]:
            xs = [x for x, _ in bezier_points(next(e.iter("{http://www.w3.org/2000/svg}path")).get("d"))]
            between.append((tail, head, max(xs) - min(xs)))
    assert len(between) == 2 * T - 1  # h_t goes to the backward steps t and t + 1
    assert all(span <= 1.5 * pitch for _, _, span in between), (pitch, between)
