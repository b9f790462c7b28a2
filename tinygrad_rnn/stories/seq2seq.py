"""Sequence to sequence: the notes' encoder-decoder, on digit strings.

The encoder reads the source ("12345") and its final state is the whole
summary the decoder gets. The decoder starts from that state and a start
token <s>, and emits one token per step until </s>.

Training uses *teacher forcing*: the decoder's input at step t is the true
token t-1, so every step learns from a correct history. Testing uses
*greedy decoding*: the decoder's input is its own previous argmax, as it
would be in use. Exact match counts a held-out pair as right only when the
whole decoded string equals the target.

``--attention`` removes the bottleneck the notes point at: at every step the
decoder also reads a context vector, an additive (Bahdanau) attention
average of all the encoder's states, weighted by how well each matches the
decoder's current state. ``--bidirectional`` lets each encoder state see the
whole source. The run then also draws the attention weights of a held-out
pair, and the cells view of a small encoder whose loss reaches its first
input through all the steps (no attention) or directly (attention).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from viz import plot

from ..graph import scope
from ..ops import stack
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
from .tasks import DigitVocab, digit_pairs, digit_task, distinct_sources


def additive_attention(attention_size: int, query_size: int, key_size: int):
    """Bahdanau et al.'s additive attention, from engine primitives.

    For a decoder state s (the query) and encoder states h_1..h_S (the keys,
    also the values):

        e_i = v . tanh(W_q s + W_k h_i)        a score per encoder step
        alpha = softmax(e_1..e_S)              weights, >= 0, summing to 1
        c = sum_i alpha_i h_i                  the context vector

    ``precompute(keys)`` does W_k h_i for all i once per sequence;
    ``attention(query, keys, projected) -> (context, alpha)`` with query
    (N, query_size), keys (S, N, key_size), alpha (S, N).
    """
    from .. import functional as F
    from .. import nn

    class AdditiveAttention(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.query = nn.Linear(query_size, attention_size, bias=False)
            self.key = nn.Linear(key_size, attention_size)
            self.score = nn.Linear(attention_size, 1, bias=False)

        def precompute(self, keys):
            return self.key(keys)

        def forward(self, query, keys, projected=None):
            projected = self.precompute(keys) if projected is None else projected
            S, N = keys.shape[0], keys.shape[1]
            with scope("attention"):
                scores = self.score((projected + self.query(query)).tanh()).reshape(S, N)
                alpha = F.softmax(scores, axis=0)
                context = (alpha.reshape(S, N, 1) * keys).sum(axis=0)
            return context, alpha

    return AdditiveAttention()


def build(kind: str, vocab_size: int, embed: int, hidden: int, attention: bool = False,
          bidirectional: bool = False):
    """Encoder and decoder: each an embedding and a recurrent layer; the decoder adds a read-out.

    ``attention``: at every step the decoder also reads a context vector, an
    additive-attention average of all encoder states (see
    ``additive_attention``), and the read-out sees it too. ``bidirectional``:
    the encoder reads the source both ways; each encoder state is then both
    directions side by side, and the decoder starts from the sum of the two
    final states.
    """
    from .. import nn
    from ..ops import concat

    if attention:
        return _build_attentive(kind, vocab_size, embed, hidden, bidirectional, nn, concat)

    class Seq2Seq(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.source_embedding = nn.Embedding(vocab_size, embed)
            self.encoder = recurrent(kind, embed, hidden, bidirectional=bidirectional)
            self.target_embedding = nn.Embedding(vocab_size, embed)
            self.decoder = recurrent(kind, embed, hidden)
            self.readout = nn.Linear(hidden, vocab_size)

        def encode(self, source):
            _, state = self.encoder(self.source_embedding(source))
            return merge_directions(state)

        def decode(self, tokens, state):
            output, state = self.decoder(self.target_embedding(tokens), state)
            return self.readout(output), state

        def forward(self, source, decoder_input):
            logits, _ = self.decode(decoder_input, self.encode(source))
            return logits

    return Seq2Seq()


def merge_directions(state):
    """A (bidirectional) encoder's final state as a one-layer decoder's start: the directions summed."""
    if isinstance(state, tuple):
        return tuple(merge_directions(s) for s in state)
    return state if state.shape[0] == 1 else state.sum(axis=0, keepdims=True)


def _build_attentive(kind: str, vocab_size: int, embed: int, hidden: int, bidirectional: bool, nn, concat):
    """The encoder-decoder with additive attention (see ``build``); the decoder runs one step at a time."""
    memory_size = hidden * (2 if bidirectional else 1)

    class AttentiveSeq2Seq(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.source_embedding = nn.Embedding(vocab_size, embed)
            self.encoder = recurrent(kind, embed, hidden, bidirectional=bidirectional)
            self.attention = additive_attention(hidden, hidden, memory_size)
            self.target_embedding = nn.Embedding(vocab_size, embed)
            self.decoder = recurrent(kind, embed + memory_size, hidden)
            self.readout = nn.Linear(hidden + memory_size, vocab_size)

        def encode(self, source):
            """(encoder states (S, N, memory), their attention keys, the decoder's start state)."""
            memory, state = self.encoder(self.source_embedding(source))
            return memory, self.attention.precompute(memory), merge_directions(state)

        def decode(self, tokens, encoded, keep_weights: list | None = None):
            """Decode (L, N) input tokens step by step; logits (L, N, V). Appends each step's alpha to keep_weights."""
            memory, keys, state = encoded
            embedded = self.target_embedding(tokens)
            logits = []
            for t in range(tokens.shape[0]):
                with scope(f"decoder_step{t + 1}"):
                    query = last_hidden(state)[0]
                    context, alpha = self.attention(query, memory, keys)
                    output, state = self.decoder(concat([embedded[t], context], axis=1).reshape(1, -1, embed
                                                                                                + memory_size), state)
                    logits.append(self.readout(concat([output[0], context], axis=1)))
                if keep_weights is not None:
                    keep_weights.append(alpha.data)
            return stack(logits, axis=0), (memory, keys, state)

        def forward(self, source, decoder_input):
            logits, _ = self.decode(decoder_input, self.encode(source))
            return logits

    return AttentiveSeq2Seq()


def greedy_decode(model, source: np.ndarray, max_len: int, weights: list | None = None) -> np.ndarray:
    """Decode a batch (source: (S, N) ids) by feeding back the argmax; returns (max_len, N) ids.

    With an attention model, ``weights`` (a list) receives each output step's
    attention weights, (S, N) each.
    """
    from ..graph import no_grad

    vocab = DigitVocab()
    keep = {} if weights is None else {"keep_weights": weights}
    with no_grad():
        state = model.encode(source)
        token = np.full((1, source.shape[1]), vocab.start)
        out = []
        for _ in range(max_len):
            logits, state = model.decode(token, state, **keep)
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
    attention: bool = False,
    bidirectional: bool = False,
) -> dict:
    """Teacher-forced training with Adam; greedy exact-match accuracy on held-out pairs each epoch.

    ``attention`` and ``bidirectional`` choose the model (see ``build``); an
    attention model's result also holds ``weights``: the attention weights of
    the first held-out pair, one row per output step.
    """
    from .. import functional as F
    from .. import nn, optim

    progress = progress or Progress(quiet=True)
    rng = np.random.default_rng(seed)
    nn.manual_seed(seed)
    vocab = DigitVocab()
    train_data = digit_task(task, train_size, digits, rng)
    test_data = held_out_pairs(task, digits, set(train_data.sources), test_size, np.random.default_rng(seed + 1))
    model = build(kind, len(vocab), embed, hidden, attention, bidirectional)
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
    result = {"task": task, "digits": digits, "kind": kind, "attention": attention, "bidirectional": bidirectional,
              "loss": losses, "accuracy": accuracies, "digit_accuracy": digit_accuracies,
              "final_accuracy": accuracies[-1], "test_pairs": len(test_data.sources), "examples": examples}
    if attention:
        weights: list = []
        first = test_data.take([0])
        decoded = greedy_decode(model, first.source, first.decoder_target.shape[0], weights)
        result["weights"] = np.stack([w[:, 0] for w in weights])  # (output steps, source steps)
        result["weights_example"] = (first.sources[0], vocab.decode(decoded[:, 0]), first.targets[0])
    return result


