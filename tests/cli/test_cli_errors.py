"""The command line never answers an ordinary mistake with a traceback (issue 14, section 4).

Every case runs ``python -m tinygrad_rnn ...`` as a subprocess, as a user would,
and checks the exit code (1: a problem found while running, 2: a bad option),
that stderr has no traceback, and that the message names the problem. The
subprocesses are started together, so the file costs about as much as its
slowest case. The shell is driven through its stdin, and once through a
pseudo-terminal for readline and pdb's "empty line repeats".
"""

from __future__ import annotations

import io
import json
import os
import pty
import re
import select
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

import tinygrad_rnn as tr
from tinygrad_rnn import cli
from tinygrad_rnn.files import write_atomic
from tinygrad_rnn.stories.common import save_results

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = """
import numpy as np
import tinygrad_rnn as tr
W = tr.Tensor(np.ones((2, 2)), requires_grad=True, name="W")
loss = (W @ tr.Tensor(np.ones(2))).tanh().sum()
"""

# name -> (arguments, stdin); "{d}" is a scratch folder holding a_file (a file), empty.txt,
# latin1.txt (not UTF-8) and model.py (a script computing `loss`).
CASES: dict[str, tuple[list[str], str]] = {
    "render_file_in_the_way": (["render", "--out", "{d}/a_file/x.svg"], ""),
    "step_html_file_in_the_way": (["step", "--html", "{d}/a_file/p.html"], ""),
    "render_bad_suffix": (["render", "--out", "{d}/x.txt"], ""),
    "tour_out_is_a_file": (["tour", "--quick", "--out", "{d}/a_file"], ""),
    "train_out_is_a_file": (["train", "adding", "--steps", "5", "--out", "{d}/a_file"], ""),
    "seed_demo": (["demo", "--seed", "-1"], ""),
    "seed_render": (["render", "--seed", "-1", "--out", "{d}/s.svg"], ""),
    "seed_step": (["step", "--seed", "-1"], ""),
    "seed_tour": (["tour", "--seed", "-1", "--out", "{d}/tour"], ""),
    "seed_train": (["train", "sine", "--seed", "-1", "--out", "{d}/sine"], ""),
    "text_missing": (["train", "char-lm", "--text", "{d}/nope.txt", "--out", "{d}/lm"], ""),
    "text_empty": (["train", "char-lm", "--text", "{d}/empty.txt", "--out", "{d}/lm"], ""),
    "text_not_utf8": (["train", "char-lm", "--text", "{d}/latin1.txt", "--out", "{d}/lm"], ""),
    "render_unknown_highlight": (["render", "--highlight", "nope", "--out", "{d}/h.svg"], ""),
    "render_too_large": (["render", "--steps", "40", "--layout", "full", "--out", "{d}/big.svg"], ""),
    "render_max_nodes_with_cells": (["render", "--view", "cells", "--max-nodes", "3", "--out", "{d}/c.svg"], ""),
    "step_script_with_steps": (["step", "--script", "{d}/model.py", "--var", "loss", "--steps", "4"], ""),
    "bench_threads_without_torch": (["bench", "--threads", "2", "--no-torch"], ""),
    "render_into_missing_folder": (["render", "--cell", "rnn", "--steps", "2", "--out", "{d}/new/deeper/r.svg"], ""),
    "step_html_into_missing_folder": (["step", "--steps", "2", "--html", "{d}/new2/p.html"], ""),
    "version": (["--version"], ""),
    "demo_long": (["demo", "--steps", "2000"], ""),
    "demo_long_full": (["demo", "--steps", "2000", "--full"], ""),
    "shell_bad_g": (["step"], "g {d}/a_file/x.svg\ng {d}/g_dir\nn\nq\n"),
    "shell_long_forms": (["step"], "next\nstep 2\nwhere\nlist\nback\nprint weight_hh_l0\ncontinue\nhelp\nexit\nn\n"),
    "shell_long_c": (["step", "--steps", "2000"], "l\nc\nq\n"),
    "shell_long_c_full": (["step", "--steps", "2000", "--full"], "c\nq\n"),
}


@dataclass
class Done:
    code: int
    out: str
    err: str


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("cli_errors")
    (d / "a_file").write_text("keep me\n")
    (d / "empty.txt").write_text("")
    (d / "latin1.txt").write_bytes("caf\xe9 au lait, ".encode("latin-1") * 50)
    (d / "model.py").write_text(SCRIPT)
    (d / "g_dir").mkdir()
    return d


