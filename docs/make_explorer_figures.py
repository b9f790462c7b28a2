"""Regenerate the screenshots of docs/explorer.md with headless Chromium (selenium).

    python docs/make_explorer_figures.py        # from the repository root

- docs/explorer.png: the explorer over an LSTM unrolled 3 steps, in the middle of the backward
  pass (step 30 of 44), with W_hh (weight_hh_l0) clicked: its contributions per time step so far.
- docs/notebook.png: chapter 3 (notebooks/03_stepping.py) run in real JupyterLab (started as the
  tests start it, tests/jupyterlab.py), the inline explorer after three presses of the right arrow.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

import viz  # noqa: E402
from tests.chromium import figure_browser as browser  # noqa: E402
from tests.jupyterlab import JupyterLab  # noqa: E402
from tinygrad_rnn.cli.step import builtin_model  # noqa: E402
from tinygrad_rnn.stepper import BackwardStepper  # noqa: E402


def explorer_png(folder: Path) -> Path:
    loss = builtin_model("lstm", 3)
    stepper = BackwardStepper(loss)
    page = viz.backward_player(loss, folder / "explorer.html", title="Backward through an LSTM unrolled over 3 steps")
    driver = browser(1400, 1000)
    try:
        driver.get(page.as_uri())
        root = driver.find_element(By.CSS_SELECTOR, ".tgr-explorer")
        root.send_keys(Keys.ARROW_RIGHT * 30)
        time.sleep(0.5)
        number = stepper.tensor_numbers()[next(r.id for r in stepper.graph.parameters() if r.name == "weight_hh_l0")]
        driver.execute_script("""
            var g = arguments[0].querySelector('g.node[data-id="v' + arguments[1] + '"]');
            ['pointerdown', 'pointerup'].forEach(function (type) {
              g.dispatchEvent(new PointerEvent(type, {bubbles: true, button: 0, clientX: 0, clientY: 0}));
            });
            var side = arguments[0].querySelector('.tgr-side'), info = arguments[0].querySelector('.tgr-info');
            side.scrollTop = info.offsetTop - side.offsetTop - 330;""", root, number)
        time.sleep(0.3)
        out = ROOT / "docs" / "explorer.png"
        driver.save_screenshot(str(out))
        return out
    finally:
        driver.quit()


def notebook_png(folder: Path) -> Path:
    """Chapter 3 run in real JupyterLab (the tests' server: 127.0.0.1, a token, a temporary root), the
    inline explorer after three presses of the right arrow, as a learner sees it at first display."""
    (folder / "lab").mkdir()
    lab = JupyterLab(folder / "lab", folder / "lab.log")
    driver = browser(1400, 1000)
    try:
        lab.run_notebook(driver, "notebooks/03_stepping.py")
        driver.execute_script("window.jupyterapp.commands.execute('application:toggle-left-area');")
        root = driver.find_element(By.CSS_SELECTOR, ".jp-NotebookPanel:not(.lm-mod-hidden) .tgr-explorer")
        driver.execute_script("arguments[0].scrollIntoView({block: 'start'})", root)
        ActionChains(driver).move_to_element(root.find_element(By.CSS_SELECTOR, ".tgr-counter")).click().perform()
        ActionChains(driver).send_keys(Keys.ARROW_RIGHT * 3).perform()
        WebDriverWait(driver, 10).until(lambda d: root.get_attribute("data-position") == "7")
        cell = root.find_element(By.XPATH, "ancestor::*[contains(@class, 'jp-CodeCell')]")
        driver.execute_script("arguments[0].scrollIntoView({block: 'start'})", cell)
        time.sleep(0.5)  # the pan's 0.25 s transition
        out = ROOT / "docs" / "notebook.png"
        driver.save_screenshot(str(out))
        return out
    finally:
        driver.quit()
        lab.stop()


def main() -> int:
    folder = Path(tempfile.mkdtemp())
    for made in (explorer_png(folder), notebook_png(folder)):
        print(f"wrote {made.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
