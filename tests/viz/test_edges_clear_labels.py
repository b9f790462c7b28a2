"""No edge runs through a text label: edge paths sampled against every text's box (LSTM T = 3)."""

import re
import xml.etree.ElementTree as ET

import pytest

import tinygrad_rnn as tr
import viz
from tinygrad_rnn.cli.render import toy_loss

SVG = "{http://www.w3.org/2000/svg}"


def text_boxes(svg):
    """(text, owner id, box) for every <text>: its font size tall (from 0.7 em above the baseline to 0.15
    below), 0.5 em per character wide (Helvetica's average), shrunk by 1 pt on every side so that an edge
    that only grazes a label's estimated corner does not count."""
    out = []
    for owner in svg.iter(SVG + "g"):
        if not {"node", "edge", "cluster"} & set(owner.get("class", "").split()):
            continue
        for t in owner.iter(SVG + "text"):
            s = "".join(t.itertext())
            if not s.strip():
                continue
            size = float(t.get("font-size", "14"))
            x, y = float(t.get("x")), float(t.get("y"))
            w = 0.5 * size * len(s)
            anchor = t.get("text-anchor", "start")
            x0 = x - w / 2 if anchor == "middle" else x - w if anchor == "end" else x
            out.append((s, owner.get("id"), (x0 + 1, y - 0.7 * size + 1, x0 + w - 1, y + 0.15 * size - 1)))
    return out


def bezier_points(d, per_segment=24):
    """Points along a Graphviz path ('M x,y C x1,y1 x2,y2 x3,y3 ...')."""
    numbers = [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?(?:e-?\d+)?", d)]
    pts = list(zip(numbers[::2], numbers[1::2]))
    out = [pts[0]]
    for i in range(1, len(pts) - 2, 3):
        p0, p1, p2, p3 = pts[i - 1], pts[i], pts[i + 1], pts[i + 2]
        for k in range(1, per_segment + 1):
            s = k / per_segment
            a, b, c, e = (1 - s) ** 3, 3 * (1 - s) ** 2 * s, 3 * (1 - s) * s * s, s ** 3
            out.append((a * p0[0] + b * p1[0] + c * p2[0] + e * p3[0], a * p0[1] + b * p1[1] + c * p2[1] + e * p3[1]))
    return out


def shape_box(g):
    """The bounding box of a node's outline (its polygons, ellipses and paths)."""
    xs, ys = [], []
    for shape in g.iter():
        if shape.tag == SVG + "polygon":
            pts = [tuple(map(float, p.split(","))) for p in shape.get("points").split()]
            xs += [p[0] for p in pts]
            ys += [p[1] for p in pts]
        elif shape.tag == SVG + "ellipse":
            cx, cy, rx, ry = (float(shape.get(k)) for k in ("cx", "cy", "rx", "ry"))
            xs += [cx - rx, cx + rx]
            ys += [cy - ry, cy + ry]
    return (min(xs), min(ys), max(xs), max(ys)) if xs else None


def crossings(svg):
    """(edge, text, the text's owner) for every label an edge runs through; an edge's own end nodes (where
    it is clipped to their outline) do not count."""
    nodes = {g.get("id"): shape_box(g) for g in svg.iter(SVG + "g") if "node" in g.get("class", "").split()}
    texts = []
    for s, owner, box in text_boxes(svg):  # a node's text lies inside its outline: the estimate is cut to it
        b = nodes.get(owner)
        texts.append((s, owner, (max(box[0], b[0]), box[1], min(box[2], b[2]), box[3]) if b else box))
    found = []
    for edge in svg.iter(SVG + "g"):
        if "edge" not in edge.get("class", "").split():
            continue
        ends = [nodes.get(name.split(":")[0]) for name in edge.find(SVG + "title").text.split("->")]
        for path in edge.iter(SVG + "path"):
            points = [(x, y) for x, y in bezier_points(path.get("d"))
                      if not any(b and b[0] <= x <= b[2] and b[1] <= y <= b[3] for b in ends)]
            for s, owner, (x0, y0, x1, y1) in texts:
                if any(x0 < x < x1 and y0 < y < y1 for x, y in points):
                    found.append((edge.find(SVG + "title").text, s, owner))
    return found


@pytest.mark.parametrize("highlight", [None, "weight_hh_l0"])
@pytest.mark.parametrize("view", ["ops", "cells"])
@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_no_edge_passes_through_a_label_at_t3(cell, view, highlight):
    """Fails on the old layout: an LSTM's c_{t-1} ran through "cell state" in the ops view, and h0 / c0 ran
    up through the parameter boxes' gradient lines in the cells view."""
    for seed in range(3):  # the weights (so the numbers on the labels, so their widths) differ with the seed
        tr.manual_seed(seed)
        drawing = viz.draw(toy_loss(cell, 3), view=view, grads=highlight is None, highlight=highlight)
        svg = ET.fromstring(drawing.pipe(format="svg"))
        assert len(text_boxes(svg)) > 20
        assert crossings(svg) == [], seed


def test_the_check_sees_an_edge_through_a_label():
    svg = ET.fromstring(
        '<svg xmlns="http://www.w3.org/2000/svg"><g class="node" id="n"><polygon points="0,0 100,0 100,20 0,20"/>'
        '<text x="10" y="15" font-size="10">a label</text></g>'
        '<g class="edge"><title>a->b</title><path d="M-20,11 C20,11 60,11 120,11"/></g></svg>')
    assert crossings(svg) == [("a->b", "a label", "n")]
