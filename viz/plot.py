"""Dependency-free SVG pictures: line plots and heatmaps for the stories.

Training curves, gradient norms and |prod b_j| tables need only two kinds of
picture, so they are drawn here as plain SVG text (no matplotlib). Every
picture is a string; ``save`` writes it. Axes get "nice" ticks (steps of
1, 2 or 5 times a power of ten; decades on a log scale), and labels are
XML-escaped, so user text (a corpus name, a legend) cannot break the file.

    svg = line_plot({"train": (steps, losses), "held-out": (epochs, val)},
                    title="loss", xlabel="step", ylabel="nats/char")
    save(svg, "loss.svg")
    save(heatmap(M, title="|prod b_j|", log=True), "heat.svg")
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np

from tinygrad_rnn.files import write_atomic

# Colour-blind-safe line colours (Okabe & Ito), cycled.
PALETTE = ("#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#000000", "#f0e442")

# Stops of a perceptually ordered colour map (dark purple -> yellow), interpolated linearly.
_MAP_STOPS = np.array(
    [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]], dtype=float
)

Series = Mapping[str, tuple[Sequence[float], Sequence[float]]]


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """About ``count`` round tick values from at or below ``low`` to at or above ``high``.

    Steps are 1, 2 or 5 x 10^k, so the first and last ticks can serve as axis limits.
    """
    if not (math.isfinite(low) and math.isfinite(high)):
        raise ValueError(f"nice_ticks: limits must be finite, got {low} and {high}")
    if high < low:
        low, high = high, low
    if high == low:
        pad = abs(low) * 0.1 or 1.0
        low, high = low - pad, high + pad
    raw = (high - low) / max(count, 1)
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.floor(low / step + 1e-9)
    last = math.ceil(high / step - 1e-9)
    return [round(i * step, 12) for i in range(first, last + 1)]


def log_ticks(low: float, high: float) -> tuple[list[float], list[str]]:
    """Ticks (as log10 values) and labels for a log axis covering 10^low .. 10^high.

    Up to two decades get the round values 1, 2, 5 x 10^k, labelled as plain
    numbers ("2", "50"); wider ranges get decades ("1e-3"), thinned to at most
    about nine.
    """
    if high - low <= 2:
        steps = [math.log10(m) + k for k in range(math.floor(low) - 1, math.ceil(high) + 1) for m in (1, 2, 5)]
        below = max(t for t in steps if t <= low + 1e-12)
        above = min(t for t in steps if t >= high - 1e-12)
        ticks = [t for t in steps if below <= t <= above]
        if len(ticks) == 1:
            ticks = [ticks[0] - math.log10(2), ticks[0], ticks[0] + math.log10(2)]
        return ticks, [_fmt(round(10**t, 12)) for t in ticks]
    lo, hi = math.floor(low), math.ceil(high)
    stride = max(1, math.ceil((hi - lo) / 8))
    decades = list(range(lo, hi + stride, stride))
    return [float(t) for t in decades], [f"1e{t}" for t in decades]


def _fmt(value: float) -> str:
    """Short tick label: 0.001 -> '0.001', 12000 -> '1.2e4', 3.0 -> '3'."""
    if value == 0:
        return "0"
    magnitude = abs(value)
    if magnitude >= 1e4 or magnitude < 1e-3:
        mantissa, exponent = f"{value:.1e}".split("e")
        mantissa = mantissa.rstrip("0").rstrip(".")
        return f"{mantissa}e{int(exponent)}"
    return f"{value:.4g}"


class _Frame:
    """The plotting rectangle and the maps from data to pixel coordinates."""

    def __init__(self, width: int, height: int, left: int, right: int, top: int, bottom: int):
        self.width, self.height = width, height
        self.x0, self.x1 = left, width - right
        self.y0, self.y1 = top, height - bottom

    def map(self, values: np.ndarray, lo: float, hi: float, flip: bool) -> np.ndarray:
        a, b = (self.y1, self.y0) if flip else (self.x0, self.x1)
        span = hi - lo or 1.0
        return a + (np.asarray(values, dtype=float) - lo) / span * (b - a)


def _header(width: int, height: int, title: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="Helvetica, Arial, sans-serif" font-size="12">',
        f"<title>{escape(title)}</title>",
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{width / 2:.1f}" y="20" text-anchor="middle" font-size="15">{escape(title)}</text>',
    ]


def line_plot(
    series: Series,
    title: str = "",
    xlabel: str = "",
    ylabel: str = "",
    logy: bool = False,
    hlines: Mapping[str, float] | None = None,
    width: int = 640,
    height: int = 400,
    markers: bool = False,
    colours: Mapping[str, str] | None = None,
    dashed: Sequence[str] = (),
) -> str:
    """An SVG line plot of named (x, y) series, with axes, ticks and a legend.

    ``colours`` picks a series' colour by name (default: the palette in
    order); the series named in ``dashed`` are drawn dashed (e.g. a "before"
    beside its solid "after" in the same colour).

    ``logy`` puts y on a log10 scale (non-positive values are left out, as
    they have no logarithm). ``hlines`` draws labelled dashed reference lines,
    e.g. ``{"predict the mean": 0.167}``. Non-finite points (a diverged run)
    break the line rather than stretching the axes. ``width`` is the plot's;
    a legend (more than one line) is added to its right.
    """
    if not series:
        raise ValueError("line_plot: give at least one series, e.g. {'loss': (steps, values)}")
    hlines = dict(hlines or {})
    cleaned: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for name, (xs, ys) in series.items():
        x = np.asarray(xs, dtype=float).reshape(-1)
        y = np.asarray(ys, dtype=float).reshape(-1)
        if x.shape != y.shape:
            raise ValueError(f"line_plot: series {name!r} has {x.size} x values but {y.size} y values")
        ok = np.isfinite(x) & np.isfinite(y) & ((y > 0) if logy else True)
        shown_y = np.log10(np.where(ok, y, 1)) if logy else y
        cleaned[name] = (np.where(ok, x, np.nan), np.where(ok, shown_y, np.nan))
    usable = {k: v for k, v in hlines.items() if math.isfinite(v) and (v > 0 or not logy)}
    ref = {k: (math.log10(v) if logy else v) for k, v in usable.items()}
    all_x = np.concatenate([x[np.isfinite(x)] for x, _ in cleaned.values()] or [np.zeros(0)])
    all_y = np.concatenate([y[np.isfinite(y)] for _, y in cleaned.values()] + [np.array(list(ref.values()))])
    if all_x.size == 0 or all_y.size == 0:
        hint = " (log scale needs y > 0)" if logy else ""
        raise ValueError(f"line_plot: no finite points to draw{hint}")
    names = [*cleaned, *ref]
    # the legend gets room for its longest name (~7 px a character) beside the plot, not out of it
    legend_width = 40 + 7 * max(len(n) for n in names) if len(names) > 1 else 0
    width += legend_width
    frame = _Frame(width, height, left=70, right=20 + legend_width, top=36, bottom=50)
    xt = nice_ticks(float(all_x.min()), float(all_x.max()))
    if logy:
        yt, ylabels = log_ticks(float(all_y.min()), float(all_y.max()))
    else:
        yt = nice_ticks(float(all_y.min()), float(all_y.max()))
        ylabels = [_fmt(t) for t in yt]
    ylo, yhi = yt[0], yt[-1]
    xlo, xhi = xt[0], xt[-1]
    out = _header(width, height, title)
    out += _axes(frame, xt, xlo, xhi, yt, ylo, yhi, ylabels, xlabel, ylabel)
    for name, value in ref.items():
        y = frame.map(value, ylo, yhi, flip=True)
        out.append(
            f'<line x1="{frame.x0}" x2="{frame.x1}" y1="{y:.1f}" y2="{y:.1f}" stroke="#777" '
            f'stroke-dasharray="6 4"><title>{escape(name)}: {_fmt(hlines[name])}</title></line>'
        )
    entries = []
    for i, (name, (x, y)) in enumerate(cleaned.items()):
        colour = (colours or {}).get(name, PALETTE[i % len(PALETTE)])
        dash = "5 3" if name in dashed else ""
        px, py = frame.map(x, xlo, xhi, flip=False), frame.map(y, ylo, yhi, flip=True)
        out += _polyline(px, py, colour, dash)
        if markers or np.isfinite(x).sum() == 1:
            out += [
                f'<circle cx="{a:.1f}" cy="{b:.1f}" r="2.5" fill="{colour}"/>'
                for a, b in zip(px, py)
                if math.isfinite(a) and math.isfinite(b)
            ]
        entries.append((name, colour, dash))
    entries += [(name, "#777", "6 4") for name in ref]
    if len(entries) > 1:
        out += _legend(frame, entries)
    out.append("</svg>")
    return "\n".join(out)


def _polyline(px: np.ndarray, py: np.ndarray, colour: str, dash: str = "") -> list[str]:
    """One <polyline> per run of finite points (gaps where a value was missing)."""
    ok = np.isfinite(px) & np.isfinite(py)
    pieces, current = [], []
    for a, b, good in zip(px, py, ok):
        if good:
            current.append(f"{a:.1f},{b:.1f}")
        elif current:
            pieces.append(current)
            current = []
    if current:
        pieces.append(current)
    style = f' stroke-dasharray="{dash}"' if dash else ""
    return [
        f'<polyline points="{" ".join(p)}" fill="none" stroke="{colour}" stroke-width="1.8" '
        f'stroke-linejoin="round"{style}/>'
        for p in pieces
    ]


def _axes(frame, xt, xlo, xhi, yt, ylo, yhi, ylabels, xlabel, ylabel) -> list[str]:
    out = [
        f'<rect x="{frame.x0}" y="{frame.y0}" width="{frame.x1 - frame.x0}" '
        f'height="{frame.y1 - frame.y0}" fill="none" stroke="#333"/>'
    ]
    for value in xt:
        x = frame.map(value, xlo, xhi, flip=False)
        out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{frame.y0}" y2="{frame.y1}" stroke="#eee"/>')
        out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{frame.y1}" y2="{frame.y1 + 5}" stroke="#333"/>')
        out.append(f'<text x="{x:.1f}" y="{frame.y1 + 18}" text-anchor="middle">{_fmt(value)}</text>')
    for value, label in zip(yt, ylabels):
        y = frame.map(value, ylo, yhi, flip=True)
        out.append(f'<line x1="{frame.x0}" x2="{frame.x1}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eee"/>')
        out.append(f'<line x1="{frame.x0 - 5}" x2="{frame.x0}" y1="{y:.1f}" y2="{y:.1f}" stroke="#333"/>')
        out.append(f'<text x="{frame.x0 - 8}" y="{y + 4:.1f}" text-anchor="end">{escape(label)}</text>')
    mid_x, mid_y = (frame.x0 + frame.x1) / 2, (frame.y0 + frame.y1) / 2
    out.append(f'<text x="{mid_x:.1f}" y="{frame.height - 12}" text-anchor="middle">{escape(xlabel)}</text>')
    out.append(
        f'<text x="16" y="{mid_y:.1f}" text-anchor="middle" transform="rotate(-90 16 {mid_y:.1f})">'
        f"{escape(ylabel)}</text>"
    )
    return out


def _legend(frame: _Frame, entries: list[tuple[str, str, str]]) -> list[str]:
    x = frame.x1 + 12
    out = []
    for i, (name, colour, dash) in enumerate(entries):
        y = frame.y0 + 10 + 18 * i
        style = f' stroke-dasharray="{dash}"' if dash else ""
        out.append(
            f'<line x1="{x}" x2="{x + 22}" y1="{y}" y2="{y}" stroke="{colour}" stroke-width="2"{style}/>'
        )
        out.append(f'<text x="{x + 28}" y="{y + 4}">{escape(name)}</text>')
    return out


def colour_map(values: np.ndarray) -> list[str]:
    """Hex colours for values in [0, 1] (0 dark purple, 1 yellow); NaN becomes light grey."""
    v = np.asarray(values, dtype=float).reshape(-1)
    bad = ~np.isfinite(v)
    pos = np.clip(np.where(bad, 0, v), 0, 1) * (len(_MAP_STOPS) - 1)
    i = np.minimum(pos.astype(int), len(_MAP_STOPS) - 2)
    frac = (pos - i)[:, None]
    rgb = np.rint(_MAP_STOPS[i] * (1 - frac) + _MAP_STOPS[i + 1] * frac).astype(int)
    return ["#f4f4f4" if b else f"#{r:02x}{g:02x}{bl:02x}" for (r, g, bl), b in zip(rgb, bad)]


def heatmap(
    matrix: np.ndarray,
    title: str = "",
    xlabel: str = "",
    ylabel: str = "",
    log: bool = False,
    xticks: Sequence[float] | None = None,
    yticks: Sequence[float] | None = None,
    width: int = 560,
    height: int = 480,
    colour_label: str = "",
    extent: tuple[float, float, float, float] | None = None,
    paths: Series | None = None,
) -> str:
    """An SVG heatmap of a 2-D array (row 0 at the top) with a colour bar.

    ``log`` colours by log10 of the value (zeros and NaN cells are drawn grey
    and left out of the scale). ``xticks``/``yticks`` label the columns/rows
    (default: their indices). Hovering a cell shows its value.

    ``extent = (x_first, x_last, y_last, y_first)`` makes the axes numeric: the
    centre of column 0 is at x_first and of the last column at x_last; row 0
    (the top) is at y_first and the last row at y_last. ``paths`` then draws
    named (x, y) polylines in those coordinates over the map (e.g. gradient
    descent on a loss surface), with a marker at each start, a legend inside
    the top of the map, and clipping at the edges: a path that leaves the map
    is cut there, not stretched.
    """
    if paths and extent is None:
        raise ValueError("heatmap: paths= needs extent= (x_first, x_last, y_last, y_first) to place them")
    m = np.asarray(matrix, dtype=float)
    if m.ndim != 2 or m.size == 0:
        raise ValueError(f"heatmap: needs a non-empty 2-D array, got shape {m.shape}")
    rows, cols = m.shape
    shown = np.where(m > 0, m, np.nan) if log else m.copy()
    scaled = np.log10(shown) if log else shown
    finite = scaled[np.isfinite(scaled)]
    if finite.size == 0:
        hint = " (log scale needs values > 0)" if log else ""
        raise ValueError(f"heatmap: no finite values to colour{hint}")
    lo, hi = float(finite.min()), float(finite.max())
    unit = (scaled - lo) / (hi - lo) if hi > lo else np.where(np.isfinite(scaled), 0.5, np.nan)
    frame = _Frame(width, height, left=60, right=100, top=48, bottom=50)
    cw, ch = (frame.x1 - frame.x0) / cols, (frame.y1 - frame.y0) / rows
    colours = colour_map(unit)
    out = _header(width, height, title)
    for k, colour in enumerate(colours):
        r, c = divmod(k, cols)
        label = "NaN" if not np.isfinite(m[r, c]) else f"{m[r, c]:.4g}"
        out.append(
            f'<rect x="{frame.x0 + c * cw:.2f}" y="{frame.y0 + r * ch:.2f}" width="{cw + 0.3:.2f}" '
            f'height="{ch + 0.3:.2f}" fill="{colour}"><title>[{r}, {c}] = {label}</title></rect>'
        )
    out.append(
        f'<rect x="{frame.x0}" y="{frame.y0}" width="{frame.x1 - frame.x0}" '
        f'height="{frame.y1 - frame.y0}" fill="none" stroke="#333"/>'
    )
    if extent is None:
        out += _index_ticks(frame, cols, cw, xticks, horizontal=True)
        out += _index_ticks(frame, rows, ch, yticks, horizontal=False)
    else:
        out += _extent_ticks_and_paths(frame, m.shape, extent, paths or {})
    mid_x, mid_y = (frame.x0 + frame.x1) / 2, (frame.y0 + frame.y1) / 2
    out.append(f'<text x="{mid_x:.1f}" y="{frame.height - 12}" text-anchor="middle">{escape(xlabel)}</text>')
    out.append(
        f'<text x="16" y="{mid_y:.1f}" text-anchor="middle" transform="rotate(-90 16 {mid_y:.1f})">'
        f"{escape(ylabel)}</text>"
    )
    out += _colour_bar(frame, lo, hi, log, colour_label)
    out.append("</svg>")
    return "\n".join(out)


def _extent_ticks_and_paths(frame: _Frame, shape: tuple[int, int], extent, paths: Series) -> list[str]:
    """Numeric ticks for a heatmap with an extent, and the paths drawn over it (clipped to the map)."""
    rows, cols = shape
    x_first, x_last, y_last, y_first = map(float, extent)
    # cell centres sit at the extent's ends, so the map's edges are half a cell further out
    dx = (x_last - x_first) / (cols - 1) if cols > 1 else 1.0
    dy = (y_first - y_last) / (rows - 1) if rows > 1 else 1.0
    xlo, xhi, ylo, yhi = x_first - dx / 2, x_last + dx / 2, y_last - dy / 2, y_first + dy / 2
    out = []
    for value in nice_ticks(xlo, xhi):
        if xlo <= value <= xhi:
            x = frame.map(value, xlo, xhi, flip=False)
            out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{frame.y1}" y2="{frame.y1 + 5}" stroke="#333"/>')
            out.append(f'<text x="{x:.1f}" y="{frame.y1 + 18}" text-anchor="middle">{_fmt(value)}</text>')
    for value in nice_ticks(ylo, yhi):
        if ylo <= value <= yhi:
            y = frame.map(value, ylo, yhi, flip=True)
            out.append(f'<line x1="{frame.x0 - 5}" x2="{frame.x0}" y1="{y:.1f}" y2="{y:.1f}" stroke="#333"/>')
            out.append(f'<text x="{frame.x0 - 8}" y="{y + 4:.1f}" text-anchor="end">{_fmt(value)}</text>')
    if not paths:
        return out
    out.append(f'<clipPath id="map"><rect x="{frame.x0}" y="{frame.y0}" width="{frame.x1 - frame.x0}" '
               f'height="{frame.y1 - frame.y0}"/></clipPath>')
    out.append('<g clip-path="url(#map)">')
    entries = []
    for i, (name, (xs, ys)) in enumerate(paths.items()):
        colour = ("#ffffff", "#ff4040", *PALETTE)[i % (len(PALETTE) + 2)]
        px = frame.map(np.asarray(xs, dtype=float), xlo, xhi, flip=False)
        py = frame.map(np.asarray(ys, dtype=float), ylo, yhi, flip=True)
        out += _polyline(px, py, colour)
        if px.size and math.isfinite(px[0]) and math.isfinite(py[0]):
            out.append(f'<circle cx="{px[0]:.1f}" cy="{py[0]:.1f}" r="4" fill="{colour}" stroke="#000"/>')
        entries.append((name, colour))
    out.append("</g>")
    box_h = 8 + 18 * len(entries)
    box_w = 44 + 7 * max(len(n) for n, _ in entries)
    out.append(f'<rect x="{frame.x0 + 6}" y="{frame.y0 + 6}" width="{box_w}" height="{box_h}" fill="#000" '
               f'fill-opacity="0.55" rx="3"/>')
    for i, (name, colour) in enumerate(entries):
        y = frame.y0 + 19 + 18 * i
        out.append(f'<line x1="{frame.x0 + 12}" x2="{frame.x0 + 34}" y1="{y}" y2="{y}" stroke="{colour}" '
                   f'stroke-width="2.5"/>')
        out.append(f'<text x="{frame.x0 + 40}" y="{y + 4}" fill="#fff">{escape(name)}</text>')
    return out


def _index_ticks(frame, n, size, labels, horizontal) -> list[str]:
    labels = list(labels) if labels is not None else list(range(n))
    if len(labels) != n:
        raise ValueError(f"heatmap: {len(labels)} tick labels for {n} {'columns' if horizontal else 'rows'}")
    stride = max(1, math.ceil(n / 10))
    out = []
    for i in range(0, n, stride):
        centre = (frame.x0 if horizontal else frame.y0) + (i + 0.5) * size
        text = escape(str(labels[i]))
        if horizontal:
            out.append(f'<text x="{centre:.1f}" y="{frame.y1 + 16}" text-anchor="middle">{text}</text>')
        else:
            out.append(f'<text x="{frame.x0 - 6}" y="{centre + 4:.1f}" text-anchor="end">{text}</text>')
    return out


def _colour_bar(frame: _Frame, lo: float, hi: float, log: bool, label: str) -> list[str]:
    x, steps = frame.x1 + 20, 64
    top, bottom = frame.y0, frame.y1
    step_h = (bottom - top) / steps
    colours = colour_map(np.linspace(1, 0, steps))
    out = [
        f'<rect x="{x}" y="{top + i * step_h:.2f}" width="16" height="{step_h + 0.3:.2f}" fill="{c}"/>'
        for i, c in enumerate(colours)
    ]
    out.append(f'<rect x="{x}" y="{top}" width="16" height="{bottom - top}" fill="none" stroke="#333"/>')
    span = hi - lo
    if span <= 0:
        marks = [(lo, _fmt(10**lo) if log else _fmt(lo))]
    else:
        ticks, labels = log_ticks(lo, hi) if log else (nice_ticks(lo, hi, 5), [_fmt(t) for t in nice_ticks(lo, hi, 5)])
        marks = [(t, text) for t, text in zip(ticks, labels) if lo - 1e-12 <= t <= hi + 1e-12]
    for t, text in marks:
        y = bottom - ((t - lo) / span if span > 0 else 0.5) * (bottom - top)
        out.append(f'<line x1="{x + 16}" x2="{x + 20}" y1="{y:.1f}" y2="{y:.1f}" stroke="#333"/>')
        out.append(f'<text x="{x + 23}" y="{y + 4:.1f}">{escape(text)}</text>')
    if label:
        out.append(f'<text x="{x + 8}" y="{top - 8}" text-anchor="middle">{escape(label)}</text>')
    return out


def word_saliency(rows: Sequence[Sequence[str]], values: Sequence[Sequence[float]], notes: Sequence[str] = (),
                  title: str = "", width: int = 900) -> str:
    """Sentences as rows of words, each word's box shaded by its value (darkest = the row's largest).

    ``values[i][j]`` belongs to ``rows[i][j]``; each row is scaled by its own
    maximum, so the shading compares words within a sentence. ``notes`` adds
    a short text at the end of each row (e.g. the predicted label). Hovering
    a word shows its value.
    """
    if len(rows) != len(values) or any(len(r) != len(v) for r, v in zip(rows, values)):
        raise ValueError("word_saliency: give one value per word of every row")
    if notes and len(notes) != len(rows):
        raise ValueError(f"word_saliency: {len(notes)} notes for {len(rows)} rows")
    row_h, top, left = 34, 44, 12
    height = top + row_h * len(rows) + 16
    out = _header(width, height, title)
    for i, (words, v) in enumerate(zip(rows, values)):
        v = np.asarray(v, dtype=float)
        scale = v / v.max() if v.size and v.max() > 0 else np.zeros_like(v)
        x, y = left, top + row_h * i
        for word, share, raw in zip(words, scale, v):
            w = 10 + 7.2 * len(word)
            grey = int(round(255 - 200 * share))
            ink = "#fff" if share > 0.6 else "#000"
            out.append(f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="24" rx="3" '
                       f'fill="rgb({grey},{grey},255)" stroke="#99a"><title>{escape(word)}: {raw:.3g}</title></rect>')
            out.append(f'<text x="{x + w / 2:.1f}" y="{y + 16}" text-anchor="middle" fill="{ink}" '
                       f'font-family="Menlo, Consolas, monospace">{escape(word)}</text>')
            x += w + 4
        if notes:
            out.append(f'<text x="{x + 8:.1f}" y="{y + 16}" fill="#333">{escape(notes[i])}</text>')
    out.append("</svg>")
    return "\n".join(out)


def save(svg: str, path: str | Path) -> Path:
    """Write an SVG string to ``path`` (parent folders are created, the file replaced at once); returns the path."""
    return write_atomic(path, svg)
