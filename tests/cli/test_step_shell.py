"""`tinygrad-rnn step`: the pdb-like prompt, driven by piped commands."""

import io
import re
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import viz
from tinygrad_rnn import cli
from tinygrad_rnn.cli.step import builtin_model, shell
from tinygrad_rnn.stepper import BackwardStepper

ROOT = Path(__file__).resolve().parents[2]


def run_cli(monkeypatch, capsys, argv, commands):
    monkeypatch.setattr(sys, "stdin", io.StringIO(commands))
    code = cli.main(["step", *argv])
    return code, capsys.readouterr().out


def test_piped_session_through_a_subprocess():
    commands = "n 3\nu t1\np weight_hh_l0\nb\nw\nzzz\nc\nq\n"
    done = subprocess.run(
        [sys.executable, "-m", "tinygrad_rnn", "step", "--steps", "3"],
        input=commands, capture_output=True, text=True, cwd=ROOT, timeout=60,
    )
    out = done.stdout
    assert done.returncode == 0, done.stderr
    assert "(step) n 3\n" in out  # piped commands are echoed after the prompt
    assert "local rule d tanh(x)/dx = 1 - tanh(x)^2" in out
    assert "dL/dW_hhᵀ += … (W_hh's contribution 2 of 3, from t=2)" in out
    assert "contributions so far: 2 of 3" in out and "being collected in dL/dW_hhᵀ = " in out
    assert "undid step" in out
    assert "unknown command or wrong arguments: 'zzz'" in out and "u SCOPE" in out
    assert "dL/dW_hhᵀ += … (W_hh's contribution 3 of 3, from t=1)" in out
    assert "W_hh.grad += … (3 of 3 contributions, collected in W_hhᵀ)" in out
    assert "finished: " in out


def test_eof_without_quit_exits_cleanly(monkeypatch, capsys):
    code, out = run_cli(monkeypatch, capsys, ["--cell", "gru", "--steps", "2"], "n\nw")
    assert code == 0
    assert "(step) w\n" in out and "step 1 of" in out


@pytest.mark.parametrize("cell, gates", [("lstm", "forget_gate"), ("gru", "update_gate")])
def test_built_in_cells_follow_the_scope_convention(monkeypatch, capsys, cell, gates):
    code, out = run_cli(monkeypatch, capsys, ["--cell", cell, "--steps", "2"], f"u {gates}\nl\nq\n")
    assert code == 0
    assert f"next: sigmoid at {cell}/l0/fwd/t2/{gates}" in out
    listing = out.split("(step) l\n")[1].splitlines()
    assert listing[0].startswith(f"next -> sigmoid -> {gates[0]}₂ ")
    assert listing[0].endswith(f"{cell}/l0/fwd/t2/{gates}")


def test_ctrl_c_at_the_prompt_exits_with_code_0():
    class Interrupting(io.StringIO):
        def readline(self, *args):
            raise KeyboardInterrupt

    out = io.StringIO()
    assert shell(BackwardStepper(builtin_model("rnn", 2)), Interrupting(), out) == 0
    assert out.getvalue().startswith("<BackwardStepper step 0/")


def test_print_unknown_names_and_bad_counts_keep_the_prompt_going(monkeypatch, capsys):
    code, out = run_cli(monkeypatch, capsys, [], "p nothing\nn x\nb\nu t7\nn 1000\nn\nq\n")
    assert code == 0
    assert "no tensor named 'nothing'" in out
    assert "n: give a number of steps" in out
    assert "nothing to undo" in out
    assert "run_to('t7'): no pending node" in out
    assert "the backward pass is finished" in out


def test_g_draws_the_current_state_as_svg(monkeypatch, capsys, tmp_path):
    target = tmp_path / "state.svg"
    code, out = run_cli(monkeypatch, capsys, [], f"n 3\ng {target}\ng nope.png\nq\n")
    assert code == 0 and f"wrote {target}" in out and "ending in .svg" in out
    svg = ET.parse(target).getroot()
    classes = [g.get("class", "").split() for g in svg.iter("{http://www.w3.org/2000/svg}g")]
    # current: the step just taken (the third event printed), next: the node step 4 will process
    assert [sum(s in c for c in classes) for s in ("current", "next", "done")] == [1, 1, 2]
    assert "the step just taken" in target.read_text()  # the legend says what current means
    assert "weight_hh_l0" in target.read_text()


