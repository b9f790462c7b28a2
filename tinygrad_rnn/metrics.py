"""Perplexity: how a language model's loss reads as "choosing among k tokens"."""

from __future__ import annotations

import math

import numpy as np

from .tensor import Tensor

__all__ = ["perplexity"]


def perplexity(mean_nll: float | Tensor) -> float:
    """exp(mean negative log-likelihood per token), natural log.

    If a model assigns probability p_t to each true next token x_t of a text,
    its mean NLL is -(1/T) sum_t log p_t (what ``F.cross_entropy`` returns
    with the default ``reduction="mean"``), and the perplexity is

        PPL = exp(-(1/T) sum_t log p_t) = (prod_t p_t)^(-1/T),

    the inverse geometric mean of the probabilities. A model that guesses
    uniformly among V tokens has p_t = 1/V and PPL = V, so perplexity reads as
    "as unsure as a fair choice among PPL tokens": 1 is perfect, the
    vocabulary size is chance. Average the NLL over *tokens* (not over
    batches of unequal size) before exponentiating.

    ``mean_nll``: a Python/NumPy number or a one-element Tensor (e.g. the
    loss itself). Returns a float (``inf`` when exp overflows).
    """
    if isinstance(mean_nll, Tensor):
        if mean_nll.size != 1:
            raise ValueError(
                f"perplexity: expected the mean NLL as one number, got a tensor of shape {mean_nll.shape}; "
                f"average it first (cross_entropy's default reduction='mean')"
            )
        value = mean_nll.item()
    else:
        array = np.asarray(mean_nll)
        if array.size != 1 or array.dtype.kind not in "fiu":
            raise ValueError(f"perplexity: expected the mean NLL as one number, got {mean_nll!r}")
        value = array.item()
    if math.isnan(value):
        raise ValueError("perplexity: the mean NLL is NaN (did training diverge?)")
    if value < 0:
        raise ValueError(
            f"perplexity: a negative log-likelihood of discrete tokens is impossible (got {value}); "
            f"pass the mean of -log p, not of log p"
        )
    try:
        return math.exp(value)
    except OverflowError:
        return math.inf
