"""Derivations and check tables, printable for people: terminal, Markdown, LaTeX, HTML, Jupyter.

A ``Derivation`` is a list of ``Step``s: a sentence of prose and a few
equations. Each equation keeps both forms, LaTeX (for notes and Jupyter) and
plain text (for the REPL and the terminal), so nothing has to be re-derived to
print it. A ``CheckTable`` holds numbers for one quantity computed three ways
(symbolic, autograd, central differences) and judges the two comparisons
separately: symbolic vs autograd must agree to rounding (``AUTOGRAD_RTOL``),
symbolic vs finite differences to what central differences can resolve
(``FD_RTOL``), both relative to the size of the quantity.

One notation per screen. Prose writes its mathematics as inline TeX between
dollar signs (``$h_{t-1}$``, ``$\\partial f/\\partial w_h$``). Markdown and LaTeX
keep it; the terminal shows it the way its equations are printed: subscripts
as ``h_t``, ``h_{t-1}`` and ``z_k`` (never ``z[k]`` or ``zₖ``), ∂ for partials,
and no Markdown markup (``**bold**``, backticks) at all. HTML (the tour's
``derivation.html``, Jupyter's ``_repr_html_``) typesets every formula as
presentation MathML (see ``mathml``): the browser renders it, nothing is fetched.

Sums print in the order a reader writes them: positive terms first, so
``t - i`` and ``t - i - 1``, never SymPy's sorted ``-i + t``.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp
from sympy.printing.latex import LatexPrinter
from sympy.printing.pretty.pretty import PrettyPrinter
from sympy.printing.pretty.stringpict import prettyForm, stringPict
from sympy.printing.str import StrPrinter

from .mathml import tex_to_mathml

PRETTY_WIDTH = 100  # wider pretty-printed equations fall back to one-line text
AUTOGRAD_RTOL = 1e-10  # symbolic vs autograd: the same arithmetic up to rounding
FD_RTOL = 1e-6  # symbolic vs Richardson-extrapolated central differences (truncation + rounding)
LATEX_LINE = 80  # a sum whose one-line text is wider breaks across lines in LaTeX and HTML (~ a page's width)


def reader_terms(expr: sp.Expr) -> list[sp.Expr]:
    """A sum's terms in the order a reader writes them: positive terms first, then the subtracted
    ones, each group in SymPy's order. ``t - i - 1``, ``1 - h_t^2``, ``k - 1`` (SymPy: ``-i + t - 1``)."""
    terms = expr.as_ordered_terms()
    return sorted(terms, key=lambda term: bool(term.could_extract_minus_sign()))


class WrittenSum(sp.Add):
    """A sum shown with its terms in the order given (``written_sum``), e.g. ``w_ir x_t + w_hr h_{t-1} + b_r``."""

    def as_ordered_terms(self, order: Any = None, data: bool = False) -> Any:
        return list(self.args)


class WrittenProduct(sp.Mul):
    """A product shown with its factors in the order given (``written_product``), e.g. ``w_hr h_{t-1}``."""

    def as_ordered_factors(self, order: Any = None) -> list[sp.Expr]:
        return list(self.args)


def written_sum(*terms: Any) -> sp.Expr:
    """An unevaluated sum that prints its terms as the notes write them (subtracted terms still last)."""
    return WrittenSum(*terms, evaluate=False)


def written_product(*factors: Any) -> sp.Expr:
    """An unevaluated product that prints its factors in the order given (weight before state)."""
    return WrittenProduct(*factors, evaluate=False)


class _ReaderOrder:
    """Mixin for SymPy printers: every sum in ``reader_terms`` order."""

    def _as_ordered_terms(self, expr: sp.Expr, order: str | None = None) -> list[sp.Expr]:
        return reader_terms(expr) if isinstance(expr, sp.Add) else list(expr.as_ordered_terms())


class _LatexPrinter(_ReaderOrder, LatexPrinter):
    """SymPy's LaTeX with sums in reader order."""


def latex(expr: Any) -> str:
    """LaTeX of a SymPy object, sums in reader order (``t - i``)."""
    return _LatexPrinter().doprint(expr)


def _subscript(index: Any) -> str:
    """``k`` -> ``_k``, ``k - 1`` -> ``_{k-1}``: the terminal's subscript notation."""
    text = sp.sstr(index).replace(" ", "")
    return f"_{text}" if re.fullmatch(r"[A-Za-z0-9]", text) else f"_{{{text}}}"


