"""The transcripts of docs/stepping.md ("Stepping through backward") are real: rerun them and compare."""

import doctest
import io
import re
import shlex
import sys
from pathlib import Path

from tinygrad_rnn import cli

PAGE = Path(__file__).resolve().parents[2] / "docs" / "stepping.md"


def section() -> str:
    return PAGE.read_text(encoding="utf-8")


def blocks(kind: str) -> list[str]:
    return re.findall(rf"```{kind}\n(.*?)```", section(), flags=re.S)


def test_repl_transcript_reproduces():
    (block,) = blocks("pycon")
    test = doctest.DocTestParser().get_doctest(block, {}, "docs/stepping.md", str(PAGE), 0)
    runner = doctest.DocTestRunner()
    out = io.StringIO()
    result = runner.run(test, out=out.write)
    assert result.attempted > 20
    assert result.failed == 0, out.getvalue()


def test_shell_transcript_reproduces(monkeypatch, capsys):
    (block,) = blocks("console")
    command, expected = block.split("\n", 1)
    match = re.fullmatch(r"\$ printf '(.*)' \| tinygrad-rnn step (.*)", command)
    assert match, command
    commands = match.group(1).encode().decode("unicode_escape")
    monkeypatch.setattr(sys, "stdin", io.StringIO(commands))
    assert cli.main(["step", *shlex.split(match.group(2))]) == 0
    assert capsys.readouterr().out == expected
