"""TeX to presentation MathML: the derivations typeset in any browser, with no network.

Every equation of a derivation already exists as LaTeX: SymPy prints its
expressions that way, the hand-written pieces (``Tex``) and the prose's
``$...$`` spans are written that way. So one small converter turns all of it
into presentation MathML, which Chromium, Firefox and Safari render natively
(MathML Core): no JavaScript, no fonts to ship, nothing fetched.

It understands the LaTeX the derivations use (fractions, sums and products with
limits, sub- and superscripts, ``\\left( \\right)``, Greek letters, ``\\partial``,
``\\operatorname``, matrices and ``aligned``) and refuses anything else with an
error naming the command, so an equation can never silently lose a symbol.

    >>> tex_to_mathml(r"z_k = a_k + b_k z_{k-1}")
    '<math><mrow><msub><mi>z</mi><mi>k</mi></msub><mo>=</mo>...'
"""

from __future__ import annotations

import html
import re

_GREEK = {
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ϵ", "varepsilon": "ε", "zeta": "ζ",
    "eta": "η", "theta": "θ", "vartheta": "ϑ", "iota": "ι", "kappa": "κ", "lambda": "λ", "mu": "μ", "nu": "ν",
    "xi": "ξ", "pi": "π", "rho": "ρ", "sigma": "σ", "tau": "τ", "upsilon": "υ", "phi": "ϕ", "varphi": "φ",
    "chi": "χ", "psi": "ψ", "omega": "ω", "Gamma": "Γ", "Delta": "Δ", "Theta": "Θ", "Lambda": "Λ", "Xi": "Ξ",
    "Pi": "Π", "Sigma": "Σ", "Phi": "Φ", "Psi": "Ψ", "Omega": "Ω", "partial": "∂", "ell": "ℓ", "infty": "∞",
    "nabla": "∇",
}  # fmt: skip
_OPERATORS = {
    "cdot": "⋅", "odot": "⊙", "times": "×", "le": "≤", "leq": "≤", "ge": "≥", "geq": "≥", "ne": "≠", "neq": "≠",
    "approx": "≈", "to": "→", "mapsto": "↦", "rightarrow": "→", "in": "∈", "pm": "±", "ll": "≪", "gg": "≫",
    "dots": "…", "ldots": "…", "cdots": "⋯", "vdots": "⋮", "ddots": "⋱", "top": "⊤", "lvert": "|", "rvert": "|",
    "lVert": "‖", "rVert": "‖", "|": "‖", "{": "{", "}": "}", "mid": "|", "equiv": "≡", "sim": "∼",
    "langle": "⟨", "rangle": "⟩", "circ": "∘", "prime": "′",
}  # fmt: skip
_LARGE = {"sum": "∑", "prod": "∏", "int": "∫"}
_FUNCTIONS = {"tanh", "sinh", "cosh", "sin", "cos", "tan", "log", "ln", "exp", "max", "min", "det", "lim", "sup",
              "inf", "arg", "sgn", "diag"}  # fmt: skip
_SPACES = {",": "0.167em", ";": "0.278em", ":": "0.222em", " ": "0.25em", "quad": "1em", "qquad": "2em", "!": "0"}
_SIZES = {"big", "Big", "bigg", "Bigg", "bigl", "bigr", "Bigl", "Bigr", "biggl", "biggr", "Biggl", "Biggr"}
_IGNORED = {"limits", "nolimits", "displaystyle", "textstyle"}
_ENVIRONMENTS = {"matrix": ("", ""), "pmatrix": ("(", ")"), "bmatrix": ("[", "]"), "aligned": ("", ""),
                 "array": ("", "")}  # fmt: skip
_TOKEN = re.compile(r"\\[A-Za-z]+|\\.|[0-9]+(?:\.[0-9]+)?|\s+|.", re.S)


class TexError(ValueError):
    """The TeX uses something this converter does not know (it says what)."""


def _tokens(tex: str) -> list[str]:
    return [t for t in _TOKEN.findall(tex) if not t.isspace()]