class _TextPrinter(_ReaderOrder, PrettyPrinter):
    """SymPy's 2-D pretty printer, with indexed names written as the prose writes them.

    ``z[k - 1]`` prints as ``z_{k-1}`` and the symbol ``w_h`` as ``w_h`` (not ``wₕ``),
    so one screen uses one notation.
    """

    def _print_Indexed(self, expr: sp.Indexed) -> prettyForm:
        return prettyForm(str(expr.base) + "".join(_subscript(i) for i in expr.indices))

    def _print_Symbol(self, expr: sp.Symbol, bold_name: bool = False) -> prettyForm:
        return prettyForm(expr.name)


class _LineText(_ReaderOrder, StrPrinter):
    """One-line text with the same subscript notation (when the 2-D form is too wide)."""

    printmethod = "_line_text"  # not Indexed's own _sympystr, which prints z[k]

    def _print_Indexed(self, expr: sp.Indexed) -> str:
        return str(expr.base) + "".join(_subscript(i) for i in expr.indices)


def pretty(expr: Any) -> str:
    """The terminal form of a SymPy object: 2-D art in the notation of the prose."""
    return _TextPrinter({"use_unicode": True, "wrap_line": False}).doprint(expr)


# inline TeX -> terminal text, for the small vocabulary the derivations' prose uses
_TEX_WORDS = {
    r"\tanh": "tanh", r"\sigma": "σ", r"\lambda": "λ", r"\rho": "ρ",
    r"\approx": "≈", r"\le": "≤", r"\ge": "≥", r"\ne": "≠", r"\prod": "∏", r"\sum": "Σ",
    r"\cdot": "·", r"\odot": "⊙", r"\dots": "…", r"\cdots": "…", r"\ldots": "…",
    r"\times": "×", r"\to": "→", r"\infty": "∞", r"\top": "ᵀ", r"\in": "∈", r"\pm": "±",
    r"\max": "max", r"\min": "min", r"\log": "log", r"\quad": "  ", r"\ll": "≪", r"\gg": "≫",
    r"\Lambda": "Λ", r"\mapsto": "↦", r"\sqrt": "√", r"\lvert": "|", r"\rvert": "|",
    r"\varphi": "φ", r"\psi": "ψ", r"\lVert": "‖", r"\rVert": "‖", r"\mathbb": "", r"\Big": "", r"\big": "",
    r"\theta": "θ", r"\ell": "ℓ", r"\alpha": "α", r"\beta": "β", r"\delta": "δ", r"\eta": "η", r"\mu": "μ",
    r"\epsilon": "ε", r"\varepsilon": "ε", r"\Sigma": "Σ", r"\nabla": "∇",
}  # fmt: skip
_SUBSCRIPT_DIGITS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
_SUPERSCRIPT_DIGITS = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def _fraction(match: re.Match) -> str:
    """\\frac{a}{b} as a/b, with parentheses around a compound numerator or denominator."""
    top, bottom = (part if re.fullmatch(r"[\w√∂.]+", part) else f"({part})" for part in match.groups())
    return f"{top}/{bottom}"


def tex_to_text(text: str) -> str:
    """Prose with ``$...$`` inline TeX, as the terminal shows it (see the module docstring)."""

    def math(match: re.Match) -> str:
        m = re.sub(r"\\partial\s*", "∂", match.group(1).replace("^\\top", "ᵀ"))
        m = re.sub(r"\\sqrt\{([^{}]*)\}", lambda r: "√" + (r[1] if r[1].isalnum() else f"({r[1]})"), m)
        while True:  # innermost fractions first, so nested ones unwrap too
            m, count = re.subn(r"\\frac\{([^{}]*)\}\{([^{}]*)\}", _fraction, m)
            if not count:
                break
        m = re.sub(r"\\(?:operatorname|mathrm|text)\{([^{}]*)\}", r"\1", m)
        m = m.replace(r"\|", "‖").replace(r"\,", " ").replace(r"\left", "").replace(r"\right", "")
        m = re.sub(r"\\([A-Za-z]+)( ?)", word, m)  # ∂ was replaced first: ∂f, not ∂ f
        m = re.sub(r"_\{([A-Za-z0-9]+)\}", r"_\1", m)  # W_{hh} -> W_hh, as SymPy's symbol prints
        m = re.sub(r"(^|[(\[])- ", r"\1-", m)  # a leading minus hugs its term: (-√349/20 - 7/20)
        m = re.sub(r"\^\{?([0-9]+)\}?", lambda d: d[1].translate(_SUPERSCRIPT_DIGITS), m)  # ρ^{20} -> ρ²⁰
        # a concrete step number is a Unicode subscript, as everywhere in the project: ℓ_1 -> ℓ₁
        return re.sub(r"(?<=[^\W\d_]|\W)_([0-9]+)\b", lambda d: d[1].translate(_SUBSCRIPT_DIGITS), m)

    def word(match: re.Match) -> str:
        return _TEX_WORDS.get("\\" + match.group(1), match.group(1)) + match.group(2)

    return re.sub(r"\$([^$]+)\$", math, text)


