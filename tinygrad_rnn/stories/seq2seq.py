"""Sequence to sequence: the notes' encoder-decoder, on digit strings.

The encoder reads the source ("12345") and its final state is the whole
summary the decoder gets. The decoder starts from that state and a start
token <s>, and emits one token per step until </s>.

Training uses *teacher forcing*: the decoder's input at step t is the true
token t-1, so every step learns from a correct history. Testing uses
*greedy decoding*: the decoder's input is its own previous argmax, as it
would be in use. Exact match counts a held-out pair as right only when the
whole decoded string equals the target.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from .. import plot
from .common import KINDS, Progress, add_common_options, positive, recurrent, save_results, shuffled_epoch
from .tasks import DigitVocab, digit_pairs, digit_task, distinct_sources


def build(kind: str, vocab_size: int, embed: int, hidden: int):
    """Encoder and decoder: each an embedding and a recurrent layer; the decoder adds a read-out."""
    from .. import nn

    class Seq2Seq(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.source_embedding = nn.Embedding(vocab_size, embed)
            self.encoder = recurrent(kind, embed, hidden)
            self.target_embedding = nn.Embedding(vocab_size, embed)
            self.decoder = recurrent(kind, embed, hidden)
            self.readout = nn.Linear(hidden, vocab_size)

        def encode(self, source):
            _, state = self.encoder(self.source_embedding(source))
            return state

        def decode(self, tokens, state):
            output, state = self.decoder(self.target_embedding(tokens), state)
            return self.readout(output), state

        def forward(self, source, decoder_input):
            logits, _ = self.decode(decoder_input, self.encode(source))
            return logits

    return Seq2Seq()


def greedy_decode(model, source: np.ndarray, max_len: int) -> np.ndarray:
    """Decode a batch (source: (S, N) ids) by feeding back the argmax; returns (max_len, N) ids."""
    from ..autograd import no_grad

    vocab = DigitVocab()
    with no_grad():
        state = model.encode(source)
        token = np.full((1, source.shape[1]), vocab.start)
        out = []
        for _ in range(max_len):
            logits, state = model.decode(token, state)
            token = logits.data.argmax(axis=-1)
            out.append(token[0])
    return np.stack(out)


def exact_match(model, data, vocab: DigitVocab) -> tuple[float, float, list[tuple[str, str, str]]]:
    """Fraction of pairs decoded exactly right, fraction of target digits right in place, and a few examples.

    The examples are (source, target, decoded) triples.
    """
    decoded = greedy_decode(model, data.source, data.decoder_target.shape[0])
    strings = [vocab.decode(decoded[:, j]) for j in range(decoded.shape[1])]
    hits = np.array([s == t for s, t in zip(strings, data.targets)])
    digits = data.decoder_target.shape[0] - 1  # the last target is </s>
    digit_accuracy = float(np.mean(decoded[:digits] == data.decoder_target[:digits]))
    examples = list(zip(data.sources, data.targets, strings))[:5]
    return float(hits.mean()), digit_accuracy, examples


def held_out_pairs(task: str, digits: int, seen: set[str], count: int, rng: np.random.Generator):
    """``count`` *distinct* pairs whose sources are not in ``seen``; refuses when fewer exist.

    Drawing ``count + len(seen)`` different sources without replacement leaves
    at least ``count`` unseen ones, whatever the task's size.
    """
    total = distinct_sources(task, digits)
    possible = total - len(seen)
    if count > possible:
        raise ValueError(f"only {total:,} different {task} sources exist with --digits {digits}, and training "
                         f"saw {len(seen):,} of them, so at most {possible:,} held-out pairs are unseen; "
                         f"ask for --test-size {possible} or fewer, a smaller --train-size, or more --digits")
    codes = rng.choice(total, size=min(total, count + len(seen)), replace=False)
    candidates = digit_pairs(task, codes, digits)
    unseen = np.flatnonzero([s not in seen for s in candidates.sources])[:count]
    return candidates.take(unseen)


def train(
    task: str = "reverse",
    digits: int = 4,
    kind: str = "gru",
    embed: int = 16,
    hidden: int = 64,
    train_size: int = 2000,
    test_size: int = 300,
    epochs: int = 5,
    batch: int = 32,
    lr: float = 0.005,
    seed: int = 0,
    progress: Progress | None = None,
) -> dict:
    """Teacher-forced training with Adam; greedy exact-match accuracy on held-out pairs each epoch."""
    from .. import functional as F
    from .. import nn, optim

    progress = progress or Progress(quiet=True)
    rng = np.random.default_rng(seed)
    nn.manual_seed(seed)
    vocab = DigitVocab()
    train_data = digit_task(task, train_size, digits, rng)
    test_data = held_out_pairs(task, digits, set(train_data.sources), test_size, np.random.default_rng(seed + 1))
    model = build(kind, len(vocab), embed, hidden)
    opt = optim.Adam(model.parameters(), lr=lr)
    losses, accuracies, digit_accuracies = [], [], []

    def batch_loss(pick: np.ndarray):
        logits = model(train_data.source[:, pick], train_data.decoder_input[:, pick])
        return F.cross_entropy(logits.reshape(-1, len(vocab)), train_data.decoder_target[:, pick].reshape(-1))

    for epoch in range(1, epochs + 1):
        mean_loss = shuffled_epoch(model, opt, train_size, batch, rng, batch_loss, clip=1.0)
        accuracy, digit_accuracy, examples = exact_match(model, test_data, vocab)
        losses.append(mean_loss)
        accuracies.append(accuracy)
        digit_accuracies.append(digit_accuracy)
        shown = ", ".join(f"{s}->{d}" for s, _, d in examples[:3])
        progress(f"{task} epoch {epoch:3d}  loss {losses[-1]:.4f}  held-out exact match {accuracy:.1%}, "
                 f"digits {digit_accuracy:.1%}  ({shown})")
    return {"task": task, "digits": digits, "kind": kind, "loss": losses, "accuracy": accuracies,
            "digit_accuracy": digit_accuracies, "final_accuracy": accuracies[-1], "test_pairs": len(test_data.sources),
            "examples": examples}


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--task", choices=("reverse", "add"), default="reverse",
                        help="reverse a digit string, or add two numbers (default reverse)")
    parser.add_argument("--digits", type=int, default=4, help="digits per string / operand (default 4)")
    parser.add_argument("--kind", choices=KINDS, default="gru", help="cell for encoder and decoder (default gru)")
    parser.add_argument("--hidden", type=int, default=64, help="hidden size (default 64)")
    parser.add_argument("--embed", type=int, default=16, help="token embedding size (default 16)")
    parser.add_argument("--train-size", type=int, default=2000, help="training pairs (default 2000)")
    parser.add_argument("--test-size", type=int, default=300, help="held-out pairs, none seen in training")
    parser.add_argument("--epochs", type=int, default=5, help="passes over the training pairs (default 5)")
    parser.add_argument("--lr", type=float, default=0.005, help="Adam learning rate (default 0.005)")
    add_common_options(parser, "seq2seq")


def run(args: argparse.Namespace) -> int:
    positive("--digits, --hidden, --embed, --train-size, --test-size, --epochs and --lr",
             args.digits, args.hidden, args.embed, args.train_size, args.test_size, args.epochs, args.lr)
    progress = Progress(args.quiet)
    try:
        r = train(args.task, args.digits, args.kind, args.embed, args.hidden, args.train_size, args.test_size,
                  args.epochs, lr=args.lr, seed=args.seed, progress=progress)
    except ValueError as error:
        raise SystemExit(f"seq2seq: {error}") from None
    r["seconds"] = round(progress.elapsed, 1)
    epochs = np.arange(1, len(r["loss"]) + 1)
    svg = plot.line_plot({"held-out exact match": (epochs, r["accuracy"]),
                          "held-out digits right": (epochs, r["digit_accuracy"])}, markers=True,
                         title=f"Seq2seq '{args.task}' ({args.digits} digits, {args.kind.upper()})",
                         xlabel="epoch", ylabel="held-out accuracy")
    path = plot.save(svg, Path(args.out) / f"seq2seq_{args.task}.svg")
    save_results(args.out, f"seq2seq_{args.task}", r)
    print(f"held-out exact match ({r['test_pairs']} distinct pairs never seen in training): {r['final_accuracy']:.1%} "
          f"(digits in place: {r['digit_accuracy'][-1]:.1%}) after {len(epochs)} epochs, {r['seconds']:.0f} s")
    for source, target, decoded in r["examples"]:
        print(f"  {source} -> {decoded}  ({'right' if decoded == target else 'want ' + target})")
    print(f"wrote {path}")
    return 0
