"""Regenerate the pictures of the whole and the part (issue 23) with headless Chromium (selenium).

    python docs/make_whole_part_figures.py        # from the repository root

- docs/rolled.svg: `tinygrad-rnn render --cell lstm --steps 20 --view rolled --grads`: the folded cell.
- docs/rolled.png: the explorer over an LSTM unrolled 20 steps, in its rolled view, the backward pass
  at t = 7: the op it is at lit in the one drawn step, "t = 7 of 20" above it.
- docs/folded.png: the explorer over an LSTM unrolled 3 steps (ops view), t = 2 folded into one box
  (what enters it, what leaves it, the gradient norm of what leaves), its forget gate at t = 3 too.
- docs/overview.png: the explorer over an LSTM unrolled 200 steps: the overview strip (every t,
  coloured by gradient norm, the visible window a rectangle) after a click on t ≈ 100.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from selenium import webdriver  # noqa: E402
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402

import tinygrad_rnn as tr  # noqa: E402
import viz  # noqa: E402
from tests.chromium import figure_browser as browser  # noqa: E402
from tinygrad_rnn.cli.render import toy_loss  # noqa: E402
from tinygrad_rnn.cli.step import builtin_model  # noqa: E402

DOCS = ROOT / "docs"



def rolled_svg() -> Path:
    return viz.render(toy_loss("lstm", 20), DOCS / "rolled.svg", view="rolled", grads=True)


def open_explorer(driver: webdriver.Chrome, loss, page: Path, T: int, **options):
    """Write the explorer over ``loss`` (an LSTM unrolled ``T`` steps) to ``page``, open it; its root element."""
    viz.backward_player(loss, page, title=f"Backward through an LSTM unrolled over {T} steps", **options)
    driver.get(page.as_uri())
    return driver.find_element(By.CSS_SELECTOR, ".tgr-explorer")


def screenshot(driver: webdriver.Chrome, name: str) -> Path:
    out = DOCS / name
    driver.save_screenshot(str(out))
    return out


def rolled_png(driver: webdriver.Chrome, folder: Path) -> Path:
    loss = builtin_model("lstm", 20)
    events = tr.BackwardStepper(loss).run()
    k = next(k for k, e in enumerate(events, 1) if "/t7/" in e.scope + "/" and "forget_gate" in e.scope)
    root = open_explorer(driver, loss, folder / "rolled.html", 20, view="rolled")
    root.send_keys(Keys.ARROW_RIGHT * k)
    time.sleep(0.6)
    return screenshot(driver, "rolled.png")


def folded_png(driver: webdriver.Chrome, folder: Path) -> Path:
    loss = builtin_model("lstm", 3)
    root = open_explorer(driver, loss, folder / "folded.html", 3)
    root.send_keys(Keys.ARROW_RIGHT * 12)
    time.sleep(0.4)
    root.send_keys("--")  # zoomed out: t = 2 and t = 3 side by side
    time.sleep(0.2)
    viewport = root.find_element(By.CSS_SELECTOR, ".tgr-viewport")
    ActionChains(driver).move_to_element_with_offset(viewport, -300, 200).click_and_hold().move_by_offset(
        420, 0).release().perform()
    driver.execute_script("arguments[0].tgrExplorer.collapse('lstm/l0/fwd/t2');"
                          "arguments[0].tgrExplorer.collapse('lstm/l0/fwd/t3/forget_gate');", root)
    time.sleep(0.2)
    return screenshot(driver, "folded.png")


def overview_png(driver: webdriver.Chrome, folder: Path) -> Path:
    loss = builtin_model("lstm", 200)
    root = open_explorer(driver, loss, folder / "overview.html", 200)
    strip = root.find_element(By.CSS_SELECTOR, ".tgr-overview-strip")
    ActionChains(driver).move_to_element(strip).click().perform()  # its middle: t = 100
    time.sleep(0.6)
    return screenshot(driver, "overview.png")


def main() -> None:
    print(rolled_svg())
    folder = Path(tempfile.mkdtemp())
    driver = browser(1400, 900)
    try:
        for make in (rolled_png, overview_png):
            print(make(driver, folder))
    finally:
        driver.quit()
    driver = browser(1800, 900)
    try:
        print(folded_png(driver, folder))
    finally:
        driver.quit()


if __name__ == "__main__":
    main()