def gradient_path(attention: bool, steps: int = 6, seed: int = 0) -> tuple:
    """A small tanh encoder over ``steps`` random inputs and a loss read from its end, with or without attention.

    Without attention the loss sees only the final state h_S (the summary an
    encoder-decoder's decoder starts from), so the gradient reaching x_1 goes
    back through all S steps. With attention it also sees the context
    sum_i alpha_i h_i, which reads h_1 directly: one step from the loss.
    Returns (loss, x, ||dL/dx_1||) after backward.
    """
    from .. import nn
    from ..tensor import Tensor

    nn.manual_seed(seed)
    encoder = nn.RNN(2, 3)
    attend = additive_attention(3, 3, 3)
    x = Tensor(np.random.default_rng(seed).standard_normal((steps, 1, 2)), requires_grad=True, name="x")
    states, h_n = encoder(x)
    summary = h_n[0]
    loss = (attend(summary, states)[0] + summary).sum() if attention else summary.sum()
    loss.backward()
    return loss, x, float(np.linalg.norm(x.grad[0]))


def draw_gradient_paths(out: Path) -> dict[str, tuple[Path, float]]:
    """The cells view of ``gradient_path`` with and without attention, coloured by gradient norm."""
    import viz

    drawn = {}
    for attention in (False, True):
        loss, _, norm = gradient_path(attention)
        path = out / f"seq2seq_gradient_path_{'attention' if attention else 'no_attention'}.svg"
        path.parent.mkdir(parents=True, exist_ok=True)
        viz.render(viz.draw(loss, view="cells", grads=True), path)
        drawn["attention" if attention else "no attention"] = (path, norm)
    return drawn


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
    parser.add_argument("--attention", action="store_true",
                        help="additive (Bahdanau) attention over the encoder states at every decoder step")
    parser.add_argument("--bidirectional", action="store_true", help="a bidirectional encoder")
    add_common_options(parser, "seq2seq")


