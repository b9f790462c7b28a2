"""Pictures that read: faded text keeps its contrast, and no edge runs through a label."""

import xml.etree.ElementTree as ET

import pytest

from tinygrad_rnn import cli

SVG = "{http://www.w3.org/2000/svg}"
NAMED = {"white": "#ffffff", "black": "#000000", "none": None, "transparent": None}


def rgb(colour):
    colour = NAMED.get(colour, colour)
    if colour is None:
        return None
    colour = colour.lstrip("#")
    if len(colour) == 3:
        colour = "".join(c * 2 for c in colour)
    return tuple(int(colour[i : i + 2], 16) / 255 for i in (0, 2, 4))


def luminance(c):
    """WCAG 2 relative luminance of an sRGB colour (components in 0..1)."""
    lin = [v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4 for v in c]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(a, b):
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def over(colour, opacity, background):
    return tuple(opacity * c + (1 - opacity) * b for c, b in zip(colour, background))


def node_text_contrasts(svg_bytes):
    """(node id, text, contrast) for every text of every node: its fill (with its opacities, over
    white) against the fill of the node's shape (with its fill-opacity, over white)."""
    root = ET.fromstring(svg_bytes)
    white = (1.0, 1.0, 1.0)
    out = []
    for g in root.iter(SVG + "g"):
        if "node" not in g.get("class", "").split():
            continue
        shapes = [s for tag in ("polygon", "ellipse", "path") for s in g.iter(SVG + tag) if rgb(s.get("fill", "black"))]
        if not shapes:
            continue
        shape = shapes[0]
        background = over(rgb(shape.get("fill")), float(shape.get("fill-opacity", 1)) * float(shape.get("opacity", 1)),
                          white)
        for text in g.iter(SVG + "text"):
            colour = rgb(text.get("fill", "black"))
            alpha = float(text.get("fill-opacity", 1)) * float(text.get("opacity", 1))
            out.append((g.get("id"), "".join(text.itertext()), contrast(over(colour, alpha, background), background)))
    return out


@pytest.mark.parametrize("view", ["ops", "cells"])
@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_every_node_text_in_the_highlight_view_has_at_least_4_5_to_1_contrast(tmp_path, cell, view):
    out = tmp_path / "h.svg"
    args = ["render", "--cell", cell, "--steps", "3", "--grads", "--highlight", "weight_hh_l0", "--view", view]
    assert cli.main([*args, "--out", str(out)]) == 0
    found = node_text_contrasts(out.read_bytes())
    assert len(found) > 20
    low = [(node, text, round(ratio, 2)) for node, text, ratio in found if ratio < 4.5]
    assert low == []


def test_the_contrast_measure_itself():
    assert contrast(rgb("#000000"), rgb("#ffffff")) == pytest.approx(21)
    assert contrast(rgb("#767676"), rgb("#ffffff")) == pytest.approx(4.54, abs=0.01)  # WCAG's grey on white
    assert contrast(over(rgb("#000000"), 0.0, (1, 1, 1)), (1, 1, 1)) == pytest.approx(1)
