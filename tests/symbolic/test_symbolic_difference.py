"""Difference equations (issue 17 §1, §2): classified, solved by rsolve, checked by substitution,
iteration and the engine; the matrix linear RNN's BPTT as powers of W."""

import numpy as np
import pytest
import sympy as sp

from tinygrad_rnn import cli
from tinygrad_rnn.symbolic import DifferenceEquation, LinearRNN, MatrixLinearRNN, recurrence
from tinygrad_rnn.symbolic.difference import summation_factor

n = sp.Symbol("n", integer=True)
f = sp.Function("f")


def test_the_notes_example_is_solved_and_checked():
    eq = DifferenceEquation(f, n, f(n - 1) + f(n - 2) + 2, {1: 1, 2: 2})
    assert str(eq.classify()) == "second order, linear, inhomogeneous, constant coefficients"
    solution = eq.solve()
    assert eq.residual(solution) == 0 and eq.satisfies(solution)
    first_ten = [1, 2, 5, 9, 16, 27, 45, 74, 121, 197]  # by hand: each is the two before plus 2
    assert eq.values(solution, 10) == first_ten
    assert eq.iterate(10) == first_ten
    assert not eq.satisfies(solution + 1)  # substitution catches a wrong closed form
    assert not eq.satisfies(solution.subs(n, n + 1))  # right recurrence, wrong initial conditions


@pytest.mark.parametrize(
    "rhs, expected",
    [
        (f(n - 1) ** 2, "first order, nonlinear"),
        (sp.sin(f(n - 1)), "first order, nonlinear"),
        (f(n - 1) * f(n - 2), "second order, nonlinear"),
        (n * f(n - 1), "first order, linear, homogeneous, variable coefficients"),
        (2 * f(n - 1) - f(n - 2), "second order, linear, homogeneous, constant coefficients"),
        (f(n - 3) + n**2, "third order, linear, inhomogeneous, constant coefficients"),
    ],
)
def test_classification_follows_the_notes_definitions(rhs, expected):
    assert str(DifferenceEquation(f, n, rhs).classify()) == expected


def test_solve_refuses_what_rsolve_is_not_used_for():
    with pytest.raises(ValueError, match="nonlinear"):
        DifferenceEquation(f, n, f(n - 1) ** 2, {0: 2}).solve()
    with pytest.raises(ValueError, match="needs 2 initial conditions"):
        DifferenceEquation(f, n, f(n - 1) + f(n - 2), {0: 1}).solve()
    with pytest.raises(ValueError, match="not an earlier value"):
        DifferenceEquation(f, n, f(n + 1))


def test_summation_factor_solves_the_bptt_recurrence_and_is_the_packages_closed_form():
    solution, residual = summation_factor()
    assert residual == 0
    k = recurrence.k
    for m in range(1, 6):
        ours = recurrence.closed_form(sp.Integer(m)).doit().subs(recurrence.a[0], 0)
        assert sp.cancel(solution.subs(k, m).doit().subs(sp.Symbol("z_0"), 0) - ours) == 0


@pytest.mark.parametrize("w", [0.5, 0.95, 1.05, -1.1])
def test_linear_rnn_closed_forms_equal_autograd(w):
    model = LinearRNN(steps=30, seed=3, w=w)
    cf = model.closed_form_values()
    L, hs, params, _ = model.engine()
    L.backward()
    np.testing.assert_allclose(cf["h"], [float(h.data) for h in hs], rtol=1e-12, atol=1e-12)
    for name, key in (("w", "dL/dw"), ("u", "dL/du"), ("h0", "dL/dh0")):
        assert cf[key] == pytest.approx(float(params[name].grad), rel=1e-12, abs=1e-12)
    assert model.check().ok()


def test_linear_rnn_identities_and_the_vanishing_exploding_table():
    assert LinearRNN.identities(up_to=4) == {"substitution": True, "rsolve": True, "diff": True}
    reach = LinearRNN.reach(ws=(0.5, 1.1), distances=(1, 10))
    np.testing.assert_allclose(reach, [[0.5, 0.5**10], [1.1, 1.1**10]], rtol=1e-12)


@pytest.mark.parametrize("hidden", [2, 3])
def test_matrix_linear_rnn_adjoints_are_powers_of_w_transpose(hidden):
    model = MatrixLinearRNN(hidden=hidden, steps=6, seed=1)
    L, hs, params = model.engine()
    L.backward()
    closed = model.hidden_gradients()
    auto = np.array([h.grad for h in hs])
    assert np.max(np.abs(closed - auto)) <= 1e-12 * max(1.0, np.max(np.abs(auto)))
    table = model.check()
    assert table.ok(), table.text()
    m = np.arange(4)
    np.testing.assert_allclose(model.powers(m), [np.linalg.matrix_power(model.W.T, k) for k in m], atol=1e-12)


def test_the_spectral_radius_decides_vanishing_or_exploding():
    shrink, _, grow = MatrixLinearRNN.fate(hidden=3, radii=(0.8, 1.0, 1.2))
    assert shrink < 0.8**29 * 3 and shrink < 0.01
    assert grow > 1.2**29 / 3 and grow > 50


def test_cli_derive_difference_prints_it_all(capsys):
    assert cli.main(["derive", "--difference", "--steps", "4", "--check"]) == 0
    out = capsys.readouterr().out
    assert "second order, linear, inhomogeneous, constant coefficients" in out
    assert "1  2  5  9  16  27  45  74  121  197" in out
    assert "first order, linear, inhomogeneous, variable coefficients" in out
    assert "|w| < 1 vanishes and |w| > 1 explodes" in out
    assert "check: linear RNN, H = 3, T = 4" in out and "FAILED" not in out
    assert cli.main(["derive", "--difference", "--markdown"]) == 0
    md = capsys.readouterr().out
    assert md.startswith("### A difference equation of the notes") and "| closed form | 1 | 2 | 5 |" in md


def test_long_difference_check_stays_finite_and_passes(capsys):
    """ρ(W) = 1.46 at T = 400 would make L ~ 1e130 and finite differences meaningless: W is rescaled."""
    assert cli.main(["derive", "--difference", "--steps", "400", "--seed", "2", "--check"]) == 0
    out = capsys.readouterr().out
    assert "FAILED" not in out and "nan" not in out and "rescaled to" in out
    model = MatrixLinearRNN(hidden=3, steps=400, seed=2)
    assert model.scaled and MatrixLinearRNN.spectral_radius(model.W) ** 400 == pytest.approx(10)
