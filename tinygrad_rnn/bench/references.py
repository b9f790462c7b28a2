"""Hand-written NumPy forward + BPTT, no graph: the speed limit for a NumPy engine.

Each reference computes the loss and the gradient of every parameter with
explicit formulas, the way min-char-rnn does: a forward loop that keeps what
the backward loop needs, then a backward loop over time in reverse that adds
each step's share to dL/dW_hh. Work that does not depend on the recurrence
(input projection, read-out, their gradients) is done for the whole sequence
in one matmul, outside the loops. That is the same arithmetic, op for op, as
the engine's graph of the same model, so engine / reference is exactly the
price of recording and walking the graph.

Parameter names and layouts are PyTorch's (``weight_ih_l0`` is (G*H, I), gate
order i, f, g, o), so the gradients can be compared name by name with the
engine and with ``torch.nn``.
"""

from __future__ import annotations

import numpy as np


def sigmoid(x: np.ndarray) -> np.ndarray:
    """1 / (1 + e^-x); for x << 0, e^-x overflows to inf and the result is its limit, 0."""
    with np.errstate(over="ignore"):
        return 1 / (1 + np.exp(-x))


def _tanh_rnn_bptt(hs: np.ndarray, dhs: np.ndarray, W_hh: np.ndarray, x: np.ndarray) -> dict[str, np.ndarray]:
    """BPTT through h_t = tanh(x_t W_ih^T + h_{t-1} W_hh^T + b), given dL/dh_t from outside the recurrence.

    ``hs`` is (T + 1, B, H) with hs[0] = h_0; ``dhs`` (T, B, H). dW_hh is summed step by
    step in the backward loop, as min-char-rnn does. Returns the gradients by PyTorch name.
    """
    T, B, H = dhs.shape
    draw = np.empty_like(dhs)  # dL/d(pre-activation) per step
    dh_next = np.zeros((B, H), dtype=x.dtype)
    dW_hh = np.zeros_like(W_hh)
    for t in reversed(range(T)):
        draw[t] = (1 - hs[t + 1] * hs[t + 1]) * (dhs[t] + dh_next)
        dW_hh += draw[t].T @ hs[t]
        dh_next = draw[t] @ W_hh
    flat = draw.reshape(T * B, H)
    db = flat.sum(axis=0)
    return {
        "weight_ih_l0": flat.T @ x.reshape(T * B, x.shape[-1]),
        "weight_hh_l0": dW_hh,
        "bias_ih_l0": db,
        "bias_hh_l0": db.copy(),
    }


def rnn_charmodel(params: dict[str, np.ndarray], x: np.ndarray, targets: np.ndarray):
    """Elman RNN + linear read-out + softmax cross-entropy summed over every step.

        h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh),   h_0 = 0
        y_t = W_out h_t + b_out,   L = sum_t -log softmax(y_t)[target_t]

    x: (T, B, V) (one-hot rows in min-char-rnn's setting); targets: (T, B) ints.
    Returns (L, {name: dL/dname}).
    """
    W_ih, W_hh = params["weight_ih_l0"], params["weight_hh_l0"]
    W_out, b_out = params["out.weight"], params["out.bias"]
    T, B, V = x.shape
    H = W_hh.shape[0]
    # forward
    xp = x @ W_ih.T + (params["bias_ih_l0"] + params["bias_hh_l0"])
    hs = np.zeros((T + 1, B, H), dtype=x.dtype)  # hs[t] = h_t, hs[0] = h_0
    W_hh_T = W_hh.T
    for t in range(T):
        hs[t + 1] = np.tanh(xp[t] + hs[t] @ W_hh_T)
    logits = hs[1:] @ W_out.T + b_out
    shifted = logits - logits.max(axis=-1, keepdims=True)
    logp = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    t_idx, b_idx = np.indices(targets.shape)
    loss = -logp[t_idx, b_idx, targets].sum()
    # backward: dL/dlogits = softmax - onehot(target)
    dlogits = np.exp(logp)
    dlogits[t_idx, b_idx, targets] -= 1
    dhs = dlogits @ W_out  # dL/dh_t through the read-out only
    grads = _tanh_rnn_bptt(hs, dhs, W_hh, x)
    grads.update({
        "out.weight": dlogits.reshape(T * B, V).T @ hs[1:].reshape(T * B, H),
        "out.bias": dlogits.reshape(T * B, V).sum(axis=0),
    })
    return loss, grads


