"""Chapter 3 in real JupyterLab: what a learner sees after "Run All", and what the keyboard does there.

JupyterLab restyles HTML outputs (``.jp-RenderedHTMLCommon svg { max-width: 100% }`` drew the
explorer's 4,000 px graph 570 px wide, labels 2 px tall) and sees every key first (its input guard
cancels the Enter of a text box inside a cell): these tests open the chapter in the real thing.
"""

from __future__ import annotations

import pytest

pytest.importorskip("selenium")
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

READABLE = 9  # px: the smallest label height a person reads without zooming

RECTS = """
var root = arguments[0], view = root.querySelector('.tgr-viewport').getBoundingClientRect();
var labels = Array.from(root.querySelectorAll('.tgr-canvas:not([style*="display: none"]) g.node text'));
var current = root.querySelector('.tgr-canvas:not([style*="display: none"]) g.node.current');
var c = current && current.getBoundingClientRect();
return {labels: labels.map(function (t) { return t.getBoundingClientRect().height; }),
        view: [view.left, view.top, view.right, view.bottom],
        current: c ? [c.left, c.top, c.right, c.bottom] : null};
"""


@pytest.fixture(scope="module")
def chapter3(jupyterlab, browser):
    """Chapter 3 run in JupyterLab; (driver, inline explorer, widget explorer)."""
    browser.set_window_size(1400, 900)
    jupyterlab.run_notebook(browser, "notebooks/03_stepping.py")
    wait = WebDriverWait(browser, 30, poll_frequency=0.2)
    explorers = wait.until(lambda d: (lambda found: found if len(found) == 2 else None)(
        d.find_elements(By.CSS_SELECTOR, ".jp-NotebookPanel:not(.lm-mod-hidden) .tgr-explorer")))
    inline, widget = explorers
    html_output = "ancestor::*[@data-mime-type='text/html']"
    assert inline.find_elements(By.XPATH, html_output) and not widget.find_elements(By.XPATH, html_output), \
        "chapter 3 shows the stepper as an HTML output, then the anywidget widget"
    return browser, inline, widget


def _show(driver, explorer):
    """Scroll an explorer into view as a reader does and wait until it has laid itself out."""
    driver.execute_script("arguments[0].scrollIntoView({block: 'start'})", explorer)
    WebDriverWait(driver, 20, poll_frequency=0.2).until(lambda d: d.execute_script(
        "return arguments[0].querySelector('.tgr-canvas').style.transform.indexOf('scale') >= 0", explorer))
    return driver.execute_script(RECTS, explorer)


def _inside(box, view):
    return box[0] >= view[0] - 1 and box[1] >= view[1] - 1 and box[2] <= view[2] + 1 and box[3] <= view[3] + 1


def test_the_inline_explorer_is_readable_at_first_display(chapter3):
    driver, inline, _ = chapter3
    shown = _show(driver, inline)
    assert len(shown["labels"]) > 50, "the graph's node labels are drawn"
    assert min(shown["labels"]) >= READABLE, f"node labels {min(shown['labels']):.1f} px tall at first display"
    assert shown["current"] and _inside(shown["current"], shown["view"]), "the current node is in view"
    scales = driver.execute_script(  # the zoom's own idea of its scale, and the scale the drawing really has
        "var c = arguments[0].querySelector('.tgr-canvas'), svg = c.querySelector('svg');"
        "return [+/scale\\(([^)]+)\\)/.exec(c.style.transform)[1],"
        " svg.getBoundingClientRect().width / (parseFloat(svg.getAttribute('width')) * 4 / 3)];", inline)
    assert scales[0] == pytest.approx(scales[1], rel=0.01), f"zoom believes {scales[0]}, drawing at {scales[1]}"
    styled = driver.execute_script(
        "var s = getComputedStyle(arguments[0].querySelector('pre.tgr-event'));"
        "return [s.backgroundColor, s.paddingTop];", inline)
    assert styled == ["rgb(246, 248, 250)", "5px"], "the step text keeps its own block style in JupyterLab"


