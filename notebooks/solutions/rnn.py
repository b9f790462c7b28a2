"""The vanilla RNN, h_t = tanh(x_t Wx + h_{t-1} Wh + b): one step, then BPTT over all steps."""

import numpy as np


def rnn_step_backward(dh, cache):
    """From dL/dh_t to the step's inputs: through tanh, then through the two products."""
    da = dh * (1 - cache["h"] ** 2)
    return {"da": da, "dx": da @ cache["Wx"].T, "dh_prev": da @ cache["Wh"].T,
            "dWx": cache["x"].T @ da, "dWh": cache["h_prev"].T @ da, "db": da.sum(axis=0)}


def rnn_backward(dhs, caches):
    """BPTT: walk the steps backwards, carrying dL/dh_{t-1} from each step to the one before.

    The gradient reaching h_t is its own upstream dhs_t plus what step t+1 sends back;
    the weights' gradients are sums over the steps."""
    return rnn_backward_truncated(dhs, caches, len(caches))


def rnn_backward_truncated(dhs, caches, k):
    """Truncated BPTT: as ``rnn_backward``, but the carry is dropped at the start of every block of k steps
    (the forward detached the state there), so no gradient crosses from one block into the one before."""
    T = len(caches)
    Wx, Wh, b = caches[0]["Wx"], caches[0]["Wh"], caches[0]["b"]
    dx = np.zeros((T, *caches[0]["x"].shape))
    dh, da = np.zeros_like(dhs), np.zeros_like(dhs)
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)
    carry = np.zeros_like(dhs[0])
    for t in reversed(range(T)):
        dh[t] = dhs[t] + carry
        step = rnn_step_backward(dh[t], caches[t])
        da[t], dx[t] = step["da"], step["dx"]
        dWx, dWh, db = dWx + step["dWx"], dWh + step["dWh"], db + step["db"]
        carry = step["dh_prev"] if t % k else np.zeros_like(carry)
        dh0 = step["dh_prev"]
    return {"dh": dh, "da": da, "dx": dx, "dh0": dh0, "dWx": dWx, "dWh": dWh, "db": db}
