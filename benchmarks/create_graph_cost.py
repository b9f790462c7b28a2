"""What recording the backward pass costs (repo-only script).

    /work/venv/bin/python benchmarks/create_graph_cost.py [--rounds 7]

One LSTM layer (T=35, B=8, input 32, hidden 64, loss = sum(output * R)); each
line is forward + the named pass, median of the rounds, relative to
forward + backward(): tr.grad (plain), tr.grad(create_graph=True), and a
second derivative of sum over parameters of |dL/dp|^2. Also prints the node
counts of the forward graph and of the recorded graph of dL/dW_hh.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import tinygrad_rnn as tr  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    lstm = tr.nn.LSTM(32, 64, rng=0)
    x, R = tr.Tensor(rng.standard_normal((35, 8, 32))), rng.standard_normal((35, 8, 64))
    params = list(lstm.parameters())

    def forward() -> tr.Tensor:
        out, _ = lstm(x)
        return (out * R).sum()

    def backward() -> None:
        for p in params:
            p.grad = None
        forward().backward()

    def plain() -> None:
        tr.grad(forward(), params)

    def recorded() -> None:
        tr.grad(forward(), params, create_graph=True)

    def second() -> None:
        grads = tr.grad(forward(), params, create_graph=True)
        tr.grad(sum((g * g).sum() for g in grads), params)

    passes = {"backward()": backward, "tr.grad": plain, "tr.grad(create_graph=True)": recorded,
              "second derivative": second}
    times: dict[str, list[float]] = {name: [] for name in passes}
    for _ in range(args.rounds):
        for name, fn in passes.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    base = statistics.median(times["backward()"])
    for name, ts in times.items():
        print(f"  {name:28s} {statistics.median(ts) * 1e3:8.1f} ms   x{statistics.median(ts) / base:.2f}")
    loss = forward()
    (g_hh,) = tr.grad(loss, [lstm.weight_hh_l0], create_graph=True)
    print(f"  nodes: forward {len(tr.trace(loss))}, recorded graph of dL/dW_hh {len(tr.trace(g_hh))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
