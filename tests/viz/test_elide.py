"""Static pictures of long unrolls leave out the middle: t = 1, 2, 3, "… 194 steps …", 198, 199, 200."""

import re
import xml.etree.ElementTree as ET

import viz
from tests.viz.svg_tools import SVG, XLINK, groups, svg_of
from tinygrad_rnn.cli.render import toy_loss


def joined(g):
    return "".join("".join(t.itertext()) for t in g.iter(SVG + "text"))


def step_labels(svg):
    return sorted((joined(g).split("hidden")[0] for g in groups(svg, "time")), key=lambda s: int(s.split()[2]))


def width(svg):
    return float(svg.get("width").rstrip("pt"))


def test_a_long_lstm_keeps_three_steps_at_each_end_and_says_how_many_it_left_out():
    svg = svg_of(viz.draw(toy_loss("lstm", 200), elide=3))
    labels = [re.match(r"t = \d+", s).group(0) for s in step_labels(svg)]
    assert labels == ["t = 1", "t = 2", "t = 3", "t = 198", "t = 199", "t = 200"]
    assert any("t = 198" in joined(g) and "194 steps left out" in joined(g) for g in groups(svg, "time"))
    # about as wide as six steps drawn in full (the full T = 200 picture is 201,791 pt wide)
    assert width(svg) < 1.15 * width(svg_of(viz.draw(toy_loss("lstm", 6))))
    # the labels keep each step's real t, and h, c cross the gap from t = 3 to t = 198 on dashed edges
    boxes = {joined(g) for g in groups(svg, "tensor")}
    assert any(b.startswith("h₁₉₈") for b in boxes) and any(b.startswith("c₂₀₀") for b in boxes)
    assert not any(b.startswith(("h₄", "c₅")) for b in boxes)
    bridges = [g for g in groups(svg, "edge") if g.find(f".//{SVG}a") is not None
               and "194 steps left out" in (g.find(f".//{SVG}a").get(XLINK + "title") or "")]
    assert len(bridges) == 2  # h and c
    assert all("stroke-dasharray" in ET.tostring(g, encoding="unicode") for g in bridges)


def test_every_row_of_a_stack_is_elided_alike_and_reverse_rows_bridge_the_other_way():
    svg = svg_of(viz.draw(toy_loss("gru", 30, layers=2, bidirectional=True), elide=3))
    labels = [re.match(r"t = \d+", s).group(0) for s in step_labels(svg)]
    assert sorted(set(labels), key=lambda s: int(s[4:])) == ["t = 1", "t = 2", "t = 3", "t = 28", "t = 29", "t = 30"]
    assert len(labels) == 4 * 6
    bridges = [g for g in groups(svg, "edge") if g.find(f".//{SVG}a") is not None
               and "24 steps left out" in (g.find(f".//{SVG}a").get(XLINK + "title") or "")]
    assert len(bridges) >= 4  # at least h in each of the four rows


def test_short_unrolls_and_elide_none_draw_every_step():
    assert len(groups(svg_of(viz.draw(toy_loss("rnn", 9), elide=3)), "time")) == 9  # 3 would go: not worth it
    assert len(groups(svg_of(viz.draw(toy_loss("rnn", 40))), "time")) == 40
