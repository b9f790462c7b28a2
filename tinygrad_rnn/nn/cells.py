"""Recurrent cells: one time step of an RNN, written as the equations of the notes.

Every cell splits its work the same way. The input part of each gate,
W_i* x_t + b_i*, does not depend on the past, so a sequence module computes it
for all T steps in one matrix product before the time loop; what is left for
each step is the recurrence itself, written in the ``*_step`` functions below,
one line per equation, with the names of the equations. Standalone cells
(``LSTMCell`` ...) compute the input part for one step and call the same
function, so a cell and a sequence module always agree.

Weights follow PyTorch: ``weight_ih`` stacks the input weights of all gates
(LSTM order i, f, g, o; GRU order r, z, n), ``weight_hh`` the hidden weights,
with the biases ``bias_ih`` and ``bias_hh``; all drawn from
U(-1/sqrt(H), 1/sqrt(H)) with H = hidden_size.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..graph import scope
from ..ops import ShapeError, chunk, relu, sigmoid, split, tanh
from ..tensor import Tensor
from .module import Module, check_size, resolve_rng, uniform

ACTIVATIONS: dict[str, Callable[[Tensor], Tensor]] = {
    "tanh": tanh,
    "relu": relu,
    "sigmoid": sigmoid,
    "identity": lambda x: x,
}


def activation(owner: str, argument: str, name: str, allowed: tuple[str, ...]) -> Callable[[Tensor], Tensor]:
    if name not in allowed:
        raise ValueError(f"{owner}: {argument} must be one of {', '.join(map(repr, allowed))}, got {name!r}")
    return ACTIVATIONS[name]


# ---------------------------------------------------------------------------
# The recurrences. ``x`` is the precomputed input part (N, gates*H) of step t.


def elman_step(x: Tensor, h: Tensor, W_hh_T: Tensor, f: Callable[[Tensor], Tensor]) -> Tensor:
    """Elman RNN: h_t = f(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh), f = tanh or relu."""
    with scope("hidden"):
        return f(x + h @ W_hh_T)


def lstm_step(x: Tensor, h: Tensor, c: Tensor, W_hh_T: Tensor,
              g_act: Callable[[Tensor], Tensor] = tanh, h_act: Callable[[Tensor], Tensor] = tanh
              ) -> tuple[Tensor, Tensor]:
    """LSTM (Hochreiter & Schmidhuber, with a forget gate), PyTorch's gate order i, f, g, o:

        i_t = sigmoid(W_ii x_t + b_ii + W_hi h_{t-1} + b_hi)      input gate
        f_t = sigmoid(W_if x_t + b_if + W_hf h_{t-1} + b_hf)      forget gate
        g_t = tanh(W_ig x_t + b_ig + W_hg h_{t-1} + b_hg)         cell gate (candidate)
        o_t = sigmoid(W_io x_t + b_io + W_ho h_{t-1} + b_ho)      output gate
        c_t = f_t * c_{t-1} + i_t * g_t                           cell state
        h_t = o_t * tanh(c_t)                                     hidden state

    The four pre-activations come from one product h_{t-1} @ W_hh^T.
    ``g_act`` and ``h_act`` replace the two tanh's (the lecture's g and h
    activations of the memory cell); tanh for both is PyTorch's LSTM.
    """
    i, f, g, o = chunk(x + h @ W_hh_T, 4, axis=1)
    with scope("input_gate"):
        i = sigmoid(i)
    with scope("forget_gate"):
        f = sigmoid(f)
    with scope("cell_gate"):
        g = g_act(g)
    with scope("output_gate"):
        o = sigmoid(o)
    with scope("cell_state"):
        c = f * c + i * g
    with scope("hidden"):
        h = o * h_act(c)
    return h, c


LSTM_ACTIVATIONS = ("tanh", "identity", "sigmoid", "relu")


def lstm_activations(owner: str, g_activation: str, h_activation: str) -> tuple[Callable, Callable]:
    """The (g, h) activation functions of an LSTM by name, with a clear error for a bad one."""
    return (activation(owner, "g_activation", g_activation, LSTM_ACTIVATIONS),
            activation(owner, "h_activation", h_activation, LSTM_ACTIVATIONS))


def lstm_activation_repr(g_activation: str, h_activation: str) -> str:
    return "".join(f", {name}={value!r}" for name, value in (("g_activation", g_activation),
                                                               ("h_activation", h_activation)) if value != "tanh")


def peephole_lstm_step(
    x: Tensor, h: Tensor, c: Tensor, W_hh_T: Tensor, w_ci: Tensor, w_cf: Tensor, w_co: Tensor,
    g_act: Callable[[Tensor], Tensor] = tanh, h_act: Callable[[Tensor], Tensor] = tanh,
) -> tuple[Tensor, Tensor]:
    """Peephole LSTM (Gers & Schmidhuber, 2000): the gates also look at the cell state.

        i_t = sigmoid(W_ii x_t + W_hi h_{t-1} + w_ci * c_{t-1} + b_i)
        f_t = sigmoid(W_if x_t + W_hf h_{t-1} + w_cf * c_{t-1} + b_f)
        g_t = tanh(W_ig x_t + W_hg h_{t-1} + b_g)
        c_t = f_t * c_{t-1} + i_t * g_t
        o_t = sigmoid(W_io x_t + W_ho h_{t-1} + w_co * c_t + b_o)   sees the *new* cell state
        h_t = o_t * tanh(c_t)

    The peephole weights w_ci, w_cf, w_co are vectors (diagonal matrices): each
    gate unit sees only its own cell. Because o_t needs c_t, the output gate is
    computed after the cell state. ``g_act``/``h_act`` replace the tanh's, as in ``lstm_step``.
    """
    i, f, g, o = chunk(x + h @ W_hh_T, 4, axis=1)
    with scope("input_gate"):
        i = sigmoid(i + w_ci * c)
    with scope("forget_gate"):
        f = sigmoid(f + w_cf * c)
    with scope("cell_gate"):
        g = g_act(g)
    with scope("cell_state"):
        c = f * c + i * g
    with scope("output_gate"):
        o = sigmoid(o + w_co * c)
    with scope("hidden"):
        h = o * h_act(c)
    return h, c


def gru_step(x: Tensor, h: Tensor, W_hh_T: Tensor, b_hh: Tensor | None) -> Tensor:
    """GRU with the reset gate applied *after* the hidden product (PyTorch, cuDNN):

        r_t = sigmoid(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)      reset gate
        z_t = sigmoid(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)      update gate
        n_t = tanh(W_in x_t + b_in + r_t * (W_hn h_{t-1} + b_hn)) new gate (candidate)
        h_t = (1 - z_t) * n_t + z_t * h_{t-1}
    """
    x_r, x_z, x_n = chunk(x, 3, axis=1)
    hidden = h @ W_hh_T if b_hh is None else h @ W_hh_T + b_hh
    h_r, h_z, h_n = chunk(hidden, 3, axis=1)
    with scope("reset_gate"):
        r = sigmoid(x_r + h_r)
    with scope("update_gate"):
        z = sigmoid(x_z + h_z)
    with scope("new_gate"):
        n = tanh(x_n + r * h_n)
    with scope("hidden"):
        h = (1 - z) * n + z * h
    return h


def gru_reset_before_step(x: Tensor, h: Tensor, W_hrz_T: Tensor, W_hn_T: Tensor) -> Tensor:
    """GRU as in Cho et al. (2014): the reset gate scales h_{t-1} *before* the product.

        r_t = sigmoid(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)
        z_t = sigmoid(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)
        n_t = tanh(W_in x_t + b_in + W_hn (r_t * h_{t-1}) + b_hn)
        h_t = (1 - z_t) * n_t + z_t * h_{t-1}

    Here b_hn sits outside the reset, so it is already part of ``x``.
    """
    x_r, x_z, x_n = chunk(x, 3, axis=1)
    h_r, h_z = chunk(h @ W_hrz_T, 2, axis=1)
    with scope("reset_gate"):
        r = sigmoid(x_r + h_r)
    with scope("update_gate"):
        z = sigmoid(x_z + h_z)
    with scope("new_gate"):
        n = tanh(x_n + (r * h) @ W_hn_T)
    with scope("hidden"):
        h = (1 - z) * n + z * h
    return h


def jordan_step(
    x: Tensor, y: Tensor, W_yh_T: Tensor, W_hy_T: Tensor, b_y: Tensor | None,
    f: Callable[[Tensor], Tensor], g: Callable[[Tensor], Tensor],
) -> tuple[Tensor, Tensor]:
    """Jordan network: the hidden layer is fed the previous *output*, not the previous hidden state.

        h_t = f(W_xh x_t + W_yh y_{t-1} + b_h)
        y_t = g(W_hy h_t + b_y)

    Returns (y_t, h_t); y_t is the state carried to the next step.
    """
    with scope("hidden"):
        h = f(x + y @ W_yh_T)
    with scope("output"):
        y = g(h @ W_hy_T if b_y is None else h @ W_hy_T + b_y)
    return y, h


# ---------------------------------------------------------------------------
# Input checks shared by the cells


def as_tensor(value: Any) -> Tensor:
    return value if isinstance(value, Tensor) else Tensor(value)


def cell_input(owner: str, input: Any, input_size: int) -> tuple[Tensor, bool]:
    """(N, input_size) or unbatched (input_size,) -> a 2-D tensor and whether it was batched."""
    x = as_tensor(input)
    if x.ndim not in (1, 2) or x.shape[-1] != input_size:
        raise ShapeError(
            f"{owner}: expected input of shape (N, {input_size}) or unbatched ({input_size},), got {x.shape}"
        )
    return (x, True) if x.ndim == 2 else (x.reshape(1, input_size), False)


def cell_state(
    owner: str, name: str, value: Any, batch: int, size: int, batched: bool, like: Tensor
) -> Tensor:
    """A state argument (h or c): zeros when None, else checked against (N, size)."""
    if value is None:
        return Tensor(np.zeros((batch, size), dtype=like.dtype))
    state = as_tensor(value)
    expected = (batch, size) if batched else (size,)
    if state.shape != expected:
        raise ShapeError(f"{owner}: {name} must have shape {expected} for this input, got {state.shape}")
    return state if batched else state.reshape(1, size)


def _unbatch(t: Tensor, batched: bool) -> Tensor:
    return t if batched else t.reshape(t.shape[1:])


# ---------------------------------------------------------------------------
# Standalone cells


class _Cell(Module):
    gates = 1

    def __init__(self, input_size: int, hidden_size: int, bias: bool, rng: Any):
        super().__init__()
        name = type(self).__name__
        self.input_size = check_size(name, "input_size", input_size)
        self.hidden_size = check_size(name, "hidden_size", hidden_size)
        self.bias = bool(bias)
        self._rng = resolve_rng(rng)
        bound = 1.0 / np.sqrt(hidden_size)
        rows = self.gates * hidden_size
        self.weight_ih = uniform(self._rng, bound, (rows, input_size))
        self.weight_hh = uniform(self._rng, bound, (rows, hidden_size))
        if bias:
            self.bias_ih = uniform(self._rng, bound, (rows,))
            self.bias_hh = uniform(self._rng, bound, (rows,))

    def _input_part(self, x: Tensor, with_bias_hh: bool) -> Tensor:
        """W_ih x + b_ih (+ b_hh when the recurrence adds it outside any gate product)."""
        part = x @ self.weight_ih.T
        if self.bias:
            part = part + (self.bias_ih + self.bias_hh if with_bias_hh else self.bias_ih)
        return part

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}" + ("" if self.bias else ", bias=False")


class RNNCell(_Cell):
    """One step of an Elman RNN: h' = f(x W_ih^T + b_ih + h W_hh^T + b_hh), f = tanh or relu.

    ``cell(x, h=None) -> h'`` with x (N, input_size) or unbatched (input_size,).
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", rng: Any = None):
        f = activation("RNNCell", "nonlinearity", nonlinearity, ("tanh", "relu"))
        super().__init__(input_size, hidden_size, bias, rng)
        self.nonlinearity, self._f = nonlinearity, f

    def forward(self, input: Any, hx: Any = None) -> Tensor:
        x, batched = cell_input("RNNCell", input, self.input_size)
        h = cell_state("RNNCell", "hx", hx, x.shape[0], self.hidden_size, batched, x)
        with scope("rnn_cell"):
            h = elman_step(self._input_part(x, True), h, self.weight_hh.T, self._f)
        return _unbatch(h, batched)

    def extra_repr(self) -> str:
        extra = super().extra_repr()
        return extra + (", nonlinearity='relu'" if self.nonlinearity == "relu" else "")


