"""The chapters in notebooks/ run top to bottom in a real Jupyter kernel and show what a reader expects.

Each ``notebooks/NN_topic.py`` (a jupytext percent script) is turned into a notebook, executed with
nbclient in a kernel running this very interpreter (a kernelspec written for the test, so no other
Python on the machine is picked up), and its outputs are checked: the pictures are there, the
explorer's HTML is there and works in a browser, the derivation is Markdown with LaTeX, and every
check is below its tolerance.
"""

import json
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

import pytest

jupytext = pytest.importorskip("jupytext", reason="jupytext is not installed (the dev extra)")
nbclient = pytest.importorskip("nbclient", reason="nbclient is not installed (the dev extra)")
pytest.importorskip("ipykernel", reason="ipykernel is not installed (the dev extra)")

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted(ROOT.glob("notebooks/[0-9][0-9]_*.py"))
KERNEL = "tinygrad-rnn-tests"


@pytest.fixture(scope="module")
def executed():
    """Every chapter executed once: {file name: (notebook, seconds)}."""
    folder = Path(tempfile.mkdtemp())
    spec = folder / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "tinygrad-rnn tests", "language": "python",
    }))
    saved = {key: os.environ.get(key) for key in ("JUPYTER_PATH", "PYTHONPATH", "MPLBACKEND")}
    os.environ["JUPYTER_PATH"] = str(folder)
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), saved["PYTHONPATH"]]))
    results = {}
    try:
        for path in NOTEBOOKS:
            notebook = jupytext.read(path)
            started = time.perf_counter()
            nbclient.NotebookClient(notebook, kernel_name=KERNEL, timeout=600,
                                    resources={"metadata": {"path": str(ROOT)}}).execute()
            results[path.name] = (notebook, time.perf_counter() - started)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        shutil.rmtree(folder, ignore_errors=True)
    return results


def outputs(notebook, mime=None):
    """Every output of every code cell, or the data of one MIME type."""
    found = [out for cell in notebook.cells if cell.cell_type == "code" for out in cell.outputs]
    if mime is None:
        return found
    return [out["data"][mime] for out in found if mime in out.get("data", {})]


def printed(notebook):
    text = "".join(out.get("text", "") for out in outputs(notebook) if out.get("output_type") == "stream")
    return text.replace("\r\n", "\n")  # a shell command in a cell prints through a terminal


def test_the_chapters_are_numbered_in_order_and_each_runs_without_an_error(executed):
    numbers = [int(p.name[:2]) for p in NOTEBOOKS]
    assert numbers == list(range(1, len(numbers) + 1)) and len(numbers) >= 6
    for name, (notebook, _) in executed.items():
        errors = [out for out in outputs(notebook) if out.get("output_type") == "error"]
        assert errors == [], name
        assert all(out.get("name") != "stderr" for out in outputs(notebook)), (name, printed(notebook))


def test_chapter_1_shows_the_tensor_with_its_graph_and_the_graph_as_data(executed):
    notebook, _ = executed["01_engine.py"]
    html = outputs(notebook, "text/html")
    tensor = next(h for h in html if h.startswith("<div") and "Tensor &#x27;loss&#x27;" in h)
    assert "<svg" in tensor and "grad" in tensor and "W_hh" in tensor
    graph = next(h for h in html if "scopes:" in h)
    assert "<svg" in graph and "scopes: t1, t2, t3" in graph
    assert any("<svg" in svg for svg in outputs(notebook, "image/svg+xml"))  # viz.draw inline
    assert "True" in outputs(notebook, "text/plain")  # gradcheck passed


def test_chapter_2_checks_that_the_contributions_over_t_sum_to_w_hh_grad(executed):
    svgs = outputs(executed["02_unrolled_rnn.py"][0], "image/svg+xml")
    assert "scope time rolled" in svgs[0] and "\u00d7 4" in svgs[0]  # the rolled cell first, its loop round 4 times
    text = printed(executed["02_unrolled_rnn.py"][0])
    assert "contributions from t = [1, 2, 3, 4]" in text
    error = float(re.search(r"max \|sum of pieces\^T - W_hh.grad\| = (\S+)", text).group(1))
    assert error < 1e-12
    norms = [float(v) for v in re.findall(r"t = \d: \|\|piece\|\| = (\S+)", text)]
    assert len(norms) == 4 and norms[0] < norms[-1]  # the early steps' pieces have faded


