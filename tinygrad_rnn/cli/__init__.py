"""The ``tinygrad-rnn`` command: one subcommand per job, each with ``--help``.

Each subcommand lives in its own module, imported only when it runs (so
``tinygrad-rnn --help`` is fast and ``tinygrad_rnn`` never imports ``viz`` at
import time). A subcommand module provides ``configure(parser)`` and
``run(args) -> int``.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# name -> (module in this package, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "tour": (".tour", "write a browsable folder: graphs, backward player, BPTT, training, gradients"),
    "demo": (".demo", "unroll a tiny RNN, backpropagate, and print W_hh's gradient per time step"),
    "train": (".train", "run a story from the notes: char-lm, adding, sine, seq2seq, slot-filling, ..."),
    "render": (".render", "draw the unrolled graph of a small RNN/LSTM/GRU to .svg/.png/.dot"),
    "step": (".step", "step through the backward pass node by node (a pdb-like prompt)"),
    "derive": (".derive", "derive BPTT's recurrence and closed form in SymPy; --check it against autograd"),
    "bench": (".bench", "time forward + backward against NumPy by hand and PyTorch; memory; scaling"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tinygrad-rnn",
        description="See, step through and check backpropagation through time.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        child = sub.add_parser(name, help=help_text, description=help_text)
        child.set_defaults(_module=module)
        importlib.import_module(module, __name__).configure(child)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return int(importlib.import_module(args._module, __name__).run(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
