"""The explorer speaks the notes' language: at every step of an LSTM and a GRU (T = 3), in headless Chromium,
the step text names tensors as the picture labels them (c₃, f₃, sᶠ₃), never by engine ids such as add#39,
and most steps show the local rule filled in with the operands' names and numbers joined by an operator."""

import re

import pytest

import viz
from tests.readme_example import readme_rnn
from tinygrad_rnn.cli.step import builtin_model

ENGINE_ID = re.compile(r"\w+#\d+")
# a rule filled in: "... = [0.447 0.293] ⊙ [0.512 0.618] = [...]": numbers, an operator, numbers
FILLED = re.compile(r"^  sends {6}dL/d.* [+]?= .+ = .*[\]\d)] (⊙|@|/|·) [\[(\d−].* = ", re.M)

LOOK = """
var root = arguments[0], k = arguments[1];
var canvas = Array.from(root.querySelectorAll('.tgr-canvas')).filter(function (c) {
  return c.style.display !== 'none'; })[0];
var cur = canvas.querySelector('g.node.current');
var a = cur ? cur.querySelector('a') : null;
var boxes = {};
(k || []).forEach(function (n) {
  var box = canvas.querySelector('g.node[data-id="v' + n + '"]');
  boxes[n] = box ? Array.from(box.querySelectorAll('text')).map(function (t) { return t.textContent; }) : null;
});
var maths = Array.from(root.querySelectorAll('.tgr-rule math'));
var typeset = maths.filter(function (m) { var r = m.getBoundingClientRect();
  return r.height > 20 && m.querySelector('mfrac') !== null; }).length;
return {text: root.querySelector('.tgr-event').textContent, id: cur ? cur.getAttribute('data-id') : null,
        maths: maths.length, typeset: typeset,
        tooltip: a ? a.getAttributeNS('http://www.w3.org/1999/xlink', 'title') : null, boxes: boxes};
"""


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_every_step_names_tensors_as_the_picture_labels_them_and_fills_in_its_rule(browser, tmp_path, cell):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    loss = builtin_model(cell, 3)
    path = viz.backward_player(loss, tmp_path / "p.html")
    browser.get(path.as_uri())
    root = browser.find_elements(By.CSS_SELECTOR, ".tgr-explorer")[0]
    data = browser.execute_script("return JSON.parse(arguments[0].querySelector('.tgr-data').textContent);", root)
    labels = [t["label"] for t in data["tensors"]]
    steps, filled = data["steps"], 0
    for k in range(1, steps + 1):
        root.send_keys(Keys.ARROW_RIGHT)
        node = data["nodes"][data["frames"][k]["node"]]
        seen = browser.execute_script(LOOK, root, node["outputs"])
        text = seen["text"]
        assert text.startswith(f"step {k} of {steps}: "), (k, text)
        assert not ENGINE_ID.search(text), (k, text)
        assert seen["id"] == f"op{data['frames'][k]['node']}"
        named = text.splitlines()[0].split(" -> ", 1)[1].split(", ")
        assert named == [labels[n] for n in node["outputs"]]
        for name, n in zip(named, node["outputs"]):
            box = seen["boxes"][str(n)]
            if box is not None:  # a tensor drawn as a box (h₃, c₃, f₃, W_hh, loss): its title is the same name
                assert box[0] == name, (k, name, box)
            else:  # an intermediate drawn as an edge: the op's own label says what it makes
                assert f"makes {', '.join(named)} (node #" in seen["tooltip"], (k, name, seen["tooltip"])
        rules = len(FILLED.findall(text))
        filled += bool(rules)
        # the same rules typeset: one MathML formula per filled-in rule, rendered (a fraction ∂L/∂…, with height)
        assert seen["maths"] == seen["typeset"] == len(data["frames"][k]["rules"])
        assert seen["maths"] >= 1 if rules else True
    assert filled >= 0.6 * steps, f"only {filled} of {steps} steps show a filled-in rule with an operator"
    # the names the text uses for the recurrent parameter and the gates are the notes'
    whole = "\n".join(f["text"] for f in data["frames"])
    assert "W_hh.grad += …" in whole
    gates = ("i₃", "f₃", "g₃", "o₃", "c₂") if cell == "lstm" else ("r₃", "u₃", "n₃", "h₂")
    assert all(f"dL/d{g}" in whole for g in gates)


def test_the_readme_engine_example_draws_clean_with_its_states_named():
    """README's "engine in one screen": W_hh @ h with a 1-D h draws as one @ per step, no reshape,
    h₀ and every h_t in a box under its name."""
    loss, _ = readme_rnn()
    svg = viz.draw(loss).pipe(format="svg", encoding="utf-8")
    ops = re.findall(r'class="node op op(?:-|&#45;)(\w+)', svg)
    assert sorted(ops) == sorted(["matmul", "add", "tanh"] * 3 + ["sum"])  # no reshape before or after the @
    boxes = re.findall(r'class="node tensor[^"]*">.*?<text[^>]*>([^<]+)</text>', svg, re.S)
    assert {"h₀", "h₁", "h₂", "h₃", "W_hh", "loss"} <= set(boxes)


def test_run_to_says_where_it_stopped_and_why_and_takes_typed_names(browser, tmp_path):
    from selenium.webdriver.common.by import By

    path = viz.backward_player(builtin_model("lstm", 3), tmp_path / "p.html")
    browser.get(path.as_uri())
    root = browser.find_elements(By.CSS_SELECTOR, ".tgr-explorer")[0]
    for target, expected in (("t2", "stopped just before the first node of t2: mul -> h₂ (next)"),
                             ("c1", "stopped just before the first node of c1: add -> c₁ (next)")):
        box = root.find_element(By.CSS_SELECTOR, ".tgr-target")
        box.clear()
        box.send_keys(target)
        root.find_element(By.CSS_SELECTOR, ".tgr-runto button").click()
        message = root.find_element(By.CSS_SELECTOR, ".tgr-message").text
        assert message == expected
        nxt = root.find_elements(By.CSS_SELECTOR, "g.node.next")  # the node it names is the one marked next
        assert len(nxt) == 1 and "makes " + expected.split(" -> ")[1].split(" (next)")[0] in \
            nxt[0].find_element(By.CSS_SELECTOR, "a").get_attribute("xlink:title")
