"""How long drawing the unrolled graph takes, and how it grows with T.

    python benchmarks/viz_timing.py            # from the repository root
    python benchmarks/viz_timing.py --quick    # the small cases only

Cases (the targets of issue 12): the ops view of an LSTM(4, 4) drawn and
written to SVG at T = 20, 200 and 1000 (tiled; T = 20 also with Graphviz's
full layout, for comparison), a GRU at T = 20 with each installed renderer,
and the cells view at T = 2000. For each case, in one process (the machine
may be shared and noisy): the forward+backward pass of the model (the
reference), building the DOT (``viz.draw``, which for a tiled view includes
laying out the templates) and drawing it to SVG. Times are the median of the
repeats; memory is the peak of Python's allocations during draw+render
(tracemalloc, in one extra run) and the renderer's peak resident size
(shown where it exceeds every earlier case's: the OS keeps only the maximum).
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import tinygrad_rnn as tr  # noqa: E402
import viz  # noqa: E402

render_module = sys.modules["viz.render"]  # the module (viz.render is also the function)


def lstm44(steps: int, cell: str = "lstm") -> tr.Tensor:
    """An LSTM(4, 4) (or GRU/RNN) over ``steps`` steps, batch 1, mean squared error, after backward."""
    rng = np.random.default_rng(0)
    module = {"lstm": tr.nn.LSTM, "gru": tr.nn.GRU, "rnn": tr.nn.RNN}[cell](4, 4, rng=rng)
    x = tr.Tensor(rng.standard_normal((steps, 1, 4)), name="x")
    out = module(x)[0]
    with tr.scope("loss"):
        loss = tr.functional.mse_loss(out, rng.standard_normal(out.shape))
    loss.backward()
    return loss


CASES = [  # (cell, T, view, layout, renderer, repeats)
    ("lstm", 20, "ops", "full", None, 1),
    ("lstm", 20, "ops", "auto", None, 3),
    ("lstm", 200, "ops", "auto", None, 3),
    ("lstm", 1000, "ops", "auto", None, 1),
    ("gru", 20, "ops", "auto", "graphviz-pure", 3),
    ("gru", 20, "ops", "auto", "dot", 3),
    ("lstm", 2000, "cells", "auto", "graphviz-pure", 1),
    ("lstm", 2000, "cells", "auto", "dot", 1),
]


def child_peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="only the cases with T <= 200")
    args = parser.parse_args()
    print(f"default renderer: {Path(viz.find_renderer()).name}")
    head = f"{'case':<40}{'fwd+bwd':>9}{'draw':>9}{'render':>9}{'total':>9}{'py peak':>10}{'renderer peak':>15}  nodes"
    print(head)
    for cell, steps, view, layout, renderer, repeats in CASES:
        if args.quick and steps > 200:
            continue
        if renderer and render_module._locate(renderer) is None:
            print(f"{cell} T={steps} {view}: {renderer} is not installed, skipped")
            continue
        runs = []
        before = child_peak_mb()
        for _ in range(repeats):
            t0 = time.perf_counter()
            loss = lstm44(steps, cell)
            t1 = time.perf_counter()
            drawing = viz.draw(loss, view=view, layout=layout, renderer=renderer, max_nodes=10**6)
            t2 = time.perf_counter()
            svg = drawing.pipe(format="svg")
            t3 = time.perf_counter()
            runs.append((t1 - t0, t2 - t1, t3 - t2))
        after = child_peak_mb()
        tracemalloc.start()  # once more, for memory only (tracing slows Python down)
        viz.draw(loss, view=view, layout=layout, renderer=renderer, max_nodes=10**6).pipe(format="svg")
        py_peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        model, draw, rendered = (statistics.median(r[i] for r in runs) for i in range(3))
        nodes = svg.count(b'class="node')
        name = f"{cell.upper()}(4,4) T={steps} {view}" + (" full" if layout == "full" else "")
        name += f" [{Path(viz.find_renderer(renderer)).name}]"
        print(
            f"{name:<40}{model:>8.2f}s{draw:>8.2f}s{rendered:>8.2f}s{draw + rendered:>8.2f}s"
            f"{py_peak:>8.0f}MB{f'{after:.0f}MB' if after > before else '(lower)':>15}  {nodes}",
            flush=True,
        )


if __name__ == "__main__":
    main()
