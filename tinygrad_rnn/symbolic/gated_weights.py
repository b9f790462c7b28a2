"""The gated cells' recurrent weight: z_k = a_k + B_k z_{k-1} with a matrix B_k, derived and checked.

For the Elman RNN, ∂h_k/∂w_h obeys z_k = a_k + b_k z_{k-1} with numbers. An LSTM
or a GRU with H units obeys the same recurrence for its recurrent weight W_hh
(all gates' rows, PyTorch's layout), with matrices:

    z_k = ∂h_k/∂W_hh,   a_k = ∂h_k/∂W_hh with h_{k-1} held fixed,   B_k = ∂h_k/∂h_{k-1}

    z_k = a_k + B_k z_{k-1} = a_k + Σ_{i=1}^{k-1} (B_k B_{k-1} ⋯ B_{i+1}) a_i

for the GRU (B_k is H × H), and the same with the whole state (h_k, c_k) in place
of h_k for the LSTM (B_k is 2H × 2H, its c-to-c block diag(f_k) the additive
path). The state gets no letter of its own: s is the pre-activation (docs/notation.md). The loss
L = (1/T) Σ_k (w_o·h_k − y_k)² reaches W_hh through every Z_k.

Here SymPy builds the cell from symbols, differentiates one step (``Matrix.jacobian``)
to get A_k and B_k, and the closed form assembled from them is compared with the
engine's backward pass over the whole unroll and with finite differences of a
NumPy forward pass that shares no code with either.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import sympy as sp

from .. import functional, graph
from ..ops import matmul, stack
from ..tensor import Parameter, Tensor
from .gated import NUMPY, sigma
from .numeric import finite_difference_jacobian
from .report import CheckRow, CheckTable, Derivation, Equation, Tex

GATES = {"lstm": ("i", "f", "g", "o"), "gru": ("r", "u", "n")}  # PyTorch's row order (z written u)


def _np_sigmoid(v: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-v))


class GatedWeights:
    """An LSTM or GRU with ``hidden`` units and one input, its W_hh gradient by the matrix recurrence."""

    def __init__(self, kind: str = "lstm", steps: int = 4, hidden: int = 2, seed: int = 0):
        if kind not in GATES:
            raise ValueError(f"GatedWeights: kind must be 'lstm' or 'gru', got {kind!r}")
        for label, value in (("steps", steps), ("hidden", hidden)):
            if not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"GatedWeights: {label} must be a positive integer, got {value!r}")
        self.kind, self.T, self.H, self.seed = kind, int(steps), int(hidden), seed
        G = len(GATES[kind]) * self.H
        rng = np.random.default_rng(seed)
        self.values = {
            "weight_hh": rng.uniform(-1, 1, (G, self.H)),
            "weight_ih": rng.uniform(-1, 1, (G, 1)),
            "bias_ih": rng.uniform(-0.5, 0.5, G),
            "bias_hh": rng.uniform(-0.5, 0.5, G),
        }
        self.readout = rng.uniform(-1, 1, self.H)
        self.xs = rng.standard_normal(self.T)
        self.ys = rng.standard_normal(self.T)
        self.h0 = rng.uniform(-0.5, 0.5, self.H)
        self.c0 = rng.uniform(-0.5, 0.5, self.H)
        self.S = 2 * self.H if kind == "lstm" else self.H  # the state's size
        self._build()

    # --- SymPy: one step and its Jacobians ----------------------------------
    def _build(self) -> None:
        H, G = self.H, len(GATES[self.kind]) * self.H
        W = sp.Matrix(G, H, lambda p, q: sp.Symbol(f"W_{p}{q}", real=True))
        prev = sp.Matrix(self.S, 1, lambda p, _: sp.Symbol(f"s_{p}", real=True))
        x = sp.Symbol("x", real=True)
        self.state = self._step(W, prev, x, sp.Matrix(self.values["weight_ih"]), sp.Matrix(self.values["bias_ih"]),
                                sp.Matrix(self.values["bias_hh"]))  # fmt: skip
        args = [*prev, x, *W]
        self._F = sp.lambdify(args, self.state, modules=NUMPY, cse=True)
        self._B = sp.lambdify(args, self.state.jacobian(prev), modules=NUMPY, cse=True)
        self._A = sp.lambdify(args, self.state.jacobian(list(W)), modules=NUMPY, cse=True)

    def _step(self, W: Any, prev: Any, x: Any, W_ih: Any, b_ih: Any, b_hh: Any) -> sp.Matrix:
        """One step of the cell on SymPy matrices: the new state (h; c) or h."""
        H = self.H
        h = prev[:H, :]
        gi, gh = W_ih * x + b_ih, W * h + b_hh

        def rows(m: sp.Matrix, n: int) -> sp.Matrix:
            return m[n * H:(n + 1) * H, :]

        if self.kind == "lstm":
            c = prev[H:, :]
            i, f = (rows(gi + gh, n).applyfunc(sigma) for n in (0, 1))
            g, o = rows(gi + gh, 2).applyfunc(sp.tanh), rows(gi + gh, 3).applyfunc(sigma)
            c_new = f.multiply_elementwise(c) + i.multiply_elementwise(g)
            return sp.Matrix.vstack(o.multiply_elementwise(c_new.applyfunc(sp.tanh)), c_new)
        r, u = (rows(gi + gh, n).applyfunc(sigma) for n in (0, 1))
        n_ = (rows(gi, 2) + r.multiply_elementwise(rows(gh, 2))).applyfunc(sp.tanh)
        return (sp.ones(H, 1) - u).multiply_elementwise(n_) + u.multiply_elementwise(h)

    def _args(self, s_prev: np.ndarray, x: float, W: np.ndarray) -> list[float]:
        return [*np.ravel(s_prev), float(x), *np.ravel(W)]

    def symbolic_steps(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """States 0..T ((h, c) or h, flat), A_1..A_T (S × G H × H) and B_1..B_T (S × S) from SymPy's
        formulas (index 0 unused)."""
        S, W = self.S, self.values["weight_hh"]
        states = np.zeros((self.T + 1, S))
        states[0] = np.concatenate([self.h0, self.c0]) if self.kind == "lstm" else self.h0
        A = np.zeros((self.T + 1, S, *W.shape))
        B = np.zeros((self.T + 1, S, S))
        for k in range(1, self.T + 1):
            args = self._args(states[k - 1], self.xs[k - 1], W)
            states[k] = np.ravel(self._F(*args))
            A[k] = np.asarray(self._A(*args), dtype=float).reshape(S, *W.shape)
            B[k] = np.asarray(self._B(*args), dtype=float)
        return states, A, B

    def closed_form(self, A: np.ndarray, B: np.ndarray, k: int) -> np.ndarray:
        """Z_k = A_k + Σ_{i=1}^{k-1} (B_k ⋯ B_{i+1}) A_i, the products ordered latest-left."""
        total, carry = A[k].copy(), np.eye(self.S)
        for i in range(k - 1, 0, -1):
            carry = carry @ B[i + 1]
            total += np.tensordot(carry, A[i], axes=(1, 0))
        return total

    def closed_form_gradient(self, states: np.ndarray, A: np.ndarray, B: np.ndarray) -> np.ndarray:
        """dL/dW_hh = Σ_k g_kᵀ Z_k, g_k = ∂L/∂(state k) through the readout w_o·h_k only; summed over k first
        for each i (Horner's rule, BPTT's order)."""
        H, T = self.H, self.T
        delta, total = np.zeros(self.S), np.zeros_like(self.values["weight_hh"])
        for i in range(T, 0, -1):
            g = np.zeros(self.S)
            g[:H] = (2 / T) * (self.readout @ states[i][:H] - self.ys[i - 1]) * self.readout
            delta = g + (delta @ B[i + 1] if i < T else 0.0)
            total += np.tensordot(delta, A[i], axes=(0, 0))
        return total

    # --- the engine, and NumPy for finite differences ------------------------
    def engine(self) -> tuple[Tensor, list[Tensor], Parameter]:
        """Unroll in engine ops (scopes ``lstm/l0/fwd/t<k>``); returns (L, [state_1..state_T], W_hh)."""
        v, H = self.values, self.H
        W = Parameter(v["weight_hh"], name="weight_hh")
        W_ih, b_ih, b_hh = (Tensor(v[n]) for n in ("weight_ih", "bias_ih", "bias_hh"))
        h, c = Tensor(self.h0, name="h0"), Tensor(self.c0, name="c0")
        states, outs = [], []
        for k in range(1, self.T + 1):
            with graph.scope(self.kind), graph.scope("l0"), graph.scope("fwd"), graph.scope(f"t{k}"):
                gi, gh = matmul(W_ih, Tensor(self.xs[k - 1 : k])) + b_ih, matmul(W, h) + b_hh
                if self.kind == "lstm":
                    pre = gi + gh
                    i, f, o = pre[0:H].sigmoid(), pre[H : 2 * H].sigmoid(), pre[3 * H :].sigmoid()
                    c = f * c + i * pre[2 * H : 3 * H].tanh()
                    h = o * c.tanh()
                    states.append(stack([h, c]))
                else:
                    r, u = (gi[0:H] + gh[0:H]).sigmoid(), (gi[H : 2 * H] + gh[H : 2 * H]).sigmoid()
                    n = (gi[2 * H :] + r * gh[2 * H :]).tanh()
                    h = (1 - u) * n + u * h
                    states.append(h)
                outs.append((h * Tensor(self.readout)).sum())
        with graph.scope("loss"):
            L = functional.mse_loss(stack(outs), self.ys)
        return L, states, W

    def forward_numpy(self, W: np.ndarray) -> np.ndarray:
        """Every state entry and L, in plain NumPy (what finite differences perturb)."""
        v, H = self.values, self.H
        h, c, flat, outs = self.h0, self.c0, [], []
        for k in range(self.T):
            gi, gh = v["weight_ih"][:, 0] * self.xs[k] + v["bias_ih"], W @ h + v["bias_hh"]
            if self.kind == "lstm":
                pre = gi + gh
                c = _np_sigmoid(pre[H : 2 * H]) * c + _np_sigmoid(pre[:H]) * np.tanh(pre[2 * H : 3 * H])
                h = _np_sigmoid(pre[3 * H :]) * np.tanh(c)
                flat += [h, c]
            else:
                r, u = _np_sigmoid(gi[:H] + gh[:H]), _np_sigmoid(gi[H : 2 * H] + gh[H : 2 * H])
                h = (1 - u) * np.tanh(gi[2 * H :] + r * gh[2 * H :]) + u * h
                flat.append(h)
            outs.append(self.readout @ h)
        loss = np.mean((np.array(outs) - self.ys) ** 2)
        return np.append(np.concatenate(flat), loss)

    # --- the three-way check ------------------------------------------------
    def check(self) -> CheckTable:
        """B_T (SymPy vs the engine's one-step backward vs finite differences), ∂h_T/∂W_hh and dL/dW_hh
        (the closed form from SymPy's A_k, B_k vs autograd over the unroll vs finite differences)."""
        H, S, T = self.H, self.S, self.T
        states, A, B = self.symbolic_steps()
        W0 = self.values["weight_hh"].copy()
        # B_T by the engine: one step from s_{T-1} as a leaf, one backward per state entry
        prev = Tensor(states[T - 1], requires_grad=True)
        engine_B = np.zeros((S, S))
        for p in range(S):
            out = self._engine_step(prev, T)
            prev.grad = None
            out.backward(np.eye(S)[p])
            engine_B[p] = prev.grad
        s_prev = states[T - 1].copy()

        def one_step() -> np.ndarray:
            return np.ravel(self._F(*self._args(s_prev, self.xs[T - 1], W0)))

        lstm = self.kind == "lstm"
        state, prev = (f"(h_{T}, c_{T})", f"(h_{T - 1}, c_{T - 1})") if lstm else (f"h_{T}", f"h_{T - 1}")
        rows = [CheckRow(f"B_{T} = d{state}/d{prev}, {S}×{S}", B[T], engine_B,
                         finite_difference_jacobian(one_step, s_prev))]  # fmt: skip
        fd = finite_difference_jacobian(lambda: self.forward_numpy(W0), W0)
        fd_states = fd[:-1].reshape(T, S, *W0.shape)
        _, engine_states, W = self.engine()
        auto = np.zeros((S, *W0.shape))
        for p in range(S):
            W.grad = None
            engine_states[T - 1].backward(np.eye(S)[p].reshape(engine_states[T - 1].shape))
            auto[p] = W.grad
        rows.append(CheckRow(f"d{state}/dW_hh", self.closed_form(A, B, T), auto,
                             fd_states[T - 1]))  # fmt: skip
        L, _, W = self.engine()
        L.backward()
        rows.append(CheckRow("dL/dW_hh", self.closed_form_gradient(states, A, B), W.grad, fd[-1]))
        title = f"check: {self.kind.upper()} W_hh by the matrix recurrence, H = {H}, T = {T}, seed {self.seed}"
        return CheckTable(rows, title)

    def _engine_step(self, prev: Tensor, k: int) -> Tensor:
        """One engine step from the state ``prev`` at step k (for B_k), returning the new state, flat."""
        v, H = self.values, self.H
        W, x = Tensor(v["weight_hh"]), Tensor(self.xs[k - 1 : k])
        gi, gh = matmul(Tensor(v["weight_ih"]), x) + Tensor(v["bias_ih"]), matmul(W, prev[0:H]) + Tensor(v["bias_hh"])
        if self.kind == "lstm":
            pre = gi + gh
            c = pre[H : 2 * H].sigmoid() * prev[H:] + pre[0:H].sigmoid() * pre[2 * H : 3 * H].tanh()
            return stack([pre[3 * H :].sigmoid() * c.tanh(), c]).reshape(2 * H)
        r, u = (gi[0:H] + gh[0:H]).sigmoid(), (gi[H : 2 * H] + gh[H : 2 * H]).sigmoid()
        n = (gi[2 * H :] + r * gh[2 * H :]).tanh()
        return (1 - u) * n + u * prev[0:H]

    # --- for people ---------------------------------------------------------
    def derivation(self, check: bool = False) -> Derivation:
        lstm = self.kind == "lstm"
        cell = "LSTM" if lstm else "GRU"
        d = Derivation(f"The {cell}'s recurrent weight: $W_{{hh}}$ by the recurrence, with a matrix $B_k$")
        now, before = (r"(h_k, c_k)", r"(h_{k-1}, c_{k-1})") if lstm else ("h_k", "h_{k-1}")
        d.add(
            "The additive path is one entry of a bigger story. The state carried from step to step is "
            f"${now}$" + (" (the cell state carries gradient too)" if lstm else "")
            + r". Its sensitivity to the recurrent weight (all gates' rows of $W_{hh}$, PyTorch's layout) "
            "follows the recurrence of the Elman RNN, with a matrix in place of $b_k$:",
            Equation(Tex("z_k", "z_k"), Tex(rf"\frac{{\partial {now}}}{{\partial W_{{hh}}}}", f"∂{now}/∂W_hh")),
            Equation(Tex("a_k", "a_k"), Tex(rf"\frac{{\partial {now}}}{{\partial W_{{hh}}}}\Big|_{{{before}}}",
                                            f"∂{now}/∂W_hh ({before} held fixed)")),  # fmt: skip
            Equation(Tex("B_k", "B_k"), Tex(rf"\frac{{\partial {now}}}{{\partial {before}}}", f"∂{now}/∂{before}")),
            Equation(Tex("z_k", "z_k"), Tex(r"a_k + B_k z_{k-1}", "a_k + B_k z_{k-1}")),
        )
        if lstm:
            d.add(
                r"For the LSTM $B_k$ is $2H \times 2H$, four blocks; the one from $c_{k-1}$ to $c_k$ is the "
                r"forget gate alone, the additive path derived above:",
                Equation(
                    Tex("B_k", "B_k"),
                    Tex(r"\begin{bmatrix} \partial h_k/\partial h_{k-1} & \partial h_k/\partial c_{k-1} \\ "
                        r"\partial c_k/\partial h_{k-1} & \operatorname{diag}(f_k) \end{bmatrix}",
                        "⎡∂h_k/∂h_{k-1}  ∂h_k/∂c_{k-1}⎤\n      ⎣∂c_k/∂h_{k-1}  diag(f_k)    ⎦"),
                ),
                Equation(Tex(r"\frac{\partial h_k}{\partial c_{k-1}}", "∂h_k/∂c_{k-1}"),
                         Tex(r"\operatorname{diag}\left(o_k \odot (1 - \tanh^2 c_k) \odot f_k\right)",
                             "diag(o_k ⊙ (1 - tanh² c_k) ⊙ f_k)")),
            )  # fmt: skip
        else:
            d.add(
                r"For the GRU $B_k$ is $H \times H$, with the update gate on its diagonal "
                r"(the additive path derived above, one unit at a time):",
                Equation(
                    Tex("B_k", "B_k"),
                    Tex(r"\operatorname{diag}(u_k) + \operatorname{diag}(1 - u_k)\, "
                        r"\frac{\partial n_k}{\partial h_{k-1}} + \operatorname{diag}(h_{k-1} - n_k)\, "
                        r"\frac{\partial u_k}{\partial h_{k-1}}",
                        "diag(u_k) + diag(1 - u_k) ∂n_k/∂h_{k-1} + diag(h_{k-1} - n_k) ∂u_k/∂h_{k-1}"),
                ),
            )  # fmt: skip
        d.add(
            "Unrolled, the closed form keeps the products in time order (latest step on the left, "
            "matrices do not commute), and the loss collects every step:",
            Equation(Tex("z_k", "z_k"), Tex(r"a_k + \sum_{i=1}^{k-1} \left(B_k B_{k-1} \cdots B_{i+1}\right) a_i",
                                            "a_k + Σ_{i=1}^{k-1} (B_k B_{k-1} … B_{i+1}) a_i")),
            Equation(Tex(r"\frac{\partial L}{\partial W_{hh}}", "∂L/∂W_hh"),
                     Tex(r"\sum_{k=1}^{T} \frac{2}{T}(w_o \cdot h_k - y_k)\, w_o^\top "
                         r"\frac{\partial h_k}{\partial W_{hh}}",
                         "Σ_k (2/T)(w_o·h_k - y_k) w_oᵀ ∂h_k/∂W_hh")),
        )  # fmt: skip
        d.add(
            f"SymPy builds the cell with $H = {self.H}$ units from symbols and differentiates one step "
            r"(Matrix.jacobian) for $a_k$ and $B_k$; the closed form assembled from them is checked against "
            "the engine's backward pass over the whole unroll and against finite differences of a NumPy forward "
            f"pass ($T = {self.T}$, $L = (1/T) \\sum_k (w_o \\cdot h_k - y_k)^2$; $o_k$ is the LSTM's output gate, "
            "so the readout $w_o \\cdot h_k$ gets no letter of its own)."
        )
        if check:
            d.checks.append(self.check())
        return d
