"""The README's "engine in one screen" model, for the tests that check what it draws and loops into."""

import numpy as np

import tinygrad_rnn as tr


def readme_rnn() -> tuple[tr.Tensor, tr.Parameter]:
    """(loss, W_hh) of the README's example: h_t = tanh(W_hh h_{t-1} + 1) for t = 1..3, with a 1-D h
    (so W_hh @ h is one matmul node per step), h0 = 0, loss = sum(h_3). Nothing is run backward yet."""
    rng = np.random.default_rng(0)
    W_hh = tr.Parameter(rng.standard_normal((3, 3)), name="W_hh")
    h = tr.Tensor(np.zeros(3), name="h0")
    for t in range(1, 4):
        with tr.scope(f"t{t}"):
            h = (W_hh @ h + 1.0).tanh()
    return h.sum(), W_hh
