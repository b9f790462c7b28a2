"""docs/bptt-loop.md quotes real output: the loop excerpt and the table's lines are what the code writes."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGE = (ROOT / "docs" / "bptt-loop.md").read_text(encoding="utf-8")
CHAPTER = (ROOT / "notebooks" / "09_bptt_loop.py").read_text(encoding="utf-8")


def derived() -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "tinygrad_rnn", "derive", "--loop", "--cell", "rnn", "--steps", "5",
                           "--hidden", "1"], capture_output=True, text=True, env=env, timeout=120, check=True)
    return done.stdout


def table_rows(text: str) -> list[list[str]]:
    """The rows of the a_t / b_t / z table: [recurrence, generated loop's line, hand-written line]."""
    rows = []
    for line in text.splitlines():
        line = line.lstrip("# ")
        if line.startswith("|") and "`" in line:
            rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


def test_the_quoted_loop_is_the_commands_output():
    excerpt = re.search(r"```text\n(    # rnn/l0/fwd: the forward.*?)```", PAGE, re.S).group(1)
    output = derived()
    forward, backward = excerpt.split("    # rnn/l0/fwd: backpropagation")  # (the loss's lines are left out)
    assert forward in output and "    # rnn/l0/fwd: backpropagation" + backward in output


def test_the_tables_lines_are_lines_of_the_loops():
    output = derived()
    hand = re.search(r"def hand_written\(.*?\n\n\n", PAGE, re.S).group(0)
    for text in (PAGE, CHAPTER):
        rows = table_rows(text)
        assert len(rows) == 4 and [r[0].split()[0] for r in rows][1:3] in (["a_t", "b_t"], ["$a_t", "$b_t"])
        for _, generated, by_hand in rows:
            assert generated.strip("`") in output, generated
            assert by_hand.strip("`") in (hand if text is PAGE else CHAPTER), by_hand
