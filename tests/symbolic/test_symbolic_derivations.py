"""Symbolic BPTT: the recurrence, the scalar/vector RNN and the gated cells against the engine."""

import numpy as np
import pytest
import sympy as sp

from tinygrad_rnn.symbolic import GRUCell, LSTMCell, ScalarRNN, Values, VectorRNN, recurrence
from tinygrad_rnn.symbolic.numeric import closed_form_values

a, b = recurrence.a, recurrence.b


def test_induction_proof_holds_and_ends_in_zero():
    proved, steps = recurrence.induction_proof()
    assert proved
    assert steps[0][1] == 0  # base case
    assert steps[-1][1] == 0  # simplified residual of the induction step
    assert steps[1][1] != 0  # the residual is not trivially zero before the rewriting


def test_unrolled_recurrence_equals_closed_form_up_to_k8():
    assert recurrence.unrolled_equality(8) == [True] * 8


def test_closed_form_for_k3_is_the_hand_expansion():
    k3 = recurrence.closed_form(sp.Integer(3)).doit().subs(a[0], 0)
    assert sp.expand(k3 - (a[3] + b[3] * a[2] + b[3] * b[2] * a[1])) == 0


def test_numeric_closed_form_matches_running_the_recurrence():
    rng = np.random.default_rng(1)
    A, B = rng.standard_normal(9), rng.standard_normal(9)
    A[0] = 0.0
    z, expected = 0.0, [0.0]
    for k in range(1, 9):
        z = A[k] + B[k] * z
        expected.append(z)
    assert np.allclose(closed_form_values(A, B), expected, atol=1e-13)


@pytest.mark.parametrize("nonlinearity,jordan", [("tanh", False), ("relu", False), ("tanh", True)])
@pytest.mark.parametrize("steps", [1, 2, 3, 4, 5, 6])
def test_scalar_rnn_closed_form_equals_diff_autograd_and_finite_differences(nonlinearity, jordan, steps):
    model = ScalarRNN(steps, nonlinearity, jordan=jordan)
    assert model.exact_check()
    table = model.check(seed=steps)
    assert table.ok(1e-9), table.text()
    dL = table.rows[-1]
    assert dL.quantity == "dL/dw_h" and abs(dL.autograd) > 1e-5  # a real gradient, not a dead unit


def test_scalar_rnn_one_step_matches_the_hand_formula():
    v = Values.random(1, seed=3)
    p = v.params
    h1 = np.tanh(p["w_x"] * v.xs[0] + p["w_h"] * v.h0 + p["b_h"])
    by_hand = 2 * (p["w_o"] * h1 - v.ys[0]) * p["w_o"] * (1 - h1**2) * v.h0
    assert abs(ScalarRNN(1).symbolic_values(v)["dL/dw_h"] - by_hand) < 1e-14


def test_scalar_rnn_local_derivatives_read_like_the_notes():
    d = ScalarRNN(3).derivation()
    eqs = {str(eq.lhs): eq.rhs for step in d.steps for eq in step.equations if not hasattr(eq.lhs, "latex")}
    h, t = sp.IndexedBase("h"), sp.Symbol("t", integer=True, positive=True)
    w_h = sp.Symbol("w_h", real=True)
    assert sp.expand(eqs["a[t]"] - (1 - h[t] ** 2) * h[t - 1]) == 0
    assert sp.expand(eqs["b[t]"] - w_h * (1 - h[t] ** 2)) == 0


def test_exact_check_detects_a_wrong_closed_form(monkeypatch):
    model = ScalarRNN(3)
    # drop the sum: keep only the direct term a_k, as if gradients never flowed back in time
    monkeypatch.setattr(recurrence, "closed_form", lambda n, a_=a, b_=b: a_[n])
    assert not model.exact_check()


def test_scalar_rnn_records_the_scope_convention():
    import tinygrad_rnn as tr

    L, _, _ = ScalarRNN(3, jordan=True).engine(Values.random(3))
    scopes = tr.trace(L).scopes()
    assert "jordan/l0/fwd/t1/hidden" in scopes and "jordan/l0/fwd/t3/output" in scopes