def test_chapter_3_shows_the_explorer_and_the_live_widget_drives_the_stepper(executed):
    notebook, _ = executed["03_stepping.py"]
    explorers = [h for h in outputs(notebook, "text/html") if 'class="tgr-explorer"' in h]
    assert len(explorers) == 1 and "<svg" in explorers[0] and 'class="tgr-data"' in explorers[0]
    widgets = outputs(notebook, "application/vnd.jupyter.widget-view+json")
    assert len(widgets) == 1 and widgets[0]["model_id"]
    text = printed(notebook)
    assert re.search(r"frames for (\d+) steps; the stepper is still at 4", text)
    assert re.search(r"step \d+ of \d+ done; next: \S+ at lstm/l0/fwd/t2/", text)  # after run_to("t2")
    assert "(step) n 2\nstep 1 of " in text and "(step) w\nstep 2 of " in text  # the shell, piped, in a cell


def test_chapter_4_derives_the_closed_form_in_latex_and_checks_it_three_ways(executed):
    notebook, _ = executed["04_bptt_symbolic.py"]
    markdown = "\n".join(outputs(notebook, "text/markdown"))
    assert "$$" in markdown and r"\prod_{j=i + 1}^{k}" in markdown and "Proof by induction" in markdown
    assert "| quantity | symbolic | autograd | finite difference | max abs error |" in markdown
    worst = float(re.search(r"worst error: (\S+) \(tolerance 1e-8\)", markdown).group(1))
    assert worst < 1e-8


def test_chapter_5_draws_the_gradient_flow_and_the_lstm_keeps_more_of_it(executed):
    notebook, _ = executed["05_gated_cells.py"]
    svgs = outputs(notebook, "image/svg+xml")
    assert len(svgs) >= 4  # the LSTM graph, the norms against distance, two product tables
    assert any("against the distance from the loss" in s for s in svgs)
    text = printed(notebook)
    ratios = dict(re.findall(r"(RNN|LSTM|GRU)\s+\|\|dL/dh_1\|\| / \|\|dL/dh_T\|\| = (\S+)", text))
    assert all(float(r) < 1e-3 for r in ratios.values()) and len(ratios) == 3  # at init all fade over 40 steps
    carried = dict(re.findall(r"LSTM, forget bias (\d): \|\|dL/dc_1\|\| / \|\|dL/dc_T\|\| = (\S+)", text))
    assert float(carried["0"]) < 1e-3 < 0.5 < float(carried["3"])  # f near 1: the additive path carries it
    check = float(re.search(r"max \|autograd - closed form\| = (\S+)", printed(notebook)).group(1))
    assert check < 1e-12


def test_chapter_5_shows_the_gated_w_hh_derivation_typeset(executed, tmp_path, browser):
    notebook, _ = executed["05_gated_cells.py"]
    html = "".join(h for h in outputs(notebook, "text/html") if "tgr-derivation" in h)
    assert "dL/dW_hh" in html and "additive path" in html  # both derivations, the W_hh check table too
    page = tmp_path / "chapter5.html"
    page.write_text(f'<!doctype html><meta charset="utf-8"><body style="width: 900px">{html}</body>')
    browser.get(page.as_uri())
    sizes = browser.execute_script(
        "return [...document.querySelectorAll('math')].map(m => m.getBoundingClientRect().height);")
    assert len(sizes) > 20 and min(sizes) > 0  # every formula is laid out by the browser
    text = browser.execute_script("return document.body.innerText;")
    assert "\\frac" not in text and "$" not in text and "**" not in text
    assert "B_3 = d(h_3, c_3)/d(h_2, c_2), 4×4" in text  # the LSTM's state Jacobian is 2H × 2H: h and c


