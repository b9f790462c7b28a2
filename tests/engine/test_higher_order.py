"""create_graph, tr.grad, second derivatives and the special-point gradients.

PyTorch's numbers come from tests/fixtures/double_backward.npz, written by
tests/fixtures/make_double_backward_fixture.py (PyTorch is not needed here).
"""

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_rnn as tr
from tinygrad_rnn import ops

FIXTURE = np.load(Path(__file__).resolve().parents[1] / "fixtures" / "double_backward.npz", allow_pickle=False)


def leaf(array, name=None):
    return tr.Tensor(np.array(array, dtype=np.float64), requires_grad=True, name=name)


# --- every primitive, second order ---------------------------------------------------------

def _positive(rng, shape):
    return np.abs(rng.standard_normal(shape)) + 0.5


PRIMITIVES = {
    # name: (function, input shapes from (m, n), positive inputs?)
    "add": (lambda a, b: a + b, lambda m, n: [(m, n), (n,)], False),
    "sub": (lambda a, b: a - b, lambda m, n: [(m, n), (m, 1)], False),
    "mul": (lambda a, b: a * b, lambda m, n: [(m, n), (n,)], False),
    "div": (lambda a, b: a / b, lambda m, n: [(m, n), (n,)], True),
    "neg": (lambda a: -a * a, lambda m, n: [(m, n)], False),
    "pow": (lambda a: a**3, lambda m, n: [(m, n)], False),
    "pow_fractional": (lambda a: a**1.5, lambda m, n: [(m, n)], True),
    "matmul": (lambda a, b: a @ b, lambda m, n: [(m, n), (n, 2)], False),
    "matmul_batched": (lambda a, b: a @ b, lambda m, n: [(2, m, n), (n, 3)], False),
    "exp": (lambda a: a.exp(), lambda m, n: [(m, n)], False),
    "log": (lambda a: a.log(), lambda m, n: [(m, n)], True),
    "tanh": (lambda a: a.tanh(), lambda m, n: [(m, n)], False),
    "sigmoid": (lambda a: a.sigmoid(), lambda m, n: [(m, n)], False),
    "relu": (lambda a: a.relu() * a, lambda m, n: [(m, n)], False),
    "sum": (lambda a: a.sum(axis=1) ** 2, lambda m, n: [(m, n)], False),
    "mean": (lambda a: a.mean(axis=0) * a, lambda m, n: [(m, n)], False),
    "max": (lambda a: a.max(axis=1) ** 2, lambda m, n: [(m, n)], False),
    "reshape": (lambda a: a.reshape(-1) ** 2, lambda m, n: [(m, n)], False),
    "transpose": (lambda a: a.T**2, lambda m, n: [(m, n)], False),
    "getitem": (lambda a: a[::2] ** 2, lambda m, n: [(m, n)], False),
    "getitem_repeated": (lambda a: a[np.array([0, 0, -1])] ** 2, lambda m, n: [(m, n)], False),
    "concat": (lambda a, b: tr.concat([a, b], axis=1) ** 2, lambda m, n: [(m, n), (m, 2)], False),
    "stack": (lambda a, b: tr.stack([a, b], axis=-1) ** 2, lambda m, n: [(m, n), (m, n)], False),
    "split": (lambda a: tr.split(a, [1, a.shape[1] - 1], axis=1)[1] ** 2, lambda m, n: [(m, n + 1)], False),
    "where": (lambda a, b: tr.where(np.arange(a.shape[-1]) % 2 == 0, a, b) ** 2, lambda m, n: [(m, n), (n,)],
              False),
    "embedding": (lambda w: tr.embedding(w, np.array([[0, 1], [1, 0]])) ** 2, lambda m, n: [(m + 1, n)], False),
    "scatter_add": (lambda g: ops.ScatterAdd.apply(g, shape=(4, g.shape[1]), index=np.array([0, 0, 2])[:g.shape[0]])
                    ** 2, lambda m, n: [(min(m, 3), n)], False),
    "broadcast_to": (lambda g: ops.BroadcastTo.apply(g, shape=(2,) + g.shape) ** 2, lambda m, n: [(m, n)], False),
}


def test_every_primitive_is_covered():
    names = {cls.name for cls in ops.Op.__subclasses__() if cls.__module__ == ops.__name__}
    covered = {name if name in names else name.split("_")[0] for name in PRIMITIVES}
    assert names <= covered, f"no second-order check for {names - covered}"


