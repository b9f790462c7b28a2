"""docs/from-pytorch.md: its examples run as written, and its table names every dtype method the modules have."""

import re
from pathlib import Path

import tinygrad_rnn as tr

PAGE = Path(__file__).resolve().parents[2] / "docs" / "from-pytorch.md"


def test_every_example_on_the_page_runs_and_its_asserts_hold():
    text = PAGE.read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert len(blocks) == 3
    scope: dict = {}
    for block in blocks:  # one namespace, as a reader pastes them one after another
        exec(compile(block, str(PAGE), "exec"), scope)  # noqa: S102 - our own page


def test_the_page_states_the_differences_a_pytorch_user_trips_on():
    text = PAGE.read_text(encoding="utf-8")
    for claim in ("float64", "teaching_mode(False)", "torch.from_numpy", "FreedGraphError", "state_dict()",
                  "manual_seed", "model.float()", "requires_grad_"):
        assert claim in text, claim
    assert all(hasattr(tr.nn.Module, name) for name in ("float", "double", "half", "to", "requires_grad_"))
