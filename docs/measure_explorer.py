"""What docs/explorer.md quotes about frames: stepper.frames() against stepper.run(), and the data size.

    python docs/measure_explorer.py        # from the repository root

Times are ratios against ``stepper.run()`` of the same stepper in the same process (best of 3).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import tinygrad_rnn as tr  # noqa: E402
from tinygrad_rnn.cli.step import builtin_model  # noqa: E402
from viz.explorer import explorer_data, json_for_script  # noqa: E402


def best_of(n: int, action) -> float:
    times = []
    for _ in range(n):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> int:
    for cell, steps in (("rnn", 3), ("lstm", 20), ("gru", 20)):
        stepper = tr.BackwardStepper(builtin_model(cell, steps))

        def run(stepper=stepper) -> None:
            stepper.run()
            stepper.reset()

        ratio = best_of(3, stepper.frames) / best_of(3, run)
        data, _ = explorer_data(stepper, {}, 0)
        print(f"{cell.upper()} T={steps}: {stepper.steps} steps; frames() = {ratio:.0f}x run(); "
              f"the explorer's data {len(json_for_script(data)) / 1e3:.0f} kB of JSON")
    return 0


if __name__ == "__main__":
    sys.exit(main())
