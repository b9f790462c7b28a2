"""The `tinygrad-rnn` command: every subcommand has --help, and the demo tells the truth."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tinygrad_rnn import cli

ROOT = Path(__file__).resolve().parents[2]


def test_top_level_help_lists_every_subcommand(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for name in cli.COMMANDS:
        assert name in out


@pytest.mark.parametrize("name", sorted(cli.COMMANDS))
def test_every_subcommand_has_help(name, capsys):
    with pytest.raises(SystemExit) as info:
        cli.main([name, "--help"])
    assert info.value.code == 0
    assert "usage: tinygrad-rnn " + name in capsys.readouterr().out


def test_no_subcommand_prints_help_and_fails(capsys):
    assert cli.main([]) == 2
    assert "COMMAND" in capsys.readouterr().out


def test_demo_sums_per_step_contributions_to_the_gradient():
    result = subprocess.run(
        [sys.executable, "-m", "tinygrad_rnn", "demo", "--steps", "4"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=True,
    )
    assert "t=4:" in result.stdout
    lines = result.stdout.splitlines()
    for k, line in enumerate(lines):  # each matrix's second row sits under its first
        if line.startswith("  t=") or line.startswith("  sum"):
            assert lines[k + 1].index("[") == line.index("[[") + 1, (line, lines[k + 1])
    assert "h_0 = 0" in lines[lines.index(next(x for x in lines if x.startswith("  t=1:"))) + 2]
    difference = float(re.search(r"max \|difference\| = (\S+)", result.stdout).group(1))
    assert difference < 1e-12
