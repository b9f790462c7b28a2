"""to_sympy: every primitive op round-trips (same forward value, sympy.diff == backward)."""

import numpy as np
import pytest
import sympy as sp

import tinygrad_rnn as tr
from tinygrad_rnn.symbolic import to_sympy

rng = np.random.default_rng(0)
A0 = rng.uniform(0.2, 1.5, (2, 3))  # positive: log and pow stay real
B0 = rng.uniform(-1, 1, (3, 2))

CASES = {
    "add": lambda A, B: (A + 2.0).sum(),
    "sub": lambda A, B: (A - B.T).sum(),
    "mul": lambda A, B: (A * B.T * A).sum(),
    "div": lambda A, B: (B.T / A).sum(),
    "neg": lambda A, B: (-A).sum(),
    "pow": lambda A, B: (A**3 + A**0.5).sum(),
    "matmul": lambda A, B: (A @ B).sum(),
    "matvec": lambda A, B: tr.matmul(A, B[:, 0]).sum(),
    "exp": lambda A, B: A.exp().sum(),
    "log": lambda A, B: A.log().sum(),
    "tanh": lambda A, B: B.tanh().sum(),
    "sigmoid": lambda A, B: B.sigmoid().sum(),
    "relu": lambda A, B: (B.relu() * B).sum(),
    "sum_axis": lambda A, B: (A.sum(axis=0) * A.sum(axis=1, keepdims=True)).sum(),
    "mean": lambda A, B: A.mean() + A.mean(axis=1).sum(),
    "max": lambda A, B: A.max() + A.max(axis=0).sum() + B.max(axis=1, keepdims=True).sum(),
    "reshape": lambda A, B: (A.reshape(3, 2) * B).sum(),
    "transpose": lambda A, B: (A.T * B).sum() + A.transpose(0, 1).sum(),
    "getitem": lambda A, B: A[1, 2] + A[:, 1:].sum() + A[[0, 0, 1]].sum(),
    "concat": lambda A, B: (tr.concat([A, B.T], axis=0) ** 2).sum(),
    "stack": lambda A, B: (tr.stack([A, B.T], axis=1) ** 2).sum(),
    "split": lambda A, B: sum(p.sum() * (i + 1) for i, p in enumerate(A.split([1, 2], axis=1))),
    "where": lambda A, B: tr.where(A.data > 0.8, A, A * A).sum(),
    "embedding": lambda A, B: (tr.embedding(B, np.array([[0, 2], [2, 1]])) ** 2).sum(),
    "softmax": lambda A, B: (tr.F.softmax(A, axis=1) * B.T).sum(),
    "rnn_step": lambda A, B: (A @ (B @ A[:, 0]).tanh()).sigmoid().sum(),
}


@pytest.mark.parametrize("name", list(CASES))
def test_op_round_trip(name):
    A = tr.Parameter(A0.copy(), name="A")
    B = tr.Parameter(B0.copy(), name="B")
    out = CASES[name](A, B)
    g = to_sympy(out)
    assert abs(float(g.evaluate(g.scalar())) - out.item()) < 1e-12
    table = g.check()
    assert table.ok(1e-8), table.text()
    assert A.grad is None and B.grad is None  # the check leaves the user's .grad alone


def test_symbols_are_named_after_leaves_and_constants_are_numbers():
    W = tr.Parameter(np.array([[2.0]]), name="W_hh")
    x = tr.Tensor(np.array([[3.0]]))
    g = to_sympy((W @ x).sum())
    w = sp.Symbol("W_hh[0,0]", real=True)
    assert g.symbols["W_hh"][0, 0] == w
    assert sp.expand(g.scalar() - 3 * w) == 0
    g2 = to_sympy((W @ x).sum(), constants_as_symbols=True)
    assert set(g2.symbols) == {"W_hh", "x0"}


def test_gradient_is_sympy_diff_of_the_model():
    w = tr.Parameter(np.array(0.5), name="w")
    h = tr.Parameter(np.array(-0.3), name="h")
    out = (w * h + 1.0).tanh() * w
    g = to_sympy(out)
    ws, hs = sp.Symbol("w", real=True), sp.Symbol("h", real=True)
    expected = sp.diff(sp.tanh(ws * hs + sp.Float(1.0)) * ws, ws)  # the engine's constant 1.0 is a Float
    assert sp.expand(g.gradient("w").item() - expected) == 0
    out.backward()
    assert abs(float(g.evaluate(g.gradient("w"))) - float(w.grad)) < 1e-15


def test_repeated_names_get_suffixes():
    a = tr.Parameter(np.array(1.0), name="p")
    b = tr.Parameter(np.array(2.0), name="p")
    g = to_sympy(a * b)
    assert set(g.symbols) == {"p", "p_1"}


def test_too_large_graphs_are_refused_with_advice():
    W = tr.Parameter(np.zeros((50, 50)), name="W")
    with pytest.raises(ValueError, match="max_elements"):
        to_sympy(W.sum())


def test_non_tensor_input_is_refused():
    with pytest.raises(TypeError, match="Tensor"):
        to_sympy(np.zeros(3))


def test_repr_and_latex_are_readable():
    w = tr.Parameter(np.array(0.5), name="w")
    g = to_sympy((w * 2.0).tanh())
    assert "tanh(2.0*w)" in repr(g)
    assert r"\tanh" in g.latex() and g._repr_latex_().startswith("$")


def test_round_trip_through_an_nn_cell():
    tr.manual_seed(0)
    cell = tr.nn.GRUCell(2, 2)
    data = np.random.default_rng(1)
    h0 = tr.Tensor(data.standard_normal((1, 2)))
    h1 = cell(tr.Tensor(data.standard_normal((1, 2))), h0)
    g = to_sympy((h1 * h1).sum())
    assert set(g.symbols) == {"weight_ih", "weight_hh", "bias_ih", "bias_hh"}
    table = g.check()
    assert table.ok(1e-8), table.text()
    assert np.max(np.abs(table.rows[[r.quantity for r in table.rows].index("dL/dweight_hh")].autograd)) > 1e-3
