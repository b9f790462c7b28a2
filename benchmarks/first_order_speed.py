"""First-order speed before/after a change, interleaved in one process (repo-only script).

    /work/venv/bin/python benchmarks/first_order_speed.py --before 5fed70e [--rounds 15]

Exports the ``--before`` commit's ``tinygrad_rnn`` with ``git archive`` and
this checkout's ``tinygrad_rnn`` into a temporary folder as two packages,
imports both into this process, and times the same workloads round by round,
alternating which goes first. Prints the median time per workload and the
after/before ratio (1.00 = unchanged; the spread of the per-round ratios says
what noise is). Workloads: forward+backward of a 200-op tanh chain on a 1x4
array (pure per-node Python cost), of a relu RNN and of an LSTM (T=35, B=8,
input 32, hidden 64, loss = sum(output * R)).
"""

from __future__ import annotations

import argparse
import importlib
import io
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def export(rev: str | None, into: Path, name: str) -> None:
    target = into / name
    if rev is None:
        shutil.copytree(ROOT / "tinygrad_rnn", target, ignore=shutil.ignore_patterns("__pycache__"))
        return
    blob = subprocess.run(["git", "archive", rev, "tinygrad_rnn"], cwd=ROOT, check=True, capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(blob)) as tar:
        tar.extractall(into / "_tmp", filter="data")
    (into / "_tmp" / "tinygrad_rnn").rename(target)


def workloads(tr) -> dict:
    rng = np.random.default_rng(0)
    x0 = rng.standard_normal((1, 4))

    def chain():
        h = tr.Tensor(x0, requires_grad=True)
        out = h
        for _ in range(200):
            out = out.tanh()
        out.sum().backward()

    def recurrent(kind, **kw):
        module = getattr(tr.nn, kind)(32, 64, rng=0, **kw)
        x = tr.Tensor(rng.standard_normal((35, 8, 32)))
        R = rng.standard_normal((35, 8, 64))

        def run():
            for p in module.parameters():
                p.grad = None
            out, _ = module(x)
            (out * R).sum().backward()

        return run

    return {"tanh chain x200": chain, "RNN relu T=35 B=8": recurrent("RNN", nonlinearity="relu"),
            "LSTM T=35 B=8": recurrent("LSTM")}


def timed(fn, repeat: int) -> float:
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - start) / repeat


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", required=True, help="git revision to compare against")
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        export(args.before, folder, "tr_before")
        export(None, folder, "tr_after")
        sys.path.insert(0, tmp)
        sides = {name: workloads(importlib.import_module(name)) for name in ("tr_before", "tr_after")}
        repeats = {"tanh chain x200": 50, "RNN relu T=35 B=8": 5, "LSTM T=35 B=8": 3}
        times = {side: {w: [] for w in repeats} for side in sides}
        for side in sides:  # warm up
            for fn in sides[side].values():
                fn()
        for r in range(args.rounds):
            order = list(sides) if r % 2 == 0 else list(reversed(sides))
            for w in repeats:
                for side in order:
                    times[side][w].append(timed(sides[side][w], repeats[w]))
    print(f"first-order forward+backward, before = {args.before}, median of {args.rounds} interleaved rounds")
    for w in repeats:
        b, a = statistics.median(times["tr_before"][w]), statistics.median(times["tr_after"][w])
        fastest = min(times["tr_after"][w]) / min(times["tr_before"][w])
        ratios = sorted(x / y for x, y in zip(times["tr_after"][w], times["tr_before"][w]))
        q1, q3 = ratios[len(ratios) // 4], ratios[3 * len(ratios) // 4]
        print(f"  {w:20s} before {b * 1e3:8.3f} ms  after {a * 1e3:8.3f} ms  ratio of medians {a / b:.3f}, "
              f"of minima {fastest:.3f} (per-round ratios, middle half {q1:.2f}..{q3:.2f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
