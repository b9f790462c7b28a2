"""Why LSTMs and GRUs keep gradients alive: the additive path, derived and checked.

Scalar LSTM (one unit, PyTorch's equations with one bias per gate):

    i_t = σ(w_ii x_t + w_hi h_{t-1} + b_i)    f_t = σ(w_if x_t + w_hf h_{t-1} + b_f)
    g_t = tanh(w_ig x_t + w_hg h_{t-1} + b_g) o_t = σ(w_io x_t + w_ho h_{t-1} + b_o)
    c_t = f_t c_{t-1} + i_t g_t               h_t = o_t tanh(c_t)

Because h_{t-1} = o_{t-1} tanh(c_{t-1}) also depends on c_{t-1},

    dc_t/dc_{t-1} = f_t + (∂c_t/∂h_{t-1}) o_{t-1} (1 - tanh^2 c_{t-1}):

the first term is the additive path: the forget gate itself, not a product of
tanh' and a weight as in the Elman RNN. With f_t near 1 the gradient passes
through many steps undamped. Scalar GRU (PyTorch's placement of the reset gate):

    r_t = σ(w_ir x_t + w_hr h_{t-1} + b_r)    u_t = σ(w_iu x_t + w_hu h_{t-1} + b_u)
    n_t = tanh(w_in x_t + b_in + r_t (w_hn h_{t-1} + b_hn))
    h_t = (1 - u_t) n_t + u_t h_{t-1}

    dh_t/dh_{t-1} = u_t + (1 - u_t) ∂n_t/∂h_{t-1} + (h_{t-1} - n_t) ∂u_t/∂h_{t-1}

whose first term, the update gate u_t, plays the forget gate's role. (PyTorch and
d2l write the update gate z_t; here z is taken: z_k is the BPTT sensitivity of
the recurrence z_k = a_k + b_k z_{k-1}, so the update gate is u_t everywhere.)
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np
import sympy as sp

from .. import graph
from ..tensor import Parameter, Tensor
from .numeric import finite_difference
from .report import CheckRow, CheckTable, Derivation, Equation, Tex, written_product, written_sum


class sigma(sp.Function):
    """The logistic sigmoid, with the derivative students know: σ' = σ (1 - σ)."""

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return sigma(self.args[0]) * (1 - sigma(self.args[0]))

    def _eval_rewrite_as_exp(self, arg: sp.Expr, **kwargs: Any) -> sp.Expr:
        return 1 / (1 + sp.exp(-arg))

    def _latex(self, printer: Any) -> str:
        return rf"\sigma\left({printer._print(self.args[0])}\right)"

    def _pretty(self, printer: Any) -> Any:
        return printer._print_Function(self, func_name="σ")


NUMPY = [{"sigma": lambda v: 1 / (1 + np.exp(-v))}, "numpy"]


@contextlib.contextmanager
def _scopes(*names: str) -> Iterator[None]:
    """Open nested scopes at once: ``_scopes("lstm", "l0", "fwd", "t3", "forget_gate")``."""
    with contextlib.ExitStack() as stack:
        for name in names:
            stack.enter_context(graph.scope(name))
        yield


def _rows(first: int, last: int, limit: int) -> list[int]:
    """The time steps a check shows: all of first..last when there are at most ``limit``, else both ends."""
    return list(range(first, last + 1)) if last - first < limit else [first, last]


_X, _H_PREV, _C_PREV = sp.Symbol("x_t"), sp.Symbol("h_{t-1}"), sp.Symbol("c_{t-1}")


def _affine(w: dict[str, sp.Symbol], gate: str) -> sp.Expr:
    """``w_i? x_t + w_h? h_{t-1} + b_?`` as the notes write it (input, then state, then bias)."""
    return written_sum(written_product(w[f"w_i{gate}"], _X), written_product(w[f"w_h{gate}"], _H_PREV), w[f"b_{gate}"])


def _gate_params(*gates: str) -> tuple[sp.Symbol, ...]:
    return tuple(s for g in gates for s in sp.symbols(f"w_i{g} w_h{g} b_{g}", real=True))