def test_script_and_var(monkeypatch, capsys, tmp_path):
    script = tmp_path / "model.py"
    script.write_text(textwrap.dedent("""
        import numpy as np
        import tinygrad_rnn as tr
        W = tr.Parameter(np.array([[0.5, -0.2], [0.1, 0.3]]), name="W")
        h = tr.Tensor(np.ones(2))
        for t in (1, 2):
            with tr.scope(f"t{t}"):
                h = (W @ h).tanh()
        my_loss = h.sum()
        not_a_tensor = 3
    """))
    code, out = run_cli(monkeypatch, capsys, ["--script", str(script), "--var", "my_loss"], "c\np W\n")
    assert code == 0
    assert f"my_loss from {script}" in out
    assert "W.grad += … (contribution 2 of 2, from t=1)" in out and "contributions so far: 2 of 2" in out
    for argv, code, message in [
        (["--var", "loss"], 1, "defines no variable 'loss'; tensors it defines: W, h, my_loss"),
        (["--var", "not_a_tensor"], 1, "is a int, not a tinygrad_rnn Tensor"),
        ([], 1, "defines no variable 'loss'"),  # --var defaults to loss (issue 28)
        (["--var", "my_loss", "--steps", "5"], 2, "--script replaces"),
    ]:
        assert cli.main(["step", "--script", str(script), *argv]) == code
        assert message in capsys.readouterr().err
    assert cli.main(["step", "--script", str(tmp_path / "missing.py"), "--var", "x"]) == 1
    assert "no such file" in capsys.readouterr().err


def test_html_option_writes_the_player(monkeypatch, capsys, tmp_path):
    target = tmp_path / "player.html"
    code, out = run_cli(monkeypatch, capsys, ["--steps", "2", "--html", str(target)], "")
    assert code == 0 and "(step)" not in out
    ET.parse(target)
    assert "weight_hh_l0" in target.read_text()


def test_html_for_a_long_unroll_opens_in_the_cells_view(tmp_path, capsys):
    page = tmp_path / "long.html"
    assert cli.main(["step", "--steps", "200", "--html", str(page)]) == 0
    text = page.read_text()
    start = re.search(r'"view":\s*"(\w+)"', text).group(1)
    assert start == "cells" and 'data-view="cells"' in text  # it opens in the cells view...
    assert '<div class="tgr-canvas" data-view="ops">' in text  # ...with the tiled ops view one click away
    assert "wrote" in capsys.readouterr().out


def test_the_ops_view_of_a_long_unroll_is_drawn_tiled(tmp_path):
    # a regular unroll is laid out one step at a time and tiled, so its ops view is no longer refused
    page = viz.backward_player(builtin_model("rnn", 300), tmp_path / "ops.html", view="ops").read_text()
    assert 'data-id="op0"' in page and 'data-id="op900"' in page  # the first op and one of step 300


@pytest.mark.parametrize("cell, named", [("lstm", ("dL/dc₂ += dL/d(f₃⊙c₂) ⊙ f₃ = [", "sᶠ₃", "o₃")),
                                         ("gru", ("dL/dsⁿ₃ = dL/dn₃ ⊙ (1 − n₃²) = [", "u₃", "r₃"))])
def test_the_shell_speaks_the_notes_names_and_never_engine_ids(cell, named):
    """A subprocess session over LSTM / GRU T=3: every line names tensors as the notes do, no add#39."""
    commands = "n 12\nl\nw\np c2\np h2\nu t2\nc\nq\n"
    done = subprocess.run(
        [sys.executable, "-m", "tinygrad_rnn", "step", "--cell", cell, "--steps", "3"],
        input=commands, capture_output=True, text=True, cwd=ROOT, timeout=60,
    )
    out = done.stdout
    assert done.returncode == 0, done.stderr
    ids = [line for line in out.splitlines() if re.search(r"\w+#\d+", line) and "(node #" not in line]
    assert ids == []  # the stepper's repr may add "(node #16)" as a debugging detail, nothing else
    assert all(n in out for n in named)
    assert "stopped just before the first node of t2: " in out
    assert "next -> " in out and "h₂: intermediate" in out
