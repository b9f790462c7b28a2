"""IRNN: a relu RNN whose W_hh starts at the identity, in the adding problem beside the other cells."""

import json

import numpy as np
import pytest

import tinygrad_rnn as tr
from tinygrad_rnn import cli
from tinygrad_rnn.stories.common import recurrent


def test_identity_init_copies_the_state_forward():
    rnn = tr.nn.RNN(2, 4, num_layers=2, nonlinearity="relu", hidden_init="identity", rng=0)
    for name, p in rnn.named_parameters():
        if name.startswith("weight_hh"):
            assert np.array_equal(p.data, np.eye(4)), name
        if name.startswith("bias"):
            assert not p.data.any(), name
    # with nothing coming in after step 1, relu(I h + 0) = h: the first step's state survives 100 steps
    one = tr.nn.RNN(2, 4, nonlinearity="relu", hidden_init="identity", rng=0)
    x = np.zeros((100, 1, 2))
    x[0, 0] = [1.0, 1.0]
    out, _ = one(tr.Tensor(x))
    assert np.allclose(out.data[-1], out.data[0]) and out.data[0].any()


def test_identity_init_leaves_the_default_pytorch_init_alone():
    a = tr.nn.RNN(3, 5, rng=1)
    b = tr.nn.RNN(3, 5, hidden_init="uniform", rng=1)
    assert all(np.array_equal(a.state_dict()[k], b.state_dict()[k]) for k in a.state_dict())
    assert repr(recurrent("irnn", 3, 5)) == "RNN(3, 5, nonlinearity='relu', hidden_init='identity')"


def test_a_bad_hidden_init_is_named():
    with pytest.raises(ValueError, match="hidden_init must be 'uniform'"):
        tr.nn.RNN(3, 5, hidden_init="orthogonal")


def test_irnn_learns_the_adding_problem_on_short_sequences(tmp_path, capsys):
    assert cli.main(["train", "adding", "--lengths", "8", "--kinds", "irnn", "--hidden", "8", "--steps", "300",
                     "--batch", "16", "--lr", "0.01", "--eval-every", "50", "--out", str(tmp_path), "--quiet"]) == 0
    run = json.loads((tmp_path / "adding_T8.json").read_text())["runs"][0]
    assert run["kind"] == "irnn" and run["mse"][-1] < run["mse"][0]
    assert run["final_mse"] < 0.5 * 1 / 6
    assert "| IRNN |" in capsys.readouterr().out