class LSTMCell(_Cell):
    """One LSTM step: ``cell(x, (h, c)=None) -> (h', c')`` (see ``lstm_step`` for the equations).

    ``peephole=True`` adds the peephole connections of Gers & Schmidhuber
    (see ``peephole_lstm_step``), an option PyTorch lacks: three extra
    vectors ``weight_ci``, ``weight_cf``, ``weight_co`` (hidden_size,) let the
    input and forget gates see c_{t-1} and the output gate see c_t.

    ``g_activation`` (on the candidate g) and ``h_activation`` (on c before
    the output gate) are tanh, as in PyTorch; ``'identity'`` gives the
    lecture's linear memory cell (see ``tinygrad-rnn train toy-lstm``).
    """

    gates = 4

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 peephole: bool = False, g_activation: str = "tanh", h_activation: str = "tanh",
                 rng: Any = None):
        acts = lstm_activations("LSTMCell", g_activation, h_activation)
        super().__init__(input_size, hidden_size, bias, rng)
        self.g_activation, self.h_activation, self._acts = g_activation, h_activation, acts
        self.peephole = bool(peephole)
        if peephole:
            bound = 1.0 / np.sqrt(hidden_size)
            self.weight_ci = uniform(self._rng, bound, (hidden_size,))
            self.weight_cf = uniform(self._rng, bound, (hidden_size,))
            self.weight_co = uniform(self._rng, bound, (hidden_size,))

    def forward(self, input: Any, hx: Any = None) -> tuple[Tensor, Tensor]:
        x, batched = cell_input("LSTMCell", input, self.input_size)
        if hx is not None and not (isinstance(hx, (tuple, list)) and len(hx) == 2):
            raise TypeError("LSTMCell: hx must be a pair (h, c) or None")
        h0, c0 = hx if hx is not None else (None, None)
        h = cell_state("LSTMCell", "h", h0, x.shape[0], self.hidden_size, batched, x)
        c = cell_state("LSTMCell", "c", c0, x.shape[0], self.hidden_size, batched, x)
        with scope("lstm_cell"):
            part = self._input_part(x, True)
            if self.peephole:
                h, c = peephole_lstm_step(part, h, c, self.weight_hh.T, self.weight_ci, self.weight_cf,
                                          self.weight_co, *self._acts)
            else:
                h, c = lstm_step(part, h, c, self.weight_hh.T, *self._acts)
        return _unbatch(h, batched), _unbatch(c, batched)

    def extra_repr(self) -> str:
        return (super().extra_repr() + (", peephole=True" if self.peephole else "")
                + lstm_activation_repr(self.g_activation, self.h_activation))


