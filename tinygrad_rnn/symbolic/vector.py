"""The closed form with matrices: H hidden units, where the order of the products matters.

    h_k = f(W_hh h_{k-1} + W_xh x_k + b),   o_k = W_o h_k,   L = (1/T) sum_k (o_k - y_k)^2

with f = tanh (default) or relu. The recurrence is the scalar one with Jacobians
in place of numbers:

    Z_k = A_k + B_k Z_{k-1},     Z_k = A_k + sum_{i=1}^{k-1} (B_k B_{k-1} ... B_{i+1}) A_i

with Z_k = dh_k/dW_hh (an H x H x H array: output unit p, weight entry (q, r)),
A_k its direct part (h_{k-1} held fixed) and B_k = dh_k/dh_{k-1} (H x H). Matrices
don't commute, so the product is ordered: the latest step's B on the left.

Here the *engine* supplies A_k and B_k (one-step backward passes with unit
cotangents), and the closed form, assembled from them, has to reproduce the
engine's own end-to-end dh_k/dW_hh and dL/dW_hh. dL/dW_hh = sum_k g_k Z_k is the
double sum sum_k sum_{i<=k} g_k (B_k ... B_{i+1}) A_i; it is evaluated summing
over k first for each i (Horner's rule on the same terms, the way BPTT orders
them), so T = 2000 costs T products, not T^2/2.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import sympy as sp

from .. import functional, graph
from ..ops import matmul, stack
from ..tensor import Parameter, Tensor
from .numeric import finite_difference_jacobian
from .report import CheckRow, CheckTable, Derivation, Equation, Tex

NONLINEARITIES = ("tanh", "relu")


class VectorRNN:
    """An Elman RNN with H hidden units built from engine primitives, and its closed-form BPTT.

    ``nonlinearity="relu"`` evaluates at a point where every unit stays active
    (non-negative W_hh with spectral radius 0.8, bias >= 1, small input weights,
    inputs clipped to [-3, 3]): a unit at its kink has no derivative to check, and
    a dead one checks nothing.
    """

    def __init__(self, hidden: int = 3, steps: int = 5, input_size: int = 2, seed: int = 0, nonlinearity: str = "tanh"):
        for label, value in (("hidden", hidden), ("steps", steps), ("input_size", input_size)):
            if not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"VectorRNN: {label} must be a positive integer, got {value!r}")
        if nonlinearity not in NONLINEARITIES:
            choices = ", ".join(NONLINEARITIES)
            raise ValueError(f"VectorRNN: nonlinearity must be one of {choices}, got {nonlinearity!r}")
        self.H, self.T, self.D = int(hidden), int(steps), int(input_size)
        self.nonlinearity = nonlinearity
        rng = np.random.default_rng(seed)
        bound = 1 / np.sqrt(self.H)
        self.values = {
            "weight_hh": rng.uniform(-bound, bound, (self.H, self.H)) * 2,
            "weight_ih": rng.uniform(-bound, bound, (self.H, self.D)),
            "bias": rng.uniform(-bound, bound, self.H),
            "weight_o": rng.uniform(-1, 1, (1, self.H)),
        }
        self.h0 = rng.uniform(-1, 1, self.H)
        self.xs = rng.standard_normal((self.T, self.D))
        self.ys = rng.standard_normal(self.T)
        if nonlinearity == "relu":
            W = np.abs(self.values["weight_hh"])
            self.values["weight_hh"] = W * (0.8 / max(np.max(np.abs(np.linalg.eigvals(W))), 1e-12))
            self.values["weight_ih"] *= 0.2
            self.values["bias"] = 1 + np.abs(self.values["bias"])
            self.h0 = np.abs(self.h0)
            self.xs = np.clip(self.xs, -3, 3)
        self.seed = seed

    # --- the engine --------------------------------------------------------
    def step(self, W_hh: Tensor, W_ih: Tensor, b: Tensor, x: Tensor, h_prev: Tensor) -> Tensor:
        """h_k = f(W_hh h_{k-1} + W_ih x_k + b), exactly as in the unrolled network."""
        pre = matmul(W_hh, h_prev) + matmul(W_ih, x) + b
        return pre.tanh() if self.nonlinearity == "tanh" else pre.relu()

    def forward_numpy(self, weight_hh: np.ndarray) -> tuple[np.ndarray, float]:
        """States h_1..h_T and L in plain NumPy: the reference finite differences perturb.

        An implementation of the same equations that shares no code with the
        engine, so a wrong op in the engine cannot hide in the reference."""
        v = self.values
        f = np.tanh if self.nonlinearity == "tanh" else (lambda s: np.maximum(s, 0.0))
        drive = self.xs @ v["weight_ih"].T + v["bias"]  # W_ih x_k + b for every k at once
        states = np.empty((self.T, self.H))
        h = self.h0
        for k in range(self.T):
            h = states[k] = f(weight_hh @ h + drive[k])
        outs = states @ v["weight_o"][0]
        return states, float(np.mean((outs - self.ys) ** 2))

    def engine(self, weight_hh: np.ndarray | None = None) -> tuple[Tensor, list[Tensor], dict[str, Parameter]]:
        """Unroll over T steps (scopes ``rnn/l0/fwd/t<k>/hidden`` and ``.../output``)."""
        values = dict(self.values)
        if weight_hh is not None:
            values["weight_hh"] = weight_hh
        params = {n: Parameter(v, name=n) for n, v in values.items()}
        h = Tensor(self.h0, name="h0")
        hs, outs = [], []
        for k in range(1, self.T + 1):
            with graph.scope("rnn"), graph.scope("l0"), graph.scope("fwd"), graph.scope(f"t{k}"):
                with graph.scope("hidden"):
                    h = self.step(params["weight_hh"], params["weight_ih"], params["bias"], Tensor(self.xs[k - 1]), h)
                with graph.scope("output"):
                    o = matmul(params["weight_o"], h).sum()
            hs.append(h)
            outs.append(o)
        with graph.scope("loss"):
            L = functional.mse_loss(stack(outs), self.ys)
        return L, hs, params

    def step_jacobians(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """A[k] = ∂h_k/∂W_hh (direct), B[k] = ∂h_k/∂h_{k-1}, and the states, all from the engine.

        For each step a one-step graph is recorded with h_{k-1} and W_hh as
        leaves; one backward pass per output unit p, with cotangent e_p, gives
        row p of both Jacobians. Index 0 is a zero placeholder (a_0 = 0).
        """
        H, T = self.H, self.T
        _, hs, _ = self.engine()
        states = [self.h0] + [h_.data for h_ in hs]
        A, B = np.zeros((T + 1, H, H, H)), np.zeros((T + 1, H, H))
        for k in range(1, T + 1):
            W = Tensor(self.values["weight_hh"], requires_grad=True)
            h_prev = Tensor(states[k - 1], requires_grad=True)
            out = self.step(
                W,
                Tensor(self.values["weight_ih"]),
                Tensor(self.values["bias"]),
                Tensor(self.xs[k - 1]),
                h_prev,
            )
            for p in range(H):
                W.grad = h_prev.grad = None
                out.backward(np.eye(H)[p])
                A[k, p], B[k, p] = W.grad, h_prev.grad
        return A, B, np.array(states)

    def closed_form(self, A: np.ndarray, B: np.ndarray, k: int) -> np.ndarray:
        """Z_k = A_k + sum_{i=1}^{k-1} (B_k ... B_{i+1}) A_i, products ordered latest-left."""
        carries = np.empty((k - 1, self.H, self.H))  # carries[i-1] = B_k B_{k-1} ... B_{i+1}
        carry = np.eye(self.H)
        for i in range(k - 1, 0, -1):
            carry = carries[i - 1] = carry @ B[i + 1]
        return A[k] + np.einsum("ipq,iqrs->prs", carries, A[1:k])

    def closed_form_gradient(self, A: np.ndarray, B: np.ndarray, g: np.ndarray) -> np.ndarray:
        """dL/dW_hh = sum_k g_k Z_k with Z_k in closed form, summed over k first for each i.

        sum_k sum_{i<=k} g_k (B_k ... B_{i+1}) A_i = sum_i delta_i A_i, where
        delta_i = sum_{k>=i} g_k (B_k ... B_{i+1}) = g_i + delta_{i+1} B_{i+1} (Horner's
        rule): the same T(T+1)/2 terms, in BPTT's order. ``g[k-1]`` = ∂L/∂h_k through o_k.
        """
        T = self.T
        delta = np.zeros(self.H)
        total = np.zeros((self.H, self.H))
        for i in range(T, 0, -1):
            delta = g[i - 1] + (delta @ B[i + 1] if i < T else 0.0)
            total += np.tensordot(delta, A[i], axes=(0, 0))
        return total

    def symbolic_jacobian(self) -> tuple[sp.Matrix, Callable]:
        """B_k = ∂h_k/∂h_{k-1} by SymPy's Matrix.jacobian, and its numbers.

        The returned matrix shows h_k[p] where SymPy has tanh(row p of the
        pre-activation), and D_k[p] for relu's derivative there (1 if active, else 0)."""
        H, D = self.H, self.D
        W = sp.Matrix(H, H, lambda p, q: sp.Symbol(f"W_{p}{q}"))
        U = sp.Matrix(H, D, lambda p, q: sp.Symbol(f"U_{p}{q}"))
        bias = sp.Matrix(H, 1, lambda p, _: sp.Symbol(f"b_{p}"))
        hp = sp.Matrix(H, 1, lambda p, _: sp.Symbol(f"h_{p}"))
        xv = sp.Matrix(D, 1, lambda p, _: sp.Symbol(f"x_{p}"))
        pre = W * hp + U * xv + bias
        out = pre.applyfunc(sp.tanh if self.nonlinearity == "tanh" else lambda s: sp.Max(0, s))
        jac = out.jacobian(hp)
        if self.nonlinearity == "tanh":
            shown = jac.xreplace({out[p]: sp.Symbol(f"h_k{p}") for p in range(H)})
        else:
            shown = jac.xreplace({sp.Heaviside(pre[p]): sp.Symbol(f"D_k{p}") for p in range(H)})
        flat = sp.lambdify([*W, *U, *bias, *hp, *xv], jac, modules="numpy", cse=True)

        def fn(W_: np.ndarray, U_: np.ndarray, b_: np.ndarray, h_: np.ndarray, x_: np.ndarray) -> np.ndarray:
            return np.asarray(flat(*np.concatenate([np.ravel(a) for a in (W_, U_, b_, h_, x_)])), dtype=float)

        return shown, fn

    # --- checks -------------------------------------------------------------
    def check(self, rows_for_steps: int = 10, progress: Callable[[str], None] | None = None) -> CheckTable:
        """B_T (SymPy vs engine vs finite differences), dh_k/dW_hh (every k when T <= rows_for_steps,
        else k = T) and dL/dW_hh: closed form vs autograd vs finite differences (of ``forward_numpy``)."""
        H, T = self.H, self.T
        say = progress or (lambda _: None)
        say(f"vector RNN: the engine's one-step Jacobians A_k, B_k for k = 1..{T}")
        A, B, states = self.step_jacobians()
        _, jac = self.symbolic_jacobian()
        v = self.values
        b_symbolic = jac(v["weight_hh"], v["weight_ih"], v["bias"], states[T - 1], self.xs[T - 1])
        W0 = v["weight_hh"].copy()
        h_prev = states[T - 1].copy()

        def last_step() -> np.ndarray:
            with graph.no_grad():
                out = self.step(Tensor(W0), Tensor(v["weight_ih"]), Tensor(v["bias"]), Tensor(self.xs[T - 1]),
                                Tensor(h_prev))  # fmt: skip
            return out.data

        def states_and_loss() -> np.ndarray:
            hs, loss = self.forward_numpy(W0)
            return np.append(hs.reshape(-1), loss)

        rows = [CheckRow(f"B_{T} = dh_{T}/dh_{T - 1}", b_symbolic, B[T], finite_difference_jacobian(last_step, h_prev))]
        say(f"vector RNN: finite differences, {4 * H * H} forward passes of T = {T}")
        fd = finite_difference_jacobian(states_and_loss, W0)  # (T H + 1, H, H): every dh_k/dW_hh and dL/dW_hh
        fd_states, fd_loss = fd[:-1].reshape(T, H, H, H), fd[-1]
        say("vector RNN: closed form against the engine's backward")
        for k in range(1, T + 1) if T <= rows_for_steps else [T]:
            total = np.zeros((H, H, H))
            _, hs, params = self.engine()
            for p in range(H):
                params["weight_hh"].grad = None
                hs[k - 1].backward(np.eye(H)[p])
                total[p] = params["weight_hh"].grad
            rows.append(CheckRow(f"dh_{k}/dW_hh", self.closed_form(A, B, k), total, fd_states[k - 1]))
        L, hs, params = self.engine()
        L.backward()
        outs = np.array([(v["weight_o"] @ h_.data).item() for h_ in hs])
        g = (2 / T) * (outs - self.ys)[:, None] * v["weight_o"]  # g[k-1] = ∂L/∂h_k through o_k only
        rows.append(CheckRow("dL/dW_hh", self.closed_form_gradient(A, B, g), params["weight_hh"].grad, fd_loss))
        return CheckTable(rows, f"check: vector Elman RNN ({self.nonlinearity}), H = {H}, T = {T}, seed {self.seed}")

    # --- for people ---------------------------------------------------------
    def derivation(self, check: bool = False, progress: Callable[[str], None] | None = None) -> Derivation:
        f = self.nonlinearity
        d = Derivation(f"BPTT with matrices: Elman RNN ({f}), H = {self.H} hidden units, T = {self.T}")
        d.add(
            "The model, with a scalar output per step:",
            Equation(
                Tex("h_k", "h_k"),
                Tex(
                    rf"\{f}(W_{{hh}} h_{{k-1}} + W_{{ih}} x_k + b)"
                    if f == "tanh"
                    else r"\max(0,\, W_{hh} h_{k-1} + W_{ih} x_k + b)",
                    f"{f}(W_hh h_{{k-1}} + W_ih x_k + b)" if f == "tanh" else "max(0, W_hh h_{k-1} + W_ih x_k + b)",
                ),  # fmt: skip
            ),
            Equation(
                Tex("L", "L"),
                Tex(r"\frac{1}{T}\sum_{k=1}^{T} (W_o h_k - y_k)^2", "(1/T) Σ_k (W_o h_k - y_k)^2"),
            ),
        )
        if f == "tanh":
            slope_tex, slope_text = r"1 - h_k \odot h_k", "1 - h_k ⊙ h_k"
            elem_tex, elem_text = r"(1 - h_{k,p}^2)", "(1 - h_k[p]^2)"
        else:
            slope_tex, slope_text = r"\mathbb{1}[s_k > 0]", "1[s_k > 0]"
            elem_tex, elem_text = r"\mathbb{1}[s_{k,p} > 0]", "1[s_k[p] > 0]"
        d.add(
            "The per-step Jacobians (the engine computes them; here is what they are"
            + ("" if f == "tanh" else r", with $s_k$ the pre-activation")
            + "):",
            Equation(
                Tex("B_k", "B_k"),
                Tex(
                    r"\frac{\partial h_k}{\partial h_{k-1}} = \operatorname{diag}(" + slope_tex + r")\, W_{hh}",
                    f"∂h_k/∂h_{{k-1}} = diag({slope_text}) W_hh",
                ),
            ),
            Equation(
                Tex(r"(A_k)_{p,qr}", "(A_k)[p, q, r]"),
                Tex(
                    r"\frac{\partial h_{k,p}}{\partial W_{qr}}\Big|_{h_{k-1}} = "
                    + elem_tex
                    + r"\,\delta_{pq}\, h_{k-1,r}",
                    f"∂h_k[p]/∂W[q, r] (h_{{k-1}} fixed) = {elem_text} δ_pq h_{{k-1}}[r]",
                ),
            ),
        )
        jac, _ = VectorRNN(hidden=2, steps=1, input_size=1, nonlinearity=f).symbolic_jacobian()
        d.add(
            "SymPy's Matrix.jacobian agrees, e.g. for $H = 2$ (one input"
            + (", $D_{kp}$ the derivative of relu at unit $p$" if f == "relu" else "")
            + "):",
            Equation(Tex("B_k", "B_k"), jac),
        )
        d.add(
            "The closed form keeps the products in time order (latest step on the left):",
            Equation(
                Tex(r"\frac{\partial h_k}{\partial W_{hh}}", "∂h_k/∂W_hh"),
                Tex(
                    r"A_k + \sum_{i=1}^{k-1} \left(B_k B_{k-1} \cdots B_{i+1}\right) A_i",
                    "A_k + Σ_{i=1}^{k-1} (B_k B_{k-1} … B_{i+1}) A_i",
                ),
            ),
            Equation(
                Tex(r"\frac{\partial L}{\partial W_{hh}}", "∂L/∂W_hh"),
                Tex(
                    r"\sum_{k=1}^{T} \frac{2}{T}(o_k - y_k)\, W_o \frac{\partial h_k}{\partial W_{hh}}",
                    "Σ_k (2/T)(o_k - y_k) W_o ∂h_k/∂W_hh",
                ),
            ),
        )
        if check:
            d.checks.append(self.check(progress=progress))
        return d
