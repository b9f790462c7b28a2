"""The order of the Jacobians: a BPTT that multiplies them the wrong way round, as a lesson.

Backpropagation through time sends the gradient of loss term t~ back to the
hidden state at an earlier step t through every step in between:

    dL_t~/dh_t = (J_t~ J_t~-1 ... J_t+1)^T  dL_t~/dh_t~,      J_k = dh_k/dh_k-1 = diag(1 - h_k^2) W_hh

The latest step's Jacobian stands on the left: the chain rule composes the
steps in the order the forward pass ran them. In 2026 a framework shipped a
BPTT that formed this product in *forward* order, J_t+1 ... J_t~, and every
dynamically unrolled LSTM/GRU on it trained on wrong gradients (off by up to
1.36). Nothing crashed: the shapes are the same either way.

Why no test of theirs caught it: with hidden size 1 the J_k are numbers, and
numbers commute, so both orders give the same product. The notes' scalar
derivation (``tr.symbolic``: z_k = a_k + b_k z_k-1, so z_k is a sum of
products of the b_j) is exactly this case: written with scalars, the order of
the b_j's in a product cannot matter, and the derivation cannot show that it
does. At hidden size 2 the matrices do not commute, and ``tr.gradcheck``
(central differences: the function itself, no chain rule involved) finds the
wrong gradient at once.

``rnn_bptt(W_hh, W_xh, b, xs, order=...)`` is one op: the whole tanh RNN
h_t = tanh(W_hh h_t-1 + W_xh x_t + b), h_0 = 0, run forward, with the
handwritten BPTT above as its backward rule; ``order="reverse"`` is right,
``order="forward"`` is the shipped bug. ``lesson()`` runs gradcheck on both
at several hidden sizes and measures how far the wrong gradient is off.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..gradcheck import GradcheckError, gradcheck
from ..ops import Op
from ..tensor import Tensor

ORDERS = ("reverse", "forward")


class RNNBPTT(Op):
    """A whole tanh RNN as one op, with BPTT written as sums of products of per-step Jacobians."""

    name = "rnn_bptt"
    formula = "dL/dh_t = sum over t~ >= t of (J_t~ ... J_t+1)^T g_t~,  J_k = diag(1 - h_k^2) W_hh"

    def forward(self, W, U, b, xs, order="reverse"):
        if order not in ORDERS:
            raise ValueError(f"order must be one of {ORDERS}, got {order!r}")
        self.W, self.U, self.xs, self.order = W, U, xs, order
        h = np.zeros(W.shape[0], dtype=W.dtype)
        hs = []
        for x in xs:
            h = np.tanh(W @ h + U @ x + b)
            hs.append(h)
        self.hs = np.stack(hs)
        return self.hs

    def jacobian_product(self, t: int, t_out: int) -> np.ndarray:
        """dh_t_out/dh_t as a product of the per-step Jacobians J_t+1 .. J_t_out (steps counted from 0)."""
        product = np.eye(self.W.shape[0])
        steps = range(t_out, t, -1) if self.order == "reverse" else range(t + 1, t_out + 1)
        for k in steps:  # reverse: J_t_out ... J_t+1 (right); forward: J_t+1 ... J_t_out (the bug)
            product = product @ ((1 - self.hs[k] ** 2)[:, None] * self.W)
        return product

    def backward(self, g):
        T = len(self.hs)
        dh = np.zeros_like(self.hs)  # dL/dh_t through every later loss term
        for t in range(T):
            for t_out in range(t, T):
                dh[t] += self.jacobian_product(t, t_out).T @ g[t_out]
        da = dh * (1 - self.hs**2)  # through tanh at step t itself
        previous = np.vstack([np.zeros_like(self.hs[:1]), self.hs[:-1]])  # h_t-1, h_0 = 0
        return da.T @ previous, da.T @ self.xs, da.sum(0), da @ self.U


def rnn_bptt(W_hh: Tensor, W_xh: Tensor, b: Tensor, xs: Any, order: str = "reverse") -> Tensor:
    """The hidden states h_1..h_T (shape (T, H)) of a tanh RNN on ``xs`` (T, D), differentiated by the
    handwritten BPTT of ``RNNBPTT``: ``order="reverse"`` multiplies the Jacobians correctly,
    ``order="forward"`` in the wrong order (see the module docstring)."""
    return RNNBPTT.apply(W_hh, W_xh, b, xs, order=order)


def lesson(hidden_sizes: tuple[int, ...] = (1, 2, 4), T: int = 5, inputs: int = 2, seed: int = 0) -> list[dict]:
    """gradcheck both orders at each hidden size; measure how far the forward order is off.

    Returns one dict per hidden size: ``hidden``, ``reverse_passes`` and
    ``forward_passes`` (did gradcheck accept that BPTT?), ``max_error`` (the
    largest |wrong - right| over W_hh's gradient) and ``gradcheck_message``
    (what gradcheck said about the wrong one, or "").
    """
    rows = []
    for H in hidden_sizes:
        rng = np.random.default_rng(seed)
        W = Tensor(rng.normal(0, 1.0, (H, H)), requires_grad=True, name="W_hh")
        U = Tensor(rng.normal(0, 1.0, (H, inputs)), requires_grad=True, name="W_xh")
        b = Tensor(rng.normal(0, 0.2, H), requires_grad=True, name="b")
        xs = Tensor(rng.normal(0, 1.0, (T, inputs)))
        weights = Tensor(rng.normal(0, 1.0, (T, H)))
        row: dict[str, Any] = {"hidden": H, "gradcheck_message": ""}
        grads = {}
        for order in ORDERS:
            def loss(W, U, b, order=order, xs=xs, weights=weights):
                return (rnn_bptt(W, U, b, xs, order) * weights).sum()

            try:
                row[f"{order}_passes"] = gradcheck(loss, [W, U, b])
            except GradcheckError as error:
                row[f"{order}_passes"] = False
                row["gradcheck_message"] = str(error).splitlines()[0]
            for t in (W, U, b):
                t.grad = None
            loss(W, U, b).backward()
            grads[order] = W.grad.copy()
        row["max_error"] = float(np.abs(grads["forward"] - grads["reverse"]).max())
        rows.append(row)
    return rows
