"""The explorer's BPTT-loop panel in Chromium: each backward step marks the line of the loop it runs, at its t."""

from __future__ import annotations

import numpy as np

import tinygrad_rnn as tr
import viz
from tinygrad_rnn.stepper import BackwardStepper

PANEL = """
const root = arguments[0], k = arguments[1], done = arguments[2];
root.tgrExplorer.show(k, false);
setTimeout(function () {  // the panel follows the explorer through a MutationObserver: let it run
const panel = root.querySelector('.tgr-loop-panel'), code = panel.querySelector('.tgr-loop-code');
const marked = panel.querySelectorAll('.tgr-loop-current');
const box = code.getBoundingClientRect(), line = marked.length ? marked[0].getBoundingClientRect() : null;
done({count: marked.length, text: marked.length ? marked[0].textContent : null,
        label: panel.querySelector('.tgr-loop-at').textContent, t: panel.getAttribute('data-t'),
        inside: line !== null && line.top >= box.top - 1 && line.bottom <= box.bottom + 1,
        background: marked.length ? getComputedStyle(marked[0]).backgroundColor : null});
}, 0);
"""


def lstm_stepper(T: int = 4) -> BackwardStepper:
    model = tr.nn.LSTM(2, 3, rng=0)
    x = tr.Tensor(np.random.default_rng(0).normal(size=(T, 1, 2)))
    out, _ = model(x)
    return BackwardStepper(tr.F.mse_loss(out, np.zeros(out.shape)))


def step_of(stepper: BackwardStepper, op: str, scope: str) -> int:
    """The explorer position whose step processed the node (op, scope): frames count from 1."""
    order = [n.index for n in reversed(stepper.graph.nodes)]
    node = next(n.index for n in stepper.graph.nodes if n.op == op and n.scope == scope)
    return order.index(node) + 1


def test_the_code_panel_marks_the_line_of_each_step(browser, tmp_path):
    stepper = lstm_stepper()
    page = viz.backward_player(stepper, tmp_path / "loop.html")
    browser.get(page.as_uri())
    root = browser.find_element("css selector", ".tgr-explorer")
    cases = [  # (op, scope, the line a reader expects, t)
        ("sigmoid", "lstm/l0/fwd/t3/forget_gate", "ds_f = df * f[t] * (1 - f[t])", "3"),
        ("sigmoid", "lstm/l0/fwd/t1/forget_gate", "ds_f = df * f[t] * (1 - f[t])", "1"),
        ("matmul", "lstm/l0/fwd/t2", "dh_next = dhW @ W_hh", "2"),
        ("mul", "lstm/l0/fwd/t4/hidden", "do = dh * tanh_c[t]", "4"),
        ("tanh", "lstm/l0/fwd/t4/cell_gate", "ds_g = dg * (1 - g[t] * g[t])", "4"),
    ]
    for op, scope, expected, t in cases:
        k = step_of(stepper, op, scope)
        seen = browser.execute_async_script(PANEL, root, k)
        assert seen["count"] == 1, (scope, seen)
        assert seen["text"].strip().startswith(expected), (scope, seen)
        assert seen["t"] == t and seen["label"].endswith(f"t = {t}"), (scope, seen)
        assert seen["inside"], f"the marked line for {scope} is scrolled out of the code box"
        assert seen["background"] not in ("rgba(0, 0, 0, 0)", "transparent")
    # a step outside the loops (the loss) names its line without a t; before any step, nothing is marked
    seen = browser.execute_async_script(PANEL, root, 1)
    assert seen["label"].endswith("outside the loops") and seen["t"] == "" and seen["count"] == 1
    seen = browser.execute_async_script(PANEL, root, 0)
    assert seen["count"] == 0 and seen["label"] == "no step taken yet"
    browser.execute_async_script(PANEL, root, step_of(stepper, "sigmoid", "lstm/l0/fwd/t3/forget_gate"))
    browser.execute_script("arguments[0].querySelector('.tgr-loop-panel').scrollIntoView()", root)
    browser.save_screenshot(str(tmp_path / "loop_panel.png"))


def test_no_panel_without_time_steps(tmp_path):
    w = tr.Parameter(np.ones(3), name="w")
    page = viz.backward_player((w * w).sum(), tmp_path / "plain.html").read_text()
    assert "tgr-loop-panel" not in page


def test_the_notebook_widget_mounts_the_panel_and_it_follows(browser, tmp_path):
    """The widget's own front end (its ESM, rendered as anywidget renders it) drives the same panel."""
    import pytest

    from viz.explorer import json_for_script

    pytest.importorskip("anywidget", reason="the notebook extra (anywidget) is not installed")
    stepper = lstm_stepper()
    widget = viz.explore(stepper)
    page = tmp_path / "widget.html"
    page.write_text(f"""<!DOCTYPE html><html><body><div id="el"></div><script type="module">
const state = {{html: {json_for_script(widget.html)}, position: 0, message: ""}}, listeners = {{}};
const model = {{get: (k) => state[k], on: (event, f) => {{ listeners[event] = f; }}, send: () => {{}}}};
const url = URL.createObjectURL(new Blob([{json_for_script(widget._esm)}], {{type: "text/javascript"}}));
const module = await import(url);
module.default.render({{model, el: document.getElementById("el")}});
window.moveTo = (k) => {{ state.position = k; listeners["change:position"](); }};
window.mounted = true;
</script></body></html>""", encoding="utf-8")
    browser.get(page.as_uri())
    browser.set_script_timeout(20)
    browser.execute_async_script("const done = arguments[0]; (function wait() { "
                                 "if (window.mounted) done(); else setTimeout(wait, 50); })();")
    k = step_of(stepper, "sigmoid", "lstm/l0/fwd/t2/forget_gate")
    seen = browser.execute_async_script("""
        const done = arguments[1]; window.moveTo(arguments[0]);
        setTimeout(function () {
          const panel = document.querySelector('.tgr-loop-panel');
          const marked = panel.querySelector('.tgr-loop-current');
          done({text: marked ? marked.textContent : null, t: panel.getAttribute('data-t'),
                label: panel.querySelector('.tgr-loop-at').textContent});
        }, 0);""", k)
    assert seen["text"].strip() == "ds_f = df * f[t] * (1 - f[t])" and seen["t"] == "2", seen
    assert seen["label"].endswith("t = 2")


def test_a_click_on_a_line_goes_to_the_step_that_runs_it(browser, tmp_path):
    """line -> step: at t = 3, a click on the forget gate's line goes to that gate's step at t = 3."""
    stepper = lstm_stepper()
    browser.get(viz.backward_player(stepper, tmp_path / "click.html").as_uri())
    root = browser.find_element("css selector", ".tgr-explorer")
    browser.execute_async_script(PANEL, root, step_of(stepper, "mul", "lstm/l0/fwd/t3/hidden"))
    line = next(el for el in root.find_elements("css selector", ".tgr-loop-panel .tgr-line")
                if el.text.strip() == "ds_f = df * f[t] * (1 - f[t])")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", line)
    line.click()
    target = next(n.index for n in stepper.graph.nodes if n.op == "sigmoid" and n.scope == "lstm/l0/fwd/t3/forget_gate")
    assert root.get_attribute("data-current") == str(target)
    assert root.get_attribute("data-position") == str(step_of(stepper, "sigmoid", "lstm/l0/fwd/t3/forget_gate"))
    panel = root.find_element("css selector", ".tgr-loop-panel")
    assert panel.get_attribute("data-t") == "3"
    assert panel.find_element("css selector", ".tgr-loop-current").text.strip() == "ds_f = df * f[t] * (1 - f[t])"