def plain_text(text: str) -> str:
    """Prose for the terminal: inline TeX as Unicode (``tex_to_text``), Markdown markup removed
    (``**bold**``, ``*emphasis*`` and backticks print as their words)."""
    parts = tex_to_text(text).split("`")
    for k in range(0, len(parts), 2):  # outside code spans
        parts[k] = re.sub(r"(?<![\w*])\*([^*\s][^*]*?)\*(?![\w*])", r"\1", parts[k].replace("**", ""))
    return "".join(parts)


def prose_html(text: str) -> str:
    """Prose as HTML: ``$...$`` typeset as MathML, **bold**, *emphasis* and `code` as their tags."""
    parts = text.split("$")
    for k, part in enumerate(parts):
        if k % 2:
            parts[k] = tex_to_mathml(part)
            continue
        code = html.escape(part, quote=False).split("`")
        for n in range(len(code)):
            if n % 2:
                code[n] = f"<code>{code[n]}</code>"
            else:
                piece = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", code[n])
                code[n] = re.sub(r"(?<![\w*])\*([^*\s][^*]*?)\*(?![\w*])", r"<em>\1</em>", piece)
        parts[k] = "".join(code)
    return "".join(parts)


def _display_html(tex: str) -> str:
    """A displayed formula: block MathML in a box that scrolls sideways rather than cut anything off."""
    return f'<div class="tgr-eq" style="overflow-x: auto; padding: 0.2em 0">{tex_to_mathml(tex, display=True)}</div>'


# outside math, LaTeX needs these (everything else in prose is ASCII)
_LATEX_PROSE = {"…": r"\dots{}", "−": "--", "–": "--", "—": "---", "×": r"$\times$", "≈": r"$\approx$",
                "&": r"\&", "%": r"\%", "#": r"\#", "_": r"\_", "^": r"\^{}", "~": r"\~{}",
                "∂": r"$\partial$", "θ": r"$\theta$", "ℓ": r"$\ell$", "σ": r"$\sigma$", "ρ": r"$\rho$",
                "⊙": r"$\odot$", "≤": r"$\le$", "Σ": r"$\Sigma$", "ᵀ": r"$^\top$"}  # fmt: skip


@dataclass
class Tex:
    """A piece of notation SymPy has no object for, e.g. a partial derivative of h_t."""

    latex: str
    text: str


def _latex(x: Any) -> str:
    return x.latex if isinstance(x, Tex) else latex(x)


def _text(x: Any) -> str:
    return x.text if isinstance(x, Tex) else _LineText().doprint(x)


