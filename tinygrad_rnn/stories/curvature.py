"""The cliff: curvature of a one-unit RNN's loss as its recurrent weight w crosses 1.

Pascanu, Mikolov and Bengio (2013, "On the difficulty of training recurrent
neural networks") explain exploding gradients with the dynamics of the state:
as a recurrent weight crosses the value where the map h -> tanh(w h + b)
changes its fixed points (w = 1 for b = 0), h_T changes abruptly, and the
loss surface has a *cliff*: a narrow region of huge curvature, where a
gradient step of ordinary size jumps far.

Here the model is h_t = tanh(w h_{t-1} + b), h_0 = 0.5, L = (h_T - target)^2,
with parameters theta = (w, b). At each w of a sweep (b = 0), it computes

    g = dL/dtheta,  kappa = u^T H u  with u = g / |g|,

the curvature of L along the gradient direction, from a Hessian-vector
product (``tr.hvp``: differentiate the recorded backward pass), and checks it
against central differences of the gradient, u . (g(theta + eps u) -
g(theta - eps u)) / (2 eps). A plain gradient step of size lr along -g is
stable only where lr < 2 / kappa: near w = 1 that bound collapses.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from viz import plot

from .common import Progress, StoryError, add_common_options, positive, save_results


def loss_of(steps: int, h0: float = 0.5, target: float = 0.6):
    """L(w, b) for the one-unit RNN, as a function of two scalar tensors."""
    from ..tensor import Tensor

    def loss(w, b):
        h = Tensor(np.array(h0))
        for _ in range(steps):
            h = (w * h + b).tanh()
        return (h - target) * (h - target)

    return loss


def curvature_at(w: float, b: float, steps: int, eps: float = 1e-5) -> dict[str, float]:
    """L, |g| and the curvature along g at (w, b): by hvp, and by finite differences of g."""
    import tinygrad_rnn as tr

    loss = loss_of(steps)

    def gradient(theta: np.ndarray) -> tuple[float, np.ndarray]:
        params = [tr.Tensor(np.array(v), requires_grad=True) for v in theta]
        value = loss(*params)
        return float(value.data), np.array([g.data for g in tr.grad(value, params)])

    theta = np.array([w, b])
    value, g = gradient(theta)
    norm = float(np.linalg.norm(g))
    u = g / norm
    _, hu = tr.hvp(loss, [tr.Tensor(np.array(v)) for v in theta], [np.array(c) for c in u])
    by_hvp = float(u @ np.array([h.data for h in hu]))
    by_fd = float(u @ (gradient(theta + eps * u)[1] - gradient(theta - eps * u)[1]) / (2 * eps))
    return {"w": w, "loss": value, "grad_norm": norm, "curvature": by_hvp, "curvature_fd": by_fd}


def sweep(ws: np.ndarray, steps: int, b: float = 0.0) -> dict[str, np.ndarray]:
    """curvature_at over a range of w, as arrays keyed like its result."""
    rows = [curvature_at(float(w), b, steps) for w in ws]
    return {key: np.array([r[key] for r in rows]) for key in rows[0]}


def train(steps: int = 30, low: float = 0.5, high: float = 1.5, points: int = 41) -> dict:
    """The sweep and its summary: where the curvature peaks and how well hvp matches differences."""
    result = sweep(np.linspace(low, high, points), steps)
    peak = int(np.argmax(result["curvature"]))
    scale = np.maximum(np.abs(result["curvature_fd"]), 1.0)
    result.update({
        "steps": steps,
        "peak_w": float(result["w"][peak]),
        "peak_curvature": float(result["curvature"][peak]),
        "curvature_at_low": float(result["curvature"][0]),
        "max_relative_fd_difference": float(np.max(np.abs(result["curvature"] - result["curvature_fd"]) / scale)),
    })
    return result


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--steps", type=int, default=30, help="time steps T of the unrolled unit (default 30)")
    parser.add_argument("--points", type=int, default=41, help="values of w in the sweep (default 41)")
    parser.add_argument("--low", type=float, default=0.5, help="smallest w (default 0.5)")
    parser.add_argument("--high", type=float, default=1.5, help="largest w (default 1.5)")
    add_common_options(parser, "curvature")


def run(args: argparse.Namespace) -> int:
    positive("--steps and --points", args.steps, args.points)
    if not args.low < args.high:
        raise StoryError("--low must be smaller than --high")
    progress = Progress(args.quiet)
    out = Path(args.out)
    result = train(args.steps, args.low, args.high, args.points)
    ws = result["w"]
    pictures = [
        plot.save(plot.line_plot(
            {"L(w, b=0)": (ws, result["loss"])}, title=f"Loss of a one-unit tanh RNN, T = {args.steps}",
            xlabel="recurrent weight w", ylabel="(h_T - 0.6)^2"), out / "cliff_loss.svg"),
        plot.save(plot.line_plot(
            {"hvp (recorded backward)": (ws, result["curvature"]),
             "finite differences of g": (ws, result["curvature_fd"])},
            title="Curvature along the gradient, u^T H u with u = g/|g|",
            xlabel="recurrent weight w", ylabel="curvature", markers=True,
            dashed=["finite differences of g"]), out / "cliff_curvature.svg"),
    ]
    path = save_results(out, "curvature", result)
    progress(f"curvature along the gradient peaks at w = {result['peak_w']:.3g}: {result['peak_curvature']:.4g} "
             f"(at w = {args.low:g}: {result['curvature_at_low']:.4g}); the largest stable step 2/kappa falls to "
             f"{2 / result['peak_curvature']:.3g}")
    progress(f"hvp vs finite differences: largest relative difference {result['max_relative_fd_difference']:.1e}")
    print("wrote " + ", ".join(str(p) for p in [*pictures, path]))
    return 0
