"""Vanishing and exploding gradients: how much of dL/dh_T reaches h_t, and why.

Backpropagation through time multiplies one local factor per step. For a
scalar state s_k = f(s_{k-1}, x_k) with b_j = ds_j/ds_{j-1}, the gradient that
step k's loss sends back to step i < k is

    dL/ds_i = (prod_{j=i+1..k} b_j) dL/ds_k,

which is the closed form z_k = a_k + sum_{i<k} (prod_{j=i+1..k} b_j) a_i of
the notes read backwards. A product of many factors below 1 vanishes and of
many above 1 explodes. For a vanilla RNN b_j = w (1 - h_j^2); for the LSTM's
cell state, b_j = f_j, the forget gate, which the network can hold near 1
(the "constant error carousel"); for a GRU the direct path carries z_j.

The pictures: the norm of dL/dh_t against the distance T - t for each cell
(hidden size H, averaged over seeds), and with ``--trained-steps`` the same
before and after training on the adding problem; the table |prod b_j| for
every (i, k) with H = 1, where the b_j are read off autograd one step at a
time; and a tanh RNN with a large W_hh whose gradients explode, trained with
and without clipping.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np

from viz import plot

from .common import KINDS, Progress, StoryError, add_common_options, positive, save_results


def make_cell(kind: str, input_size: int, hidden: int, seed: int):
    from .. import nn

    cells = {"rnn": nn.RNNCell, "lstm": nn.LSTMCell, "gru": nn.GRUCell}
    if kind not in cells:
        raise ValueError(f"unknown cell kind {kind!r}: use one of {', '.join(KINDS)}")
    return cells[kind](input_size, hidden, rng=seed)


def hidden_gradient_norms(kind: str, steps: int, hidden: int, input_size: int, seed: int) -> np.ndarray:
    """||dL/dh_t|| for t = 1..steps, with L = sum(h_T), from one unrolled cell at PyTorch's init."""
    from ..tensor import Tensor

    cell = make_cell(kind, input_size, hidden, seed)
    xs = np.random.default_rng(seed).standard_normal((steps, 1, input_size))
    h = Tensor(np.zeros((1, hidden)))
    c = Tensor(np.zeros((1, hidden)))
    states = []
    for t in range(steps):
        if kind == "lstm":
            h, c = cell(Tensor(xs[t]), (h, c))
        else:
            h = cell(Tensor(xs[t]), h)
        states.append(h)
    h.sum().backward()
    return np.array([np.linalg.norm(s.grad) if s.grad is not None else 0.0 for s in states])


def readout_gradient_norms(model, x: np.ndarray) -> np.ndarray:
    """||dy/dh_t|| for t = 1..T, y = the adding model's prediction read from h_T, one sequence x (T, 1, 2).

    The trained layer's weights are loaded into a cell (PyTorch names without
    the ``_l0`` suffix) and unrolled by hand, so every h_t is a tensor we hold.
    """
    from ..tensor import Tensor

    kind = {"RNN": "rnn", "LSTM": "lstm", "GRU": "gru"}[type(model.rnn).__name__]
    cell = make_cell(kind, 2, model.rnn.hidden_size, 0)
    cell.load_state_dict({name.removesuffix("_l0"): value for name, value in model.rnn.state_dict().items()})
    h = Tensor(np.zeros((1, model.rnn.hidden_size)))
    c = Tensor(np.zeros((1, model.rnn.hidden_size)))
    states = []
    for t in range(x.shape[0]):
        if kind == "lstm":
            h, c = cell(Tensor(x[t]), (h, c))
        else:
            h = cell(Tensor(x[t]), h)
        states.append(h)
    model.head(h).sum().backward()
    return np.array([np.linalg.norm(s.grad) if s.grad is not None else 0.0 for s in states])


