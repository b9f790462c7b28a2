"""BPTT as the loop the notes write: a recorded graph folded back into ``for t`` loops.

An unrolled graph holds every time step as separate nodes. Its scopes
(``lstm/l0/fwd/t3/forget_gate``) say which step each node belongs to, and every
step of one layer and direction repeats the same few ops. ``tr.bptt_loop(loss)``
reads that repetition back out of the graph and writes the whole training step
as Python, the way min-char-rnn, CS231n and d2l write it by hand::

    for t in range(1, T + 1):                 # the forward, as a loop
        hW[t] = h[t - 1] @ W_hh.T
        s[t] = xWb_t[t - 1] + hW[t]
        h[t] = np.tanh(s[t])
    ...
    dh_next = np.zeros_like(h[T])             # the backward: the same loop reversed
    for t in reversed(range(1, T + 1)):
        dh = dh_out[t - 1] + dh_next          # delta_t = dL/dh_t: from the loss at t, and from step t + 1
        ds = dh * (1 - h[t] * h[t])           # through tanh: the factor 1 - h_t^2 of a_t and b_t
        ...
        dh_next = dhW @ W_hh                  # b_t delta_t: carried to step t - 1
        dW_hh += (h[t - 1].T @ dhW).T         # a_t delta_t: this step's share of dL/dW_hh

Every backward line is an op's own backward rule (``ops.py``) with the operands'
names filled in, so the text computes what ``loss.backward()`` computes (to
rounding: a few sums add up in another order), folded by time: its length does not
depend on T. ``.run()`` executes that text (not the engine) on the recorded inputs
and parameters and returns the gradients.

The package, in the order it works:

- ``fold``: which nodes are which step of which loop, in one order per step;
- ``write``: the steps checked against each other, one taken as the loop body, every
  value named in the notes' notation, the source written (forward, then backward);
- ``rules``: each op's forward expression and backward rule as text;
- ``highlight``: the source as highlighted HTML (notebooks, the explorer's panel).
"""

from __future__ import annotations

import ast
from typing import Any

import numpy as np

from ..tensor import Tensor
from .fold import LoopError
from .highlight import highlight_html
from .write import Builder

__all__ = ["BPTTLoop", "LoopError", "bptt_loop", "highlight_html"]


class BPTTLoop:
    """The training step of a recurrent graph written as loops; see ``bptt_loop``.

    ``source``: the Python text (a function ``training_step(inputs, params)``);
    ``inputs`` and ``params``: the recorded arrays it runs on ({name: array},
    parameters by their PyTorch names); ``T``: the number of time steps;
    ``locations``: {node index in ``trace(loss)``: (1-based line, t)}.
    """

    def __init__(self, loss: Tensor):
        builder = Builder(loss)
        self.source, self.locations, self.inputs, params = builder.build()
        self.params = {torch_name: array for torch_name, array in params.values()}
        self._ops = [rec.node for rec in builder.graph.nodes]  # (held, so that an id below names this op only)
        self._node_ids = {id(op): index for index, op in enumerate(self._ops)}
        self.T = builder.T
        ast.parse(self.source)

    @property
    def lines(self) -> list[str]:
        return self.source.split("\n")

    def locate(self, node: Any) -> tuple[int, int | None] | None:
        """(line, t) of the loop text that computes ``node``'s backward: line 1-based, t None outside loops.

        ``node`` is a recorded op (``NodeRecord.node``, a stepper event's node) or its index in ``trace(loss)``.
        """
        index = node if isinstance(node, int) else self._node_ids.get(id(getattr(node, "node", node)))
        return self.locations.get(index) if index is not None else None

    def run(self) -> dict[str, np.ndarray]:
        """Execute the source (not the engine) on the recorded inputs and parameters: {parameter: gradient}."""
        namespace: dict[str, Any] = {}
        exec(compile(self.source, "<tr.bptt_loop>", "exec"), namespace)  # our own generated text
        inputs = {k: type(v)(np.array(a) for a in v) if isinstance(v, (list, tuple)) else np.array(v)
                  for k, v in self.inputs.items()}
        params = {name: np.array(array) for name, array in self.params.items()}
        with np.errstate(over="ignore"):
            return namespace["training_step"](inputs, params)

    def __repr__(self) -> str:
        return self.source

    def _repr_html_(self) -> str:
        return highlight_html(self.source)


def bptt_loop(loss: Tensor) -> BPTTLoop:
    """Write the training step behind ``loss`` as the BPTT loop: forward over t, backward reversed.

    ``loss`` must come from a graph whose recurrent steps were recorded under
    scopes ``t1``, ``t2``, ... (the built-in RNN/LSTM/GRU, stacked and
    bidirectional, do; so does a hand-written loop under ``tr.scope(f"t{t}")``).
    Returns a ``BPTTLoop``: ``.source`` (Python text), ``.run()`` (executes it),
    ``.locate(node)`` (line and t of a node's backward), ``_repr_html_``.
    """
    return BPTTLoop(loss)
