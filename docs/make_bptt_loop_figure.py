"""Regenerate docs/bptt_loop_explorer.png with headless Chromium (selenium).

    python docs/make_bptt_loop_figure.py        # from the repository root

The explorer over an LSTM unrolled 4 steps, stepped (with the arrow key, as a reader
would) to the step that processes the forget gate's sigmoid at t = 3; the side panel is
scrolled to the BPTT-loop panel, whose marked line is the one that step runs.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402

import tinygrad_rnn as tr  # noqa: E402
import viz  # noqa: E402
from tests.chromium import figure_browser  # noqa: E402
from tinygrad_rnn.stepper import BackwardStepper  # noqa: E402


def main() -> None:
    model = tr.nn.LSTM(2, 3, rng=0)
    out, _ = model(tr.Tensor(np.random.default_rng(0).normal(size=(4, 1, 2))))
    stepper = BackwardStepper(tr.F.mse_loss(out, np.zeros(out.shape)))
    order = [n.index for n in reversed(stepper.graph.nodes)]
    target = next(n.index for n in stepper.graph.nodes
                  if n.op == "sigmoid" and n.scope == "lstm/l0/fwd/t3/forget_gate")
    steps = order.index(target) + 1
    folder = Path(tempfile.mkdtemp())
    page = viz.backward_player(stepper, folder / "loop.html", title="Backward through an LSTM, beside its BPTT loop")
    driver = figure_browser(1400, 760)
    try:
        driver.get(page.as_uri())
        root = driver.find_element(By.CSS_SELECTOR, ".tgr-explorer")
        root.send_keys(Keys.ARROW_RIGHT * steps)
        time.sleep(0.5)
        driver.execute_script("""
            const side = arguments[0].querySelector('.tgr-side'), panel = side.querySelector('.tgr-loop-panel');
            side.scrollTop = panel.offsetTop - side.offsetTop - 4;""", root)
        time.sleep(0.3)
        out = ROOT / "docs" / "bptt_loop_explorer.png"
        driver.save_screenshot(str(out))
        print(out)
    finally:
        driver.quit()


if __name__ == "__main__":
    main()
