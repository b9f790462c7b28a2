"""``tinygrad-rnn render``: draw the unrolled graph of a small RNN/LSTM/GRU to a file.

Builds a small model with a fixed seed, runs a toy loss (mean squared error
against a fixed random target) forward and backward, and writes the picture
with ``viz`` (imported here, inside ``run``, never by the engine itself).

Until ``tinygrad_rnn.nn`` exists, the three recurrences are written below with
engine primitives, following the scope convention of the modules exactly:
``<kind>/l<layer>/<dir>`` for the whole-sequence input projection,
``.../t<t>`` for each step and a gate scope for each equation, with
PyTorch's parameter names, shapes, gate order and initialisation.
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np

from . import autograd, functional, ops
from .tensor import Parameter, Tensor

GATES = {"rnn": 1, "lstm": 4, "gru": 3}


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cell", choices=sorted(GATES), default="lstm", help="recurrence to draw (default lstm)")
    parser.add_argument("--steps", type=int, default=4, help="time steps T to unroll (default 4)")
    parser.add_argument("--layers", type=int, default=1, help="stacked layers (default 1)")
    parser.add_argument("--bidirectional", action="store_true", help="add a reverse direction per layer")
    parser.add_argument("--hidden", type=int, default=2, help="hidden size (default 2)")
    parser.add_argument(
        "--view",
        choices=("ops", "cells"),
        default="ops",
        help="ops: every primitive; cells: one node per time step (default ops)",
    )
    parser.add_argument("--values", action="store_true", help="show the numbers on every tensor")
    parser.add_argument("--grads", action="store_true", help="show gradients, colour by their size")
    parser.add_argument(
        "--highlight", metavar="NAME", help="mark every path from the loss to this tensor, e.g. weight_hh_l0"
    )
    parser.add_argument("--max-nodes", type=int, default=1500, help="refuse bigger ops views (default 1500)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None, help="output file: .svg, .png or .dot (default <cell>.svg)")


def run(args: argparse.Namespace) -> int:
    import viz

    if args.steps < 1 or args.layers < 1 or args.hidden < 1:
        raise SystemExit("render: --steps, --layers and --hidden must be positive")
    out = Path(args.out or f"{args.cell}.svg")
    loss = toy_loss(args.cell, args.steps, args.layers, args.bidirectional, args.hidden, args.seed)
    start = time.perf_counter()
    try:
        drawing = viz.draw(
            loss,
            view=args.view,
            values=args.values,
            grads=args.grads,
            highlight=args.highlight,
            max_nodes=args.max_nodes,
        )
        viz.render(drawing, out)
    except (viz.GraphTooLarge, viz.RendererNotFound, ValueError) as error:
        raise SystemExit(f"render: {error}") from None
    seconds = time.perf_counter() - start
    graph = autograd.trace(loss)
    print(
        f"wrote {out}: {args.cell}, T={args.steps}, {args.layers} layer(s)"
        f"{', bidirectional' if args.bidirectional else ''}, {args.view} view of {len(graph.nodes)} ops, "
        f"loss {loss.item():.4f}, drawn and rendered in {seconds:.2f} s"
    )
    return 0


def toy_loss(
    cell: str, steps: int, layers: int = 1, bidirectional: bool = False, hidden: int = 2, seed: int = 0
) -> Tensor:
    """Forward and backward of mean((output - target)^2) through a small seeded model; returns the loss."""
    rng = np.random.default_rng(seed)
    x = Tensor(rng.standard_normal((steps, 1, 2)), name="x")
    output = _stacked(cell, x, hidden, layers, bidirectional, rng)
    target = rng.standard_normal(output.shape)
    with autograd.scope("loss"):
        loss = functional.mse_loss(output, target)
    loss.name = "loss"
    loss.backward()
    return loss


def _stacked(cell: str, x: Tensor, hidden: int, layers: int, bidirectional: bool, rng: np.random.Generator) -> Tensor:
    """Output (T, B, D*H) of a stacked, optionally bidirectional recurrence (PyTorch's layout)."""
    with autograd.scope(cell):
        for layer in range(layers):
            directions = ("fwd", "rev") if bidirectional else ("fwd",)
            outputs = [_direction(cell, x, hidden, layer, d, rng) for d in directions]
            with autograd.scope(f"l{layer}"):
                x = outputs[0] if len(outputs) == 1 else ops.concat(outputs, axis=-1)
    return x


def _direction(cell: str, x: Tensor, hidden: int, layer: int, direction: str, rng: np.random.Generator) -> Tensor:
    """One layer in one direction over the whole sequence: the (T, B, H) stack of h_t."""
    steps, batch, features = x.shape
    size = GATES[cell] * hidden
    suffix = f"_l{layer}" + ("_reverse" if direction == "rev" else "")
    bound = 1 / math.sqrt(hidden)

    def param(name: str, *shape: int) -> Parameter:
        return Parameter(rng.uniform(-bound, bound, shape), name=name + suffix)

    w_ih, w_hh = param("weight_ih", size, features), param("weight_hh", size, hidden)
    b_ih, b_hh = param("bias_ih", size), param("bias_hh", size)
    h = Tensor(np.zeros((batch, hidden)), name="h0")
    c = Tensor(np.zeros((batch, hidden)), name="c0")
    hs: list = [None] * steps
    order = range(1, steps + 1) if direction == "fwd" else range(steps, 0, -1)
    with autograd.scope(f"l{layer}"), autograd.scope(direction):
        projected = x @ w_ih.T + b_ih  # x_t W_ih^T + b_ih for every t in one matmul
        w_hh_t = w_hh.T
        for t in order:
            with autograd.scope(f"t{t}"):
                if cell == "rnn":
                    with autograd.scope("hidden"):
                        h = (projected[t - 1] + h @ w_hh_t + b_hh).tanh()
                elif cell == "lstm":
                    h, c = _lstm_step(projected[t - 1] + h @ w_hh_t + b_hh, c, hidden)
                else:
                    h = _gru_step(projected[t - 1], h @ w_hh_t + b_hh, h, hidden)
            hs[t - 1] = h
        return ops.stack(hs, axis=0)


def _lstm_step(gates: Tensor, c: Tensor, hidden: int) -> tuple[Tensor, Tensor]:
    """i, f, g, o from the fused pre-activations (PyTorch's order); c_t = f c + i g; h_t = o tanh(c_t)."""
    i, f, g, o = ops.split(gates, hidden, axis=-1)
    with autograd.scope("input_gate"):
        i = i.sigmoid()
    with autograd.scope("forget_gate"):
        f = f.sigmoid()
    with autograd.scope("cell_gate"):
        g = g.tanh()
    with autograd.scope("output_gate"):
        o = o.sigmoid()
    with autograd.scope("cell_state"):
        c = f * c + i * g
    with autograd.scope("hidden"):
        h = o * c.tanh()
    return h, c


def _gru_step(x_part: Tensor, h_part: Tensor, h: Tensor, hidden: int) -> Tensor:
    """r, z, n as in PyTorch (reset gate applied to W_hn h + b_hn); h_t = (1 - z) n + z h_{t-1}."""
    x_r, x_z, x_n = ops.split(x_part, hidden, axis=-1)
    h_r, h_z, h_n = ops.split(h_part, hidden, axis=-1)
    with autograd.scope("reset_gate"):
        r = (x_r + h_r).sigmoid()
    with autograd.scope("update_gate"):
        z = (x_z + h_z).sigmoid()
    with autograd.scope("new_gate"):
        n = (x_n + r * h_n).tanh()
    with autograd.scope("hidden"):
        return (1 - z) * n + z * h
