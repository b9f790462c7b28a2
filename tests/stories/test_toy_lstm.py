"""The hand-set LSTM does what the lecture's table says, and its numbers come from the recorded graph."""

import json
import re

import numpy as np
import pytest

import tinygrad_rnn as tr
from tinygrad_rnn import cli
from tinygrad_rnn.stories import toy_lstm


def test_the_lecture_sequence_gives_the_lecture_memory_and_outputs():
    r = toy_lstm.run_cell()
    assert np.allclose(r["memory_before"], [0, 0, 3, 3, 7, 7, 7, 0, 6], atol=1e-3)
    assert np.allclose(r["output"], [0, 0, 0, 0, 0, 7, 0, 0, 6], atol=1e-3)
    assert np.allclose(r["input_gate"], [0, 1, 0, 1, 0, 0, 0, 1, 0], atol=1e-4)
    assert np.allclose(r["forget_gate"], [1, 1, 1, 1, 1, 1, 0, 1, 1], atol=1e-4)  # reset only at x2 = -1


def test_the_cell_is_a_plain_lstm_with_linear_activations():
    cell = toy_lstm.build()
    assert repr(cell) == "LSTM(3, 1, g_activation='identity', h_activation='identity')"
    # with tanh g and h (PyTorch's LSTM), the same weights squash the memory: 7 would show as ~tanh(..)
    tanh_cell = tr.nn.LSTM(3, 1)
    tanh_cell.load_state_dict(cell.state_dict())
    out, _ = tanh_cell(tr.Tensor(np.array(toy_lstm.LECTURE_INPUTS, float).reshape(9, 1, 3)))
    assert out.data[5, 0, 0] < 1  # the output gate opens on a memory of at most 1


def test_numbers_are_read_from_the_graph_of_the_given_inputs():
    r = toy_lstm.run_cell([(5, 1, 0), (2, 1, 1)])
    assert np.allclose(r["memory"], [5, 7], atol=1e-3) and np.allclose(r["output"], [0, 7], atol=1e-3)
    with pytest.raises(ValueError, match="triples"):
        toy_lstm.run_cell([(1, 2)])


def test_lstm_activation_choice_is_checked():
    with pytest.raises(ValueError, match="g_activation must be one of"):
        tr.nn.LSTM(3, 1, g_activation="linear")
    with pytest.raises(ValueError, match="h_activation must be one of"):
        tr.nn.LSTMCell(3, 1, h_activation="softmax")


def test_identity_activations_reach_cell_and_sequence_alike():
    x = np.random.default_rng(0).standard_normal((4, 2, 3))
    seq = tr.nn.LSTM(3, 2, g_activation="identity", h_activation="sigmoid", rng=0)
    cell = tr.nn.LSTMCell(3, 2, g_activation="identity", h_activation="sigmoid", rng=0)
    cell.load_state_dict({k.removesuffix("_l0"): v for k, v in seq.state_dict().items()})
    out, _ = seq(tr.Tensor(x))
    h = c = None
    for t in range(4):
        h, c = cell(x[t], None if h is None else (h, c))
    assert np.allclose(out.data[-1], h.data, atol=1e-12)


def test_toy_lstm_command_prints_the_table_and_draws_the_cells_view(tmp_path, capsys):
    assert cli.main(["train", "toy-lstm", "--out", str(tmp_path), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "| 6 | 1 | 0 | 1 |" in out and out.count("| 7.000 |") >= 3
    svg = (tmp_path / "toy_lstm_cells.svg").read_text()
    words = "".join(re.findall(r">([^<]*)</text>", svg))  # what a reader sees, with Graphviz's pieces joined
    assert "t = 9" in words and "c₆: 7" in words and "h₉: 6" in words  # step 6 holds 7; step 9 shows 6
    saved = json.loads((tmp_path / "toy_lstm.json").read_text())
    assert np.allclose(saved["output"], [0, 0, 0, 0, 0, 7, 0, 0, 6], atol=1e-3)


def test_toy_lstm_rejects_malformed_inputs(capsys):
    assert cli.main(["train", "toy-lstm", "--inputs", "1,0 2,1", "--no-picture"]) == 1
    assert "tinygrad-rnn train: --inputs: every step needs three numbers" in capsys.readouterr().err
