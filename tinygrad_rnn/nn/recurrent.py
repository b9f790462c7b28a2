"""Sequence modules: RNN, LSTM, GRU (stacked, bidirectional) and a Jordan network.

They take the same arguments and return the same things as ``torch.nn.RNN``,
``LSTM`` and ``GRU``; copy a PyTorch state_dict in with ``load_state_dict`` and
the numbers agree to float64 rounding.

How a layer runs over a sequence x_1..x_T (one direction):

1. The input part of every gate, x_t W_ih^T + b, depends on no earlier step,
   so all T of them come from ONE matrix product over the (T*N, input) block,
   cut into T pieces (one ``split``).
2. The time loop then only does the recurrence (``cells.*_step``): one product
   h_{t-1} W_hh^T for all gates, then the gate equations.
3. The reverse direction runs the same loop from t = T down to 1, with its
   own weights (``*_reverse``); its outputs are put back in position order and
   concatenated with the forward ones: output[t] = [h_t(fwd), h_t(rev)].
4. Layer l > 0 reads layer l-1's output (with dropout between layers while
   training).

Variable lengths (``lengths=``): sequence n only has its first lengths[n]
steps. At a step past a sequence's end its state is simply kept (``where``
with a constant mask), so h_n is the state at the true last step; the reverse
direction, which starts at t = T, keeps the initial state until it reaches the
sequence's last real element. Padded output positions are zero. That is
PyTorch's packed-sequence semantics, without sorting or per-sequence loops.

Scopes: every op is recorded under ``<kind>/l<layer>/<fwd|rev>/t<t>/<gate>``
(e.g. ``lstm/l1/rev/t4/input_gate``); work done once per layer and direction
sits in ``<kind>/l<layer>/<dir>``, where t names the sequence position x_t
in both directions.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .. import functional as F
from ..graph import gc_paused, scope
from ..ops import ShapeError, concat, split, stack, where
from ..tensor import Parameter, Tensor
from .cells import (
    activation,
    as_tensor,
    elman_step,
    gru_reset_before_step,
    gru_step,
    init_jordan,
    jordan_step,
    lstm_activation_repr,
    lstm_activations,
    lstm_step,
    peephole_lstm_step,
)
from .module import Module, check_size, generator, resolve_rng, uniform

State = tuple[Tensor, ...]
Step = Callable[[Tensor, State], State]


def sequence_input(owner: str, input: Any, input_size: int, batch_first: bool) -> tuple[Tensor, bool]:
    """Check the input and return it as (T, N, input_size), plus whether it had a batch axis."""
    x = as_tensor(input)
    layout = "(N, T, {0})" if batch_first else "(T, N, {0})"
    if x.ndim not in (2, 3) or x.shape[-1] != input_size:
        raise ShapeError(
            f"{owner}: expected input of shape {layout.format(input_size)} or unbatched (T, {input_size}), "
            f"got {x.shape}"
        )
    if x.shape[0] == 0:
        raise ShapeError(f"{owner}: the input is empty (shape {x.shape}); it needs at least one time step")
    if 0 in x.shape:
        raise ShapeError(f"{owner}: the batch is empty (shape {x.shape}); give at least one sequence")
    if x.ndim == 2:
        return x.reshape(x.shape[0], 1, input_size), False
    return (x.transpose(0, 1) if batch_first else x), True


def length_masks(owner: str, lengths: Any, T: int, N: int, batched: bool) -> np.ndarray | None:
    """mask[t-1, n] = (t <= lengths[n]), shape (T, N, 1); None when every sequence is full."""
    if lengths is None:
        return None
    if not batched:
        raise ValueError(f"{owner}: lengths= needs a batched input (T, N, features); "
                         f"for a single sequence, pass only its real steps")
    values = np.asarray(getattr(lengths, "data", lengths))
    if values.ndim != 1 or values.shape[0] != N:
        raise ValueError(f"{owner}: lengths must hold one length per sequence in the batch: "
                         f"expected {N} values, got shape {values.shape}")
    if values.dtype.kind == "f" and np.all(values == np.round(values)):
        values = values.astype(np.int64)
    if values.dtype.kind not in "iu":
        raise TypeError(f"{owner}: lengths must be integers, got {values.tolist()}")
    if values.min() < 1 or values.max() > T:
        raise ValueError(f"{owner}: every length must be between 1 and T = {T} (the input's time "
                         f"steps), got {values.tolist()}")
    if np.all(values == T):
        return None
    return (np.arange(1, T + 1)[:, None] <= values[None, :])[:, :, None]


def unroll(parts: Sequence[Tensor], state: State, step: Step, masks: np.ndarray | None,
           reverse: bool) -> tuple[Tensor, State]:
    """Run ``step`` over the time steps; return the stacked outputs (T, N, H) and the last state.

    ``parts[t-1]`` is the input part of step t. The output at step t is the
    first state component (h_t; y_t for a Jordan network).
    """
    T = len(parts)
    outputs: list[Any] = [None] * T
    with gc_paused():  # the unrolled graph makes no cycles: see graph.gc_paused
        for t in range(T, 0, -1) if reverse else range(1, T + 1):
            with scope(f"t{t}"):
                new = step(parts[t - 1], state)
                if masks is not None:
                    new = tuple(where(masks[t - 1], n, s) for n, s in zip(new, state))
            state = new
            outputs[t - 1] = state[0]
    output = stack(outputs, axis=0)
    if masks is not None:
        output = output * masks.astype(output.dtype)
    return output, state


def input_parts(x: Tensor, W_ih: Tensor, bias: Tensor | None) -> list[Tensor]:
    """x_t W_ih^T + bias for every t at once: one (T*N, I) @ (I, G*H) product, cut into T pieces."""
    T, N, I = x.shape
    flat = x.reshape(T * N, I)
    if flat.name is None and not flat.requires_grad:  # the input itself, not recorded: keep its name in pictures
        flat.name = x.name or "x"
    part = flat @ W_ih.T
    if bias is not None:
        part = part + bias
    return split(part, N, axis=0)


def initial_state(owner: str, name: str, value: Any, count: int, N: int, H: int,
                  batched: bool, like: Tensor) -> list[Tensor]:
    """hx (count, N, H) -> one (N, H) tensor per layer and direction; zeros when None."""
    if value is None:
        zeros = Tensor(np.zeros((N, H), dtype=like.dtype), name=name)
        return [zeros] * count
    state = as_tensor(value)
    expected = (count, N, H) if batched else (count, H)
    if state.shape != expected:
        what = "(num_layers * num_directions, N, hidden_size)" if batched else \
            "(num_layers * num_directions, hidden_size) for unbatched input"
        raise ShapeError(f"{owner}: {name} must have shape {what} = {expected}, got {state.shape}")
    if not batched:
        state = state.reshape(count, 1, H)
    return [state[k] for k in range(count)]


class _StackedRNN(Module):
    """What RNN, LSTM and GRU share: parameters per layer/direction, the layer loop, I/O layouts."""

    kind = ""  # scope name: rnn | lstm | gru
    gates = 1
    state_names: tuple[str, ...] = ("h0",)

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 rng: Any = None):
        super().__init__()
        owner = type(self).__name__
        self.input_size = check_size(owner, "input_size", input_size)
        self.hidden_size = check_size(owner, "hidden_size", hidden_size)
        self.num_layers = check_size(owner, "num_layers", num_layers)
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)):
            raise TypeError(f"{owner}: dropout must be a number in [0, 1], got {type(dropout).__name__} {dropout!r}")
        if not 0 <= dropout <= 1:
            raise ValueError(f"{owner}: dropout must be a probability in [0, 1], got {dropout!r}")
        if dropout > 0 and num_layers == 1:
            warnings.warn(f"{owner}: dropout acts between layers, so with num_layers=1 it does nothing",
                          stacklevel=2)
        self.bias, self.batch_first, self.bidirectional = bool(bias), bool(batch_first), bool(bidirectional)
        self.dropout = float(dropout)
        self._rng = resolve_rng(rng)
        bound = 1.0 / np.sqrt(hidden_size)
        rows = self.gates * hidden_size
        for layer in range(num_layers):
            width = input_size if layer == 0 else hidden_size * self.num_directions
            for direction in range(self.num_directions):
                suffix = self._suffix(layer, direction)
                setattr(self, f"weight_ih{suffix}", uniform(self._rng, bound, (rows, width)))
                setattr(self, f"weight_hh{suffix}", uniform(self._rng, bound, (rows, hidden_size)))
                if bias:
                    setattr(self, f"bias_ih{suffix}", uniform(self._rng, bound, (rows,)))
                    setattr(self, f"bias_hh{suffix}", uniform(self._rng, bound, (rows,)))
                self._extra_parameters(suffix, bound)

    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    @staticmethod
    def _suffix(layer: int, direction: int) -> str:
        return f"_l{layer}" + ("_reverse" if direction else "")

    def _extra_parameters(self, suffix: str, bound: float) -> None:
        """Hook for variants with more parameters per layer (peephole LSTM)."""

    def _parameter(self, name: str, suffix: str) -> Parameter | None:
        return self._parameters.get(name + suffix)

    def _input_bias(self, suffix: str) -> Tensor | None:
        """The bias added to the input part: b_ih + b_hh, unless b_hh must stay inside a gate."""
        if not self.bias:
            return None
        return self._parameter("bias_ih", suffix) + self._parameter("bias_hh", suffix)

    def _step(self, suffix: str) -> Step:
        raise NotImplementedError

    def forward(self, input: Any, hx: Any = None, lengths: Any = None) -> tuple[Tensor, Any]:
        """Run the stack over a sequence: ``output, h_n`` (LSTM: ``output, (h_n, c_n)``).

        input: (T, N, input_size), (N, T, input_size) with batch_first, or
        unbatched (T, input_size). hx: initial state(s) (num_layers * D, N, H)
        (LSTM: a pair (h_0, c_0)), zeros when None. lengths: the true length of
        each sequence (any order) for padded batches.

        output: (T, N, D*H) (batch_first: (N, T, D*H)), the last layer's h_t
        for every t, both directions concatenated; h_n: (num_layers*D, N, H),
        the final state of layer l, direction d at index l*D + d.
        """
        owner = type(self).__name__
        hx_values = self._split_hx(hx)
        with scope(self.kind):
            x, batched = sequence_input(owner, input, self.input_size, self.batch_first)
            T, N, _ = x.shape
            D, H, L = self.num_directions, self.hidden_size, self.num_layers
            starts = [initial_state(owner, name, value, L * D, N, H, batched, x)
                      for name, value in zip(self.state_names, hx_values)]
        masks = length_masks(owner, lengths, T, N, batched)
        finals: list[State] = []
        for layer in range(L):
            outputs = []
            for direction in range(D):
                suffix = self._suffix(layer, direction)
                start = tuple(s[layer * D + direction] for s in starts)
                with scope(self.kind), scope(f"l{layer}"), scope("rev" if direction else "fwd"):
                    parts = input_parts(x, self._parameter("weight_ih", suffix), self._input_bias(suffix))
                    output, final = unroll(parts, start, self._step(suffix), masks, reverse=direction == 1)
                outputs.append(output)
                finals.append(final)
            with scope(self.kind), scope(f"l{layer}"):
                x = outputs[0] if D == 1 else concat(outputs, axis=2)
                if self.training and self.dropout > 0 and layer < L - 1:
                    x = F.dropout(x, self.dropout, training=True, rng=generator(self._rng))
        with scope(self.kind):
            states = [stack([final[k] for final in finals], axis=0) for k in range(len(self.state_names))]
            if not batched:
                x = x.reshape(T, D * H)
                states = [s.reshape(L * D, H) for s in states]
            elif self.batch_first:
                x = x.transpose(0, 1)
        return x, (states[0] if len(states) == 1 else tuple(states))

    def _split_hx(self, hx: Any) -> tuple[Any, ...]:
        if isinstance(hx, (tuple, list)):
            raise TypeError(f"{type(self).__name__}: hx must be one tensor (num_layers * D, N, hidden_size) "
                            f"or None; only LSTM takes a pair (h_0, c_0)")
        return (hx,)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if not self.bias:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout:
            s += f", dropout={self.dropout}"
        if self.bidirectional:
            s += ", bidirectional=True"
        return s


class RNN(_StackedRNN):
    """Elman RNN, stacked: h_t = f(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh), f = tanh or relu.

    Same signature, parameter names (``weight_ih_l0``, ``bias_hh_l1_reverse``
    ...), shapes and outputs as ``torch.nn.RNN``; see ``_StackedRNN.forward``.
    ``rng``: a seed or Generator for the initial weights and dropout masks.

    ``hidden_init="identity"`` starts every W_hh at the identity matrix and
    every bias at 0 (Le, Jaitly & Hinton's IRNN, 2015, with
    ``nonlinearity="relu"``): at the start h_t = relu(h_{t-1} + W_ih x_t), so
    the state is copied forward unchanged and the gradient through W_hh is
    neither shrunk nor grown. The default ``"uniform"`` is PyTorch's init.
    """

    kind = "rnn"

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, nonlinearity: str = "tanh",
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, hidden_init: str = "uniform", rng: Any = None):
        f = activation("RNN", "nonlinearity", nonlinearity, ("tanh", "relu"))
        if hidden_init not in ("uniform", "identity"):
            raise ValueError(f"RNN: hidden_init must be 'uniform' (PyTorch) or 'identity' (IRNN), got {hidden_init!r}")
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, rng)
        self.nonlinearity, self._f, self.hidden_init = nonlinearity, f, hidden_init
        if hidden_init == "identity":
            for name, p in self.named_parameters():
                if name.startswith("weight_hh"):
                    p.data[...] = np.eye(hidden_size)
                elif name.startswith("bias"):
                    p.data[...] = 0.0

    def _step(self, suffix: str) -> Step:
        W_hh_T, f = self._parameter("weight_hh", suffix).T, self._f
        return lambda x, state: (elman_step(x, state[0], W_hh_T, f),)

    def extra_repr(self) -> str:
        extra = super().extra_repr()
        extra += ", nonlinearity='relu'" if self.nonlinearity == "relu" else ""
        return extra + (", hidden_init='identity'" if self.hidden_init == "identity" else "")


class LSTM(_StackedRNN):
    """Stacked LSTM with PyTorch's gate order i, f, g, o (equations in ``cells.lstm_step``).

    ``output, (h_n, c_n) = lstm(input, (h_0, c_0))``; everything as in
    ``torch.nn.LSTM`` (without ``proj_size``). ``peephole=True`` adds Gers &
    Schmidhuber's peephole weights ``weight_ci_l0``, ``weight_cf_l0``,
    ``weight_co_l0`` (+ ``_reverse``), shape (hidden_size,), to every layer.
    ``g_activation``/``h_activation`` replace the tanh on the candidate and on
    c_t (see ``LSTMCell``); the default tanh is PyTorch's.
    """

    kind = "lstm"
    gates = 4
    state_names = ("h0", "c0")

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 peephole: bool = False, g_activation: str = "tanh", h_activation: str = "tanh",
                 rng: Any = None):
        acts = lstm_activations("LSTM", g_activation, h_activation)
        object.__setattr__(self, "peephole", bool(peephole))
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, rng)
        self.g_activation, self.h_activation, self._acts = g_activation, h_activation, acts

    def _extra_parameters(self, suffix: str, bound: float) -> None:
        if self.peephole:
            for name in ("weight_ci", "weight_cf", "weight_co"):
                setattr(self, name + suffix, uniform(self._rng, bound, (self.hidden_size,)))

    def _step(self, suffix: str) -> Step:
        W_hh_T, (g_act, h_act) = self._parameter("weight_hh", suffix).T, self._acts
        if not self.peephole:
            return lambda x, state: lstm_step(x, state[0], state[1], W_hh_T, g_act, h_act)
        w_ci, w_cf, w_co = (self._parameter(name, suffix) for name in ("weight_ci", "weight_cf", "weight_co"))
        return lambda x, state: peephole_lstm_step(x, state[0], state[1], W_hh_T, w_ci, w_cf, w_co, g_act, h_act)

    def _split_hx(self, hx: Any) -> tuple[Any, ...]:
        if hx is None:
            return (None, None)
        if not (isinstance(hx, (tuple, list)) and len(hx) == 2):
            raise TypeError(
                "LSTM: hx must be a pair (h_0, c_0), each (num_layers * D, N, hidden_size), or None"
            )
        return tuple(hx)

    def extra_repr(self) -> str:
        return (super().extra_repr() + (", peephole=True" if self.peephole else "")
                + lstm_activation_repr(self.g_activation, self.h_activation))


class GRU(_StackedRNN):
    """Stacked GRU with PyTorch's gate order r, z, n (equations in ``cells.gru_step``).

    ``reset='after'`` (default) is PyTorch's r * (W_hn h + b_hn); ``'before'``
    is Cho et al.'s W_hn (r * h) + b_hn; see ``GRUCell``.
    """

    kind = "gru"
    gates = 3

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 reset: str = "after", rng: Any = None):
        if reset not in ("after", "before"):
            raise ValueError(f"GRU: reset must be 'after' (PyTorch) or 'before' (Cho et al.), got {reset!r}")
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, rng)
        self.reset = reset

    def _input_bias(self, suffix: str) -> Tensor | None:
        if self.reset == "after" and self.bias:
            return self._parameter("bias_ih", suffix)  # b_hn must stay inside r * (...)
        return super()._input_bias(suffix)

    def _step(self, suffix: str) -> Step:
        W_hh_T = self._parameter("weight_hh", suffix).T
        if self.reset == "after":
            b_hh = self._parameter("bias_hh", suffix)
            return lambda x, state: (gru_step(x, state[0], W_hh_T, b_hh),)
        W_hrz_T, W_hn_T = split(W_hh_T, [2 * self.hidden_size, self.hidden_size], axis=1)
        return lambda x, state: (gru_reset_before_step(x, state[0], W_hrz_T, W_hn_T),)

    def extra_repr(self) -> str:
        return super().extra_repr() + (", reset='before'" if self.reset == "before" else "")


class Jordan(Module):
    """A Jordan network over a sequence (one layer, one direction); step equations in ``JordanCell``.

    ``output, y_n = jordan(input, y_0=None, lengths=None)``: output (T, N,
    output_size) holds y_1..y_T (batch_first: (N, T, output_size)); y_n
    (1, N, output_size) is the last output, shaped like an RNN's h_n.
    Parameter names are those of ``JordanCell``, so a cell's state_dict loads.
    """

    def __init__(self, input_size: int, hidden_size: int, output_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", output_nonlinearity: str = "tanh", batch_first: bool = False,
                 rng: Any = None):
        super().__init__()
        init_jordan(self, "Jordan", input_size, hidden_size, output_size, bias,
                    nonlinearity, output_nonlinearity, rng)
        self.batch_first = bool(batch_first)

    def forward(self, input: Any, y0: Any = None, lengths: Any = None) -> tuple[Tensor, Tensor]:
        with scope("jordan"):
            x, batched = sequence_input("Jordan", input, self.input_size, self.batch_first)
            T, N, _ = x.shape
            O = self.output_size
            (start,) = initial_state("Jordan", "y0", y0, 1, N, O, batched, x)
        masks = length_masks("Jordan", lengths, T, N, batched)
        with scope("jordan"), scope("l0"), scope("fwd"):
            parts = input_parts(x, self.weight_xh, self.bias_h if self.bias else None)
            W_yh_T, W_hy_T = self.weight_yh.T, self.weight_hy.T
            b_y, f, g = (self.bias_y if self.bias else None), self._f, self._g

            def step(part: Tensor, state: State) -> State:
                return jordan_step(part, state[0], W_yh_T, W_hy_T, b_y, f, g)[:1]

            output, (y_n,) = unroll(parts, (start,), step, masks, reverse=False)
        with scope("jordan"):
            if not batched:
                return output.reshape(T, O), y_n.reshape(1, O)
            return (output.transpose(0, 1) if self.batch_first else output), y_n.reshape(1, N, O)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}, {self.output_size}"
        if not self.bias:
            s += ", bias=False"
        if self.nonlinearity != "tanh":
            s += f", nonlinearity={self.nonlinearity!r}"
        if self.output_nonlinearity != "tanh":
            s += f", output_nonlinearity={self.output_nonlinearity!r}"
        if self.batch_first:
            s += ", batch_first=True"
        return s