@pytest.fixture(scope="module")
def runs(scratch) -> dict[str, Done]:
    started = {
        name: subprocess.Popen(
            [sys.executable, "-m", "tinygrad_rnn", *(a.format(d=scratch) for a in argv)],
            cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for name, (argv, _) in CASES.items()
    }
    done = {}
    for name, process in started.items():
        out, err = process.communicate(CASES[name][1].format(d=scratch), timeout=300)
        done[name] = Done(process.returncode, out, err)
    return done


# name -> (exit code, words the message must contain)
REFUSED = {
    "render_file_in_the_way": (2, ["--out", "a_file", "is a file, not a folder"]),
    "step_html_file_in_the_way": (2, ["--html", "a_file", "is a file, not a folder"]),
    "render_bad_suffix": (2, ["--out", "x.txt", "does not end in .svg"]),
    "tour_out_is_a_file": (2, ["--out", "a_file", "is a file, not a folder"]),
    "train_out_is_a_file": (2, ["--out", "a_file", "is a file, not a folder"]),
    "seed_demo": (2, ["--seed", "-1 is negative"]),
    "seed_render": (2, ["--seed", "-1 is negative"]),
    "seed_step": (2, ["--seed", "-1 is negative"]),
    "seed_tour": (2, ["--seed", "-1 is negative"]),
    "seed_train": (2, ["--seed", "-1 is negative"]),
    "text_missing": (1, ["--text", "nope.txt", "no text file"]),
    "text_empty": (1, ["--text", "empty.txt", "is empty"]),
    "text_not_utf8": (1, ["--text", "latin1.txt", "is not UTF-8"]),
    "render_unknown_highlight": (1, ["no tensor named 'nope'", "weight_hh_l0"]),
    "render_too_large": (1, ["more than --max-nodes 500", "--view cells", "--max-nodes"]),
    "render_max_nodes_with_cells": (2, ["--max-nodes", "--view cells"]),
    "step_script_with_steps": (2, ["--script", "--steps", "leave them out"]),
    "bench_threads_without_torch": (2, ["--threads", "--no-torch"]),
}


@pytest.mark.parametrize("name", REFUSED)
def test_an_ordinary_mistake_gets_one_clear_line_and_no_traceback(runs, name):
    done = runs[name]
    code, words = REFUSED[name]
    assert done.code == code, done.err
    assert "Traceback" not in done.err
    message = done.err.strip().splitlines()[-1]
    for word in words:
        assert word in message, message
    if code == 1:  # a problem found while running: exactly one line
        assert done.err.count("\n") == 1


def test_library_spellings_never_reach_the_command_line(runs):
    for name in REFUSED:
        err = runs[name].err
        assert "view='cells'" not in err and "max_nodes=" not in err, (name, err)
        assert "render: render:" not in err and "draw:" not in err, (name, err)


def test_outputs_are_checked_before_any_work(runs, scratch):
    for name in ("tour_out_is_a_file", "train_out_is_a_file"):
        assert runs[name].out == "", runs[name].out  # no progress line: nothing was trained
    assert (scratch / "a_file").read_text() == "keep me\n"
    assert not (scratch / "big.html").exists() and not (scratch / "big.svg").exists()


def test_missing_folders_are_made_for_outputs(runs, scratch):
    assert runs["render_into_missing_folder"].code == 0, runs["render_into_missing_folder"].err
    svg = ET.parse(scratch / "new" / "deeper" / "r.svg").getroot()
    assert "weight_hh_l0" in ET.tostring(svg, encoding="unicode")
    assert runs["step_html_into_missing_folder"].code == 0, runs["step_html_into_missing_folder"].err
    assert "weight_hh_l0" in (scratch / "new2" / "p.html").read_text(encoding="utf-8")
    assert [p.name for p in (scratch / "new" / "deeper").iterdir()] == ["r.svg"]  # no temporary file left


def test_version_matches_the_package(runs):
    declared = re.search(r'^version = "([^"]+)"', (ROOT / "pyproject.toml").read_text(), flags=re.M).group(1)
    assert runs["version"].code == 0 and runs["version"].out.strip() == f"tinygrad-rnn {declared}"


def test_huge_lines_are_cut_with_a_note_saying_how_to_see_all(runs):
    short, full = runs["demo_long"], runs["demo_long_full"]
    assert short.code == 0 and full.code == 0
    assert max(map(len, short.out.splitlines())) < 400
    assert "characters; run with --full to see all]" in short.out
    assert "rnn/t2000" in full.out and "rnn/t2000" not in short.out
    c_short, c_full = runs["shell_long_c"], runs["shell_long_c_full"]
    assert c_short.code == 0 and max(map(len, c_short.out.splitlines())) < 400
    assert "characters; start step with --full to see all]" in c_short.out
    assert "W_ih x₂₀₀₀+b" in c_full.out and "W_ih x₂₀₀₀+b" not in c_short.out
    # 6,000 pending nodes and 6,000 steps: the first and last 20 of each, and how many are left out
    assert "… 5,968 more pending nodes not shown (start step with --full to see all) …" in c_short.out
    assert "… 5,968 more steps not shown (start step with --full to see all) …" in c_short.out
    assert len(c_short.out.splitlines()) < 120 and len(c_full.out.splitlines()) > 6000
    assert "step 6008 of 6008" in c_short.out and "finished: 6008 of 6008 steps" in c_short.out


def test_the_shell_survives_a_drawing_it_cannot_write(runs, scratch):
    done = runs["shell_bad_g"]
    assert done.code == 0 and "Traceback" not in done.err, done.err
    assert "g: cannot write" in done.out and "a_file' is a file, not a folder" in done.out
    assert "g: give a file name ending in .svg" in done.out  # g_dir (a folder) has no .svg suffix
    after = done.out.split("(step) n\n", 1)[1]
    assert after.startswith("step 1 of 17: sum -> loss")  # the session went on


def test_the_shell_takes_pdb_long_forms(runs):
    out = runs["shell_long_forms"].out
    assert runs["shell_long_forms"].code == 0
    assert "(step) next\nstep 1 of 17" in out
    assert "(step) step 2\nstep 2 of 17" in out and "step 3 of 17" in out
    assert "(step) where\nstep 3 of 17 done" in out
    assert "(step) list\nnext -> " in out
    assert "(step) back\nundid step 3" in out
    assert "(step) print weight_hh_l0\nW_hh (weight_hh_l0): parameter, shape (2, 2)" in out
    assert "finished: 17 of 17 steps" in out
    assert "The long forms work too" in out
    assert out.rstrip().endswith("(step) exit")  # exit quits: the n after it never ran


def _read_until(fd: int, pattern: str, seen: list[str], timeout: float = 60) -> str:
    """Read the pseudo-terminal until ``pattern`` appears in what came after ``seen``."""
    deadline = time.monotonic() + timeout
    buffer = ""
    while re.search(pattern, buffer) is None:
        left = deadline - time.monotonic()
        assert left > 0, f"no {pattern!r} in {buffer!r}"
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            try:
                buffer += os.read(fd, 65536).decode("utf-8", "replace")
            except OSError:  # the child closed the terminal
                break
    seen.append(buffer)
    return buffer


def test_at_a_terminal_empty_line_repeats_and_arrow_up_recalls():
    master, slave = pty.openpty()
    env = {**os.environ, "TERM": "xterm", "INPUTRC": os.devnull}
    child = subprocess.Popen([sys.executable, "-m", "tinygrad_rnn", "step"], cwd=ROOT, env=env,
                             stdin=slave, stdout=slave, stderr=slave, close_fds=True)
    os.close(slave)
    seen: list[str] = []
    try:
        _read_until(master, r"\(step\) ", seen)
        os.write(master, b"n\r")
        _read_until(master, r"step 1 of 17[^\n]*\n[\s\S]*\(step\) ", seen)
        os.write(master, b"\r")  # an empty line: n again
        _read_until(master, r"step 2 of 17[^\n]*\n[\s\S]*\(step\) ", seen)
        os.write(master, b"w\r")
        _read_until(master, r"step 2 of 17 done[\s\S]*\(step\) ", seen)
        os.write(master, b"\x1b[A\x1b[A\r")  # arrow up twice: readline's history gives back "n"
        _read_until(master, r"step 3 of 17[^\n]*\n[\s\S]*\(step\) ", seen)
        os.write(master, b"q\r")
        assert child.wait(timeout=60) == 0
    finally:
        if child.poll() is None:
            child.kill()
        os.close(master)
    assert "Traceback" not in "".join(seen)


def test_in_a_notebook_kernel_the_shell_points_to_viz_explore():
    import nbclient
    import nbformat

    cell = (f"import sys\nsys.path.insert(0, {str(ROOT)!r})\n"
            "from tinygrad_rnn import cli\nprint('exit', cli.main(['step']))")
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(cell)])
    nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3").execute()
    text = "".join(o.get("text", "") for o in notebook.cells[0].outputs)
    assert "viz.explore(loss)" in text and "exit 0" in text
    assert "(step)" not in text  # no prompt waiting for input that cannot come


