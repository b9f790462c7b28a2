"""to_sympy of a recorded gradient: it is sympy.diff of the loss, and the closed form z_k."""

import numpy as np
import sympy as sp

import tinygrad_rnn as tr
from tinygrad_rnn.symbolic import convert, scalar


def exact(t: tr.Tensor) -> sp.Expr:
    """to_sympy with every constant as the exact rational value of its float64.

    (T is a power of two below, so the one constant the engine folds in floating
    point, the mean's 1/T, is exact too.)"""
    graph = convert.to_sympy(t, constants_as_symbols=True)
    values = {}
    for name, symbols in graph.symbols.items():
        leaf = graph.leaves[name]
        if not leaf.requires_grad:
            values.update((s, sp.Rational(float(v))) for s, v in zip(symbols.reshape(-1), leaf.data.reshape(-1)))
    return graph.scalar().xreplace(values)


def test_recorded_gradient_of_a_scalar_rnn_is_sympy_diff_and_the_closed_form():
    T = 4
    model = scalar.ScalarRNN(T)
    v = scalar.Values.random(T, seed=0)
    L, _, params = model.engine(v)
    (g,) = tr.grad(L, [params["w_h"]], create_graph=True)
    assert any(n.scope.startswith("backward/rnn/l0/fwd/t") for n in tr.trace(g).nodes)

    by_backward = exact(g)
    by_sympy = sp.diff(exact(L), scalar.w_h)
    assert sp.expand(by_backward - by_sympy) == 0

    xs, ys, h0 = model.symbols()
    data = {h0: sp.Rational(v.h0), **{s: sp.Rational(float(x)) for s, x in zip(xs + ys, np.r_[v.xs, v.ys])}}
    hs, _ = model.unrolled()
    closed_form = model.closed_form_gradient(hs).xreplace(data)
    assert sp.expand(by_backward - closed_form) == 0
    point = {s: sp.Rational(v.params[str(s)]) for s in scalar.PARAMS}
    assert float(by_backward.xreplace(point)) == float(g.data)


def test_to_sympy_of_a_second_derivative():
    x = tr.Tensor(np.array(0.5), requires_grad=True, name="x")
    (g,) = tr.grad((x * x.tanh()).sum(), [x], create_graph=True)
    (h,) = tr.grad(g, [x], create_graph=True)
    s = sp.Symbol("x", real=True)
    assert sp.simplify(convert.to_sympy(h).scalar() - sp.diff(s * sp.tanh(s), s, 2)) == 0


def test_to_sympy_knows_the_ops_only_recorded_gradients_make():
    w = tr.Tensor(np.array([[1.0, 2.0], [3.0, 4.0]]), requires_grad=True, name="w")
    (g,) = tr.grad((w[np.array([0, 0])] ** 2).sum() + (w.sum(axis=0) ** 2).sum(), [w], create_graph=True)
    ops_used = {n.op for n in tr.trace(g).nodes}
    assert {"scatter_add", "broadcast_to"} <= ops_used
    expr = convert.to_sympy(g).expr
    w = convert.to_sympy(g).symbols["w"]
    for i, j in np.ndindex(2, 2):  # d/dw_ij: 2 * 2 w_0j from the repeated row 0, 2 (w_0j + w_1j) from the column
        expected = (4 * w[0, j] if i == 0 else 0) + 2 * (w[0, j] + w[1, j])
        assert sp.expand(expr[i, j] - expected) == 0
