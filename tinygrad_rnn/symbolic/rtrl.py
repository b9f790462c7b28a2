"""Real-time recurrent learning (Williams & Zipser 1989): the z_k recurrence run forward.

For h_t = f(s_t), s_t = W_hh h_{t-1} + W_ih x_t + b, the sensitivity of the state
to every parameter θ obeys the recurrence of the notes with Jacobians,

    S_t = dh_t/dθ = D_t (∂s_t/∂θ + W_hh S_{t-1}),   D_t = diag(f'(s_t)),

i.e. Z_k = A_k + B_k Z_{k-1} with A_t = D_t ∂s_t/∂θ and B_t = D_t W_hh. Run it
*forward*, beside the unroll, and the gradient arrives online, one loss at a
time: dL/dθ = sum_t (∂L/∂h_t through o_t) S_t. No unrolled graph is kept,
only S_t: H x P numbers for P parameters (P ~ H^2, so H^3), and each step
costs H^2 P multiply-adds (H^4). BPTT keeps the T states (T x H numbers) and
costs H^2 per step backwards. Same sum, two orders:

    dL/dθ = sum_k sum_{i<=k} g_k (B_k ... B_{i+1}) A_i

RTRL adds up each row k (loss by loss, forwards); BPTT (and the stepper's
ledger "W_hh's contribution i of T, from t=i") adds up each column i (use by
use, backwards). ``terms`` computes every (k, i) term so both groupings can be
compared term by term.
"""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .report import CheckRow, CheckTable, Derivation, Equation, Table, Tex
from .vector import VectorRNN

PARAMETERS = ("weight_hh", "weight_ih", "bias")
LABELS = ("RTRL", "BPTT")  # the check tables' first two columns: forward sensitivities, the engine's backward


@dataclass
class RTRLResult:
    """dL/dθ for θ in W_hh, W_ih, b, and the online increments dL_k/dW_hh (one per step k)."""

    grads: dict[str, np.ndarray]
    increments: np.ndarray | None  # (T, H, H): g_k S_k restricted to W_hh, added at step k (if kept)
    sensitivity_floats: int  # numbers held in S_t: H x P


def _slope(model: VectorRNN, pre: np.ndarray, h: np.ndarray) -> np.ndarray:
    return 1 - h * h if model.nonlinearity == "tanh" else (pre > 0).astype(float)


def rtrl(model: VectorRNN, keep_increments: bool = True) -> RTRLResult:
    """Gradients of the model's loss by forward sensitivities (no graph, no stored states).

    ``keep_increments`` also keeps each step's increment of dL/dW_hh, to show them; that
    costs T H^2 numbers, so the memory measurement turns it off.

    S has one (H, P) block per parameter: S["weight_hh"][p, q, r] = dh_t[p]/dW_hh[q, r],
    S["weight_ih"][p, q, r] = dh_t[p]/dW_ih[q, r], S["bias"][p, q] = dh_t[p]/db[q]."""
    v, H, T = model.values, model.H, model.T
    W, U, b, Wo = v["weight_hh"], v["weight_ih"], v["bias"], v["weight_o"][0]
    diagonal = np.arange(H)
    S = {"weight_hh": np.zeros((H, H, H)), "weight_ih": np.zeros((H, H, model.D)), "bias": np.zeros((H, H))}
    grads = {name: np.zeros_like(S[name][0]) for name in PARAMETERS}
    increments = np.empty((T, H, H)) if keep_increments else None
    h = model.h0
    for t in range(T):
        x = model.xs[t]
        pre = W @ h + U @ x + b
        h_new = np.tanh(pre) if model.nonlinearity == "tanh" else np.maximum(pre, 0.0)
        d = _slope(model, pre, h_new)
        for name, direct in (("weight_hh", h), ("weight_ih", x), ("bias", 1.0)):
            # the carried part W_hh S_{t-1} (one BLAS matmul), plus the direct part ∂s_t/∂θ with
            # h_{t-1} held fixed: ∂s_t[p]/∂W[q, r] = δ_pq (h_{t-1} or x_t)[r], ∂s_t[p]/∂b[q] = δ_pq
            carried = (W @ S[name].reshape(H, -1)).reshape(S[name].shape)
            carried[diagonal, diagonal] += direct
            S[name] = d.reshape((H,) + (1,) * (carried.ndim - 1)) * carried
        g = (2 / T) * (Wo @ h_new - model.ys[t]) * Wo  # ∂L/∂h_t through o_t only
        for name in PARAMETERS:
            step = np.tensordot(g, S[name], axes=(0, 0))
            grads[name] += step
            if name == "weight_hh" and increments is not None:
                increments[t] = step
        h = h_new
    floats = sum(s.size for s in S.values())
    return RTRLResult(grads, increments, floats)