@dataclass
class Equation:
    """lhs = rhs, where each side is a SymPy expression or a ``Tex``.

    ``ordered=True`` prints a sum's terms in the order they were built (e.g. the
    additive term first), not SymPy's sorted order; each term itself prints as usual."""

    lhs: Any
    rhs: Any
    ordered: bool = False

    def _signed_terms(self) -> list[tuple[str, sp.Expr]]:
        """[(sign, term)] with the first sign "" (or "-"), so a sum prints as "t1 + t2 - t3"."""
        terms = self.rhs.args if self.ordered else reader_terms(self.rhs)
        out = []
        for term in terms:
            negative = term.could_extract_minus_sign()
            out.append(("-" if negative else "+", -term if negative else term))
        return out

    def latex(self) -> str:
        """``lhs &= rhs`` for an ``aligned`` block; a sum wider than ``LATEX_LINE`` (as one-line text)
        continues on further rows, ``&\\quad + term``, so it fits the page."""
        return " \\\\\n".join(self.latex_rows())

    def latex_rows(self) -> list[str]:
        """The rows of ``latex()``: the first ``lhs &= ...``, any further ones ``&\\quad + ...``."""
        lhs = _latex(self.lhs)
        if not isinstance(self.rhs, sp.Add) or (not self.ordered and len(_text(self.rhs)) <= LATEX_LINE):
            return [f"{lhs} &= {_latex(self.rhs)}"]
        rows: list[list[str]] = [[]]
        width = 0
        for n, (sign, term) in enumerate(self._signed_terms()):
            size = len(_text(term)) + 3
            if rows[-1] and width + size > LATEX_LINE:
                rows.append([])
                width = 0
            lead = "" if n == 0 and sign == "+" else ("-" if n == 0 else f"{sign} ")
            rows[-1].append(lead + latex(term))
            width += size
        return [f"{lhs} &= " + " ".join(rows[0])] + [r"&\quad " + " ".join(row) for row in rows[1:]]

    def text(self) -> str:
        """Pretty (2-D) when both sides are SymPy and it fits the terminal; a wide sum gets
        one term per line; anything else one line."""
        if not isinstance(self.rhs, Tex):
            lhs = sp.Symbol(self.lhs.text) if isinstance(self.lhs, Tex) else self.lhs
            if self.ordered and isinstance(self.rhs, sp.Add):
                art = self._sum_art(lhs, one_per_line=False)
            else:
                art = pretty(sp.Eq(lhs, self.rhs, evaluate=False))
            if _width(art) <= PRETTY_WIDTH:
                return art
            if isinstance(self.rhs, sp.Add):
                return self._sum_art(lhs, one_per_line=True)
        return f"{_text(self.lhs)} = {_text(self.rhs)}"

    def _sum_art(self, lhs: Any, one_per_line: bool) -> str:
        """``lhs = t1 + t2 - t3`` in 2-D, on one line or with each ``+ term`` on a line of its own."""
        printer = _TextPrinter({"use_unicode": True, "wrap_line": False})
        head = printer._print(lhs)
        lead = " " * (head.width() + 1)
        rows: list[stringPict] = []
        line: list[Any] = [head, " = "]
        for n, (sign, term) in enumerate(self._signed_terms()):
            if n and one_per_line:
                rows.append(prettyForm(*stringPict.next(*line)))
                line = [lead, f"{sign} "]
            elif n or sign == "-":
                line.append(f" {sign} " if n else "-")
            line.append(printer._print(term))
        rows.append(prettyForm(*stringPict.next(*line)))
        return "\n".join(row.render(wrap_line=False) for row in rows)


def _width(art: str) -> int:
    return max(len(line) for line in art.splitlines())


class Table:
    """A small table of numbers or words for people (a header, rows of cells as strings).

    Cells may hold inline ``$...$`` TeX like prose does; each screen converts it."""

    def __init__(self, header: tuple[str, ...], rows: list[tuple[str, ...]]):
        self.header = tuple(header)
        self.rows = [tuple(r) for r in rows]

    def text(self) -> str:
        cells = [tuple(plain_text(c) for c in row) for row in (self.header, *self.rows)]
        widths = [max(len(row[c]) for row in cells) for c in range(len(self.header))]
        lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in cells]
        lines.insert(1, "  ".join("-" * w for w in widths))
        return "\n".join(lines)

    def markdown(self) -> str:
        lines = ["| " + " | ".join(self.header) + " |", "|" + "---|" * len(self.header)]
        return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in self.rows])

    def html(self) -> str:
        """An HTML table; ``$...$`` in a cell is typeset."""
        return _html_table(self.header, self.rows, prose_html)

    def latex(self) -> str:
        body = [" & ".join(_escape_prose(c) for c in row) + r" \\" for row in self.rows]
        return "\n".join(
            [
                r"\begin{tabular}{" + "l" * len(self.header) + "}",
                " & ".join(_escape_prose(c) for c in self.header) + r" \\ \hline",
                *body,
                r"\end{tabular}",
            ]
        )


@dataclass
class Step:
    """One step of a derivation: a sentence, then its equations (and perhaps a table)."""

    text: str
    equations: list[Equation] = field(default_factory=list)
    table: Table | None = None


