"""What docs/notation.md quotes about the cost of naming: one pass over the graph, against trace().

    python docs/measure_notation.py        # from the repository root

Times are ratios against ``tr.trace(loss)`` of the same graph in the same process (best of 5),
since the machine is shared and noisy.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

import tinygrad_rnn as tr  # noqa: E402
from docs.measure_explorer import best_of  # noqa: E402
from tinygrad_rnn.notation import Notation  # noqa: E402


def main() -> int:
    for cell, T in (("LSTM", 100), ("LSTM", 1000), ("GRU", 1000)):
        module = getattr(tr.nn, cell)(8, 16, rng=np.random.default_rng(0))
        out, _ = module(tr.Tensor(np.random.default_rng(1).standard_normal((T, 4, 8)), name="x"))
        loss = out.sum()
        graph = tr.trace(loss)
        traced = best_of(5, lambda loss=loss: tr.trace(loss))
        named = best_of(5, lambda graph=graph: Notation(graph))
        print(f"{cell} T={T}: {len(graph.nodes):,} nodes, {len(graph.tensors):,} tensors; trace {traced * 1e3:.0f} ms, "
              f"names {named * 1e3:.0f} ms ({named / traced:.1f}x trace)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
