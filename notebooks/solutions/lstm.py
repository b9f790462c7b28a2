"""One LSTM step backwards, in the order the gradient flows: h_t, then c_t, then the gates, then s_t."""

import numpy as np


def lstm_step_backward(dh, dc, cache):
    i, f, g, o, tanh_c = cache["i"], cache["f"], cache["g"], cache["o"], cache["tanh_c"]
    do = dh * tanh_c                                   # h_t = o_t ⊙ tanh(c_t)
    dc_total = dc + dh * o * (1 - tanh_c**2)           # everything reaching c_t
    di, df, dg = dc_total * g, dc_total * cache["c_prev"], dc_total * i   # c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t
    dc_prev = dc_total * f
    da = np.concatenate([di * i * (1 - i), df * f * (1 - f), dg * (1 - g**2), do * o * (1 - o)], axis=1)
    return {"do": do, "dc_total": dc_total, "di": di, "df": df, "dg": dg, "dc_prev": dc_prev, "da": da,
            "dx": da @ cache["Wx"].T, "dh_prev": da @ cache["Wh"].T,
            "dWx": cache["x"].T @ da, "dWh": cache["h_prev"].T @ da, "db": da.sum(axis=0)}
