"""The connectivity pages in Chromium: the coloured text is readable and hovering a character lights up
the earlier characters by how much its prediction depends on them; the heatmap grid is readable."""

from __future__ import annotations

import numpy as np
import pytest

from viz import connectivity as pages
from viz import plot

TEXT = "hello world, hello"


def tenfold_decay(T: int) -> np.ndarray:
    """Row t~ falls tenfold per step back: with the page's 1/1000 floor, exactly the hovered character
    and the two before it are shaded (log scale: full, 2/3, 1/3), the third one back is not."""
    lag = np.subtract.outer(np.arange(T), np.arange(T))
    return np.where(lag >= 0, 10.0 ** -np.clip(lag, 0, None), 0.0)


@pytest.fixture
def text_page(browser, tmp_path):
    T = len(TEXT)
    flat = np.tril(np.ones((T, T)))  # a model that depends on everything it read, equally
    gap = np.tril(np.full((T, T), 1e-9)) + np.eye(T)  # on itself and on the first character, nothing between
    gap[:, 0] = 1.0
    html = pages.text_page(TEXT, [{"label": "RNN <after training>", "matrix": tenfold_decay(T), "note": "reach 2"},
                                  {"label": "GRU after training", "matrix": flat},
                                  {"label": "a model that skips its neighbours", "matrix": gap}],
                           question="How far back does it reach?", answer="RNN: 2 steps", after="!")
    path = tmp_path / "text.html"
    path.write_text(html)
    browser.set_window_size(1400, 900)  # the shared browser may have been resized by another test
    browser.get(path.as_uri())
    return browser


def shading(browser, panel: int) -> list[tuple[str, str]]:
    return browser.execute_script(
        "return Array.from(document.querySelectorAll(`.tgr-panel[data-panel='${arguments[0]}'] .tgr-char`))"
        ".map(s => [s.style.backgroundColor, getComputedStyle(s).color]);", panel)


def hover(browser, panel: int, t: int) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    span = browser.find_elements(By.CSS_SELECTOR, f".tgr-panel[data-panel='{panel}'] .tgr-char")[t]
    ActionChains(browser).move_to_element(span).perform()


def darkness(rgb: str) -> int:
    return 765 - sum(int(v) for v in rgb.removeprefix("rgb(").removesuffix(")").split(","))


def test_the_text_is_readable_with_its_labels_escaped(text_page):
    from selenium.webdriver.common.by import By

    heading = text_page.find_element(By.CSS_SELECTOR, ".tgr-panel[data-panel='0'] h2")
    assert heading.text == "RNN <after training>" and heading.is_displayed()
    text = text_page.find_element(By.CSS_SELECTOR, ".tgr-panel[data-panel='0'] .tgr-text")
    assert text.text == TEXT
    size = float(text.value_of_css_property("font-size").removesuffix("px"))
    assert size >= 14
    assert "How far back does it reach?" in text_page.find_element(By.TAG_NAME, "body").text
    assert all(bg == "" for bg, _ in shading(text_page, 0))  # nothing shaded before a hover


def test_hovering_a_character_shades_the_earlier_ones_by_dependence(text_page):
    from selenium.webdriver.common.by import By

    k = 10
    hover(text_page, 0, k)
    shades = shading(text_page, 0)
    coloured = [t for t, (bg, _) in enumerate(shades) if bg]
    assert coloured == [k - 2, k - 1, k]  # tenfold per step, floor 1/1000: three characters
    assert darkness(shades[k][0]) > darkness(shades[k - 1][0]) > darkness(shades[k - 2][0]) > 0
    assert all(not bg for bg, _ in shades[k + 1:])  # a prediction never depends on later characters
    status = text_page.find_element(By.CSS_SELECTOR, ".tgr-panel[data-panel='0'] .tgr-status").text
    assert f'step {k + 1}: reading "{TEXT[k]}", predicting the next character "{TEXT[k + 1]}"' in status
    assert "the shading reaches back 2 character(s)" in status
    # the other panel shows the same step at once: its model depends on all 11 characters equally
    status = text_page.find_element(By.CSS_SELECTOR, ".tgr-panel[data-panel='1'] .tgr-status").text
    assert f"the shading reaches back {k} character(s)" in status  # the flat model: back to the first one
    other = shading(text_page, 1)
    assert [t for t, (bg, _) in enumerate(other) if bg] == list(range(k + 1))
    assert len({bg for bg, _ in other[: k + 1]}) == 1
    assert [t for t, (bg, _) in enumerate(shading(text_page, 2)) if bg] == [0, k]  # gaps stay unshaded
    status = text_page.find_element(By.CSS_SELECTOR, ".tgr-panel[data-panel='2'] .tgr-status").text
    assert f"the shading reaches back {k} character(s)" in status  # to the farthest shaded one, past the gap


def test_hovering_another_character_moves_the_shading_and_the_last_step_predicts_what_follows(text_page):
    from selenium.webdriver.common.by import By

    hover(text_page, 1, 3)
    assert [t for t, (bg, _) in enumerate(shading(text_page, 0)) if bg] == [1, 2, 3]
    hover(text_page, 0, len(TEXT) - 1)
    assert [t for t, (bg, _) in enumerate(shading(text_page, 0)) if bg] == [len(TEXT) - 3, len(TEXT) - 2,
                                                                            len(TEXT) - 1]
    status = text_page.find_element(By.CSS_SELECTOR, ".tgr-panel[data-panel='0'] .tgr-status").text
    assert 'predicting the next character "!"' in status
    bg, ink = shading(text_page, 0)[-1]
    assert darkness(bg) > 400 and ink == "rgb(255, 255, 255)"  # white ink on the darkest shade stays readable


def test_the_heatmap_grid_is_readable(browser, tmp_path):
    from selenium.webdriver.common.by import By

    m = tenfold_decay(12)
    figures = [{"svg": plot.heatmap(m, title=f"{kind} after training", log=True, xlabel="input step t",
                                    ylabel="output step t~", colour_label="||dy/dx||", width=400, height=360),
                "answer": f"{kind}: reaches back 2 steps"} for kind in ("RNN", "LSTM", "GRU")]
    path = tmp_path / "heat.html"
    path.write_text(pages.heatmap_page(figures, title="connectivity", intro="How far back?"))
    browser.set_window_size(1400, 900)  # the shared browser may have been resized by another test
    browser.get(path.as_uri())
    svgs = browser.find_elements(By.CSS_SELECTOR, "figure svg")
    assert len(svgs) == 3
    tops = {round(svg.rect["y"]) for svg in svgs}
    assert len(tops) == 1  # RNN, LSTM and GRU side by side in one row
    width = browser.execute_script("return window.innerWidth")
    assert all(svg.rect["x"] + svg.rect["width"] <= width for svg in svgs)  # all three in view
    body = browser.find_element(By.TAG_NAME, "body").text
    for kind in ("RNN", "LSTM", "GRU"):
        assert f"{kind} after training" in body and f"{kind}: reaches back 2 steps" in body
    assert "1e-9" in body and "input step t" in body  # the log colour bar and the axis are labelled