class GRUCell(_Cell):
    """One GRU step: ``cell(x, h=None) -> h'``.

    ``reset`` chooses where the reset gate r acts in the candidate n:

    - ``'after'`` (default, PyTorch/cuDNN): n = tanh(W_in x + b_in + r * (W_hn h + b_hn)).
      r scales the *result* of the hidden product, so W_hn h can be computed
      together with the other gates in one matrix product.
    - ``'before'`` (Cho et al., 2014, as in most notes): n = tanh(W_in x + b_in + W_hn (r * h) + b_hn).
      r scales h *before* the product, which needs a second product per step
      after r is known.

    The two agree when r = 1 and in general give different numbers for the
    same weights; parameter names and shapes are the same.
    """

    gates = 3

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 reset: str = "after", rng: Any = None):
        if reset not in ("after", "before"):
            raise ValueError(
                f"GRUCell: reset must be 'after' (PyTorch) or 'before' (Cho et al.), got {reset!r}"
            )
        super().__init__(input_size, hidden_size, bias, rng)
        self.reset = reset

    def forward(self, input: Any, hx: Any = None) -> Tensor:
        x, batched = cell_input("GRUCell", input, self.input_size)
        h = cell_state("GRUCell", "hx", hx, x.shape[0], self.hidden_size, batched, x)
        with scope("gru_cell"):
            if self.reset == "after":
                b_hh = self.bias_hh if self.bias else None
                h = gru_step(self._input_part(x, False), h, self.weight_hh.T, b_hh)
            else:
                W_hrz_T, W_hn_T = split(self.weight_hh.T, [2 * self.hidden_size, self.hidden_size], axis=1)
                h = gru_reset_before_step(self._input_part(x, True), h, W_hrz_T, W_hn_T)
        return _unbatch(h, batched)

    def extra_repr(self) -> str:
        return super().extra_repr() + (", reset='before'" if self.reset == "before" else "")


