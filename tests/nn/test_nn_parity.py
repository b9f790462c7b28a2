"""tr.nn gives PyTorch's numbers: outputs, final states and every gradient, over the whole grid.

The reference numbers come from tests/fixtures/torch_recurrent.npz (written by
tests/fixtures/make_torch_fixtures.py with PyTorch in float64), so these tests
need no PyTorch. If PyTorch is installed, test_live_against_torch also
compares against it directly.
"""

from __future__ import annotations

import numpy as np
import pytest
from nn_parity import differences, load_cases

import tinygrad_rnn as tr

CASES = load_cases()
ATOL = 1e-10


def test_the_grid_covers_every_combination():
    configs = [c for c, _ in CASES.values() if c["module"] == "sequence" and c["batched"]]
    combos = {(c["kind"], c["num_layers"], c["bidirectional"], c["batch_first"], c["bias"],
               c["variable_lengths"]) for c in configs}
    assert len(combos) == 4 * 3 * 2 * 2 * 2 * 2
    cells = {(c["kind"], c["bias"], c["batched"]) for c, _ in CASES.values() if c["module"] == "cell"}
    assert len(cells) == 4 * 2 * 2


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_pytorch(name):
    config, arrays = CASES[name]
    diffs = differences(config, arrays)
    worst = max(diffs, key=diffs.get)
    assert diffs[worst] <= ATOL, f"{name}: {worst} differs from PyTorch by {diffs[worst]:.3g}"


def test_variable_lengths_case_really_has_unsorted_short_sequences():
    config, arrays = CASES["lstm-L2-bi-tf-bias-lengths"]
    lengths = arrays["lengths"].astype(int)
    assert lengths.min() < 5 and np.any(np.diff(lengths) > 0)
    # PyTorch's output is zero past each sequence's end, and so is ours (checked above)
    for n, length in enumerate(lengths):
        assert np.all(arrays["output"][length:, n] == 0)


def test_live_against_torch():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    reference = torch.nn.GRU(4, 5, num_layers=2, bidirectional=True, batch_first=True).double()
    ours = tr.nn.GRU(4, 5, num_layers=2, bidirectional=True, batch_first=True)
    ours.load_state_dict(reference.state_dict())
    x = rng.standard_normal((3, 7, 4))
    x_torch = torch.tensor(x, requires_grad=True)
    out_torch, h_torch = reference(x_torch)
    (out_torch.sum() + h_torch.sum()).backward()
    x_ours = tr.Tensor(x.copy(), requires_grad=True)
    out, h_n = ours(x_ours)
    (out.sum() + h_n.sum()).backward()
    assert np.allclose(out.data, out_torch.detach().numpy(), rtol=0, atol=ATOL)
    assert np.allclose(h_n.data, h_torch.detach().numpy(), rtol=0, atol=ATOL)
    assert np.allclose(x_ours.grad, x_torch.grad.numpy(), rtol=0, atol=ATOL)
    for name, p in reference.named_parameters():
        assert np.allclose(ours.state_dict()[name], p.detach().numpy())
        assert np.allclose(getattr(ours, name).grad, p.grad.numpy(), rtol=0, atol=ATOL), name
