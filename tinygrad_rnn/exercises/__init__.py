"""Exercises the engine checks: write a backward by hand, and be told which gradient is wrong, by name.

    import tinygrad_rnn as tr
    from tinygrad_rnn.exercises import lstm_step_forward

    def lstm_step_backward(dh, dc, cache):
        ...                                  # your derivation
        return {"dx": dx, "dh_prev": dh_prev, "dc_prev": dc_prev, "dWx": dWx, "dWh": dWh, "db": db}

    report = tr.exercises.check("lstm_step_backward", lstm_step_backward)
    report.ok, report.first_wrong            # False, 'dc_prev'
    print(report)                            # the rule dL/dc_{t-1} = dL/dc_t ⊙ f_t, and what yours lacks
    report                                   # in Jupyter: the message and the explorer at that node

Each exercise has a forward the project provides (``forwards``: NumPy, returning a cache of
named arrays in the notes' notation), the signature of the student's backward, and a checker
whose oracle is the engine itself: the same computation built with ``tr.Tensor`` and
differentiated by ``backward()``. A backward may also return intermediates (``do``, ``dc_total``,
``di``, ``df``, ``dg``, ``da`` for the LSTM; ``dh``, ``da`` per time step for BPTT): the checker
then uses them to locate a mistake more precisely. ``EXERCISES`` lists them all, with signatures.
From a terminal: ``tinygrad-rnn exercise lstm_step_backward my_lstm.py``.
"""

from .catalog import EXERCISES, display_name
from .check import Report, check, relative_error
from .forwards import (
    gru_forward,
    gru_step_forward,
    lstm_step_forward,
    matmul_forward,
    mul_forward,
    rnn_forward,
    rnn_step_forward,
    sigmoid_forward,
    tanh_forward,
)

__all__ = ["EXERCISES", "Report", "check", "display_name", "gru_forward", "gru_step_forward", "lstm_step_forward",
           "matmul_forward", "mul_forward", "relative_error", "rnn_forward", "rnn_step_forward", "sigmoid_forward",
           "tanh_forward"]
