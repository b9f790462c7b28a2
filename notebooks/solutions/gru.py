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
