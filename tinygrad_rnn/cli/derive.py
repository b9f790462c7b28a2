"""``tinygrad-rnn derive``: the BPTT derivation in SymPy, and its check against the engine.

By default the recurrence, its closed form and the cell of ``--cell``; instead,
``--difference`` (difference equations, the linear RNN in closed form),
``--rtrl`` (RTRL beside BPTT) or ``--spectra`` (singular values of the step
Jacobians). Every one prints as text, ``--markdown`` or ``--latex``.

``--check`` judges two comparisons apart (see ``tr.symbolic.CheckTable``):
symbolic vs autograd to rounding, symbolic vs finite differences to what
central differences resolve, both relative to the quantity's size. A failure
names the comparison, the quantity and its table. Options that do not apply to
the chosen derivation are refused, never silently ignored.
"""

from __future__ import annotations

import argparse
import sys
import time

from ..stories.common import output_folder, seed
from . import UsageError

SLOW_STEPS = 200  # from here on, --check says what it is doing (on stderr)

DEFAULTS = {"cell": "rnn", "steps": 5, "nonlinearity": "tanh", "hidden": 3, "seed": 0}


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--cell",
        choices=("rnn", "jordan", "lstm", "gru"),
        help="rnn (Elman, default), jordan (feeds back the output), lstm or gru",
    )
    parser.add_argument("--steps", type=int, help="time steps T (default 5)")
    parser.add_argument(
        "--nonlinearity", choices=("tanh", "relu"), help="for rnn (scalar and vector parts) and jordan (default tanh)"
    )
    parser.add_argument("--hidden", type=int, help="hidden units of the vector part (rnn only; default 3)")
    parser.add_argument("--seed", type=seed, help="seed of the random evaluation point (default 0)")
    topic = parser.add_mutually_exclusive_group()
    topic.add_argument(
        "--difference",
        action="store_true",
        help="difference equations instead: classify and solve with sympy.rsolve, the linear RNN in closed form",
    )
    topic.add_argument(
        "--rtrl",
        action="store_true",
        help="RTRL beside BPTT: forward sensitivities and the stepper's ledger term by term "
        "(a vector RNN; default --hidden 2 --steps 4); --measure adds memory and time",
    )
    topic.add_argument(
        "--spectra",
        action="store_true",
        help="singular values of the step Jacobians and their products for RNN, LSTM, GRU on text input "
        "(default --hidden 16 --steps 60); --out DIR writes the pictures",
    )
    topic.add_argument(
        "--loop",
        action="store_true",
        help="the BPTT loop instead: the training step of a small --cell rnn|lstm|gru written as Python, "
        "forward over t then the same loop reversed (tr.bptt_loop); --check runs it against backward()",
    )
    parser.add_argument("--out", type=output_folder,
                        help="with --spectra: a folder for spectra_products.svg and spectra_bound.svg")
    parser.add_argument(
        "--measure", action="store_true", help="with --rtrl: measure BPTT's and RTRL's memory and time at four sizes"
    )
    fmt = parser.add_mutually_exclusive_group()
    fmt.add_argument("--latex", action="store_true", help="print LaTeX (a fragment; see --standalone)")
    fmt.add_argument("--markdown", action="store_true", help="print Markdown with $$ blocks")
    parser.add_argument(
        "--standalone", action="store_true", help="with --latex: a whole document (article + amsmath) for pdflatex"
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help=(
            "compare symbolic, autograd and finite differences; exit 1 if symbolic and autograd disagree beyond "
            "rounding or finite differences beyond their own accuracy (relative tolerances; failures are named)"
        ),
    )