def lstm_mse(params: dict[str, np.ndarray], x: np.ndarray, target: np.ndarray):
    """One-layer LSTM (PyTorch's equations) + mean squared error of its outputs.

        i, f, g, o = sigma, sigma, tanh, sigma of (W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)
        c_t = f * c_{t-1} + i * g,   h_t = o * tanh(c_t),   h_0 = c_0 = 0
        L = mean((h - target)^2) over all T, B, H

    x: (T, B, I); target: (T, B, H). Returns (L, {name: dL/dname}).
    """
    W_ih, W_hh = params["weight_ih_l0"], params["weight_hh_l0"]
    T, B, I = x.shape
    H = W_hh.shape[1]
    dtype = x.dtype
    # forward, keeping the activations BPTT needs
    xp = (x.reshape(T * B, I) @ W_ih.T + (params["bias_ih_l0"] + params["bias_hh_l0"])).reshape(T, B, 4 * H)
    acts = np.empty((T, B, 4 * H), dtype=dtype)  # i, f, g, o side by side
    cs = np.zeros((T + 1, B, H), dtype=dtype)  # cs[t] = c_t, cs[0] = c_0
    hs = np.zeros((T + 1, B, H), dtype=dtype)
    tcs = np.empty((T, B, H), dtype=dtype)  # tanh(c_t)
    W_hh_T = W_hh.T
    for t in range(T):
        pre = xp[t] + hs[t] @ W_hh_T
        a = acts[t]
        a[:, : 2 * H] = sigmoid(pre[:, : 2 * H])
        a[:, 2 * H : 3 * H] = np.tanh(pre[:, 2 * H : 3 * H])
        a[:, 3 * H :] = sigmoid(pre[:, 3 * H :])
        cs[t + 1] = a[:, H : 2 * H] * cs[t] + a[:, :H] * a[:, 2 * H : 3 * H]
        tcs[t] = np.tanh(cs[t + 1])
        hs[t + 1] = a[:, 3 * H :] * tcs[t]
    diff = hs[1:] - target
    loss = (diff * diff).mean()
    # backward
    dhs = diff * (2 / diff.size)
    dpre = np.empty((T, B, 4 * H), dtype=dtype)  # dL/d(gate pre-activations)
    dh_next = np.zeros((B, H), dtype=dtype)
    dc_next = np.zeros((B, H), dtype=dtype)
    dW_hh = np.zeros_like(W_hh)
    for t in reversed(range(T)):
        a = acts[t]
        i, f, g, o = a[:, :H], a[:, H : 2 * H], a[:, 2 * H : 3 * H], a[:, 3 * H :]
        dh = dhs[t] + dh_next
        dc = dc_next + dh * o * (1 - tcs[t] * tcs[t])
        d = dpre[t]
        d[:, :H] = dc * g * i * (1 - i)
        d[:, H : 2 * H] = dc * cs[t] * f * (1 - f)
        d[:, 2 * H : 3 * H] = dc * i * (1 - g * g)
        d[:, 3 * H :] = dh * tcs[t] * o * (1 - o)
        dc_next = dc * f
        dW_hh += d.T @ hs[t]
        dh_next = d @ W_hh
    flat = dpre.reshape(T * B, 4 * H)
    db = flat.sum(axis=0)
    grads = {
        "weight_ih_l0": flat.T @ x.reshape(T * B, I),
        "weight_hh_l0": dW_hh,
        "bias_ih_l0": db,
        "bias_hh_l0": db.copy(),
    }
    return loss, grads



