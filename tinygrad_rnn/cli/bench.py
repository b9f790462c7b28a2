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