def _el(tag: str, *children: str, **attrs: str) -> str:
    attributes = "".join(f' {k.rstrip("_")}="{html.escape(v)}"' for k, v in attrs.items())
    return f"<{tag}{attributes}>{''.join(children)}</{tag}>"


def _mo(text: str, **attrs: str) -> str:
    return _el("mo", html.escape(text), **attrs)


class _Parser:
    """A recursive-descent reader of TeX math: a row is a list of atoms, each with optional scripts."""

    def __init__(self, tex: str):
        self.tex = tex
        self.tokens = _tokens(tex)
        self.pos = 0

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> str:
        token = self.peek()
        if token is None:
            raise TexError(f"tex_to_mathml: {self.tex!r} ends too early (an argument is missing)")
        self.pos += 1
        return token

    def row(self, stop: tuple[str, ...] = ()) -> list[str]:
        """Atoms until the end, a closing brace, or one of ``stop`` (not consumed)."""
        items: list[str] = []
        while (token := self.peek()) is not None and token != "}" and token not in stop:
            if token in ("^", "_"):
                if not items:  # a script on nothing (e.g. "^{2}" at the start): attach to an empty base
                    items.append("<mrow></mrow>")
                items[-1] = self.scripts(items[-1], False)
                continue
            atom, large = self.atom()
            if atom is None:
                continue
            if self.peek() in ("^", "_"):
                atom = self.scripts(atom, large)
            items.append(atom)
        return items

    def group(self) -> str:
        """One argument: a braced group or a single token."""
        if self.peek() == "{":
            self.take()
            inner = self.row()
            self.expect("}")
            return _el("mrow", *inner)
        atom, _ = self.atom()
        return atom or "<mrow></mrow>"

    def raw_group(self) -> str:
        """A braced argument as plain text (for \\text, \\operatorname, environment names)."""
        self.expect("{")
        depth, out = 1, []
        while True:
            token = self.take()
            depth += token == "{"
            depth -= token == "}"
            if depth == 0:
                return "".join(out)
            out.append(token)

    def expect(self, token: str) -> None:
        got = self.take()
        if got != token:
            raise TexError(f"tex_to_mathml: expected {token!r} in {self.tex!r}, found {got!r}")

    def scripts(self, base: str, large: bool) -> str:
        sub = sup = None
        while self.peek() in ("^", "_"):
            which = self.take()
            if which == "_":
                sub = self.group()
            else:
                sup = self.group()
        if large:
            tag = "munderover" if sub and sup else "munder" if sub else "mover"
        else:
            tag = "msubsup" if sub and sup else "msub" if sub else "msup"
        return _el(tag, base, *(s for s in (sub, sup) if s is not None))

    def atom(self) -> tuple[str | None, bool]:
        """(MathML of the next atom, whether it takes limits above and below)."""
        token = self.take()
        if token == "{":
            inner = self.row()
            self.expect("}")
            return _el("mrow", *inner), False
        if token.startswith("\\"):
            return self.command(token[1:])
        if re.fullmatch(r"[0-9.]+", token):
            return _el("mn", token), False
        if token.isalpha():
            return _el("mi", html.escape(token)), False
        if token == "'":
            return _mo("′"), False
        if token == "&":
            raise TexError(f"tex_to_mathml: '&' outside an aligned or matrix environment in {self.tex!r}")
        if token in "()[]|":  # a bare bracket keeps its size (\\left ... \\right is the one that grows)
            return _mo(token, stretchy="false"), False
        if token == "/":  # TeX's slash is an ordinary symbol: no space around it
            return _mo(token, lspace="0", rspace="0"), False
        return _mo("−" if token == "-" else token), False

    def command(self, name: str) -> tuple[str | None, bool]:
        if name in _IGNORED:
            return None, False
        if name in _SPACES:
            return _el("mspace", width=_SPACES[name]), False
        if name in _GREEK:
            return _el("mi", _GREEK[name]), False
        if name in _LARGE:
            return _mo(_LARGE[name], largeop="true", movablelimits="true"), True
        if name in _FUNCTIONS:
            return _el("mi", name), name in ("lim", "max", "min", "sup", "inf")
        if name in _OPERATORS:
            return _mo(_OPERATORS[name]), False
        if name in ("frac", "dfrac", "tfrac"):
            return _el("mfrac", self.group(), self.group()), False
        if name == "sqrt":
            return _el("msqrt", self.group()), False
        if name in ("text", "mathrm", "textrm", "mbox"):
            return _el("mtext", html.escape(self.raw_group())), False
        if name == "operatorname":
            return _el("mi", html.escape(self.raw_group())), False
        if name in ("mathbb", "mathbf", "boldsymbol", "mathit", "mathcal"):
            text = self.raw_group()
            return _el("mi", "𝟙" if (name, text) == ("mathbb", "1") else html.escape(text)), False
        if name == "left":
            return self.fenced(), False
        if name in _SIZES:
            fence = self.take()
            fence = _OPERATORS.get(fence[1:], fence[1:]) if fence.startswith("\\") else fence
            return _mo(fence, stretchy="false") if fence != "." else None, False
        if name == "begin":
            return self.environment(self.raw_group()), False
        if name == "\\":
            raise TexError(rf"tex_to_mathml: a line break '\\' outside aligned or a matrix in {self.tex!r}")
        raise TexError(f"tex_to_mathml: unknown TeX command \\{name} in {self.tex!r}")

    def fence_token(self) -> str:
        token = self.take()
        if token == ".":
            return ""
        return _OPERATORS.get(token[1:], token[1:]) if token.startswith("\\") else token

    def fenced(self) -> str:
        opening = self.fence_token()
        inner = self.row(stop=("\\right",))
        self.expect("\\right")
        closing = self.fence_token()
        # a fence hugs what it encloses, and grows only around something tall (a fraction, a big
        # operator, a matrix): without a maths font, stretched parentheses come out wide and loose
        tall = any(tag in "".join(inner) for tag in ("<mfrac", "<munder", "<mover", "<mtable"))
        tight = {"lspace": "0", "rspace": "0", **({} if tall else {"stretchy": "false"})}
        parts = [_mo(opening, **tight) if opening else "", *inner, _mo(closing, **tight) if closing else ""]
        return _el("mrow", *parts)

    def environment(self, name: str) -> str:
        if name not in _ENVIRONMENTS:
            raise TexError(f"tex_to_mathml: unknown environment {name!r} in {self.tex!r}")
        if name == "array":
            self.raw_group()  # the column spec
        rows: list[list[str]] = [[]]
        while True:
            cell = self.row(stop=("&", "\\\\", "\\end"))
            rows[-1].append(_el("mrow", *cell))
            token = self.take()
            if token == "&":
                continue
            if token == "\\\\":
                rows.append([])
                continue
            if token == "\\end":
                self.raw_group()
                break
            raise TexError(f"tex_to_mathml: unexpected {token!r} in {name} of {self.tex!r}")
        if rows[-1] == ["<mrow></mrow>"] and len(rows) > 1:
            rows.pop()
        if name == "aligned":  # displayed lines: full-size fractions and limits, as in LaTeX's aligned
            cells = [[_el("mtd", _el("mstyle", c, displaystyle="true"),
                          style=f"text-align: {'right' if k % 2 == 0 else 'left'}; padding: 0.15em 0")
                      for k, c in enumerate(r)] for r in rows]  # fmt: skip
        else:
            cells = [[_el("mtd", c, style="padding: 0.1em 0.4em") for c in r] for r in rows]
        table = _el("mtable", *(_el("mtr", *r) for r in cells))
        left, right = _ENVIRONMENTS[name]
        return _el("mrow", _mo(left), table, _mo(right)) if left else table


def tex_to_mathml(tex: str, display: bool = False) -> str:
    """``<math>`` for a TeX formula; ``display=True`` for a block (limits above and below a sum).

    Raises ``TexError`` for TeX it does not understand, naming the command."""
    parser = _Parser(tex)
    items = parser.row()
    if parser.peek() is not None:
        raise TexError(f"tex_to_mathml: unbalanced '}}' in {tex!r}")
    attrs = {"display": "block"} if display else {}
    return _el("math", _el("mrow", *items), **attrs)
