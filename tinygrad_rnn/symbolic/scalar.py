"""The scalar RNN of the notes, derived symbolically and checked three ways.

Model (one hidden unit, one input, one output, T steps):

    s_t = w_x x_t + w_h r_{t-1} + b_h,   h_t = f(s_t),   o_t = w_o h_t,
    L   = (1/T) sum_t l(o_t, y_t),       l(o, y) = (o - y)^2,

with r_{t-1} = h_{t-1} for the Elman network and r_{t-1} = o_{t-1} = w_o h_{t-1}
for the Jordan network (the recurrence goes through the previous *output*).
f is tanh or relu. With a_t = ∂f/∂w_h and b_t = ∂f/∂h_{t-1} (one step, the
previous state held fixed), z_t = dh_t/dw_h obeys z_t = a_t + b_t z_{t-1}, and

    dL/dw_h = (1/T) sum_t ∂l/∂o_t * w_o * z_t,   z_t = a_t + sum_{i<t} (prod_{j=i+1..t} b_j) a_i.

``ScalarRNN`` builds all of that in SymPy, proves it equals ``sympy.diff`` of the
fully unrolled loss for small T, and evaluates it at numbers (a_t, b_t
lambdified with common-subexpression elimination, the closed form as a sum of
ordered products) to compare with the engine's autograd and with central
differences.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp

from .. import functional, graph
from ..ops import stack
from ..tensor import Parameter, Tensor
from . import recurrence as rec
from .numeric import closed_form_values, finite_difference
from .report import CheckRow, CheckTable, Derivation, Equation, Tex, written_product, written_sum

EXACT_LIMIT = 8  # the exact (expanded) identity is checked for T up to this; it grows like 2^T

NONLINEARITIES: dict[str, Callable[[sp.Expr], sp.Expr]] = {
    "tanh": sp.tanh,
    "relu": lambda s: sp.Max(0, s),
}

# symbols shared by every time step
w_x, w_h, w_o, b_h = sp.symbols("w_x w_h w_o b_h", real=True)
PARAMS = (w_x, w_h, w_o, b_h)
# general-t notation for display
t = sp.Symbol("t", integer=True, positive=True)
T_ = sp.Symbol("T", integer=True, positive=True)
h, x, y, o, s = (sp.IndexedBase(n) for n in "hxyos")


@dataclass
class Values:
    """A random point at which to evaluate: parameters, inputs, targets, initial state."""

    params: dict[str, float]
    xs: np.ndarray
    ys: np.ndarray
    h0: float

    @classmethod
    def random(cls, steps: int, seed: int = 0, nonlinearity: str = "tanh") -> Values:
        """Uniform(-1, 1) parameters; for relu, a positive bias and state keep the unit
        active (a dead relu has every derivative 0, which would check nothing)."""
        rng = np.random.default_rng(seed)
        params = dict(zip(("w_x", "w_h", "w_o", "b_h"), rng.uniform(-1, 1, 4)))
        h0 = float(rng.uniform(-1, 1))
        if nonlinearity == "relu":
            params["w_x"] *= 0.3
            params["w_h"] = 0.3 + 0.6 * abs(params["w_h"])
            params["w_o"] = 0.5 + 0.5 * abs(params["w_o"])
            params["b_h"] = 1 + abs(params["b_h"])
            h0 = abs(h0)
        return cls(params, rng.standard_normal(steps), rng.standard_normal(steps), h0)


class ScalarRNN:
    """Symbolic BPTT for the one-unit RNN of the notes (Elman or Jordan, tanh or relu)."""

    def __init__(self, steps: int, nonlinearity: str = "tanh", jordan: bool = False):
        if not isinstance(steps, (int, np.integer)) or steps < 1:
            raise ValueError(f"ScalarRNN: steps must be a positive integer, got {steps!r}")
        if nonlinearity not in NONLINEARITIES:
            raise ValueError(f"ScalarRNN: nonlinearity must be one of {sorted(NONLINEARITIES)}, got {nonlinearity!r}")
        self.steps = int(steps)
        self.nonlinearity = nonlinearity
        self.jordan = bool(jordan)
        self.kind = "jordan" if jordan else "rnn"
        self.f = NONLINEARITIES[nonlinearity]
        # one step as a function of (x_t, h_{t-1}); the previous state is a plain symbol here
        self.x_t, self.h_prev = sp.symbols("x_t h_prev", real=True)
        recurrent = w_o * self.h_prev if jordan else self.h_prev
        self.pre = w_x * self.x_t + w_h * recurrent + b_h
        self.step_expr = self.f(self.pre)
        self.a_expr = sp.diff(self.step_expr, w_h)  # a_t: direct effect of w_h on h_t
        self.b_expr = sp.diff(self.step_expr, self.h_prev)  # b_t: effect of h_{t-1} on h_t
        o_, y_ = sp.symbols("o y", real=True)
        self.loss_expr = (o_ - y_) ** 2
        self.dloss_expr = sp.diff(self.loss_expr, o_)
        self._o, self._y = o_, y_

    # --- symbols of the unrolled network --------------------------------------
    def symbols(self) -> tuple[tuple[sp.Symbol, ...], tuple[sp.Symbol, ...], sp.Symbol]:
        """x_1..x_T, y_1..y_T and h_0."""
        T = self.steps
        xs = sp.symbols(f"x_1:{T + 1}", real=True)
        ys = sp.symbols(f"y_1:{T + 1}", real=True)
        return xs, ys, sp.Symbol("h_0", real=True)

    def unrolled(self) -> tuple[list[sp.Expr], sp.Expr]:
        """h_0..h_T as explicit nested expressions, and the loss L in terms of them."""
        xs, ys, h0 = self.symbols()
        hs: list[sp.Expr] = [h0]
        for k in range(self.steps):
            hs.append(self.step_expr.xreplace({self.x_t: xs[k], self.h_prev: hs[-1]}))
        L = sp.Add(*[self.loss_expr.xreplace({self._o: w_o * hs[k + 1], self._y: ys[k]}) for k in range(self.steps)])
        return hs, L / self.steps

    def closed_form_gradient(self, hs: list[sp.Expr]) -> sp.Expr:
        """dL/dw_h assembled from the closed form, with a_t, b_t evaluated along ``hs``."""
        xs, ys, _ = self.symbols()
        T = self.steps
        A = {rec.a[0]: sp.Integer(0)}
        B = {}
        for k in range(1, T + 1):
            at = {self.x_t: xs[k - 1], self.h_prev: hs[k - 1]}
            A[rec.a[k]] = self.a_expr.xreplace(at)
            B[rec.b[k]] = self.b_expr.xreplace(at)
        terms = []
        for k in range(1, T + 1):
            z_k = rec.closed_form(sp.Integer(k)).doit().xreplace({**A, **B})
            dl = self.dloss_expr.xreplace({self._o: w_o * hs[k], self._y: ys[k - 1]})
            terms.append(dl * w_o * z_k)
        return sp.Add(*terms) / T

    def exact_check(self) -> bool:
        """Is the closed-form dL/dw_h *identical* to sympy.diff(L, w_h) of the unrolled loss?

        Both sides are rewritten as polynomials: every h_t = f(s_t) (and, for relu,
        every Heaviside(s_t)) becomes a fresh symbol, then the difference is
        expanded. A zero polynomial proves the identity for all values.
        """
        if self.steps > EXACT_LIMIT:
            raise ValueError(f"exact_check: T = {self.steps} is too large to expand (limit {EXACT_LIMIT})")
        hs, L = self.unrolled()
        by_autodiff = sp.diff(L, w_h)
        by_closed_form = self.closed_form_gradient(hs)
        atoms: dict[sp.Expr, sp.Symbol] = {}
        for k in range(1, self.steps + 1):
            atoms[hs[k]] = sp.Symbol(f"H_{k}")
            pre = hs[k].args[-1]
            atoms[sp.Heaviside(pre)] = sp.Symbol(f"D_{k}")
        difference = by_autodiff.xreplace(atoms) - by_closed_form.xreplace(atoms)
        return sp.expand(difference) == 0

    # --- numbers -----------------------------------------------------------
    def _numeric(self) -> dict[str, Callable]:
        args = (self.x_t, self.h_prev, *PARAMS)
        return {
            name: sp.lambdify(args, expr, modules="numpy", cse=True)
            for name, expr in (("h", self.step_expr), ("a", self.a_expr), ("b", self.b_expr))
        }

    def symbolic_values(self, v: Values) -> dict[str, Any]:
        """Forward pass, a_t, b_t, z_t = dh_t/dw_h and dL/dw_h from the symbolic formulas."""
        fn = self._numeric()
        p = [v.params[n] for n in ("w_x", "w_h", "w_o", "b_h")]
        T = self.steps
        H, A, B = np.zeros(T + 1), np.zeros(T + 1), np.zeros(T + 1)
        H[0] = v.h0
        for k in range(1, T + 1):
            A[k] = fn["a"](v.xs[k - 1], H[k - 1], *p)
            B[k] = fn["b"](v.xs[k - 1], H[k - 1], *p)
            H[k] = fn["h"](v.xs[k - 1], H[k - 1], *p)
        Z = closed_form_values(A, B)
        dloss = sp.lambdify((self._o, self._y), self.dloss_expr, modules="numpy")
        G = dloss(v.params["w_o"] * H[1:], v.ys) * v.params["w_o"] / T
        return {"h": H, "a": A, "b": B, "z": Z, "dL/dw_h": float(G @ Z[1:])}

    # --- the engine --------------------------------------------------------
    def engine(self, v: Values) -> tuple[Tensor, list[Tensor], dict[str, Parameter]]:
        """The same network in tinygrad_rnn ops: returns (L, [h_1..h_T], parameters).

        Scopes follow the sequence-module convention: ``rnn/l0/fwd/t<t>/hidden``
        (``jordan/...`` for the Jordan form), the output o_t in ``.../output``.
        """
        params = {n: Parameter(np.array(val), name=n) for n, val in v.params.items()}
        w_x_, w_h_, w_o_, b_ = (params[n] for n in ("w_x", "w_h", "w_o", "b_h"))
        state = Tensor(np.array(v.h0), name="h0")
        recurrent = w_o_ * state if self.jordan else state
        hs, outs = [], []
        for k in range(1, self.steps + 1):
            with (
                graph.scope(self.kind),
                graph.scope("l0"),
                graph.scope("fwd"),
                graph.scope(f"t{k}"),
            ):
                with graph.scope("hidden"):
                    pre = w_x_ * Tensor(np.array(v.xs[k - 1])) + w_h_ * recurrent + b_
                    h_k = pre.tanh() if self.nonlinearity == "tanh" else pre.relu()
                with graph.scope("output"):
                    o_k = w_o_ * h_k
            recurrent = o_k if self.jordan else h_k
            hs.append(h_k)
            outs.append(o_k)
        with graph.scope("loss"):
            L = functional.mse_loss(stack(outs), v.ys)
        return L, hs, params

    def check(self, v: Values | None = None, seed: int = 0, rows_for_steps: int = 10) -> CheckTable:
        """dh_t/dw_h (each t when T <= rows_for_steps, else t = T) and dL/dw_h, three ways."""
        v = v or Values.random(self.steps, seed, self.nonlinearity)
        sym = self.symbolic_values(v)
        T = self.steps

        def autograd_of(k: int | None) -> float:
            L, hs, params = self.engine(v)
            (L if k is None else hs[k - 1]).backward()
            return float(params["w_h"].grad)

        def finite_difference_of(k: int | None) -> float:
            point = np.array(v.params["w_h"])

            def value() -> float:
                with graph.no_grad():
                    L, hs, _ = self.engine(Values({**v.params, "w_h": float(point)}, v.xs, v.ys, v.h0))
                return float((L if k is None else hs[k - 1]).data)

            return float(finite_difference(value, point))

        steps = range(1, T + 1) if T <= rows_for_steps else [T]
        rows = [CheckRow(f"dh_{k}/dw_h", sym["z"][k], autograd_of(k), finite_difference_of(k)) for k in steps]
        rows.append(CheckRow("dL/dw_h", sym["dL/dw_h"], autograd_of(None), finite_difference_of(None)))
        name = f"{'Jordan' if self.jordan else 'Elman'} RNN, {self.nonlinearity}, T = {T}, seed {seed}"
        return CheckTable(rows, f"check: {name}")

    # --- for people ---------------------------------------------------------
    def _general(self, expr: sp.Expr) -> sp.Expr:
        """A one-step expression in the notes' notation: h_t for f(s_t), s_t, x_t, h_{t-1}
        (and o_{t-1} for w_o h_{t-1} in the Jordan network)."""
        shown = expr.xreplace({self.step_expr: h[t]}).xreplace({self.pre: s[t], self.x_t: x[t], self.h_prev: h[t - 1]})
        return shown.subs(w_o * h[t - 1], o[t - 1]) if self.jordan else shown

    def derivation(self, check: bool = False, seed: int = 0, exact: bool | None = None) -> Derivation:
        """The derivation for this T, with the exact identity (small T) and optionally the check table."""
        T = self.steps
        name = "Jordan" if self.jordan else "Elman"
        d = Derivation(f"BPTT for the scalar {name} RNN ({self.nonlinearity}), T = {T}")
        recurrent = o[t - 1] if self.jordan else h[t - 1]
        feedback = " The Jordan network feeds back the previous output $o_{t-1} = w_o h_{t-1}$." if self.jordan else ""
        d.add(
            "The model: one unit, a squared-error loss averaged over the $T$ steps." + feedback,
            Equation(s[t], written_sum(written_product(w_h, recurrent), written_product(w_x, x[t]), b_h)),  # the notes
            Equation(h[t], self.f(s[t])),
            Equation(o[t], w_o * h[t]),
            Equation(sp.Symbol("L"), sp.Sum((o[t] - y[t]) ** 2, (t, 1, T_)) / T_),
        )
        a_t, b_t = self._general(self.a_expr), self._general(self.b_expr)
        d.add(
            "One step, previous state held fixed: SymPy differentiates $f$ with respect to $w_h$ and $h_{t-1}$.",
            Equation(rec.a[t], a_t),
            Equation(rec.b[t], b_t),
        )
        z_t = Tex(r"\frac{\partial h_t}{\partial w_h}", "∂h_t/∂w_h")
        d.add(
            r"So $z_t = \partial h_t/\partial w_h$ follows the recurrence, and its closed form:",
            Equation(z_t, rec.a[t] + rec.b[t] * rec.z[t - 1]),
            Equation(rec.z[t], rec.closed_form(t)),
        )
        # ∂l/∂o = 2 (o - y): keep the 2 apart, or SymPy distributes it into 2 o - 2 y
        coeff, dl = sp.factor_terms(self.dloss_expr).as_coeff_Mul()
        dL = Tex(r"\frac{\partial L}{\partial w_h}", "∂L/∂w_h")
        d.add(
            "The loss reaches $w_h$ only through the outputs $o_t = w_o h_t$:",
            Equation(
                dL,
                sp.Sum(coeff * w_o * dl.xreplace({self._o: o[t], self._y: y[t]}) * rec.z[t], (t, 1, T_)) / T_,
            ),
        )
        if T <= 6:
            terms = [
                coeff
                * w_o
                * dl.xreplace({self._o: o[k], self._y: y[k]})
                * rec.closed_form(sp.Integer(k)).doit().subs(rec.a[0], 0)
                for k in range(1, T + 1)
            ]  # kept in time order: one term per output o_t
            explicit = sp.Add(*(sp.Mul(sp.Rational(1, T), term, evaluate=False) for term in terms), evaluate=False)
            d.add(f"Written out for $T = {T}$, one term per output $o_t$:", Equation(dL, explicit, ordered=True))
        else:
            products = T * (T + 1) // 2
            d.add(f"Written out for $T = {T}$ it has {products} products of $b$'s; it is evaluated numerically.")
        if exact is None:
            exact = T <= EXACT_LIMIT
        if exact:
            same = self.exact_check()
            d.add(
                f"Exact check: the closed form, with $a_t$ and $b_t$ evaluated along the unrolled network, minus "
                f"`sympy.diff(L, w_h)` of the fully unrolled loss ($T = {T}$), expands to "
                f"{'0: they are identical' if same else 'a NON-ZERO polynomial: they differ'}."
            )
        else:
            d.add(f"Exact check skipped ($T = {T} > {EXACT_LIMIT}$: the expanded identity grows like $2^T$).")
        if check:
            d.checks.append(self.check(seed=seed))
        return d