def test_chapter_6_trains_and_beats_the_unigram_baseline(executed):
    notebook, _ = executed["06_char_lm.py"]
    assert any("perplexity" in s.lower() for s in outputs(notebook, "image/svg+xml"))
    text = printed(notebook)
    ppl = float(re.search(r"held-out perplexity after \d+ s: (\S+)", text).group(1))
    unigram = float(re.search(r"1-gram baseline: (\S+)", text).group(1))
    assert ppl < unigram
    assert "sample at temperature" in text


def test_chapter_9_prints_the_loop_runs_it_and_ties_it_to_the_recurrence(executed):
    notebook, _ = executed["09_bptt_loop.py"]
    text = printed(notebook)
    # the loop a reader reads: the forward over t, then the reversed loop with its carries
    assert "def training_step(inputs, params):" in text and "for t in range(1, T + 1):" in text
    assert "for t in reversed(range(1, T + 1)):" in text
    assert "dh_next = dhW @ W_hh  # to h_{t - 1}: carried" in text and "dc_next = " in text
    assert float(re.search(r"largest \|run\(\) - backward\(\)\| over 4 parameters = (\S+)", text).group(1)) <= 1e-12
    lines = re.search(r"lines at T = 5: (\d+), at T = 50: (\d+)", text)
    assert lines.group(1) == lines.group(2)
    assert "the generated loop equals backward(): True" in text
    assert "the hand-written loop equals backward(): True" in text
    sums = re.findall(r"(sum_k e_k z_k|sum_t delta_t a_t|the loop's dW_hh)\s+= (\S+)", text)
    assert len(sums) == 3 and max(abs(float(v) - float(sums[0][1])) for _, v in sums) < 1e-12
    assert "a_t = df/dw_h" in text and "Eq(z[k], a[k] + b[k]*z[k - 1])" in text
    loops = [h for h in outputs(notebook, "text/html") if h.startswith("<style>") and 'class="tgr-loop"' in h]
    assert len(loops) == 1 and '<span class="tgr-k">for</span>' in loops[0]  # the loop, highlighted
    # the exercises: the carried line holds b_t delta_t (not z_k), and rnn_backward's dWh is the loop's dW_hh
    assert "the line that carries something from step t to step t - 1: dh_next = dhW @ W_hh" in text
    assert "dh_next is b_t delta_t at every step: True" in text
    mine, loop_dw = map(float, re.search(r"your dWh.T = (\S+); the generated loop's dW_hh = (\S+)", text).groups())
    assert abs(mine - loop_dw) < 1e-12 and "equal to 1e-12: True" in text


