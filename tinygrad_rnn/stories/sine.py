"""Sine-wave regression: many-to-one prediction, then one-to-many generation.

Many-to-one: read a window of T noisy samples of sin(2 pi t / period) and
predict the next one. One-to-many (autoregressive): warm the state up on a
window, then feed each prediction back in as the next input, carrying the
hidden state; the network draws the wave on its own. The error of the
generated wave against the clean one shows how far its predictions can be
chained before they drift.

What to expect: the next-value error falls to the noise's own variance
(noise**2; nothing can do better), and, with the default 20 epochs over 1,000
points, the generated wave stays on the clean one for 100 steps. A shorter run
(fewer --epochs or --points) predicts one step well and still drifts when fed
its own output: each small error is fed back in and compounds. The story says
which happened: the generated wave counts as learned when its MSE against the
clean wave is under ``LEARNED_MSE``, a tenth of the wave's variance (0.5);
drawing a flat line at 0 scores 0.5.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from viz import plot

from .common import KINDS, Progress, StoryError, add_common_options, positive, recurrent, save_results, shuffled_epoch
from .tasks import sine_series, windows

WAVE_VARIANCE = 0.5  # mean of sin^2 over whole periods: the MSE of predicting 0 every step
LEARNED_MSE = 0.05


def build(kind: str, hidden: int):
    """A recurrent layer over scalar inputs and a linear read-out of each h_t."""
    from .. import nn

    class Forecaster(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.rnn = recurrent(kind, 1, hidden)
            self.head = nn.Linear(hidden, 1)

        def forward(self, x, state=None):
            output, state = self.rnn(x, state)
            return self.head(output[-1]), state

    return Forecaster()


def generate(model, warmup: np.ndarray, count: int) -> np.ndarray:
    """Feed ``warmup`` (T values), then ``count`` times feed the model its own last prediction."""
    from ..graph import no_grad
    from ..tensor import Tensor

    values = []
    with no_grad():
        y, state = model(Tensor(np.asarray(warmup, dtype=float).reshape(-1, 1, 1)))
        for _ in range(count):
            values.append(float(y.item()))
            y, state = model(Tensor(y.data.reshape(1, 1, 1)), state)
    return np.array(values)


def train(
    kind: str = "gru",
    hidden: int = 16,
    window: int = 25,
    period: float = 25.0,
    noise: float = 0.05,
    points: int = 1000,
    epochs: int = 20,
    batch: int = 32,
    lr: float = 0.01,
    generate_steps: int = 100,
    seed: int = 0,
    progress: Progress | None = None,
) -> dict:
    """Fit on windows of the first 80% of a noisy sine; test on the rest; then generate."""
    from .. import functional as F
    from .. import nn, optim
    from ..graph import no_grad
    from ..tensor import Tensor

    progress = progress or Progress(quiet=True)
    rng = np.random.default_rng(seed)
    nn.manual_seed(seed)
    series = sine_series(points, period, noise, rng)
    split = int(points * 0.8)
    train_x, train_y = windows(series[:split], window)
    test_x, test_y = windows(series[split - window :], window)
    model = build(kind, hidden)
    opt = optim.Adam(model.parameters(), lr=lr)
    epoch_loss, test_mse = [], []

    def batch_loss(pick: np.ndarray):
        prediction, _ = model(Tensor(train_x[:, pick]))
        return F.mse_loss(prediction, train_y[pick])

    for epoch in range(1, epochs + 1):
        epoch_loss.append(shuffled_epoch(model, opt, train_x.shape[1], batch, rng, batch_loss))
        with no_grad():
            mse = float(F.mse_loss(model(Tensor(test_x))[0], test_y).item())
        test_mse.append(mse)
        progress(f"{kind} epoch {epoch:3d}  train MSE {epoch_loss[-1]:.5f}  held-out MSE {mse:.5f}")
    t0 = split
    clean = sine_series(t0 + generate_steps, period)
    generated = generate(model, series[t0 - window : t0], generate_steps)
    generated_mse = float(np.mean((generated - clean[t0:]) ** 2))
    progress(f"generated {generate_steps} steps on its own: MSE against the clean wave {generated_mse:.4f}")
    return {
        "kind": kind,
        "epoch_loss": epoch_loss,
        "test_mse": test_mse,
        "noise_floor_mse": noise**2,
        "generated": generated,
        "clean": clean[t0:],
        "start": t0,
        "generated_mse": generated_mse,
        "history": series[t0 - window : t0],
        "learned": generated_mse < LEARNED_MSE,
    }


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--kind", choices=KINDS, default="gru", help="cell (default gru)")
    parser.add_argument("--hidden", type=int, default=16, help="hidden size (default 16)")
    parser.add_argument("--window", type=int, default=25, help="input window length T (default 25)")
    parser.add_argument("--noise", type=float, default=0.05, help="std of the noise on the samples")
    parser.add_argument("--points", type=int, default=1000, help="length of the series (default 1000)")
    parser.add_argument("--epochs", type=int, default=20, help="passes over the training windows (default 20)")
    parser.add_argument("--generate", type=int, default=100, help="steps to generate on its own")
    parser.add_argument("--lr", type=float, default=0.01, help="Adam learning rate")
    add_common_options(parser, "sine")


def run(args: argparse.Namespace) -> int:
    positive("--hidden, --window, --points, --epochs, --generate and --lr",
             args.hidden, args.window, args.points, args.epochs, args.generate, args.lr)
    if args.noise < 0:
        raise StoryError("--noise must be >= 0")
    if args.points * 0.2 < 2 or args.points * 0.8 <= args.window + 1:
        raise StoryError(f"--points {args.points} is too short for --window {args.window}")
    progress = Progress(args.quiet)
    r = train(args.kind, args.hidden, args.window, noise=args.noise, points=args.points, epochs=args.epochs,
              lr=args.lr, generate_steps=args.generate, seed=args.seed, progress=progress)
    out = Path(args.out)
    epochs = np.arange(1, len(r["test_mse"]) + 1)
    curve = plot.line_plot({"training": (epochs, r["epoch_loss"]), "held-out": (epochs, r["test_mse"])},
                           title=f"Sine wave, many-to-one ({r['kind'].upper()})", xlabel="epoch",
                           ylabel="mean squared error", logy=True, hlines={"noise variance": r["noise_floor_mse"]},
                           markers=True)
    w = len(r["history"])
    t = np.arange(r["start"] - w, r["start"] + len(r["generated"]))
    gen = plot.line_plot(
        {"warm-up input": (t[:w], r["history"]), "clean wave": (t[w:], r["clean"]),
         "generated (fed its own output)": (t[w:], r["generated"])},
        title="Sine wave, one-to-many generation", xlabel="t", ylabel="value")
    paths = [plot.save(curve, out / "sine_loss.svg"), plot.save(gen, out / "sine_generation.svg")]
    save_results(out, "sine", r)
    print(f"held-out MSE (many-to-one) {r['test_mse'][-1]:.5f}; noise variance {r['noise_floor_mse']:.5f}")
    print(f"autoregressive generation, {len(r['generated'])} steps: MSE vs clean wave {r['generated_mse']:.4f}")
    if r["learned"]:
        print(f"the wave is learned: the generated wave stays on the clean one (MSE under {LEARNED_MSE}, "
              f"a tenth of the wave's variance {WAVE_VARIANCE})")
    else:
        print(f"the wave is NOT learned: fed its own output, the model drifts off the wave (a flat line at 0 "
              f"scores {WAVE_VARIANCE}). More --epochs and --points help: the defaults (20 and 1000, "
              f"seed 0) learn it.")
    for p in paths:
        print(f"wrote {p}")
    return 0
