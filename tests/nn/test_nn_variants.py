"""The variants PyTorch lacks (peephole LSTM, Cho's GRU, Jordan network): gradcheck, a value
derived by hand with NumPy from the equations, and agreement between cells and sequence modules."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_rnn as tr

I, H, O, N = 3, 4, 2, 2


def sigmoid(v):
    return 1 / (1 + np.exp(-v))


def inputs(seed=0, state=H):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((N, I)), rng.standard_normal((N, state)), rng.standard_normal((N, state))


def leaf(array):
    return tr.Tensor(array.copy(), requires_grad=True)


# --- peephole LSTM -------------------------------------------------------------------


def test_peephole_lstm_one_step_by_hand():
    cell = tr.nn.LSTMCell(I, H, peephole=True, rng=1)
    p = cell.state_dict()
    x, h, c = inputs()
    pre = x @ p["weight_ih"].T + p["bias_ih"] + h @ p["weight_hh"].T + p["bias_hh"]
    a_i, a_f, a_g, a_o = np.split(pre, 4, axis=1)
    i = sigmoid(a_i + p["weight_ci"] * c)
    f = sigmoid(a_f + p["weight_cf"] * c)
    g = np.tanh(a_g)
    c_new = f * c + i * g
    o = sigmoid(a_o + p["weight_co"] * c_new)
    h_new = o * np.tanh(c_new)
    h_out, c_out = cell(x, (h, c))
    np.testing.assert_allclose(h_out.data, h_new, rtol=0, atol=1e-14)
    np.testing.assert_allclose(c_out.data, c_new, rtol=0, atol=1e-14)


def test_peephole_weights_are_named_and_change_the_result():
    cell = tr.nn.LSTMCell(I, H, peephole=True, rng=1)
    names = [n for n, _ in cell.named_parameters()]
    assert names[-3:] == ["weight_ci", "weight_cf", "weight_co"]
    assert cell.weight_co.shape == (H,)
    plain = tr.nn.LSTMCell(I, H, rng=2)
    plain.load_state_dict(cell.state_dict(), strict=False)
    x, h, c = inputs()
    assert not np.allclose(cell(x, (h, c))[0].data, plain(x, (h, c))[0].data)
    for w in (cell.weight_ci, cell.weight_cf, cell.weight_co):
        w.data[:] = 0.0  # without peepholes it is the ordinary LSTM
    np.testing.assert_allclose(cell(x, (h, c))[0].data, plain(x, (h, c))[0].data, rtol=0, atol=1e-15)


def test_peephole_lstm_gradcheck():
    cell = tr.nn.LSTMCell(I, H, peephole=True, rng=3)
    x, h, c = (leaf(a) for a in inputs(1))

    def step(x, h, c, *params):
        h_new, c_new = cell(x, (h, c))
        return h_new * 2.0 + c_new

    assert tr.gradcheck(step, [x, h, c, *cell.parameters()])


# --- GRU, reset before ------------------------------------------------------------


def test_gru_reset_before_one_step_by_hand_and_differs_from_after():
    cell = tr.nn.GRUCell(I, H, reset="before", rng=4)
    p = cell.state_dict()
    x, h, _ = inputs(2)
    W_ir, W_iz, W_in = np.split(p["weight_ih"], 3)
    W_hr, W_hz, W_hn = np.split(p["weight_hh"], 3)
    b_ir, b_iz, b_in = np.split(p["bias_ih"], 3)
    b_hr, b_hz, b_hn = np.split(p["bias_hh"], 3)
    r = sigmoid(x @ W_ir.T + b_ir + h @ W_hr.T + b_hr)
    z = sigmoid(x @ W_iz.T + b_iz + h @ W_hz.T + b_hz)
    n = np.tanh(x @ W_in.T + b_in + (r * h) @ W_hn.T + b_hn)
    expected = (1 - z) * n + z * h
    np.testing.assert_allclose(cell(x, h).data, expected, rtol=0, atol=1e-14)
    after = tr.nn.GRUCell(I, H, rng=5)
    after.load_state_dict(p)
    n_after = np.tanh(x @ W_in.T + b_in + r * (h @ W_hn.T + b_hn))
    np.testing.assert_allclose(after(x, h).data, (1 - z) * n_after + z * h, rtol=0, atol=1e-14)
    assert np.abs(after(x, h).data - expected).max() > 1e-3


def test_gru_reset_before_gradcheck():
    cell = tr.nn.GRUCell(I, H, reset="before", rng=6)
    x, h, _ = (leaf(a) for a in inputs(3))
    assert tr.gradcheck(lambda x, h, *params: cell(x, h), [x, h, *cell.parameters()])


# --- Jordan network -------------------------------------------------------------------


def test_jordan_one_step_by_hand():
    cell = tr.nn.JordanCell(I, H, O, output_nonlinearity="sigmoid", rng=7)
    p = cell.state_dict()
    x, _, _ = inputs(4)
    y = np.random.default_rng(5).standard_normal((N, O))
    h_expected = np.tanh(x @ p["weight_xh"].T + y @ p["weight_yh"].T + p["bias_h"])
    y_expected = sigmoid(h_expected @ p["weight_hy"].T + p["bias_y"])
    y_out, h_out = cell(x, y)
    np.testing.assert_allclose(h_out.data, h_expected, rtol=0, atol=1e-14)
    np.testing.assert_allclose(y_out.data, y_expected, rtol=0, atol=1e-14)
    assert sorted(p) == ["bias_h", "bias_y", "weight_hy", "weight_xh", "weight_yh"]
    assert p["weight_yh"].shape == (H, O)  # fed by the output, not by the hidden layer


def test_jordan_gradcheck():
    cell = tr.nn.JordanCell(I, H, O, rng=8)
    x, _, _ = inputs(6)
    y = leaf(np.random.default_rng(7).standard_normal((N, O)))
    assert tr.gradcheck(lambda x, y, *params: cell(x, y)[0], [leaf(x), y, *cell.parameters()])


def test_jordan_sequence_equals_the_cell_step_by_step():
    seq = tr.nn.Jordan(I, H, O, rng=9)
    cell = tr.nn.JordanCell(I, H, O, rng=10)
    cell.load_state_dict(seq.state_dict())
    xs = np.random.default_rng(8).standard_normal((5, N, I))
    output, y_n = seq(xs)
    y = None
    for t in range(5):
        y, _ = cell(xs[t], y)
        np.testing.assert_allclose(output.data[t], y.data, rtol=0, atol=1e-14)
    np.testing.assert_allclose(y_n.data, y.data[None], rtol=0, atol=1e-14)
    assert tr.gradcheck(lambda x, *params: seq(x)[0], [leaf(xs), *seq.parameters()])


# --- sequence modules with the variants -----------------------------------------------


@pytest.mark.parametrize("kind", ["peephole", "before"])
def test_sequence_variant_equals_chained_cells_both_directions(kind):
    if kind == "peephole":
        seq = tr.nn.LSTM(I, H, bidirectional=True, peephole=True, rng=11)
        make_cell = lambda: tr.nn.LSTMCell(I, H, peephole=True, rng=0)  # noqa: E731
    else:
        seq = tr.nn.GRU(I, H, bidirectional=True, reset="before", rng=11)
        make_cell = lambda: tr.nn.GRUCell(I, H, reset="before", rng=0)  # noqa: E731
    state = seq.state_dict()
    xs = np.random.default_rng(9).standard_normal((4, N, I))
    output, _ = seq(xs)
    for direction, suffix, order in ((0, "_l0", range(4)), (1, "_l0_reverse", range(3, -1, -1))):
        cell = make_cell()
        cell.load_state_dict({k[: -len(suffix)]: v for k, v in state.items() if k.endswith(suffix)})
        hx = None
        for t in order:
            hx = cell(xs[t], hx)
            h = hx[0] if kind == "peephole" else hx
            np.testing.assert_allclose(output.data[t, :, direction * H:(direction + 1) * H], h.data,
                                       rtol=0, atol=1e-14)


@pytest.mark.parametrize("make", [
    lambda: tr.nn.LSTM(2, 2, bidirectional=True, peephole=True, bias=False, batch_first=True, rng=0),
    lambda: tr.nn.GRU(2, 2, bidirectional=True, reset="before", batch_first=True, rng=0),
    lambda: tr.nn.Jordan(2, 2, 2, output_nonlinearity="identity", batch_first=True, rng=0),
], ids=["peephole", "before", "jordan"])
def test_variant_sequence_modules_gradcheck_with_lengths(make):
    module = make()
    x = leaf(np.random.default_rng(10).standard_normal((3, 3, 2)))
    assert tr.gradcheck(lambda x, *params: module(x, lengths=[2, 3, 1])[0], [x, *module.parameters()])