def init_jordan(module: Module, owner: str, input_size: int, hidden_size: int, output_size: int,
                bias: bool, nonlinearity: str, output_nonlinearity: str, rng: Any) -> None:
    """Sizes, activations and parameters shared by ``JordanCell`` and the ``Jordan`` module."""
    module.input_size = check_size(owner, "input_size", input_size)
    module.hidden_size = check_size(owner, "hidden_size", hidden_size)
    module.output_size = check_size(owner, "output_size", output_size)
    module.bias = bool(bias)
    module.nonlinearity, module.output_nonlinearity = nonlinearity, output_nonlinearity
    module._f = activation(owner, "nonlinearity", nonlinearity, ("tanh", "relu"))
    module._g = activation(owner, "output_nonlinearity", output_nonlinearity, ("tanh", "sigmoid", "relu", "identity"))
    rng = resolve_rng(rng)
    bound = 1.0 / np.sqrt(hidden_size)
    module.weight_xh = uniform(rng, bound, (hidden_size, input_size))
    module.weight_yh = uniform(rng, bound, (hidden_size, output_size))
    module.weight_hy = uniform(rng, bound, (output_size, hidden_size))
    if bias:
        module.bias_h = uniform(rng, bound, (hidden_size,))
        module.bias_y = uniform(rng, bound, (output_size,))


