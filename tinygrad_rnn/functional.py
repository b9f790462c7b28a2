"""Composites built only from primitive ops, so their gradients come for free.

Nothing here has a backward of its own: autograd differentiates the
primitives each function is made of (and the recorded graph shows them).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import ops
from .graph import scope
from .tensor import Tensor


def softmax(x: Tensor, axis: int = -1, dim: int | None = None) -> Tensor:
    """softmax(x)_i = exp(x_i - m) / sum_j exp(x_j - m), with m = max(x) for stability.

    Subtracting m changes nothing mathematically (it cancels), so m is taken as
    a constant: no gradient flows through it.
    """
    axis = axis if dim is None else dim
    x = x if isinstance(x, Tensor) else Tensor(x)
    with scope("softmax"):
        shifted = x - Tensor(x.data.max(axis=axis, keepdims=True))
        e = shifted.exp()
        return e / e.sum(axis=axis, keepdims=True)


def log_softmax(x: Tensor, axis: int = -1, dim: int | None = None) -> Tensor:
    """log softmax(x)_i = (x_i - m) - log sum_j exp(x_j - m): never overflows."""
    axis = axis if dim is None else dim
    x = x if isinstance(x, Tensor) else Tensor(x)
    with scope("log_softmax"):
        shifted = x - Tensor(x.data.max(axis=axis, keepdims=True))
        return shifted - shifted.exp().sum(axis=axis, keepdims=True).log()


def cross_entropy(
    logits: Tensor, targets: Any, ignore_index: int = -100, reduction: str = "mean"
) -> Tensor:
    """Negative log-likelihood of integer ``targets`` under softmax(``logits``).

    logits: (N, C) or (C,); targets: (N,) or a scalar, class indices.
    Targets equal to ``ignore_index`` (padding) contribute nothing and are not
    counted in the mean. reduction: "mean" (PyTorch's default), "sum" or "none".
    """
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"cross_entropy: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    targets = np.asarray(getattr(targets, "data", targets))
    if logits.ndim == 1:
        logits, targets = logits.reshape(1, -1), targets.reshape(1)
    if logits.ndim != 2 or targets.shape != logits.shape[:1]:
        raise ops.ShapeError(
            f"cross_entropy: expected logits (N, C) and targets (N,), got {logits.shape} and {targets.shape}"
        )
    keep = _check_targets("cross_entropy", targets, logits.shape[1], ignore_index)
    with scope("cross_entropy"):
        logp = log_softmax(logits, axis=1)
        picked = logp[np.arange(len(targets)), np.where(keep, targets, 0)]
        nll = -picked * keep.astype(logits.dtype)
        if reduction == "none":
            return nll
        if reduction == "sum":
            return nll.sum()
        count = int(keep.sum())
        if count:
            return nll.sum() / count
        return nll.sum() * 0.0 + np.nan  # all ignored: the loss is NaN and its gradient 0, as PyTorch


def _check_targets(where: str, targets: np.ndarray, n_classes: int, ignore_index: int) -> np.ndarray:
    """Class indices must be integers in [0, C), or ``ignore_index``; returns the keep mask."""
    if not np.issubdtype(targets.dtype, np.integer):
        raise TypeError(f"{where}: targets must be integer class indices, got dtype {targets.dtype}")
    keep = targets != ignore_index
    bad = targets[keep & ((targets < 0) | (targets >= n_classes))]
    if bad.size:
        raise IndexError(
            f"{where}: target {bad[0]} is out of range for {n_classes} classes (targets must be in "
            f"[0, {n_classes}), or ignore_index={ignore_index} for positions to skip)"
        )
    return keep


def nll_loss(log_probs: Tensor, targets: Any, ignore_index: int = -100) -> Tensor:
    """Mean of -log_probs[n, targets[n]] (log_probs already normalised)."""
    targets = np.asarray(getattr(targets, "data", targets))
    if log_probs.ndim != 2 or targets.shape != log_probs.shape[:1]:
        raise ops.ShapeError(
            f"nll_loss: expected log_probs (N, C) and targets (N,), got {log_probs.shape} and {targets.shape}"
        )
    keep = _check_targets("nll_loss", targets, log_probs.shape[1], ignore_index)
    picked = log_probs[np.arange(len(targets)), np.where(keep, targets, 0)]
    return -(picked * keep.astype(log_probs.dtype)).sum() / max(int(keep.sum()), 1)


def mse_loss(input: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """Mean (or sum) of squared differences."""
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"mse_loss: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    target_shape = np.shape(getattr(target, "data", target))
    if tuple(target_shape) != input.shape:
        raise ops.ShapeError(f"mse_loss: input shape {input.shape} != target shape {tuple(target_shape)}")
    diff = input - target
    squared = diff * diff
    if reduction == "none":
        return squared
    return squared.sum() if reduction == "sum" else squared.mean()


def dropout(
    x: Tensor, p: float = 0.5, training: bool = True, rng: np.random.Generator | int | None = None
) -> Tensor:
    """Zero each element with probability p and scale survivors by 1/(1-p) (inverted dropout).

    ``rng`` is a NumPy Generator or a seed, for reproducible masks.
    """
    if not 0 <= p <= 1:
        raise ValueError(f"dropout probability must be in [0, 1], got {p}")
    if not training or p == 0:
        return x
    if p == 1:
        return x * np.zeros((), dtype=x.dtype)
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    mask = (gen.random(x.shape) >= p).astype(x.dtype) / (1 - p)
    return x * mask


def one_hot(ids: Any, num_classes: int, dtype: Any = None) -> Tensor:
    """A constant tensor with a 1 at each id: shape ids.shape + (num_classes,)."""
    ids = np.asarray(getattr(ids, "data", ids))
    if ids.dtype.kind not in "iu":
        raise TypeError(f"one_hot: ids must be integers (class numbers), got dtype {ids.dtype}; use ids.astype(int)")
    if ids.size and (ids.min() < 0 or ids.max() >= num_classes):
        raise IndexError(f"one_hot: ids must be in [0, {num_classes}), got min {ids.min()}, max {ids.max()}")
    eye = np.eye(num_classes, dtype=dtype or Tensor(0.0).dtype)
    return Tensor(eye[ids])
