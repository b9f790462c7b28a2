"""The ``tinygrad-rnn`` command: one subcommand per job, each with ``--help``.

Each subcommand lives in its own module, imported only when it runs (so
``tinygrad-rnn --help`` is fast and ``tinygrad_rnn`` never imports ``viz`` at
import time). A subcommand module provides ``configure(parser)`` and
``run(args) -> int``.

Ordinary mistakes never end in a traceback. Bad option values are refused by
argparse (types such as ``output_file``, exit 2); a command that finds a
problem while running raises ``CLIError`` (exit 1) or ``UsageError`` (options
that do not fit together, exit 2), and ``main`` prints its message as one line,
``tinygrad-rnn <command>: <message>``. Anything else that escapes a command is
a bug, and keeps its traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import re
import sys
from collections.abc import Callable

from .. import __version__
from ..files import check_output

# name -> (module in this package, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "tour": (".tour", "write a browsable folder: graphs, backward player, BPTT, training, gradients"),
    "demo": (".demo", "unroll a tiny RNN, backpropagate, and print W_hh's gradient per time step"),
    "train": (".train", "run a story from the notes: char-lm, adding, sine, seq2seq, slot-filling, ..."),
    "render": (".render", "draw the unrolled graph of a small RNN/LSTM/GRU to .svg/.png/.dot"),
    "step": (".step", "step through the backward pass node by node (a pdb-like prompt)"),
    "derive": (".derive", "derive BPTT's recurrence and closed form in SymPy; --check it against autograd"),
    "bench": (".bench", "time forward + backward against NumPy by hand and PyTorch; memory; scaling"),
    "exercise": (".exercise", "check a backward you wrote (e.g. lstm_step_backward) and name its first wrong gradient"),
}


class CLIError(Exception):
    """A problem a user can fix (a file, a value, a size): one line on stderr and exit 1."""

    code = 1


class UsageError(CLIError):
    """Options that do not fit together: one line on stderr and exit 2, like argparse's own errors."""

    code = 2


def output_file(*suffixes: str) -> Callable[[str], str]:
    """An argparse type for an output file: its extension must be one of ``suffixes``, and it must be
    writable (missing folders are created when it is written), checked before any work starts."""

    def check(value: str) -> str:
        if os.path.splitext(value)[1].lower() not in suffixes:
            raise argparse.ArgumentTypeError(f"{value!r} does not end in {', '.join(suffixes)}")
        try:
            check_output(value)
        except OSError as error:
            raise argparse.ArgumentTypeError(str(error)) from None
        return value

    return check


def option_words(message: str) -> str:
    """A library message in command-line words: ``view='cells'`` -> ``--view cells``,
    ``max_nodes=739`` -> ``--max-nodes 739``, without the library's ``draw:``/``render:`` prefix."""
    message = re.sub(r"^(?:(?:draw|render|backward_player): )+", "", message)
    message = re.sub(r"\bview='(\w+)'", r"--view \1", message)
    return re.sub(r"\bmax_nodes=(\d+)", r"--max-nodes \1", message)


LINE_LIMIT = 300  # characters: a long line is cut here, with a note saying how to see all of it


def shorten(text: str, how: str, limit: int | None = LINE_LIMIT) -> str:
    """``text`` with every line longer than ``limit`` characters cut, and a note saying ``how`` to see
    it whole (e.g. "run with --full"). ``limit=None`` leaves the text alone."""
    if limit is None:
        return text
    return "\n".join(
        line if len(line) <= limit else f"{line[:limit]} … [cut: {len(line):,} characters; {how} to see all]"
        for line in text.split("\n")
    )


BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS")


def one_blas_thread() -> contextlib.AbstractContextManager:
    """Run the command's matrix products on one BLAS thread (unless the user chose a thread count).

    The engine's matrices are small (a batch of 64 by 128 hidden units): a second BLAS thread
    has almost nothing to do and spins waiting for work, and on a machine whose cores are
    busy the threads wait for each other. Measured on 2 shared cores (docs/performance.md):
    the char-LM story used 2.4x the CPU time with OpenBLAS's default threads than with one,
    and 7x the CPU and 2.4x the wall time when other jobs kept the cores busy; same numbers.
    """
    if any(os.environ.get(name) for name in BLAS_THREAD_VARIABLES):
        return contextlib.nullcontext()
    from threadpoolctl import threadpool_limits

    return threadpool_limits(1, user_api="blas")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tinygrad-rnn",
        description="See, step through and check backpropagation through time.",
    )
    parser.add_argument("--version", action="version", version=f"tinygrad-rnn {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        child = sub.add_parser(name, help=help_text, description=help_text)
        child.set_defaults(_module=module)
        importlib.import_module(module, __name__).configure(child)
    from ..stories.options import guard_numbers

    guard_numbers(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        with one_blas_thread():
            return int(importlib.import_module(args._module, __name__).run(args) or 0)
    except CLIError as error:
        print(f"tinygrad-rnn {args.command}: {error}", file=sys.stderr)
        return error.code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except OSError as error:
        if error.errno is None:  # not the system's refusal: a bug, keep its traceback
            raise
        # a full disk, a read-only folder, a file in the way: the place, not the program
        print(f"tinygrad-rnn {args.command}: {error.strerror if error.filename is None else error}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
