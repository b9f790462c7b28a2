"""The grid of issue 19: cell x T x B x H x dtype, one training step each, side by side.

Every configuration is one layer of ``tr.nn.RNN`` / ``LSTM`` / ``GRU`` with
input size = hidden size, the mean squared error of its outputs against a
fixed target, backward, and one SGD step (p -= lr * dL/dp). It is measured
three ways on the same weights and data:

- ``eager``: the engine as a user runs it (graph recorded, walked, freed);
- ``replay``: the same step through ``tr.compile`` (recorded once, replayed);
- ``hand``: NumPy by hand (``references.py``), the speed limit.

The three compute the same loss and gradients (checked before timing), and
the figures are medians of process CPU time with the three taking turns
(``suite.interleaved``); ratios are reported as geometric means.
"""

from __future__ import annotations

import itertools
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

import tinygrad_rnn as tr

from . import references

LR = 0.01
HAND = {"rnn": references.rnn_mse, "lstm": references.lstm_mse, "gru": references.gru_mse}
GATES = {"rnn": 1, "lstm": 4, "gru": 3}
TARGETS = {"eager / hand": 1.8, "eager / hand at B=1": 3.0, "replay / hand (worst config)": 1.2}


@dataclass(frozen=True)
class Config:
    cell: str
    T: int
    B: int
    H: int
    dtype: str

    def label(self) -> str:
        return f"{self.cell.upper()} T={self.T} B={self.B} H={self.H} {self.dtype}"


def configs(quick: bool = False) -> list[Config]:
    """The 72 configurations of the issue, or 3 small ones for a smoke test."""
    if quick:
        return [Config(c, 5, 1, 8, "float64") for c in ("rnn", "lstm", "gru")]
    return [
        Config(c, T, B, H, d)
        for c, T, B, H, d in itertools.product(
            ("lstm", "gru", "rnn"), (10, 50, 200), (1, 32), (32, 128), ("float32", "float64")
        )
    ]


class Step:
    """One config in its three implementations, sharing one set of weights."""

    def __init__(self, config: Config, seed: int = 0):
        dtype = np.dtype(config.dtype).type
        rng = np.random.default_rng(seed)
        T, B, H = config.T, config.B, config.H
        self.x = rng.standard_normal((T, B, H)).astype(dtype)
        self.y = rng.standard_normal((T, B, H)).astype(dtype)
        layer = {"rnn": tr.nn.RNN, "lstm": tr.nn.LSTM, "gru": tr.nn.GRU}[config.cell](H, H, rng=seed)
        self.params = dict(layer.named_parameters())
        for p in self.params.values():
            p.data = p.data.astype(dtype)
        self.hand_params = {n: p.data.copy() for n, p in self.params.items()}
        self.replay_params = {n: p.data.copy() for n, p in self.params.items()}
        self.layer = layer
        self.cell = config.cell
        self.compiled = tr.compile(self._loss)

    def _loss(self, x: tr.Tensor, y: tr.Tensor) -> tr.Tensor:
        out, _ = self.layer(x)
        return tr.F.mse_loss(out, y)

    def _sgd(self) -> None:
        for p in self.params.values():
            p.data -= LR * p.grad
            p.grad = None

    def eager(self) -> float:
        loss = self._loss(tr.Tensor(self.x), tr.Tensor(self.y))
        loss.backward(retain_grads=False, retain_graph=False)
        self._sgd()
        return loss.item()

    def replay(self) -> float:
        loss = self.compiled(self.x, self.y)
        self._sgd()
        return loss.item()

    def hand(self) -> float:
        loss, grads = HAND[self.cell](self.hand_params, self.x, self.y)
        for n, g in grads.items():
            self.hand_params[n] -= LR * g
        return float(loss)

    def gradients(self) -> dict[str, dict[str, np.ndarray]]:
        """dL/dparam of the first step, each way (the SGD step is not applied)."""
        eager = self._loss(tr.Tensor(self.x), tr.Tensor(self.y))
        eager.backward(retain_grads=False, retain_graph=False)
        ours = {n: p.grad for n, p in self.params.items()}
        for p in self.params.values():
            p.grad = None
        self.compiled(self.x, self.y)  # first call: records
        self.compiled(self.x, self.y)  # second: replays (checked against eager)
        replayed = {n: p.grad / 2 for n, p in self.params.items()}
        for p in self.params.values():
            p.grad = None
        _, hand = HAND[self.cell](self.hand_params, self.x, self.y)
        return {"eager": ours, "replay": replayed, "hand": hand}