def trained_norms(steps: int, length: int, seed: int, progress: Progress) -> dict:
    """For each cell: ||dy/dh_t|| at initialisation and after training on the adding problem (T = length)."""
    from .. import nn
    from .adding import build, train_one
    from .tasks import adding_problem

    x, _ = adding_problem(8, length, np.random.default_rng(seed + 7))
    curves = {}
    for kind in KINDS:
        nn.manual_seed(seed)
        model = build(kind, 32)
        before = np.exp(np.mean([np.log(readout_gradient_norms(model, x[:, [n]])) for n in range(8)], axis=0))
        result = train_one(kind, length, steps=steps, seed=seed, progress=progress, model=model)
        after = np.exp(np.mean([np.log(readout_gradient_norms(model, x[:, [n]])) for n in range(8)], axis=0))
        curves[kind] = {"before": before, "after": after, "final_mse": result["final_mse"],
                        "solved_at": result["solved_at"], "trained_steps": result["steps"][-1]}
    return curves


def local_factors(kind: str, steps: int, seed: int) -> np.ndarray:
    """b_j = ds_j/ds_{j-1}, j = 1..steps, for a cell with one hidden unit, each from autograd.

    s is h for the RNN and GRU, and the cell state c for the LSTM (its direct
    path, holding h_{j-1} fixed, so b_j = f_j).
    """
    from ..tensor import Tensor

    cell = make_cell(kind, 1, 1, seed)
    xs = np.random.default_rng(seed).standard_normal((steps, 1, 1))
    h = np.zeros((1, 1))
    c = np.zeros((1, 1))
    factors = np.empty(steps)
    for t in range(steps):
        if kind == "lstm":
            previous = Tensor(c, requires_grad=True)
            new_h, new_c = cell(Tensor(xs[t]), (Tensor(h), previous))
            new_c.sum().backward()
            h, c = new_h.data, new_c.data
        else:
            previous = Tensor(h, requires_grad=True)
            new_h = cell(Tensor(xs[t]), previous)
            new_h.sum().backward()
            h = new_h.data
        factors[t] = previous.grad.item()
    return factors


def product_table(factors: np.ndarray) -> np.ndarray:
    """M[k-1, i-1] = |prod_{j=i+1..k} b_j| for 1 <= i <= k <= T (1 on the diagonal); NaN above it."""
    with np.errstate(divide="ignore"):
        logs = np.concatenate([[0.0], np.cumsum(np.log(np.abs(factors)))])
    steps = len(factors)
    k = np.arange(1, steps + 1)[:, None]
    i = np.arange(1, steps + 1)[None, :]
    with np.errstate(invalid="ignore"):
        table = np.exp(logs[k] - logs[i])
    return np.where(i <= k, table, np.nan)


def chain_check(kind: str, steps: int, seed: int) -> float:
    """Max |autograd dh_T/dh_i - prod_{j>i} b_j| over i, unrolling the whole chain (1-D state cells)."""
    from ..tensor import Tensor

    cell = make_cell(kind, 1, 1, seed)
    xs = np.random.default_rng(seed).standard_normal((steps, 1, 1))
    h = Tensor(np.zeros((1, 1)))
    states = []
    for t in range(steps):
        h = cell(Tensor(xs[t]), h)
        states.append(h)
    h.sum().backward()
    by_autograd = np.array([s.grad.item() for s in states])
    factors = local_factors(kind, steps, seed)
    closed = np.array([np.prod(factors[i + 1 :]) for i in range(steps)])
    return float(np.max(np.abs(by_autograd - closed)))


