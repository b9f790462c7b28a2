"""Local rules filled in: the chain rule of one node with its operands' names, then their numbers.

The stepper's generic rule for a product reads ``d(a*b)/da = b``. A student
wants it the way the notes write it, with the tensors of *this* node::

    dL/dc₂ += dL/dc₃ ⊙ f₃ = [0.447 0.293] ⊙ [0.512 0.618] = [0.229 0.181]

``fill(...)`` builds that for one (node, input) pair as a ``Filled``: a row
of tokens, each either an operator text (``" ⊙ "``) or an operand (its name
and its numbers), so the same rule can be printed as text here and typeset
as MathML by the viewers (``viz.mathml``). ``+=`` when the input's gradient
is a sum over several uses (a leaf, or a tensor read by several nodes), ``=``
when this is its only piece. Ops without a short rule (getitem, concat, ...)
get none: the event then shows the generic rule and the result, as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .notation import gradient

SHOWN = 6  # arrays with more elements show their shape and first values


def short(array: Any) -> str:
    """Numbers for a formula: '[0.447 0.293]'; large arrays as '(4, 8)[0.447 0.293 0.1 …]'."""
    a = np.asarray(array, dtype=float)
    if a.size == 1:
        return f"{a.reshape(-1)[0] + 0.0:.3g}"
    flat = a.reshape(-1)
    if a.size <= SHOWN:
        if a.ndim >= 2 and a.shape[0] > 1 and a.shape[-1] > 1:  # a real matrix keeps its rows
            return "[" + " ".join("[" + " ".join(f"{v + 0.0:.3g}" for v in row) + "]"
                                  for row in a.reshape(-1, a.shape[-1])) + "]"
        return "[" + " ".join(f"{v + 0.0:.3g}" for v in flat) + "]"
    return f"{a.shape}[" + " ".join(f"{v + 0.0:.3g}" for v in flat[:3]) + " …]"


@dataclass
class Filled:
    """One input's gradient as a formula: ``dL/d<target> (+)= <tokens> = <result>``."""

    target: str  # the input's name: 'c₂'
    accumulates: bool  # '+=' (one piece of a sum) or '=' (the whole gradient)
    tokens: tuple  # each a str (an operator, brackets) or a (name, array) operand
    result: Any  # the array sent

    @property
    def lhs(self) -> str:
        return f"{gradient(self.target)} {'+=' if self.accumulates else '='}"

    def names(self) -> str:
        """'dL/dc₃ ⊙ f₃'."""
        return "".join(t if isinstance(t, str) else t[0] for t in self.tokens)

    def numbers(self) -> str:
        """'[0.447 0.293] ⊙ [0.512 0.618]'."""
        return "".join(t if isinstance(t, str) else short(t[1]) for t in self.tokens)

    def __str__(self) -> str:
        return f"{self.lhs} {self.names()} = {self.numbers()} = {short(self.result)}"

    def to_dict(self) -> dict[str, Any]:
        """Plain data for viewers: the operands as names and short numbers."""
        return {
            "target": self.target, "lhs": gradient(self.target), "op": "+=" if self.accumulates else "=",
            "tokens": [t if isinstance(t, str) else {"name": t[0], "value": short(t[1])} for t in self.tokens],
            "result": short(self.result),
        }


def transposed(name: str) -> str:
    """The name of a transpose: 'W_hhᵀ' -> 'W_hh', 'h₂' -> 'h₂ᵀ'."""
    if name.endswith("ᵀ"):
        return name[:-1]
    return f"({name})ᵀ" if any(c in name for c in " +−⊙/@") else f"{name}ᵀ"


def fill(node: Any, position: int, names: list[str], outputs: list[str], upstream: tuple, result: Any,
         accumulates: bool) -> Filled | None:
    """The rule of ``node`` (a ``NodeRecord``) for its input number ``position``, filled in.

    ``names``: the inputs' display names; ``outputs``: the outputs' names;
    ``upstream``: dL/d(output) per output; ``result``: the gradient sent.
    """
    op = node.op
    inputs = [t.data for t in node.node.inputs]
    g = upstream[0] if upstream else None
    if g is None and op != "split":
        return None
    dy = (gradient(outputs[0]), g) if outputs else None
    out = node.node.outputs[0]() if node.node.outputs else None
    y = (outputs[0], out.data) if out is not None and outputs else None
    other = 1 - position if len(inputs) == 2 else None
    tokens: tuple | None = None
    if op == "add":  # the local derivative is 1 (summed over the axes the input was broadcast along)
        tokens = (dy, " · 1") if np.shape(g) == np.shape(inputs[position]) else ("Σ ", dy, " · 1")
    elif op == "sub":
        tokens = (dy, " · 1") if position == 0 else (dy, " · (−1)")
    elif op == "mul":
        tokens = (dy, " ⊙ ", (names[other], inputs[other]))
    elif op == "div":
        tokens = (dy, " / ", (names[1], inputs[1])) if position == 0 else \
            ("−", dy, " ⊙ ", y, " / ", (names[1], inputs[1]))
    elif op == "matmul":
        a, b = inputs
        if position == 0 and b.ndim == 1:  # Y = A @ b with a column b: dL/dA is the outer product dL/dY bᵀ
            tokens = (dy, " ⊗ ", (names[1], b))
        elif position == 0:
            tokens = (dy, " @ ", (transposed(names[1]) if a.ndim > 1 else names[1], np.swapaxes(b, -1, -2)))
        elif a.ndim == 1:  # Y = a @ B with a row a: dL/dB is the outer product a dL/dY
            tokens = ((names[0], a), " ⊗ ", dy)
        else:
            tokens = ((transposed(names[0]), np.swapaxes(a, -1, -2)), " @ ", dy)
    elif op == "tanh" and y is not None:
        tokens = (dy, " ⊙ (1 − ", y, "²)")
    elif op == "sigmoid" and y is not None:
        tokens = (dy, " ⊙ ", y, " ⊙ (1 − ", y, ")")
    elif op == "relu":
        tokens = (dy, " ⊙ [", (names[0], inputs[0]), " > 0]")
    elif op == "exp" and y is not None:
        tokens = (dy, " ⊙ ", y)
    elif op == "log":
        tokens = (dy, " / ", (names[0], inputs[0]))
    elif op == "transpose":
        tokens = ("(", dy, ")ᵀ")
    elif op == "sum":
        tokens = (dy, " · 1")
    elif op == "split":
        pieces = [(gradient(name), np.zeros(1) if up is None else up) for name, up in zip(outputs, upstream)]
        tokens = ("[", *[p for piece in pieces for p in (piece, ", ")][:-1], "]")
    if tokens is None:
        return None
    return Filled(names[position], accumulates, tokens, result)
