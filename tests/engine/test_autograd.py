"""The graph walk: deep graphs, accumulation, no_grad, detach, anomaly mode, scopes, trace."""

import numpy as np
import pytest

import tinygrad_rnn as tr


def test_gradients_accumulate_when_a_tensor_is_reused():
    a = tr.Tensor([2.0], requires_grad=True)
    b = a + a
    c = b + b
    c.backward()
    assert a.grad.tolist() == [4.0]
    assert b.grad.tolist() == [2.0]  # intermediate gradients stay inspectable


def test_leaf_gradients_accumulate_across_backward_calls_like_pytorch():
    w = tr.Tensor([3.0], requires_grad=True)
    (w * 2.0).sum().backward()
    (w * 5.0).sum().backward()
    assert w.grad.tolist() == [7.0]


def test_backward_does_not_write_into_shared_upstream_arrays():
    # add passes the same upstream array to both inputs; a later in-place
    # accumulation must not leak into the other branch
    x = tr.Tensor([1.0, 2.0], requires_grad=True)
    y = x * 3.0
    z = y + y
    w = z + y
    w.sum().backward()
    assert x.grad.tolist() == [9.0, 9.0]
    assert z.grad.tolist() == [1.0, 1.0]


def test_chain_of_ten_thousand_ops_backpropagates():
    x = tr.Tensor([0.5], requires_grad=True)
    y = x
    for _ in range(10_000):
        y = y * 1.0001
    y.backward()
    assert x.grad[0] == pytest.approx(1.0001**10_000, rel=1e-9)


def test_rnn_unrolled_ten_thousand_steps_backpropagates():
    rng = np.random.default_rng(0)
    W = tr.Parameter(rng.standard_normal((4, 4)) * 0.3, name="W_hh")
    U = tr.Parameter(rng.standard_normal((4, 1)) * 0.3, name="W_xh")
    xs = rng.standard_normal((10_000, 1, 1))
    h = tr.Tensor(np.zeros((4, 1)))
    for t in range(10_000):
        h = (W @ h + U @ xs[t]).tanh()
    h.sum().backward(retain_grads=False)
    assert W.grad.shape == (4, 4) and np.all(np.isfinite(W.grad))
    assert h.grad is None  # retain_grads=False keeps no intermediate gradients


def test_backward_on_non_scalar_needs_a_gradient():
    y = tr.Tensor(np.ones(3), requires_grad=True) * 2.0
    with pytest.raises(RuntimeError, match=r"non-scalar tensor of shape \(3,\)"):
        y.backward()
    y.backward(np.array([1.0, 2.0, 3.0]))
    with pytest.raises(ValueError, match="grad has shape"):
        y.backward(np.ones(4))


def test_no_grad_records_nothing():
    w = tr.Tensor([1.0], requires_grad=True)
    with tr.no_grad():
        y = w * 2.0
        with tr.enable_grad():
            z = w * 3.0
    assert y.op is None and not y.requires_grad
    assert z.op == "mul"
    assert tr.is_grad_enabled()
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.backward()


def test_detach_cuts_the_graph_for_truncated_bptt():
    w = tr.Tensor([2.0], requires_grad=True)
    h = w * 3.0
    h_cut = h.detach()
    loss = (h_cut * w).sum()
    loss.backward()
    assert w.grad.tolist() == [6.0]  # only the direct path; nothing flows through h
    assert len(tr.trace(loss)) == 2  # mul and sum: the earlier step is not in the graph


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_anomaly_mode_names_the_first_op_that_makes_nan():
    x = tr.Tensor([-1.0, 1.0], requires_grad=True, name="x")
    with tr.detect_anomaly():
        with pytest.raises(tr.AnomalyError, match=r"log at scope 'rnn/t2'.*input shapes \(2,\)"):
            with tr.scope("rnn"), tr.scope("t2"):
                (x * 2.0).log()
    y = (x * 2.0).log()  # outside anomaly mode: a NaN is just a number
    assert np.isnan(y.data[0])


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_anomaly_mode_catches_nan_in_backward():
    x = tr.Tensor([0.0], requires_grad=True)
    with tr.detect_anomaly():
        y = (x * x) ** 0.5  # forward is fine (0), backward divides by 0
        with pytest.raises(tr.AnomalyError, match="gradient of pow"):
            y.sum().backward()


