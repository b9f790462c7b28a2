"""Regenerate the pictures of docs/higher-order.md.

    python docs/make_higher_order_figures.py        # from the repository root

A tanh RNN (input 1, hidden 2, seed 0) unrolled over T = 3 steps with
loss = sum(output^2): the recorded gradient dL/dW_hh drawn op by op, and
the adjoint view (forward and backward rows). The cliff pictures come from
``tinygrad-rnn train curvature --out docs/stories/curvature``.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

import tinygrad_rnn as tr  # noqa: E402
import viz  # noqa: E402
from tinygrad_rnn import cli  # noqa: E402


def rnn_t3() -> tuple[tr.Tensor, tr.nn.RNN]:
    rnn = tr.nn.RNN(1, 2, rng=0)
    x = tr.Tensor(np.random.default_rng(0).standard_normal((3, 1, 1)), name="x")
    out, _ = rnn(x)
    return (out * out).sum(), rnn


def main() -> int:
    out = ROOT / "docs" / "higher-order"
    out.mkdir(parents=True, exist_ok=True)
    loss, rnn = rnn_t3()
    viz.render(viz.adjoint(loss, rnn.weight_hh_l0), out / "adjoint_rnn_T3.svg")
    (g,) = tr.grad(loss, [rnn.weight_hh_l0], create_graph=True)
    g.name = "dL/dweight_hh_l0"
    viz.render(viz.draw(g), out / "gradient_ops_rnn_T3.svg")
    return cli.main(["train", "curvature", "--out", str(ROOT / "docs" / "stories" / "curvature"), "--quiet"])


if __name__ == "__main__":
    sys.exit(main())
