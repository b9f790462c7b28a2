"""The textbook walk (``tr.reference_backward``) and the fast one (``backward()``) agree bit for bit.

The reference is what the docs show first; if the fast walk's bookkeeping (borrowed slots,
in-place scatter of slices) ever changed a number, a learner reading the reference would be
reading a different algorithm from the one that runs.
"""

import numpy as np
import pytest

import tinygrad_rnn as tr


def _model_loss(kind: str, seed: int):
    rng = np.random.default_rng(seed)
    cls = {"rnn": tr.nn.RNN, "lstm": tr.nn.LSTM, "gru": tr.nn.GRU}[kind]
    model = cls(3, 4, num_layers=2, bidirectional=True, rng=seed)
    x = tr.Tensor(rng.standard_normal((5, 2, 3)), requires_grad=True, name="x")
    out = model(x)[0]
    return model, x, (out * out).mean() + out[-1].sum()


def _grads(kind: str, walk) -> dict[str, np.ndarray]:
    model, x, loss = _model_loss(kind, seed=3)
    walk(loss)
    grads = {name: p.grad for name, p in model.named_parameters()}
    grads["x"] = x.grad
    return grads


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_reference_and_fast_backward_give_identical_gradients(kind):
    fast = _grads(kind, lambda loss: loss.backward())
    reference = _grads(kind, tr.reference_backward)
    assert fast.keys() == reference.keys()
    for name in fast:
        assert reference[name] is not None, name
        assert np.array_equal(fast[name], reference[name]), name


def test_reference_backward_sums_a_tensor_used_at_every_step():
    W = tr.Parameter(np.array([[0.5, -0.2], [0.1, 0.3]]), name="W_hh")
    h = tr.Tensor([1.0, -1.0])
    for _ in range(3):
        h = (W @ h).tanh()
    loss = h.sum()
    tr.reference_backward(loss)
    w = W.data.copy()  # numerical_grad perturbs this array in place
    expected = tr.numerical_grad(lambda: _three_steps(tr.Tensor(w)).item(), w)
    np.testing.assert_allclose(W.grad, expected, rtol=1e-7, atol=1e-9)
    assert loss.grad is not None and loss.grad.item() == 1.0  # intermediates keep their gradient too


def _three_steps(W):
    h = tr.Tensor([1.0, -1.0])
    for _ in range(3):
        h = (W @ h).tanh()
    return h.sum()


def test_reference_backward_accumulates_into_existing_leaf_gradients():
    w = tr.Parameter(np.array([2.0]), name="w")
    (w * w).sum().backward()
    tr.reference_backward((w * w).sum())
    np.testing.assert_array_equal(w.grad, [8.0])  # 4 from the first pass + 4 from the second
