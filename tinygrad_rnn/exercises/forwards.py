"""The forwards the exercises provide: plain NumPy, one line per equation of the notes.

Each returns its output(s) and a *cache*: a dict of named arrays in the notes'
notation (``i, f, g, o, c, tanh_c`` for the LSTM; ``r, u, n`` for the GRU,
where u is the update gate). The student's backward reads the cache, never
the engine. Weights act on the right (``x @ Wx``), as in CS231n's assignments,
so Wx has shape (D, G·H) and the gates are its column blocks, in PyTorch's
order (i, f, g, o for the LSTM; r, u, n for the GRU).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def sigmoid(x: np.ndarray) -> np.ndarray:
    """σ(x) = 1 / (1 + e^{-x}), computed without overflow for large |x|."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def tanh_forward(x: np.ndarray) -> tuple[np.ndarray, dict]:
    """y = tanh(x). Cache: x, y. The backward rule: dL/dx = dL/dy ⊙ (1 − y²)."""
    y = np.tanh(x)
    return y, {"x": x, "y": y}


def sigmoid_forward(x: np.ndarray) -> tuple[np.ndarray, dict]:
    """y = σ(x). Cache: x, y. The backward rule: dL/dx = dL/dy ⊙ y ⊙ (1 − y)."""
    y = sigmoid(x)
    return y, {"x": x, "y": y}


def matmul_forward(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, dict]:
    """y = a @ b, with NumPy's broadcasting of leading (batch) axes. Cache: a, b."""
    return a @ b, {"a": a, "b": b}


def mul_forward(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, dict]:
    """y = a ⊙ b, elementwise with broadcasting (a (3, 4) times b (4,) uses b on every row). Cache: a, b."""
    return a * b, {"a": a, "b": b}


def rnn_step_forward(
    x: np.ndarray, h_prev: np.ndarray, Wx: np.ndarray, Wh: np.ndarray, b: np.ndarray
) -> tuple[np.ndarray, dict]:
    """One vanilla RNN step, h_t = tanh(x_t Wx + h_{t-1} Wh + b).

    Shapes: x (N, D), h_prev (N, H), Wx (D, H), Wh (H, H), b (H,). Cache: x, h_prev, Wx, Wh, b, h.
    """
    h = np.tanh(x @ Wx + h_prev @ Wh + b)
    return h, {"x": x, "h_prev": h_prev, "Wx": Wx, "Wh": Wh, "b": b, "h": h}


def rnn_forward(
    x: np.ndarray, h0: np.ndarray, Wx: np.ndarray, Wh: np.ndarray, b: np.ndarray
) -> tuple[np.ndarray, list[dict]]:
    """The RNN unrolled over x (T, N, D) from h0 (N, H): hs (T, N, H) and one step cache per time step."""
    return _unroll(rnn_step_forward, x, h0, Wx, Wh, b)


def _unroll(step: Callable, x: np.ndarray, h0: np.ndarray, *params: np.ndarray) -> tuple[np.ndarray, list[dict]]:
    """Run ``step(x_t, h_{t-1}, *params) -> (h_t, cache)`` for t = 1..T: the stacked h_t and the caches in order."""
    hs, caches, h = [], [], h0
    for x_t in x:
        h, cache = step(x_t, h, *params)
        hs.append(h)
        caches.append(cache)
    return np.stack(hs), caches


def lstm_step_forward(
    x: np.ndarray, h_prev: np.ndarray, c_prev: np.ndarray, Wx: np.ndarray, Wh: np.ndarray, b: np.ndarray
) -> tuple[np.ndarray, np.ndarray, dict]:
    """One LSTM step (gate order i, f, g, o, as PyTorch):

        s_t = x_t Wx + h_{t-1} Wh + b          (N, 4H), cut into four blocks
        i_t = σ(sⁱ)   f_t = σ(sᶠ)   g_t = tanh(sᵍ)   o_t = σ(sᵒ)
        c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t
        h_t = o_t ⊙ tanh(c_t)

    Shapes: x (N, D); h_prev, c_prev (N, H); Wx (D, 4H); Wh (H, 4H); b (4H,).
    Cache: x, h_prev, c_prev, Wx, Wh, b, i, f, g, o, c, tanh_c, h.
    """
    H = h_prev.shape[1]
    a = x @ Wx + h_prev @ Wh + b
    i, f, o = sigmoid(a[:, :H]), sigmoid(a[:, H : 2 * H]), sigmoid(a[:, 3 * H :])
    g = np.tanh(a[:, 2 * H : 3 * H])
    c = f * c_prev + i * g
    tanh_c = np.tanh(c)
    h = o * tanh_c
    cache = {"x": x, "h_prev": h_prev, "c_prev": c_prev, "Wx": Wx, "Wh": Wh, "b": b,
             "i": i, "f": f, "g": g, "o": o, "c": c, "tanh_c": tanh_c, "h": h}
    return h, c, cache


def gru_step_forward(
    x: np.ndarray, h_prev: np.ndarray, Wx: np.ndarray, Wh: np.ndarray, b: np.ndarray
) -> tuple[np.ndarray, dict]:
    """One GRU step, PyTorch's placement of the reset gate (u is the update gate):

        x_t Wx + b = [ax_r, ax_u, ax_n]         h_{t-1} Wh = [ah_r, ah_u, ah_n]
        r_t = σ(ax_r + ah_r)   u_t = σ(ax_u + ah_u)
        n_t = tanh(ax_n + r_t ⊙ ah_n)           the reset gate scales W_hn h_{t-1}
        h_t = (1 − u_t) ⊙ n_t + u_t ⊙ h_{t-1}

    Shapes: x (N, D); h_prev (N, H); Wx (D, 3H); Wh (H, 3H); b (3H,) (one bias, added on the x side).
    Cache: x, h_prev, Wx, Wh, b, r, u, n, ah_n, h.
    """
    H = h_prev.shape[1]
    ax = x @ Wx + b
    ah = h_prev @ Wh
    r = sigmoid(ax[:, :H] + ah[:, :H])
    u = sigmoid(ax[:, H : 2 * H] + ah[:, H : 2 * H])
    ah_n = ah[:, 2 * H :]
    n = np.tanh(ax[:, 2 * H :] + r * ah_n)
    h = (1 - u) * n + u * h_prev
    return h, {"x": x, "h_prev": h_prev, "Wx": Wx, "Wh": Wh, "b": b, "r": r, "u": u, "n": n, "ah_n": ah_n, "h": h}


def gru_forward(
    x: np.ndarray, h0: np.ndarray, Wx: np.ndarray, Wh: np.ndarray, b: np.ndarray
) -> tuple[np.ndarray, list[dict]]:
    """The GRU unrolled over x (T, N, D) from h0 (N, H): hs (T, N, H) and one ``gru_step_forward`` cache per step."""
    return _unroll(gru_step_forward, x, h0, Wx, Wh, b)
