"""One GRU step backwards (r reset, u update, n new gate; PyTorch's placement of r)."""

import numpy as np


def gru_step_backward(dh, cache):
    r, u, n, h_prev, ah_n = cache["r"], cache["u"], cache["n"], cache["h_prev"], cache["ah_n"]
    dn = dh * (1 - u)                                   # h_t = (1 − u_t) ⊙ n_t + u_t ⊙ h_{t-1}
    du = dh * (h_prev - n)
    dn_pre = dn * (1 - n**2)                            # n_t = tanh(ax_n + r_t ⊙ ah_n)
    dr = dn_pre * ah_n
    dr_pre, du_pre = dr * r * (1 - r), du * u * (1 - u)
    dax = np.concatenate([dr_pre, du_pre, dn_pre], axis=1)
    dah = np.concatenate([dr_pre, du_pre, dn_pre * r], axis=1)
    return {"dn": dn, "du": du, "dr": dr, "dax": dax, "dah": dah,
            "dx": dax @ cache["Wx"].T, "dh_prev": dh * u + dah @ cache["Wh"].T,
            "dWx": cache["x"].T @ dax, "dWh": h_prev.T @ dah, "db": dax.sum(axis=0)}


def gru_backward(dhs, caches):
    """BPTT for a GRU: chapter 2's loop with the GRU step inside; the carry is the step's dh_prev."""
    T = len(caches)
    dx = np.zeros((T, *caches[0]["x"].shape))
    dh = np.zeros_like(dhs)
    dWx, dWh, db = 0, 0, 0
    carry = np.zeros_like(dhs[0])
    for t in reversed(range(T)):
        dh[t] = dhs[t] + carry
        step = gru_step_backward(dh[t], caches[t])
        dx[t], carry = step["dx"], step["dh_prev"]
        dWx, dWh, db = dWx + step["dWx"], dWh + step["dWh"], db + step["db"]
    return {"dh": dh, "dx": dx, "dh0": carry, "dWx": dWx, "dWh": dWh, "db": db}