def _refuse_unused(args: argparse.Namespace) -> None:
    """Every option given must change the output: name the ones that would not, and why."""
    given = {name for name in DEFAULTS if getattr(args, name) is not None}
    if args.difference:
        unused = given - {"steps", "seed"}
        why = "--difference derives difference equations and the linear RNN; it takes only --steps, --seed"
    elif args.rtrl:
        unused = given & {"cell"}
        why = "--rtrl works on the vector Elman RNN (--hidden, --steps, --seed, --nonlinearity)"
    elif args.spectra:
        unused = given & {"cell", "nonlinearity"}
        why = "--spectra compares PyTorch-style RNN (tanh), LSTM and GRU cells (--hidden, --steps, --seed)"
    elif (args.cell or "rnn") in ("lstm", "gru"):
        unused = given & {"nonlinearity", "hidden"}
        why = f"--cell {args.cell} has fixed nonlinearities (σ and tanh) and no vector part"
    elif args.cell == "jordan":
        unused = given & {"hidden"}
        why = "--cell jordan has no vector part"
    else:
        unused = set()
        why = ""
    if unused:
        options = ", ".join(f"--{name}" for name in sorted(unused))
        raise UsageError(f"{options} would be ignored: {why}. Leave it out.")
    if args.standalone and not args.latex:
        raise UsageError("--standalone goes with --latex")
    if args.measure and not args.rtrl:
        raise UsageError("--measure goes with --rtrl")
    if args.out is not None and not args.spectra:
        raise UsageError("--out goes with --spectra")
    if args.check and args.spectra:
        raise UsageError("--spectra has no --check; its bound is tested against the measured norms")
    defaults = {**DEFAULTS, "hidden": 2, "steps": 4} if args.rtrl else DEFAULTS
    if args.spectra:
        defaults = {**DEFAULTS, "hidden": 16, "steps": 60}
    for name, value in vars(args).items():
        if name in defaults and value is None:
            setattr(args, name, defaults[name])


def run(args: argparse.Namespace) -> int:
    if args.loop:  # tr.bptt_loop's text: no SymPy (see derive_loop.py)
        from . import derive_loop

        return derive_loop.run(args)
    _refuse_unused(args)
    if args.steps < 1 or args.hidden < 1:
        raise UsageError("--steps and --hidden must be positive")
    if args.cell == "lstm" and args.steps < 2:
        raise UsageError("--cell lstm needs --steps >= 2 (dc_t/dc_{t-1} goes through h_{t-1})")
    from .. import symbolic  # SymPy loads here, not when the CLI starts

    start = time.perf_counter()
    progress = None
    if args.check and args.steps >= SLOW_STEPS:

        def progress(line: str) -> None:
            print(f"derive: [{time.perf_counter() - start:5.1f} s] {line}", file=sys.stderr, flush=True)

        progress(f"--check at T = {args.steps} evaluates every check at full length; this takes a few seconds")
    if args.difference:
        doc = symbolic.difference.document(steps=args.steps, seed=args.seed, check=args.check)
    elif args.rtrl:
        if args.measure:
            print("derive: measuring BPTT and RTRL at four sizes (seconds to a minute)", file=sys.stderr, flush=True)
        model = symbolic.VectorRNN(args.hidden, args.steps, seed=args.seed, nonlinearity=args.nonlinearity)
        doc = symbolic.Document([symbolic.rtrl.derivation(model, check=args.check, measure=args.measure)])
    elif args.spectra:
        from ..stories import spectra

        doc = symbolic.Document([spectra.derivation(args.steps, args.hidden, args.seed, out=args.out)])
    else:
        doc = symbolic.derive(
            args.cell, args.steps, args.nonlinearity, check=args.check, seed=args.seed, hidden=args.hidden,
            progress=progress,
        )  # fmt: skip
    if args.latex:
        print(doc.latex_document() if args.standalone else doc.latex())
    else:
        print(doc.markdown() if args.markdown else doc.text())
    if progress is not None:
        progress("done")
    failures = doc.failures() if args.check else []
    if failures:
        print("\nFAILED:\n" + "\n".join(f"  {line}" for line in failures))
        return 1
    return 0