def rnn_mse(params: dict[str, np.ndarray], x: np.ndarray, target: np.ndarray):
    """One-layer Elman RNN (tanh) + mean squared error of its outputs.

        h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh),   L = mean((h - target)^2)

    x: (T, B, I); target: (T, B, H). Returns (L, {name: dL/dname}).
    """
    W_ih, W_hh = params["weight_ih_l0"], params["weight_hh_l0"]
    T, B, I = x.shape
    H = W_hh.shape[0]
    xp = (x.reshape(T * B, I) @ W_ih.T + (params["bias_ih_l0"] + params["bias_hh_l0"])).reshape(T, B, H)
    hs = np.zeros((T + 1, B, H), dtype=x.dtype)
    W_hh_T = W_hh.T
    for t in range(T):
        hs[t + 1] = np.tanh(xp[t] + hs[t] @ W_hh_T)
    diff = hs[1:] - target
    loss = (diff * diff).mean()
    dhs = diff * (2 / diff.size)
    return loss, _tanh_rnn_bptt(hs, dhs, W_hh, x)


def gru_mse(params: dict[str, np.ndarray], x: np.ndarray, target: np.ndarray):
    """One-layer GRU (PyTorch's equations, gate order r, z, n) + mean squared error of its outputs.

        r, z = sigma(W_i{r,z} x_t + b_i{r,z} + W_h{r,z} h_{t-1} + b_h{r,z})
        n = tanh(W_in x_t + b_in + r * (W_hn h_{t-1} + b_hn)),   h_t = (1 - z) * n + z * h_{t-1}

    x: (T, B, I); target: (T, B, H). Returns (L, {name: dL/dname}).
    """
    W_ih, W_hh, b_hh = params["weight_ih_l0"], params["weight_hh_l0"], params["bias_hh_l0"]
    T, B, I = x.shape
    H = W_hh.shape[1]
    dtype = x.dtype
    xp = (x.reshape(T * B, I) @ W_ih.T + params["bias_ih_l0"]).reshape(T, B, 3 * H)
    hs = np.zeros((T + 1, B, H), dtype=dtype)
    rz = np.empty((T, B, 2 * H), dtype=dtype)
    ns = np.empty((T, B, H), dtype=dtype)
    hn = np.empty((T, B, H), dtype=dtype)  # W_hn h_{t-1} + b_hn
    W_hh_T = W_hh.T
    for t in range(T):
        hh = hs[t] @ W_hh_T + b_hh
        rz[t] = sigmoid(xp[t, :, : 2 * H] + hh[:, : 2 * H])
        hn[t] = hh[:, 2 * H :]
        ns[t] = np.tanh(xp[t, :, 2 * H :] + rz[t, :, :H] * hn[t])
        z = rz[t, :, H:]
        hs[t + 1] = (1 - z) * ns[t] + z * hs[t]
    diff = hs[1:] - target
    loss = (diff * diff).mean()
    dhs = diff * (2 / diff.size)
    dxp = np.empty((T, B, 3 * H), dtype=dtype)  # dL/d(input part)
    dhh = np.empty((T, B, 3 * H), dtype=dtype)  # dL/d(h_{t-1} W_hh^T + b_hh)
    dh_next = np.zeros((B, H), dtype=dtype)
    dW_hh = np.zeros_like(W_hh)
    for t in reversed(range(T)):
        r, z, n = rz[t, :, :H], rz[t, :, H:], ns[t]
        dh = dhs[t] + dh_next
        dn = dh * (1 - z) * (1 - n * n)
        dz = dh * (hs[t] - n) * z * (1 - z)
        dr = dn * hn[t] * r * (1 - r)
        dxp[t, :, :H], dxp[t, :, H : 2 * H], dxp[t, :, 2 * H :] = dr, dz, dn
        dhh[t, :, :H], dhh[t, :, H : 2 * H], dhh[t, :, 2 * H :] = dr, dz, dn * r
        dW_hh += dhh[t].T @ hs[t]
        dh_next = dh * z + dhh[t] @ W_hh
    flat_x, flat_h = dxp.reshape(T * B, 3 * H), dhh.reshape(T * B, 3 * H)
    grads = {
        "weight_ih_l0": flat_x.T @ x.reshape(T * B, I),
        "weight_hh_l0": dW_hh,
        "bias_ih_l0": flat_x.sum(axis=0),
        "bias_hh_l0": flat_h.sum(axis=0),
    }
    return loss, grads
