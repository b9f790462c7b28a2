"""Slot filling, the notes' motivating example: the same word, a different slot.

In "arrive taipei on november 2nd" taipei is the *destination*; in "leave
taipei on november 2nd" it is the *departure*. A feed-forward network that
labels each word from that word alone sees the same input "taipei" both
times, so on city words it can do no better than guess between the two
slots. A recurrent network carries the context: a forward RNN has read
"arrive" or "leave" before it reaches the city, and a bidirectional one also
reads the cue that comes *after* it ("taipei is where i arrive").
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from .common import Progress, add_common_options, positive, save_results, shuffled_epoch
from .tasks import SLOTS, SlotVocab, slot_sentences

MODELS = ("feedforward", "rnn", "birnn")


def build(model: str, vocab_size: int, embed: int, hidden: int):
    """``feedforward``: each word alone; ``rnn``: left context; ``birnn``: both sides."""
    from .. import nn

    classes = len(SLOTS)

    class WordByWord(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embedding = nn.Embedding(vocab_size, embed)
            self.hidden = nn.Linear(embed, hidden)
            self.readout = nn.Linear(hidden, classes)

        def forward(self, words, lengths):
            return self.readout(self.hidden(self.embedding(words)).tanh())

    class Tagger(nn.Module):
        def __init__(self, bidirectional: bool) -> None:
            super().__init__()
            self.embedding = nn.Embedding(vocab_size, embed)
            self.rnn = nn.RNN(embed, hidden, bidirectional=bidirectional)
            self.readout = nn.Linear(hidden * (2 if bidirectional else 1), classes)

        def forward(self, words, lengths):
            output, _ = self.rnn(self.embedding(words), lengths=lengths)
            return self.readout(output)

    if model == "feedforward":
        return WordByWord()
    if model in ("rnn", "birnn"):
        return Tagger(bidirectional=model == "birnn")
    raise ValueError(f"unknown model {model!r}: use one of {', '.join(MODELS)}")


def accuracies(model, data) -> dict[str, float]:
    """Token accuracy over all words, and over the city words (destination or departure) alone."""
    from ..graph import no_grad

    with no_grad():
        predicted = model(data.words, data.lengths).data.argmax(axis=-1)
    real = data.labels != data.ignore
    city = (data.labels == SLOTS.index("destination")) | (data.labels == SLOTS.index("departure"))
    right = predicted == data.labels
    return {"all words": float(right[real].mean()), "city words": float(right[city].mean())}


def train(
    model_name: str,
    embed: int = 16,
    hidden: int = 32,
    train_size: int = 1000,
    test_size: int = 400,
    epochs: int = 5,
    batch: int = 32,
    lr: float = 0.01,
    seed: int = 0,
    progress: Progress | None = None,
) -> dict:
    """Fit one tagger with Adam on generated sentences; score held-out sentences each epoch."""
    from .. import functional as F
    from .. import nn, optim

    progress = progress or Progress(quiet=True)
    rng = np.random.default_rng(seed)
    nn.manual_seed(seed)
    vocab = SlotVocab()
    train_data = slot_sentences(train_size, rng)
    test_data = slot_sentences(test_size, np.random.default_rng(seed + 1))
    model = build(model_name, len(vocab), embed, hidden)
    opt = optim.Adam(model.parameters(), lr=lr)
    history = []

    def batch_loss(pick: np.ndarray):
        width = int(train_data.lengths[pick].max())
        words, labels = train_data.words[:width, pick], train_data.labels[:width, pick]
        logits = model(words, train_data.lengths[pick])
        return F.cross_entropy(logits.reshape(-1, len(SLOTS)), labels.reshape(-1), ignore_index=train_data.ignore)

    for epoch in range(1, epochs + 1):
        loss = shuffled_epoch(model, opt, train_size, batch, rng, batch_loss)
        scores = accuracies(model, test_data)
        history.append(scores)
        progress(f"{model_name:11s} epoch {epoch:2d}  loss {loss:.4f}  held-out accuracy: "
                 f"all words {scores['all words']:.1%}, city words {scores['city words']:.1%}")
    return {"model": model_name, "history": history, "final": history[-1]}


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS), help="models to compare")
    parser.add_argument("--hidden", type=int, default=32, help="hidden size (default 32)")
    parser.add_argument("--embed", type=int, default=16, help="word embedding size (default 16)")
    parser.add_argument("--train-size", type=int, default=1000, help="training sentences (default 1000)")
    parser.add_argument("--test-size", type=int, default=400, help="held-out sentences (default 400)")
    parser.add_argument("--epochs", type=int, default=5, help="passes over the training sentences")
    parser.add_argument("--lr", type=float, default=0.01, help="Adam learning rate")
    add_common_options(parser, "slot-filling")


def run(args: argparse.Namespace) -> int:
    positive("--hidden, --embed, --train-size, --test-size, --epochs and --lr",
             args.hidden, args.embed, args.train_size, args.test_size, args.epochs, args.lr)
    progress = Progress(args.quiet)
    example = slot_sentences(2, np.random.default_rng(args.seed))
    for j, sentence in enumerate(example.sentences):
        tags = [SLOTS[t] for t in example.labels[: example.lengths[j], j]]
        progress("example: " + " ".join(f"{w}/{t}" for w, t in zip(sentence.split(), tags)))
    results = [train(m, args.embed, args.hidden, args.train_size, args.test_size, args.epochs, lr=args.lr,
                     seed=args.seed, progress=progress) for m in args.models]
    save_results(Path(args.out), "slot_filling", {"runs": results})
    print(format_table(results))
    return 0


def format_table(results: list[dict]) -> str:
    """Markdown: held-out accuracy of each model on all words and on the ambiguous city words."""
    names = {"feedforward": "feed-forward, one word at a time", "rnn": "RNN (left context)",
             "birnn": "bidirectional RNN"}
    lines = ["| model | all words | city words (destination vs departure) |", "|---|---:|---:|"]
    for r in results:
        f = r["final"]
        lines.append(f"| {names[r['model']]} | {f['all words']:.1%} | {f['city words']:.1%} |")
    return "\n".join(lines)