def test_chapter_9s_explorer_marks_the_loop_line_of_each_step_in_a_browser(executed, tmp_path, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    notebook, _ = executed["09_bptt_loop.py"]
    html = "".join(outputs(notebook, "text/html"))  # every HTML output of the chapter, as a page shows them
    page = tmp_path / "chapter9.html"
    page.write_text(f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>9</title></head><body>{html}</body>"
                    "</html>", encoding="utf-8")
    browser.get(page.as_uri())
    root = browser.find_element(By.CSS_SELECTOR, ".tgr-explorer")
    assert root.get_attribute("data-position") == "4"  # the stepper was displayed after four steps
    nodes = json.loads(root.find_element(By.CSS_SELECTOR, ".tgr-data").get_attribute("textContent"))["nodes"]
    panel = root.find_element(By.CSS_SELECTOR, ".tgr-loop-panel")
    seen = set()
    for _ in range(12):  # step on; at every tanh of a time step the panel marks the line through tanh, at its t
        node = nodes[int(root.get_attribute("data-current"))]
        step = re.search(r"/t(\d+)(/|$)", node["scope"])
        if node["op"] == "tanh" and step:
            assert panel.find_element(By.CSS_SELECTOR, ".tgr-loop-current").text.strip() == \
                "ds = dh * (1 - h[t] * h[t])"
            assert panel.get_attribute("data-t") == step.group(1)
            assert panel.find_element(By.CSS_SELECTOR, ".tgr-loop-at").text.endswith(f"t = {step.group(1)}")
            seen.add(step.group(1))
        root.send_keys(Keys.ARROW_RIGHT)
    assert len(seen) >= 2  # the same line, at two different t


def test_chapter_10_itemizes_w_hh_and_its_hooks_cut_clip_and_truncate(executed):
    notebook, _ = executed["10_contributions_and_hooks.py"]
    text = printed(notebook)
    assert float(re.search(r"max \|sum of C - W_hh.grad\| = (\S+)", text).group(1)) < 1e-12
    assert "causality: True" in text
    assert "every one has t <= 6 <= t~: True" in text and int(re.search(r"entries removed: (\d+)", text).group(1)) > 0
    assert "rows before the cut unchanged: True" in text and "entries with t > 6 unchanged: True" in text
    assert re.search(r"changed dL/dh₆: norm \S+ -> 0, a change of norm", text)  # the stepper reports the cut
    unclipped, clipped = map(float, re.search(r"\|\|W_hh.grad\|\|: (\S+) unclipped, (\S+) clipped", text).groups())
    assert clipped < unclipped
    assert float(re.search(r"max \|hook - detach\| over W_hh.grad: (\S+)", text).group(1)) == 0
    assert float(re.search(r"max \|truncated - full\| = (\S+)", text).group(1)) > 0.01
    assert "Median reach" in text and len(outputs(notebook, "image/svg+xml")) >= 3
    assert "hidden 1: gradcheck passes the right order: True, the wrong order: True" in text
    assert "hidden 2: gradcheck passes the right order: True, the wrong order: False" in text
    assert "scalars:  b2*b1 - b1*b2 = 0" in text and "J2*J1" in text
    # the exercises: zeroing dL/dh₄ changes exactly the entries with t <= 4 <= t~; doubling it doubles them
    changed = re.search(r"changed entries \(t~, t\): (.+)", text).group(1)
    assert "(4, 2)" in changed and "(12, 4)" in changed and "(3, 2)" not in changed and "(12, 5)" not in changed
    assert "the rule t <= 4 <= t~ (on the entries that were not zero already): True" in text
    assert "the same 27 entries change; each by a factor 2.000000000000 .. 2.000000000000" in text
    assert "every other entry unchanged: True" in text


def test_all_chapters_take_under_two_minutes(executed):
    seconds = sum(s for _, s in executed.values())
    print("notebook seconds:", {name: round(s, 1) for name, (_, s) in executed.items()})
    assert seconds < 120, seconds  # measured 23 s in all on 2 shared cores: fails only far past the 2-minute budget


def test_chapter_3s_explorer_steps_in_a_browser_as_the_rendered_notebook_shows_it(executed, tmp_path, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    notebook, _ = executed["03_stepping.py"]
    html = "".join(outputs(notebook, "text/html"))  # every HTML output of the chapter, as a page shows them
    page = tmp_path / "chapter3.html"
    page.write_text(f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>3</title></head><body>{html}</body>"
                    "</html>")
    browser.get(page.as_uri())
    root = browser.find_element(By.CSS_SELECTOR, ".tgr-explorer")
    start = int(root.get_attribute("data-position"))
    assert start == 4  # the stepper was displayed after four steps
    root.send_keys(Keys.ARROW_RIGHT)
    current = root.find_element(By.CSS_SELECTOR, "g.node.current")
    text = root.find_element(By.CSS_SELECTOR, ".tgr-event").text
    assert text.startswith("step 5 of ") and current.get_attribute("data-id") == "op" + root.get_attribute(
        "data-current")


def test_every_chapter_ends_with_exercises_whose_checks_pass_with_the_reference_solutions(executed):
    for path in NOTEBOOKS:
        source = path.read_text(encoding="utf-8")
        headings = re.findall(r"^# ## (.+)$", source, re.M)
        assert headings and headings[-1] == "Exercises", path.name
        exercises = source[source.index("# ## Exercises"):]
        checks = len(re.findall(r"print\(tr\.exercises\.check\(", exercises))
        if path.name.startswith("11"):
            checks += 2  # the loop over the three fixes: three checks from one line
        text = printed(executed[path.name][0])
        passed = re.findall(r"^(\w+): all \d+ returned gradients match the engine's on 3 random instances", text, re.M)
        assert len(passed) >= checks, (path.name, checks, passed)
        if not path.name.startswith("11"):
            assert " is wrong;" not in text, path.name
    assert "from notebooks.solutions import" in (ROOT / "notebooks/05_gated_cells.py").read_text(encoding="utf-8")


def test_chapter_11_names_the_three_classic_bugs_and_opens_the_explorer_at_each(executed):
    notebook, _ = executed["11_debugging_backprop.py"]
    text = printed(notebook)
    for key in ("dc_prev", "dh_prev", "dx at t=3"):
        assert f"first wrong: {key}\n" in text
    assert "your dc_prev is wrong; the rule is dL/dc_{t-1} = dL/dc_t ⊙ f_t; yours is dL/dc_t alone: the factor f_t " \
           "is missing" in text
    assert "the transpose of W_h is missing" in text and "the gradient carried back from step t+1" in text
    assert "your dWx has shape (4, 5), expected (5, 4), the shape of W_x" in text
    assert "first wrong: db (shape)" in text
    explorers = [h for h in outputs(notebook, "text/html") if 'class="tgr-explorer"' in h]
    titles = [re.search(r'<div class="tgr-title">([^<]*)</div>', h).group(1) for h in explorers]
    assert [t.split(";")[0] for t in titles] == [
        "lstm_step_backward: dc_prev is wrong", "rnn_step_backward: dh_prev is wrong",
        "rnn_backward: dx at t=3 is wrong"]
    assert "mul at lstm/t1/cell_state" in titles[0] and "matmul at rnn/t3" in titles[2]


def test_chapter_11s_explorers_show_each_wrong_gradient_being_completed_in_a_browser(executed, tmp_path, browser):
    from selenium.webdriver.common.by import By

    notebook, _ = executed["11_debugging_backprop.py"]
    page = tmp_path / "chapter11.html"
    page.write_text("<!DOCTYPE html><html><head><meta charset='utf-8'><title>11</title></head><body>"
                    + "".join(outputs(notebook, "text/html")) + "</body></html>", encoding="utf-8")
    browser.get(page.as_uri())
    roots = browser.find_elements(By.CSS_SELECTOR, ".tgr-explorer")
    assert len(roots) == 3
    for root, completed in zip(roots, ("c₀.grad is now", "h₀.grad is now", "x₃.grad is now")):
        browser.execute_script("arguments[0].scrollIntoView()", root)
        assert completed in root.find_element(By.CSS_SELECTOR, ".tgr-event").text
        current = root.find_element(By.CSS_SELECTOR, "g.node.current")
        inside = browser.execute_script(
            "var r = arguments[0].getBoundingClientRect(), v = arguments[1].getBoundingClientRect();"
            "return r.left >= v.left && r.right <= v.right && r.top >= v.top && r.bottom <= v.bottom;",
            current, root.find_element(By.CSS_SELECTOR, ".tgr-viewport"))
        assert inside, completed


def test_chapter_7_writes_the_state_as_h_never_s(executed):
    # issue 22: s_t is the Elman pre-activation (the RTRL section's ∂s_t/∂θ), so the spectra section may not
    # call the state s; it wrote B_t = ∂s_t/∂s_{t-1} and bounded by ‖∂L/∂s_T‖
    notebook, _ = executed["07_recurrences.py"]
    spectra = next(md for md in outputs(notebook, "text/markdown") if "Jacobian spectra per step" in md)
    assert r"$B_t = \partial h_t/\partial h_{t-1}$ for the RNN and GRU, whose state is $h_t$" in spectra
    assert r"$B_t = \partial (h_t, c_t)/\partial (h_{t-1}, c_{t-1})$ for the LSTM" in spectra
    prose = "".join(cell.source for cell in notebook.cells if cell.cell_type == "markdown")
    assert r"\partial L/\partial h_T" in prose
    for text in (spectra, prose):
        assert not re.search(r"\\partial s_[tT{]|\bs_\{t-1\}", text), re.search(r"\\partial s_[tT{]", text)
