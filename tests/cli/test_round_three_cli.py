"""The command line, round three (issue 28): sizes with bounds that say why, finite floats,
story messages with the command's prefix, and an empty --out. Every case is a subprocess, as a
user runs it; none may print a traceback, and each must be refused at once (no work first)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# name -> (arguments, exit code, words the one-line message must contain)
CASES: dict[str, tuple[list[str], int, list[str]]] = {
    "demo_hidden": (["demo", "--hidden", "100000"], 2, ["--hidden", "at most 1,024"]),
    "char_lm_hidden": (["train", "char-lm", "--hidden", "100000"], 2, ["--hidden", "at most 4,096", "GB"]),
    "adding_lengths": (["train", "adding", "--lengths", "100000"], 2, ["--lengths", "at most 2,000", "GB"]),
    "rtrl_steps": (["derive", "--rtrl", "--steps", "100000"], 2, ["--steps", "at most 5,000"]),
    "difference_steps": (["derive", "--difference", "--steps", "100000"], 2, ["--steps", "at most 5,000"]),
    "render_steps": (["render", "--steps", "100000"], 2, ["--steps", "at most 2,000", "--view cells", "overview"]),
    "step_steps": (["step", "--steps", "100000"], 2, ["--steps", "at most 10,000"]),
    "tour_steps": (["tour", "--steps", "100000"], 2, ["--steps", "at most 20"]),
    "sine_noise_nan": (["train", "sine", "--noise", "nan"], 2, ["--noise", "nan is not a finite number"]),
    "gain_nan": (["train", "gradient-flow", "--gain", "nan"], 2, ["--gain", "nan is not a finite number"]),
    "start_nan": (["train", "error-surface", "--start", "nan", "nan"], 2, ["--start", "not a finite number"]),
    "lr_inf": (["train", "adding", "--lr", "inf"], 2, ["--lr", "inf is not a finite number"]),
    "seq2seq_digits_19": (["train", "seq2seq", "--digits", "19"], 2, ["--digits", "at most 18", "int64"]),
    "seq2seq_add_digits_10": (["train", "seq2seq", "--task", "add", "--digits", "10"], 1,
                              ["tinygrad-rnn train:", "--digits 10", "at most 9"]),
    "story_message_prefix": (["train", "sine", "--noise", "-1"], 1, ["tinygrad-rnn train:", "--noise"]),
    "tour_out_empty": (["tour", "--quick", "--out", ""], 2, ["--out", "empty"]),
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    cwd = tmp_path_factory.mktemp("round_three")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    start = time.monotonic()
    started = {
        name: subprocess.Popen([sys.executable, "-m", "tinygrad_rnn", *argv], cwd=cwd, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for name, (argv, _, _) in CASES.items()
    }
    done = {name: (p.communicate(timeout=120), p.returncode) for name, p in started.items()}
    return done, time.monotonic() - start, cwd


@pytest.mark.parametrize("name", CASES)
def test_refused_in_one_line_naming_the_option_and_the_cost(runs, name):
    done, _, _ = runs
    (out, err), code = done[name]
    expected_code, words = CASES[name][1], CASES[name][2]
    assert "Traceback" not in err, err
    assert code == expected_code, err
    last = err.strip().splitlines()[-1]
    for word in words:
        assert word in last, last


def test_every_refusal_comes_before_any_work(runs):
    _, seconds, cwd = runs
    assert seconds < 60  # all of them together: nothing was trained, drawn or allocated first
    assert list(cwd.iterdir()) == []  # and nothing was written (the empty --out wrote no tour here)


SHELL = "p\ng\nu\nn 0\ng {d}/nope/deeper/x.svg\ng {d}/one_new/x.svg\nq\n"


def test_the_step_shell_names_what_a_bare_command_needs_and_creates_at_most_one_folder(tmp_path):
    done = subprocess.run([sys.executable, "-m", "tinygrad_rnn", "step", "--steps", "2"], cwd=tmp_path,
                          input=SHELL.format(d=tmp_path), capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    out = done.stdout
    assert "p: give a tensor name" in out and "g: give a file name ending in .svg" in out
    assert "u: give a scope or tensor" in out
    assert "unknown command" not in out  # no wall of help for a bare command
    assert "n: give a number of steps of at least 1" in out and "step(n)" not in out
    assert "does not exist (g makes at most one new folder)" in out
    assert not (tmp_path / "nope").exists()
    assert (tmp_path / "one_new" / "x.svg").is_file()  # one missing folder is still made


def test_step_script_takes_loss_as_the_default_variable(tmp_path):
    script = tmp_path / "model.py"
    script.write_text("import tinygrad_rnn as tr\nW = tr.Tensor([[0.5]], requires_grad=True, name='W')\n"
                      "loss = (W * 2.0).tanh().sum()\n")
    done = subprocess.run([sys.executable, "-m", "tinygrad_rnn", "step", "--script", str(script)], cwd=tmp_path,
                          input="c\nq\n", capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    assert f"loss from {script}" in done.stdout


def test_toy_lstm_help_does_not_claim_graphviz_is_needed():
    done = subprocess.run([sys.executable, "-m", "tinygrad_rnn", "train", "toy-lstm", "--help"],
                          capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0 and "--no-picture" in done.stdout
    assert "Graphviz" not in done.stdout


FULL_DISK = """
import errno, sys
import tinygrad_rnn.files as files

def full(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")

files._replace_with = full
from tinygrad_rnn.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize("argv", [["tour", "--quick"], ["render", "--steps", "2"], ["train", "toy-lstm"]],
                         ids=["tour", "render", "train"])
def test_a_full_disk_is_one_line_naming_the_file(tmp_path, argv):
    out = ["--out", str(tmp_path / ("r.svg" if argv[0] == "render" else "out"))]
    done = subprocess.run([sys.executable, "-c", FULL_DISK, *argv, *out], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith(f"tinygrad-rnn {argv[0]}: ") and "No space left on device" in last and "cannot write" in last
    assert ".tmp" not in last


@pytest.mark.parametrize("target", ["a_file", "read_only"])
def test_derive_spectra_out_that_cannot_be_written_is_one_line(tmp_path, target):
    (tmp_path / "a_file").write_text("keep\n")
    (tmp_path / "read_only").mkdir()
    out = tmp_path / target
    if target == "read_only":
        out.chmod(0o500)
        if os.access(out, os.W_OK):
            out = Path("/proc/tinygrad-rnn-spectra")  # root writes anywhere: /proc is read-only even for root
    done = subprocess.run([sys.executable, "-m", "tinygrad_rnn", "derive", "--spectra", "--out", str(out)],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert "Traceback" not in done.stderr, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("tinygrad-rnn derive") and out.name in last
    assert done.returncode in (1, 2)  # refused by --out's check (2), or, where only writing finds out, then (1)
    if target == "a_file":
        assert done.returncode == 2 and "--out" in last and "is a file, not a folder" in last


@pytest.mark.parametrize("argv, phrase", [(["--noise", "nan"], "nan is not a finite number"),
                                          (["--noise", "-1"], "sine_wave.py: --noise must be >= 0")])
def test_the_example_scripts_share_the_guards_and_the_one_line_errors(tmp_path, argv, phrase):
    done = subprocess.run([sys.executable, str(ROOT / "examples" / "sine_wave.py"), *argv, "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert "Traceback" not in done.stderr and done.returncode in (1, 2), done.stderr
    assert phrase in done.stderr.strip().splitlines()[-1]
