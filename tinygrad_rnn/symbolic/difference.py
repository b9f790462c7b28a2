"""Difference equations: the frame the notes put the RNN in.

A difference equation gives the next value of a sequence from earlier ones,
f(n) = F(n, f(n-1), ..., f(n-k)). The notes classify it by

- its *order* k, how far back it reaches;
- *linear* or not: f(n) = c_1(n) f(n-1) + ... + c_k(n) f(n-k) + g(n), with the
  unknown values entering only to the first power, multiplied by coefficients;
- *homogeneous* when the forcing term g(n) is 0, *inhomogeneous* otherwise;
- *constant* or *variable* coefficients: do the c_j depend on n?

Linear constant-coefficient ones are solved by ``sympy.rsolve`` from initial
conditions. A first-order linear one with variable coefficients,
z_k = a_k + b_k z_{k-1}, is solved by the *summation factor*: divide by
P_k = b_1 ... b_k, and z_k / P_k - z_{k-1} / P_{k-1} = a_k / P_k telescopes to

    z_k = P_k (z_0 + sum_{i=1}^k a_i / P_i) = P_k z_0 + sum_{i=1}^k (prod_{j=i+1}^k b_j) a_i,

which (with z_0 = a_0 = 0) is exactly the closed form of ``recurrence``: BPTT's
recurrence is a first-order linear inhomogeneous difference equation with
variable coefficients. An RNN *is* a difference equation in h_t; the scalar
linear one, h_t = w h_{t-1} + u x_t, has constant coefficients, so its
solution and its gradient come in closed form and show why |w| < 1 vanishes
and |w| > 1 explodes: every path from x_i to h_t carries w^{t-i}.

Every solution here is checked by substitution (SymPy simplifies the residual
to 0) and against iteration of the recurrence; the linear RNN against the
engine's autograd.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy as sp
from sympy.core.function import AppliedUndef

from .. import functional, graph
from ..ops import stack
from ..tensor import Parameter, Tensor
from . import recurrence as rec
from .numeric import FD_STEP, finite_difference, recurrent_step
from .report import CheckRow, CheckTable, Derivation, Document, Equation, Table, Tex, latex

ORDINALS = {1: "first", 2: "second", 3: "third"}
# A random |w|^T (or ρ(W)^T) above this is scaled down to it. Finite differences lose about
# eps_machine |L| / step of accuracy, and L grows like the square of the state: past ~10x growth
# over T = 2000 steps they could no longer check the gradient to 1e-6.
GROWTH_LIMIT = 10.0


@dataclass
class Classification:
    """What the notes call a difference equation: order, linearity, homogeneity, coefficients."""

    order: int
    linear: bool
    homogeneous: bool | None  # None when nonlinear (the notions need the linear form)
    constant_coefficients: bool | None

    def __str__(self) -> str:
        words = [f"{ORDINALS.get(self.order, f'order-{self.order}')} order"]
        if not self.linear:
            return ", ".join([*words, "nonlinear"])
        words += ["linear", "homogeneous" if self.homogeneous else "inhomogeneous"]
        words.append("constant coefficients" if self.constant_coefficients else "variable coefficients")
        return ", ".join(words)


class DifferenceEquation:
    """f(n) = rhs, where rhs holds earlier values f(n - j) of the unknown sequence.

    ``f`` is an undefined SymPy function (``sp.Function("f")``), ``n`` the integer
    index, ``initial`` the initial conditions {n_0: f(n_0), ...}.

        n = sp.Symbol("n", integer=True); f = sp.Function("f")
        eq = DifferenceEquation(f, n, f(n - 1) + f(n - 2) + 2, {1: 1, 2: 2})
        str(eq.classify())   # 'second order, linear, inhomogeneous, constant coefficients'
        eq.solve()           # by sympy.rsolve
    """

    def __init__(self, f: sp.FunctionClass, n: sp.Symbol, rhs: sp.Expr, initial: dict[int, sp.Expr] | None = None):
        self.f, self.n, self.rhs = f, n, sp.sympify(rhs)
        self.initial = {int(k): sp.sympify(v) for k, v in (initial or {}).items()}
        self.terms = sorted(
            (a for a in self.rhs.atoms(AppliedUndef) if a.func == f), key=lambda a: sp.default_sort_key(-a.args[0])
        )
        for term in self.terms:
            shift = sp.simplify(n - term.args[0])
            if not (shift.is_Integer and shift > 0):
                raise ValueError(f"DifferenceEquation: {term} is not an earlier value f(n - j), j >= 1")

    @property
    def order(self) -> int:
        return max((int(self.n - t.args[0]) for t in self.terms), default=0)

    def classify(self) -> Classification:
        """Order, linear or not, homogeneous or not, constant or variable coefficients."""
        dummies = [sp.Dummy() for _ in self.terms]
        expr = self.rhs.xreplace(dict(zip(self.terms, dummies)))
        try:
            poly = sp.Poly(expr, *dummies) if dummies else None
        except sp.PolynomialError:
            poly = None
        linear = not dummies or (
            poly is not None and poly.total_degree() <= 1 and not any(c.has(*dummies) for c in poly.coeffs())
        )
        if not linear:
            return Classification(self.order, False, None, None)
        forcing = expr.xreplace(dict.fromkeys(dummies, 0))
        coefficients = [sp.diff(expr, d) for d in dummies]
        constant = all(not c.has(self.n) and not c.atoms(AppliedUndef) for c in coefficients)
        return Classification(self.order, True, sp.simplify(forcing) == 0, constant)

    def solve(self) -> sp.Expr:
        """The closed form by ``sympy.rsolve`` with the initial conditions (linear, constant coefficients)."""
        kind = self.classify()
        if not (kind.linear and kind.constant_coefficients):
            raise ValueError(
                f"solve: rsolve is used here for linear constant-coefficient equations; this one is {kind} "
                "(a first-order linear one with variable coefficients: use summation_factor)"
            )
        if len(self.initial) < self.order:
            raise ValueError(f"solve: an order-{self.order} equation needs {self.order} initial conditions")
        solution = sp.rsolve(self.f(self.n) - self.rhs, self.f(self.n), {self.f(k): v for k, v in self.initial.items()})
        if solution is None:
            raise ValueError(f"solve: sympy.rsolve found no closed form for {self.f(self.n)} = {self.rhs}")
        return solution

    def residual(self, solution: sp.Expr) -> sp.Expr:
        """solution(n) - rhs with every f(n - j) replaced by solution(n - j), simplified (0 if it solves)."""
        shifted = {t: solution.subs(self.n, t.args[0]) for t in self.terms}
        return sp.simplify(solution - self.rhs.xreplace(shifted))

    def satisfies(self, solution: sp.Expr) -> bool:
        """Substitution: the residual simplifies to 0 and every initial condition holds."""
        starts = all(sp.simplify(solution.subs(self.n, k) - v) == 0 for k, v in self.initial.items())
        return starts and self.residual(solution) == 0

    def iterate(self, count: int) -> list[sp.Expr]:
        """f(n_0), f(n_0 + 1), ...: ``count`` values by applying the recurrence to the initial conditions."""
        start = min(self.initial)
        known = dict(self.initial)
        for m in range(start + self.order, start + count):
            known[m] = sp.expand(
                self.rhs.xreplace({t: known[int(t.args[0].subs(self.n, m))] for t in self.terms}).subs(self.n, m)
            )
        return [known[m] for m in range(start, start + count)]

    def values(self, solution: sp.Expr, count: int) -> list[sp.Expr]:
        """The closed form at n_0, n_0 + 1, ..., exactly (radicals cancelled)."""
        start = min(self.initial)
        return [sp.radsimp(sp.expand(solution.subs(self.n, m))) for m in range(start, start + count)]

    def show(self, expr: sp.Expr) -> sp.Expr:
        """f(n - 1) written f_{n-1}: the subscript notation of every other derivation."""
        base = sp.IndexedBase(self.f.__name__)
        return expr.replace(lambda e: isinstance(e, AppliedUndef) and e.func == self.f, lambda e: base[e.args[0]])


Z0 = sp.Symbol("z_0")  # the initial value of the summation-factor solution


def summation_factor(n: sp.Symbol = rec.k) -> tuple[sp.Expr, sp.Expr]:
    """z_n = P_n (z_0 + sum_{i=1}^n a_i / P_i), P_n = prod_{j=1}^n b_j, and the proof it solves z_n = a_n + b_n z_{n-1}.

    Returns (solution, residual): the residual solution(n) - b_n solution(n-1) - a_n after
    splitting the last factor off P_n and the last term off the sum, simplified (0)."""
    i, j, b, a = sp.Symbol("i", integer=True, positive=True), rec.j, rec.b, rec.a

    def P(m: sp.Expr) -> sp.Expr:
        return sp.Product(b[j], (j, 1, m))

    solution = P(n) * (Z0 + sp.Sum(a[i] / P(i), (i, 1, n)))
    residual = solution - b[n] * solution.subs(n, n - 1) - a[n]
    for kind in (sp.Product, sp.Sum, sp.Product):  # the sum's last term holds a P_n of its own
        residual = residual.replace(lambda e, kind=kind: isinstance(e, kind) and e.limits[0][2] == n, rec._split_last)
    return solution, sp.simplify(residual)


def fibonacci_like() -> Derivation:
    """The notes' example f(n) = f(n-1) + f(n-2) + 2, f(1) = 1, f(2) = 2: classified, solved, checked."""
    n, f = sp.Symbol("n", integer=True), sp.Function("f")
    eq = DifferenceEquation(f, n, f(n - 1) + f(n - 2) + 2, {1: 1, 2: 2})
    kind = eq.classify()
    solution = eq.solve()
    closed, iterated = eq.values(solution, 10), eq.iterate(10)
    d = Derivation("A difference equation of the notes, solved by SymPy")
    d.add(
        "The notes' example $f(n) = f(n-1) + f(n-2) + 2$, written with subscripts, with $f_1 = 1$, $f_2 = 2$:",
        Equation(eq.show(f(n)), eq.show(eq.rhs)),
    )
    d.add(
        f"It is **{kind}**: it reaches back two steps, the unknowns enter linearly with coefficients 1 and 1 "
        "that do not depend on $n$, and the forcing term 2 is not zero.",
    )
    d.add("`sympy.rsolve` with the two initial conditions gives the closed form:", Equation(eq.show(f(n)), solution))
    residual = eq.residual(solution)
    d.add(
        f"Substituted back, $f_n - f_{{n-1}} - f_{{n-2}} - 2$ simplifies to ${latex(residual)}$, and the initial "
        f"conditions hold: {'it solves the equation' if eq.satisfies(solution) else 'it does NOT solve it'}. "
        r"(It is the $(n+1)$-th Lucas number minus 2; the Lucas numbers are $\varphi^m + \psi^m$.)"
    )
    same = closed == iterated
    d.add(
        f"The first 10 values, from the closed form and by iterating the recurrence: "
        f"{'identical' if same else 'DIFFERENT'}.",
        table=Table(
            ("$n$", *map(str, range(1, 11))),
            [("closed form", *map(str, closed)), ("iteration", *map(str, iterated))],
        ),
    )
    return d