def test_an_internal_bug_still_shows_its_traceback(monkeypatch):
    from tinygrad_rnn.cli import demo

    def broken(args):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(demo, "run", broken)
    with pytest.raises(ZeroDivisionError):
        cli.main(["demo"])


def test_the_shell_reports_an_internal_bug_and_goes_on(monkeypatch, capsys):
    from tinygrad_rnn.cli import step
    from tinygrad_rnn.stepper import BackwardStepper

    stepper = BackwardStepper(step.builtin_model("rnn", 2))
    monkeypatch.setattr(BackwardStepper, "where", lambda self: 1 / 0)
    out = io.StringIO()
    assert step.execute(stepper, "w", out) is True
    assert step.execute(stepper, "n", out) is True
    assert "that is a bug in tinygrad-rnn" in out.getvalue() and "step 1 of" in out.getvalue()
    assert "ZeroDivisionError" in capsys.readouterr().err


def test_ctrl_c_during_a_command_comes_back_to_the_prompt_at_a_whole_step(monkeypatch):
    from tinygrad_rnn.backward import BackwardPass
    from tinygrad_rnn.cli import step
    from tinygrad_rnn.stepper import BackwardStepper

    stepper = BackwardStepper(step.builtin_model("rnn", 3))
    engine_step, calls = BackwardPass.step, []

    def interrupted_in_the_fifth(self):  # the engine has taken step 5, the stepper has not recorded it
        result = engine_step(self)
        calls.append(1)
        if len(calls) == 5:
            raise KeyboardInterrupt
        return result

    monkeypatch.setattr(BackwardPass, "step", interrupted_in_the_fifth)
    out = io.StringIO()
    assert step.execute(stepper, "c", out) is True
    assert "interrupted: back at step 4 of 17" in out.getvalue()
    monkeypatch.setattr(BackwardPass, "step", engine_step)
    step.execute(stepper, "c", out)
    fresh = BackwardStepper(step.builtin_model("rnn", 3))
    fresh.run()
    assert [e.index for e in stepper.events] == [e.index for e in fresh.events]
    assert "that is a bug" not in out.getvalue() and "finished: 17 of 17 steps" in out.getvalue()
    for rec, ref in zip(stepper.graph.tensors.values(), fresh.graph.tensors.values()):
        if ref.producer is None and ref.tensor.requires_grad:
            np.testing.assert_array_equal(rec.tensor.grad, ref.tensor.grad)  # as if never interrupted