def test_scopes_nest_and_are_recorded_on_nodes():
    w = tr.Tensor(np.ones((2, 2)), requires_grad=True)
    with tr.scope("lstm"), tr.scope("l0"), tr.scope("fwd"), tr.scope("t3"):
        with tr.scope("forget_gate"):
            f = (w @ w).sigmoid()
        assert tr.current_scope() == "lstm/l0/fwd/t3"
    assert tr.current_scope() == ""
    assert f._node.scope == "lstm/l0/fwd/t3/forget_gate"
    with pytest.raises(ValueError, match="no '/'"):
        with tr.scope("a/b"):
            pass


def test_trace_returns_the_graph_as_data():
    W = tr.Parameter(np.eye(2), name="W_hh")
    x = tr.Tensor(np.ones((2, 1)), name="x")
    h = tr.Tensor(np.zeros((2, 1)), name="h0")
    for t in (1, 2):
        with tr.scope(f"t{t}"):
            h = (W @ h + x).tanh()
    loss = h.sum()
    g = tr.trace(loss)
    assert [n.op for n in g.nodes] == ["matmul", "add", "tanh", "matmul", "add", "tanh", "sum"]
    assert g.scopes() == ["t1", "t2", ""]
    assert g.root == id(loss)
    kinds = {rec.name: rec.kind for rec in g.tensors.values() if rec.name}
    assert kinds == {"W_hh": "parameter", "x": "constant", "h0": "constant"}
    assert g.tensors[id(W)].consumers == [0, 3]  # W_hh is reused at both steps
    for node in g.nodes:  # inputs come before the node that reads them
        for tid in node.inputs:
            producer = g.tensors[tid].producer
            assert producer is None or producer < node.index
    assert g.nodes[2].formula.startswith("d tanh(x)/dx")
    assert "y" in g.nodes[2].node.saved()  # tanh saved its output for backward


def test_multi_output_op_records_one_node():
    x = tr.Tensor(np.arange(4.0), requires_grad=True)
    a, b = x.split(2)
    loss = (a * b).sum()
    g = tr.trace(loss)
    assert [n.op for n in g.nodes].count("split") == 1
    split = next(n for n in g.nodes if n.op == "split")
    assert split.outputs == (id(a), id(b))


def test_backward_pass_steps_equal_backward():
    rng = np.random.default_rng(1)
    W = tr.Parameter(rng.standard_normal((3, 3)))
    h = tr.Tensor(rng.standard_normal(3))
    for _ in range(3):
        h = (W @ h).tanh()
    loss = h.sum()
    loss.backward()
    expected = W.grad.copy()
    W.grad = None
    run = tr.BackwardPass(loss, np.ones(()))
    steps = 0
    while not run.done:
        run.step()
        steps += 1
    assert steps == len(tr.trace(loss))
    np.testing.assert_array_equal(W.grad, expected)


def test_float32_stays_float32():
    x = tr.Tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    y = ((x * 2.0 + 1) / 3.0).tanh().sum()
    y.backward()
    assert y.dtype == np.float32 and x.grad.dtype == np.float32


def test_default_dtype_switch():
    assert tr.Tensor([1.0]).dtype == np.float64
    tr.set_default_dtype("float32")
    try:
        assert tr.Tensor([1.0]).dtype == np.float32
    finally:
        tr.set_default_dtype(np.float64)
    with pytest.raises(TypeError, match="unknown dtype 'float7'"):
        tr.set_default_dtype("float7")


