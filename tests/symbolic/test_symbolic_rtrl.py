"""RTRL beside BPTT (issue 17 §3): forward sensitivities give the engine's gradient, the two
orders of the same sum agree term by term with the stepper's ledger, and the costs scale as claimed."""

import numpy as np
import pytest

from tinygrad_rnn import cli
from tinygrad_rnn.symbolic import VectorRNN, rtrl


def _close(a, b, rtol=1e-12):
    return np.max(np.abs(a - b)) <= rtol * max(1.0, np.max(np.abs(b)))


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_rtrl_equals_the_engines_backward(nonlinearity):
    model = VectorRNN(hidden=3, steps=25, seed=4, nonlinearity=nonlinearity)
    L, _, params = model.engine()
    L.backward()
    forward = rtrl.rtrl(model)
    by_hand = rtrl.bptt_numpy(model)
    for name in rtrl.PARAMETERS:
        assert _close(forward.grads[name], params[name].grad), name
        assert _close(by_hand[name], params[name].grad), name
    assert forward.increments.sum(axis=0) == pytest.approx(params["weight_hh"].grad, abs=1e-12)
    assert forward.sensitivity_floats == 3 * (9 + 6 + 3)  # H x P, whatever T is


def test_two_orders_of_the_same_sum_agree_term_by_term_with_the_stepper():
    model = VectorRNN(hidden=2, steps=4, seed=0)
    C = rtrl.terms(model)  # C[k-1, i-1]: loss k's term through the use of W_hh at step i
    assert np.all(C[np.triu_indices(4, 1)] == 0)  # no loss depends on a later use
    pieces = rtrl.ledger(model)
    assert [(number, of, t) for number, of, t, _ in pieces] == [(1, 4, 4), (2, 4, 3), (3, 4, 2), (4, 4, 1)]
    for _, _, t, piece in pieces:  # the stepper's contribution from t = the column of terms of use t
        assert np.max(np.abs(piece - C[:, t - 1].sum(axis=0))) < 1e-15
    increments = rtrl.rtrl(model).increments  # RTRL's online step k = the row of terms of loss k
    for k in range(4):
        assert np.max(np.abs(increments[k] - C[k].sum(axis=0))) < 1e-15


def test_memory_scales_as_bptt_keeps_states_and_rtrl_keeps_sensitivities():
    small, big_h, long_t = rtrl.cost_table(sizes=((8, 200), (16, 200), (8, 800)), repeats=1)
    assert long_t.rtrl_floats == small.rtrl_floats and long_t.bptt_floats > 3.9 * small.bptt_floats
    assert big_h.rtrl_floats > 6 * small.rtrl_floats  # H P ~ H^3 (8x at large H)
    assert long_t.bptt_peak > 3 * small.bptt_peak  # measured: BPTT's memory grows with T
    assert long_t.rtrl_peak < 1.5 * small.rtrl_peak  # RTRL's does not
    assert big_h.rtrl_peak > 4 * small.rtrl_peak  # but grows with H^3


def test_cli_derive_rtrl(capsys):
    assert cli.main(["derive", "--rtrl", "--check"]) == 0
    out = capsys.readouterr().out
    assert "from t = 1 (contribution 4 of 4)" in out and "loss ℓ₄, added at step 4" in out
    assert "check: RTRL vs BPTT, vector tanh RNN, H = 2, T = 4" in out and "FAILED" not in out
    assert cli.main(["derive", "--measure"]) == 2
    assert "--measure goes with --rtrl" in capsys.readouterr().err
    assert cli.main(["derive", "--rtrl", "--cell", "gru"]) == 2
    assert "--cell would be ignored" in capsys.readouterr().err


@pytest.mark.parametrize("reset", ["after", "before"])
def test_rtrl_with_the_engines_step_jacobians_equals_bptt_for_a_gru(reset):
    from tinygrad_rnn.nn import GRUCell

    cell = GRUCell(3, 4, reset=reset, rng=5)
    rng = np.random.default_rng(5)
    xs, readout, ys = rng.standard_normal((12, 1, 3)), rng.uniform(-1, 1, 4), rng.standard_normal(12)
    forward = rtrl.rtrl_cell(cell, xs, readout, ys)
    loss, backward = rtrl.bptt_cell(cell, xs, readout, ys)
    assert _close(forward, backward)
    assert loss == pytest.approx(rtrl.bptt_loss(cell, xs, readout, ys), rel=1e-14)
    table = rtrl.check_gru()
    assert table.ok() and table.HEADER[1:3] == ("RTRL", "BPTT")
