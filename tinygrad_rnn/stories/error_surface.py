"""The rough error surface of an RNN: a flat plateau, a cliff, and why clipping helps.

Pascanu, Mikolov & Bengio (2013), "On the difficulty of training recurrent
neural networks", draw the loss of a recurrent network with ONE hidden unit

    x_t = w * sigmoid(x_{t-1}) + b,      x_0 = 0.5,      t = 1..T (T = 50),
    loss = (x_T - 0.7)^2

over its two parameters (w, b). For small w the map has one attractor; past
a bifurcation it has two, and which of them x_T ends near depends on which
side of a boundary (w, b) lies. Across that boundary x_T jumps, so the loss
jumps: a cliff, between regions where it changes slowly. On the cliff the
gradient is a product of T factors that can be enormous.

Gradient descent that reaches the foot of the cliff takes one step with that
enormous gradient and is thrown far across the surface (the "jump off the
cliff"). ``clip_grad_norm_`` rescales any gradient whose norm exceeds a
threshold to that norm: it keeps the direction but caps the step, so the run
stays near where it was and carries on down the valley.

Everything is computed by the engine: the surface is one forward and one
backward pass over the whole (w, b) grid at once (each grid point is its own
one-unit RNN, an element of the same tensors); the descents use ``optim.SGD``
and ``optim.clip_grad_norm_``.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np

from viz import plot

from .common import Progress, StoryError, output_folder, positive, save_results


def final_state(w, b, steps: int, x0: float):
    """x_T of the one-unit RNN x_t = w sigmoid(x_{t-1}) + b, for Tensors w, b of any (equal) shape."""
    from ..graph import scope
    from ..ops import sigmoid
    from ..tensor import Tensor

    x = Tensor(np.full(np.broadcast_shapes(w.shape, b.shape), x0))
    for t in range(1, steps + 1):
        with scope(f"t{t}"):
            x = w * sigmoid(x) + b
    return x


def surface(ws: np.ndarray, bs: np.ndarray, steps: int = 50, x0: float = 0.5, target: float = 0.7) -> dict:
    """Loss and gradient norm on the grid: row r is b = bs[r], column c is w = ws[c].

    One forward over all grid points at once, and one backward of the summed
    loss: since each point's loss depends only on its own (w, b), the summed
    loss's gradient holds every point's own gradient.
    """
    from ..tensor import Tensor

    W = Tensor(np.broadcast_to(np.asarray(ws, float)[None, :], (len(bs), len(ws))).copy(), requires_grad=True)
    B = Tensor(np.broadcast_to(np.asarray(bs, float)[:, None], (len(bs), len(ws))).copy(), requires_grad=True)
    with np.errstate(over="ignore"):
        loss = (final_state(W, B, steps, x0) - target) ** 2
        loss.sum().backward(retain_grads=False)
    return {"w": np.asarray(ws), "b": np.asarray(bs), "loss": loss.data,
            "grad_norm": np.sqrt(W.grad**2 + B.grad**2)}


def descend(start: tuple[float, float], lr: float, iterations: int, clip: float | None, steps: int = 50,
            x0: float = 0.5, target: float = 0.7) -> dict:
    """Plain gradient descent on (w, b) from ``start``, clipping the gradient norm at ``clip`` (None: never).

    Records, per iteration, where it was, the loss there and the gradient
    norm *before* clipping. Stops early if the loss stops being finite.
    """
    from .. import optim
    from ..tensor import Parameter

    w, b = Parameter(float(start[0]), name="w"), Parameter(float(start[1]), name="b")
    opt = optim.SGD([w, b], lr=lr)
    path = {"w": [], "b": [], "loss": [], "grad_norm": []}
    for _ in range(iterations):
        opt.zero_grad()
        with np.errstate(over="ignore", invalid="ignore"):
            loss = (final_state(w, b, steps, x0) - target) ** 2
            if not math.isfinite(loss.item()):
                break
            loss.backward(retain_grads=False)
            norm = float(optim.clip_grad_norm_([w, b], math.inf if clip is None else clip))
        path["w"].append(float(w.data))
        path["b"].append(float(b.data))
        path["loss"].append(loss.item())
        path["grad_norm"].append(norm)
        opt.step()
    path["clip"] = clip
    return path


def biggest_jump(path: dict) -> dict:
    """The iteration with the largest gradient norm, where it was, and how far its step moved (w, b)."""
    k = int(np.argmax(path["grad_norm"]))
    w, b = np.array(path["w"]), np.array(path["b"])
    moved = float(np.hypot(w[k + 1] - w[k], b[k + 1] - b[k])) if k + 1 < len(w) else float("nan")
    return {"iteration": k, "w": float(w[k]), "b": float(b[k]), "grad_norm": path["grad_norm"][k],
            "step_length": moved, "landed": (float(w[k + 1]), float(b[k + 1])) if k + 1 < len(w) else None}


def find_cliff(ws: np.ndarray, b: float, steps: int = 50, x0: float = 0.5, target: float = 0.7) -> dict:
    """Locate the cliff along w (at this b) to float precision and measure the gradient norm there.

    x_T jumps from one attractor to the other across the cliff; the cliff is
    between the two neighbouring grid points where x_T changes most, and
    bisection on that interval (keeping the half where x_T still jumps
    across the midpoint of its two sides) closes in on it.
    """
    from ..tensor import Tensor

    def x_T(w: float) -> float:
        return final_state(Tensor(w), Tensor(b), steps, x0).item()

    values = final_state(Tensor(np.asarray(ws, float)), Tensor(np.full(len(ws), b)), steps, x0).data
    k = int(np.argmax(np.abs(np.diff(values))))
    lo, hi = float(ws[k]), float(ws[k + 1])
    middle = (values[k] + values[k + 1]) / 2
    low_side = values[k] < middle
    for _ in range(60):
        mid = (lo + hi) / 2
        if (x_T(mid) < middle) == low_side:
            lo = mid
        else:
            hi = mid
    norms = [float(surface(np.array([w]), np.array([b]), steps, x0, target)["grad_norm"][0, 0]) for w in (lo, hi)]
    return {"w": (lo + hi) / 2, "b": b, "grad_norm": max(norms), "x_T_either_side": (values[k], values[k + 1])}


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--steps", type=int, default=50, help="time steps T of the one-unit RNN (default 50)")
    parser.add_argument("--start", type=float, nargs=2, default=[10.0, -5.0], metavar=("W", "B"),
                        help="where both descents start (default 10 -5)")
    parser.add_argument("--lr", type=float, default=0.05, help="gradient-descent step size (default 0.05)")
    parser.add_argument("--iterations", type=int, default=200, help="gradient-descent steps (default 200)")
    parser.add_argument("--clip", type=float, default=5.0, help="clip_grad_norm_ threshold (default 5)")
    parser.add_argument("--grid", type=int, default=61, help="grid points per axis of the surface (default 61)")
    parser.add_argument("--w-range", type=float, nargs=2, default=[-4.0, 12.0], metavar=("LO", "HI"),
                        help="w axis of the picture (default -4 12)")
    parser.add_argument("--b-range", type=float, nargs=2, default=[-8.0, 6.0], metavar=("LO", "HI"),
                        help="b axis of the picture (default -8 6)")
    out = "tinygrad-rnn-out/error-surface"
    parser.add_argument("--out", type=output_folder, default=out,
                        help=f"folder for pictures and results (default {out})")
    parser.add_argument("--quiet", action="store_true", help="print only the final summary")


def run(args: argparse.Namespace) -> int:
    positive("--steps, --lr, --iterations, --clip and --grid", args.steps, args.lr, args.iterations, args.clip,
             args.grid)
    if args.grid < 2 or args.w_range[0] >= args.w_range[1] or args.b_range[0] >= args.b_range[1]:
        raise StoryError("--grid needs at least 2 points, and each range LO < HI")
    progress = Progress(args.quiet)
    ws = np.linspace(*args.w_range, args.grid)
    bs = np.linspace(args.b_range[1], args.b_range[0], args.grid)  # the top row is the largest b
    grid = surface(ws, bs, args.steps)
    progress(f"surface: {args.grid}x{args.grid} one-unit RNNs over T = {args.steps}, one forward and one backward; "
             f"loss from {np.nanmin(grid['loss']):.3g} to {np.nanmax(grid['loss']):.3g}")
    runs = {}
    for clip in (None, args.clip):
        name = "no clipping" if clip is None else f"clip_grad_norm_ at {clip:g}"
        runs[name] = descend(tuple(args.start), args.lr, args.iterations, clip, args.steps)
        r = runs[name]
        progress(f"{name}: {len(r['loss'])} steps, final loss {r['loss'][-1]:.4g} at "
                 f"(w, b) = ({r['w'][-1]:.3f}, {r['b'][-1]:.3f})")
    out = Path(args.out)
    extent = (ws[0], ws[-1], bs[-1], bs[0])
    paths = {name: (r["w"], r["b"]) for name, r in runs.items()}
    pictures = [
        plot.save(plot.heatmap(grid["loss"], title=f"Loss of a one-unit RNN over (w, b), T = {args.steps}",
                               xlabel="w", ylabel="b", log=True, colour_label="loss", extent=extent,
                               paths=paths, width=620, height=520), out / "error_surface.svg"),
        plot.save(plot.line_plot({name: (np.arange(len(r["grad_norm"])), r["grad_norm"]) for name, r in runs.items()},
                                 title="Gradient norm at each descent step (before clipping)",
                                 xlabel="gradient-descent step", ylabel="gradient norm", logy=True,
                                 hlines={"clipping threshold": args.clip}), out / "error_surface_grad_steps.svg"),
    ]
    unclipped, clipped = runs.values()
    jump, calm = biggest_jump(unclipped), biggest_jump(clipped)
    # a fine cut through the cliff where the unclipped run met it: the loss and gradient along w alone
    line_w = np.linspace(*args.w_range, 2001)
    line = surface(line_w, np.array([jump["b"]]), args.steps)
    cliff = find_cliff(line_w, jump["b"], args.steps)
    pictures.append(plot.save(plot.line_plot(
        {"loss": (line_w, line["loss"][0]), "gradient norm": (line_w, line["grad_norm"][0]),
         "gradient norm on the cliff (bisection)": ([cliff["w"]], [cliff["grad_norm"]])},
        title=f"Along w at b = {jump['b']:.2f}: the plateau and the cliff", xlabel="w", ylabel="value (log)",
        logy=True), out / "error_surface_slice.svg"))
    results = {"steps": args.steps, "start": args.start, "lr": args.lr, "clip": args.clip, "runs": runs,
               "unclipped_jump": jump, "clipped_largest": calm,
               "cliff": cliff, "slice_median_grad_norm": float(np.median(line["grad_norm"][0]))}
    save_results(out, "error_surface", results)
    print(f"the cliff: along b = {cliff['b']:.2f}, x_T jumps from {cliff['x_T_either_side'][0]:.2f} to "
          f"{cliff['x_T_either_side'][1]:.2f} at w = {cliff['w']:.6f}, where the gradient norm is "
          f"{cliff['grad_norm']:.3g}; its median along the cut is {results['slice_median_grad_norm']:.3g}")
    print(f"no clipping: at step {jump['iteration']} GD reached the cliff at (w, b) = ({jump['w']:.2f}, "
          f"{jump['b']:.2f}) with gradient norm {jump['grad_norm']:.3g}; that one step moved it "
          f"{jump['step_length']:.3g} to ({jump['landed'][0]:.1f}, {jump['landed'][1]:.1f}); final loss "
          f"{unclipped['loss'][-1]:.4g}")
    print(f"clip_grad_norm_ at {args.clip:g}: largest gradient norm {calm['grad_norm']:.3g} "
          f"(step {calm['iteration']}), "
          f"longest step {max(_step_lengths(clipped)):.3g}; final loss {clipped['loss'][-1]:.4g} at "
          f"(w, b) = ({clipped['w'][-1]:.3f}, {clipped['b'][-1]:.3f})")
    for p in pictures:
        print(f"wrote {p}")
    return 0


def _step_lengths(path: dict) -> np.ndarray:
    return np.hypot(np.diff(path["w"]), np.diff(path["b"]))
