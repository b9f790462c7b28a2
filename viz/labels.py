"""Text for the picture: escaping user names, formatting numbers, the colour scale.

Every piece of user text (tensor names, scope names) reaches Graphviz through
``text()``, which makes it safe inside an HTML-like label: the characters
``& < > " '`` become entities, a backslash is doubled (Graphviz reads ``\\\\``
as one backslash inside labels), control characters are shown as ``\\xNN``,
a lone surrogate (half of a UTF-16 pair, which UTF-8 cannot hold) is shown
as U+FFFD, and newlines become line breaks. Graphviz then writes the text
into the SVG with XML escaping of its own, so a name such as ``<script>`` is shown
literally and can never become markup.
"""

from __future__ import annotations

import html
import math
import re

import numpy as np

from tinygrad_rnn.files import printable

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


# Operators drawn as the symbol a student writes; every other op shows its name.
OP_SYMBOLS = {
    "add": "+",
    "sub": "\u2212",
    "mul": "\u2299",  # ⊙, the element-wise product, as the step text writes it
    "div": "\u00f7",
    "neg": "\u2212x",
    "matmul": "@",
    "sigmoid": "\u03c3",
    "transpose": "x\u1d40",
    "getitem": "x[\u00b7]",
}

# A sequential palette, light (small gradient) to dark (large gradient): ColorBrewer YlOrRd-9.
PALETTE = (
    "#ffffcc",
    "#ffeda0",
    "#fed976",
    "#feb24c",
    "#fd8d3c",
    "#fc4e2a",
    "#e31a1c",
    "#bd0026",
    "#800026",
)


def text(value: object, limit: int = 48) -> str:
    """User text made safe for an HTML-like Graphviz label (shown literally)."""
    s = printable(value)
    if len(s) > limit:
        s = s[: limit - 1] + "\u2026"
    s = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", s).replace("\t", " ").replace("\r", "")
    s = html.escape(s, quote=True).replace("\\", "\\\\")
    return "<br/>".join(s.split("\n"))


def dot_string(value: str) -> str:
    """A double-quoted DOT string for an escString attribute such as a tooltip."""
    s = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", printable(value)).replace("\r", "")
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


_SUBSCRIPT = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def subscript(digits: str) -> str:
    """'12' -> '₁₂': a subscript that sits on the text line, so nothing under it is overdrawn."""
    return digits.translate(_SUBSCRIPT)


def number(x: float) -> str:
    """Three significant digits: enough to compare, short enough for a node (and 0, never -0)."""
    return f"{x + 0.0:.3g}"  # adding 0.0 turns -0.0 into 0.0 and changes nothing else


def summary(array: np.ndarray, max_items: int = 4) -> str:
    """The numbers of a tiny array, else its norm and (on a second line) its range."""
    a = np.asarray(array, dtype=float)
    if a.size == 1:
        return number(a.item())
    if a.size <= max_items:
        return "[" + ", ".join(number(v) for v in a.reshape(-1)) + "]"
    if a.size == 0:
        return "[]"
    return f"\u2016\u00b7\u2016={number(float(np.linalg.norm(a)))}\nmin {number(a.min())} max {number(a.max())}"


def summary_of(array: np.ndarray, what: str, max_items: int = 4) -> str:
    """A summary that says whose numbers it shows: 'grad [1, -4]', or for a bigger array
    '‖grad‖=0.754' and (on a second line) 'grad min -0.0101 max 0.0193'."""
    a = np.asarray(array, dtype=float)
    if a.size <= max_items:
        return f"{what} {summary(a, max_items)}"
    return f"\u2016{what}\u2016={number(float(np.linalg.norm(a)))}\n{what} min {number(a.min())} max {number(a.max())}"


class ColourScale:
    """Maps gradient norms to colours on a log scale spanning the norms in the picture.

    Exactly-zero gradients (nothing flows) get no colour; the rest are spread
    over the palette between the smallest and largest log10 norm, so a
    gradient that shrinks by 10x per time step shows as a steady fade.
    """

    def __init__(self, norms: list[float]):
        logs = [math.log10(n) for n in norms if n > 0 and math.isfinite(n)]
        self.low = min(logs) if logs else 0.0
        self.high = max(logs) if logs else 0.0

    def level(self, norm: float) -> int | None:
        if not norm > 0 or not math.isfinite(norm):
            return None
        span = self.high - self.low
        position = (math.log10(norm) - self.low) / span if span > 0 else 1.0
        return min(len(PALETTE) - 1, max(0, int(position * len(PALETTE))))

    def colour(self, norm: float) -> str | None:
        level = self.level(norm)
        return None if level is None else PALETTE[level]

    def font_colour(self, norm: float) -> str:
        level = self.level(norm)
        return "white" if level is not None and level >= 6 else "black"

    def width(self, norm: float) -> float:
        """Edge pen width: 1 for the smallest gradient, 2.5 for the largest."""
        level = self.level(norm)
        return 1.0 if level is None else 1.0 + 1.5 * level / (len(PALETTE) - 1)

    def legend(self) -> str:
        """An HTML-like label: the palette with the norms at both ends."""
        cells = "".join(f'<td bgcolor="{c}" width="14"> </td>' for c in PALETTE)
        return (
            '<<table border="0" cellborder="0" cellspacing="1">'
            f'<tr><td colspan="{len(PALETTE)}"><b>gradient norm (log scale)</b></td></tr>'
            f"<tr>{cells}</tr>"
            f'<tr><td colspan="4" align="left">{number(10**self.low)}</td><td> </td>'
            f'<td colspan="4" align="right">{number(10**self.high)}</td></tr></table>>'
        )


# What a node's status looks like: one meaning everywhere (viz.draw(stepper), the step shell's
# `g` picture, the explorer). Done ops keep the colour of their gradient's norm (PALETTE).
STATUS_STYLE = {
    "current": {"fill": "#1e88e5", "stroke": "#0d47a1", "width": 3.5, "font": "white"},
    "next": {"fill": "#ffffff", "stroke": "#1e88e5", "width": 3.0, "font": "black", "dash": True},
    "done": {"fill": "#fed976", "stroke": "#37474f", "width": 1.2, "font": "black"},
    "pending": {"fill": "#ffffff", "stroke": "#9e9e9e", "width": 1.2, "font": "#757575", "dash": True},
}
STATUS_MEANING = {
    "current": "the step just taken: the node the step text describes",
    "next": "the node the next step will process",
    "done": "processed; coloured by its gradient's norm",
    "pending": "not reached yet",
}


def status_legend() -> str:
    """An HTML-like label: what current, next, done and pending nodes look like and mean."""
    rows = []
    for status, look in STATUS_STYLE.items():
        dash = ' style="dashed"' if look.get("dash") else ""
        rows.append(
            f'<tr><td bgcolor="{look["fill"]}" color="{look["stroke"]}" border="2"{dash} width="18"> </td>'
            f'<td align="left"><b>{status}</b>: {html.escape(STATUS_MEANING[status])}</td></tr>'
        )
    return f'<<table border="0" cellborder="0" cellspacing="2">{"".join(rows)}</table>>'