class _GatedCell:
    """Shared by the scalar LSTM and GRU: a random evaluation point, parameters, lambdify."""

    kind = ""  # "lstm" or "gru": the scope path prefix
    min_steps = 1
    params: tuple[sp.Symbol, ...] = ()

    def __init__(self, steps: int = 4, seed: int = 0):
        if not isinstance(steps, (int, np.integer)) or steps < self.min_steps:
            raise ValueError(f"{type(self).__name__}: steps must be an integer >= {self.min_steps}, got {steps!r}")
        self.steps, self.seed = int(steps), seed
        rng = np.random.default_rng(seed)
        self.values = {str(p): float(v) for p, v in zip(self.params, rng.uniform(-1, 1, len(self.params)))}
        self.xs = rng.standard_normal(self.steps)
        self.h0, self.c0 = (float(v) for v in rng.uniform(-1, 1, 2))

    def _parameters(self) -> dict[str, Parameter]:
        return {n: Parameter(np.array(v), name=n) for n, v in self.values.items()}

    def _lambdify(self, args: tuple[sp.Symbol, ...], expr: sp.Expr) -> Any:
        return sp.lambdify((*args, *self.params), expr, modules=NUMPY, cse=True)

    def _p(self) -> list[float]:
        return [self.values[str(p)] for p in self.params]


