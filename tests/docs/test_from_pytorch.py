"""docs/from-pytorch.md states the differences a PyTorch user trips on (tests/docs/test_readme.py runs its examples)."""

from pathlib import Path

import tinygrad_rnn as tr

PAGE = Path(__file__).resolve().parents[2] / "docs" / "from-pytorch.md"


def test_the_page_states_the_differences_a_pytorch_user_trips_on():
    text = PAGE.read_text(encoding="utf-8")
    for claim in ("float64", "teaching_mode(False)", "torch.from_numpy", "FreedGraphError", "state_dict()",
                  "manual_seed", "model.float()", "requires_grad_"):
        assert claim in text, claim
    assert all(hasattr(tr.nn.Module, name) for name in ("float", "double", "half", "to", "requires_grad_"))
