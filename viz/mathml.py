"""A filled-in local rule typeset as presentation MathML, for every page a person reads (explorer, notebook).

Chromium, Firefox and Safari render MathML Core natively, so the formula is
typeset with no script, no font download and no network: ``∂L/∂c₂`` becomes a
fraction, ``sᶠ₃`` an ``s`` with a superscript f and a subscript 3, ``←h⁽²⁾₃``
an h with an arrow over it. The input is a rule as plain data
(``tinygrad_rnn.rules.Filled.to_dict()``); every piece of text is escaped.

    ∂L/∂c₂ += ∂L/∂c₃ ⊙ f₃
           =  [0.447 0.293] ⊙ [0.512 0.618] = [0.229 0.181]
"""

from __future__ import annotations

import html
import re
from typing import Any

_SUB = str.maketrans("₀₁₂₃₄₅₆₇₈₉", "0123456789")
_SUP = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁽⁾ʰⁱᶠᵍᵒʳⁿᵘˣᵀ′", "0123456789()hifgornuxT′")
# a symbol: optional ← (reverse direction), letters with an optional _subscript (W_hh), then
# superscripts (gate letter, layer mark ⁽²⁾, ᵀ, primes) and subscript digits (the time step)
_ATOM = re.compile(r"(←)?([A-Za-zσΣα-ωδ]+)(_[a-z]+)?([⁰¹²³⁴⁵⁶⁷⁸⁹⁽⁾ʰⁱᶠᵍᵒʳⁿᵘˣᵀ′]*)([₀₁₂₃₄₅₆₇₈₉]*)")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e[+-]?\d+)?")
_OPERATORS = {"@": "@", "⊙": "⊙", "⊗": "⊗", "·": "·", "+": "+", "−": "−", "-": "−", "/": "/", "=": "=",
              "(": "(", ")": ")", "[": "[", "]": "]", ",": ",", "…": "…"}
LEFT = "text-align: left"  # MathML Core ignores columnalign: rows start at the left edge, by CSS
_FUNCTIONS = {"tanh", "exp", "log", "relu", "mean", "σ", "Σ"}


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _atom(match: re.Match) -> str:
    arrow, base, sub_letters, sup, sub_digits = match.groups()
    if base in _FUNCTIONS and not (sub_letters or sup or sub_digits):
        return f"<mi>{_e(base)}</mi>" if len(base) == 1 else f'<mi mathvariant="normal">{_e(base)}</mi>'
    body = f"<mi>{_e(base)}</mi>"
    sub = ""
    if sub_letters:
        sub = f"<mi>{_e(sub_letters[1:])}</mi>"
    if sub_digits:
        sub += f"<mn>{_e(sub_digits.translate(_SUB))}</mn>"
    if len(sub_letters or "") and sub_digits:
        sub = f"<mrow>{sub}</mrow>"
    sup_text = sup.translate(_SUP)
    sup_ml = ""
    if sup_text:
        parts = re.findall(r"\(\d+\)|T|′|[a-z]|\d", sup_text)
        sup_ml = "<mrow>" + "".join(
            f"<mo>{_e(p)}</mo>" if p == "′" else f"<mi>{p}</mi>" if p.isalpha() else f"<mn>{_e(p)}</mn>"
            for p in parts
        ) + "</mrow>"
    if sub and sup_ml:
        body = f"<msubsup>{body}{sub}{sup_ml}</msubsup>"
    elif sub:
        body = f"<msub>{body}{sub}</msub>"
    elif sup_ml:
        body = f"<msup>{body}{sup_ml}</msup>"
    if arrow:
        body = f'<mover accent="true">{body}<mo stretchy="false">←</mo></mover>'
    return body


