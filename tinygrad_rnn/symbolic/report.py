"""Derivations and check tables, printable for people: terminal, Markdown, LaTeX, Jupyter.

A ``Derivation`` is a list of ``Step``s: a sentence of prose and a few
equations. Each equation keeps both forms, LaTeX (for notes and Jupyter) and
plain text (for the REPL and the terminal), so nothing has to be re-derived to
print it. A ``CheckTable`` holds numbers for one quantity computed three ways
(symbolic, autograd, central differences) and the largest disagreement.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp

PRETTY_WIDTH = 100  # wider pretty-printed equations fall back to one-line text


@dataclass
class Tex:
    """A piece of notation SymPy has no object for, e.g. a partial derivative of h_t."""

    latex: str
    text: str


def _latex(x: Any) -> str:
    return x.latex if isinstance(x, Tex) else sp.latex(x)


def _text(x: Any) -> str:
    return x.text if isinstance(x, Tex) else sp.sstr(x)


@dataclass
class Equation:
    """lhs = rhs, where each side is a SymPy expression or a ``Tex``."""

    lhs: Any
    rhs: Any

    def latex(self) -> str:
        return f"{_latex(self.lhs)} &= {_latex(self.rhs)}"

    def text(self) -> str:
        """Pretty (2-D) when both sides are SymPy and it fits the terminal, else one line."""
        if not isinstance(self.rhs, Tex):
            lhs = sp.Symbol(self.lhs.text) if isinstance(self.lhs, Tex) else self.lhs
            art = sp.pretty(sp.Eq(lhs, self.rhs, evaluate=False), use_unicode=True, wrap_line=False)
            if max(len(line) for line in art.splitlines()) <= PRETTY_WIDTH:
                return art
        return f"{_text(self.lhs)} = {_text(self.rhs)}"


@dataclass
class Step:
    """One step of a derivation: a sentence, then its equations."""

    text: str
    equations: list[Equation] = field(default_factory=list)


def _fmt(value: Any) -> str:
    """A number to 12 significant digits; an array as its first entries and shape."""
    array = np.asarray(value, dtype=float)
    if array.ndim == 0:
        return f"{float(array):.12g}"
    head = ", ".join(f"{v:.6g}" for v in array.reshape(-1)[:2])
    more = ", …" if array.size > 2 else ""
    return f"[{head}{more}] {'×'.join(map(str, array.shape))}"


@dataclass
class CheckRow:
    """One quantity computed three ways (values may be arrays)."""

    quantity: str
    symbolic: Any
    autograd: Any
    finite_difference: Any

    @property
    def autograd_error(self) -> float:
        return float(np.max(np.abs(np.asarray(self.symbolic) - np.asarray(self.autograd))))

    @property
    def finite_difference_error(self) -> float:
        return float(np.max(np.abs(np.asarray(self.symbolic) - np.asarray(self.finite_difference))))

    @property
    def error(self) -> float:
        """max |symbolic − autograd| and |symbolic − finite difference| over all entries."""
        return max(self.autograd_error, self.finite_difference_error)


class CheckTable:
    """Symbolic vs autograd vs central differences, one row per quantity."""

    HEADER = ("quantity", "symbolic", "autograd", "finite difference", "max abs error")

    def __init__(self, rows: list[CheckRow], title: str = "check"):
        self.rows = list(rows)
        self.title = title

    @property
    def max_error(self) -> float:
        return max((r.error for r in self.rows), default=0.0)

    def ok(self, tol: float = 1e-8) -> bool:
        """True when every row agrees to within ``tol`` (absolute)."""
        return self.max_error <= tol

    def _cells(self) -> list[tuple[str, ...]]:
        return [
            (r.quantity, _fmt(r.symbolic), _fmt(r.autograd), _fmt(r.finite_difference), f"{r.error:.1e}")
            for r in self.rows
        ]

    def summary(self) -> str:
        auto = max((r.autograd_error for r in self.rows), default=0.0)
        fd = max((r.finite_difference_error for r in self.rows), default=0.0)
        return f"max |symbolic − autograd| = {auto:.1e}; max |symbolic − finite difference| = {fd:.1e}"

    def text(self) -> str:
        cells = [self.HEADER, *self._cells()]
        widths = [max(len(row[c]) for row in cells) for c in range(len(self.HEADER))]
        lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in cells]
        lines.insert(1, "  ".join("-" * w for w in widths))
        return "\n".join([self.title, *lines, self.summary()])

    def markdown(self) -> str:
        lines = ["| " + " | ".join(self.HEADER) + " |", "|" + "---|" * len(self.HEADER)]
        lines += ["| " + " | ".join(f"`{c}`" if k else c for k, c in enumerate(row)) + " |" for row in self._cells()]
        return "\n".join([f"**{self.title}**", "", *lines, "", self.summary()])

    def latex(self) -> str:
        def esc(s: str) -> str:
            return s.replace("_", r"\_").replace("×", r"$\times$").replace("…", r"\dots")

        body = [" & ".join(esc(c) for c in row) + r" \\" for row in self._cells()]
        return "\n".join(
            [
                r"\begin{tabular}{lllll}",
                " & ".join(self.HEADER) + r" \\ \hline",
                *body,
                r"\end{tabular}",
            ]
        )

    def __repr__(self) -> str:
        return self.text()


class Derivation:
    """A titled sequence of steps, optionally followed by check tables.

    ``print(d)`` or the REPL shows it as text; ``d.markdown()`` gives prose and
    ``$$`` blocks ready to paste into notes; ``d.latex()`` gives a LaTeX
    fragment; Jupyter renders ``_repr_latex_``.
    """

    def __init__(self, title: str, steps: list[Step] | None = None):
        self.title = title
        self.steps: list[Step] = list(steps or [])
        self.checks: list[CheckTable] = []

    def add(self, text: str, *equations: Equation) -> Derivation:
        self.steps.append(Step(text, list(equations)))
        return self

    def ok(self, tol: float = 1e-8) -> bool:
        return all(c.ok(tol) for c in self.checks)

    def text(self) -> str:
        out = [self.title, "=" * len(self.title)]
        for step in self.steps:
            out += ["", step.text]
            for eq in step.equations:
                out += ["", *("    " + line for line in eq.text().splitlines())]
        for check in self.checks:
            out += ["", check.text()]
        return "\n".join(out)

    def markdown(self) -> str:
        out = [f"### {self.title}"]
        for step in self.steps:
            out += ["", step.text]
            if step.equations:
                out += ["", "$$", _aligned(step.equations), "$$"]
        for check in self.checks:
            out += ["", check.markdown()]
        return "\n".join(out)

    def latex(self) -> str:
        out = [rf"\subsection*{{{self.title}}}"]
        for step in self.steps:
            out += ["", _prose_to_latex(step.text)]
            if step.equations:
                out += [r"\[", _aligned(step.equations), r"\]"]
        for check in self.checks:
            out += ["", check.latex()]
        return "\n".join(out)

    def _repr_markdown_(self) -> str:
        """Jupyter shows the prose, the equations and the tables (frontends prefer it to LaTeX)."""
        return self.markdown()

    def _repr_latex_(self) -> str:
        lines = [eq.latex() for step in self.steps for eq in step.equations]
        return "$\\displaystyle \\begin{aligned}" + r" \\ ".join(lines) + r"\end{aligned}$"

    def __repr__(self) -> str:
        return self.text()


def _aligned(equations: list[Equation]) -> str:
    if len(equations) == 1:
        return equations[0].latex().replace("&=", "=")
    return "\\begin{aligned}\n" + " \\\\\n".join(eq.latex() for eq in equations) + "\n\\end{aligned}"


def _prose_to_latex(text: str) -> str:
    """Markdown prose to LaTeX prose: `code` becomes \\texttt, **bold** becomes \\textbf."""
    parts = text.split("`")
    for k in range(1, len(parts), 2):
        parts[k] = r"\texttt{" + parts[k].replace("_", r"\_") + "}"
    joined = "".join(parts)
    pieces = joined.split("**")
    for k in range(1, len(pieces), 2):
        pieces[k] = r"\textbf{" + pieces[k] + "}"
    return "".join(pieces)


class Document:
    """Several derivations printed together (what ``tinygrad-rnn derive`` prints)."""

    def __init__(self, parts: list[Derivation]):
        self.parts = list(parts)

    def ok(self, tol: float = 1e-8) -> bool:
        return all(p.ok(tol) for p in self.parts)

    @property
    def checks(self) -> list[CheckTable]:
        return [c for p in self.parts for c in p.checks]

    def text(self) -> str:
        return "\n\n".join(p.text() for p in self.parts)

    def markdown(self) -> str:
        return "\n\n".join(p.markdown() for p in self.parts)

    def latex(self) -> str:
        return "\n\n".join(p.latex() for p in self.parts)

    def _repr_markdown_(self) -> str:
        return self.markdown()

    def _repr_latex_(self) -> str:
        return "\n".join(p._repr_latex_() for p in self.parts)

    def __repr__(self) -> str:
        return self.text()