def test_vector_closed_form_reproduces_engine_gradients_h3_t5():
    table = VectorRNN(hidden=3, steps=5).check()
    assert [r.quantity for r in table.rows] == ["B_5 = dh_5/dh_4"] + [f"dh_{k}/dW_hh" for k in range(1, 6)] + [
        "dL/dW_hh"
    ]
    assert table.ok(1e-9), table.text()


def test_vector_closed_form_needs_the_product_order():
    model = VectorRNN(hidden=3, steps=5)
    A, B, _ = model.step_jacobians()
    Z5 = model.closed_form(A, B, 5)
    wrong = A[5].copy()
    carry = np.eye(3)
    for i in range(4, 0, -1):
        carry = B[i + 1] @ carry  # earliest step on the left: the wrong order
        wrong += np.tensordot(carry, A[i], axes=(1, 0))
    _, hs, params = model.engine()
    total = np.zeros((3, 3, 3))
    for p in range(3):
        params["weight_hh"].grad = None
        hs[4].backward(np.eye(3)[p])
        total[p] = params["weight_hh"].grad
    assert np.max(np.abs(Z5 - total)) < 1e-12
    assert np.max(np.abs(wrong - total)) > 1e-4


def test_lstm_dc_dc_prev_is_forget_gate_plus_path_through_h():
    cell = LSTMCell(steps=4, seed=2)
    table = cell.check()
    assert len(table.rows) == 3 and table.ok(1e-9), table.text()
    # the formula at a hand-picked point, against the equations written out in NumPy
    sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    p = cell.values
    x, c, o_prev = 0.3, -0.4, 0.7
    h = o_prev * np.tanh(c)
    i = sig(p["w_ii"] * x + p["w_hi"] * h + p["b_i"])
    f = sig(p["w_if"] * x + p["w_hf"] * h + p["b_f"])
    g = np.tanh(p["w_ig"] * x + p["w_hg"] * h + p["b_g"])
    dc_dh = c * f * (1 - f) * p["w_hf"] + g * i * (1 - i) * p["w_hi"] + i * (1 - g**2) * p["w_hg"]
    expected = f + dc_dh * o_prev * (1 - np.tanh(c) ** 2)
    total = sp.lambdify(
        (cell.x, cell.h, cell.c, cell.o_prev, *cell.params), cell.total, modules=[{"sigma": sig}, "numpy"]
    )
    assert abs(total(x, 0.0, c, o_prev, *cell._p()) - expected) < 1e-14
    assert "exactly: yes" in cell.derivation().text()


def test_gru_dh_dh_prev_has_the_update_gate_term():
    cell = GRUCell(steps=4, seed=2)
    table = cell.check()
    assert len(table.rows) == 4 and table.ok(1e-9), table.text()
    text = cell.derivation().text()
    assert "exactly: yes" in text
    # with the update gate saturated at 1 the derivative is exactly 1: the gradient is copied through
    p = dict(cell.values, w_iu=0.0, w_hu=0.0, b_u=40.0)
    fn = sp.lambdify(
        (cell.x, cell.h, *cell.params),
        cell.total,
        modules=[{"sigma": lambda v: 1 / (1 + np.exp(-v))}, "numpy"],
    )
    assert abs(fn(0.5, -0.2, *[p[str(s)] for s in cell.params]) - 1.0) < 1e-12


def test_lstm_rejects_a_single_step():
    with pytest.raises(ValueError, match="steps must be an integer >= 2"):
        LSTMCell(steps=1)


@pytest.mark.parametrize(
    "cell,expected", [(LSTMCell, "lstm/l0/fwd/t2/forget_gate"), (GRUCell, "gru/l0/fwd/t2/update_gate")]
)
def test_gated_cells_record_the_scope_convention(cell, expected):
    import tinygrad_rnn as tr

    out = cell(steps=2).engine()
    last = out[0][-1] if isinstance(out, tuple) else out[-1]
    assert expected in tr.trace(last).scopes()
