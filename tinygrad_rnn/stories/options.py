"""Number options of every command (and story script): finite floats, and sizes with an upper
bound that says why. (It lives beside ``common.py``'s ``seed`` and ``output_folder`` types, which
the ``tinygrad-rnn`` command uses too: the stories may not import the CLI.)

``guard_numbers(parser)`` is applied once to the whole ``tinygrad-rnn`` parser
(and to a story's own parser when it runs as a script): every option declared
with ``type=float`` gets ``finite_float``, and every ``type=int`` option gets an
upper bound from ``SIZE_LIMITS`` with the reason (memory or time) in the refusal.
So a new option is guarded the day it is added, without a copy of the checks.

Why bounds: ``--hidden 100000`` asks for hundreds of gigabytes before the first
step, and ``nan <= 0`` is False, so a NaN slips past every "must be positive".
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

# option dest -> (largest value, what a bigger one costs). Per command where the meaning differs.
SIZE_LIMITS: dict[str, tuple[int, str]] = {
    "hidden": (4096, "each layer holds 4 x hidden^2 weights (LSTM), and --hidden 100000 would need about 300 GB"),
    "embed": (4096, "the embedding table and the input weights grow with it"),
    "layers": (32, "each layer is a full recurrent network of its own"),
    "steps": (100_000, "time: every step is a training or unrolling step"),
    "lengths": (2_000, "the unrolled graph keeps every time step of a batch: T = 1,000 takes about 0.5 GB, "
                       "so T = 100,000 would need about 50 GB"),
    "batch": (65_536, "every time step holds batch x hidden numbers"),
    "num_steps": (10_000, "the BPTT window is unrolled and kept whole for backward"),
    "epochs": (100_000, "time"),
    "iterations": (1_000_000, "time"),
    "eval_every": (1_000_000, "nothing: it only spaces the evaluations"),
    "max_chars": (100_000_000, "the training text is held in memory as token ids"),
    "sample_length": (1_000_000, "time: one forward step per sampled character"),
    "points": (1_000_000, "memory and time: each point is one evaluation"),
    "grid": (1_000, "grid x grid forward and backward passes"),
    "digits": (18, "the digit strings are encoded in int64, which holds at most 18 digits"),
    "train_size": (1_000_000, "memory: every example is held as arrays"),
    "test_size": (1_000_000, "memory: every example is held as arrays"),
    "repeats": (1_000, "time: each repeat runs the whole figure again"),
    "threads": (256, "each thread trains its own model"),
    "max_nodes": (1_000_000, "a layout of more nodes takes minutes to draw"),
    "window": (10_000, "the window is unrolled for every example"),
    "trained_steps": (1_000_000, "time"),
    "size": (1_000_000, "memory"),
}
COMMAND_LIMITS: dict[tuple[str, str], tuple[int, str]] = {
    ("demo", "steps"): (10_000, "the unrolled graph and its printout grow with every step"),
    ("demo", "hidden"): (1_024, "W_hh's gradient is printed per time step: hidden^2 numbers each"),
    ("render", "steps"): (
        2_000,
        "a picture of every op per time step takes minutes past that; for long unrolls draw "
        "--view cells (one box per cell) and read the explorer's overview strip",
    ),
    ("render", "layers"): (8, "every layer multiplies the nodes drawn"),
    ("render", "hidden"): (64, "the picture shows shapes, not more of them"),
    ("step", "steps"): (10_000, "the shell walks every node of the unrolled graph"),
    ("tour", "steps"): (20, "the tour draws every op of every time step"),
    ("derive", "steps"): (5_000, "the derivation builds T x T tables of terms (RTRL: T x hidden^2 per step)"),
    ("derive", "hidden"): (64, "SymPy works on hidden^2 symbols per matrix"),
}
DEFAULT_LIMIT = (10_000_000, "memory and time")


def finite_float(value: str) -> float:
    """An argparse type: a float that is neither NaN nor infinite (``nan <= 0`` is False, so a NaN
    would pass any "must be positive" check and poison every number downstream)."""
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number") from None
    if not math.isfinite(number):
        raise argparse.ArgumentTypeError(f"{value} is not a finite number")
    return number


def bounded_int(option: str, limit: int, cost: str) -> Callable[[str], int]:
    """An argparse type: a whole number at most ``limit``; a bigger one is refused naming the cost."""

    def check(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
        if number > limit:
            raise argparse.ArgumentTypeError(f"{number:,} is too big: {option} is at most {limit:,} ({cost})")
        return number

    check.__name__ = "int"  # argparse's own messages call it "invalid int value"
    return check


def _subparsers(parser: argparse.ArgumentParser):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            yield from action.choices.items()


def guard_numbers(parser: argparse.ArgumentParser, command: str = "") -> None:
    """Give every float option of ``parser`` and its subcommands ``finite_float``, and every int
    option an upper bound (``COMMAND_LIMITS`` for ``command``, else ``SIZE_LIMITS``, else the default)."""
    for action in parser._actions:
        option = action.option_strings[-1] if action.option_strings else action.dest
        if action.type is float:
            action.type = finite_float
        elif action.type is int:
            limit, cost = COMMAND_LIMITS.get((command, action.dest)) or SIZE_LIMITS.get(action.dest, DEFAULT_LIMIT)
            action.type = bounded_int(option, limit, cost)
    for name, child in _subparsers(parser):
        guard_numbers(child, command or name)