class LSTMCell(_GatedCell):
    """Scalar LSTM: dc_t/dc_{t-1} = f_t + (the path through h_{t-1} = o_{t-1} tanh c_{t-1})."""

    kind = "lstm"
    min_steps = 2  # the path through h_{t-1} needs a previous step (h_0 is given, not o_0 tanh c_0)
    params = _gate_params("i", "f", "g", "o")

    def __init__(self, steps: int = 4, seed: int = 0):
        super().__init__(steps, seed)
        x, h, c, o_prev = sp.symbols("x_t h_prev c_prev o_prev", real=True)
        self.x, self.h, self.c, self.o_prev = x, h, c, o_prev
        w = dict(zip(map(str, self.params), self.params))

        def pre(g: str) -> sp.Expr:
            return w[f"w_i{g}"] * x + w[f"w_h{g}"] * h + w[f"b_{g}"]

        self.gates = {
            "i": sigma(pre("i")),
            "f": sigma(pre("f")),
            "g": sp.tanh(pre("g")),
            "o": sigma(pre("o")),
        }
        self.c_next = self.gates["f"] * c + self.gates["i"] * self.gates["g"]
        self.h_next = self.gates["o"] * sp.tanh(self.c_next)
        self.via_c = {h: o_prev * sp.tanh(c)}  # h_{t-1} written in terms of c_{t-1}
        self.dc_dh = sp.diff(self.c_next, h)  # ∂c_t/∂h_{t-1}, c_{t-1} held fixed
        self.dh_prev_dc_prev = sp.diff(o_prev * sp.tanh(c), c)  # ∂h_{t-1}/∂c_{t-1}
        # the total derivative, from SymPy on c_t with h_{t-1} = o_{t-1} tanh(c_{t-1}) substituted
        self.total = sp.diff(self.c_next.xreplace(self.via_c), c)

    def _display(self, expr: sp.Expr) -> sp.Expr:
        """Gates (also with h_{t-1} = o_{t-1} tanh c_{t-1} substituted) shown as i_t, f_t, g_t, o_t."""
        names = {gate: sp.Symbol(f"{g}_t") for g, gate in self.gates.items()}
        names.update({gate.xreplace(self.via_c): sp.Symbol(f"{g}_t") for g, gate in self.gates.items()})
        return expr.xreplace(names).xreplace(
            {
                self.h: sp.Symbol("h_{t-1}"),
                self.c: sp.Symbol("c_{t-1}"),
                self.o_prev: sp.Symbol("o_{t-1}"),
                self.x: sp.Symbol("x_t"),
            }
        )

    def written(self) -> dict[str, sp.Expr]:
        """The cell's equations for display, in the notes' order (w_ii x_t + w_hi h_{t-1} + b_i;
        f_t c_{t-1} + i_t g_t). Each equals the differentiated expression shown in the notes'
        symbols (``_display``), which ``tests/symbolic/test_typeset.py`` checks."""
        w = dict(zip(map(str, self.params), self.params))
        out = {g: (sp.tanh if g == "g" else sigma)(_affine(w, g)) for g in "ifgo"}
        f_t, i_t, g_t = sp.symbols("f_t i_t g_t")
        out["c"] = written_sum(written_product(f_t, _C_PREV), written_product(i_t, g_t))
        return out

    def engine(self, perturb: tuple[int, float] | None = None) -> tuple[list[Tensor], list[Tensor]]:
        """Unroll in engine ops; returns ([c_1..c_T], [h_1..h_T]). ``perturb=(t, d)`` adds d to c_t."""
        p = self._parameters()
        h, c = Tensor(np.array(self.h0), name="h0"), Tensor(np.array(self.c0), name="c0")
        cs, hs = [], []
        for t in range(1, self.steps + 1):
            x = Tensor(np.array(self.xs[t - 1]))
            gate = {}
            for g, scope_name, fn in (
                ("i", "input_gate", "sigmoid"),
                ("f", "forget_gate", "sigmoid"),
                ("g", "cell_gate", "tanh"),
                ("o", "output_gate", "sigmoid"),
            ):
                with _scopes(self.kind, "l0", "fwd", f"t{t}", scope_name):
                    pre = p[f"w_i{g}"] * x + p[f"w_h{g}"] * h + p[f"b_{g}"]
                    gate[g] = pre.sigmoid() if fn == "sigmoid" else pre.tanh()
            with _scopes(self.kind, "l0", "fwd", f"t{t}", "cell_state"):
                c = gate["f"] * c + gate["i"] * gate["g"]
                if perturb is not None and perturb[0] == t:
                    c = c + perturb[1]
            with _scopes(self.kind, "l0", "fwd", f"t{t}", "hidden"):
                h = gate["o"] * c.tanh()
            cs.append(c)
            hs.append(h)
        return cs, hs

    def symbolic_values(self) -> list[float]:
        """dc_t/dc_{t-1} for t = 2..T from the SymPy formula, along a forward pass of SymPy's cell."""
        step_c = self._lambdify((self.x, self.h, self.c), self.c_next)
        step_h = self._lambdify((self.x, self.h, self.c), self.h_next)
        gate_o = self._lambdify((self.x, self.h), self.gates["o"])
        total = self._lambdify((self.x, self.h, self.c, self.o_prev), self.total)
        p = self._p()
        h, c, out = self.h0, self.c0, []
        o_prev = float("nan")  # o_0 does not exist: h_0 is given, so t starts at 2
        for t in range(1, self.steps + 1):
            x = self.xs[t - 1]
            if t >= 2:
                out.append(float(total(x, h, c, o_prev, *p)))
            o_prev = gate_o(x, h, *p)
            h, c = step_h(x, h, c, *p), step_c(x, h, c, *p)
        return out

    def check(self, rows_for_steps: int = 10) -> CheckTable:
        """dc_t/dc_{t-1} (every t when T <= rows_for_steps, else the first and the last): SymPy vs
        autograd vs finite differences. Each row unrolls the whole cell, so long T checks two rows."""
        symbolic = self.symbolic_values()
        rows = []
        for t in _rows(2, self.steps, rows_for_steps):
            cs, _ = self.engine()
            cs[t - 1].backward()
            auto = float(cs[t - 2].grad)
            delta = np.zeros(())

            def value(t: int = t, delta: np.ndarray = delta) -> float:
                with graph.no_grad():
                    return float(self.engine(perturb=(t - 1, float(delta)))[0][t - 1].data)

            rows.append(CheckRow(f"dc_{t}/dc_{t - 1}", symbolic[t - 2], auto, float(finite_difference(value, delta))))
        return CheckTable(rows, f"check: scalar LSTM, T = {self.steps}, seed {self.seed}")

    def derivation(self, check: bool = False) -> Derivation:
        d = Derivation("The LSTM's additive path: $dc_t/dc_{t-1}$")
        c_t, h_t = sp.Symbol("c_t"), sp.Symbol("h_t")
        d.add(
            "The scalar LSTM cell (PyTorch's equations, one unit):",
            *(Equation(sp.Symbol(f"{g}_t"), e) for g, e in self.written().items() if g != "c"),
            Equation(c_t, self.written()["c"]),
            Equation(h_t, sp.Symbol("o_t") * sp.tanh(c_t)),
        )
        d.add(
            r"$c_{t-1}$ reaches $c_t$ directly and through $h_{t-1} = o_{t-1} \tanh(c_{t-1})$. SymPy's partials:",
            Equation(Tex(r"\frac{\partial c_t}{\partial c_{t-1}}", "∂c_t/∂c_{t-1}"), sp.Symbol("f_t")),
            Equation(Tex(r"\frac{\partial c_t}{\partial h_{t-1}}", "∂c_t/∂h_{t-1}"), self._display(self.dc_dh)),
            Equation(
                Tex(r"\frac{\partial h_{t-1}}{\partial c_{t-1}}", "∂h_{t-1}/∂c_{t-1}"),
                self._display(self.dh_prev_dc_prev),
            ),
        )
        split = (self.gates["f"] + self.dc_dh * self.dh_prev_dc_prev).xreplace(self.via_c)
        same = sp.expand(self.total - split) == 0
        grouped = sp.Add(
            sp.Symbol("f_t"),
            sp.Mul(self._display(self.dh_prev_dc_prev), self._display(self.dc_dh), evaluate=False),
            evaluate=False,
        )
        d.add(
            "So the total derivative is the forget gate plus the path through $h_{t-1}$. "
            r"SymPy differentiates $c_t$ with $h_{t-1} = o_{t-1} \tanh c_{t-1}$ substituted; "
            "grouped, the additive term comes first:",
            Equation(Tex(r"\frac{d c_t}{d c_{t-1}}", "dc_t/dc_{t-1}"), grouped, ordered=True),
        )
        d.add(
            r"SymPy's total equals $f_t + (\partial c_t/\partial h_{t-1})(\partial h_{t-1}/\partial c_{t-1})$ "
            f"exactly: {'yes' if same else 'NO'}. "
            "The first term carries the gradient without any squashing derivative or weight: "
            "with $f_t$ near 1 it survives many steps "
            "(the Elman RNN's $b_t = w_h (1 - h_t^2)$ shrinks it every step)."
        )
        if check:
            d.checks.append(self.check())
        return d


