"""``tinygrad-rnn render``: draw the unrolled graph of a small RNN/LSTM/GRU to a file.

Builds a small ``tr.nn`` model (input size 2, batch 1) with a fixed seed, runs
a toy loss (mean squared error against a fixed random target) forward and
backward, and writes the picture with ``viz`` (imported here, inside ``run``,
never by the engine itself). The ops view of these unrolls is tiled (one step
laid out, T copies placed along the time axis), so ``--steps 1000`` takes
seconds; ``--layout full`` asks Graphviz for the whole graph instead. Past 9
steps the ops picture keeps three steps at each end and says how many it left
out between them (``--full`` draws every step). ``--view rolled`` draws one
step once, its recurrence a loop labelled with T: the same picture for any T.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from .. import functional, nn
from ..files import check_output
from ..graph import scope, trace
from ..stories.common import seed
from ..tensor import Tensor
from . import CLIError, UsageError, option_words, output_file

MODULES = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
ELIDE_KEEP = 3  # time steps kept at each end of a long unroll's ops view, unless --full


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cell", choices=sorted(MODULES), default="lstm", help="recurrence to draw (default lstm)")
    parser.add_argument("--steps", type=int, default=4, help="time steps T to unroll (default 4)")
    parser.add_argument("--layers", type=int, default=1, help="stacked layers (default 1)")
    parser.add_argument("--bidirectional", action="store_true", help="add a reverse direction per layer")
    parser.add_argument("--hidden", type=int, default=2, help="hidden size (default 2)")
    parser.add_argument(
        "--view",
        choices=("ops", "cells", "rolled"),
        default="ops",
        help="ops: every primitive; cells: one node per time step; rolled: one step drawn once, "
        "its recurrence a loop labelled with T (default ops)",
    )
    parser.add_argument("--values", action="store_true", help="show the numbers on every tensor")
    parser.add_argument("--grads", action="store_true", help="show gradients, colour by their size")
    parser.add_argument(
        "--highlight", metavar="NAME", help="mark every path from the loss to this tensor, e.g. weight_hh_l0"
    )
    parser.add_argument(
        "--layout",
        choices=("auto", "full"),
        default="auto",
        help="ops view: auto tiles the unrolled steps (linear in T); full lays out the whole graph (default auto)",
    )
    parser.add_argument(
        "--max-nodes", type=int, default=None, help="refuse bigger full (untiled) ops layouts (default 500)"
    )
    parser.add_argument(
        "--renderer",
        metavar="PROGRAM",
        default=None,
        help="graphviz-pure or dot, or a path (default: $TINYGRAD_RNN_RENDERER, else graphviz-pure, else dot)",
    )
    parser.add_argument(
        "--full", action="store_true",
        help=f"ops view: draw every time step (default: past {2 * ELIDE_KEEP + 3} steps, keep {ELIDE_KEEP} at each end "
        "and write how many were left out between them)",
    )
    parser.add_argument("--seed", type=seed, default=0)
    parser.add_argument("--out", type=output_file(".svg", ".png", ".dot", ".gv"), default=None,
                        help="output file: .svg, .png or .dot (default <cell>.svg; missing folders are made)")


def run(args: argparse.Namespace) -> int:
    import viz
    from viz.elide import MIN_LEFT_OUT

    if args.steps < 1 or args.layers < 1 or args.hidden < 1:
        raise UsageError("--steps, --layers and --hidden must be positive")
    if args.max_nodes is not None and args.view != "ops":
        raise UsageError(f"--max-nodes limits the ops view; --view {args.view} draws any number of time steps")
    if args.max_nodes is not None and args.max_nodes < 1:
        raise UsageError("--max-nodes must be positive")
    out = Path(args.out or f"{args.cell}.svg")
    try:
        check_output(out)  # --out was checked when read; this is the default, <cell>.svg here
    except OSError as error:
        raise CLIError(str(error)) from None
    start = time.perf_counter()
    if args.steps * args.layers >= 300:
        print(f"render: unrolling {args.cell} over {args.steps} steps and drawing it...", file=sys.stderr, flush=True)
    loss = toy_loss(args.cell, args.steps, args.layers, args.bidirectional, args.hidden, args.seed)
    try:
        drawing = viz.draw(
            loss,
            view=args.view,
            values=args.values,
            grads=args.grads,
            highlight=args.highlight,
            max_nodes=args.max_nodes or 500,
            layout=args.layout,
            renderer=args.renderer,
            elide=None if args.full else ELIDE_KEEP,
        )
        viz.render(drawing, out)
    except viz.GraphTooLarge as error:
        nodes = str(error).split(" nodes")[0].rsplit(" ", 1)[-1]
        raise CLIError(
            f"a full layout of this ops view has {nodes} nodes, more than --max-nodes {args.max_nodes or 500}: "
            f"Graphviz would take minutes. Leave out --layout full (the steps are then tiled), use --view cells "
            f"(one node per time step), or pass --max-nodes {nodes} to wait for it."
        ) from None
    except (viz.RendererNotFound, viz.RenderError, ValueError, OSError) as error:
        raise CLIError(option_words(str(error))) from None
    seconds = time.perf_counter() - start
    graph = trace(loss)
    left_out = args.steps - 2 * ELIDE_KEEP
    if args.view == "ops" and not args.full and args.layout == "auto" and left_out >= MIN_LEFT_OUT:
        print(f"render: t = {ELIDE_KEEP + 1}..{args.steps - ELIDE_KEEP} ({left_out} steps) left out of the picture; "
              "--full draws every step", file=sys.stderr)
    print(
        f"wrote {out}: {args.cell}, T={args.steps}, {args.layers} layer(s)"
        f"{', bidirectional' if args.bidirectional else ''}, {args.view} view of {len(graph.nodes)} ops, "
        f"loss {loss.item():.4f}, drawn and rendered in {seconds:.2f} s"
    )
    return 0


def toy_loss(
    cell: str, steps: int, layers: int = 1, bidirectional: bool = False, hidden: int = 2, seed: int = 0
) -> Tensor:
    """Forward and backward of mean((output - target)^2) through a small seeded tr.nn model; returns the loss."""
    rng = np.random.default_rng(seed)
    module = MODULES[cell](2, hidden, num_layers=layers, bidirectional=bidirectional, rng=rng)
    x = Tensor(rng.standard_normal((steps, 1, 2)), name="x")
    output = module(x)[0]
    target = rng.standard_normal(output.shape)
    with scope("loss"):
        loss = functional.mse_loss(output, target)
    loss.name = "loss"
    loss.backward()
    return loss
