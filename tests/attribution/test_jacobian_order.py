"""The lesson of the Jacobians' order: a BPTT that multiplies them in forward order is caught by
gradcheck at hidden size >= 2, and cannot be at hidden size 1, where the Jacobians are scalars."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_rnn as tr
from tinygrad_rnn.attribution.jacobian_order import lesson, rnn_bptt


def parts(H: int, T: int = 5, D: int = 2, seed: int = 0):
    rng = np.random.default_rng(seed)
    W = tr.Tensor(rng.normal(0, 1.0, (H, H)), requires_grad=True, name="W_hh")
    U = tr.Tensor(rng.normal(0, 1.0, (H, D)), requires_grad=True, name="W_xh")
    b = tr.Tensor(rng.normal(0, 0.2, H), requires_grad=True, name="b")
    return W, U, b, tr.Tensor(rng.normal(size=(T, D))), tr.Tensor(rng.normal(size=(T, H)))


def test_the_right_order_is_what_autograd_computes_on_the_unrolled_graph():
    W, U, b, xs, V = parts(3)
    (rnn_bptt(W, U, b, xs, "reverse") * V).sum().backward()
    mine = [t.grad.copy() for t in (W, U, b)]
    h, hs = tr.Tensor(np.zeros(3)), []
    W2, U2, b2 = (tr.Tensor(t.data.copy(), requires_grad=True) for t in (W, U, b))
    for t in range(5):
        h = (W2 @ h + U2 @ xs[t] + b2).tanh()
        hs.append(h)
    (tr.stack(hs) * V).sum().backward()
    for got, want in zip(mine, (W2.grad, U2.grad, b2.grad)):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)


def test_gradcheck_catches_the_forward_order_at_hidden_size_2():
    W, U, b, xs, V = parts(2)
    assert tr.gradcheck(lambda W, U, b: (rnn_bptt(W, U, b, xs, "reverse") * V).sum(), [W, U, b])
    with pytest.raises(tr.GradcheckError, match="gradcheck failed"):
        tr.gradcheck(lambda W, U, b: (rnn_bptt(W, U, b, xs, "forward") * V).sum(), [W, U, b])


def test_at_hidden_size_1_the_scalars_commute_and_the_wrong_order_passes():
    W, U, b, xs, V = parts(1)
    assert tr.gradcheck(lambda W, U, b: (rnn_bptt(W, U, b, xs, "forward") * V).sum(), [W, U, b])
    rows = lesson((1,))
    assert rows[0]["forward_passes"] and rows[0]["max_error"] < 1e-12


def test_the_lesson_measures_how_far_off_the_wrong_order_is():
    rows = {r["hidden"]: r for r in lesson((1, 2, 8))}
    assert all(r["reverse_passes"] for r in rows.values())
    assert not rows[2]["forward_passes"] and not rows[8]["forward_passes"]
    assert rows[8]["max_error"] > 1.0  # as large as the 2026 bug's 1.36, not a rounding error
    assert "gradcheck failed" in rows[2]["gradcheck_message"]


def test_a_bad_order_is_refused():
    W, U, b, xs, _ = parts(2)
    with pytest.raises(ValueError, match="order must be one of"):
        rnn_bptt(W, U, b, xs, "sideways")
