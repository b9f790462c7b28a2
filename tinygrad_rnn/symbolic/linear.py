"""The matrix linear RNN: BPTT in closed form, and the eigenvalues that decide its fate.

    h_t = W h_{t-1} + U x_t,   o_t = V h_t,   L = (1/T) sum_t ||o_t - y_t||^2

With no nonlinearity every step's Jacobian is the same matrix, dh_t/dh_{t-1} = W,
so the gradient reaching h_t from all later outputs is a sum of matrix powers:

    dL/dh_t = sum_{i=t}^{T} (W^T)^{i-t} V^T dL/do_i

(d2l's older BPTT text writes the same sum as sum_{i=t}^{T} (W^T)^{T-i} V^T dL/do_{T+t-i};
substitute i -> T + t - i). Diagonalise W = Q Λ Q^{-1} (Q, not P: P_k is the summation factor): then
(W^T)^m = Q^{-T} Λ^m Q^T, every entry a combination of λ^m, and the eigenvalues
against the unit circle decide: spectral radius ρ(W) < 1 and the far past's
gradient vanishes like ρ^m; ρ(W) > 1 and it explodes.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from .. import functional, graph
from ..ops import matmul, stack
from ..tensor import Parameter, Tensor
from .difference import GROWTH_LIMIT
from .numeric import finite_difference, recurrent_step
from .report import CheckRow, CheckTable, Derivation, Equation, Table, Tex, latex


def _rational(values: np.ndarray, denominator: int = 10) -> np.ndarray:
    """Round to multiples of 1/denominator, so SymPy and NumPy see exactly the same matrix."""
    return np.round(values * denominator) / denominator


class MatrixLinearRNN:
    """A linear RNN with H hidden units; W has entries in tenths so SymPy can diagonalise it exactly.

    ``radius`` rescales W to that spectral radius (then its entries are not tenths). A random W
    whose ρ(W)^T exceeds 10 is rescaled to ρ = 10^(1/T), so that finite differences can still
    check long sequences (``difference.GROWTH_LIMIT``)."""

    def __init__(
        self, hidden: int = 2, steps: int = 5, seed: int = 0, input_size: int = 2, radius: float | None = None
    ):
        for label, value in (("hidden", hidden), ("steps", steps), ("input_size", input_size)):
            if not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"MatrixLinearRNN: {label} must be a positive integer, got {value!r}")
        self.H, self.T, self.D, self.seed = int(hidden), int(steps), int(input_size), seed
        rng = np.random.default_rng(seed)
        W = rng.uniform(-1, 1, (self.H, self.H))
        if radius is None:
            W = _rational(W)  # tenths: SymPy diagonalises exactly the matrix NumPy uses
            self.scaled = self.T * np.log(self.spectral_radius(W)) > np.log(GROWTH_LIMIT)
            if self.scaled:  # keep ρ(W)^T within what finite differences can check
                radius = GROWTH_LIMIT ** (1 / self.T)
        else:
            self.scaled = True
        if radius is not None:
            W = W * (radius / max(self.spectral_radius(W), 1e-12))
        self.W = W
        self.U = rng.uniform(-1, 1, (self.H, self.D))
        self.V = rng.uniform(-1, 1, (1, self.H))
        self.h0 = rng.uniform(-1, 1, self.H)
        self.xs = rng.standard_normal((self.T, self.D))
        self.ys = rng.standard_normal((self.T, 1))

    @staticmethod
    def spectral_radius(W: np.ndarray) -> float:
        """ρ(W) = max |λ| over the eigenvalues of W."""
        return float(np.max(np.abs(np.linalg.eigvals(W))))

    # --- the engine ------------------------------------------------------------
    def engine(self) -> tuple[Tensor, list[Tensor], dict[str, Parameter]]:
        """Unroll in engine ops (scopes ``linear_rnn/t<t>``); returns (L, [h_1..h_T], parameters)."""
        params = {"W": Parameter(self.W, name="W"), "U": Parameter(self.U, name="U"), "V": Parameter(self.V, name="V")}
        h, hs, outs = Tensor(self.h0, name="h0"), [], []
        for t in range(self.T):
            with graph.scope("linear_rnn"), graph.scope(f"t{t + 1}"):
                h = matmul(params["W"], h) + matmul(params["U"], Tensor(self.xs[t]))
                outs.append(matmul(params["V"], h))
            hs.append(h)
        with graph.scope("loss"):
            L = functional.mse_loss(stack(outs), self.ys)
        return L, hs, params

    def forward_numpy(self, shifts: np.ndarray, W: np.ndarray | None = None) -> float:
        """L with ``shifts[t-1]`` added to h_t as it is made (and W replaced by ``W``, if given), in plain
        NumPy: finite differences of it give dL/dh_t and dL/dW, sharing no code with the engine."""
        W = self.W if W is None else W
        h, outs = self.h0, []
        for t in range(self.T):
            h = W @ h + self.U @ self.xs[t] + shifts[t]
            outs.append(self.V @ h)
        return float(np.mean((np.array(outs) - self.ys) ** 2))

    # --- the closed form ---------------------------------------------------------
    def output_gradients(self) -> np.ndarray:
        """dL/do_t = (2/T)(o_t - y_t) for t = 1..T, from a NumPy forward pass (shape (T, 1))."""
        h, outs = self.h0, []
        for t in range(self.T):
            h = self.W @ h + self.U @ self.xs[t]
            outs.append(self.V @ h)
        return (2 / self.T) * (np.array(outs) - self.ys)

    def powers(self, m: np.ndarray) -> np.ndarray:
        """(W^T)^m for each m, from the eigendecomposition W^T = Q^{-T} Λ Q^T (shape (len(m), H, H))."""
        lam, Q = np.linalg.eig(self.W)
        left, right = np.linalg.inv(Q).T, Q.T
        out = np.einsum("ab,mb,bc->mac", left, lam[None, :] ** np.asarray(m)[:, None], right)
        return out.real

    def hidden_gradients(self) -> np.ndarray:
        """dL/dh_t = sum_{i=t}^{T} (W^T)^{i-t} V^T dL/do_i for t = 1..T (shape (T, H))."""
        g = self.output_gradients() @ self.V  # row i-1: V^T dL/do_i
        M = self.powers(np.arange(self.T))  # M[m] = (W^T)^m
        out = np.zeros((self.T, self.H))
        for t in range(self.T):
            out[t] = np.einsum("mab,mb->a", M[: self.T - t], g[t:])
        return out

    def check(self, rows_for_steps: int = 10) -> CheckTable:
        """dL/dh_t (every t when T <= rows_for_steps, else t = 1 and T) and dL/dW = sum_t dL/dh_t h_{t-1}^T:
        closed form vs autograd vs finite differences."""
        closed = self.hidden_gradients()
        L, hs, params = self.engine()
        L.backward()
        auto = np.array([h.grad for h in hs])
        shifts = np.zeros((self.T, self.H))
        if self.T <= rows_for_steps:
            rows = [CheckRow(f"dL/dh_t, t = 1..{self.T}", closed, auto,
                             finite_difference(lambda: self.forward_numpy(shifts), shifts))]  # fmt: skip
        else:  # the farthest and the nearest step (a shift of row t-1 perturbs h_t alone)
            rows = [CheckRow(f"dL/dh_{t}", closed[t - 1], auto[t - 1],
                             finite_difference(lambda: self.forward_numpy(shifts), shifts[t - 1]))
                    for t in (1, self.T)]  # fmt: skip
        states = np.array([self.h0] + [h.data for h in hs[:-1]])
        dW = np.einsum("ta,tb->ab", closed, states)
        W0, zeros = self.W.copy(), np.zeros((self.T, self.H))
        rows.append(
            CheckRow(
                "dL/dW",
                dW,
                params["W"].grad,
                finite_difference(lambda: self.forward_numpy(zeros, W0), W0, recurrent_step(self.T)),
            )
        )
        return CheckTable(rows, f"check: linear RNN, H = {self.H}, T = {self.T}, seed {self.seed}")

    @staticmethod
    def fate(hidden: int = 3, radii: tuple[float, ...] = (0.8, 1.0, 1.2), steps: int = 30, seed: int = 0) -> np.ndarray:
        """||dL/dh_1|| / ||dL/dh_T|| measured by autograd, when only the last output is scored, for W scaled
        to each spectral radius: the far past's share of the gradient, beside ρ^{T-1}."""
        out = np.empty(len(radii))
        for r, radius in enumerate(radii):
            model = MatrixLinearRNN(hidden, steps, seed, radius=radius)
            _, hs, _ = model.engine()
            (matmul(Tensor(model.V), hs[-1])).sum().backward()
            out[r] = np.linalg.norm(hs[0].grad) / np.linalg.norm(hs[-1].grad)
        return out

    # --- for people ---------------------------------------------------------------
    def derivation(self, check: bool = False, symbolic: bool = True) -> Derivation:
        """The closed form of BPTT for this W; ``symbolic`` diagonalises W with SymPy (small H), else NumPy."""
        H = self.H
        d = Derivation(f"The matrix linear RNN, H = {H}: BPTT as powers of $W$")
        d.add(
            "With no nonlinearity every step's Jacobian is $W$ itself:",
            Equation(Tex("h_t", "h_t"), Tex("W h_{t-1} + U x_t", "W h_{t-1} + U x_t")),
            Equation(Tex("o_t", "o_t"), Tex("V h_t", "V h_t")),
        )
        d.add(
            "so the gradient reaching $h_t$ from every later output is a sum of matrix powers "
            r"(d2l writes it $\sum_{i=t}^{T} (W^\top)^{T-i} V^\top \partial L/\partial o_{T+t-i}$, "
            "the same sum read backwards):",
            Equation(
                Tex(r"\frac{\partial L}{\partial h_t}", "∂L/∂h_t"),
                Tex(
                    r"\sum_{i=t}^{T} \left(W^\top\right)^{i-t} V^\top \frac{\partial L}{\partial o_i}",
                    "Σ_{i=t}^{T} (Wᵀ)^{i-t} Vᵀ ∂L/∂o_i",
                ),
            ),
        )
        if symbolic and self.scaled:
            d.add(
                f"($W$ was rescaled to $\\rho(W) = {self.spectral_radius(self.W):.4g}$, so that $\\rho^T \\le 10$ and "
                "finite differences can check it; its entries are no longer tenths: NumPy diagonalises it below.)"
            )
        if symbolic and not self.scaled:
            Wsym = sp.Matrix(H, H, lambda p, q: sp.Rational(int(round(self.W[p, q] * 10)), 10))
            Q, Lam = Wsym.diagonalize()
            lam = [Lam[k, k] for k in range(H)]
            d.add(
                "SymPy diagonalises this $W$ exactly, $W = Q \\Lambda Q^{-1}$:",
                Equation(Tex("W", "W"), Wsym),
                Equation(Tex(r"\Lambda", "Λ"), Lam),
                Equation(Tex("Q", "Q"), Q),
            )
            moduli = [sp.Abs(v) for v in lam]
            same = sp.simplify(Q * Lam * Q.inv() - Wsym) == sp.zeros(H, H)
            d.add(
                "So $(W^\\top)^m = Q^{-\\top} \\Lambda^m Q^\\top$: every entry is a combination of "
                + ", ".join(f"$({latex(v)})^m$" for v in lam)
                + f". $Q \\Lambda Q^{{-1}} = W$: {'yes' if same else 'NO'}. The moduli "
                + ", ".join(f"${latex(m)} \\approx {float(m):.4g}$" for m in moduli)
                + ".",
            )
        radius = self.spectral_radius(self.W)
        eig = np.linalg.eigvals(self.W)
        fate = self.fate(H)
        d.add(
            f"The eigenvalues of $W$ (NumPy): {', '.join(f'{v:.4g}' for v in eig)}; spectral radius "
            f"$\\rho(W) = {radius:.4g}$, {'inside' if radius < 1 else 'outside'} the unit circle. "
            "Against the unit circle the eigenvalues decide: $\\rho < 1$ and "
            "$\\|(W^\\top)^m\\| \\to 0$ like $\\rho^m$ (the far past's gradient vanishes); $\\rho > 1$ and it "
            f"grows like $\\rho^m$ (explodes). Measured by autograd for $H = {H}$, $T = 30$, only the last output "
            "scored, $W$ rescaled to each radius:",
            table=Table(
                (
                    r"$\rho(W)$",
                    r"$\lVert\partial L/\partial h_1\rVert / \lVert\partial L/\partial h_T\rVert$",
                    r"$\rho^{T-1}$",
                ),
                [(f"{r:g}", f"{v:.3g}", f"{r**29:.3g}") for r, v in zip((0.8, 1.0, 1.2), fate)],
            ),
        )
        if check:
            d.checks.append(self.check())
        return d
