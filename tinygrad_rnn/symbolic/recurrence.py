"""The recurrence behind BPTT, its closed form, and a proof that they agree.

For h_t = f(x_t, h_{t-1}, w_h) the chain rule gives

    dh_t/dw_h = df/dw_h + df/dh_{t-1} * dh_{t-1}/dw_h,

a first-order linear recurrence. Name it z_k = a_k + b_k z_{k-1} with
z_0 = a_0 = 0 (h_0 does not depend on w_h). Unrolling it gives the closed form

    z_k = a_k + sum_{i=0}^{k-1} (prod_{j=i+1}^{k} b_j) a_i :

the gradient at step k is the sum of every earlier direct effect a_i, carried
forward by the product of the b's in between. A long product of factors
|b_j| < 1 is why gradients vanish; of factors > 1, why they explode.
"""

from __future__ import annotations

import sympy as sp

from .report import Derivation, Equation, Tex, latex

a = sp.IndexedBase("a")
b = sp.IndexedBase("b")
z = sp.IndexedBase("z")
k = sp.Symbol("k", integer=True, positive=True)
i = sp.Symbol("i", integer=True, nonnegative=True)
j = sp.Symbol("j", integer=True, positive=True)


def recurrence(n: sp.Expr = k) -> sp.Eq:
    """z_n = a_n + b_n z_{n-1} as a SymPy equation."""
    return sp.Eq(z[n], a[n] + b[n] * z[n - 1])


def closed_form(n: sp.Expr = k, a_: sp.IndexedBase = a, b_: sp.IndexedBase = b) -> sp.Expr:
    """a_n + Sum_{i=0}^{n-1} (Product_{j=i+1}^{n} b_j) a_i, unevaluated (Sum and Product objects)."""
    return a_[n] + sp.Sum(sp.Product(b_[j], (j, i + 1, n)) * a_[i], (i, 0, n - 1))


def _split_last(expr: sp.Expr) -> sp.Expr:
    """Sum/Product over lo..hi  ->  (same over lo..hi-1) (+ or *) its last term (the definition)."""
    (v, lo, hi) = expr.limits[0]
    last = expr.function.subs(v, hi)
    if isinstance(expr, sp.Sum):
        return sp.Sum(expr.function, (v, lo, hi - 1)) + last
    return sp.Product(expr.function, (v, lo, hi - 1)) * last


def induction_proof() -> tuple[bool, list[tuple[str, sp.Expr]]]:
    """Prove z_k = closed_form(k) for every k >= 0 by induction.

    Base case: closed_form(0) = a_0 = 0 = z_0. Induction step: assume
    z_{k-1} = closed_form(k-1); then z_k = a_k + b_k closed_form(k-1), so it
    suffices that  closed_form(k) - a_k - b_k closed_form(k-1) = 0. Split the
    last term (i = k-1, whose product is just b_k) off the sum, split the last
    factor b_k off every remaining product, and SymPy cancels the rest.

    Returns (proved, steps) with steps = [(what was done, the residual expression)].
    """
    base = closed_form(sp.Integer(0)).doit().subs(a[0], 0)
    residual = closed_form(k) - (a[k] + b[k] * closed_form(k - 1))
    steps = [("base case: closed form at $k = 0$, with $a_0 = 0$", base), ("induction step residual", residual)]
    the_sum = next(arg for arg in closed_form(k).args if isinstance(arg, sp.Sum))
    peeled = _split_last(the_sum).doit(deep=False)
    peeled = peeled.replace(lambda e: isinstance(e, sp.Product) and e.limits[0][2] == k, lambda e: e.doit())
    residual = residual.subs(the_sum, peeled)
    steps.append(("split off the sum's last term, $i = k-1$, whose product is $b_k$", residual))
    residual = residual.replace(lambda e: isinstance(e, sp.Product) and e.limits[0][2] == k, _split_last)
    residual = residual.replace(
        lambda e: isinstance(e, sp.Product) and e.limits[0][1] == e.limits[0][2], lambda e: e.doit()
    )
    steps.append(("split the last factor $b_k$ off every remaining product", residual))
    simplified = sp.simplify(residual)
    steps.append(("simplify ($b_k$ factors out of the sum and cancels)", simplified))
    return bool(base == 0 and simplified == 0), steps


def unroll(n: int) -> sp.Expr:
    """z_n obtained by applying the recurrence n times from z_0 = 0 (explicit, no Sum)."""
    value: sp.Expr = sp.Integer(0)
    for m in range(1, n + 1):
        value = a[m] + b[m] * value
    return value


def unrolled_equality(K: int) -> list[bool]:
    """For k = 1..K: does expand(unroll(k) - closed_form(k)) vanish (with a_0 = 0)?"""
    return [sp.expand(unroll(n) - closed_form(sp.Integer(n)).doit().subs(a[0], 0)) == 0 for n in range(1, K + 1)]


def derivation(K: int = 4) -> Derivation:
    """The recurrence, its closed form, the induction proof and the unrolled check up to K."""
    proved, steps = induction_proof()
    d = Derivation("The BPTT recurrence and its closed form")
    d.add(
        "The chain rule through one step, $h_t = f(x_t, h_{t-1}, w_h)$, gives a linear recurrence:",
        Equation(
            Tex(r"\frac{\partial h_t}{\partial w_h}", "∂h_t/∂w_h"),
            Tex(
                r"\frac{\partial f(x_t, h_{t-1}, w_h)}{\partial w_h} + "
                r"\frac{\partial f(x_t, h_{t-1}, w_h)}{\partial h_{t-1}}"
                r"\frac{\partial h_{t-1}}{\partial w_h}",
                "∂f/∂w_h + ∂f/∂h_{t-1} · ∂h_{t-1}/∂w_h",
            ),
        ),
    )
    d.add(
        r"Name the pieces $a_k = \partial f/\partial w_h$, $b_k = \partial f/\partial h_{k-1}$, "
        r"$z_k = \partial h_k/\partial w_h$, with $z_0 = a_0 = 0$. "
        "(d2l's BPTT chapter writes the same recurrence as $a_t = b_t + c_t a_{t-1}$: "
        "our $z$, $a$, $b$ are its $a$, $b$, $c$.)",
        Equation(z[k], recurrence().rhs),
    )
    d.add("Unrolling it gives the closed form:", Equation(z[k], closed_form()))
    # ε_k, not r_k: r_t is the GRU's reset gate (docs/notation.md)
    residual = Tex(r"\varepsilon_k", "ε_k")
    d.add(
        "**Proof by induction.** Base case: the closed form at $k = 0$ is $a_0 = 0 = z_0$. "
        "Induction step: if $z_{k-1}$ equals the closed form, then $z_k = a_k + b_k z_{k-1}$, "
        "so the residual $\\varepsilon_k$ below must vanish:",
        Equation(residual, steps[1][1]),
    )
    for what, expr in steps[2:]:
        d.add(what[0].upper() + what[1:] + ":", Equation(residual, expr))
    d.add(f"Induction proof: {'proved' if proved else 'FAILED'} (the last residual is ${latex(steps[-1][1])}$).")
    equal = unrolled_equality(K)
    d.add(
        f"Unrolled check: applying the recurrence $k$ times equals the closed form for $k = 1, \\dots, {K}$: "
        f"{'yes' if all(equal) else 'NO'}. For example:",
        Equation(z[min(K, 3)], unroll(min(K, 3)).expand()),
    )
    return d