def _fmt(value: Any) -> str:
    """A number to 12 significant digits; an array as its first entries and shape."""
    array = np.asarray(value, dtype=float)
    if array.ndim == 0:
        return f"{float(array):.12g}"
    head = ", ".join(f"{v:.6g}" for v in array.reshape(-1)[:2])
    more = ", …" if array.size > 2 else ""
    return f"[{head}{more}] {'×'.join(map(str, array.shape))}"


def _scale(value: Any) -> float:
    """The size a relative tolerance is measured against: max(1, max |entry|)."""
    return max(1.0, float(np.max(np.abs(np.asarray(value, dtype=float)))))


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

    @property
    def scale(self) -> float:
        return _scale(self.symbolic)

    def failures(
        self,
        autograd_rtol: float | None = None,
        fd_rtol: float | None = None,
        labels: tuple[str, str] = ("symbolic", "autograd"),
    ) -> list[str]:
        """Which comparisons exceed their tolerance (relative to max(1, |symbolic|)), in words.

        A tolerance left as None is the module's ``AUTOGRAD_RTOL`` / ``FD_RTOL`` at call time."""
        autograd_rtol = AUTOGRAD_RTOL if autograd_rtol is None else autograd_rtol
        fd_rtol = FD_RTOL if fd_rtol is None else fd_rtol
        out = []
        for what, error, rtol in (
            (f"{labels[0]} vs {labels[1]}", self.autograd_error, autograd_rtol),
            (f"{labels[0]} vs finite differences", self.finite_difference_error, fd_rtol),
        ):
            if not error <= rtol * self.scale:  # also catches NaN
                out.append(f"{what}: {self.quantity} differs by {error:.1e}, over {rtol:g} × {self.scale:.3g}")
        return out