# Files: atomic writes, and lone surrogates in names (issue 14, section 6).


def test_an_interrupted_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "results.json"
    save_results(tmp_path, "results", {"loss": np.float64(0.5)})
    before = target.read_text()

    def interrupted(fd):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        save_results(tmp_path, "results", {"loss": 0.25})
    assert target.read_text() == before and json.loads(before) == {"loss": 0.5}
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]


def test_written_files_get_ordinary_permissions(tmp_path):
    path = write_atomic(tmp_path / "page.html", "<p>hi</p>")
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask  # readable by a web server, as write_text makes it


def test_an_output_path_through_a_file_is_refused_by_name(tmp_path):
    import viz

    (tmp_path / "a_file").write_text("x")
    loss = (tr.Tensor(np.ones(2), requires_grad=True, name="w") * 2).sum()
    with pytest.raises(NotADirectoryError, match="a_file' is a file, not a folder; choose another path"):
        viz.render(loss, tmp_path / "a_file" / "g.dot")
    assert viz.render(loss, tmp_path / "made" / "g.dot").read_text().startswith("digraph")


@pytest.fixture
def surrogate_loss():
    W = tr.Tensor(np.ones((2, 2)), requires_grad=True, name="W\ud800")
    with tr.scope("t\udcff1"):
        loss = (W @ tr.Tensor(np.ones(2))).tanh().sum()
    loss.backward()
    return loss


@pytest.mark.parametrize("suffix", [".dot", ".svg", ".png"])
def test_a_lone_surrogate_in_a_name_is_drawn_as_the_replacement_character(tmp_path, surrogate_loss, suffix):
    import viz

    path = viz.render(viz.draw(surrogate_loss, values=True, grads=True), tmp_path / f"g{suffix}")
    data = path.read_bytes()
    if suffix == ".png":
        assert data.startswith(b"\x89PNG")
        return
    text = data.decode("utf-8")
    assert "W\ufffd" in text and "t\ufffd1" in text
    if suffix == ".svg":
        ET.fromstring(data)


def test_a_lone_surrogate_in_the_cells_view_the_player_and_the_shell(tmp_path, surrogate_loss):
    import viz
    from tinygrad_rnn.cli import step
    from tinygrad_rnn.stepper import BackwardStepper

    cells = viz.render(viz.draw(surrogate_loss, view="cells"), tmp_path / "cells.svg")
    ET.parse(cells)
    page = viz.backward_player(surrogate_loss, tmp_path / "player.html").read_text(encoding="utf-8")
    assert "W\ufffd" in page
    out = io.StringIO()
    step.execute(BackwardStepper(surrogate_loss), "c", out)
    out.getvalue().encode("utf-8")  # what a terminal would be sent: valid UTF-8
    assert "W\ufffd.grad += " in out.getvalue()
