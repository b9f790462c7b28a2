"""Where a gradient comes from: BPTT's sum itemized by time step, and connectivity.

Backpropagation through time hands you one number per weight, the sum

    dL/dW_hh = sum over loss steps t~, sum over steps t <= t~ of C[t~, t]

where C[t~, t] is the part of dL_t~/dW_hh that flows through W_hh's use at
step t (the matmul W_hh h_{t-1}): how much the prediction at step t~ wants
W_hh changed *because of what W_hh did at step t*. ``contributions`` returns
that whole table (RNNbow, Cashman et al. 2018). Read along a row t~: how far
back does the gradient of one prediction reach? A vanilla RNN's row decays
like a power of ||diag(1 - h^2) W_hh||, fast; an LSTM's or GRU's can stay up.

``connectivity`` asks the same question about the input instead of a weight
(distill's "Visualizing memorization in RNNs"): ||d y_t~ / d x_t||, how
strongly output t~ (by default the logit of the character that really comes
next) depends on the input at step t.

Both cost one backward pass per output step t~ (``tr.grad`` of that one term),
not one per (t~, t) pair: a pass for L_t~ delivers dL_t~/d(use at step t) for
every t at once, and each use's own local rule turns that into its piece of
the weight's gradient.

``jacobian_order`` (a submodule) is the lesson of what goes wrong when the
per-step Jacobians of that sum are multiplied in the wrong order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..graph import time_step, topological_order
from ..higher_order import grad
from ..tensor import Tensor

VIEW_OPS = ("transpose", "reshape", "split")  # ops that only rearrange a parameter's numbers

__all__ = ["contributions", "connectivity", "hidden_states", "time_steps"]


def _uses(losses: Sequence[Tensor], param: Tensor) -> tuple[list, dict]:
    """The nodes that use ``param`` (directly or through a view such as W_hh^T), as
    (node, input position, view chain from that input back to param), and each view's chain
    ((view node, output index) pairs)."""
    chains: dict[int, list] = {id(param): []}  # id(view tensor) -> view nodes from it back to param
    uses = []
    for node in topological_order(list(losses)):  # a view is recorded before the nodes that read it
        hits = [(k, t) for k, (t, needed) in enumerate(zip(node.inputs, node.needs)) if needed and id(t) in chains]
        if not hits:
            continue
        if node.name in VIEW_OPS and len(node.inputs) == 1:
            for index, ref in enumerate(node.outputs):
                out = ref()
                if out is not None:
                    chains[id(out)] = [(node, index), *chains[id(node.inputs[0])]]
            continue
        uses.extend((node, k, chains[id(t)]) for k, t in hits)
    return uses, chains


def _checked_losses(losses: Any, who: str) -> list[Tensor]:
    if isinstance(losses, Tensor):
        raise TypeError(f"{who}: losses must be a sequence of one-element loss terms L_1..L_T~, got one Tensor; "
                        "pass [loss_1, loss_2, ...] (one per output step)")
    losses = list(losses)
    if not losses:
        raise ValueError(f"{who}: no loss terms given")
    for k, loss in enumerate(losses):
        if not isinstance(loss, Tensor) or loss.size != 1:
            shape = getattr(loss, "shape", type(loss).__name__)
            raise ValueError(f"{who}: losses[{k}] must be a one-element Tensor (one loss term), got {shape}")
    return losses


def time_steps(losses: Sequence[Tensor], param: Tensor) -> list[int]:
    """The time steps (from the scopes ``t1``, ``t2``, ...) at which ``param`` is used, in order:
    the columns of ``contributions``."""
    uses, _ = _uses(_checked_losses(losses, "time_steps"), param)
    return sorted({time_step(node.scope) for node, _, _ in uses if time_step(node.scope) is not None})


def _through_views(g: np.ndarray, chain: list) -> np.ndarray:
    """A gradient with respect to a view (W_hh^T, or a piece of a split) carried back to the parameter."""
    for view, index in chain:
        pieces = len(view.outputs)
        (g,) = view.backward(g if pieces == 1 else tuple(g if k == index else None for k in range(pieces)))
    return g


def contributions(losses: Sequence[Tensor], param: Tensor, norm: bool = False) -> np.ndarray:
    """C[t~, t]: the part of dL_t~/d``param`` that flows through the parameter's use at step t.

    ``losses``: the loss terms L_1..L_T~ (one-element tensors, e.g. the
    cross-entropy of each step's prediction). ``param``: a tensor the model
    uses at T time steps (its uses are the ops that read it, or a view of it
    like W_hh^T, inside a ``t<k>`` scope, which every recurrent layer opens).
    Returns an array of shape (T~, T, *param.shape); column k is the k-th time
    step of ``time_steps(losses, param)``. Two facts to check it by:

    - ``C.sum(axis=(0, 1))`` is the gradient of L_1 + ... + L_T~ (BPTT's sum);
    - C[t~, t] = 0 whenever step t comes after loss t~'s step (causality).

    ``norm=True`` returns only each entry's size ||C[t~, t]|| (Frobenius), shape
    (T~, T): the heatmap's numbers, without T~ T copies of a large weight.
    Cost: T~ backward passes, one per loss term; ``.grad`` is not touched.
    """
    losses = _checked_losses(losses, "contributions")
    if not isinstance(param, Tensor) or not param.requires_grad or param._node is not None:
        what = type(param).__name__ if not isinstance(param, Tensor) else (
            "a tensor an op computed" if param._node is not None else "a tensor that does not require grad")
        raise TypeError(f"contributions: param must be a parameter (a leaf tensor that requires grad, such as "
                        f"rnn.weight_hh_l0), got {what}")
    uses, _ = _uses(losses, param)
    label = repr(param.name) if param.name else f"the parameter of shape {param.shape}"
    if not uses:
        raise ValueError(f"contributions: no loss term depends on {label}")
    untimed = [node for node, _, _ in uses if time_step(node.scope) is None]
    if untimed:
        node = untimed[0]
        raise ValueError(
            f"contributions: {label} is used by {node.name} at scope {node.scope!r}, outside any time step: "
            f"its gradient cannot be split by step. Use a parameter read once per step (W_hh), or record the "
            f"model with one tr.scope('t<k>') per step"
        )
    steps = sorted({time_step(node.scope) for node, _, _ in uses})
    column = {t: k for k, t in enumerate(steps)}
    outputs: list[Tensor] = []
    for node, _, _ in uses:
        outputs.extend(ref() for ref in node.outputs)
    result = np.zeros((1 if norm else len(losses), len(steps), *param.shape), dtype=param.dtype)
    sizes = np.zeros((len(losses), len(steps)))
    for row, loss in enumerate(losses):
        if norm:
            result[0] = 0.0  # one row of pieces at a time
        deltas = dict(zip(map(id, outputs), grad(loss, outputs, allow_unused=True)))
        for node, k, chain in uses:
            upstream = [deltas.get(id(ref())) for ref in node.outputs]
            if all(d is None for d in upstream):
                continue  # this use comes after loss row's step: nothing flows through it
            upstream = [None if d is None else d.data for d in upstream]
            piece = node.backward(upstream[0] if len(upstream) == 1 else tuple(upstream))[k]
            if piece is not None:
                result[0 if norm else row, column[time_step(node.scope)]] += _through_views(piece, chain)
        if norm:
            sizes[row] = np.sqrt((result[0].reshape(len(steps), -1) ** 2).sum(axis=1))
    return sizes if norm else result


def hidden_states(output: Tensor) -> list[Tensor]:
    """The hidden states h_1..h_T inside the ``output`` of a one-layer, one-direction ``nn.RNN``,
    ``nn.LSTM`` or ``nn.GRU`` (the tensors it stacked), so a hook can be put on one of them:
    ``hidden_states(output)[5].register_hook(lambda g: 0 * g)`` cuts every gradient through h_6.
    (An LSTM's cell state c_t is not among them: its gradient still flows past a cut h_t.)"""
    node = getattr(output, "_node", None)
    if node is None or node.name != "stack" or getattr(node, "axis", 0) != 0:
        raise ValueError(
            "hidden_states: expected the output of a one-layer, one-direction nn.RNN/LSTM/GRU (the stack of h_1..h_T, "
            f"recorded with gradients); got {'a leaf' if node is None else 'the result of ' + node.name}"
        )
    return list(node.inputs)


def connectivity(
    outputs: Tensor,
    inputs: Tensor,
    targets: Any = None,
    unit: int | None = None,
    row: int = 0,
) -> np.ndarray:
    """||d y_t~ / d x_t|| for every output step t~ and input step t: shape (T~, T).

    ``outputs``: the model's outputs, time first, (T~, N, V) (e.g. logits);
    ``inputs``: the tensor the model read, (T, N, D), which must require grad
    (make it a leaf with requires_grad=True, or pass the embedding's output).
    ``y_t~`` is one number of ``outputs[t~, row]``: the logit of ``targets[t~]``
    (the character that really comes next: distill's choice, the default), or
    unit ``unit`` at every step when you ask for one. The norm is over x_t's D
    features. Rows of a batch do not mix in a recurrent net, so ``row`` picks
    one sequence. Cost: one backward pass per output step.
    """
    if not isinstance(outputs, Tensor) or outputs.ndim != 3:
        shape = getattr(outputs, "shape", None)
        raise ValueError(f"connectivity: outputs must be a (T~, N, V) Tensor, got shape {shape}")
    if not isinstance(inputs, Tensor) or inputs.ndim != 3 or not inputs.requires_grad:
        raise ValueError("connectivity: inputs must be a (T, N, D) Tensor that requires grad "
                         f"(got shape {getattr(inputs, 'shape', None)}, "
                         f"requires_grad {getattr(inputs, 'requires_grad', None)})")
    steps, batch, width = outputs.shape
    if not 0 <= row < batch:
        raise ValueError(f"connectivity: row {row} is outside the batch of {batch}")
    if (targets is None) == (unit is None):
        raise ValueError("connectivity: give targets= (the logit of the true next character at each step) "
                         "or unit= (one output unit at every step), not both or neither")
    if unit is not None:
        picks = np.full(steps, unit)
    else:
        targets = np.asarray(targets)
        picks = targets[:, row] if targets.ndim == 2 else targets
        if picks.shape != (steps,):
            raise ValueError(f"connectivity: targets must have shape ({steps},) or ({steps}, {batch}), "
                             f"got {targets.shape}")
    if picks.min() < 0 or picks.max() >= width:
        raise ValueError(f"connectivity: unit/targets must lie in 0..{width - 1}")
    result = np.zeros((steps, inputs.shape[0]))
    for t in range(steps):
        seed = np.zeros(outputs.shape, dtype=outputs.dtype)
        seed[t, row, picks[t]] = 1.0
        (g,) = grad(outputs, inputs, grad_outputs=seed, allow_unused=True)
        if g is not None:
            result[t] = np.linalg.norm(g.data[:, row], axis=-1)
    return result
