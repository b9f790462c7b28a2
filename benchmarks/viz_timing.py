"""How long drawing takes: the ops view of an LSTM over T=10 and the cells view of T=300.

    python benchmarks/viz_timing.py        # from the repository root

For each case, in one process and interleaved (the machine may be shared and
noisy): the forward+backward pass of the model itself (the reference), building
the DOT text (viz.draw) and laying it out to SVG (dot or graphviz-pure). Prints
the median of a few repeats and the ratio of drawing to the reference.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import viz  # noqa: E402
from tinygrad_rnn.cli.render import toy_loss  # noqa: E402

CASES = [("lstm", 10, "ops"), ("lstm", 300, "cells"), ("rnn", 300, "cells")]
REPEATS = 3


def main() -> None:
    print(f"renderer: {Path(viz.find_renderer()).name}")
    print(f"{'case':<22}{'fwd+bwd':>10}{'draw':>10}{'render':>10}{'total':>10}{'total/fwd+bwd':>15}  nodes")
    for cell, steps, view in CASES:
        runs = []
        for _ in range(REPEATS):
            t0 = time.perf_counter()
            loss = toy_loss(cell, steps)
            t1 = time.perf_counter()
            drawing = viz.draw(loss, view=view)
            t2 = time.perf_counter()
            svg = drawing.pipe(format="svg")
            t3 = time.perf_counter()
            runs.append((t1 - t0, t2 - t1, t3 - t2))
        model, draw, render = (statistics.median(r[i] for r in runs) for i in range(3))
        nodes = svg.count(b'class="node')
        name = f"{cell} T={steps} {view}"
        print(
            f"{name:<22}{model:>9.3f}s{draw:>9.3f}s{render:>9.3f}s{draw + render:>9.3f}s"
            f"{(draw + render) / model:>14.1f}x  {nodes}"
        )


if __name__ == "__main__":
    main()
