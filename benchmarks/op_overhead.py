"""The engine's cost per op: a 200-op tanh chain on a 1x4 array, forward and backward.

    python benchmarks/op_overhead.py                                  # this checkout alone
    git archive <commit> tinygrad_rnn | tar -x -C /tmp/before         # another version beside it:
    python benchmarks/op_overhead.py before=/tmp/before/tinygrad_rnn after=tinygrad_rnn

On a 1x4 array NumPy's arithmetic is nearly free, so what is timed is the
engine's own bookkeeping per op (recording a node, reading the switches,
walking the graph back). Each NAME=PACKAGE_DIR is imported as its own package
in this one process, and the versions take turns, so a busy machine slows
them alike. Process CPU time (one thread); prints medians in microseconds per op.
"""

from __future__ import annotations

import gc
import importlib.util
import statistics
import sys
import time
from pathlib import Path
from types import ModuleType

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OPS, REPEATS, ROUNDS = 200, 20, 40


def load(name: str, package_dir: str) -> ModuleType:
    """Import the package in ``package_dir`` under the name ``name``."""
    path = Path(package_dir).resolve()
    spec = importlib.util.spec_from_file_location(name, path / "__init__.py", submodule_search_locations=[str(path)])
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def chain(tr: ModuleType, x0: np.ndarray) -> tuple[float, float]:
    """Seconds per op of the forward chain and of its backward pass (mean over REPEATS)."""
    x = tr.Tensor(x0.copy(), requires_grad=True)
    forward = backward = 0.0
    for _ in range(REPEATS):
        start = time.process_time()
        h = x
        for _ in range(OPS):
            h = h.tanh()
        loss = h.sum()
        middle = time.process_time()
        loss.backward()
        forward += middle - start
        backward += time.process_time() - middle
        x.grad = None
    per_op = REPEATS * (OPS + 1)
    return forward / per_op, backward / per_op


def main(argv: list[str]) -> None:
    pairs = [a.split("=", 1) for a in argv] or [["this", str(ROOT / "tinygrad_rnn")]]
    engines = [(name, load(f"engine_{i}_{name}", path)) for i, (name, path) in enumerate(pairs)]
    x0 = np.random.default_rng(0).standard_normal((1, 4))
    times: dict[str, list[tuple[float, float]]] = {name: [] for name, _ in engines}
    gc.disable()
    for round_ in range(ROUNDS):
        for name, tr in engines if round_ % 2 == 0 else engines[::-1]:
            times[name].append(chain(tr, x0))
    gc.enable()
    reference = None
    for name, rows in times.items():
        f = statistics.median(r[0] for r in rows) * 1e6
        b = statistics.median(r[1] for r in rows) * 1e6
        reference = reference or f + b
        print(f"{name:>10}: forward {f:5.2f} us/op, backward {b:5.2f} us/op, "
              f"total {f + b:5.2f} us/op ({(f + b) / reference:.3f} x the first)")


if __name__ == "__main__":
    main(sys.argv[1:])
