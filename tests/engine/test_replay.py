"""tr.compile: the replayed step gives the eager engine's numbers bit for bit."""

import numpy as np
import pytest

import tinygrad_rnn as tr


def _model(kind, bidirectional=False):
    layer = {"rnn": tr.nn.RNN, "lstm": tr.nn.LSTM, "gru": tr.nn.GRU}[kind](
        3, 4, num_layers=2, bidirectional=bidirectional, rng=0
    )

    def loss_fn(x, y):
        out, _ = layer(x)
        return tr.F.mse_loss(out, y)

    return layer, loss_fn


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_replay_equals_eager_bit_for_bit_on_new_inputs(kind, bidirectional):
    layer, loss_fn = _model(kind, bidirectional)
    step = tr.compile(loss_fn)
    params = list(layer.parameters())
    rng = np.random.default_rng(1)
    for call in range(3):  # call 0 records, 1 replays (checked), 2 replays
        x, y = rng.standard_normal((5, 2, 3)), rng.standard_normal((5, 2, 4 * (1 + bidirectional)))
        for p in params:
            p.grad = None
        replayed = step(x, y)
        replayed_grads = [p.grad.copy() for p in params]
        for p in params:
            p.grad = None
        eager = loss_fn(tr.Tensor(x), tr.Tensor(y))
        eager.backward()
        assert np.array_equal(replayed.data, eager.data), f"call {call}: loss differs"
        for p, g in zip(params, replayed_grads):
            assert np.array_equal(g, p.grad), f"call {call}: dL/d{p.name} differs"
    assert len(step.plans) == 1  # one recording for one input signature


def test_replay_follows_parameters_updated_by_an_optimizer():
    layer, loss_fn = _model("lstm")
    step = tr.compile(loss_fn)
    opt = tr.optim.SGD(layer.parameters(), lr=0.1)
    x, y = np.ones((4, 1, 3)), np.zeros((4, 1, 4))
    losses = []
    for _ in range(4):
        opt.zero_grad()
        losses.append(step(x, y).item())
        opt.step()
    assert losses[-1] < losses[0]  # training through the replay makes progress
    eager = loss_fn(tr.Tensor(x), tr.Tensor(y)).item()
    opt.zero_grad()
    assert step(x, y).item() == eager


def test_a_new_shape_records_a_new_plan():
    _, loss_fn = _model("rnn")
    step = tr.compile(loss_fn)
    step(np.ones((3, 1, 3)), np.ones((3, 1, 4)))
    step(np.ones((6, 2, 3)), np.ones((6, 2, 4)))
    assert len(step.plans) == 2


def test_a_value_computed_outside_the_ops_is_caught_by_the_check():
    w = tr.Parameter(np.ones(3))

    def loss_fn(x):
        scale = tr.Tensor(x.data.max())  # NumPy on .data: a replay would keep the first call's value
        return (w * x * scale).sum()

    step = tr.compile(loss_fn)
    step(np.array([1.0, 2.0, 3.0]))
    with pytest.raises(tr.ReplayMismatch, match="outside the engine's ops"):
        step(np.array([5.0, 1.0, 1.0]))


def test_compile_needs_a_scalar_loss():
    w = tr.Parameter(np.ones(3))
    with pytest.raises(TypeError, match="scalar loss"):
        tr.compile(lambda x: w * x)(np.ones(3))


def test_ops_without_a_template_are_replayed_through_the_ops_own_methods():
    w = tr.Parameter(np.linspace(-1.0, 1.0, 6).reshape(2, 3))

    def loss_fn(x):
        return ((x @ w).exp().log() * x.sum(axis=1, keepdims=True)).relu().sum()

    step = tr.compile(loss_fn)
    rng = np.random.default_rng(3)
    step(rng.standard_normal((4, 2)))
    w.grad = None
    x = rng.standard_normal((4, 2))
    replayed = step(x).data
    replayed_grad = w.grad.copy()
    w.grad = None
    eager = loss_fn(tr.Tensor(x))
    eager.backward()
    assert np.array_equal(replayed, eager.data) and np.array_equal(replayed_grad, w.grad)


def test_an_argument_that_requires_grad_gets_its_gradient():
    w = tr.Parameter(np.array([1.0, -2.0, 0.5]))
    step = tr.compile(lambda x: (x * w).tanh().sum())
    for _ in range(3):
        x = tr.Tensor(np.array([0.3, 0.1, -0.2]), requires_grad=True)
        step(x)
        expected = tr.Tensor(x.data, requires_grad=True)
        (expected * w).tanh().sum().backward()
        assert np.array_equal(x.grad, expected.grad)


def test_the_generated_step_can_be_read():
    w = tr.Parameter(np.ones((2, 2)), name="w")
    step = tr.compile(lambda x: (x @ w).tanh().sum())
    assert step.source() == ""
    step(np.ones((1, 2)))
    source = step.source()
    assert "np.tanh(" in source and " @ " in source and "_to_leaf(" in source  # forward and backward lines


def test_asking_for_an_arguments_gradient_records_its_own_plan():
    w = tr.Parameter(np.array([1.0, -2.0]))
    step = tr.compile(lambda x: (x * w).sum())
    step(np.array([0.5, 0.25]))
    x = tr.Tensor(np.array([0.5, 0.25]), requires_grad=True)
    step(x)
    assert len(step.plans) == 2 and np.array_equal(x.grad, w.data)