class CheckTable:
    """Symbolic vs autograd vs central differences, one row per quantity.

    The two comparisons are judged apart. Symbolic and autograd do the same
    arithmetic in a different order, so they must agree to rounding:
    ``AUTOGRAD_RTOL`` × max(1, |value|). Central differences (Richardson
    extrapolated) carry truncation and rounding errors that grow with the
    function's curvature and size, so they get ``FD_RTOL``, relative likewise.
    """

    def __init__(self, rows: list[CheckRow], title: str = "check", labels: tuple[str, str] = ("symbolic", "autograd")):
        """``labels`` name the first two columns when they are not "symbolic" and "autograd"
        (e.g. RTRL against the engine's backward); the third is always finite differences."""
        self.rows = list(rows)
        self.title = title
        self.labels = tuple(labels)
        self.HEADER = ("quantity", *self.labels, "finite difference", "max abs error")

    @property
    def max_error(self) -> float:
        return max((r.error for r in self.rows), default=0.0)

    def failures(self, autograd_rtol: float | None = None, fd_rtol: float | None = None) -> list[str]:
        """Every comparison over its tolerance, as "<title>: <comparison>: <quantity> differs by ..."."""
        return [f"{self.title}: {f}" for r in self.rows for f in r.failures(autograd_rtol, fd_rtol, self.labels)]

    def ok(self, autograd_rtol: float | None = None, fd_rtol: float | None = None) -> bool:
        """True when both comparisons of every row are within their (relative) tolerances."""
        return not self.failures(autograd_rtol, fd_rtol)

    def _cells(self) -> list[tuple[str, ...]]:
        return [
            (r.quantity, _fmt(r.symbolic), _fmt(r.autograd), _fmt(r.finite_difference), f"{r.error:.1e}")
            for r in self.rows
        ]

    def summary(self) -> str:
        auto = max((r.autograd_error for r in self.rows), default=0.0)
        fd = max((r.finite_difference_error for r in self.rows), default=0.0)
        first, second = self.labels
        return f"max |{first} − {second}| = {auto:.1e}; max |{first} − finite difference| = {fd:.1e}"

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

    def html(self) -> str:
        """Title, an HTML table of the values, and the summary line."""
        table = _html_table(self.HEADER, self._cells(), lambda c: html.escape(c, quote=False))
        title = f"<p><strong>{html.escape(self.title)}</strong></p>"
        return f'{title}{table}<p>{html.escape(self.summary())}</p>'

    def latex(self) -> str:
        def esc(s: str) -> str:
            return _escape_prose(s).replace("|", r"$|$")

        body = [" & ".join(esc(c) for c in row) + r" \\" for row in self._cells()]
        value = r"p{0.19\linewidth}"  # the three value columns wrap: arrays print as "[a, b, …] 3×3"
        return "\n".join(
            [
                rf"\par\medskip\noindent\textbf{{{esc(self.title)}}}\par\smallskip",
                r"{\footnotesize\noindent",
                rf"\begin{{tabular}}{{@{{}}p{{0.16\linewidth}}{value * 3}l@{{}}}}",
                " & ".join(esc(c) for c in self.HEADER) + r" \\ \hline",
                *body,
                r"\end{tabular}}",
                "",
                esc(self.summary()),
            ]
        )

    def _repr_html_(self) -> str:
        return self.html()

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

    def add(self, text: str, *equations: Equation, table: Table | None = None) -> Derivation:
        self.steps.append(Step(text, list(equations), table))
        return self

    def ok(self, autograd_rtol: float | None = None, fd_rtol: float | None = None) -> bool:
        return all(c.ok(autograd_rtol, fd_rtol) for c in self.checks)

    def text(self) -> str:
        title = plain_text(self.title)
        out = [title, "=" * len(title)]
        for step in self.steps:
            out += ["", plain_text(step.text)]
            for eq in step.equations:
                out += ["", *("    " + line for line in eq.text().splitlines())]
            if step.table is not None:
                out += ["", *("    " + line for line in step.table.text().splitlines())]
        for check in self.checks:
            out += ["", check.text()]
        return "\n".join(out)

    def markdown(self) -> str:
        out = [f"### {self.title}"]
        for step in self.steps:
            out += ["", step.text]
            if step.equations:
                out += ["", "$$", _aligned(step.equations), "$$"]
            if step.table is not None:
                out += ["", step.table.markdown()]
        for check in self.checks:
            out += ["", check.markdown()]
        return "\n".join(out)

    def latex(self) -> str:
        out = [rf"\subsection*{{{_prose_to_latex(self.title)}}}"]
        for step in self.steps:
            out += ["", _prose_to_latex(step.text)]
            if step.equations:
                out += [r"\[", _aligned(step.equations), r"\]"]
            if step.table is not None:
                out += ["", step.table.latex()]
        for check in self.checks:
            out += ["", check.latex()]
        return "\n".join(out)

    def html(self) -> str:
        """A ``<section>``: the title as a heading, prose as paragraphs, equations typeset as MathML
        (several of a step aligned at "="), tables as HTML tables. No script, nothing fetched."""
        out = [f'<section class="tgr-derivation"><h3>{prose_html(self.title)}</h3>']
        for step in self.steps:
            out.append(f"<p>{prose_html(step.text)}</p>")
            if step.equations:
                out.append(_display_html(_aligned(step.equations)))
            if step.table is not None:
                out.append(step.table.html())
        out += [check.html() for check in self.checks]
        return "\n".join([*out, "</section>"])

    def _repr_html_(self) -> str:
        """Jupyter (and any HTML front end) shows the derivation typeset."""
        return self.html()

    def _repr_markdown_(self) -> str:
        """Jupyter shows the prose, the equations and the tables (frontends prefer it to LaTeX)."""
        return self.markdown()

    def _repr_latex_(self) -> str:
        lines = [eq.latex() for step in self.steps for eq in step.equations]
        return "$\\displaystyle \\begin{aligned}" + r" \\ ".join(lines) + r"\end{aligned}$"

    def __repr__(self) -> str:
        return self.text()


def _aligned(equations: list[Equation]) -> str:
    rows = [row for eq in equations for row in eq.latex_rows()]
    if len(rows) == 1:
        return rows[0].replace("&=", "=")
    return "\\begin{aligned}\n" + " \\\\\n".join(rows) + "\n\\end{aligned}"


_TABLE_STYLE = "border-collapse: collapse; margin: 0.5em 0"
_CELL_STYLE = "border-bottom: 1px solid #ddd; padding: 0.2em 0.6em; text-align: left; vertical-align: top"


def _html_table(header: tuple[str, ...], rows: list[tuple[str, ...]], cell: Any) -> str:
    """A plain HTML table; ``cell`` turns one cell's text into HTML."""
    head = "".join(f'<th style="{_CELL_STYLE}">{cell(c)}</th>' for c in header)
    body = "".join("<tr>" + "".join(f'<td style="{_CELL_STYLE}">{cell(c)}</td>' for c in row) + "</tr>"
                   for row in rows)  # fmt: skip
    return f'<table style="{_TABLE_STYLE}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _escape_prose(text: str) -> str:
    """Text outside math, made safe for LaTeX (``$...$`` spans are kept as they are)."""
    parts = text.split("$")
    for k in range(0, len(parts), 2):
        parts[k] = "".join(_LATEX_PROSE.get(ch, ch) for ch in parts[k])
    return "$".join(parts)