def test_arrow_moves_the_highlight_and_keeps_it_in_view(chapter3):
    driver, inline, _ = chapter3
    _show(driver, inline)
    before = int(inline.get_attribute("data-position"))
    ActionChains(driver).move_to_element(inline.find_element(By.CSS_SELECTOR, ".tgr-counter")).click().perform()
    for _ in range(3):
        ActionChains(driver).send_keys(Keys.ARROW_RIGHT).perform()
    WebDriverWait(driver, 10).until(lambda d: inline.get_attribute("data-position") == str(before + 3))
    WebDriverWait(driver, 10).until(lambda d: _inside(d.execute_script(RECTS, inline)["current"],
                                                      d.execute_script(RECTS, inline)["view"]))
    assert f"step {before + 3} of" in inline.find_element(By.CSS_SELECTOR, ".tgr-event").text


def test_enter_in_run_to_moves_the_inline_explorer(chapter3):
    driver, inline, _ = chapter3
    _show(driver, inline)
    before = int(inline.get_attribute("data-position"))
    box = inline.find_element(By.CSS_SELECTOR, ".tgr-target")
    box.clear()
    box.send_keys("t1", Keys.ENTER)
    WebDriverWait(driver, 10).until(lambda d: int(inline.get_attribute("data-position")) > before)
    assert "/t1/" in inline.find_element(By.CSS_SELECTOR, ".tgr-where").text, "the next node is in time step 1"
    # it says where it stopped and why (the node it names is the next one)
    assert inline.find_element(By.CSS_SELECTOR, ".tgr-message").text.startswith("stopped just before the first node "
                                                                                 "of t1: ")


def test_the_widget_drives_the_kernels_stepper(chapter3):
    driver, _, widget = chapter3
    shown = _show(driver, widget)
    assert min(shown["labels"]) >= READABLE, f"widget labels {min(shown['labels']):.1f} px tall at first display"
    counter = widget.find_element(By.CSS_SELECTOR, ".tgr-counter")
    start = int(widget.get_attribute("data-position"))
    assert counter.text.startswith(f"step {start} of")
    widget.find_element(By.CSS_SELECTOR, ".tgr-next").click()  # the widget only moves when the kernel answers
    WebDriverWait(driver, 20).until(lambda d: counter.text.startswith(f"step {start + 1} of"))
    box = widget.find_element(By.CSS_SELECTOR, ".tgr-target")
    box.send_keys("t1", Keys.ENTER)
    WebDriverWait(driver, 20).until(lambda d: "/t1/" in widget.find_element(By.CSS_SELECTOR, ".tgr-where").text)
    assert int(widget.get_attribute("data-position")) > start + 1


def test_in_the_dark_theme_the_explorer_keeps_its_contrast(chapter3):
    """JupyterLab Dark: the explorer's dark text stays on its own white ground, not on the dark page."""
    driver, inline, _ = chapter3
    driver.execute_script("window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Dark'});")
    try:
        WebDriverWait(driver, 20).until(lambda d: d.execute_script(
            "return document.body.getAttribute('data-jp-theme-light') === 'false'"))
        colours = driver.execute_script(
            "var root = arguments[0], page = getComputedStyle(root.parentElement.closest('.jp-Notebook'));"
            "return [getComputedStyle(root).backgroundColor, getComputedStyle(root.querySelector('.tgr-h')).color,"
            " page.backgroundColor];", inline)
        assert colours[2] != "rgb(255, 255, 255)", "the theme is dark"
        assert colours[:2] == ["rgb(255, 255, 255)", "rgb(55, 71, 79)"], colours
    finally:
        driver.execute_script("window.jupyterapp.commands.execute('apputils:change-theme', "
                              "{theme: 'JupyterLab Light'});")
        WebDriverWait(driver, 20).until(lambda d: d.execute_script(
            "return document.body.getAttribute('data-jp-theme-light') === 'true'"))


