"""Regenerate the pictures of the README's "Pictures of the graph" section.

    python docs/make_figures.py        # from the repository root

Each figure is one `tinygrad-rnn render` command (fixed seed, so the SVGs only
change when the drawing code or the model does). docs/graphs_lstm20_after.png is
`render --cell lstm --steps 20 --grads --full` photographed by headless Chromium: the whole
picture scaled to 2400 px wide above its first steps at full size.
"""

from __future__ import annotations

import sys
import tempfile
import time
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


WIDE = 2400  # px: the width of the LSTM T = 20 photograph


def lstm20_png() -> Path:
    """The tiled LSTM T = 20: the whole strip scaled to WIDE px, and under it its start at full size."""
    from tests.chromium import figure_browser

    folder = Path(tempfile.mkdtemp())
    svg = folder / "lstm20.svg"
    code = cli.main(["render", "--cell", "lstm", "--steps", "20", "--grads", "--full", "--out", str(svg)])
    if code:
        raise SystemExit(code)
    page = folder / "lstm20.html"
    page.write_text(f"""<!doctype html><html><body style="margin:0;background:#fff">
<img src="{svg.name}" style="width:{WIDE}px;display:block">
<div style="width:{WIDE}px;overflow:hidden"><img src="{svg.name}" style="display:block"></div></body></html>""")
    driver = figure_browser(WIDE, 1000)
    try:
        driver.get(page.as_uri())
        time.sleep(1)
        height = driver.execute_script("return document.body.scrollHeight")
        driver.set_window_size(WIDE, min(int(height), 1000) + 120)
        time.sleep(0.5)
        out = ROOT / "docs" / "graphs_lstm20_after.png"
        driver.save_screenshot(str(out))
    finally:
        driver.quit()
    return out


def main() -> int:
    for name, args in FIGURES.items():
        code = cli.main(["render", *args, "--out", str(ROOT / "docs" / name)])
        if code:
            return code
    print(f"wrote {lstm20_png()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