def _prose_to_latex(text: str) -> str:
    """Markdown prose to LaTeX: `code` becomes \\texttt, **bold** becomes \\textbf, $math$ stays."""
    parts = text.split("`")
    for k in range(len(parts)):
        parts[k] = r"\texttt{" + _escape_prose(parts[k].replace("$", "")) + "}" if k % 2 else _escape_prose(parts[k])
    pieces = "".join(parts).split("**")
    for k in range(1, len(pieces), 2):
        pieces[k] = r"\textbf{" + pieces[k] + "}"
    return _emphasis("".join(pieces))


def _emphasis(text: str) -> str:
    """*word* (Markdown emphasis) outside math becomes \\emph{word}."""
    parts = text.split("$")
    for k in range(0, len(parts), 2):
        parts[k] = re.sub(r"(?<![\w*])\*([^*\s][^*]*?)\*(?![\w*])", r"\\emph{\1}", parts[k])
    return "$".join(parts)


PAGE_STYLE = (
    "body { font-family: Georgia, 'Times New Roman', serif; max-width: 50em; margin: 2em auto; padding: 0 1em; "
    "line-height: 1.5; color: #222 } "
    "h1, h3 { font-family: system-ui, sans-serif } h3 { margin-top: 2em; border-bottom: 1px solid #ccc } "
    "math { font-size: 1.1em } code { font-size: 0.9em; background: #f4f4f4; padding: 0 0.2em } "
    "table { font-size: 0.9em; font-variant-numeric: tabular-nums }"
)


class Document:
    """Several derivations printed together (what ``tinygrad-rnn derive`` prints)."""

    def __init__(self, parts: list[Derivation]):
        self.parts = list(parts)

    def ok(self, autograd_rtol: float | None = None, fd_rtol: float | None = None) -> bool:
        return all(p.ok(autograd_rtol, fd_rtol) for p in self.parts)

    def failures(self, autograd_rtol: float | None = None, fd_rtol: float | None = None) -> list[str]:
        """Every comparison of every check table that exceeds its tolerance, in words."""
        return [f for c in self.checks for f in c.failures(autograd_rtol, fd_rtol)]

    def latex_document(self) -> str:
        """A complete LaTeX file (article + amsmath) around ``latex()``: pdflatex compiles it."""
        return "\n".join(
            [
                r"\documentclass{article}",
                r"\usepackage{amsmath,amssymb}",
                r"\usepackage[margin=2cm]{geometry}",
                r"\allowdisplaybreaks",
                r"\sloppy",  # long inline formulas: wider spaces rather than a line sticking out
                r"\begin{document}",
                self.latex(),
                r"\end{document}",
                "",
            ]
        )

    @property
    def checks(self) -> list[CheckTable]:
        return [c for p in self.parts for c in p.checks]

    def text(self) -> str:
        return "\n\n".join(p.text() for p in self.parts)

    def markdown(self) -> str:
        return "\n\n".join(p.markdown() for p in self.parts)

    def latex(self) -> str:
        return "\n\n".join(p.latex() for p in self.parts)

    def html(self) -> str:
        """Every derivation as a typeset HTML section (see ``Derivation.html``)."""
        return "\n".join(p.html() for p in self.parts)

    def html_page(self, title: str, intro: str = "") -> str:
        """A whole HTML page around ``html()`` (what the tour writes as derivation.html).
        ``intro`` is HTML put before the derivations."""
        return "\n".join(
            [
                "<!doctype html>",
                '<html lang="en"><head><meta charset="utf-8">',
                '<meta name="viewport" content="width=device-width, initial-scale=1">',
                f"<title>{html.escape(title)}</title>",
                f"<style>{PAGE_STYLE}</style>",
                "</head><body>",
                f"<h1>{html.escape(title)}</h1>",
                intro,
                self.html(),
                "</body></html>",
                "",
            ]
        )

    def _repr_html_(self) -> str:
        return self.html()

    def _repr_markdown_(self) -> str:
        return self.markdown()

    def _repr_latex_(self) -> str:
        return "\n".join(p._repr_latex_() for p in self.parts)

    def __repr__(self) -> str:
        return self.text()
