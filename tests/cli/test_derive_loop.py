"""`tinygrad-rnn derive --loop`: the BPTT loop printed by the command line, as a user runs it."""

from __future__ import annotations

import ast
import os
import subprocess
import sys

import pytest


def derive(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    return subprocess.run([sys.executable, "-m", "tinygrad_rnn", "derive", *args], capture_output=True, text=True,
                          env=env, timeout=120)


@pytest.mark.parametrize("cell, carries", [("rnn", ["dh_next"]), ("lstm", ["dh_next", "dc_next"]),
                                           ("gru", ["dh_next"])])
def test_derive_loop_prints_the_loop_and_checks_it(cell, carries):
    done = derive("--loop", "--cell", cell, "--steps", "4", "--check")
    assert done.returncode == 0, done.stderr
    text = done.stdout
    source = text[text.index("import numpy"):text.index("\ncheck:")]
    ast.parse(source)
    assert "    T = 4\n" in source and "for t in reversed(range(1, T + 1)):" in source
    for carry in carries:
        assert f"{carry} = " in source
    assert "equal to 1e-12" in text and "largest |difference|" in text
    assert "u[t] = sigmoid(" in source if cell == "gru" else "u[t]" not in source


def test_derive_loop_markdown_and_refusals():
    done = derive("--loop", "--cell", "rnn", "--steps", "2", "--markdown")
    assert done.returncode == 0 and "```python\nimport numpy as np" in done.stdout and done.stdout.endswith("```")
    for args, words in [(("--loop", "--cell", "gru", "--nonlinearity", "relu"), "--nonlinearity would be ignored"),
                        (("--loop", "--latex"), "use --markdown"),
                        (("--loop", "--cell", "jordan"), "rnn, lstm or gru"),
                        (("--loop", "--measure"), "--measure goes with --rtrl")]:
        done = derive(*args)
        assert done.returncode == 2 and words in done.stderr, (args, done.stderr)
        assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