def exploding_run(clip: float | None, steps: int, length: int, hidden: int, gain: float, lr: float, seed: int,
                  progress: Progress) -> dict:
    """Train a tanh RNN with W_hh = gain x (a random orthogonal matrix) on the adding problem, SGD.

    With a large gain the products of Jacobians can grow like gain^(T - t)
    wherever tanh is not saturated: a single step with such a gradient throws
    the weights far away (Pascanu et al.'s cliffs). clip_grad_norm_ caps the
    step's length and keeps its direction.
    """
    from .. import functional as F
    from .. import nn, optim
    from ..tensor import Tensor
    from .adding import build
    from .tasks import adding_problem

    rng = np.random.default_rng(seed)
    nn.manual_seed(seed)
    model = build("rnn", hidden)
    q, _ = np.linalg.qr(rng.standard_normal((hidden, hidden)))
    model.rnn.weight_hh_l0.data[...] = gain * q
    opt = optim.SGD(model.parameters(), lr=lr)
    losses, norms = [], []
    label = clip_label(clip)
    for step in range(1, steps + 1):
        x, y = adding_problem(16, length, rng)
        opt.zero_grad()
        with np.errstate(over="ignore", invalid="ignore"):
            loss = F.mse_loss(model(Tensor(x)), y)
            value = loss.item()
            if not math.isfinite(value):
                progress(f"{label}: step {step}: the loss is {value}; training has blown up")
                break
            loss.backward(retain_grads=False)
            norm = float(optim.clip_grad_norm_(model.parameters(), math.inf if clip is None else clip))
            opt.step()
        losses.append(value)
        norms.append(norm)
        if step % max(steps // 5, 1) == 0:
            progress(f"{label}: step {step:4d}  loss {value:.4g}  gradient norm before clipping {norm:.3g}")
    return {"clip": clip, "loss": losses, "grad_norm": norms, "diverged": len(losses) < steps}


def clip_label(clip: float | None) -> str:
    return "no clipping" if clip is None else f"clip_grad_norm_ at {clip:g}"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--steps", type=int, default=50, help="time steps T for the norm curves (default 50)")
    parser.add_argument("--hidden", type=int, default=32, help="hidden size for the norm curves (default 32)")
    parser.add_argument("--trials", type=int, default=5, help="seeds averaged per curve (default 5)")
    parser.add_argument("--table-steps", type=int, default=30, help="T for the |prod b_j| tables (default 30)")
    parser.add_argument("--train-steps", type=int, default=200, help="SGD steps in the exploding demo")
    parser.add_argument("--gain", type=float, default=3.0, help="spectral radius of W_hh in the exploding demo")
    parser.add_argument("--lr", type=float, default=0.1, help="SGD learning rate in the exploding demo")
    parser.add_argument("--clip", type=float, default=1.0, help="max gradient norm of the clipped run")
    parser.add_argument("--trained-steps", type=int, default=0,
                        help="also train each cell on the adding problem (T = --steps) for up to this many Adam "
                             "steps and draw ||dy/dh_t|| before and after (default 0: skip; ~1000 solves T = 50)")
    add_common_options(parser, "gradient-flow")


def run(args: argparse.Namespace) -> int:
    positive("--steps, --hidden, --trials, --table-steps, --train-steps, --gain, --lr and --clip",
             args.steps, args.hidden, args.trials, args.table_steps, args.train_steps, args.gain, args.lr, args.clip)
    if args.trained_steps < 0:
        raise StoryError("--trained-steps must be >= 0")
    progress = Progress(args.quiet)
    out = Path(args.out)
    results: dict = {"norms": {}, "tables": {}, "chain_check": {}}
    summary: list[str] = []
    distance = np.arange(args.steps)[::-1]
    series = {}
    for kind in KINDS:
        norms = np.stack([hidden_gradient_norms(kind, args.steps, args.hidden, 4, args.seed + s)
                          for s in range(args.trials)])
        with np.errstate(divide="ignore"):
            mean = np.exp(np.log(norms).mean(axis=0))
        series[kind.upper()] = (distance, mean)
        results["norms"][kind] = {"distance": distance, "geometric_mean_norm": mean}
        summary.append(f"{kind.upper()}: ||dL/dh_t|| = {mean[-1]:.3g} at the loss, {mean[0]:.3g} at distance "
                       f"{args.steps - 1}")
        progress(summary[-1])
    if args.trained_steps:
        curves = trained_norms(args.trained_steps, args.steps, args.seed, progress)
        results["trained"] = curves
        series, colours, dashed = {}, {}, []
        for i, (kind, curve) in enumerate(curves.items()):
            colours[f"{kind.upper()} at init"] = colours[f"{kind.upper()} trained"] = plot.PALETTE[i]
            dashed.append(f"{kind.upper()} at init")
            series[f"{kind.upper()} at init"] = (distance, curve["before"])
            series[f"{kind.upper()} trained"] = (distance, curve["after"])
            done = f"solved at step {curve['solved_at']}" if curve["solved_at"] else \
                f"not solved in {curve['trained_steps']} steps"
            summary.append(f"{kind.upper()} on the adding problem ({done}, MSE {curve['final_mse']:.3g}): "
                           f"||dy/dh_1|| / ||dy/dh_T|| = {curve['before'][0] / curve['before'][-1]:.2g} at init, "
                           f"{curve['after'][0] / curve['after'][-1]:.2g} trained")
        pictures_trained = plot.save(plot.line_plot(
            series, title=f"||dy/dh_t|| for the adding problem's prediction y, T = {args.steps}",
            xlabel="distance from the loss, T - t", ylabel="gradient norm (geometric mean of 8 sequences)",
            logy=True, colours=colours, dashed=dashed), out / "gradient_norms_trained.svg")
    pictures = [plot.save(plot.line_plot(
        series, title=f"||dL/dh_t|| for L = sum(h_T), T = {args.steps}, H = {args.hidden}, at initialisation",
        xlabel="distance from the loss, T - t", ylabel="gradient norm (geometric mean of seeds)", logy=True),
        out / "gradient_norms.svg")]
    for kind in KINDS:
        factors = local_factors(kind, args.table_steps, args.seed)
        table = product_table(factors)
        what = {"rnn": "b_j = w (1 - h_j^2)", "lstm": "b_j = f_j (cell state)", "gru": "b_j = dh_j/dh_(j-1)"}[kind]
        pictures.append(plot.save(plot.heatmap(
            table, title=f"{kind.upper()}, one hidden unit: |prod b_j| for j = i+1..k ({what})",
            xlabel="i (where the gradient arrives)", ylabel="k (where the loss is)", log=True,
            xticks=range(1, args.table_steps + 1), yticks=range(1, args.table_steps + 1), colour_label="|prod|"),
            out / f"closed_form_{kind}.svg"))
        results["tables"][kind] = {"factors": factors, "corner": table[-1, 0]}
        low, high = np.abs(factors).min(), np.abs(factors).max()
        summary.append(f"{kind.upper()}, one unit: |b_j| in [{low:.3g}, {high:.3g}], "
                       f"|prod b_j| over {args.table_steps - 1} steps = {table[-1, 0]:.3g}")
        progress(summary[-1])
    for kind in ("rnn", "gru"):
        error = chain_check(kind, args.table_steps, args.seed)
        results["chain_check"][kind] = error
        summary.append(f"{kind.upper()}: prod b_j vs autograd through the whole chain: max |difference| {error:.1e}")
        progress(summary[-1])
    runs = [exploding_run(clip, args.train_steps, 20, 16, args.gain, args.lr, args.seed, progress)
            for clip in (None, args.clip)]
    results["exploding"] = runs
    loss_series = {clip_label(r["clip"]): (np.arange(1, len(r["loss"]) + 1), r["loss"]) for r in runs}
    norm_series = {clip_label(r["clip"]): (np.arange(1, len(r["loss"]) + 1), r["grad_norm"]) for r in runs}
    pictures.append(plot.save(plot.line_plot(
        loss_series, title=f"tanh RNN, W_hh = {args.gain:g} x orthogonal: training loss (adding problem, T = 20)",
        xlabel="SGD step", ylabel="MSE", logy=True), out / "exploding_loss.svg"))
    pictures.append(plot.save(plot.line_plot(
        norm_series, title="Gradient norm before clipping", xlabel="SGD step", ylabel="||grad||", logy=True),
        out / "exploding_grad_norm.svg"))
    if args.trained_steps:
        pictures.append(pictures_trained)
    save_results(out, "gradient_flow", results)
    for line in summary:
        print(line)
    for r in runs:
        label = clip_label(r["clip"])
        fate = "blew up (non-finite loss)" if r["diverged"] else f"final loss {r['loss'][-1]:.4g}"
        print(f"{label}: {len(r['loss'])} steps, largest gradient norm {max(r['grad_norm'], default=0):.3g}, {fate}")
    for p in pictures:
        print(f"wrote {p}")
    return 0