def summation_factor_derivation(K: int = 6) -> Derivation:
    """z_k = a_k + b_k z_{k-1} as a difference equation, solved by the summation factor = the package's closed form."""
    k = rec.k
    z = sp.Function("z")
    a_, b_ = sp.Function("a"), sp.Function("b")
    kind = DifferenceEquation(z, k, a_(k) + b_(k) * z(k - 1)).classify()
    solution, residual = summation_factor(k)
    d = Derivation("BPTT's recurrence is a difference equation: the summation factor")
    d.add(
        f"The recurrence $z_k = a_k + b_k z_{{k-1}}$ of the derivations is **{kind}**: "
        "$b_k$ changes with $k$, and $a_k$ is the forcing term.",
        Equation(rec.z[k], rec.a[k] + rec.b[k] * rec.z[k - 1]),
    )
    P = sp.Symbol("P_k")
    d.add(
        r"Divide by the summation factor $P_k = b_1 b_2 \cdots b_k$: "
        r"$z_k/P_k - z_{k-1}/P_{k-1} = a_k/P_k$, which telescopes from $z_0$:",
        Equation(P, sp.Product(rec.b[rec.j], (rec.j, 1, k))),
        Equation(rec.z[k], solution),
    )
    d.add(
        f"Substituted into the recurrence (split the last factor off $P_k$ and the last term off the sum), "
        f"the residual simplifies to ${latex(residual)}$ for every $k$."
    )
    equal = [
        sp.cancel(solution.subs(k, m).doit().subs(Z0, 0) - rec.closed_form(sp.Integer(m)).doit().subs(rec.a[0], 0)) == 0
        for m in range(1, K + 1)
    ]
    d.add(
        r"Since $P_k / P_i = \prod_{j=i+1}^{k} b_j$, with $z_0 = a_0 = 0$ this is the closed form the package proves "
        f"by induction; SymPy confirms the two agree for $k = 1, \\dots, {K}$: {'yes' if all(equal) else 'NO'}. "
        "So BPTT's forward sensitivity is a first-order linear inhomogeneous difference equation with variable "
        "coefficients, and its closed form is that equation's textbook solution.",
        Equation(rec.z[k], rec.closed_form(k)),
    )
    rng = np.random.default_rng(0)
    A, B = rng.standard_normal(51), rng.uniform(-1.5, 1.5, 51)
    A[0] = 0.0
    iterated = 0.0
    for m in range(1, 51):
        iterated = A[m] + B[m] * iterated
    prods = np.cumprod(B[1:])
    by_factor = prods[-1] * np.sum(A[1:] / prods)
    d.add(
        f"In numbers (random $a_k$, $b_k$, $k = 50$): iteration gives {iterated:.12g}, the summation factor "
        f"{by_factor:.12g}."
    )
    return d