def run(args: argparse.Namespace) -> int:
    positive("--digits, --hidden, --embed, --train-size, --test-size, --epochs and --lr",
             args.digits, args.hidden, args.embed, args.train_size, args.test_size, args.epochs, args.lr)
    progress = Progress(args.quiet)
    try:
        r = train(args.task, args.digits, args.kind, args.embed, args.hidden, args.train_size, args.test_size,
                  args.epochs, lr=args.lr, seed=args.seed, progress=progress, attention=args.attention,
                  bidirectional=args.bidirectional)
    except ValueError as error:
        raise StoryError(f"seq2seq: {error}") from None
    r["seconds"] = round(progress.elapsed, 1)
    epochs = np.arange(1, len(r["loss"]) + 1)
    model = args.kind.upper() + (", attention" if args.attention else "") + (
        ", bidirectional encoder" if args.bidirectional else "")
    svg = plot.line_plot({"held-out exact match": (epochs, r["accuracy"]),
                          "held-out digits right": (epochs, r["digit_accuracy"])}, markers=True,
                         title=f"Seq2seq '{args.task}' ({args.digits} digits, {model})",
                         xlabel="epoch", ylabel="held-out accuracy")
    name = f"seq2seq_{args.task}" + ("_attention" if args.attention else "")
    path = plot.save(svg, Path(args.out) / f"{name}.svg")
    save_results(args.out, name, r)
    print(f"held-out exact match ({r['test_pairs']} distinct pairs never seen in training): {r['final_accuracy']:.1%} "
          f"(digits in place: {r['digit_accuracy'][-1]:.1%}) after {len(epochs)} epochs, {r['seconds']:.0f} s")
    for source, target, decoded in r["examples"]:
        print(f"  {source} -> {decoded}  ({'right' if decoded == target else 'want ' + target})")
    print(f"wrote {path}")
    if args.attention:
        source, decoded, target = r["weights_example"]
        heat = plot.heatmap(r["weights"], title=f"Attention weights: {source} -> {decoded}"
                            + ("" if decoded == target else f" (want {target})"),
                            xlabel="source token (encoder step)", ylabel="output token (decoder step)",
                            colour_label="alpha",
                            xticks=list(source), yticks=[*target, "</s>"], width=520, height=420)
        print(f"wrote {plot.save(heat, Path(args.out) / f'{name}_weights.svg')}")
        drawn = draw_gradient_paths(Path(args.out))
        print("gradient reaching the first encoder input, ||dL/dx_1||, in a 6-step tanh encoder: "
              + ", ".join(f"{k} {norm:.3g}" for k, (_, norm) in drawn.items()))
        for picture, _ in drawn.values():
            print(f"wrote {picture}")
    return 0