@pytest.mark.parametrize("name", sorted(PRIMITIVES))
@settings(max_examples=3, deadline=None)
@given(m=st.integers(1, 3), n=st.integers(1, 3), seed=st.integers(0, 2**16))
def test_gradgradcheck_primitive(name, m, n, seed):
    fn, shapes, positive = PRIMITIVES[name]
    rng = np.random.default_rng(seed)
    inputs = [leaf(_positive(rng, s) if positive else rng.standard_normal(s)) for s in shapes(m, n)]
    if name == "max":  # no ties: the max is not differentiable where two elements are equal
        inputs[0].data[...] = rng.permutation(inputs[0].size).reshape(inputs[0].shape) + rng.random(inputs[0].shape)
    if name == "relu":  # away from the kink at 0
        inputs[0].data[np.abs(inputs[0].data) < 0.1] += 0.5
    assert tr.gradgradcheck(fn, inputs)


@pytest.mark.parametrize("cell", ["RNNCell", "LSTMCell", "GRUCell"])
@settings(max_examples=3, deadline=None)
@given(batch=st.integers(1, 2), size=st.integers(1, 3), seed=st.integers(0, 2**16))
def test_gradgradcheck_cells(cell, batch, size, seed):
    rng = np.random.default_rng(seed)
    module = getattr(tr.nn, cell)(2, size, rng=seed)
    params = list(module.parameters())
    x = leaf(rng.standard_normal((batch, 2)), "x")
    h = leaf(rng.standard_normal((batch, size)), "h")

    def fn(x, h, *weights):
        out = module(x, (h, h * 0.5) if cell == "LSTMCell" else h)
        return out[0] + out[1] if cell == "LSTMCell" else out

    assert tr.gradgradcheck(fn, [x, h, *params])


# --- first order through the recording path ------------------------------------------------

@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_recorded_gradients_equal_backward(kind):
    rng = np.random.default_rng(3)
    module = getattr(tr.nn, kind)(3, 4, num_layers=2, bidirectional=True, rng=3)
    x = leaf(rng.standard_normal((5, 2, 3)), "x")
    out, _ = module(x)
    loss = (out * rng.standard_normal(out.shape)).sum()
    params = list(module.parameters())
    recorded = tr.grad(loss, params + [x], create_graph=True)
    plain = tr.grad(loss, params + [x])
    loss.backward()
    for p, r, g in zip(params + [x], recorded, plain):
        assert r.requires_grad and not g.requires_grad
        np.testing.assert_allclose(r.data, p.grad, rtol=1e-13, atol=1e-13)
        np.testing.assert_array_equal(g.data, p.grad)


def test_backward_create_graph_writes_tensors_that_accumulate():
    w = leaf([0.5, -1.0], "w")
    loss = (w**3).sum()
    loss.backward(create_graph=True)
    assert isinstance(w.grad, tr.Tensor) and w.grad.requires_grad
    np.testing.assert_allclose(w.grad.data, 3 * w.data**2)
    (w**3).sum().backward(create_graph=True)  # leaves accumulate, as in PyTorch
    np.testing.assert_allclose(w.grad.data, 6 * w.data**2)
    (d2,) = tr.grad(w.grad.sum(), [w])
    np.testing.assert_allclose(d2.data, 12 * w.data)


def test_grad_leaves_dot_grad_alone_and_explains_mistakes():
    w, unused = leaf([1.0, 2.0], "w"), leaf([3.0], "unused")
    loss = (w * w).sum()
    (g,) = tr.grad(loss, [w])
    np.testing.assert_array_equal(g.data, [2.0, 4.0])
    assert w.grad is None
    with pytest.raises(RuntimeError, match="'unused'.*not used.*allow_unused=True"):
        tr.grad(loss, [w, unused])
    assert tr.grad(loss, [w, unused], allow_unused=True)[1] is None
    with pytest.raises(RuntimeError, match="does not require grad"):
        tr.grad(loss, [tr.Tensor([1.0])])
    with pytest.raises(RuntimeError, match="needs a gradient argument"):
        tr.grad(w * w, [w])
    with pytest.raises(ValueError, match="2 outputs but 1 grad_outputs"):
        tr.grad([loss, loss], [w], [np.ones(())])


def test_grad_with_respect_to_an_intermediate_and_several_outputs():
    x = leaf([0.3, -0.7], "x")
    h = x.tanh()
    a, b = (h * h).sum(), (h * 3.0).sum()
    gh, gx = tr.grad([a, b], [h, x])
    np.testing.assert_allclose(gh.data, 2 * h.data + 3)
    np.testing.assert_allclose(gx.data, (2 * h.data + 3) * (1 - h.data**2))


# --- PyTorch: double backward through a tanh RNN ------------------------------------------

