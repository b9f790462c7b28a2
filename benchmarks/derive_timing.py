"""How long ``tinygrad-rnn derive --check`` takes for T = 5, 10, 50 and 2000, ``--difference --check``, and
``--cell lstm|gru --check`` (the additive path and the W_hh recurrence with a matrix B_k).

    python benchmarks/derive_timing.py        # from the repository root

Each command runs in a fresh process (SymPy's import and caches included, as
a user would see it), interleaved with the reference ``python -c "import
sympy"`` so that a busy machine slows both alike. Prints the best of a few
repeats and the ratio to the reference.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REPEATS = 3


def main() -> None:
    runs = {"python -c 'import sympy'": [sys.executable, "-c", "import sympy"]}
    for steps in (5, 10, 50, 2000):
        runs[f"tinygrad-rnn derive --steps {steps} --check"] = [
            sys.executable, "-m", "tinygrad_rnn", "derive", "--steps", str(steps), "--check",
        ]  # fmt: skip
    runs["tinygrad-rnn derive --difference --check"] = [
        sys.executable, "-m", "tinygrad_rnn", "derive", "--difference", "--check",
    ]  # fmt: skip
    for cell in ("lstm", "gru"):
        runs[f"tinygrad-rnn derive --cell {cell} --check"] = [
            sys.executable, "-m", "tinygrad_rnn", "derive", "--cell", cell, "--check",
        ]  # fmt: skip
    best: dict[str, float] = {}
    for _ in range(REPEATS):
        for name, cmd in runs.items():
            start = time.perf_counter()
            subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            best[name] = min(best.get(name, float("inf")), time.perf_counter() - start)
    reference = best["python -c 'import sympy'"]
    for name, seconds in best.items():
        print(f"{name:<46}{seconds:6.2f} s  {seconds / reference:5.1f}x the reference")


if __name__ == "__main__":
    main()
