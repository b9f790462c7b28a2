"""Layers built from the engine's public ops: Module, Linear, Embedding, Dropout, recurrent cells
and stacked sequence modules with PyTorch's names, shapes and numbers.

    import tinygrad_rnn as tr
    tr.nn.manual_seed(0)                                  # or rng= on any layer
    lstm = tr.nn.LSTM(3, 8, num_layers=2, bidirectional=True)
    lstm.load_state_dict(torch_lstm.state_dict())         # optional: PyTorch's weights
    output, (h_n, c_n) = lstm(x, lengths=[5, 2, 4])       # x: (T, N, 3)
"""

from ..tensor import Parameter
from .cells import GRUCell, JordanCell, LSTMCell, RNNCell
from .layers import Dropout, Embedding, Linear
from .module import LoadResult, Module, StateDictError, manual_seed
from .recurrent import GRU, LSTM, RNN, Jordan

__all__ = [
    "GRU",
    "GRUCell",
    "LSTM",
    "LSTMCell",
    "Dropout",
    "Embedding",
    "Jordan",
    "JordanCell",
    "Linear",
    "LoadResult",
    "Module",
    "Parameter",
    "RNN",
    "RNNCell",
    "StateDictError",
    "manual_seed",
]
