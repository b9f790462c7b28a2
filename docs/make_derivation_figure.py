"""Regenerate docs/derivation.png: the tour's derivation.html (typeset MathML) in headless Chromium.

    python docs/make_derivation_figure.py        # from the repository root

Writes the tour's derivation part (``tinygrad-rnn derive --cell rnn --steps 5 --check`` as a page)
into a temporary folder and photographs the scalar RNN's derivation, from its heading to the
written-out gradient (a 1000 × 1000 window).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


from tests.chromium import figure_browser  # noqa: E402
from tinygrad_rnn.cli import tour  # noqa: E402


def main() -> None:
    folder = Path(tempfile.mkdtemp())
    tour.part_derivation(folder, 5)
    driver = figure_browser(1000, 1000)
    try:
        driver.set_window_size(1000, 1000)
        driver.get((folder / "derivation.html").as_uri())
        driver.execute_script(
            "const h = [...document.querySelectorAll('h3')].find(e => e.innerText.includes('scalar Elman'));"
            "window.scrollTo(0, h.getBoundingClientRect().top + window.scrollY - 10);"
        )
        out = ROOT / "docs" / "derivation.png"
        driver.save_screenshot(str(out))
        print(f"wrote {out}")
    finally:
        driver.quit()


if __name__ == "__main__":
    main()