def check(step: Step, config: Config) -> None:
    """Refuse to time implementations that disagree."""
    grads = step.gradients()
    tol = 1e-3 if config.dtype == "float32" else 1e-9
    for way in ("replay", "hand"):
        for name, g in grads["eager"].items():
            other = grads[way][name]
            scale = max(1.0, float(np.abs(g).max()))
            if not np.allclose(g, other, rtol=tol, atol=tol * scale):
                raise AssertionError(f"{config.label()}: {way} disagrees with eager on dL/d{name}")


def geomean(values: list[float]) -> float:
    return math.exp(sum(math.log(v) for v in values) / len(values))


def run(quick: bool, repeats: int, out: Callable[[str], None]) -> dict[str, float]:
    """Time the grid; print one row per config, then geometric means beside the targets."""
    from .suite import _table, interleaved

    rows, ratios = [], []
    grid = configs(quick)
    for i, config in enumerate(grid, 1):
        step = Step(config)
        check(step, config)
        t = interleaved({"eager": step.eager, "replay": step.replay, "hand": step.hand}, repeats, 1, "cpu")
        ratios.append((config, t["eager"] / t["hand"], t["replay"] / t["hand"]))
        rows.append(
            [
                config.label(),
                f"{t['eager'] * 1e3:.2f}",
                f"{t['replay'] * 1e3:.2f}",
                f"{t['hand'] * 1e3:.2f}",
                f"{ratios[-1][1]:.2f}",
                f"{ratios[-1][2]:.2f}",
            ]
        )
        if not quick:
            print(f"  [{i}/{len(grid)}] {config.label()}", flush=True, file=sys.stderr)
    out("## The grid: one training step (forward + backward + SGD), ms, median of process CPU time\n")
    out(_table(["config", "eager", "replay", "by hand", "eager/hand", "replay/hand"], rows))
    out("\n## Geometric means (ours / by hand; > 1 means ours is slower)\n")
    summary_rows, summary = [], {}
    for cell in ("lstm", "gru", "rnn"):
        mine = [r for r in ratios if r[0].cell == cell]
        if not mine:
            continue
        summary_rows.append(
            [
                cell.upper(),
                f"{geomean([r[1] for r in mine]):.2f}",
                f"{geomean([r[1] for r in mine if r[0].B == 1] or [math.nan]):.2f}",
                f"{geomean([r[2] for r in mine]):.2f}",
                f"{max(r[2] for r in mine):.2f}",
            ]
        )
    out(_table(["cell", "eager/hand", "eager/hand, B=1", "replay/hand", "replay/hand, worst"], summary_rows))
    summary["eager / hand"] = geomean([r[1] for r in ratios])
    b1 = [r[1] for r in ratios if r[0].B == 1]
    if b1:
        summary["eager / hand at B=1"] = geomean(b1)
    summary["replay / hand (worst config)"] = max(r[2] for r in ratios)
    out("\n## Targets (issue 19)\n")
    if quick:
        out("quick run: sizes reduced, so the targets (set for the full grid) are not judged")
    for what, value in summary.items():
        verdict = "" if quick else (": met" if value <= TARGETS[what] else ": NOT met")
        out(f"- {what}: {value:.2f} (target <= {TARGETS[what]}){verdict}")
    out("- ours/torch: not measured by the grid (the speed section times PyTorch when it is installed)")
    return summary
