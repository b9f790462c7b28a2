"""Many-to-one: sentiment classification where word order decides the label.

The notes' "sentiment classification": read a whole sentence, output one
label. The sentences come from a small generated grammar (no download) built
so that the words alone cannot decide: "the film was not bad" is positive,
"the film was not good at all" negative; "good acting but a dull plot" is
negative and "dull acting but a good plot" positive, with the same bag of
words; with "although", the main clause decides wherever it stands.

A bag-of-words model (the mean of the word embeddings, one hidden layer)
sees which words occur but not in what order. The recurrent models read the
words in order and classify from the last hidden state h_T, their summary of
the sentence. Held-out accuracy is measured on sentences never seen in
training, for each kind of sentence (plain, negation, contrast).

Saliency: for a few held-out sentences, |d logit / d x_t|, the size of the
gradient of the positive-vs-negative logit with respect to each word's input
vector x_t (its embedding): which words the decision is most sensitive to.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from viz import plot

from .common import (
    KINDS,
    Progress,
    StoryError,
    add_common_options,
    last_hidden,
    positive,
    recurrent,
    save_results,
    shuffled_epoch,
)
from .tasks import SENTIMENT_KINDS, SentimentVocab, sentiment_sentences

MODELS = ("bow", *KINDS)
NAMES = {"bow": "bag of words", "rnn": "RNN", "lstm": "LSTM", "gru": "GRU"}


def build(model: str, vocab_size: int, embed: int, hidden: int):
    """``bow``: mean of the embeddings -> tanh layer -> 2 logits; a cell kind: its last h_T -> 2 logits.

    ``forward(words, lengths, embedded=None)`` returns the logits (N, 2); it
    also takes precomputed ``embedded`` inputs (T, N, embed), for saliency.
    """
    from .. import nn
    from ..tensor import Tensor

    class BagOfWords(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embedding = nn.Embedding(vocab_size, embed)
            self.hidden = nn.Linear(embed, hidden)
            self.readout = nn.Linear(hidden, 2)

        def forward(self, words, lengths, embedded=None):
            x = self.embedding(words) if embedded is None else embedded
            real = (np.arange(x.shape[0])[:, None] < np.asarray(lengths)[None, :])[:, :, None]
            mean = (x * Tensor(real / np.asarray(lengths)[None, :, None])).sum(axis=0)
            return self.readout(self.hidden(mean).tanh())

    class Reader(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embedding = nn.Embedding(vocab_size, embed)
            self.rnn = recurrent(model, embed, hidden)
            self.readout = nn.Linear(hidden, 2)

        def forward(self, words, lengths, embedded=None):
            x = self.embedding(words) if embedded is None else embedded
            _, state = self.rnn(x, lengths=lengths)
            return self.readout(last_hidden(state)[0])

    if model == "bow":
        return BagOfWords()
    if model in KINDS:
        return Reader()
    raise ValueError(f"unknown model {model!r}: use one of {', '.join(MODELS)}")


def predict(model, data) -> np.ndarray:
    """The predicted labels (1 positive, 0 negative)."""
    from ..graph import no_grad

    with no_grad():
        return model(data.words, data.lengths).data.argmax(axis=1)


def accuracy(model, data) -> dict[str, float]:
    """Held-out accuracy overall and for each kind of sentence."""
    right = predict(model, data) == data.labels
    kinds = np.array(data.kinds)
    result = {"all": float(right.mean())}
    result.update({k: float(right[kinds == k].mean()) for k in SENTIMENT_KINDS if np.any(kinds == k)})
    return result


def saliency(model, data) -> list[np.ndarray]:
    """|d logit / d x_t| per word of each sentence; logit = z_positive - z_negative.

    Each sentence's logit depends only on its own words, so one backward pass
    of the summed logits leaves every sentence's own gradient on x.
    """
    x = model.embedding(data.words)
    logits = model(data.words, data.lengths, embedded=x)
    (logits[:, 1] - logits[:, 0]).sum().backward()
    size = np.sqrt((x.grad**2).sum(axis=-1))  # (T, N)
    return [size[: data.lengths[j], j] for j in range(len(data.sentences))]


def train_one(model_name: str, train_data, test_data, embed: int = 16, hidden: int = 32, epochs: int = 10,
              batch: int = 32, lr: float = 0.01, seed: int = 0, progress: Progress | None = None) -> dict:
    """Fit one model with Adam on cross-entropy; held-out accuracy (overall, per kind) after each epoch."""
    from .. import functional as F
    from .. import nn, optim

    progress = progress or Progress(quiet=True)
    rng = np.random.default_rng(seed)
    nn.manual_seed(seed)
    model = build(model_name, len(SentimentVocab()), embed, hidden)
    opt = optim.Adam(model.parameters(), lr=lr)
    count = len(train_data.sentences)
    started = time.perf_counter()
    losses, curve = [], []

    def batch_loss(pick: np.ndarray):
        part = train_data.take(pick)
        return F.cross_entropy(model(part.words, part.lengths), part.labels)

    for epoch in range(1, epochs + 1):
        losses.append(shuffled_epoch(model, opt, count, batch, rng, batch_loss, clip=1.0))
        curve.append(accuracy(model, test_data))
        shown = ", ".join(f"{k} {v:.1%}" for k, v in curve[-1].items() if k != "all")
        progress(f"{NAMES[model_name]:12s} epoch {epoch:2d}  loss {losses[-1]:.4f}  held-out accuracy "
                 f"{curve[-1]['all']:.1%} ({shown})")
    return {"model": model_name, "loss": losses, "accuracy": curve, "final": curve[-1],
            "seconds": round(time.perf_counter() - started, 1), "network": model}


def pick_examples(data, count: int = 6) -> np.ndarray:
    """Held-out sentences to show: the same number of each kind, in order."""
    kinds = np.array(data.kinds)
    per = max(1, count // len(SENTIMENT_KINDS))
    return np.concatenate([np.flatnonzero(kinds == k)[:per] for k in SENTIMENT_KINDS])


def format_table(runs: list[dict]) -> str:
    """A Markdown table: held-out accuracy of each model, overall and by kind of sentence."""
    lines = ["| model | all | " + " | ".join(SENTIMENT_KINDS) + " | time |",
             "|---|---:|" + "---:|" * len(SENTIMENT_KINDS) + "---:|"]
    for r in runs:
        cells = " | ".join(f"{r['final'].get(k, float('nan')):.1%}" for k in SENTIMENT_KINDS)
        lines.append(f"| {NAMES[r['model']]} | {r['final']['all']:.1%} | {cells} | {r['seconds']:.0f} s |")
    return "\n".join(lines)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS),
                        help="models to compare (default: bow rnn lstm gru)")
    parser.add_argument("--saliency-model", choices=KINDS, default="lstm",
                        help="whose per-word saliency to draw (default lstm)")
    parser.add_argument("--embed", type=int, default=16, help="word embedding size (default 16)")
    parser.add_argument("--hidden", type=int, default=32, help="hidden size (default 32)")
    parser.add_argument("--train-size", type=int, default=3000, help="training sentences (default 3000)")
    parser.add_argument("--test-size", type=int, default=600, help="held-out sentences, none seen in training")
    parser.add_argument("--epochs", type=int, default=10, help="passes over the training sentences (default 10)")
    parser.add_argument("--lr", type=float, default=0.01, help="Adam learning rate (default 0.01)")
    add_common_options(parser, "sentiment")


def run(args: argparse.Namespace) -> int:
    positive("--embed, --hidden, --train-size, --test-size, --epochs and --lr",
             args.embed, args.hidden, args.train_size, args.test_size, args.epochs, args.lr)
    progress = Progress(args.quiet)
    rng = np.random.default_rng(args.seed)
    try:
        train_data = sentiment_sentences(args.train_size, rng)
        test_data = sentiment_sentences(args.test_size, rng, exclude=set(train_data.sentences))
    except ValueError as error:
        raise StoryError(f"sentiment: {error}; ask for fewer --train-size or --test-size sentences") from None
    progress(f"{args.train_size} training and {args.test_size} held-out sentences (none in both), "
             f"{len(SentimentVocab())} words; e.g. '{train_data.sentences[0]}' -> "
             f"{'positive' if train_data.labels[0] else 'negative'}")
    models = list(dict.fromkeys([*args.models, args.saliency_model]))
    runs = [train_one(m, train_data, test_data, args.embed, args.hidden, args.epochs, lr=args.lr, seed=args.seed,
                      progress=progress) for m in models]
    shown = test_data.take(pick_examples(test_data))
    network = next(r["network"] for r in runs if r["model"] == args.saliency_model)
    values = saliency(network, shown)
    predicted = predict(network, shown)
    out = Path(args.out)
    rows = [s.split() for s in shown.sentences]
    notes = [f"{'+' if p else '-'} (true {'+' if t else '-'})" for p, t in zip(predicted, shown.labels)]
    picture = plot.save(plot.word_saliency(
        rows, values, notes, title=f"{NAMES[args.saliency_model]}: |d logit / d x_t| for each word "
                                   f"(darker = the decision is more sensitive to it)"), out / "sentiment_saliency.svg")
    epochs = np.arange(1, args.epochs + 1)
    curve = plot.save(plot.line_plot({NAMES[r["model"]]: (epochs, [a["all"] for a in r["accuracy"]]) for r in runs},
                                     title="Sentiment: held-out accuracy", xlabel="epoch", ylabel="accuracy",
                                     markers=True, hlines={"chance": 0.5}), out / "sentiment_accuracy.svg")
    save_results(out, "sentiment", {
        "runs": [{k: v for k, v in r.items() if k != "network"} for r in runs],
        "saliency": {"model": args.saliency_model, "sentences": shown.sentences,
                     "labels": shown.labels, "predicted": predicted, "values": values}})
    print(format_table([r for r in runs if r["model"] in args.models]))
    for words, v, note in zip(rows, values, notes):
        strongest = words[int(np.argmax(v))]
        print(f"  {' '.join(words)}  {note}; most salient word: {strongest!r}")
    print(f"wrote {picture}\nwrote {curve}")
    return 0

