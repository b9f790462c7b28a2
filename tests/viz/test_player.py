"""The explorer (viz.backward_player / viz.explorer_html): a self-contained page, then the same page in a
real browser (headless Chromium driven by selenium): the node being explained is highlighted and in view."""

import json
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import numpy as np
import pytest

import tinygrad_rnn as tr
import viz
from tinygrad_rnn.cli.step import builtin_model
from tinygrad_rnn.stepper import format_array

XHTML = "{http://www.w3.org/1999/xhtml}"
SVG = "{http://www.w3.org/2000/svg}"


def data_of(root):
    script = next(e for e in root.iter(f"{XHTML}script") if e.get("class") == "tgr-data")
    return json.loads(script.text)


class TagBalance(HTMLParser):
    """Checks the page also parses as HTML with every non-void tag closed in order."""

    VOID = {"meta", "input", "br", "img", "link", "hr"}

    def __init__(self):
        super().__init__()
        self.stack, self.errors = [], []

    def handle_starttag(self, tag, attrs):
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        pass

    def handle_endtag(self, tag):
        if not self.stack or self.stack.pop() != tag:
            self.errors.append(tag)


def test_page_is_well_formed_with_one_frame_per_step(tmp_path):
    loss = builtin_model("rnn", 3)
    path = viz.backward_player(loss, tmp_path / "backward.html")
    text = path.read_text()
    root = ET.fromstring(text)  # well-formed XML (XHTML-like)
    checker = TagBalance()
    checker.feed(text)
    assert checker.errors == [] and checker.stack == []
    steps = len(tr.trace(loss).nodes)
    frames = data_of(root)["frames"]
    assert len(frames) == steps + 1  # position 0 (nothing done) and one frame after each step
    for k, frame in enumerate(frames[1:], start=1):
        assert frame["text"].startswith(f"step {k} of {steps}: ")
    assert "local rule d tanh(x)/dx = 1 - tanh(x)^2" in "".join(f["text"] for f in frames)
    first = frames[0]["leaves"]
    assert "W_hh.grad = (nothing yet)\n  0 of 3 contributions so far (PyTorch: weight_hh_l0.grad)" in first
    assert "3 of 3 contributions so far" in frames[-1]["leaves"]
    slider = next(e for e in root.iter(f"{XHTML}input") if e.get("class") == "tgr-slider")
    assert slider.get("max") == str(steps) and slider.get("value") == "0"
    legend = "".join(next(e for e in root.iter(f"{XHTML}div") if e.get("class") == "tgr-legend").itertext())
    assert "current: the step just taken: the node the step text describes" in legend


def test_every_op_node_is_in_the_svg_once_and_no_element_has_an_id(tmp_path):
    loss = builtin_model("gru", 2)
    text = viz.backward_player(loss, tmp_path / "p.html").read_text()
    root = ET.fromstring(text)
    svgs = list(root.iter(f"{SVG}svg"))
    assert len(svgs) == 2  # the ops view and the rolled picture
    ids = [g.get("data-id") for g in svgs[0].iter(f"{SVG}g") if "node" in g.get("class", "").split()]
    graph = tr.trace(loss)
    assert sorted(i for i in ids if i.startswith("op")) == sorted(f"op{n.index}" for n in graph.nodes)
    # nothing that could clash with a second explorer: the one id is the root's own, made of its unique key
    explorer = next(e for e in root.iter() if e.get("data-tgr-explorer"))
    assert [e.get("id") for e in root.iter() if e.get("id")] == [f"tgr-{explorer.get('data-tgr-explorer')}"]
    rules = re.findall(r"^[^ \n}][^{\n]*\{", re.search(r"<style>(.*?)</style>", text, re.S).group(1), re.M)
    assert rules and all(r.startswith(f"#tgr-{explorer.get('data-tgr-explorer')}") for r in rules)  # all scoped
    data = data_of(root)
    params = {k for k, tid in enumerate(graph.tensors) if graph.tensors[tid].kind == "parameter"}
    assert {k for k, t in enumerate(data["tensors"]) if t["leaf"]} == params and len(params) == 4


def test_no_network_and_no_external_resources(tmp_path):
    text = viz.backward_player(builtin_model("lstm", 1), tmp_path / "p.html").read_text()
    assert "http://" not in text.replace("http://www.w3.org/", "")
    assert "https://" not in text
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=", text)


