"""viz.backward_player: one self-contained, well-formed HTML page with a frame per backward step."""

import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import numpy as np
import pytest

import tinygrad_rnn as tr
import viz
from tinygrad_rnn.cli.step import builtin_model

XHTML = "{http://www.w3.org/1999/xhtml}"
SVG = "{http://www.w3.org/2000/svg}"
CHROMIUM = "/usr/bin/chromium"


def data_of(root):
    script = next(e for e in root.iter(f"{XHTML}script") if e.get("id") == "frames")
    return json.loads(script.text)


def frames_of(root):
    return data_of(root)["frames"]


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
    frames = frames_of(root)
    assert len(frames) == steps + 1  # position 0 (nothing done) and one frame after each step
    for k, frame in enumerate(frames[1:], start=1):
        assert frame["text"].startswith(f"step {k} of {steps}: ")
    assert "local rule d tanh(x)/dx = 1 - tanh(x)^2" in "".join(f["text"] for f in frames)
    assert "weight_hh_l0.grad = (nothing yet)\n  0 of 3" in frames[0]["leaves"]
    assert "3 of 3 contributions so far" in frames[-1]["leaves"]
    slider = next(e for e in root.iter(f"{XHTML}input") if e.get("id") == "slider")
    assert slider.get("max") == str(steps) and slider.get("value") == "0"


def test_every_op_node_is_in_the_svg_once_under_its_index(tmp_path):
    loss = builtin_model("gru", 2)
    root = ET.parse(viz.backward_player(loss, tmp_path / "p.html")).getroot()
    svgs = list(root.iter(f"{SVG}svg"))
    assert len(svgs) == 1
    ids = [g.get("id") for g in svgs[0].iter(f"{SVG}g") if "node" in g.get("class", "").split()]
    graph = tr.trace(loss)
    assert sorted(i for i in ids if i.startswith("op")) == sorted(f"op{n.index}" for n in graph.nodes)
    data = data_of(root)
    frames = data["frames"]
    tensor_ids = {tid: f"v{k}" for k, tid in enumerate(graph.tensors)}
    params = {tensor_ids[r.id] for r in graph.parameters()}
    assert len(params) == 4 and params <= set(ids)
    assert data["root"] == tensor_ids[graph.root]
    assert data["producer"] == {tensor_ids[t]: r.producer for t, r in graph.tensors.items() if r.producer is not None}
    assert frames[0]["written"] == [] and frames[1]["written"] == []
    assert set(frames[-1]["written"]) == params  # every parameter holds its gradient at the end


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
    assert root.find(f"{XHTML}body/{XHTML}h1").text == f"model {evil}"
    frames = frames_of(root)
    assert any(evil in f["text"] for f in frames) and any("t1<b>" in f["text"] for f in frames)
    assert sum(1 for _ in root.iter(f"{XHTML}script")) == 2


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
    slider = next(e for e in root.iter(f"{XHTML}input") if e.get("id") == "slider")
    assert slider.get("value") == str(position)


def test_bad_argument_is_named():
    with pytest.raises(TypeError, match="expected a loss Tensor or a BackwardStepper, got list"):
        viz.backward_player([1, 2], "x.html")


@pytest.mark.skipif(not shutil.which(CHROMIUM), reason="Chromium is not installed on this machine")
def test_headless_chromium_steps_forward(tmp_path):
    path = viz.backward_player(builtin_model("rnn", 2), tmp_path / "p.html")

    def dom(url):
        done = subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--dump-dom", url],
            capture_output=True, text=True, timeout=60,
        )
        return done.stdout

    steps = len(tr.trace(builtin_model("rnn", 2)).nodes)
    start, after, end = (dom(path.as_uri() + hash) for hash in ("", "#autostep=2", "#autostep=999"))
    assert f"step 0 of {steps}" in start and f"step 2 of {steps}" in after and f"step {steps} of {steps}" in end
    event = re.compile(r'<pre id="event">(.*?)</pre>', re.S)
    assert event.search(start).group(1) != event.search(after).group(1)
    def classes(dom_text, name):
        return re.findall(rf'class="node [^"]*\b{name}\b', dom_text)

    assert len(classes(after, "done")) == 2 and len(classes(after, "current")) == 1
    assert len(classes(end, "done")) == steps and classes(end, "current") == []
    assert classes(start, "hasgrad") != [] and len(classes(end, "hasgrad")) > len(classes(start, "hasgrad"))
