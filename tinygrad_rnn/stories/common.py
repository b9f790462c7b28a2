"""Pieces every story shares: building a recurrent layer by name, progress lines, results."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..files import check_output, write_atomic
from .options import guard_numbers

KINDS = ("rnn", "lstm", "gru")


def recurrent(kind: str, input_size: int, hidden_size: int, **options: Any):
    """``tr.nn.RNN``, ``LSTM`` or ``GRU`` by its lowercase name (PyTorch's arguments).

    ``"irnn"`` is Le et al.'s IRNN: ``nn.RNN`` with relu and W_hh initialised to the identity.
    """
    from .. import nn

    layers = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
    if kind == "irnn":
        return nn.RNN(input_size, hidden_size, nonlinearity="relu", hidden_init="identity", **options)
    if kind not in layers:
        raise ValueError(f"unknown cell kind {kind!r}: use one of {', '.join(KINDS)} or irnn")
    return layers[kind](input_size, hidden_size, **options)


def last_hidden(h_n: Any):
    """h_n from a layer's second output: LSTMs return (h_n, c_n), the others h_n."""
    return h_n[0] if isinstance(h_n, tuple) else h_n


class Progress:
    """Prints one line per report, with the seconds since the story started."""

    def __init__(self, quiet: bool = False):
        self.start = time.perf_counter()
        self.quiet = quiet

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def __call__(self, message: str) -> None:
        if not self.quiet:
            print(f"[{self.elapsed:6.1f}s] {message}", flush=True)


class StoryError(ValueError):
    """A story's options or data do not fit (too few sentences, a malformed --inputs, ...).

    ``tinygrad-rnn train`` prints it as one line, ``tinygrad-rnn train: <message>``, exit 1;
    a story run as a script prints it after the script's name.
    """

    code = 1


def seed(value: str) -> int:
    """An argparse type for ``--seed``: a whole number >= 0 (what NumPy's generators accept)."""
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if number < 0:
        raise argparse.ArgumentTypeError(f"{number} is negative: seeds are whole numbers >= 0")
    return number


def output_folder(value: str) -> str:
    """An argparse type for an ``--out`` folder: refused at once (before any training) if a file is
    in the way or the place is not writable; a missing folder is created when the results are written."""
    if not value.strip():  # '' would mean the current folder: a tour's files spread among the user's own
        raise argparse.ArgumentTypeError("an empty name; give a folder, e.g. --out tour (use --out . for this folder)")
    try:
        check_output(value, folder=True)
    except OSError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return value


def add_common_options(parser: argparse.ArgumentParser, name: str) -> None:
    """--seed, --out (default ``tinygrad-rnn-out/<name>``) and --quiet, the same in every story."""
    out = f"tinygrad-rnn-out/{name}"
    parser.add_argument("--seed", type=seed, default=0, help="random seed for data and weights (default 0)")
    parser.add_argument("--out", type=output_folder, default=out,
                        help=f"folder for pictures and results (default {out})")
    parser.add_argument("--quiet", action="store_true", help="print only the final summary")


def script_main(module: Any, argv: list[str] | None = None) -> int:
    """Run a story as a stand-alone script (what the files in ``examples/`` call)."""
    parser = argparse.ArgumentParser(description=module.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    module.configure(parser)
    guard_numbers(parser, "train")
    try:
        return int(module.run(parser.parse_args(argv)) or 0)
    except StoryError as error:
        print(f"{parser.prog}: {error}", file=sys.stderr)
        return error.code


def shuffled_epoch(model: Any, opt: Any, count: int, batch: int, rng: np.random.Generator,
                   batch_loss: Any, clip: float | None = None) -> float:
    """One pass over ``count`` examples in a fresh random order, ``batch`` at a time.

    For each minibatch ``pick`` (an index array): zero the gradients, compute
    ``batch_loss(pick)`` (a scalar Tensor, the mean over the batch), backpropagate,
    optionally clip the gradient norm to ``clip``, and take an optimizer step.
    Returns the epoch's mean loss per example.
    """
    from ..optim import clip_grad_norm_

    order = rng.permutation(count)
    total = 0.0
    for start in range(0, count, batch):
        pick = order[start : start + batch]
        opt.zero_grad()
        loss = batch_loss(pick)
        loss.backward(retain_grads=False)
        if clip is not None:
            clip_grad_norm_(model.parameters(), clip)
        opt.step()
        total += loss.item() * len(pick)
    return total / count


def positive(name: str, *values: float) -> None:
    """Stop with a clear message when a size or count on the command line is not positive."""
    if any(v <= 0 for v in values):
        raise StoryError(f"{name} must be positive")


def save_results(out: str | Path, name: str, results: dict[str, Any]) -> Path:
    """Write the numbers behind a story's pictures as JSON next to them (atomically, see ``write_atomic``)."""
    return write_atomic(Path(out) / f"{name}.json", json.dumps(results, indent=2, default=_plain) + "\n")


def _plain(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")
