"""``W_hh @ h`` with a 1-D ``h`` is one recorded matmul node that keeps its operands, with PyTorch's 1-D
semantics (a 1-D left operand is a row, a 1-D right operand a column, the added axis dropped), and the
same gradients, first and second order, as the 2-D form it stands for."""

import numpy as np
import pytest

import tinygrad_rnn as tr
from tinygrad_rnn.stepper import BackwardStepper

RNG = np.random.default_rng(3)


def leaf(shape, name):
    return tr.Tensor(RNG.standard_normal(shape), requires_grad=True, name=name)


@pytest.mark.parametrize("a_shape, b_shape", [((3, 4), (4,)), ((4,), (4, 3)), ((4,), (4,)), ((2, 4), (5, 4, 3)),
                                              ((4,), (2, 4, 3)), ((2, 3, 4), (4,))])
def test_one_node_numpy_shapes_and_the_gradients_of_the_two_d_form(a_shape, b_shape):
    a, b = leaf(a_shape, "A"), leaf(b_shape, "B")
    y = a @ b
    assert y.shape == np.matmul(a.data, b.data).shape
    np.testing.assert_allclose(y.data, np.matmul(a.data, b.data))
    loss = (y * tr.Tensor(RNG.standard_normal(y.shape))).sum()
    graph = tr.trace(loss)
    assert [n.op for n in graph.nodes] == ["matmul", "mul", "sum"]  # no reshape before or after
    assert graph.nodes[0].inputs == (id(a), id(b))  # the operands themselves, not reshaped copies
    loss.backward()
    # the 2-D form: a 1-D A as a (1, k) row, a 1-D B as a (k, 1) column
    a2 = tr.Tensor(a.data.reshape(1, -1) if a.ndim == 1 else a.data, requires_grad=True)
    b2 = tr.Tensor(b.data.reshape(-1, 1) if b.ndim == 1 else b.data, requires_grad=True)
    weights = graph.nodes[1].node.inputs[1].data
    y2 = a2 @ b2
    (y2 * tr.Tensor(weights.reshape(y2.shape))).sum().backward()
    np.testing.assert_allclose(a.grad, a2.grad.reshape(a.shape), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(b.grad, b2.grad.reshape(b.shape), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("a_shape, b_shape", [((3, 4), (4,)), ((4,), (4, 3)), ((4,), (4,)), ((4,), (2, 4, 3))])
def test_gradcheck_and_gradgradcheck(a_shape, b_shape):
    a, b = leaf(a_shape, "A"), leaf(b_shape, "B")
    assert tr.gradcheck(lambda a, b: ((a @ b).tanh()).sum(), [a, b])
    assert tr.gradgradcheck(lambda a, b: (a @ b).tanh(), [a, b])


def test_the_readme_recurrence_steps_through_matmuls_not_reshapes():
    W_hh = tr.Tensor(RNG.standard_normal((3, 3)) * 0.5, requires_grad=True, name="W_hh")
    W_xh = tr.Tensor(RNG.standard_normal((3, 2)) * 0.5, requires_grad=True, name="W_xh")
    h = tr.Tensor(np.zeros(3), name="h0")
    for t in range(1, 4):
        with tr.scope(f"t{t}"):
            h = (W_hh @ h + W_xh @ tr.Tensor(RNG.standard_normal(2), name=f"x{t}")).tanh()
    events = BackwardStepper(h.sum()).run()
    assert "reshape" not in {e.op for e in events}
    first = [e.op for e in events[:8]]
    assert first == ["sum", "tanh", "add", "matmul", "matmul", "tanh", "add", "matmul"]
    text = "\n".join(map(str, events))
    assert "dL/dh₂ += dL/d(W_hh @ h₂)" not in text and "dL/dh₂ = dL/d(W_hh @ h₂) @ " not in text
    assert "W_hh @ h₂" in text and "W_xh @ x₃" in text and "#" not in text


def test_a_shape_error_names_the_shapes_the_user_wrote():
    with pytest.raises(tr.ops.ShapeError, match=r"cannot multiply \(3, 4\) @ \(5,\): inner dimensions 4 != 5"):
        tr.Tensor(np.ones((3, 4)), requires_grad=True) @ tr.Tensor(np.ones(5))
