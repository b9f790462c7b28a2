"""``tinygrad-rnn derive``: the BPTT derivation in SymPy, and its check against the engine."""

from __future__ import annotations

import argparse

TOLERANCE = 1e-8


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--cell",
        choices=("rnn", "jordan", "lstm", "gru"),
        default="rnn",
        help="rnn (Elman, default), jordan (feeds back the output), lstm or gru",
    )
    parser.add_argument("--steps", type=int, default=5, help="time steps T (default 5)")
    parser.add_argument("--nonlinearity", choices=("tanh", "relu"), default="tanh", help="for rnn and jordan")
    parser.add_argument("--hidden", type=int, default=3, help="hidden units of the vector case (rnn; default 3)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random evaluation point")
    fmt = parser.add_mutually_exclusive_group()
    fmt.add_argument("--latex", action="store_true", help="print a LaTeX fragment")
    fmt.add_argument("--markdown", action="store_true", help="print Markdown with $$ blocks")
    parser.add_argument(
        "--check",
        action="store_true",
        help=f"compare symbolic, autograd and finite differences; exit 1 if any error > {TOLERANCE:g}",
    )


def run(args: argparse.Namespace) -> int:
    from ..symbolic import derive  # SymPy loads here, not when the CLI starts

    if args.steps < 1 or args.hidden < 1:
        raise SystemExit("derive: --steps and --hidden must be positive")
    if args.cell == "lstm" and args.steps < 2:
        raise SystemExit("derive: --cell lstm needs --steps >= 2 (dc_t/dc_{t-1} goes through h_{t-1})")
    doc = derive(args.cell, args.steps, args.nonlinearity, check=args.check, seed=args.seed, hidden=args.hidden)
    print(doc.latex() if args.latex else doc.markdown() if args.markdown else doc.text())
    if args.check and not doc.ok(TOLERANCE):
        worst = max(c.max_error for c in doc.checks)
        print(f"\nFAILED: an error of {worst:.1e} exceeds {TOLERANCE:g}")
        return 1
    return 0
