"""What Jupyter shows for the engine's objects, the live explorer widget, and the step shell in a notebook."""

import html
import io
import os
import subprocess
import sys
import time

import numpy as np
import pytest

import tinygrad_rnn as tr
import viz
from tinygrad_rnn.cli.step import builtin_model, shell
from viz.explorer import json_for_script


def test_import_tinygrad_rnn_loads_no_viz_and_no_notebook_machinery():
    code = ("import sys, tinygrad_rnn as tr; t = tr.Tensor([1.0], requires_grad=True); (t * 2).sum().backward(); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('viz', 'IPython', 'anywidget', 'sympy')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_a_tensor_shows_its_value_its_gradient_and_the_graph_that_made_it():
    W = tr.Parameter(np.array([[0.5, -0.3], [0.2, 0.4]]), name="W_hh")
    with tr.scope("t1"):
        h = (W @ tr.Tensor(np.ones(2))).tanh()
    loss = h.sum()
    loss.backward()
    shown = loss._repr_html_()
    assert "<svg" in shown and "made by" in shown and "sum" in shown
    leaf = W._repr_html_()
    assert "W_hh" in leaf and tr.stepper.format_array(W.grad).split("\n")[0] in leaf and "<svg" not in leaf
    assert "None (call .backward())" in tr.Parameter(np.zeros(2))._repr_html_()


def test_a_graph_shows_its_scopes_and_a_long_one_is_drawn_in_the_cells_view():
    small = tr.trace(builtin_model("rnn", 2))._repr_html_()
    assert "scopes: rnn/l0" in small and "<svg" in small and "cells view" not in small
    big = tr.trace(builtin_model("rnn", 60))._repr_html_()
    assert "one box per time step (cells view)" in big and "<svg" in big
    loss = builtin_model("rnn", 1100)  # over 3,000 ops: like a training batch, not laid out on display
    huge = loss._repr_html_()
    assert f"not drawn inline: {len(tr.trace(loss).nodes)} ops" in huge and "<svg" not in huge


def test_a_stepper_shows_the_explorer_at_its_position_and_an_event_its_text():
    stepper = tr.BackwardStepper(builtin_model("gru", 2))
    events = stepper.step(3)
    shown = stepper._repr_html_()
    assert 'class="tgr-explorer"' in shown and "<svg" in shown
    assert f'<pre class="tgr-event">{html.escape(str(events[-1]))}</pre>' in shown  # opens at step 3
    assert stepper.position == 3
    event = events[-1]._repr_html_()
    assert f"<b>{html.escape(events[-1].headline())}</b>" in event and "local rule" in event


def test_the_widget_steps_the_real_stepper_and_its_view_follows():
    pytest.importorskip("anywidget", reason="the notebook extra (anywidget) is not installed")
    loss = builtin_model("rnn", 3)
    widget = viz.explore(loss)
    stepper = widget.stepper
    h2 = stepper.lookup("h2")[0].tensor
    assert "export default" in widget._esm and "mountExplorer" in widget._esm and 'class="tgr-explorer"' in widget.html
    assert "<script>" not in widget.html  # the widget mounts the explorer itself
    sent = []
    widget.observe(lambda change: sent.append(change["new"]), names="position")
    widget._handle_custom_msg({"action": "go_to", "position": 1}, [])  # what the "step" button sends
    assert stepper.position == 1 and widget.position == 1 and sent == [1]
    widget._handle_custom_msg({"action": "run_to", "target": "t1"}, [])
    assert stepper.current.scope.split("/")[3] == "t1" and widget.position == stepper.position > 1
    assert widget.message == "stopped just before the first node of t1: tanh -> h₁ (next)"
    assert h2.grad is not None  # the kernel's tensors hold what the view shows
    widget._handle_custom_msg({"action": "run_to", "target": "t9"}, [])
    assert "no pending node" in widget.message and widget.position == stepper.position
    widget._handle_custom_msg({"action": "go_to", "position": 0}, [])
    assert stepper.position == 0 and widget.position == 0 and h2.grad is None and widget.message == ""
    with pytest.raises(TypeError, match="viz.explore: expected a loss Tensor or a BackwardStepper"):
        viz.explore("loss")


def test_the_step_shell_in_a_notebook_says_to_use_the_explorer(monkeypatch):
    monkeypatch.setenv("JPY_PARENT_PID", "1")  # what a Jupyter kernel (and a cell's `!command`) has
    out = io.StringIO()
    assert shell(tr.BackwardStepper(builtin_model("rnn", 2)), io.StringIO(""), out) == 0
    assert "viz.explore(loss)" in out.getvalue()
    piped = io.StringIO()  # commands piped in still run as usual
    shell(tr.BackwardStepper(builtin_model("rnn", 2)), io.StringIO("n\nq\n"), piped)
    assert "step 1 of" in piped.getvalue() and "viz.explore" not in piped.getvalue()


def test_the_step_shell_does_not_hang_on_a_kernel_stdin_nobody_writes_to(monkeypatch):
    monkeypatch.setenv("JPY_PARENT_PID", "1")
    read, write = os.pipe()  # what a kernel (and a cell's `!command`) has as stdin: open, never written
    out = io.StringIO()
    with os.fdopen(read) as stdin:
        started = time.perf_counter()
        assert shell(tr.BackwardStepper(builtin_model("rnn", 1)), stdin, out) == 0
        assert time.perf_counter() - started < 20  # it waited about a second for piped commands, then stopped
    os.close(write)
    assert "Use the explorer instead" in out.getvalue()


def test_the_widgets_view_asks_the_kernel_to_step_and_follows_its_answer(tmp_path, browser):
    """The widget's JavaScript module, rendered by a stand-in for the notebook front end in a real browser:
    its step button sends a message (it does not move by itself); the kernel side handles it with the
    real stepper; the new position, sent back, moves the view."""
    pytest.importorskip("anywidget", reason="the notebook extra (anywidget) is not installed")
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    widget = viz.explore(builtin_model("rnn", 2))
    page = tmp_path / "widget.html"
    state = {"html": widget.html, "position": 0, "message": ""}
    page.write_text("""<!DOCTYPE html><html><head><meta charset="utf-8"><title>w</title></head><body>
<div class="host"></div>
<script type="module">
const esm = ESM, state = STATE, listeners = {};
const module = await import(URL.createObjectURL(new Blob([esm], {type: "text/javascript"})));
window.sent = [];
const model = {get: (key) => state[key], send: (message) => window.sent.push(message),
               on: (event, callback) => { listeners[event] = callback; }};
window.fromKernel = (key, value) => { state[key] = value; listeners["change:" + key](); };
module.default.render({model, el: document.querySelector(".host")});
window.ready = true;
</script></body></html>""".replace("ESM", json_for_script(widget._esm)).replace("STATE", json_for_script(state)))
    driver = browser
    driver.get(page.as_uri())
    WebDriverWait(driver, 10).until(lambda d: d.execute_script("return window.ready === true"))
    root = driver.find_element(By.CSS_SELECTOR, ".tgr-explorer")
    counter = root.find_element(By.CSS_SELECTOR, ".tgr-counter")
    root.find_element(By.CSS_SELECTOR, ".tgr-next").click()
    sent = driver.execute_script("return window.sent")
    assert sent == [{"action": "go_to", "position": 1}] and counter.text == f"step 0 of {widget.stepper.steps}"
    widget._handle_custom_msg(sent[0], [])  # the kernel side: the real stepper takes the step
    assert widget.stepper.position == 1
    driver.execute_script("window.fromKernel('position', arguments[0])", widget.position)
    assert counter.text == f"step 1 of {widget.stepper.steps}"
    assert root.find_element(By.CSS_SELECTOR, ".tgr-event").text == str(widget.stepper.events[-1])
    assert root.find_element(By.CSS_SELECTOR, "g.node.current").get_attribute("data-id") == \
        f"op{widget.stepper.events[-1].index}"
    root.find_element(By.CSS_SELECTOR, ".tgr-target").send_keys("t9\n")  # "run to" a scope that is not ahead
    widget._handle_custom_msg(driver.execute_script("return window.sent")[-1], [])
    driver.execute_script("window.fromKernel('message', arguments[0])", widget.message)
    assert "no pending node" in root.find_element(By.CSS_SELECTOR, ".tgr-message").text


def test_a_drawing_shows_in_a_notebook_at_its_own_size_in_a_box_that_scrolls():
    bundle = viz.draw(builtin_model("rnn", 4))._repr_mimebundle_()
    assert bundle["image/svg+xml"].lstrip().startswith("<?xml")  # the SVG itself is still offered
    shown = bundle["text/html"]
    assert shown.startswith('<div class="tgr-drawing" style="max-width: 100%; overflow: auto;')
    assert '<svg style="max-width: none;' in shown and ' id="' not in shown  # unshrinkable; ids cannot clash
    assert "text/html" not in viz.draw(builtin_model("rnn", 1))._repr_mimebundle_(include=["image/png"])


def test_the_inline_explorer_and_the_widget_say_the_same_when_run_to_finds_nothing(tmp_path, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    loss = builtin_model("gru", 2)
    stepper = tr.BackwardStepper(loss)
    stepper.step(5)
    with pytest.raises(ValueError) as kernel:  # what the widget shows: the kernel stepper's own error
        stepper.run_to("t9")
    page = tmp_path / "inline.html"
    page.write_text(f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>i</title></head><body>"
                    f"{stepper._repr_html_()}</body></html>", encoding="utf-8")
    browser.get(page.as_uri())
    root = browser.find_element(By.CSS_SELECTOR, ".tgr-explorer")
    root.find_element(By.CSS_SELECTOR, ".tgr-target").send_keys("t9", Keys.ENTER)
    assert root.find_element(By.CSS_SELECTOR, ".tgr-message").text == str(kernel.value)
    assert root.get_attribute("data-position") == "5"  # and it did not move