def test_user_names_are_escaped(tmp_path):
    evil = '</script><script>alert("x")</script>&amp;'
    W = tr.Parameter(np.array([[0.5, -0.3], [0.2, 0.1]]), name=evil)
    h = tr.Tensor(np.ones(2))
    with tr.scope("t1<b>"):
        h = (W @ h).tanh()
    loss = h.sum()
    path = viz.backward_player(loss, tmp_path / "p.html", title=f"model {evil}")
    text = path.read_text()
    assert "<script>alert" not in text and "</script><script>" not in text
    root = ET.fromstring(text)
    assert root.find(f"{XHTML}head/{XHTML}title").text == f"model {evil}"
    frames = data_of(root)["frames"]
    assert any(evil in f["text"] for f in frames) and any("t1<b>" in f["text"] for f in frames)
    assert sum(1 for _ in root.iter(f"{XHTML}script")) == 3  # the data, the explorer, the page's #autostep


def test_player_leaves_grads_and_the_stepper_as_they_were(tmp_path):
    loss = builtin_model("rnn", 3)
    W = next(r.tensor for r in tr.trace(loss).parameters() if r.name == "weight_hh_l0")
    W.grad = np.full(W.shape, 7.0)
    viz.backward_player(loss, tmp_path / "a.html")
    assert np.array_equal(W.grad, np.full(W.shape, 7.0))
    stepper = tr.BackwardStepper(loss)
    stepper.run_to("t2")
    position, grad = stepper.position, W.grad.copy()
    root = ET.parse(viz.backward_player(stepper, tmp_path / "b.html")).getroot()
    assert stepper.position == position and np.array_equal(W.grad, grad)
    assert data_of(root)["start"] == position


def test_bad_argument_is_named():
    with pytest.raises(TypeError, match="expected a loss Tensor or a BackwardStepper, got list"):
        viz.backward_player([1, 2], "x.html")
    with pytest.raises(ValueError, match="view must be"):
        viz.explorer_html(builtin_model("rnn", 1), view="layers")


# --- in a real browser ----------------------------------------------------------------------------

STATE = """
var root = arguments[0], port = root.querySelector('.tgr-viewport').getBoundingClientRect();
var canvas = Array.from(root.querySelectorAll('.tgr-canvas')).filter(function (c) {
  return c.style.display !== 'none';
})[0];
var cur = canvas.querySelectorAll('g.node.current'), el = cur[0];
var r = el ? el.getBoundingClientRect() : null, a = el ? el.querySelector('a') : null;
return {counter: root.querySelector('.tgr-counter').textContent, text: root.querySelector('.tgr-event').textContent,
        view: canvas.getAttribute('data-view'), highlighted: cur.length, moving: canvas.getAnimations().length,
        id: el ? el.getAttribute('data-id') : null,
        tooltip: a ? a.getAttributeNS('http://www.w3.org/1999/xlink', 'title') : null,
        node: r && {left: r.left, right: r.right, top: r.top, bottom: r.bottom},
        port: {left: port.left, right: port.right, top: port.top, bottom: port.bottom},
        window: {width: window.innerWidth, height: window.innerHeight}};
"""


def state(driver, root):
    return driver.execute_script(STATE, root)


def settled_state(driver, root):
    """The state once the pan animation (a 0.25 s CSS transition) has finished."""
    from selenium.webdriver.support.ui import WebDriverWait

    def still(_):
        now = state(driver, root)
        return now if now["moving"] == 0 else False

    return WebDriverWait(driver, 10, poll_frequency=0.1).until(still)


def inside(box, outer):
    return box["left"] >= outer["left"] - 1 and box["right"] <= outer["right"] + 1 and \
        box["top"] >= outer["top"] - 1 and box["bottom"] <= outer["bottom"] + 1


def explorers(driver):
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, ".tgr-explorer")


