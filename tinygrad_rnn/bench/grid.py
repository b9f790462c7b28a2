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
from .models import torch_available

LR = 0.01
HAND = {"rnn": references.rnn_mse, "lstm": references.lstm_mse, "gru": references.gru_mse}
GATES = {"rnn": 1, "lstm": 4, "gru": 3}
TARGETS = {
    "eager / hand": 1.8,
    "eager / hand at B=1": 3.0,
    "replay / hand (worst config)": 1.2,
    "eager / torch per-step cell loop": 0.8,
}


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

    def torch_ready(self) -> None:
        """PyTorch twins on the same weights: nn.RNN/LSTM/GRU, and a loop over nn.*Cell per step."""
        import torch

        torch.set_num_threads(1)
        self.torch = torch
        dtype = torch.float64 if self.x.dtype == np.float64 else torch.float32
        H = self.x.shape[-1]
        kinds = {"rnn": (torch.nn.RNN, torch.nn.RNNCell), "lstm": (torch.nn.LSTM, torch.nn.LSTMCell),
                 "gru": (torch.nn.GRU, torch.nn.GRUCell)}
        layer_type, cell_type = kinds[self.cell]
        self.t_layer = layer_type(H, H).to(dtype)
        self.t_cell = cell_type(H, H).to(dtype)
        with torch.no_grad():
            for name, p in self.t_layer.named_parameters():
                p.copy_(torch.from_numpy(self.hand_params[name]))
            for name, p in self.t_cell.named_parameters():
                p.copy_(torch.from_numpy(self.hand_params[name + "_l0"]))
        self.tx, self.ty = torch.from_numpy(self.x), torch.from_numpy(self.y)

    def _torch_sgd(self, module) -> None:
        with self.torch.no_grad():
            for p in module.parameters():
                p -= LR * p.grad
                p.grad = None

    def _torch_layer_loss(self):
        out, _ = self.t_layer(self.tx)
        return self.torch.nn.functional.mse_loss(out, self.ty)

    def _torch_cells_loss(self):
        T, B, H = self.x.shape
        h = self.torch.zeros(B, H, dtype=self.tx.dtype)
        state = (h, h) if self.cell == "lstm" else h
        outs = []
        for t in range(T):
            state = self.t_cell(self.tx[t], state)
            outs.append(state[0] if self.cell == "lstm" else state)
        return self.torch.nn.functional.mse_loss(self.torch.stack(outs), self.ty)

    def torch_layer(self) -> float:
        loss = self._torch_layer_loss()
        loss.backward()
        self._torch_sgd(self.t_layer)
        return loss.item()

    def torch_cells(self) -> float:
        loss = self._torch_cells_loss()
        loss.backward()
        self._torch_sgd(self.t_cell)
        return loss.item()

    def torch_gradients(self, module, loss_fn, suffix: str) -> dict[str, np.ndarray]:
        """dL/dparam of the first step in PyTorch, under our parameter names."""
        module.zero_grad(set_to_none=True)
        loss_fn().backward()
        grads = {name + suffix: p.grad.numpy().copy() for name, p in module.named_parameters()}
        module.zero_grad(set_to_none=True)
        return grads

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


def check(step: Step, config: Config, with_torch: bool) -> None:
    """Refuse to time implementations that disagree."""
    grads = step.gradients()
    if with_torch:
        grads["torch"] = step.torch_gradients(step.t_layer, step._torch_layer_loss, "")
        grads["torch cells"] = step.torch_gradients(step.t_cell, step._torch_cells_loss, "_l0")
    tol = 1e-3 if config.dtype == "float32" else 1e-9
    for way in [w for w in grads if w != "eager"]:
        for name, g in grads["eager"].items():
            other = grads[way][name]
            scale = max(1.0, float(np.abs(g).max()))
            if not np.allclose(g, other, rtol=tol, atol=tol * scale):
                raise AssertionError(f"{config.label()}: {way} disagrees with eager on dL/d{name}")


def geomean(values: list[float]) -> float:
    return math.exp(sum(math.log(v) for v in values) / len(values))


def run(quick: bool, repeats: int, out: Callable[[str], None]) -> dict[str, float]:
    """Time the grid; print one row per config, then geometric means beside the targets."""
    from .suite import _table, interleaved, machine

    rows, ratios, vs_torch = [], [], []
    grid = configs(quick)
    with_torch = torch_available()
    if with_torch:
        import torch

        torch.set_num_threads(1)  # NumPy's BLAS is single-threaded too (OPENBLAS_NUM_THREADS=1)
    out(f"machine: {machine()}\nclock: process CPU time\n")
    for i, config in enumerate(grid, 1):
        step = Step(config)
        fns = {"eager": step.eager, "replay": step.replay, "hand": step.hand}
        if with_torch:
            step.torch_ready()
            fns.update(torch=step.torch_layer, cells=step.torch_cells)
        check(step, config, with_torch)
        t = interleaved(fns, repeats, 1, "cpu")
        ratios.append((config, t["eager"] / t["hand"], t["replay"] / t["hand"]))
        row = [config.label()] + [f"{t[k] * 1e3:.2f}" for k in fns]
        row += [f"{ratios[-1][1]:.2f}", f"{ratios[-1][2]:.2f}"]
        if with_torch:
            vs_torch.append((config, t["eager"] / t["torch"], t["eager"] / t["cells"], t["replay"] / t["cells"]))
            row += [f"{r:.2f}" for r in vs_torch[-1][1:]]
        rows.append(row)
        if not quick:
            print(f"  [{i}/{len(grid)}] {config.label()}", flush=True, file=sys.stderr)
    out("## The grid: one training step (forward + backward + SGD), ms, median of process CPU time\n")
    header = ["config", "eager", "replay", "by hand"]
    header += ["torch nn", "torch cells"] if with_torch else []
    header += ["eager/hand", "replay/hand"]
    header += ["eager/torch nn", "eager/torch cells", "replay/torch cells"] if with_torch else []
    out(_table(header, rows))
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
    if with_torch:
        for row, cell in zip(summary_rows, [c for c in ("lstm", "gru", "rnn") if any(r[0].cell == c for r in ratios)]):
            mine = [r for r in vs_torch if r[0].cell == cell]
            row += [f"{geomean([r[k] for r in mine]):.2f}" for k in (1, 2, 3)]
    header = ["cell", "eager/hand", "eager/hand, B=1", "replay/hand", "replay/hand, worst"]
    header += ["eager/torch nn", "eager/torch cells", "replay/torch cells"] if with_torch else []
    out(_table(header, summary_rows))
    summary["eager / hand"] = geomean([r[1] for r in ratios])
    b1 = [r[1] for r in ratios if r[0].B == 1]
    if b1:
        summary["eager / hand at B=1"] = geomean(b1)
    summary["replay / hand (worst config)"] = max(r[2] for r in ratios)
    if with_torch:
        summary["eager / torch per-step cell loop"] = geomean([r[2] for r in vs_torch])
    out("\n## Targets (issue 19)\n")
    if quick:
        out("quick run: sizes reduced, so the targets (set for the full grid) are not judged")
    for what, value in summary.items():
        verdict = "" if quick else (": met" if value <= TARGETS[what] else ": NOT met")
        out(f"- {what}: {value:.2f} (target <= {TARGETS[what]}){verdict}")
    if not with_torch:
        out("- ours/torch: PyTorch is not importable here, so its columns and target are left out")
    return summary
