"""Tensor: a NumPy array, its gradient, and the node (op call) that produced it.

Its arithmetic (``x + y``, ``W @ h``, ``h.tanh()``, ...) is bound onto the class
at the end of ``ops.py``, next to the ops it calls, so this module imports no op.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import backward as _backward

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

    def __bool__(self) -> bool:
        if self.data.size != 1:
            raise ValueError("the truth value of a tensor with several elements is ambiguous")
        return bool(self.data)

    # --- autograd ---------------------------------------------------------
    def backward(
        self, grad: Any = None, retain_grads: bool | None = None, step: bool = False, retain_graph: bool | None = None
    ) -> Any:
        """Compute d(self)/d(every tensor it depends on) into their ``.grad``.

        ``grad`` is the upstream gradient, required when self is not a scalar.
        Leaf gradients (parameters) *accumulate* across calls, as in PyTorch:
        zero them between steps. ``retain_grads`` (keep ``.grad`` on every
        intermediate tensor) and ``retain_graph`` (keep the graph: a second
        backward, a drawing) follow ``tr.teaching_mode``, on by default; with
        both False, as a training loop wants, only leaves and ``retain_grad()``
        tensors get ``.grad``, the graph is freed as it is walked, and a second
        backward through it raises. ``step=True`` computes nothing yet and
        returns a ``BackwardStepper`` that walks the same pass one node at a time.
        """
        if step:
            from .stepper import BackwardStepper

            return BackwardStepper(self, grad, True if retain_grads is None else retain_grads)
        _backward.backward(self, grad, retain_grads, retain_graph)
        return None

    def retain_grad(self) -> None:
        """Keep this tensor's ``.grad`` after ``backward()`` even though it is not a leaf (as PyTorch)."""
        if self._node is not None:
            _backward.retain(self)

    @property
    def retains_grad(self) -> bool:
        """True for a non-leaf tensor that ``retain_grad()`` was called on."""
        ref = _backward.RETAINED.get(id(self))
        return ref is not None and ref() is self


class Parameter(Tensor):
    """A tensor a model learns: requires grad, and drawn as a parameter in graphs."""

    __slots__ = ()
    is_parameter = True

    def __init__(self, data: Any, name: str | None = None, dtype: Any = None):
        super().__init__(data, requires_grad=True, name=name, dtype=dtype)