def expression(text: str) -> str:
    """A name or a piece of a formula ('f₃⊙c₂', ' ⊙ (1 − ', 'W_hh h₂') as a MathML row."""
    out: list[str] = []
    i = 0
    while i < len(text):
        c = text[i]
        if c == " ":
            i += 1
            continue
        if c in "²ᵀ" and out:  # a power or a transpose of what came before
            out[-1] = f"<msup>{out[-1]}<mn>{'2' if c == '²' else ''}</mn></msup>" if c == "²" else \
                f"<msup>{out[-1]}<mi>T</mi></msup>"
            i += 1
            continue
        if text.startswith("dL/d", i):
            out.append('<mfrac><mrow><mo>∂</mo><mi>L</mi></mrow><mrow><mo>∂</mo>')
            i += 4
            close = _operand_end(text, i)
            out[-1] += expression(text[i:close]) + "</mrow></mfrac>"
            i = close
            continue
        number = _NUMBER.match(text, i)
        if number and (c != "-" or not out or out[-1].startswith("<mo>")):
            out.append(f"<mn>{_e(number.group())}</mn>")
            i = number.end()
            continue
        atom = _ATOM.match(text, i)
        if atom and atom.group(2):
            out.append(_atom(atom))
            i = atom.end()
            continue
        out.append(f"<mo>{_e(_OPERATORS.get(c, c))}</mo>")
        i += 1
    return "<mrow>" + "".join(out) + "</mrow>"


def _operand_end(text: str, start: int) -> int:
    """Where the tensor named after 'dL/d' ends: a bracketed expression, or one symbol."""
    if start < len(text) and text[start] == "(":
        depth = 0
        for j in range(start, len(text)):
            depth += {"(": 1, ")": -1}.get(text[j], 0)
            if depth == 0:
                return j + 1
        return len(text)
    atom = _ATOM.match(text, start)
    if not atom or atom.end() == start:
        return len(text)
    if atom.group(2) in _FUNCTIONS and text[atom.end():atom.end() + 1] == "(":  # tanh(c₃): the call is the name
        return _operand_end(text, atom.end())
    return atom.end()


def numbers(text: str) -> str:
    """Short numbers ('[0.447 0.293]', '(1, 8)[0.0129 …]') as one MathML number, the shape as text
    (one element per array keeps a page of thousands of steps small)."""
    shape = re.match(r"^\(\d+(?:, \d+)*,?\)", text)
    head = f"<mtext>{_e(shape.group())}</mtext>" if shape else ""
    return f"<mrow>{head}<mn>{_e(text[shape.end():] if shape else text)}</mn></mrow>"


def pieces(filled: dict[str, Any]) -> list[str]:
    """Every text of a rule that is typeset as an expression: its left side, operand names, operators."""
    return [filled["lhs"], *(t if isinstance(t, str) else t["name"] for t in filled["tokens"])]


def rule(filled: dict[str, Any], typeset: dict[str, str] | None = None) -> str:
    """One filled-in rule (``Filled.to_dict()``) as a two-line MathML formula in a <div>: names, then numbers.

    ``typeset``: expressions made already, by text (the explorer's page ships them once, see
    ``explorer.js``'s ``ruleMath``, which assembles the same markup)."""
    ml = typeset if typeset is not None else {text: expression(text) for text in pieces(filled)}
    names = "".join(ml[t if isinstance(t, str) else t["name"]] for t in filled["tokens"])
    values = "".join(ml[t] if isinstance(t, str) else numbers(t["value"]) for t in filled["tokens"])
    op = "+=" if filled["op"] == "+=" else "="
    return (
        '<div class="tgr-formula"><math class="tgr-math"><mtable columnalign="left">'
        f'<mtr><mtd style="{LEFT}"><mrow>{ml[filled["lhs"]]}<mo>{op}</mo>{names}</mrow></mtd></mtr>'
        f'<mtr><mtd style="{LEFT}"><mrow><mspace width="1.5em"/><mo>=</mo>{values}<mo>=</mo>{numbers(filled["result"])}'
        "</mrow></mtd></mtr></mtable></math></div>"
    )


def rules(filled: list[dict[str, Any]]) -> str:
    """Every rule of one step, one block each ('' when the step has none)."""
    return "".join(rule(f) for f in filled)
