"""docs/engine.md quotes the engine's code; the quotes must be the code that runs."""

import inspect
import re
from pathlib import Path

import tinygrad_rnn as tr
from tinygrad_rnn import ops

PAGE = (Path(__file__).resolve().parents[2] / "docs" / "engine.md").read_text(encoding="utf-8")


def _quoted(heading: str) -> str:
    section = PAGE[PAGE.index(heading):]
    return re.search(r"```\n(.*?)```", section, re.S).group(1)


def _without_docstring(source: str) -> str:
    return re.sub(r'\n    """.*?"""\n', "\n", source, count=1, flags=re.S)


def test_the_page_shows_the_reference_backward_as_it_is():
    assert _quoted("## Backpropagation in one screen") == _without_docstring(inspect.getsource(tr.reference_backward))


def test_the_page_shows_tanh_as_it_is():
    assert _quoted("## One op, one place") == inspect.getsource(ops.Tanh)
