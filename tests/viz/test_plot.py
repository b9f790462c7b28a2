"""SVG pictures: well-formed files whose axes, legends and colours say what the data says."""

import math
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from viz import plot

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # raises on malformed XML


def texts(root: ET.Element) -> list[str]:
    return [t.text or "" for t in root.iter(SVG + "text")]


def test_nice_ticks_are_round_and_cover_the_data():
    assert plot.nice_ticks(0, 1) == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    ticks = plot.nice_ticks(3.2, 87)
    assert ticks[0] <= 3.2 and ticks[-1] >= 87
    steps = np.diff(ticks)
    assert np.allclose(steps, steps[0]) and steps[0] in (10, 20, 25, 50)
    assert plot.nice_ticks(5, 5)[0] < 5 < plot.nice_ticks(5, 5)[-1]  # a flat series still gets an axis


def test_line_plot_has_title_labels_legend_and_escapes_user_text():
    x = np.arange(10)
    svg = plot.line_plot({"train <a&b>": (x, x**2), "val": (x, x + 1)}, title="loss & more",
                         xlabel="step", ylabel="nats", hlines={"baseline": 30})
    root = parse(svg)
    words = texts(root)
    assert "loss & more" in words and "step" in words and "nats" in words
    assert "train <a&b>" in words and "val" in words and "baseline" in words
    assert len(list(root.iter(SVG + "polyline"))) == 2


def test_chosen_colours_and_dashes():
    x = np.arange(3)
    root = parse(plot.line_plot({"before": (x, x), "after": (x, x + 1)}, colours={"before": "#123456",
                                "after": "#123456"}, dashed=["before"]))
    lines = list(root.iter(SVG + "polyline"))
    assert [p.get("stroke") for p in lines] == ["#123456", "#123456"]
    assert lines[0].get("stroke-dasharray") and lines[1].get("stroke-dasharray") is None


def test_line_points_stay_inside_the_frame():
    x = np.linspace(0, 97, 50)
    root = parse(plot.line_plot({"a": (x, np.sin(x) * 13)}, width=600, height=400))
    frame = next(r for r in root.iter(SVG + "rect") if r.get("fill") == "none")
    x0, y0 = float(frame.get("x")), float(frame.get("y"))
    x1, y1 = x0 + float(frame.get("width")), y0 + float(frame.get("height"))
    points = [tuple(map(float, p.split(","))) for p in next(root.iter(SVG + "polyline")).get("points").split()]
    assert len(points) == 50
    assert all(x0 - 1e-6 <= px <= x1 + 1e-6 and y0 - 1e-6 <= py <= y1 + 1e-6 for px, py in points)


def test_log_scale_labels_decades_and_drops_nonpositive_points():
    x = np.arange(5)
    y = np.array([1e-3, 1e-2, 0.0, 1.0, 10.0])
    root = parse(plot.line_plot({"g": (x, y)}, logy=True))
    labels = texts(root)
    assert "1e-3" in labels and "1e1" in labels
    lines = list(root.iter(SVG + "polyline"))
    assert [len(p.get("points").split()) for p in lines] == [2, 2]  # the zero breaks the line


def test_diverged_series_breaks_the_line_instead_of_stretching_the_axis():
    root = parse(plot.line_plot({"loss": ([1, 2, 3, 4], [1.0, 0.5, math.inf, math.nan])}))
    assert "inf" not in " ".join(texts(root)).lower()
    assert len(next(root.iter(SVG + "polyline")).get("points").split()) == 2


def test_line_plot_rejects_mismatched_series():
    with pytest.raises(ValueError, match="3 x values but 2 y values"):
        plot.line_plot({"a": ([1, 2, 3], [1, 2])})
    with pytest.raises(ValueError, match="at least one series"):
        plot.line_plot({})


def test_heatmap_colours_each_cell_by_value_and_has_a_colour_bar():
    m = np.array([[1.0, np.nan], [0.5, 0.25]])
    root = parse(plot.heatmap(m, title="t", colour_label="|b|"))
    cells = [r for r in root.iter(SVG + "rect") if r.find(SVG + "title") is not None]
    assert len(cells) == 4
    by_index = {c.find(SVG + "title").text.split(" = ")[0]: c.get("fill") for c in cells}
    assert by_index["[0, 1]"] == "#f4f4f4"  # NaN is grey
    assert by_index["[0, 0]"] == plot.colour_map(np.array([1.0]))[0]  # the largest value is the top colour
    assert by_index["[1, 1]"] == plot.colour_map(np.array([0.0]))[0]  # the smallest is the bottom colour
    assert "|b|" in texts(root)


def test_log_heatmap_scales_by_decades():
    m = np.array([[1e-6, 1e-3, 1.0]])
    root = parse(plot.heatmap(m, log=True))
    fills = [r.get("fill") for r in root.iter(SVG + "rect") if r.find(SVG + "title") is not None]
    assert fills == plot.colour_map(np.array([0.0, 0.5, 1.0]))


def test_log_colour_bar_labels_are_powers_or_round_values():
    labels = texts(parse(plot.heatmap(np.array([[0.03, 0.5, 1.0]]), log=True)))
    assert "0.05" in labels and "0.1" in labels and "0.5" in labels and "1" in labels
    assert not any("1e-0." in t for t in labels)


def test_colour_map_runs_from_dark_to_light():
    dark, light = plot.colour_map(np.array([0.0, 1.0]))
    brightness = [sum(int(c[i : i + 2], 16) for i in (1, 3, 5)) for c in (dark, light)]
    assert brightness[0] < brightness[1]


def test_save_creates_folders(tmp_path):
    path = plot.save(plot.heatmap(np.eye(2)), tmp_path / "a" / "b.svg")
    assert path.read_text().startswith("<svg")


def test_short_log_ranges_get_round_intermediate_ticks():
    ticks, labels = plot.log_ticks(math.log10(4.4), math.log10(17))
    assert labels == ["2", "5", "10", "20"]
    assert 10 ** ticks[0] <= 4.4 and 10 ** ticks[-1] >= 17
    root = parse(plot.line_plot({"ppl": ([1, 2, 3], [17.0, 6.0, 4.4])}, logy=True))
    assert {"2", "5", "10", "20"} <= set(texts(root))
