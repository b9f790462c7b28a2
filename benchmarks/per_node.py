"""Python overhead per node, the tracing cost and the step's peak memory (issue 19's micro figures).

    OPENBLAS_NUM_THREADS=1 python benchmarks/per_node.py              # this checkout
    OPENBLAS_NUM_THREADS=1 python benchmarks/per_node.py OTHER_CHECKOUT  # another one, e.g. an older commit

- a chain of N ``h = h.tanh()`` on a (1, 4) array, built in user code (no GC pause around it),
  N = 200, 10,000, 100,000: forward and backward microseconds per node (min over repeats, process
  CPU time), and one bare ``np.tanh`` call for scale;
- ``tr.trace`` of a 200,000-node chain against its backward;
- the peak memory (tracemalloc) of one training step of an LSTM T=200 B=32 H=128 float32, in each
  mode, against the hand-written NumPy step.

To compare two checkouts, run the script once per checkout, alternately, a few times.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, sys.argv[1] if len(sys.argv) > 1 else str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

import tinygrad_rnn as tr  # noqa: E402
from tinygrad_rnn.bench import references  # noqa: E402
from tinygrad_rnn.bench.suite import peak_bytes  # noqa: E402

now = time.process_time


def chain(n: int, repeats: int) -> tuple[float, float]:
    forward, backward = [], []
    for _ in range(repeats):
        x = tr.Tensor(np.full((1, 4), 0.1), requires_grad=True)
        start = now()
        h = x
        for _ in range(n):
            h = h.tanh()
        middle = now()
        h.backward(np.ones((1, 4)))
        forward.append(middle - start)
        backward.append(now() - middle)
        del h, x
    return min(forward) / n * 1e6, min(backward) / n * 1e6


def tracing(n: int = 200_000) -> tuple[float, float]:
    x = tr.Tensor(np.full((1, 4), 0.1), requires_grad=True)
    h = x
    for _ in range(n):
        h = h.tanh()
    start = now()
    graph = tr.trace(h)
    middle = now()
    del graph
    h.backward(np.ones((1, 4)), retain_grads=False)
    return (middle - start) / n * 1e6, (now() - middle) / n * 1e6


def memory() -> dict[str, float]:
    rng = np.random.default_rng(0)
    T, B, H = 200, 32, 128
    x = rng.standard_normal((T, B, H)).astype(np.float32)
    y = rng.standard_normal((T, B, H)).astype(np.float32)
    layer = tr.nn.LSTM(H, H, rng=0)
    for p in layer.parameters():
        p.data = p.data.astype(np.float32)
    params = {n: p.data.copy() for n, p in layer.named_parameters()}

    def sgd() -> None:
        for p in layer.parameters():
            p.data -= 0.01 * p.grad
            p.grad = None

    def eager(**switches: bool):
        def step() -> None:
            tr.F.mse_loss(layer(tr.Tensor(x))[0], y).backward(**switches)
            sgd()

        return step

    def hand() -> None:
        _, grads = references.lstm_mse(params, x, y)
        for n, g in grads.items():
            params[n] -= 0.01 * g

    peaks = {"by hand": peak_bytes(hand), "eager, teaching mode (default)": peak_bytes(eager())}
    peaks["eager, retain_grads=False"] = peak_bytes(eager(retain_grads=False))
    if hasattr(tr, "compile"):
        peaks["eager, training mode"] = peak_bytes(eager(retain_grads=False, retain_graph=False))
        step = tr.compile(lambda a, b: tr.F.mse_loss(layer(a)[0], b))
        step(x, y)
        step(x, y)  # recorded, then checked: what follows is a plain replay

        def replay() -> None:
            step(x, y)
            sgd()

        peaks["replay (tr.compile)"] = peak_bytes(replay)
    return peaks


def main() -> None:
    for n, repeats in ((200, 50), (10_000, 5), (100_000, 3)):
        f, b = chain(n, repeats)
        print(f"tanh chain N={n}: forward {f:.2f} us/node, backward {b:.2f} us/node")
    a = np.full((1, 4), 0.1)
    start = now()
    for _ in range(100_000):
        a = np.tanh(a)
    print(f"one bare np.tanh on (1, 4): {(now() - start) * 10:.2f} us")
    t, b = tracing()
    print(f"tr.trace of 200,000 nodes: {t:.2f} us/node; its backward {b:.2f} us/node; trace/backward {t / b:.2f}")
    peaks = memory()
    for name, peak in peaks.items():
        print(f"LSTM T=200 B=32 H=128 float32 step peak, {name}: {peak / 2**20:.1f} MiB, "
              f"{peak / peaks['by hand']:.2f}x by hand")


if __name__ == "__main__":
    main()
