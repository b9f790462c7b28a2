"""Symbolic BPTT: the derivation of the notes, executable and checked against the engine.

    import tinygrad_rnn as tr
    d = tr.symbolic.derive("rnn", steps=5, check=True)
    print(d)               # the derivation and the check table
    d.markdown()           # prose and $$ blocks for a student's notes

- ``recurrence``: z_k = a_k + b_k z_{k-1} and its closed form as SymPy objects,
  an induction proof, and the unrolled equality for k = 1..K.
- ``ScalarRNN``: the one-unit Elman/Jordan RNN (tanh or relu); a_t, b_t by
  SymPy, dL/dw_h from the closed form, proved equal to ``sympy.diff`` of the
  unrolled loss (small T), and compared with autograd and finite differences.
- ``VectorRNN``: H hidden units; the engine's per-step Jacobians in the
  closed form with ordered matrix products reproduce its dh_k/dW_hh, dL/dW_hh.
- ``LSTMCell`` / ``GRUCell``: dc_t/dc_{t-1} and dh_t/dh_{t-1}, the additive path.
- ``GatedWeights``: the gated cells' recurrent weight W_hh by z_k = a_k + B_k z_{k-1}
  with the state's Jacobian B_k a matrix ((h, c) for the LSTM), checked three ways.
- ``to_sympy(tensor)``: any small recorded graph as SymPy expressions.
- ``report``: every derivation prints as terminal text (Unicode, no markup), Markdown,
  LaTeX (long sums broken to fit the page) and HTML, typeset as MathML by ``mathml``
  (``d.html()``, Jupyter's ``_repr_html_``; the tour's derivation.html).
- ``difference``: difference equations classified and solved (``sympy.rsolve``),
  the summation factor that solves BPTT's recurrence, and the scalar linear RNN
  in closed form; ``linear.MatrixLinearRNN``: BPTT as powers of W, its eigenvalues.
- ``rtrl``: real-time recurrent learning, the recurrence run forward; its terms
  against the stepper's ledger, and its memory and time beside BPTT's.
"""

from __future__ import annotations

from collections.abc import Callable

from . import difference, linear, recurrence, rtrl
from .convert import SympyGraph, to_sympy
from .difference import DifferenceEquation, LinearRNN
from .gated import GRUCell, LSTMCell
from .gated_weights import GatedWeights
from .linear import MatrixLinearRNN
from .recurrence import closed_form, induction_proof, unrolled_equality
from .report import CheckRow, CheckTable, Derivation, Document, Table
from .scalar import ScalarRNN, Values
from .vector import VectorRNN

CELLS = ("rnn", "jordan", "lstm", "gru")


def derive(
    cell: str = "rnn",
    steps: int = 5,
    nonlinearity: str = "tanh",
    check: bool = False,
    seed: int = 0,
    hidden: int = 3,
    progress: Callable[[str], None] | None = None,
) -> Document:
    """The derivation for one cell, as ``tinygrad-rnn derive`` prints it.

    rnn / jordan: the general recurrence with its proof, the scalar network
    for ``steps`` steps, and (rnn) the vector closed form with ``hidden`` units;
    ``nonlinearity`` (tanh or relu) applies to both. lstm / gru: the additive
    path of the scalar cell (their nonlinearities are fixed: σ and tanh), then the
    recurrent weight W_hh of a two-unit cell by the matrix recurrence (``GatedWeights``).
    ``check=True`` adds the comparison tables (symbolic vs autograd vs finite
    differences); ``progress`` receives a line before each slow part.
    """
    if cell not in CELLS:
        raise ValueError(f"derive: cell must be one of {', '.join(CELLS)}, got {cell!r}")
    if cell in ("lstm", "gru") and nonlinearity != "tanh":
        raise ValueError(
            f"derive: the {cell} cell's nonlinearities are fixed (σ and tanh); nonlinearity is for rnn and jordan"
        )
    say = progress or (lambda _: None)
    if cell in ("lstm", "gru"):
        say(f"scalar {cell.upper()}: T = {steps}, checking the first and the last step")
    if cell in ("lstm", "gru"):
        path = (LSTMCell if cell == "lstm" else GRUCell)(steps, seed).derivation(check)
        say(f"{cell.upper()} W_hh: H = 2, T = {steps}, the matrix recurrence")
        return Document([path, GatedWeights(cell, steps, seed=seed).derivation(check)])
    parts = [recurrence.derivation()]
    say(f"scalar {'Jordan' if cell == 'jordan' else 'Elman'} RNN: T = {steps}")
    parts.append(ScalarRNN(steps, nonlinearity, jordan=cell == "jordan").derivation(check=check, seed=seed))
    if cell == "rnn":
        say(f"vector RNN: H = {hidden}, T = {steps}")
        parts.append(VectorRNN(hidden, steps, seed=seed, nonlinearity=nonlinearity).derivation(check, progress))
    return Document(parts)


__all__ = [
    "CELLS",
    "CheckRow",
    "CheckTable",
    "Derivation",
    "DifferenceEquation",
    "Document",
    "GRUCell",
    "GatedWeights",
    "LSTMCell",
    "LinearRNN",
    "MatrixLinearRNN",
    "ScalarRNN",
    "SympyGraph",
    "Table",
    "Values",
    "VectorRNN",
    "closed_form",
    "derive",
    "difference",
    "induction_proof",
    "linear",
    "recurrence",
    "rtrl",
    "to_sympy",
    "unrolled_equality",
]