class JordanCell(Module):
    """One step of a Jordan network: ``cell(x, y=None) -> (y', h')``.

        h_t = f(W_xh x_t + W_yh y_{t-1} + b_h)     f = nonlinearity ('tanh' or 'relu')
        y_t = g(W_hy h_t + b_y)                    g = output_nonlinearity

    Unlike Elman's RNN, the recurrent connection comes from the previous
    *output* y_{t-1} (output_size wide), so the state carried between steps is
    y. Parameters: ``weight_xh`` (H, I), ``weight_yh`` (H, O), ``bias_h`` (H,),
    ``weight_hy`` (O, H), ``bias_y`` (O,); init U(-1/sqrt(H), 1/sqrt(H)).
    PyTorch has no Jordan network.
    """

    def __init__(self, input_size: int, hidden_size: int, output_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", output_nonlinearity: str = "tanh", rng: Any = None):
        super().__init__()
        init_jordan(self, "JordanCell", input_size, hidden_size, output_size, bias,
                    nonlinearity, output_nonlinearity, rng)

    def forward(self, input: Any, y: Any = None) -> tuple[Tensor, Tensor]:
        x, batched = cell_input("JordanCell", input, self.input_size)
        y = cell_state("JordanCell", "y", y, x.shape[0], self.output_size, batched, x)
        with scope("jordan_cell"):
            part = x @ self.weight_xh.T
            if self.bias:
                part = part + self.bias_h
            y, h = jordan_step(part, y, self.weight_yh.T, self.weight_hy.T,
                               self.bias_y if self.bias else None, self._f, self._g)
        return _unbatch(y, batched), _unbatch(h, batched)

    def extra_repr(self) -> str:
        extra = f"{self.input_size}, {self.hidden_size}, {self.output_size}"
        if not self.bias:
            extra += ", bias=False"
        if self.nonlinearity != "tanh":
            extra += f", nonlinearity={self.nonlinearity!r}"
        if self.output_nonlinearity != "tanh":
            extra += f", output_nonlinearity={self.output_nonlinearity!r}"
        return extra