def test_reflected_operators_with_scalars_and_arrays():
    x = tr.Tensor([1.0, 2.0], requires_grad=True)
    for y in (2.0 - x, np.array([2.0, 2.0]) - x, 2.0 / x, np.ones(2) * x, 1 + x, np.eye(2) @ x):
        assert isinstance(y, tr.Tensor)
    np.testing.assert_array_equal((np.array([2.0, 2.0]) - x).data, [1.0, 0.0])
    np.testing.assert_array_equal((2.0 / x).data, [2.0, 1.0])


def test_tensor_conveniences():
    x = tr.Tensor([[1.0, 2.0]], name="x")
    assert tr.Tensor([3.5]).item() == 3.5
    with pytest.raises(ValueError, match="one element"):
        x.item()
    assert x.numpy() is x.data
    assert "name='x'" in repr(x)
    y = tr.Tensor([1.0], requires_grad=True) * 2.0
    assert "op='mul'" in repr(y)
    assert y.detach().op is None and not y.detach().requires_grad


# ---------------------------------------------------------------------------
# Errors a student can act on


def test_matmul_shape_error_names_op_shapes_and_scope():
    a, b = tr.Tensor(np.ones((3, 4))), tr.Tensor(np.ones((5, 2)))
    with tr.scope("rnn"), tr.scope("t2"):
        with pytest.raises(tr.ShapeError) as info:
            a @ b
    message = str(info.value)
    assert "matmul" in message and "(3, 4)" in message and "(5, 2)" in message
    assert "rnn/t2" in message
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_broadcast_and_concat_errors():
    with pytest.raises(tr.ShapeError, match=r"add: shapes \(3, 4\) and \(5, 2\) cannot be broadcast"):
        tr.Tensor(np.ones((3, 4))) + tr.Tensor(np.ones((5, 2)))
    with pytest.raises(tr.ShapeError, match=r"concat: .*\(2, 3\), \(2, 4\)"):
        tr.concat([tr.Tensor(np.ones((2, 3))), tr.Tensor(np.ones((2, 4)))], axis=0)


def test_integer_tensor_cannot_require_grad():
    with pytest.raises(TypeError, match="only floating-point tensors can require gradients"):
        tr.Tensor([1, 2, 3], requires_grad=True)
    assert tr.Tensor([1, 2, 3], dtype="float64", requires_grad=True).dtype == np.float64


def test_unknown_dtype():
    with pytest.raises(TypeError, match="unknown dtype 'banana'"):
        tr.Tensor([1.0], dtype="banana")


def test_out_of_range_index():
    with pytest.raises(IndexError, match=r"getitem: index 5 is out of bounds .*shape \(3, 4\)"):
        tr.Tensor(np.ones((3, 4)))[5]
    with pytest.raises(IndexError, match=r"token ids must be in \[0, 3\)"):
        tr.embedding(tr.Tensor(np.ones((3, 2))), np.array([0, 7]))


def test_pow_needs_a_number_exponent():
    x = tr.Tensor([1.0])
    with pytest.raises(TypeError, match="exponent must be a Python number"):
        x ** x


def test_gradcheck_names_the_worst_element():
    class Wrong(tr.ops.Op):
        name = "wrong"

        def forward(self, x):
            return x * x

        def backward(self, g):
            return (g * 3.0,)  # should be 2x

    x = tr.Tensor(np.array([1.0, 2.0]), requires_grad=True, name="x")
    with pytest.raises(tr.GradcheckError, match=r"input 0 \('x'\) at index \(1,\)"):
        tr.gradcheck(lambda t: Wrong.apply(t), [x])
    assert tr.gradcheck(lambda t: Wrong.apply(t), [x], raise_exception=False) is False
    with pytest.raises(TypeError, match="float64"):
        tr.gradcheck(lambda t: t * 2, [tr.Tensor(np.ones(2, dtype=np.float32), requires_grad=True)])
