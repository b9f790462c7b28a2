"""``tinygrad-rnn bench``: speed and memory side by side with NumPy by hand and PyTorch.

The benchmarks live in ``tinygrad_rnn.bench`` (references, models, the timed
suite); they are imported only when this command runs.
"""

from __future__ import annotations

import argparse
from dataclasses import replace

from . import UsageError

SECTIONS = ("speed", "recording", "memory", "scaling")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quick", action="store_true", help="a smoke run of every section (a few seconds)")
    parser.add_argument("--no-torch", action="store_true", help="leave PyTorch out even if it is installed")
    parser.add_argument("--repeats", type=int, default=None, help="timed runs per figure (default 15)")
    parser.add_argument(
        "--cpu-time",
        action="store_true",
        help="time with process CPU time instead of wall-clock (steadier on a shared machine; use one thread)",
    )
    parser.add_argument(
        "--grid",
        action="store_true",
        help="the issue-19 grid instead: RNN/LSTM/GRU x T {10,50,200} x B {1,32} x H {32,128} x float32/64, "
        "eager and replay (tr.compile) against NumPy by hand, geometric means beside the targets "
        "(with --quick: 3 tiny configs; always process CPU time)",
    )
    parser.add_argument("--only", choices=SECTIONS, action="append", help="run only this section (repeatable)")
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="PyTorch's intra-op threads (NumPy's BLAS threads are set by OPENBLAS_NUM_THREADS before start)",
    )


def run(args: argparse.Namespace) -> int:
    from ..bench.suite import Settings, run_all

    if args.threads is not None and args.no_torch:
        raise UsageError("--threads sets PyTorch's threads, and --no-torch leaves PyTorch out: drop one of them")
    if args.grid:
        from ..bench import grid

        repeats = args.repeats if args.repeats is not None else (2 if args.quick else 7)
        if repeats < 1:
            raise UsageError("--repeats must be at least 1")
        grid.run(args.quick, repeats, print)
        return 0

    settings = Settings.quick(not args.no_torch) if args.quick else Settings(use_torch=not args.no_torch)
    if args.repeats is not None:
        if args.repeats < 1:
            raise UsageError("--repeats must be at least 1")
        settings = replace(settings, repeats=args.repeats)
    if args.threads is not None:
        if args.threads < 1:
            raise UsageError("--threads must be at least 1")
        settings = replace(settings, torch_threads=args.threads)
    if args.cpu_time:
        settings = replace(settings, clock="cpu")
    run_all(settings, tuple(args.only or SECTIONS))
    return 0
