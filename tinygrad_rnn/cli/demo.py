"""``tinygrad-rnn demo``: the smallest story: W_hh's gradient is a sum over time steps."""

from __future__ import annotations

import argparse

import numpy as np

from .. import ops
from ..graph import scope, trace
from ..stories.common import seed
from ..tensor import Parameter, Tensor
from . import LINE_LIMIT, UsageError, shorten


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--steps", type=int, default=3, help="time steps to unroll (default 3)")
    parser.add_argument("--hidden", type=int, default=2, help="hidden size (default 2)")
    parser.add_argument("--seed", type=seed, default=0)
    parser.add_argument("--full", action="store_true", help=f"print lines longer than {LINE_LIMIT} characters whole")


def matrix(head: str, value: np.ndarray) -> str:
    """``head`` and the matrix, its later rows indented under the first (not back at the margin)."""
    return head + np.array2string(value, precision=4).replace("\n", "\n" + " " * len(head))


def run(args: argparse.Namespace) -> int:
    if args.steps < 1 or args.hidden < 1:
        raise UsageError("--steps and --hidden must be positive")
    rng = np.random.default_rng(args.seed)
    H = args.hidden
    W_hh = Parameter(rng.uniform(-1, 1, (H, H)), name="W_hh")
    W_xh = Parameter(rng.uniform(-1, 1, (H, 1)), name="W_xh")
    xs = rng.standard_normal((args.steps, 1))
    h = Tensor(np.zeros(H), name="h0")
    hs = []
    for t in range(args.steps):
        with scope("rnn"), scope(f"t{t + 1}"):
            h = ops.tanh(W_hh @ h + W_xh @ Tensor(xs[t]))
        hs.append(h)
    loss = h.sum()
    graph = trace(loss)
    print(f"h_t = tanh(W_hh h_(t-1) + W_xh x_t), unrolled over {args.steps} steps, loss = sum(h_T)")
    scopes = f"recorded {graph}: scopes {', '.join(s for s in graph.scopes() if s)}"
    print(shorten(scopes, "run with --full", None if args.full else LINE_LIMIT))
    loss.backward()
    print("\ndL/dW_hh = sum over t of (dL/dh_t * (1 - h_t^2)) outer h_(t-1):")
    previous = np.zeros(H)
    total = np.zeros((H, H))
    for t, h_t in enumerate(hs, start=1):
        contribution = np.outer(h_t.grad * (1 - h_t.data**2), previous)
        total += contribution
        print(matrix(f"  t={t}: ", contribution))
        if t == 1:
            print("        (all zero: the outer product is with h_0, and h_0 = 0, so W_hh did nothing at t=1)")
        previous = h_t.data
    print(matrix("  sum  = ", total))
    print(matrix("  W_hh.grad from backward() = ", W_hh.grad))
    print(f"  max |difference| = {np.max(np.abs(total - W_hh.grad)):.2e}")
    return 0