@pytest.mark.parametrize("steps", [3, 20])
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_after_each_key_press_the_node_the_text_names_is_highlighted_and_in_view(browser, tmp_path, cell, steps):
    """T = 3 opens in the ops view; T = 20 in the cells view, then the same page is stepped in its ops view."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    loss = builtin_model(cell, steps)
    reference = tr.BackwardStepper(loss)
    events = reference.run()
    reference.reset()  # every .grad back to None before the page is made
    path = viz.backward_player(loss, tmp_path / "p.html")
    browser.get(path.as_uri())
    root = explorers(browser)[0]
    checks = sorted({1, 2, 5, len(events) // 3, len(events) // 2, len(events) - 1, len(events)})
    for view in ("cells", "ops") if steps > 8 else ("ops",):
        if view == "ops" and steps > 8:
            root.send_keys(Keys.HOME)
            root.find_element(By.CSS_SELECTOR, '.tgr-viewbtn[data-view="ops"]').click()
        pressed = 0
        for k in checks:
            root.send_keys(Keys.ARROW_RIGHT * (k - pressed))
            pressed = k
            seen = settled_state(browser, root)
            event = events[k - 1]
            assert seen["counter"] == f"step {k} of {len(events)}"
            assert seen["text"] == str(event)
            assert seen["view"] == view and seen["highlighted"] == 1
            where = f"{event.op} at {event.scope or '(top level)'}"
            if view == "ops":
                assert seen["id"] == f"op{event.index}" and seen["tooltip"].splitlines()[0] == where
            else:  # the time step (or block of ops outside the steps) that holds the node
                cell_scope = re.match(r"^(.*?/t\d+)(/|$)", event.scope)
                if cell_scope:
                    assert seen["tooltip"] == cell_scope.group(1)
                else:
                    assert seen["tooltip"] == "(top level)" if not event.scope else event.scope.startswith(
                        seen["tooltip"])
            assert seen["text"].splitlines()[0].startswith(f"step {k} of {len(events)}: {event.op}")
            assert inside(seen["node"], seen["port"]), (k, seen)
            window = {"left": 0, "top": 0, "right": seen["window"]["width"], "bottom": seen["window"]["height"]}
            assert inside(seen["node"], window), (k, seen)


def test_keyboard_steps_back_and_jumps(browser, tmp_path):
    from selenium.webdriver.common.keys import Keys

    loss = builtin_model("lstm", 2)
    steps = tr.BackwardStepper(loss).steps
    browser.get(viz.backward_player(loss, tmp_path / "p.html").as_uri())
    root = explorers(browser)[0]
    assert browser.switch_to.active_element == root  # the page's explorer has the focus: keys work at once
    root.send_keys("nnn")
    assert state(browser, root)["counter"] == f"step 3 of {steps}"
    root.send_keys("p" + Keys.ARROW_LEFT)
    assert state(browser, root)["counter"] == f"step 1 of {steps}"
    root.send_keys(Keys.END)
    assert state(browser, root)["counter"] == f"step {steps} of {steps}"
    root.send_keys(Keys.HOME)
    seen = state(browser, root)
    assert seen["counter"] == f"step 0 of {steps}" and seen["highlighted"] == 0 and seen["text"] == "no step taken yet"


def test_two_explorers_on_one_page_step_independently_and_keep_their_css_to_themselves(browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    first, second = builtin_model("rnn", 3), builtin_model("gru", 2)
    page = tmp_path / "two.html"
    page.write_text("<!DOCTYPE html><html><head><meta charset='utf-8'><title>two</title></head><body>"
                    "<pre class='outside'>not ours</pre>" + viz.explorer_html(first) + viz.explorer_html(second)
                    + "</body></html>")
    browser.get(page.as_uri())
    a, b = explorers(browser)
    a.find_element(By.CSS_SELECTOR, ".tgr-next").click()
    a.find_element(By.CSS_SELECTOR, ".tgr-next").click()
    b.send_keys(Keys.END)
    n_a, n_b = tr.BackwardStepper(first).steps, tr.BackwardStepper(second).steps
    assert state(browser, a)["counter"] == f"step 2 of {n_a}"
    assert state(browser, b)["counter"] == f"step {n_b} of {n_b}"
    assert state(browser, a)["text"] == str(tr.BackwardStepper(first).step(2)[-1])
    outside = browser.find_element(By.CSS_SELECTOR, "pre.outside")
    assert outside.value_of_css_property("background-color") in ("rgba(0, 0, 0, 0)", "transparent")


def test_clicking_a_node_shows_its_gradient_and_a_parameter_its_contributions_per_time_step(browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    loss = builtin_model("rnn", 3)
    stepper = tr.BackwardStepper(loss)
    browser.get(viz.backward_player(loss, tmp_path / "p.html").as_uri())
    root = explorers(browser)[0]
    root.send_keys(Keys.ARROW_RIGHT * 3)
    event = stepper.step(3)[-1]  # tanh -> h₃
    settled_state(browser, root)
    root.find_element(By.CSS_SELECTOR, f'g.node[data-id="op{event.index}"]').click()
    info = root.find_element(By.CSS_SELECTOR, ".tgr-info").text
    assert f"local rule {event.formula}" in info
    typeset = root.find_elements(By.CSS_SELECTOR, ".tgr-info .tgr-rule math")  # and filled in, typeset
    assert len(typeset) == sum(s.rule is not None for s in event.sent) > 0
    assert f"gradient = {format_array(event.upstream[0])}" in info
    root.send_keys(Keys.END)
    stepper.run()
    numbers = stepper.tensor_numbers()
    W = next(r for r in stepper.graph.parameters() if r.name == "weight_hh_l0")
    settled_state(browser, root)
    root.find_element(By.CSS_SELECTOR, f'g.node[data-id="v{numbers[W.id]}"]').click()
    info = root.find_element(By.CSS_SELECTOR, ".tgr-info")
    assert "W_hh (PyTorch: weight_hh_l0): parameter" in info.text  # the notes' alias and PyTorch's name
    assert f"gradient dL/dW_hh = {format_array(W.tensor.grad)}" in info.text
    assert "3 of 3 so far" in info.text
    bars = info.find_elements(By.CSS_SELECTOR, "rect.tgr-bar")
    assert [b.get_attribute("data-t") for b in bars] == ["1", "2", "3"]
    heights = [float(b.get_attribute("height")) for b in bars]
    pieces = {a.t: np.linalg.norm(a.grad) for e in stepper.events for a in e.accumulations
              if a.leaf == "W_hh" and a.contribution}
    assert np.allclose(np.array(heights) / max(heights), [pieces[t] / max(pieces.values()) for t in (1, 2, 3)],
                       atol=0.02)  # the t=1 piece is tiny: a 1-pixel bar


def test_a_long_unroll_opens_in_cells_and_a_click_on_a_time_step_opens_its_ops(browser, tmp_path):
    from selenium.webdriver.common.by import By

    loss = builtin_model("rnn", 20)
    browser.get(viz.backward_player(loss, tmp_path / "p.html").as_uri())
    root = explorers(browser)[0]
    assert state(browser, root)["view"] == "cells"
    cell = root.find_element(By.XPATH, ".//*[local-name()='g'][contains(@class,'cell')][.//*[local-name()='a']"
                                       "[@*[local-name()='title']='rnn/l0/fwd/t19']]")
    cell.click()
    seen = settled_state(browser, root)
    assert seen["view"] == "ops" and "rnn/l0/fwd/t19" in root.find_element(By.CSS_SELECTOR, ".tgr-info").text
    graph = tr.trace(loss)
    inside_t19 = [n.index for n in graph.nodes if "/t19/" in n.scope + "/"]
    for i in inside_t19:  # every op of t = 19 is now in view
        box = browser.execute_script("return arguments[0].getBoundingClientRect().toJSON()",
                                     root.find_element(By.CSS_SELECTOR, f'g.node[data-id="op{i}"]'))
        assert inside(box, seen["port"])


def test_autostep_in_the_url_opens_the_page_at_that_step(browser, tmp_path):
    loss = builtin_model("rnn", 2)
    steps = tr.BackwardStepper(loss).steps
    path = viz.backward_player(loss, tmp_path / "p.html")
    browser.get(path.as_uri() + "#autostep=2")
    seen = state(browser, explorers(browser)[0])
    assert seen["counter"] == f"step 2 of {steps}" and seen["highlighted"] == 1


def test_show_all_fits_the_whole_graph_zoom_scales_and_a_drag_pans_without_counting_as_a_click(browser, tmp_path):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    loss = builtin_model("lstm", 20)
    browser.get(viz.backward_player(loss, tmp_path / "p.html", view="ops").as_uri())
    root = explorers(browser)[0]
    boxes = """return Array.from(arguments[0].querySelectorAll('g.node')).map(function (g) {
                 return g.getBoundingClientRect().toJSON(); });"""
    port = settled_state(browser, root)["port"]
    assert not all(inside(b, port) for b in browser.execute_script(boxes, root))  # 248 ops do not fit at 90 %
    root.find_element(By.CSS_SELECTOR, ".tgr-all").click()
    settled_state(browser, root)
    assert all(inside(b, port) for b in browser.execute_script(boxes, root))
    width = lambda: browser.execute_script(  # noqa: E731
        "return arguments[0].querySelector('.tgr-canvas').getBoundingClientRect().width", root)
    before = width()
    root.find_element(By.CSS_SELECTOR, ".tgr-zoomin").click()
    assert width() == pytest.approx(before * 1.25, rel=0.01)
    node = browser.execute_script("""var port = arguments[0].querySelector('.tgr-viewport').getBoundingClientRect();
        return Array.from(arguments[0].querySelectorAll('g.node.op')).filter(function (g) {
          var r = g.getBoundingClientRect();
          return r.left > port.left + 150 && r.right < port.right - 150 && r.top > port.top && r.bottom < port.bottom;
        })[0];""", root)  # an op in view, to start the drag on
    x0 = browser.execute_script("return arguments[0].getBoundingClientRect().left", node)
    ActionChains(browser).move_to_element(node).click_and_hold().move_by_offset(120, 0).release().perform()
    assert browser.execute_script("return arguments[0].getBoundingClientRect().left", node) == pytest.approx(
        x0 + 120, abs=2)
    assert root.find_element(By.CSS_SELECTOR, ".tgr-info").text.startswith("Click an op")  # a drag is no click
