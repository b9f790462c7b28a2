"""What the engine's fast paths must preserve: the numbers, the dtype, the stepper's equality."""

import numpy as np
import pytest

import tinygrad_rnn as tr
from tinygrad_rnn import ops


def _unrolled(xs, W):
    """h_t = tanh(xs[t] + h_{t-1} W): each step reads one slice of a projected sequence."""
    h = tr.Tensor(np.zeros((2, W.shape[0])))
    for t in range(xs.shape[0]):
        h = (xs[t] + h @ W).tanh()
    return (h * h).sum()


def test_slices_of_one_sequence_give_the_stacked_gradient():
    rng = np.random.default_rng(0)
    x = tr.Tensor(rng.standard_normal((6, 2, 3)), requires_grad=True)
    W = tr.Parameter(rng.standard_normal((3, 3)) * 0.5)
    _unrolled(x * 1.0, W).backward()  # x * 1.0: the slices are of an intermediate
    via_intermediate = x.grad.copy()
    x.grad = None
    _unrolled(x, W).backward()  # the slices are of the leaf itself
    np.testing.assert_allclose(x.grad, via_intermediate, rtol=1e-14, atol=0)
    # finite differences on the leaf version
    assert tr.gradcheck(lambda x: _unrolled(x, W), [tr.Tensor(x.data.copy(), requires_grad=True)])


def test_slicing_backward_adds_in_place_instead_of_one_zero_array_per_step(monkeypatch):
    calls = []
    original = ops.GetItem.backward
    monkeypatch.setattr(ops.GetItem, "backward", lambda self, g: calls.append(1) or original(self, g))
    rng = np.random.default_rng(1)
    x = tr.Tensor(rng.standard_normal((200, 2, 3)), requires_grad=True)
    _unrolled(x * 1.0, tr.Parameter(np.eye(3) * 0.5)).backward()
    assert len(calls) == 1  # only the first gradient buffer is built; 199 slices add into it


@pytest.mark.parametrize("index", [np.array([0, 2, 0, 0]), (slice(None), 1)])
def test_stepper_and_backward_agree_bit_for_bit_on_slices(index):
    rng = np.random.default_rng(2)
    x = tr.Tensor(rng.standard_normal((3, 4)), requires_grad=True)
    y = x.tanh()
    loss = (y[index] * 3.1).sum() + (y[index] * y[index]).sum() + y.sum()
    loss.backward()
    expected = x.grad.copy()
    x.grad = None
    run = tr.BackwardPass(loss, np.ones(()))
    events = []
    while not run.done:
        events.append(run.step())
    np.testing.assert_array_equal(x.grad, expected)
    sent = [e.grad_inputs[0] for e in events if e.node.name == "getitem"]
    assert all(g.shape == x.shape for g in sent)  # the stepper still shows full-size gradients


def test_float32_model_stays_float32_end_to_end():
    rng = np.random.default_rng(3)
    W = tr.Parameter(rng.standard_normal((4, 8)).astype(np.float32))
    x = tr.Tensor(rng.standard_normal((5, 3, 4)).astype(np.float32))
    xp = x @ W + 1.0
    h = tr.Tensor(np.zeros((3, 8), dtype=np.float32))
    for t in range(5):
        i, g = (xp[t] + h * 0.5).split(4, axis=1)
        h = tr.concat([i.sigmoid() * g.tanh(), (1 - i.sigmoid()) / 2.0], axis=1)
    loss = tr.F.cross_entropy(h, np.array([0, 1, 2])) + ((tr.stack([h, h]) - 0.5) ** 2).mean()
    assert loss.dtype == np.float32
    loss.backward()
    assert W.grad.dtype == np.float32


def test_weight_shared_by_a_batch_of_rows_gets_the_summed_gradient():
    rng = np.random.default_rng(4)
    A = tr.Tensor(rng.standard_normal((5, 2, 3)))
    B = tr.Parameter(rng.standard_normal((3, 4)))
    (A @ B).sum().backward()
    np.testing.assert_allclose(B.grad, sum(a.T @ np.ones((2, 4)) for a in A.data), rtol=1e-13)


def test_sigmoid_is_accurate_in_both_tails():
    import math

    x = np.array([-745.0, -700.0, -40.0, -1.5, 0.0, 2.0, 40.0, 800.0])
    expected = [1 / (1 + math.exp(-v)) if v > -709 else 0.0 for v in x]
    np.testing.assert_allclose(tr.Tensor(x).sigmoid().data, expected, rtol=1e-15, atol=0)


def test_stepping_past_the_end_says_the_pass_is_done():
    x = tr.Tensor([1.0, 2.0], requires_grad=True)
    run = tr.BackwardPass((x * x).sum(), np.ones(()))
    run.run()
    assert run.done and x.grad.tolist() == [2.0, 4.0]
    with pytest.raises(RuntimeError, match="backward pass is done"):
        run.step()


def test_backward_leaves_the_garbage_collector_as_it_found_it():
    import gc

    x = tr.Tensor([1.0, -1.0], requires_grad=True)
    assert gc.isenabled()
    (x * x).sum().backward()
    assert gc.isenabled()
    z = tr.Tensor([0.0, 1.0], requires_grad=True)
    with tr.detect_anomaly(), np.errstate(divide="ignore"), pytest.raises(tr.AnomalyError, match="gradient"):
        (z**0.5).sum().backward()  # finite forward, infinite gradient at 0: raises inside the walk
    assert gc.isenabled()
    gc.disable()
    try:
        (x * x).sum().backward()
        assert not gc.isenabled()  # a user who turned it off keeps it off
    finally:
        gc.enable()