def bptt_numpy(model: VectorRNN) -> dict[str, np.ndarray]:
    """BPTT by hand in NumPy (forward storing the T states, then one sweep back): the fair
    reference for time and memory, doing the same arithmetic as RTRL but in the other order."""
    v, T = model.values, model.T
    W, U, b, Wo = v["weight_hh"], v["weight_ih"], v["bias"], v["weight_o"][0]
    pre = np.empty((T, model.H))
    hs = np.empty((T + 1, model.H))
    hs[0] = model.h0
    for t in range(T):
        pre[t] = W @ hs[t] + U @ model.xs[t] + b
        hs[t + 1] = np.tanh(pre[t]) if model.nonlinearity == "tanh" else np.maximum(pre[t], 0.0)
    g = (2 / T) * (hs[1:] @ Wo - model.ys)[:, None] * Wo
    grads = {name: np.zeros_like(v[name]) for name in PARAMETERS}
    carry = np.zeros(model.H)
    for t in range(T - 1, -1, -1):
        delta = (g[t] + carry) * _slope(model, pre[t], hs[t + 1])  # dL/ds_t
        grads["weight_hh"] += np.outer(delta, hs[t])
        grads["weight_ih"] += np.outer(delta, model.xs[t])
        grads["bias"] += delta
        carry = W.T @ delta
    return grads


def terms(model: VectorRNN) -> np.ndarray:
    """C[k-1, i-1] = g_k (B_k ... B_{i+1}) A_i restricted to W_hh (H x H each), for 1 <= i <= k <= T.

    RTRL run with one sensitivity per origin i: S_t^(i) = B_t S_{t-1}^(i), started at
    S_i^(i) = A_i. Row sums are RTRL's online increments; column sums are BPTT's
    per-use contributions (the stepper's ledger)."""
    v, H, T = model.values, model.H, model.T
    W, U, b, Wo = v["weight_hh"], v["weight_ih"], v["bias"], v["weight_o"][0]
    eye = np.eye(H)
    C = np.zeros((T, T, H, H))
    origins = np.zeros((T, H, H, H))  # S_t^(i) for each origin i (row i-1)
    h = model.h0
    for t in range(T):
        pre = W @ h + U @ model.xs[t] + b
        h_new = np.tanh(pre) if model.nonlinearity == "tanh" else np.maximum(pre, 0.0)
        d = _slope(model, pre, h_new)
        origins[:t] = d[None, :, None, None] * np.einsum("pa,iaqr->ipqr", W, origins[:t])
        origins[t] = d[:, None, None] * np.einsum("pq,r->pqr", eye, h)
        g = (2 / T) * (Wo @ h_new - model.ys[t]) * Wo
        C[t, : t + 1] = np.einsum("p,ipqr->iqr", g, origins[: t + 1])
        h = h_new
    return C


def ledger(model: VectorRNN) -> list[tuple[int, int, int | None, np.ndarray]]:
    """The stepper's W_hh accumulations in pass order: (contribution, of, t, piece)."""
    from ..stepper import BackwardStepper

    L, _, _ = model.engine()
    events = BackwardStepper(L).run()
    # events name parameters by the notes' alias: weight_hh is W_hh
    return [(a.contribution, a.of, a.t, a.grad) for e in events for a in e.accumulations if a.leaf == "W_hh"]


def check_rtrl(model: VectorRNN) -> CheckTable:
    """RTRL's dL/dθ against the engine's backward (BPTT) and finite differences of NumPy's forward."""
    from .numeric import finite_difference

    result = rtrl(model)
    L, _, params = model.engine()
    L.backward()
    rows = []
    for name in PARAMETERS:
        point = model.values[name].copy()

        def loss(name: str = name, point: np.ndarray = point) -> float:
            saved = model.values[name]
            model.values[name] = point
            try:
                return model.forward_numpy(model.values["weight_hh"])[1]
            finally:
                model.values[name] = saved

        rows.append(CheckRow(f"dL/d{name}", result.grads[name], params[name].grad, finite_difference(loss, point)))
    title = f"check: RTRL vs BPTT, vector {model.nonlinearity} RNN, H = {model.H}, T = {model.T}"
    return CheckTable(rows, title, LABELS)


