"""Long-range memory: Hochreiter & Schmidhuber's adding problem, RNN vs LSTM vs GRU.

A sequence of T (value, marker) pairs; the answer is the sum of the two
marked values, the first marked in the first half, the second in the second.
The gradient that teaches the network to keep the first value must travel
back up to T steps. Predicting the mean scores MSE 1/6 = 0.167; a model that
has learned to remember scores far below it.

What to expect with the defaults (T = 50, 1,000 steps, seed 0): the GRU
solves it first (a few hundred steps), the LSTM later (most of the 1,000),
and the vanilla tanh RNN never leaves the baseline. Both gated cells sit on
the baseline for a while and then drop: until the gradient that links the
answer to the first marked value grows large enough, there is nothing to
follow. For the tanh RNN that gradient is a product of ~T Jacobians that
shrinks exponentially with distance (``tinygrad-rnn train gradient-flow``
shows it), so it stays lost. Longer T needs more steps for every cell.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from viz import plot

from .common import KINDS, Progress, StoryError, add_common_options, positive, recurrent, save_results
from .tasks import ADDING_BASELINE_MSE, adding_problem


def build(kind: str, hidden: int):
    """A recurrent layer reading (value, marker) pairs and a linear read-out of its last h_T."""
    from .. import nn

    class Adder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.rnn = recurrent(kind, 2, hidden)
            self.head = nn.Linear(hidden, 1)

        def forward(self, x):
            output, _ = self.rnn(x)
            return self.head(output[-1])

    return Adder()


def train_one(
    kind: str,
    length: int,
    hidden: int = 32,
    steps: int = 1000,
    batch: int = 32,
    lr: float = 0.01,
    clip: float = 1.0,
    eval_every: int = 50,
    test_size: int = 500,
    seed: int = 0,
    progress: Progress | None = None,
    solved_mse: float = 0.01,
    model=None,
) -> dict:
    """Train one cell kind on sequences of ``length`` with Adam; held-out MSE every ``eval_every`` steps.

    Training stops early once the held-out MSE is below ``solved_mse`` (the
    task counts as solved: both numbers are remembered to within ~0.1).
    Pass ``model`` (from ``build``) to keep hold of the trained network.
    """
    from .. import functional as F
    from .. import nn, optim
    from ..graph import no_grad
    from ..tensor import Tensor

    progress = progress or Progress(quiet=True)
    rng = np.random.default_rng(seed)
    nn.manual_seed(seed)
    model = model if model is not None else build(kind, hidden)
    opt = optim.Adam(model.parameters(), lr=lr)
    test_x, test_y = adding_problem(test_size, length, np.random.default_rng(seed + 10_000))
    test_x = Tensor(test_x)
    curve_steps, curve_mse = [], []
    for step in range(1, steps + 1):
        x, y = adding_problem(batch, length, rng)
        opt.zero_grad()
        loss = F.mse_loss(model(Tensor(x)), y)
        loss.backward(retain_grads=False)
        optim.clip_grad_norm_(model.parameters(), clip)
        opt.step()
        if step % eval_every == 0 or step == steps:
            with no_grad():
                mse = float(F.mse_loss(model(test_x), test_y).item())
            curve_steps.append(step)
            curve_mse.append(mse)
            progress(f"{kind:4s} T={length:<4d} step {step:5d}  train MSE {loss.item():.4f}  held-out MSE {mse:.4f}")
            if mse < solved_mse:
                break
    solved = curve_mse[-1] < solved_mse
    return {"kind": kind, "T": length, "steps": curve_steps, "mse": curve_mse, "final_mse": curve_mse[-1],
            "solved_at": curve_steps[-1] if solved else None, "max_steps": steps}


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--lengths", type=int, nargs="+", default=[50], help="sequence lengths T (default 50)")
    parser.add_argument("--kinds", nargs="+", choices=(*KINDS, "irnn"), default=list(KINDS),
                        help="cells to compare (default rnn lstm gru; irnn: relu RNN with identity W_hh)")
    parser.add_argument("--hidden", type=int, default=32, help="hidden size (default 32)")
    parser.add_argument("--steps", type=int, default=1000, help="training steps per run (default 1000)")
    parser.add_argument("--batch", type=int, default=32, help="sequences per step (default 32)")
    parser.add_argument("--lr", type=float, default=0.01, help="Adam learning rate (default 0.01)")
    parser.add_argument("--clip", type=float, default=1.0, help="max gradient norm (default 1.0)")
    parser.add_argument("--eval-every", type=int, default=50, help="steps between held-out evaluations")
    parser.add_argument("--solved-mse", type=float, default=0.01,
                        help="stop a run once its held-out MSE is below this (default 0.01)")
    add_common_options(parser, "adding")


def run(args: argparse.Namespace) -> int:
    positive("--hidden, --steps, --batch, --lr, --clip, --eval-every and --solved-mse",
             args.hidden, args.steps, args.batch, args.lr, args.clip, args.eval_every, args.solved_mse)
    if any(t < 2 for t in args.lengths):
        raise StoryError("--lengths: every T must be at least 2")
    progress = Progress(args.quiet)
    progress(f"adding problem: predict-the-mean baseline MSE = {ADDING_BASELINE_MSE:.3f}")
    progress(EXPECT)
    runs = []
    for length in args.lengths:
        for kind in args.kinds:
            started = progress.elapsed
            result = train_one(kind, length, args.hidden, args.steps, args.batch, args.lr, args.clip,
                               args.eval_every, seed=args.seed, progress=progress, solved_mse=args.solved_mse)
            result["seconds"] = round(progress.elapsed - started, 1)
            runs.append(result)
    out = Path(args.out)
    pictures = []
    for length in args.lengths:
        series = {r["kind"].upper(): (r["steps"], r["mse"]) for r in runs if r["T"] == length}
        svg = plot.line_plot(series, title=f"Adding problem, T = {length}: held-out MSE", xlabel="training step",
                             ylabel="mean squared error", logy=True, hlines={"predict the mean": ADDING_BASELINE_MSE})
        pictures.append(plot.save(svg, out / f"adding_T{length}.svg"))
    table = format_table(runs)
    name = "adding_T" + "_".join(map(str, args.lengths))
    save_results(out, name, {"baseline_mse": ADDING_BASELINE_MSE, "runs": runs})
    print(table)
    print(verdict(runs))
    for p in pictures:
        print(f"wrote {p}")
    return 0


EXPECT = ("expect (T = 50, 1,000 steps): GRU solves it first, LSTM later, the tanh RNN stays at the baseline "
          "(its gradient vanishes over T steps)")


def verdict(runs: list[dict]) -> str:
    """One line a learner can act on: which runs solved it, and what the unsolved ones mean."""
    solved = [f"{r['kind'].upper()} (T={r['T']})" for r in runs if r.get("solved_at")]
    stuck = [f"{r['kind'].upper()} (T={r['T']})" for r in runs if not r.get("solved_at")]
    line = f"solved: {', '.join(solved) or 'none'}."
    if stuck:
        line += (f" Not solved: {', '.join(stuck)}. A tanh RNN is expected to stay near the baseline; a gated cell "
                 f"sits on it for a while, then drops: give it more --steps.")
    return line


def format_table(runs: list[dict]) -> str:
    """A Markdown table: one row per cell kind, one column per T: held-out MSE, and when it was solved."""
    lengths = sorted({r["T"] for r in runs})
    kinds = list(dict.fromkeys(r["kind"] for r in runs))
    lines = ["| cell | " + " | ".join(f"T = {t}: held-out MSE" for t in lengths) + " |",
             "|---|" + "---:|" * len(lengths)]
    for kind in kinds:
        cells = []
        for t in lengths:
            r = next((r for r in runs if r["kind"] == kind and r["T"] == t), None)
            cells.append("" if r is None else _cell(r))
        lines.append(f"| {kind.upper()} | " + " | ".join(cells) + " |")
    lines.append("| predict the mean | " + " | ".join(f"{ADDING_BASELINE_MSE:.4f}" for _ in lengths) + " |")
    return "\n".join(lines)


def _cell(r: dict) -> str:
    when = f"solved at step {r['solved_at']:,}" if r.get("solved_at") else f"not solved in {r['max_steps']:,} steps"
    took = f", {r['seconds']:.0f} s" if "seconds" in r else ""
    return f"{r['final_mse']:.4f} ({when}{took})"
