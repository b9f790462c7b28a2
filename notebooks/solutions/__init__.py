"""Reference solutions to the chapters' exercises: look only after trying.

One function per exercise of ``tinygrad_rnn.exercises``, named as the exercise, written the way
the notes derive it: each line one rule, in backward order from the loss. The notebooks plug
them in so their exercise cells run; ``tests/exercises`` checks that every one passes.
"""

from .gru import gru_backward, gru_step_backward
from .lstm import lstm_step_backward
from .ops import matmul_backward, mul_backward, sigmoid_backward, tanh_backward
from .rnn import rnn_backward, rnn_backward_truncated, rnn_step_backward

SOLUTIONS = {f.__name__: f for f in (tanh_backward, sigmoid_backward, matmul_backward, mul_backward,
                                     rnn_step_backward, rnn_backward, rnn_backward_truncated, lstm_step_backward,
                                     gru_step_backward, gru_backward)}

__all__ = ["SOLUTIONS", *SOLUTIONS]
