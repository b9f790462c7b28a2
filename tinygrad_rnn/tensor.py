"""Tensor: a NumPy array, its gradient, and the node (op call) that produced it."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import autograd

_DTYPES = {"float64": np.float64, "float32": np.float32, "float16": np.float16}
_default_dtype: type = np.float64


def set_default_dtype(dtype: Any) -> None:
    """Set the dtype that Python numbers and lists become (float64 unless changed)."""
    global _default_dtype
    _default_dtype = _float_dtype(dtype)


def get_default_dtype() -> type:
    return _default_dtype


def _float_dtype(dtype: Any) -> type:
    try:
        resolved = np.dtype(dtype).type
    except TypeError:
        resolved = None
    if resolved not in _DTYPES.values():
        raise TypeError(f"unknown dtype {dtype!r}: use one of {', '.join(_DTYPES)}")
    return resolved


def _to_array(data: Any, dtype: Any) -> np.ndarray:
    """Arrays keep their dtype; Python numbers and lists of floats get the default dtype."""
    if isinstance(data, Tensor):
        data = data.data
    if dtype is not None:
        try:
            resolved = np.dtype(dtype)
        except TypeError:
            raise TypeError(f"unknown dtype {dtype!r}: use one of {', '.join(_DTYPES)}") from None
        return np.asarray(data, dtype=resolved)
    if isinstance(data, np.ndarray):
        return data
    array = np.asarray(data)
    return array.astype(_default_dtype) if array.dtype.kind == "f" else array


class Tensor:
    """An n-dimensional array that remembers how it was computed.

    ``data`` is the NumPy array; ``grad`` is dLoss/dThis after ``backward()``
    (a NumPy array of the same shape, or None). Tensors made by ops point to
    the node that made them, which points to its inputs: that chain is the
    computation graph.
    """

    __slots__ = ("data", "grad", "requires_grad", "name", "_node", "_index", "__weakref__")
    __array_ufunc__ = None  # make `ndarray + Tensor` call Tensor.__radd__
    is_parameter = False

    def __init__(self, data: Any, requires_grad: bool = False, name: str | None = None, dtype: Any = None):
        array = _to_array(data, dtype)
        if array.dtype.kind not in "fbiu":
            raise TypeError(f"Tensor data must be numeric, got dtype {array.dtype}")
        if requires_grad and array.dtype.kind != "f":
            raise TypeError(
                f"only floating-point tensors can require gradients (got {array.dtype}); "
                f"pass dtype='float64' or convert the data with .astype(float)"
            )
        self.data = array
        self.grad: np.ndarray | None = None
        self.requires_grad = bool(requires_grad)
        self.name = name
        self._node = None
        self._index = 0

    @classmethod
    def _wrap(cls, data: np.ndarray, node: Any, index: int) -> Tensor:
        """Fast constructor used by ops: no checks, no copies."""
        t = object.__new__(cls)
        t.data, t.grad, t.name, t._node, t._index = data, None, None, node, index
        t.requires_grad = node is not None
        return t

    # --- inspection -------------------------------------------------------
    @property
    def shape(self) -> tuple:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def size(self) -> int:
        return self.data.size

    @property
    def op(self) -> str | None:
        """Name of the op that produced this tensor (None for leaves)."""
        return self._node.name if self._node is not None else None

    @property
    def is_leaf(self) -> bool:
        return self._node is None

    def __len__(self) -> int:
        return len(self.data)

    def numpy(self) -> np.ndarray:
        return self.data

    def item(self) -> float:
        if self.data.size != 1:
            raise ValueError(f"item() needs a tensor with one element, this one has shape {self.shape}")
        return self.data.item()

    def tolist(self) -> Any:
        return self.data.tolist()

    def detach(self) -> Tensor:
        """The same numbers, cut off from the graph (truncated BPTT: h = h.detach())."""
        return Tensor(self.data, name=self.name)

    def astype(self, dtype: Any) -> Tensor:
        """A copy in another float dtype, cut off from the graph."""
        return Tensor(self.data, dtype=_float_dtype(dtype), requires_grad=self.requires_grad, name=self.name)

    def requires_grad_(self, flag: bool = True) -> Tensor:
        if flag and self.data.dtype.kind != "f":
            raise TypeError(f"only floating-point tensors can require gradients (got {self.data.dtype})")
        self.requires_grad = flag
        return self

    def __repr__(self) -> str:
        extra = ""
        if self._node is not None:
            extra += f", op={self._node.name!r}"
            if self._node.scope:
                extra += f", scope={self._node.scope!r}"
        elif self.requires_grad:
            extra += ", requires_grad=True"
        if self.name:
            extra += f", name={self.name!r}"
        body = np.array2string(self.data, precision=4, separator=", ", threshold=20, prefix="Tensor(")
        return f"Tensor({body}{extra})"

    def _repr_html_(self) -> str:
        """Jupyter: value and gradient, and a drawing of the graph that made this tensor."""
        from viz.notebook import tensor_html

        return tensor_html(self)

    def __bool__(self) -> bool:
        if self.data.size != 1:
            raise ValueError("the truth value of a tensor with several elements is ambiguous")
        return bool(self.data)

    # --- autograd ---------------------------------------------------------
    def backward(self, grad: Any = None, retain_grads: bool = True, step: bool = False) -> Any:
        """Compute d(self)/d(every tensor it depends on) into their ``.grad``.

        ``grad`` is the upstream gradient, required when self is not a scalar.
        Leaf gradients (parameters) *accumulate* across calls, as in PyTorch:
        zero them between steps. ``retain_grads=False`` skips keeping ``.grad``
        on intermediate tensors (saves memory in long training runs).
        ``step=True`` computes nothing yet and returns a ``BackwardStepper``
        that walks the same pass one node at a time.
        """
        if step:
            from .stepper import BackwardStepper

            return BackwardStepper(self, grad, retain_grads)
        autograd.backward(self, grad, retain_grads)
        return None

    # --- arithmetic -------------------------------------------------------
    def __add__(self, other: Any) -> Tensor:
        return ops.Add.apply(self, other)

    def __radd__(self, other: Any) -> Tensor:
        return ops.Add.apply(other, self)

    def __sub__(self, other: Any) -> Tensor:
        return ops.Sub.apply(self, other)

    def __rsub__(self, other: Any) -> Tensor:
        return ops.Sub.apply(other, self)

    def __mul__(self, other: Any) -> Tensor:
        return ops.Mul.apply(self, other)

    def __rmul__(self, other: Any) -> Tensor:
        return ops.Mul.apply(other, self)

    def __truediv__(self, other: Any) -> Tensor:
        return ops.Div.apply(self, other)

    def __rtruediv__(self, other: Any) -> Tensor:
        return ops.Div.apply(other, self)

    def __neg__(self) -> Tensor:
        return ops.Neg.apply(self)

    def __pow__(self, exponent: Any) -> Tensor:
        if isinstance(exponent, Tensor) or np.ndim(exponent) != 0:
            raise TypeError("pow: the exponent must be a Python number (x ** 2), not a tensor or array")
        return ops.Pow.apply(self, exponent=exponent)

    def __matmul__(self, other: Any) -> Tensor:
        return ops.matmul(self, other)

    def __rmatmul__(self, other: Any) -> Tensor:
        return ops.matmul(Tensor(other, dtype=self.dtype), self)

    def __getitem__(self, index: Any) -> Tensor:
        if isinstance(index, Tensor):
            index = index.data
        elif isinstance(index, tuple):
            index = tuple(i.data if isinstance(i, Tensor) else i for i in index)
        elif isinstance(index, list):
            index = np.asarray(index)
        return ops.GetItem.apply(self, index=index)

    # --- functions (names as in PyTorch) -----------------------------------
    def tanh(self) -> Tensor:
        return ops.Tanh.apply(self)

    def sigmoid(self) -> Tensor:
        return ops.Sigmoid.apply(self)

    def relu(self) -> Tensor:
        return ops.ReLU.apply(self)

    def exp(self) -> Tensor:
        return ops.Exp.apply(self)

    def log(self) -> Tensor:
        return ops.Log.apply(self)

    def sum(self, axis: Any = None, keepdims: bool = False, dim: Any = None, keepdim: bool = False) -> Tensor:
        return ops.Sum.apply(self, axis=ops._axis(axis, dim), keepdims=keepdims or keepdim)

    def mean(self, axis: Any = None, keepdims: bool = False, dim: Any = None, keepdim: bool = False) -> Tensor:
        return ops.Mean.apply(self, axis=ops._axis(axis, dim), keepdims=keepdims or keepdim)

    def max(self, axis: Any = None, keepdims: bool = False, dim: Any = None, keepdim: bool = False) -> Tensor:
        return ops.Max.apply(self, axis=ops._axis(axis, dim), keepdims=keepdims or keepdim)

    def reshape(self, *shape: Any) -> Tensor:
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return ops.Reshape.apply(self, shape=shape)

    view = reshape

    def transpose(self, *axes: Any) -> Tensor:
        """``x.transpose()`` reverses the axes; ``x.transpose(0, 1)`` swaps two axes
        (PyTorch); ``x.transpose((2, 0, 1))`` applies a full permutation (NumPy)."""
        if not axes:
            return self.T
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            return self.permute(*axes[0])
        if len(axes) != 2:
            raise ValueError("transpose: give two axes to swap, or one tuple with a permutation")
        perm = list(range(self.ndim))
        try:
            a, b = perm[axes[0]], perm[axes[1]]
        except IndexError:
            raise ValueError(f"transpose: axes {axes} out of range for a {self.ndim}-D tensor") from None
        perm[a], perm[b] = b, a
        return ops.Transpose.apply(self, axes=tuple(perm))

    def permute(self, *axes: Any) -> Tensor:
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        if sorted(ax % max(self.ndim, 1) for ax in axes) != list(range(self.ndim)):
            raise ValueError(f"permute: {axes} is not a permutation of a {self.ndim}-D tensor's axes")
        return ops.Transpose.apply(self, axes=tuple(ax % self.ndim for ax in axes))

    @property
    def T(self) -> Tensor:
        return ops.Transpose.apply(self, axes=tuple(reversed(range(self.ndim))))

    def split(self, split_size_or_sections: Any, axis: Any = None, dim: Any = None) -> list[Tensor]:
        return ops.split(self, split_size_or_sections, axis=axis, dim=dim)

    def chunk(self, chunks: int, axis: Any = None, dim: Any = None) -> list[Tensor]:
        return ops.chunk(self, chunks, axis=axis, dim=dim)


class Parameter(Tensor):
    """A tensor a model learns: requires grad, and drawn as a parameter in graphs."""

    __slots__ = ()
    is_parameter = True

    def __init__(self, data: Any, name: str | None = None, dtype: Any = None):
        super().__init__(data, requires_grad=True, name=name, dtype=dtype)


from . import ops  # noqa: E402  (ops needs Tensor defined first)