class LinearRNN:
    """The scalar linear RNN h_t = w h_{t-1} + u x_t, L = (1/T) sum_t (h_t - y_t)^2, in closed form.

    It is a first-order linear inhomogeneous difference equation with constant
    coefficients (the input is the forcing term), so

        h_t = w^t h_0 + sum_{i=1}^t w^{t-i} u x_i,
        dh_t/dw = t w^{t-1} h_0 + sum_{i=1}^{t-1} (t-i) w^{t-i-1} u x_i,

    and every path from x_i to h_t is scaled by w^{t-i}: |w| < 1 vanishes, |w| > 1 explodes.
    A random w (uniform in (-1.2, 1.2)) with |w|^T > 10 is scaled down to |w| = 10^(1/T), so
    that finite differences can still check the gradient at long T.
    """

    def __init__(self, steps: int = 5, seed: int = 0, w: float | None = None):
        if not isinstance(steps, (int, np.integer)) or steps < 1:
            raise ValueError(f"LinearRNN: steps must be a positive integer, got {steps!r}")
        self.T, self.seed = int(steps), seed
        rng = np.random.default_rng(seed)
        self.w = float(rng.uniform(-1.2, 1.2)) if w is None else float(w)
        if w is None and self.T * np.log(abs(self.w)) > np.log(GROWTH_LIMIT):  # stay representable
            self.w = float(np.sign(self.w) * GROWTH_LIMIT ** (1 / self.T))
        self.u, self.h0 = (float(v) for v in rng.uniform(-1, 1, 2))
        self.xs, self.ys = rng.standard_normal(self.T), rng.standard_normal(self.T)

    # --- SymPy -----------------------------------------------------------------
    w_, u_, h0_ = sp.symbols("w u h_0", real=True)
    t_ = sp.Symbol("t", integer=True, positive=True)
    i_ = sp.Symbol("i", integer=True, positive=True)
    x_, y_, h_ = sp.IndexedBase("x"), sp.IndexedBase("y"), sp.IndexedBase("h")

    @classmethod
    def closed_form(cls, t: sp.Expr | None = None) -> sp.Expr:
        """h_t = w^t h_0 + Sum_{i=1}^t w^{t-i} u x_i (unevaluated Sum)."""
        t = cls.t_ if t is None else t
        return cls.w_**t * cls.h0_ + sp.Sum(cls.w_ ** (t - cls.i_) * cls.u_ * cls.x_[cls.i_], (cls.i_, 1, t))

    @classmethod
    def closed_form_dw(cls, t: sp.Expr | None = None) -> sp.Expr:
        """dh_t/dw = t w^{t-1} h_0 + Sum_{i=1}^{t-1} (t-i) w^{t-i-1} u x_i (the i = t term has t - i = 0)."""
        t = cls.t_ if t is None else t
        i, w = cls.i_, cls.w_
        return t * w ** (t - 1) * cls.h0_ + sp.Sum((t - i) * w ** (t - i - 1) * cls.u_ * cls.x_[i], (i, 1, t - 1))

    @classmethod
    def identities(cls, up_to: int = 6) -> dict[str, bool]:
        """The closed forms, proved for t = 1..up_to: by substitution, by rsolve, by sympy.diff."""
        t, w, u, h0 = cls.t_, cls.w_, cls.u_, cls.h0_
        h = sp.Function("h")
        # substitution: h_t - w h_{t-1} - u x_t = 0 for symbolic t (split the sum's last term)
        residual = cls.closed_form(t) - w * cls.closed_form(t - 1) - u * cls.x_[t]
        residual = residual.replace(lambda e: isinstance(e, sp.Sum) and e.limits[0][2] == t, rec._split_last)
        by_substitution = sp.simplify(sp.expand(residual)) == 0
        # rsolve needs a concrete forcing term: with x_t = 1 it must match the closed form with every x_i = 1
        solved = sp.rsolve(h(t) - w * h(t - 1) - u, h(t), {h(0): h0})
        ones = cls.closed_form(t).xreplace({cls.x_[cls.i_]: 1}).doit()  # a geometric sum: Piecewise on w = 1
        ones = ones.replace(lambda e: isinstance(e, sp.Piecewise), lambda e: e.args[-1].expr)  # w != 1, as rsolve
        by_rsolve = sp.simplify(solved - ones) == 0
        by_diff = all(
            sp.expand(sp.diff(cls.closed_form(sp.Integer(m)).doit(), w) - cls.closed_form_dw(sp.Integer(m)).doit()) == 0
            for m in range(1, up_to + 1)
        )
        return {"substitution": by_substitution, "rsolve": by_rsolve, "diff": by_diff}

    # --- numbers -------------------------------------------------------------
    def closed_form_values(self) -> dict[str, np.ndarray | float]:
        """h_t, dh_t/dw and dL/dw (also dL/du, dL/dh_0) for t = 1..T straight from the closed forms.

        The powers w^{t-i} form a lower-triangular matrix, so each closed form is one
        matrix-vector product: no recurrence is iterated."""
        T, w, u = self.T, self.w, self.u
        t = np.arange(1, T + 1)[:, None]
        i = np.arange(1, T + 1)[None, :]
        gap = np.where(i <= t, t - i, 0)
        powers = np.where(i <= t, w**gap, 0.0)  # powers[t-1, i-1] = w^{t-i}
        slopes = np.where(i < t, gap * w ** np.maximum(gap - 1, 0), 0.0)  # (t-i) w^{t-i-1}
        h = w ** t[:, 0] * self.h0 + powers @ (u * self.xs)
        dh_dw = t[:, 0] * w ** (t[:, 0] - 1) * self.h0 + slopes @ (u * self.xs)
        residual = (2 / T) * (h - self.ys)
        return {
            "h": h,
            "dh/dw": dh_dw,
            "dL/dw": float(residual @ dh_dw),
            "dL/du": float(residual @ (powers @ self.xs)),
            "dL/dh0": float(residual @ w ** t[:, 0]),
        }

    def engine(self, **values: float) -> tuple[Tensor, list[Tensor], dict[str, Parameter], list[Tensor]]:
        """The same network in engine ops: (L, [h_1..h_T], parameters, inputs x_1..x_T as leaves).

        ``values`` overrides w, u or h0 (finite differences perturb them)."""
        point = {"w": self.w, "u": self.u, "h0": self.h0, **values}
        params = {name: Parameter(np.array(value), name=name) for name, value in point.items()}
        xs = [Tensor(np.array(x), requires_grad=True, name=f"x{k + 1}") for k, x in enumerate(self.xs)]
        h, hs = params["h0"], []
        for k in range(self.T):
            with graph.scope("linear_rnn"), graph.scope(f"t{k + 1}"):
                h = params["w"] * h + params["u"] * xs[k]
            hs.append(h)
        with graph.scope("loss"):
            L = functional.mse_loss(stack(hs), self.ys)
        return L, hs, params, xs

    def check(self) -> CheckTable:
        """dh_T/dw, dL/dw, dL/du, dL/dh_0: closed form vs autograd vs finite differences."""
        cf = self.closed_form_values()
        _, hs, params, _ = self.engine()
        hs[-1].backward()
        dhT = float(params["w"].grad)
        L, _, params, _ = self.engine()
        L.backward()

        def fd(name: str, last_state: bool = False) -> float:
            point = np.array(getattr(self, name))

            def value() -> float:
                with graph.no_grad():
                    loss, hs, _, _ = self.engine(**{name: float(point)})
                return float((hs[-1] if last_state else loss).data)

            return float(finite_difference(value, point, recurrent_step(self.T) if name == "w" else FD_STEP))

        rows = [
            CheckRow(f"dh_{self.T}/dw", cf["dh/dw"][-1], dhT, fd("w", last_state=True)),
            CheckRow("dL/dw", cf["dL/dw"], float(params["w"].grad), fd("w")),
            CheckRow("dL/du", cf["dL/du"], float(params["u"].grad), fd("u")),
            CheckRow("dL/dh_0", cf["dL/dh0"], float(params["h0"].grad), fd("h0")),
        ]
        return CheckTable(rows, f"check: linear RNN, w = {self.w:.4g}, T = {self.T}, seed {self.seed}")

    @staticmethod
    def reach(ws: tuple[float, ...] = (0.5, 0.9, 1.0, 1.1), distances: tuple[int, ...] = (1, 10, 20, 50)) -> np.ndarray:
        """|dh_T/dx_{T-d}| measured by the engine's autograd (u = 1) for each w and distance d."""
        T = max(distances) + 1
        out = np.empty((len(ws), len(distances)))
        for r, w in enumerate(ws):
            model = LinearRNN(T, w=w)
            model.u = 1.0
            _, hs, _, xs = model.engine()
            hs[-1].backward()
            out[r] = [abs(float(xs[T - 1 - d].grad)) for d in distances]
        return out

    def derivation(self, check: bool = False) -> Derivation:
        t, w, u = self.t_, self.w_, self.u_
        h = sp.Function("h")
        kind = DifferenceEquation(h, t, w * h(t - 1) + u * sp.Function("x")(t)).classify()
        proofs = self.identities()
        d = Derivation("The scalar linear RNN in closed form")
        d.add(
            f"An RNN is a difference equation in its state. The linear one is **{kind}** "
            "(the input $u x_t$ is the forcing term):",
            Equation(self.h_[t], sp.Add(w * self.h_[t - 1], u * self.x_[t], evaluate=False), ordered=True),
        )
        d.add(
            r"Its summation factor is $w^t$ (every $b_k = w$, so $\prod_{j=i+1}^{t} b_j = w^{t-i}$):",
            Equation(self.h_[t], self.closed_form()),
        )
        d.add(
            "Checked three ways: substituted into the recurrence the residual simplifies to 0 for every $t$ "
            f"({'yes' if proofs['substitution'] else 'NO'}); for the input $x_t = 1$, `sympy.rsolve` gives the "
            f"same as the closed form summed ({'yes' if proofs['rsolve'] else 'NO'}); and SymPy's derivative of "
            f"the closed form for $t = 1, \\dots, 6$ is the one below ({'yes' if proofs['diff'] else 'NO'}).",
        )
        dLdw = Tex(r"\frac{\partial L}{\partial w}", "∂L/∂w")
        d.add(
            r"Its gradient, with $L = (1/T) \sum_t (h_t - y_t)^2$:",
            Equation(Tex(r"\frac{\partial h_t}{\partial w}", "∂h_t/∂w"), self.closed_form_dw()),
            Equation(
                dLdw,
                Tex(
                    r"\frac{2}{T}\sum_{t=1}^{T} (h_t - y_t)\,\frac{\partial h_t}{\partial w}",
                    "(2/T) Σ_t (h_t - y_t) ∂h_t/∂w",
                ),
            ),
        )
        m = sp.Symbol("m", integer=True, positive=True)
        reach = self.reach()
        d.add(
            r"The input $x_i$ reaches $h_t$ only as $\partial h_t/\partial x_i = u w^{t-i}$, and "
            r"$\partial L/\partial w$ weights $x_i$ by $(t-i) w^{t-i-1}$. So the distance $t - i$ decides: "
            f"$\\lim_{{m \\to \\infty}} (1/2)^m = {latex(sp.limit(sp.Rational(1, 2) ** m, m, sp.oo))}$ and "
            f"$\\lim_{{m \\to \\infty}} 2^m = {latex(sp.limit(2**m, m, sp.oo))}$: "
            r"**$|w| < 1$ vanishes and $|w| > 1$ explodes**, as $w^{t-i}$. "
            r"Measured by the engine's autograd ($u = 1$, $|\partial h_T/\partial x_{T-d}|$):",
            table=Table(
                ("$w$", *(f"$d = {dist}$" for dist in (1, 10, 20, 50))),
                [(f"{wv:g}", *(f"{v:.3g}" for v in row)) for wv, row in zip((0.5, 0.9, 1.0, 1.1), reach)],
            ),
        )
        _, hs, _, _ = self.engine()
        gap = float(np.max(np.abs(self.closed_form_values()["h"] - np.array([float(x.data) for x in hs]))))
        d.add(f"At this point ($w = {self.w:.4g}$, $T = {self.T}$) the closed-form $h_t$ and the engine's forward "
              f"differ by at most {gap:.1e} over $t = 1, \\dots, {self.T}$.")  # fmt: skip
        if check:
            d.checks.append(self.check())
        return d


def document(steps: int = 5, seed: int = 0, check: bool = False, hidden: tuple[int, ...] = (2, 3)) -> Document:
    """What ``tinygrad-rnn derive --difference`` prints: the notes' frame of difference equations,
    BPTT's recurrence solved by the summation factor, the scalar and the matrix linear RNN."""
    from .linear import MatrixLinearRNN

    parts = [fibonacci_like(), summation_factor_derivation(), LinearRNN(steps, seed).derivation(check)]
    parts += [MatrixLinearRNN(H, steps, seed).derivation(check, symbolic=H <= 2) for H in hidden]
    return Document(parts)
