"""The rolled view: one step drawn once, its recurrence a loop labelled with T, the same size for any T."""

import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import tinygrad_rnn as tr
import viz
from tests.viz.svg_tools import SVG, groups
from tinygrad_rnn import cli
from tinygrad_rnn.cli.render import toy_loss


def rolled_svg(cell, T, **kw):
    drawing = viz.draw(toy_loss(cell, T, **kw), view="rolled")
    return drawing, ET.fromstring(drawing.pipe(format="svg"))


def texts(g):
    return ["".join(t.itertext()) for t in g.iter(SVG + "text")]


def size(svg):
    return svg.get("width"), svg.get("height")


@pytest.mark.parametrize("cell, loops", [("rnn", {"h"}), ("lstm", {"h", "c"}), ("gru", {"h"})])
def test_rolled_is_one_step_with_a_loop_labelled_with_T_and_the_same_size_for_any_T(cell, loops):
    small_drawing, small = rolled_svg(cell, 3)
    big_drawing, big = rolled_svg(cell, 20)
    assert size(small) == size(big)
    ops_small = [g for g in groups(small, "node") if g.get("id").startswith("op")]
    ops_big = [g for g in groups(big, "node") if g.get("id").startswith("op")]
    assert len(ops_small) == len(ops_big)
    # one copy of the step: as many ops as step t = 2 of the recorded graph plus those outside the steps
    graph = tr.trace(toy_loss(cell, 20))
    in_t2 = [n for n in graph.nodes if "t2" in n.scope.split("/")]
    outside = [n for n in graph.nodes if not any(re.fullmatch(r"t\d+", s) for s in n.scope.split("/"))]
    assert len(ops_big) == len(in_t2) + len(outside)
    assert len(groups(big, "rolled")) == 1  # one time-step box
    edges = groups(big, "loop")
    labels = [" ".join(texts(e)) for e in edges if texts(e)]
    assert {lab.split("ₜ₋₁")[0].strip() for lab in labels} == loops
    assert all("× 20" in lab for lab in labels)
    assert all("× 3" in lab for e in groups(small, "loop") for lab in [" ".join(texts(e))] if lab)
    boxes = ["".join(texts(g)) for g in groups(big, "tensor")]
    assert any(b.startswith("hₜ") for b in boxes)  # the step is left open: hₜ, not h₂
    assert not any(b.startswith("h₂") for b in boxes)


def test_rolled_bidirectional_stack_draws_each_layer_and_direction_once():
    _, svg = rolled_svg("lstm", 12, layers=2, bidirectional=True)
    assert len(groups(svg, "rolled")) == 4
    labels = [" ".join(texts(e)) for e in groups(svg, "loop") if texts(e)]
    assert len(labels) == 8  # h and c in each of the four rows
    assert sum("ₜ₊₁" in lab for lab in labels) == 4  # a reverse row hands its state from t+1 to t
    assert all("× 12" in lab for lab in labels)


def test_rolled_map_sends_every_step_to_the_op_drawn_for_it():
    loss = toy_loss("lstm", 20)
    graph = tr.trace(loss)
    drawing = viz.draw(loss, view="rolled")
    shown = {int(g.get("id")[2:]) for g in groups(ET.fromstring(drawing.pipe(format="svg")), "node")
             if g.get("id").startswith("op")}
    for node in graph.nodes:
        rep, t, T = drawing.rolled[node.index]
        assert rep in shown and graph.nodes[rep].op == node.op
        if "t7" in node.scope.split("/"):
            assert (t, T) == (7, 20)
            assert graph.nodes[rep].scope == node.scope.replace("t7", "t2")


def test_rolled_refuses_a_graph_without_time_steps():
    x = tr.Tensor(np.ones(3), requires_grad=True, name="x")
    with pytest.raises(ValueError, match="rolled.*regular unroll"):
        viz.draw((x * x).sum(), view="rolled")


def test_cli_render_view_rolled(tmp_path, capsys):
    out = tmp_path / "rolled.svg"
    assert cli.main(["render", "--cell", "lstm", "--steps", "20", "--view", "rolled", "--out", str(out)]) == 0
    assert "rolled view" in capsys.readouterr().out
    svg = ET.fromstring(out.read_bytes())
    assert len(groups(svg, "loop")) == 2 and len(groups(svg, "rolled")) == 1


def test_only_the_time_axis_of_a_sequence_is_written_T():
    # T = 3 and hidden size 3 (the tour's sizes): a (3, 3) weight and a (1, 3) state keep their numbers
    rnn = tr.nn.RNN(2, 3, rng=0)
    output, _ = rnn(tr.Tensor(np.random.default_rng(0).standard_normal((3, 1, 2)), name="x"))
    svg = ET.fromstring(viz.draw(output.sum(), view="rolled").pipe(format="svg"))
    boxes = {"".join(texts(g)) for g in groups(svg, "tensor")}
    assert any(b.endswith("weight_hh_l0(3, 3)") for b in boxes)
    assert any(b.startswith("x") and b.endswith("(T, 2)") for b in boxes)  # x as the module records it: (T·N, input)
    assert any(b.startswith("hₜ") and b.endswith("(1, 3)") for b in boxes)


def test_a_stepper_drawn_rolled_lights_the_op_it_is_at_and_says_which_t():
    loss = toy_loss("lstm", 20)
    graph = tr.trace(loss)
    stepper = tr.BackwardStepper(loss)
    events = stepper.run()
    k = next(k for k, e in enumerate(events, 1) if "/t7/" in e.scope + "/" and "forget_gate" in e.scope)
    stepper.reset()
    stepper.step(k)
    svg = ET.fromstring(viz.draw(stepper, view="rolled").pipe(format="svg"))
    current = [g for g in groups(svg, "current") if g.get("id").startswith("op")]
    assert len(current) == 1
    drawn = graph.nodes[int(current[0].get("id")[2:])]
    assert drawn.op == events[k - 1].op and drawn.scope == events[k - 1].scope.replace("/t7/", "/t2/")
    assert any("t = 7 of 20" in "".join(texts(g)) for g in groups(svg, "rolled"))
