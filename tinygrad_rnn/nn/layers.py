"""The non-recurrent layers a sequence model needs around its RNN: Linear, Embedding, Dropout."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import functional as F
from ..graph import scope
from ..ops import ShapeError, embedding
from ..tensor import Parameter, Tensor, get_default_dtype
from .module import Module, check_size, generator, resolve_rng, uniform


class Linear(Module):
    """y = x W^T + b, with W of shape (out_features, in_features) as in ``torch.nn.Linear``.

    Init: W and b from U(-1/sqrt(in_features), 1/sqrt(in_features)), the bound
    PyTorch's default init gives. Input of any shape (..., in_features).
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, rng: Any = None):
        super().__init__()
        self.in_features = check_size("Linear", "in_features", in_features)
        self.out_features = check_size("Linear", "out_features", out_features)
        rng = resolve_rng(rng)
        bound = 1.0 / np.sqrt(in_features)
        self.weight = uniform(rng, bound, (out_features, in_features))
        self.bias = uniform(rng, bound, (out_features,)) if bias else None

    def forward(self, input: Any) -> Tensor:
        x = input if isinstance(input, Tensor) else Tensor(input)
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            raise ShapeError(
                f"Linear: expected input with last dimension in_features={self.in_features}, "
                f"got shape {x.shape}"
            )
        with scope("linear"):
            flat = x.reshape(-1, self.in_features) if x.ndim > 2 else x
            y = flat @ self.weight.T
            if self.bias is not None:
                y = y + self.bias
            return y.reshape(x.shape[:-1] + (self.out_features,)) if x.ndim > 2 else y

    def extra_repr(self) -> str:
        bias = self.bias is not None
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={bias}"


class Embedding(Module):
    """A lookup table: token id k -> row k of ``weight`` (num_embeddings, embedding_dim).

    Init N(0, 1) as in PyTorch. The gradient of a row is the sum of the
    gradients of every position that looked it up (scatter-add).
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, rng: Any = None):
        super().__init__()
        self.num_embeddings = check_size("Embedding", "num_embeddings", num_embeddings)
        self.embedding_dim = check_size("Embedding", "embedding_dim", embedding_dim)
        data = generator(resolve_rng(rng)).standard_normal((num_embeddings, embedding_dim))
        self.weight = Parameter(data.astype(get_default_dtype()))

    def forward(self, ids: Any) -> Tensor:
        with scope("embedding"):
            return embedding(self.weight, ids)

    def extra_repr(self) -> str:
        return f"{self.num_embeddings}, {self.embedding_dim}"


class Dropout(Module):
    """During training, zero each element with probability p and scale the rest by 1/(1-p).

    The expected value is unchanged, so evaluation (``eval()``) simply passes
    the input through. ``rng`` (seed or Generator) makes the masks repeatable.
    """

    def __init__(self, p: float = 0.5, rng: Any = None):
        super().__init__()
        if not 0 <= p <= 1:
            raise ValueError(f"Dropout: p must be a probability in [0, 1], got {p}")
        self.p = float(p)
        self._rng = resolve_rng(rng)

    def forward(self, input: Tensor) -> Tensor:
        if not self.training or self.p == 0:
            return input
        with scope("dropout"):
            return F.dropout(input, self.p, training=True, rng=generator(self._rng))

    def extra_repr(self) -> str:
        return f"p={self.p}"