@pytest.mark.parametrize("chapter, count", [("notebooks/01_engine.py", 1), ("notebooks/02_unrolled_rnn.py", 2)])
def test_drawings_keep_their_size_and_a_wide_one_scrolls(jupyterlab, browser, chapter, count):
    """A tensor's display (chapter 1) and viz.draw (chapter 2): drawn at their own size (labels as drawn), a
    wide one in a box that scrolls sideways rather than clipped at the cell's edge or shrunk to its width."""
    jupyterlab.run_notebook(browser, chapter)
    boxes = WebDriverWait(browser, 30).until(lambda d: d.find_elements(
        By.CSS_SELECTOR, ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output .tgr-drawing"))
    shown = []
    for box in boxes:
        browser.execute_script("arguments[0].scrollIntoView({block: 'start'})", box)
        shown.append(browser.execute_script(
            "var box = arguments[0], svg = box.querySelector('svg');"
            "var labels = Array.from(svg.querySelectorAll('g.node text')).map(function (t) {"
            " return t.getBoundingClientRect().height; });"
            "return {labels: labels, width: svg.getBoundingClientRect().width,"
            " drawn: parseFloat(svg.getAttribute('width')) * 4 / 3, box: box.clientWidth, scroll: box.scrollWidth};",
            box))
    assert len(shown) >= count
    for one in shown:
        assert min(one["labels"]) >= READABLE, f"labels {min(one['labels']):.1f} px tall"
        assert abs(one["width"] - one["drawn"]) < 2, "the drawing keeps the size it was drawn at"
        # (scrollWidth is a whole number of pixels, the drawing's width need not be)
        assert one["width"] <= one["box"] or one["scroll"] >= one["width"] - 1, "a wide drawing scrolls in its box"
    if chapter.endswith("02_unrolled_rnn.py"):
        assert max(one["width"] for one in shown) > shown[0]["box"], "chapter 2 has a drawing wider than the cell"


def test_the_derivations_are_typeset_and_fit_the_cell(jupyterlab, browser):
    """Chapter 4's derivations (Markdown with LaTeX from tr.symbolic): JupyterLab's own MathJax typesets
    every formula, none is an error box, and nothing runs past the cell's edge."""
    jupyterlab.run_notebook(browser, "notebooks/04_bptt_symbolic.py")
    outputs = jupyterlab.outputs(browser, "text/markdown")
    assert outputs, "chapter 4 shows its derivations as Markdown"
    seen = []
    for output in outputs:
        browser.execute_script("arguments[0].scrollIntoView({block: 'start'})", output)
        seen.append(WebDriverWait(browser, 20, poll_frequency=0.2).until(lambda d, o=output: d.execute_script(
            "var o = arguments[0], maths = Array.from(o.querySelectorAll('mjx-container'));"
            "var text = Array.from(o.querySelectorAll('p, li, td')).map(function (e) {"
            " var c = e.cloneNode(true); c.querySelectorAll('code, mjx-container').forEach(function (x) {"
            " x.remove(); }); return c.textContent; }).join(' ');"
            "if (/\\$|\\\\(frac|sum|partial)/.test(text)) return null;"  # still typesetting
            "return {maths: maths.length, errors: o.querySelectorAll('mjx-merror').length, width: o.clientWidth,"
            " widest: Math.max.apply(null, [0].concat(maths.map(function (m) {"
            " return m.getBoundingClientRect().width; }))), overflow: o.scrollWidth - o.clientWidth};", o)))
    assert sum(one["maths"] for one in seen) >= 20
    for one in seen:
        assert one["errors"] == 0, "every formula typeset, none an error box"
        assert one["widest"] <= one["width"] and one["overflow"] <= 1, "nothing runs past the cell's edge"


def test_in_jupyter_notebook_7_the_explorer_reads_and_enter_runs_to(jupyterlab, browser):
    """Notebook 7 shares JupyterLab's renderer and CSS: the same chapter, the same checks."""
    jupyterlab.run_notebook(browser, "notebooks/03_stepping.py", ui="notebook")
    inline = WebDriverWait(browser, 30).until(lambda d: d.find_element(
        By.CSS_SELECTOR, ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output[data-mime-type='text/html'] "
                         ".tgr-explorer"))
    shown = _show(browser, inline)
    assert min(shown["labels"]) >= READABLE, f"node labels {min(shown['labels']):.1f} px tall at first display"
    before = int(inline.get_attribute("data-position"))
    inline.find_element(By.CSS_SELECTOR, ".tgr-target").send_keys("t1", Keys.ENTER)
    WebDriverWait(browser, 10).until(lambda d: int(inline.get_attribute("data-position")) > before)
    assert "/t1/" in inline.find_element(By.CSS_SELECTOR, ".tgr-where").text