class GRUCell(_GatedCell):
    """Scalar GRU: dh_t/dh_{t-1} = u_t + (1 - u_t) ∂n_t/∂h_{t-1} + (h_{t-1} - n_t) ∂u_t/∂h_{t-1}."""

    kind = "gru"
    params = (*_gate_params("r", "u"), *sp.symbols("w_in w_hn b_in b_hn", real=True))

    def __init__(self, steps: int = 4, seed: int = 0):
        super().__init__(steps, seed)
        x, h = sp.symbols("x_t h_prev", real=True)
        self.x, self.h = x, h
        w = dict(zip(map(str, self.params), self.params))
        r = sigma(w["w_ir"] * x + w["w_hr"] * h + w["b_r"])
        u = sigma(w["w_iu"] * x + w["w_hu"] * h + w["b_u"])
        n = sp.tanh(w["w_in"] * x + w["b_in"] + r * (w["w_hn"] * h + w["b_hn"]))
        self.gates = {"r": r, "u": u, "n": n}
        self.h_next = (1 - u) * n + u * h
        self.total = sp.diff(self.h_next, h)

    def _display(self, expr: sp.Expr) -> sp.Expr:
        shown = expr.xreplace({self.gates["n"]: sp.Symbol("n_t")})
        shown = shown.xreplace({self.gates[g]: sp.Symbol(f"{g}_t") for g in "ru"})
        return shown.xreplace({self.h: sp.Symbol("h_{t-1}"), self.x: sp.Symbol("x_t")})

    def written(self) -> dict[str, sp.Expr]:
        """The cell's equations for display, in the notes' order (w_ir x_t + w_hr h_{t-1} + b_r;
        (1 - u_t) n_t + u_t h_{t-1}); each equals ``_display`` of the differentiated expression."""
        w = dict(zip(map(str, self.params), self.params))
        r_t, u_t, n_t = sp.Symbol("r_t"), sp.Symbol("u_t"), sp.Symbol("n_t")
        recurrent = written_sum(written_product(w["w_hn"], _H_PREV), w["b_hn"])
        return {
            "r": sigma(_affine(w, "r")),
            "u": sigma(_affine(w, "u")),
            "n": sp.tanh(written_sum(written_product(w["w_in"], _X), w["b_in"], written_product(r_t, recurrent))),
            "h": written_sum(written_product(written_sum(1, -u_t), n_t), written_product(u_t, _H_PREV)),
        }

    def engine(self, h0: Tensor | None = None, perturb: tuple[int, float] | None = None) -> list[Tensor]:
        """Unroll in engine ops; returns [h_1..h_T]. ``perturb=(t, d)`` adds d to h_t (t = 0: to h_0)."""
        p = self._parameters()
        h = h0 if h0 is not None else Tensor(np.array(self.h0), name="h0")
        if perturb is not None and perturb[0] == 0:
            h = h + perturb[1]
        hs = []
        for t in range(1, self.steps + 1):
            x = Tensor(np.array(self.xs[t - 1]))
            with _scopes(self.kind, "l0", "fwd", f"t{t}", "reset_gate"):
                r = (p["w_ir"] * x + p["w_hr"] * h + p["b_r"]).sigmoid()
            with _scopes(self.kind, "l0", "fwd", f"t{t}", "update_gate"):
                u = (p["w_iu"] * x + p["w_hu"] * h + p["b_u"]).sigmoid()
            with _scopes(self.kind, "l0", "fwd", f"t{t}", "new_gate"):
                n = (p["w_in"] * x + p["b_in"] + r * (p["w_hn"] * h + p["b_hn"])).tanh()
            with _scopes(self.kind, "l0", "fwd", f"t{t}", "hidden"):
                h = (1 - u) * n + u * h
                if perturb is not None and perturb[0] == t:
                    h = h + perturb[1]
            hs.append(h)
        return hs

    def symbolic_values(self) -> list[float]:
        """dh_t/dh_{t-1} for t = 1..T from the SymPy formula, along SymPy's own forward pass."""
        step = self._lambdify((self.x, self.h), self.h_next)
        total = self._lambdify((self.x, self.h), self.total)
        p = self._p()
        h, out = self.h0, []
        for t in range(1, self.steps + 1):
            out.append(float(total(self.xs[t - 1], h, *p)))
            h = step(self.xs[t - 1], h, *p)
        return out

    def check(self, rows_for_steps: int = 10) -> CheckTable:
        """dh_t/dh_{t-1} (every t when T <= rows_for_steps, else the first and the last): SymPy vs
        autograd vs finite differences. Each row unrolls the whole cell, so long T checks two rows."""
        symbolic = self.symbolic_values()
        rows = []
        for t in _rows(1, self.steps, rows_for_steps):
            h0 = Tensor(np.array(self.h0), requires_grad=True, name="h0")
            hs = [h0, *self.engine(h0)]
            hs[t].backward()
            auto = float(hs[t - 1].grad)
            delta = np.zeros(())

            def value(t: int = t, delta: np.ndarray = delta) -> float:
                with graph.no_grad():
                    return float(self.engine(perturb=(t - 1, float(delta)))[t - 1].data)

            rows.append(CheckRow(f"dh_{t}/dh_{t - 1}", symbolic[t - 1], auto, float(finite_difference(value, delta))))
        return CheckTable(rows, f"check: scalar GRU, T = {self.steps}, seed {self.seed}")

    def derivation(self, check: bool = False) -> Derivation:
        d = Derivation("The GRU's additive path: $dh_t/dh_{t-1}$")
        d.add(
            "The scalar GRU cell (PyTorch's equations: the reset gate multiplies $w_{hn} h_{t-1} + b_{hn}$):",
            *(Equation(sp.Symbol(f"{g}_t"), e) for g, e in self.written().items()),
        )
        u, n = self.gates["u"], self.gates["n"]
        split = u + (1 - u) * sp.diff(n, self.h) + (self.h - n) * sp.diff(u, self.h)
        same = sp.expand(self.total - split) == 0
        u_t, n_t, h_prev = sp.Symbol("u_t"), sp.Symbol("n_t"), sp.Symbol("h_{t-1}")
        grouped = sp.Add(
            u_t,
            sp.Mul(1 - u_t, self._display(sp.diff(n, self.h)), evaluate=False),
            sp.Mul(h_prev - n_t, self._display(sp.diff(u, self.h)), evaluate=False),
            evaluate=False,
        )
        d.add(
            "SymPy's derivative of $h_t$ with respect to $h_{t-1}$, every path included; "
            "grouped, the additive term comes first:",
            Equation(Tex(r"\frac{d h_t}{d h_{t-1}}", "dh_t/dh_{t-1}"), grouped, ordered=True),
        )
        d.add(
            r"SymPy's total equals $u_t + (1 - u_t)\,\partial n_t/\partial h_{t-1} + "
            r"(h_{t-1} - n_t)\,\partial u_t/\partial h_{t-1}$ exactly: "
            f"{'yes' if same else 'NO'}. The first term, the update gate $u_t$, copies the gradient straight "
            "through: with $u_t$ near 1 it survives many steps."
        )
        if check:
            d.checks.append(self.check())
        return d
