"""The explorer's whole and part, in headless Chromium: the rolled picture follows the backward pass,
scopes fold into one box and unfold in place, and a long unroll has an overview strip."""

import pytest

import tinygrad_rnn as tr
import viz
from tinygrad_rnn.cli.step import builtin_model

VISIBLE = """
var canvas = Array.from(arguments[0].querySelectorAll('.tgr-canvas')).filter(function (c) {
  return c.style.display !== 'none'; })[0];
return Array.from(canvas.querySelectorAll('g.node')).filter(function (g) {
  return getComputedStyle(g).display !== 'none' && g.getBoundingClientRect().width > 0;
}).map(function (g) { return g.getAttribute('data-id'); }).sort();
"""


def root_of(browser, path):
    from selenium.webdriver.common.by import By

    browser.get(path.as_uri())
    return browser.find_elements(By.CSS_SELECTOR, ".tgr-explorer")[0]


def settle(browser, root):
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, 10, poll_frequency=0.1).until(lambda _: browser.execute_script(
        "return Array.from(arguments[0].querySelectorAll('.tgr-canvas')).every(function (c) {"
        " return c.getAnimations().length === 0; })", root))


def test_rolled_view_lights_the_op_of_the_backward_pass_and_says_which_t(browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    loss = builtin_model("lstm", 20)
    reference = tr.BackwardStepper(loss)
    events = reference.run()
    reference.reset()
    graph = tr.trace(loss)
    root = root_of(browser, viz.backward_player(loss, tmp_path / "p.html"))
    buttons = [b.get_attribute("data-view") for b in root.find_elements(By.CSS_SELECTOR, ".tgr-viewbtn")]
    assert buttons == ["rolled", "cells", "ops"]
    root.find_element(By.CSS_SELECTOR, '.tgr-viewbtn[data-view="rolled"]').click()
    assert root.get_attribute("data-view") == "rolled"
    k = next(k for k, e in enumerate(events, 1) if "/t7/" in e.scope + "/" and "forget_gate" in e.scope)
    root.send_keys(Keys.ARROW_RIGHT * k)
    settle(browser, root)
    where = root.find_element(By.CSS_SELECTOR, ".tgr-rolled-where")
    assert where.is_displayed() and where.text.startswith("t = 7 of 20: ") and "forget gate" in where.text
    lit = root.find_elements(By.CSS_SELECTOR, '.tgr-canvas[data-view="rolled"] g.node.tgr-lit')
    assert len(lit) == 1
    rep = graph.nodes[int(lit[0].get_attribute("data-id")[2:])]
    event = events[k - 1]
    assert rep.op == event.op and rep.scope == event.scope.replace("/t7/", "/t2/")  # the drawn step stands for t = 7
    port = root.find_element(By.CSS_SELECTOR, ".tgr-viewport").rect
    box = lit[0].rect
    assert port["x"] <= box["x"] and box["x"] + box["width"] <= port["x"] + port["width"]  # followed into view
    fill = browser.execute_script("return getComputedStyle(arguments[0].querySelector('ellipse, polygon')).fill",
                                  lit[0])
    assert fill == "rgb(30, 136, 229)"  # the current colour of the legend (STATUS_STYLE current fill)


def test_collapse_reduces_the_visible_nodes_and_expand_restores_them_exactly(browser, tmp_path):
    from selenium.webdriver.common.by import By

    loss = builtin_model("lstm", 3)
    graph = tr.trace(loss)
    root = root_of(browser, viz.backward_player(loss, tmp_path / "p.html"))
    assert root.get_attribute("data-view") == "ops"
    before = browser.execute_script(VISIBLE, root)
    in_t2 = {f"op{n.index}" for n in graph.nodes if "/t2/" in n.scope + "/" or n.scope.endswith("/t2")}
    assert in_t2 <= set(before)
    hidden = browser.execute_script("return arguments[0].tgrExplorer.collapse('lstm/l0/fwd/t2')", root)
    folded = browser.execute_script(VISIBLE, root)
    assert hidden >= len(in_t2) and len(folded) == len(before) - hidden + 1
    assert not in_t2 & set(folded) and "fold:lstm/l0/fwd/t2" in folded
    box = root.find_element(By.CSS_SELECTOR, 'g.tgr-folded[data-scope="lstm/l0/fwd/t2"]')
    text = browser.execute_script("return Array.from(arguments[0].querySelectorAll('text')).map(function (t) {"
                                  " return t.textContent; }).join('\\n')", box)
    assert box.rect["width"] > 100 and box.rect["height"] > 50
    assert "lstm/l0/fwd/t2" in text and "in: " in text and "out: " in text and "grad out" in text
    # what enters the step from t = 1 (h₁, c₁) and what leaves it (h₂, c₂), named as the stepper names them
    label = tr.BackwardStepper(loss).label
    ins_line, outs_line = (line for line in text.splitlines() if line.startswith(("in: ", "out: ")))
    inside = {n.index for n in graph.nodes if n.scope.startswith("lstm/l0/fwd/t2")}
    from_t1 = {tid for tid, rec in graph.tensors.items()
               if rec.producer is not None and "/t1/" in graph.nodes[rec.producer].scope + "/"
               and any(c in inside for c in rec.consumers)}
    leaving = {tid for tid, rec in graph.tensors.items() if rec.producer in inside
               and any(c not in inside for c in rec.consumers)}
    assert len(from_t1) == 2 and len(leaving) == 2
    assert all(label(tid) in ins_line for tid in from_t1) and all(label(tid) in outs_line for tid in leaving)
    # a gate inside an already folded step stays folded; a layer takes the inner fold into itself
    assert browser.execute_script("return arguments[0].tgrExplorer.collapse('lstm/l0/fwd/t2/forget_gate')", root) == 0
    browser.execute_script("arguments[0].tgrExplorer.collapse('lstm/l0')", root)
    assert browser.execute_script("return arguments[0].tgrExplorer.folded()", root) == ["lstm/l0"]
    assert len(browser.execute_script(VISIBLE, root)) < len(folded)
    assert browser.execute_script("return arguments[0].tgrExplorer.expand('lstm/l0')", root) == 1
    assert browser.execute_script(VISIBLE, root) == before
    # a gate folds too, and a click on the folded box unfolds it in place
    browser.execute_script("arguments[0].tgrExplorer.collapse('lstm/l0/fwd/t3/forget_gate')", root)
    assert len(browser.execute_script(VISIBLE, root)) < len(before)
    root.find_element(By.CSS_SELECTOR, ".tgr-all").click()  # the whole graph in view, to click the box
    settle(browser, root)
    root.find_element(By.CSS_SELECTOR, 'g.tgr-folded[data-scope="lstm/l0/fwd/t3/forget_gate"] rect').click()
    assert browser.execute_script(VISIBLE, root) == before


def test_fold_by_click_and_key_and_following_the_pass_unfolds_what_it_needs(browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    loss = builtin_model("rnn", 3)
    graph = tr.trace(loss)
    root = root_of(browser, viz.backward_player(loss, tmp_path / "p.html"))
    before = browser.execute_script(VISIBLE, root)
    root.find_element(By.CSS_SELECTOR, ".tgr-all").click()
    settle(browser, root)
    op = next(n for n in graph.nodes if "/t1/" in n.scope + "/" and n.op == "tanh")
    root.find_element(By.CSS_SELECTOR, f'g.node[data-id="op{op.index}"] text').click()
    assert "tgr-selected" in root.find_element(By.CSS_SELECTOR, f'g.node[data-id="op{op.index}"]').get_attribute(
        "class")  # the clicked node stays marked
    fold_buttons = root.find_elements(By.CSS_SELECTOR, ".tgr-info .tgr-fold")
    assert [b.text for b in fold_buttons] == [seg.replace("_", " ") for seg in reversed(op.scope.split("/"))]
    t1 = next(b for b in fold_buttons if b.get_attribute("data-scope").endswith("/t1"))
    t1.click()
    assert f"op{op.index}" not in browser.execute_script(VISIBLE, root)
    root.send_keys("u")
    assert browser.execute_script(VISIBLE, root) == before
    root.find_element(By.CSS_SELECTOR, f'g.node[data-id="op{op.index}"] text').click()
    root.send_keys("f")  # folds the clicked node's innermost scope
    assert len(browser.execute_script(VISIBLE, root)) < len(before)
    events = tr.BackwardStepper(loss).run()
    k = next(k for k, e in enumerate(events, 1) if e.scope == op.scope)
    root.send_keys(Keys.ARROW_RIGHT * (k - 1))  # the pass is not in the folded scope yet: it stays folded
    assert browser.execute_script("return arguments[0].tgrExplorer.folded()", root) == [op.scope]
    root.send_keys(Keys.ARROW_RIGHT)  # now it is: following the current node unfolds it
    assert browser.execute_script("return arguments[0].tgrExplorer.folded()", root) == []
    assert browser.execute_script(VISIBLE, root) == before


def test_overview_strip_at_T_200_fits_the_window_shows_the_view_and_jumps_on_click(browser, tmp_path):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    loss = builtin_model("lstm", 200)
    root = root_of(browser, viz.backward_player(loss, tmp_path / "p.html"))
    strip = root.find_element(By.CSS_SELECTOR, ".tgr-overview")
    assert strip.is_displayed()
    width = browser.execute_script("return document.documentElement.clientWidth")
    box = strip.rect
    assert box["x"] >= 0 and box["x"] + box["width"] <= width and box["width"] > width * 0.8
    cells = root.find_elements(By.CSS_SELECTOR, ".tgr-overview-strip rect:not(.tgr-overview-window)")
    assert len(cells) == 200
    fills = {c.get_attribute("fill") for c in cells}
    assert len(fills) > 2  # coloured by gradient norm: not one colour
    settle(browser, root)
    window = root.find_element(By.CSS_SELECTOR, ".tgr-overview-window")
    shown = root.get_attribute("data-overview")
    t0, t1 = map(int, shown.split("-"))
    assert 0 <= t1 - t0 < 199 and float(window.get_attribute("width")) == t1 - t0 + 1
    transform = lambda: browser.execute_script(  # noqa: E731
        "return arguments[0].querySelector('.tgr-canvas[data-view=\"cells\"]').style.transform", root)
    before = transform()
    svg = root.find_element(By.CSS_SELECTOR, ".tgr-overview-strip")
    target = (t0 + t1) // 2 + 100 if t1 < 100 else max(1, t0 - 100)
    ActionChains(browser).move_to_element_with_offset(svg, int((target - 0.5) / 200 * svg.rect["width"]
                                                               - svg.rect["width"] / 2), 0).click().perform()
    settle(browser, root)
    assert transform() != before
    a, b = map(int, root.get_attribute("data-overview").split("-"))
    assert a <= target <= b and (a, b) != (t0, t1)
    group = browser.execute_script("""
        var want = arguments[1];
        return Array.from(arguments[0].querySelectorAll('.tgr-canvas[data-view="cells"] g.node.cell')).filter(
          function (g) { var a = g.querySelector('a');
                         return a && a.getAttributeNS('http://www.w3.org/1999/xlink', 'title') === want; })[0];
        """, root, f"lstm/l0/fwd/t{target}")
    port = root.find_element(By.CSS_SELECTOR, ".tgr-viewport").rect
    assert port["x"] <= group.rect["x"] and group.rect["x"] + group.rect["width"] <= port["x"] + port["width"]


@pytest.mark.parametrize("steps", [3, 20])
def test_fit_width_fits_the_whole_width(browser, tmp_path, steps):
    from selenium.webdriver.common.by import By

    root = root_of(browser, viz.backward_player(builtin_model("gru", steps), tmp_path / "p.html", view="ops"))
    from selenium.webdriver.support.ui import WebDriverWait

    root.find_element(By.CSS_SELECTOR, ".tgr-fit").click()
    port = browser.execute_script("var r = arguments[0].querySelector('.tgr-viewport').getBoundingClientRect();"
                                  "return {x: r.left, width: r.width};", root)
    canvas = lambda: browser.execute_script(  # noqa: E731
        "var r = arguments[0].querySelector('.tgr-canvas[data-view=\"ops\"]').getBoundingClientRect();"
        "return {x: r.left, width: r.width};", root)
    def fitted(_):  # once the 0.25 s pan has run: the whole width inside the viewport
        box = canvas()
        inside = box["x"] >= port["x"] - 1 and box["x"] + box["width"] <= port["x"] + port["width"] + 1
        # wider than the viewport: scaled down to exactly its width (it used to stay at 90 %, the start in view)
        return inside and (steps == 3 or abs(box["width"] - port["width"]) <= 4)  # less its 1 px borders

    WebDriverWait(browser, 5, poll_frequency=0.1).until(fitted)


def test_bars_carry_their_values_and_matrices_keep_their_rows_on_one_line(browser, tmp_path):
    import numpy as np
    from selenium.webdriver.common.keys import Keys

    loss = builtin_model("lstm", 3)
    stepper = tr.BackwardStepper(loss)
    stepper.run()
    W = next(r for r in stepper.graph.parameters() if r.name == "weight_hh_l0")
    root = root_of(browser, viz.backward_player(loss, tmp_path / "p.html"))
    root.send_keys(Keys.END)
    browser.execute_script("""
        var g = arguments[0].querySelector('g.node[data-id="v' + arguments[1] + '"]');
        ['pointerdown', 'pointerup'].forEach(function (type) {
          g.dispatchEvent(new PointerEvent(type, {bubbles: true, button: 0}));
        });""", root, stepper.tensor_numbers()[W.id])
    values = browser.execute_script("return Array.from(arguments[0].querySelectorAll('.tgr-chart .tgr-bar-value'))"
                                    ".map(function (t) { return t.textContent; })", root)
    pieces = {a.t: np.linalg.norm(a.grad) for e in stepper.events for a in e.accumulations
              if a.leaf == "W_hh" and a.contribution}
    assert [float(v) for v in values] == pytest.approx([pieces[t] for t in (1, 2, 3)], rel=0.05)
    # mid-pass, the leaf panel prints dL/dweight_hh_l0ᵀ (2 x 8) as it is being collected: rows wider than the
    # panel. Each row stays one line on screen (the panel scrolls sideways) instead of breaking in the middle.
    root.send_keys(Keys.HOME + Keys.ARROW_RIGHT * 30)
    lines = browser.execute_script("""
        var pre = arguments[0].querySelector('.tgr-leaves'), range = document.createRange(), out = [];
        var text = pre.firstChild, rows = text.textContent.split('\\n'), at = 0;
        rows.forEach(function (row) {
          range.setStart(text, at); range.setEnd(text, at + row.length); at += row.length + 1;
          out.push([row, range.getClientRects().length, range.getBoundingClientRect().width]);
        });
        return {rows: out, width: pre.clientWidth, scroll: pre.scrollWidth};""", root)
    assert any(row.strip().startswith("[") for row, _, _ in lines["rows"])
    assert lines["scroll"] > lines["width"]  # wider than the panel: it would have wrapped
    assert all(boxes == 1 for row, boxes, _ in lines["rows"] if row), lines


def test_fold_steps_then_a_click_unfolds_one_step_in_place(browser, tmp_path):
    """The cells view's promise kept in the ops view: every step one box, and a step opens where it is."""
    from selenium.webdriver.common.by import By

    loss = builtin_model("lstm", 3)
    graph = tr.trace(loss)
    root = root_of(browser, viz.backward_player(loss, tmp_path / "p.html"))
    root.find_element(By.CSS_SELECTOR, ".tgr-all").click()
    settle(browser, root)
    in_t2 = [f"op{n.index}" for n in graph.nodes if "/t2/" in n.scope + "/"]
    boxes = """var ids = arguments[1], root = arguments[0];
        return ids.map(function (id) {
          var g = root.querySelector('.tgr-canvas[data-view="ops"] g.node[data-id="' + id + '"]');
          var r = g.getBoundingClientRect();
          return getComputedStyle(g).display === 'none' ? null : [Math.round(r.left), Math.round(r.top)];
        });"""
    before = browser.execute_script(boxes, root, in_t2)
    visible = browser.execute_script(VISIBLE, root)
    root.find_element(By.CSS_SELECTOR, ".tgr-foldsteps").click()
    assert sorted(browser.execute_script("return arguments[0].tgrExplorer.folded()", root)) == [
        "lstm/l0/fwd/t1", "lstm/l0/fwd/t2", "lstm/l0/fwd/t3"]
    assert len(browser.execute_script(VISIBLE, root)) < len(visible) - 30
    assert browser.execute_script(boxes, root, in_t2) == [None] * len(in_t2)
    root.find_element(By.CSS_SELECTOR, 'g.tgr-folded[data-scope="lstm/l0/fwd/t2"] rect').click()
    assert browser.execute_script(boxes, root, in_t2) == before  # unfolded in place: every op where it was
    assert browser.execute_script("return arguments[0].tgrExplorer.folded()", root) == [
        "lstm/l0/fwd/t1", "lstm/l0/fwd/t3"]