def rtrl_cell(cell: Any, xs: np.ndarray, readout: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """dL/dW_hh for any cell whose state is h (``tr.nn.RNNCell``, ``tr.nn.GRUCell``) by RTRL.

    L = (1/T) sum_t (readout . h_t - y_t)^2 from h_0 = 0, inputs ``xs`` of shape (T, 1, D). The
    engine supplies each step's A_t = ∂h_t/∂W_hh (h_{t-1} held fixed) and B_t = ∂h_t/∂h_{t-1}
    (one backward pass per unit of h_t on a one-step graph); S_t = A_t + B_t S_{t-1} runs forward
    and the gradient accumulates online. No graph of the whole sequence is ever built."""
    from ..tensor import Tensor

    H, W, T = cell.hidden_size, cell.weight_hh, len(xs)
    S = np.zeros((H, *W.shape))
    grad = np.zeros(W.shape)
    h = np.zeros((1, H))
    for t in range(T):
        h_prev = Tensor(h, requires_grad=True)
        out = cell(Tensor(xs[t]), h_prev)
        A, B = np.empty_like(S), np.empty((H, H))
        for p in range(H):
            W.grad = h_prev.grad = None
            out.backward(np.eye(H)[p][None, :])
            A[p], B[p] = W.grad, h_prev.grad[0]
        S = A + np.tensordot(B, S, axes=(1, 0))
        h = out.data
        grad += np.tensordot((2 / T) * (readout @ h[0] - ys[t]) * readout, S, axes=(0, 0))
    cell.zero_grad()
    return grad


def bptt_cell(cell: Any, xs: np.ndarray, readout: np.ndarray, ys: np.ndarray) -> tuple[float, np.ndarray]:
    """The same loss unrolled in the engine and ``backward()``: (L, dL/dW_hh)."""
    from .. import functional
    from ..ops import stack
    from ..tensor import Tensor

    cell.zero_grad()
    h, outs = Tensor(np.zeros((1, cell.hidden_size))), []
    for x in xs:
        h = cell(Tensor(x), h)
        outs.append((h * Tensor(readout)).sum())
    L = functional.mse_loss(stack(outs), ys)
    L.backward()
    grad = cell.weight_hh.grad.copy()
    cell.zero_grad()
    return float(L.data), grad


def check_gru(hidden: int = 2, steps: int = 4, seed: int = 0) -> CheckTable:
    """RTRL (engine Jacobians) vs BPTT (engine backward) vs finite differences for a PyTorch GRU cell."""
    from ..graph import no_grad
    from ..nn import GRUCell
    from .numeric import finite_difference

    cell = GRUCell(2, hidden, rng=seed)
    rng = np.random.default_rng(seed)
    xs, readout, ys = rng.standard_normal((steps, 1, 2)), rng.uniform(-1, 1, hidden), rng.standard_normal(steps)
    forward = rtrl_cell(cell, xs, readout, ys)
    _, backward = bptt_cell(cell, xs, readout, ys)

    def loss() -> float:
        with no_grad():
            return bptt_loss(cell, xs, readout, ys)

    numeric = finite_difference(loss, cell.weight_hh.data)
    rows = [CheckRow("dL/dW_hh", forward, backward, numeric)]
    return CheckTable(rows, f"check: RTRL vs BPTT, GRU cell, H = {hidden}, T = {steps}, seed {seed}", LABELS)


def bptt_loss(cell: Any, xs: np.ndarray, readout: np.ndarray, ys: np.ndarray) -> float:
    """L alone (no backward), for finite differences."""
    from ..tensor import Tensor

    h, outs = Tensor(np.zeros((1, cell.hidden_size))), []
    for x in xs:
        h = cell(Tensor(x), h)
        outs.append(float((h.data[0] * readout).sum()))
    return float(np.mean((np.array(outs) - ys) ** 2))


@dataclass
class Measurement:
    hidden: int
    steps: int
    parameters: int
    bptt_floats: int  # states kept for the backward sweep: (T + 1) H, plus T H pre-activations
    rtrl_floats: int  # sensitivities kept: H P
    bptt_peak: int  # bytes, tracemalloc
    rtrl_peak: int
    bptt_seconds: float
    rtrl_seconds: float


def _measure(fn: Callable[[], object], repeats: int) -> tuple[int, float]:
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return peak, best


def cost_table(sizes: tuple[tuple[int, int], ...] = ((4, 500), (16, 500), (32, 500), (16, 2000)),
               repeats: int = 2) -> list[Measurement]:  # fmt: skip
    """Peak memory (tracemalloc) and best time of BPTT and RTRL, both in NumPy, measured side by side."""
    out = []
    for H, T in sizes:
        model = VectorRNN(hidden=H, steps=T, input_size=2, seed=0)
        P = H * H + H * model.D + H
        bptt_peak, bptt_s = _measure(lambda model=model: bptt_numpy(model), repeats)
        rtrl_peak, rtrl_s = _measure(lambda model=model: rtrl(model, keep_increments=False), repeats)
        out.append(Measurement(H, T, P, (2 * T + 1) * H, H * P, bptt_peak, rtrl_peak, bptt_s, rtrl_s))
    return out


def derivation(model: VectorRNN | None = None, check: bool = False, measure: bool = False) -> Derivation:
    """RTRL beside BPTT: the recurrence forwards, the check, the term-by-term ledger, the costs."""
    model = model or VectorRNN(hidden=2, steps=4, seed=0)
    d = Derivation("RTRL beside BPTT: the same sum in the other order")
    d.add(
        "Real-time recurrent learning runs the recurrence $Z_k = A_k + B_k Z_{k-1}$ of the derivations "
        "*forward*, beside the unroll: the sensitivity $S_t = \\partial h_t/\\partial \\theta$ of the state to every "
        "parameter, and the gradient one loss at a time.",
        Equation(
            Tex("S_t", "S_t"),
            Tex(
                r"D_t \left(\frac{\partial s_t}{\partial \theta} + W_{hh} S_{t-1}\right), \quad "
                r"D_t = \operatorname{diag}(f'(s_t))",
                "D_t (∂s_t/∂θ + W_hh S_{t-1}),   D_t = diag(f'(s_t))",
            ),
        ),
        Equation(
            Tex(r"\frac{\partial L}{\partial \theta}", "∂L/∂θ"),
            Tex(
                r"\sum_{k=1}^{T} g_k S_k, \quad g_k = \frac{\partial L}{\partial o_k} W_o",
                "Σ_k g_k S_k,   g_k = ∂L/∂o_k W_o",
            ),  # fmt: skip
        ),
    )
    C = terms(model)
    T = model.T
    pieces = ledger(model)
    by_use = {t: grad for _, _, t, grad in pieces}
    rows = []
    for i in range(1, T + 1):
        column = C[:, i - 1].sum(axis=0)
        number = next(c for c, _, t, _ in pieces if t == i)
        rows.append((f"from $t = {i}$ (contribution {number} of {len(pieces)})", f"{by_use[i][0, 0]:.6g}",
                     f"{column[0, 0]:.6g}", f"{np.max(np.abs(by_use[i] - column)):.1e}"))  # fmt: skip
    result = rtrl(model)
    online = [
        (f"loss $\\ell_{k}$, added at step {k}", f"{result.increments[k - 1][0, 0]:.6g}",
         f"{C[k - 1].sum(axis=0)[0, 0]:.6g}", f"{np.max(np.abs(result.increments[k - 1] - C[k - 1].sum(axis=0))):.1e}")
        for k in range(1, T + 1)
    ]  # fmt: skip
    d.add(
        f"Both add up the terms $g_k (B_k \\cdots B_{{i+1}}) A_i$, $1 \\le i \\le k \\le {T}$. BPTT (the stepper's "
        "ledger) adds each *column*: every use of $W_{hh}$ at step $i$ collects the terms of all later losses. "
        "RTRL adds each *row*: the loss at step $k$ brings the terms of all earlier uses. Entry $[0, 0]$ of each "
        "piece; the last column is the largest difference over the whole matrix:",
        table=Table(("piece", "stepper / RTRL", "sum of the terms", "max difference"), rows + online),
    )
    if check:
        d.add(
            "The recurrence needs only each step's $A_t$ and $B_t$, so it runs for any cell whose state is $h$: "
            "`rtrl.rtrl_cell` reads them off the engine one step at a time for a PyTorch GRU cell, and its "
            "gradient meets the engine's backward over the unrolled sequence (second table)."
        )
        d.checks.append(check_rtrl(model))
        d.checks.append(check_gru())
    if measure:
        ms = cost_table()
        d.add(
            "What each keeps and what it costs, both in NumPy, in one process (tracemalloc peak; best of 2 runs). "
            "BPTT keeps $O(T H)$ numbers; RTRL keeps $O(H P)$ with $P \\approx H^2$ parameters and does "
            "$H^2 P$ work per step, against BPTT's $H^2$. That is why BPTT won; RTRL's gift is that it needs "
            "no unrolled graph and delivers the gradient online.",
            table=Table(
                (
                    "$H$",
                    "$T$",
                    "$P$",
                    "BPTT keeps",
                    "RTRL keeps",
                    "BPTT peak",
                    "RTRL peak",
                    "BPTT time",
                    "RTRL time",
                    "RTRL / BPTT time",
                ),
                [
                    (
                        str(m.hidden),
                        str(m.steps),
                        str(m.parameters),
                        f"{m.bptt_floats:,}",
                        f"{m.rtrl_floats:,}",
                        f"{m.bptt_peak / 1024:.0f} KiB",
                        f"{m.rtrl_peak / 1024:.0f} KiB",
                        f"{m.bptt_seconds * 1e3:.1f} ms",
                        f"{m.rtrl_seconds * 1e3:.1f} ms",
                        f"{m.rtrl_seconds / m.bptt_seconds:.1f}",
                    )
                    for m in ms
                ],
            ),  # fmt: skip
        )
    return d
