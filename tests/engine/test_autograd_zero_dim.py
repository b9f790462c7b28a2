"""0-d tensors (scalars) used three or more times must accumulate every gradient contribution."""

import numpy as np

import tinygrad_rnn as tr


def test_zero_dim_intermediate_used_three_times_gets_all_contributions():
    x = tr.Tensor(np.array(0.5), requires_grad=True)
    h = x * 1.0
    y = h * 2.0 + h * 3.0 + h * 4.0
    y.backward()
    assert float(h.grad) == 9.0
    assert float(x.grad) == 9.0


def test_zero_dim_matches_one_element_vector():
    def run(shape):
        w = tr.Tensor(np.full(shape, 0.3), requires_grad=True)
        h = (w * 2.0).tanh()
        out = (h * h + h * 3.0 + h.exp() + h * w).sum()
        out.backward()
        return float(np.sum(w.grad))

    assert abs(run(()) - run((1,))) < 1e-15
