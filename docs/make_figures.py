"""Regenerate the pictures of the README's "Pictures of the graph" section.

    python docs/make_figures.py        # from the repository root

Each figure is one `tinygrad-rnn render` command (fixed seed, so the SVGs only
change when the drawing code or the model does).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tinygrad_rnn import cli  # noqa: E402

FIGURES = {
    "rnn_highlight.svg": ["--cell", "rnn", "--steps", "3", "--highlight", "weight_hh_l0"],
    "lstm_ops.svg": ["--cell", "lstm", "--steps", "3", "--grads"],
    "rnn_cells.svg": [
        "--cell",
        "rnn",
        "--steps",
        "8",
        "--layers",
        "2",
        "--bidirectional",
        "--view",
        "cells",
        "--grads",
    ],
}


def main() -> int:
    for name, args in FIGURES.items():
        code = cli.main(["render", *args, "--out", str(ROOT / "docs" / name)])
        if code:
            return code
    return 0


if __name__ == "__main__":
    sys.exit(main())