def test_double_backward_through_a_tanh_rnn_matches_pytorch():
    params = {k.split("/")[-1]: FIXTURE[k] for k in FIXTURE.files if k.startswith("rnn/param/")}
    rnn = tr.nn.RNN(3, 4, rng=0)
    rnn.load_state_dict(params)
    x = leaf(FIXTURE["rnn/x"], "x")
    out, _ = rnn(x)
    loss = (out * FIXTURE["rnn/R"]).sum()
    g_hh, g_ih = tr.grad(loss, [rnn.weight_hh_l0, rnn.weight_ih_l0], create_graph=True)
    np.testing.assert_allclose(g_hh.data, FIXTURE["rnn/g_hh"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(g_ih.data, FIXTURE["rnn/g_ih"], rtol=0, atol=1e-12)
    s = (g_hh * FIXTURE["rnn/S_hh"]).sum() + (g_ih * FIXTURE["rnn/S_ih"]).sum()
    names = [name for name, _ in rnn.named_parameters()]
    second = tr.grad(s, [p for _, p in rnn.named_parameters()] + [x])
    for name, g in zip(names + ["x"], second):
        np.testing.assert_allclose(g.data, FIXTURE[f"rnn/second/{name}"], rtol=0, atol=1e-11, err_msg=name)


# --- scopes of the recorded backward pass ------------------------------------------------

def test_backward_graph_of_a_t3_rnn_has_time_step_scopes():
    rnn = tr.nn.RNN(2, 3, rng=0)
    x = leaf(np.random.default_rng(0).standard_normal((3, 1, 2)), "x")
    out, _ = rnn(x)
    (g,) = tr.grad(out[-1].sum(), [rnn.weight_hh_l0], create_graph=True)
    forward = {n.scope for n in tr.trace(out).nodes}
    backward = [n.scope for n in tr.trace(g).nodes if n.scope.startswith("backward")]
    assert all(s.startswith("backward/") and s[len("backward/"):] in forward for s in backward)
    steps = [tr.graph.time_step(s) for s in backward if tr.graph.time_step(s) is not None]
    assert set(steps) == {tr.graph.time_step(s) for s in forward} - {None} and len(set(steps)) == 3
    assert any(s.startswith("backward/rnn/l0/fwd/t") for s in backward), backward[:3]
    # the adjoint runs right to left: the last step's rules are recorded first
    assert steps[0] == max(steps) and steps[-1] == min(steps)


# --- Hessian-vector products ---------------------------------------------------------------

def test_hvp_matches_the_hessian_and_finite_differences():
    rng = np.random.default_rng(1)
    A = rng.standard_normal((3, 3))
    x0, v = rng.standard_normal(3), rng.standard_normal(3)

    def f(x):
        return ((x @ A).tanh() * x).sum()

    value, hv = tr.hvp(f, leaf(x0), v)

    def gradient(at):
        t = leaf(at)
        return tr.grad(f(t), [t])[0].data

    eps = 1e-6
    fd = (gradient(x0 + eps * v) - gradient(x0 - eps * v)) / (2 * eps)
    np.testing.assert_allclose(hv.data, fd, rtol=1e-6, atol=1e-8)
    assert float(value.data) == pytest.approx(float(f(leaf(x0)).data))


def test_hvp_of_a_quadratic_is_exact():
    Q = np.array([[2.0, 1.0], [1.0, 3.0]])
    _, hv = tr.hvp(lambda x: (x @ Q @ x) * 0.5, leaf([0.3, 0.4]), np.array([1.0, -2.0]))
    np.testing.assert_allclose(hv.data, Q @ [1.0, -2.0], rtol=1e-15)


# --- gradients at special points (PyTorch's values) ----------------------------------------

def test_pow_zero_at_zero_has_gradient_zero():
    x = leaf(FIXTURE["pow0/x"])
    (x**0).sum().backward()
    np.testing.assert_array_equal(x.grad, FIXTURE["pow0/grad"])


def test_relu_of_minus_inf_is_zero_with_gradient_zero():
    x = leaf(FIXTURE["relu_inf/x"])
    y = x.relu()
    y.sum().backward()
    np.testing.assert_array_equal(y.data, FIXTURE["relu_inf/y"])
    np.testing.assert_array_equal(x.grad, FIXTURE["relu_inf/grad"])


def test_relu_of_nan_is_nan_and_passes_its_gradient_as_pytorch():
    x = leaf(FIXTURE["relu_nan/x"])
    y = x.relu()
    y.sum().backward()
    np.testing.assert_array_equal(y.data, FIXTURE["relu_nan/y"])
    np.testing.assert_array_equal(x.grad, FIXTURE["relu_nan/grad"])


def test_relu_sends_zero_for_an_inf_gradient_where_it_is_off():
    x = leaf(FIXTURE["relu_upstream/x"])
    x.relu().backward(FIXTURE["relu_upstream/upstream"])
    np.testing.assert_array_equal(x.grad, FIXTURE["relu_upstream/grad"])


def test_max_over_a_nan_sends_the_gradient_to_the_nan():
    x = leaf(FIXTURE["max_nan/x"])
    x.max().backward()
    np.testing.assert_array_equal(x.grad, FIXTURE["max_nan/grad"])


def test_cross_entropy_with_every_target_ignored_has_nan_loss_and_zero_gradient():
    logits = leaf(FIXTURE["ce_ignored/logits"])
    loss = tr.F.cross_entropy(logits, FIXTURE["ce_ignored/targets"].astype(int), reduction="mean")
    assert np.isnan(loss.data) and np.isnan(FIXTURE["ce_ignored/loss"])
    loss.backward()
    np.testing.assert_array_equal(logits.grad, FIXTURE["ce_ignored/grad"])


def test_special_points_hold_in_the_recorded_path_too():
    x = leaf([-np.inf, 0.0, 2.0])
    (g,) = tr.grad((x.relu() + x**0).sum(), [x], create_graph=True)
    np.testing.assert_array_equal(g.data, [0.0, 0.0, 1.0])


# --- the checks can fail -------------------------------------------------------------------

class _TanhSavingAnArray(ops.Tanh):
    """tanh whose rule reads y as a saved *array* even when recording: first order right,
    second order wrong (it misses that y depends on x)."""

    name = "tanh"
    from_outputs = ()


def test_gradgradcheck_catches_a_rule_that_does_not_record_what_it_reads():
    x = leaf([0.3, -0.8, 1.1])
    assert tr.gradcheck(lambda t: _TanhSavingAnArray.apply(t), [x])
    with pytest.raises(tr.GradcheckError, match="gradcheck failed for input 0"):
        tr.gradgradcheck(lambda t: _TanhSavingAnArray.apply(t), [x])
    assert tr.gradgradcheck(lambda t: t.tanh(), [x])


def test_stepping_the_second_backward_gives_backwards_numbers():
    rnn = tr.nn.GRU(2, 3, rng=1)
    x = leaf(np.random.default_rng(1).standard_normal((3, 1, 2)), "x")
    out, _ = rnn(x)
    (g,) = tr.grad(out.sum(), [rnn.weight_hh_l0], create_graph=True)
    (expected,) = tr.grad((g * g).sum(), [x])
    stepper = (g * g).sum().backward(step=True)
    stepper.run()
    np.testing.assert_array_equal(x.grad, expected.data)


def test_hvp_explains_mistakes():
    x = leaf([1.0, 2.0])
    with pytest.raises(ValueError, match="one-element"):
        tr.hvp(lambda t: t * t, x, np.ones(2))
    with pytest.raises(ValueError, match=r"v\[0\] has shape \(3,\)"):
        tr.hvp(lambda t: (t * t).sum(), x, np.ones(3))
    _, hv = tr.hvp(lambda t: (t * t).sum(), x, np.ones(2))
    np.testing.assert_array_equal(hv.data, [2.0, 2.0])
    assert x.grad is None


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")  # inf - inf in a matmul
def test_a_relu_rnn_fed_infinities_has_nans_exactly_where_pytorch_has_them():
    params = {k.split("/")[-1]: FIXTURE[k] for k in FIXTURE.files if k.startswith("relu_rnn_inf/param/")}
    rnn = tr.nn.RNN(2, 3, nonlinearity="relu", rng=0)
    rnn.load_state_dict(params)
    out, _ = rnn(tr.Tensor(FIXTURE["relu_rnn_inf/x"]))
    expected = FIXTURE["relu_rnn_inf/output"]
    np.testing.assert_array_equal(np.isnan(out.data), np.isnan(expected))
    np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-12)  # NaN == NaN here


def test_a_deep_chain_records_and_differentiates_its_backward_without_recursion():
    def chain(x):
        for _ in range(3000):  # deeper than Python's recursion limit
            x = x + 1e-3 * x.tanh()  # a map near the identity: the gradient neither vanishes nor explodes
        return x.sum()

    x = leaf([0.4])
    (g,) = tr.grad(chain(x), [x], create_graph=True)
    (gg,) = tr.grad(g.sum(), [x])
    eps = 1e-5
    up, down = leaf([0.4 + eps]), leaf([0.4 - eps])
    fd = (tr.grad(chain(up), [up])[0].data - tr.grad(chain(down), [down])[0].data) / (2 * eps)
    assert 0.1 < abs(gg.data[0]) < 10
    np.testing.assert_allclose(gg.data, fd, rtol=1e-5)


class _OldStyleSquare(ops.Op):
    name = "old_square"

    def forward(self, x):
        self.x = x
        return x * x

    def backward(self, g):
        return (2 * g * self.x,)


def test_an_op_without_an_array_namespace_says_how_to_make_it_recordable():
    x = leaf([1.0, 2.0])
    y = _OldStyleSquare.apply(x).sum()
    (g,) = tr.grad(y, [x])  # first order works as before
    np.testing.assert_array_equal(g.data, [2.0, 4.0])
    with pytest.raises(NotImplementedError, match=r"old_square: .*backward\(self, g, xp=NUMPY\)"):
        tr.grad(y, [x], create_graph=True)
