"""Tensor: a NumPy array, its gradient, and the node (op call) that produced it.

Its arithmetic (``x + y``, ``W @ h``, ``h.tanh()``, ...) is bound onto the class
at the end of ``ops.py``, next to the ops it calls, so this module imports no op.
Comparisons (``x > 0``, ``x == y``) are not ops: they give boolean tensors
that carry no gradient, as in PyTorch.

Versions. A gradient is computed from the numbers the forward pass saw, so
changing a saved tensor in place between forward and backward would silently
give the gradient of a different function. Every in-place write through
``.data`` (``W.data -= lr * g``, which is what the optimizers do, or
``W.data = array``) and every ``load_state_dict`` is counted (``graph.WRITES``);
each recorded node keeps the count it was recorded at, and backward raises a
RuntimeError naming the tensor when numbers a node saved were written later,
directly or through a view (``W.T``). ``t._version`` is the number of the
latest write into t's numbers (0: never written). Writing into the array
itself, ``W.data[0] = 1``, goes around this: NumPy tells no one.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from . import backward as _backward
from .graph import note_write, written_since

_DTYPES = {"float64": np.float64, "float32": np.float32, "float16": np.float16}


class _Defaults(threading.local):
    """The default dtype is per thread, like the switches in graph.py; new threads get float64."""

    dtype: type = np.float64
    in_list: bool = False  # a list (or tuple) is being turned into one array (Tensor.__array__ refuses grads)


_DEFAULTS = _Defaults()


def set_default_dtype(dtype: Any) -> None:
    """Set the dtype that Python numbers and lists become, in this thread (float64 unless changed).

    Layers built afterwards in this thread get parameters of that dtype too.
    Other threads keep their own default (a new thread starts with float64).
    """
    _DEFAULTS.dtype = _float_dtype(dtype)


def get_default_dtype() -> type:
    """The dtype that Python floats become in this thread (see ``set_default_dtype``)."""
    return _DEFAULTS.dtype


def _float_dtype(dtype: Any) -> type:
    try:
        resolved = np.dtype(dtype).type
    except TypeError:
        resolved = None
    if resolved not in _DTYPES.values():
        raise TypeError(f"unknown dtype {dtype!r}: use one of {', '.join(_DTYPES)}")
    return resolved


def _to_array(data: Any, dtype: Any) -> np.ndarray:
    """A new array of ``data``'s numbers: the tensor owns it (as ``torch.tensor`` copies).

    Arrays and NumPy scalars keep their dtype; Python floats and lists of them get the
    default dtype. The copy is the point: the caller's array may be refilled (a loader's
    buffer), written by an optimizer step, or read-only, and none of that may reach the
    numbers a recorded graph saved.
    """
    if isinstance(data, Tensor):
        data = data._data
    elif isinstance(data, (list, tuple)):  # NumPy asks each tensor inside for its array: see __array__
        _DEFAULTS.in_list = True
        try:
            return _to_array_of(data, dtype)
        finally:
            _DEFAULTS.in_list = False
    return _to_array_of(data, dtype)


def _to_array_of(data: Any, dtype: Any) -> np.ndarray:
    """``data`` as a new array: of ``dtype`` if given, else by the default-dtype rule above."""
    if dtype is not None:
        try:
            resolved = np.dtype(dtype)
        except TypeError:
            raise TypeError(f"unknown dtype {dtype!r}: use one of {', '.join(_DTYPES)}") from None
        return np.array(data, dtype=resolved)
    if isinstance(data, np.ndarray):
        return data.copy()
    try:
        array = np.array(data)
    except ValueError as error:  # ragged nested lists
        raise ValueError(f"Tensor: the data is not a regular array (rows of different lengths?): {error}") from None
    if isinstance(data, np.generic):  # np.float32(1.5) stays float32
        return array
    return array.astype(_DEFAULTS.dtype) if array.dtype.kind == "f" else array


class Tensor:
    """An n-dimensional array that remembers how it was computed.

    ``data`` is the NumPy array; ``grad`` is dLoss/dThis after ``backward()``
    (a NumPy array of the same shape, or None). Tensors made by ops point to
    the node that made them, which points to its inputs: that chain is the
    computation graph.
    """

    __slots__ = ("_data", "grad", "requires_grad", "name", "_node", "_index", "__weakref__")
    __array_ufunc__ = None  # make `ndarray + Tensor` call Tensor.__radd__
    __hash__ = object.__hash__  # by identity, so tensors still work in sets and as dict keys
    is_parameter = False

    def __init__(self, data: Any, requires_grad: bool = False, name: str | None = None, dtype: Any = None):
        if not isinstance(requires_grad, (bool, np.bool_)):  # 'no' would be truthy: True
            raise TypeError(f"requires_grad must be True or False, got {type(requires_grad).__name__} "
                            f"{requires_grad!r}")
        array = _to_array(data, dtype)
        if array.dtype.kind not in "fbiu":
            raise TypeError(f"Tensor data must be real numbers or booleans, got dtype {array.dtype}")
        if requires_grad and array.dtype.kind != "f":
            raise TypeError(
                f"only floating-point tensors can require gradients (got {array.dtype}); "
                f"pass dtype='float64' or convert the data with .astype(float)"
            )
        self._data = array
        self.grad: Any = None  # a NumPy array; a Tensor after backward(create_graph=True)
        self.requires_grad = bool(requires_grad)
        self.name = name
        self._node = None
        self._index = 0

    @classmethod
    def _wrap(cls, data: np.ndarray, node: Any, index: int) -> Tensor:
        """Fast constructor used by ops: no checks, no copies."""
        t = object.__new__(cls)
        t._data, t.grad, t.name, t._node, t._index = data, None, None, node, index
        t.requires_grad = node is not None
        return t

    # --- the numbers, and writing them in place ----------------------------
    @property
    def data(self) -> np.ndarray:
        """The NumPy array. Assigning to it, ``W.data = a`` or ``W.data -= lr * g``, counts as an
        in-place write: backward refuses to use a node that saved the old numbers."""
        return self._data

    @data.setter
    def data(self, array: Any) -> None:
        if not isinstance(array, np.ndarray):
            raise TypeError(
                f"Tensor.data must be a NumPy array, got {type(array).__name__}; "
                f"wrap it with np.asarray(...)"
            )
        self._data = array
        self._bump_version()

    def _bump_version(self) -> None:
        """Record an in-place write into this tensor's numbers (see the module docstring)."""
        label = repr(self.name) if self.name else "a tensor"
        note_write(self._data, f"{label} of shape {self.shape}")

    @property
    def _version(self) -> int:
        """The number of the latest in-place write into these numbers (0: never written)."""
        write = written_since(self._data, 0)
        return write[0] if write is not None else 0

    # --- inspection -------------------------------------------------------
    @property
    def shape(self) -> tuple:
        return self._data.shape

    @property
    def ndim(self) -> int:
        return self._data.ndim

    @property
    def dtype(self) -> np.dtype:
        return self._data.dtype

    @property
    def size(self) -> int:
        return self._data.size

    @property
    def op(self) -> str | None:
        """Name of the op that produced this tensor (None for leaves)."""
        return self._node.name if self._node is not None else None

    @property
    def is_leaf(self) -> bool:
        return self._node is None

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor: it has no first axis (its one number is t.item())")
        return len(self._data)

    def __reduce_ex__(self, protocol: Any) -> Any:
        """Copying or pickling keeps a tensor's numbers, never its graph (as in PyTorch): only leaves may."""
        if self._node is not None:
            raise RuntimeError(
                f"only leaf tensors (made by you, not by an op) can be deep-copied or pickled; this one was made "
                f"by {self._node.name}: copy or pickle t.detach() for its numbers, or the leaves it came from"
            )
        return super().__reduce_ex__(protocol)

    def numpy(self) -> np.ndarray:
        return self._data

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        """``np.asarray(t)`` is ``t.data`` (the same array, not a copy, unless a dtype asks for one).

        Inside a list given to ``Tensor()`` (or to an op or layer), a tensor that requires grad
        refuses: the list would become one constant array and its gradient would be cut.
        """
        if _DEFAULTS.in_list and self.requires_grad:
            raise TypeError(
                "a list of tensors that require grad would become a constant and lose their "
                "gradients; combine them with tr.stack(list) (or tr.concat), which keeps the graph"
            )
        if copy:
            return np.array(self._data, dtype=dtype, copy=True)
        return self._data if dtype is None else self._data.astype(dtype, copy=False)

    def item(self) -> float:
        if self._data.size != 1:
            raise ValueError(f"item() needs a tensor with one element, this one has shape {self.shape}")
        return self._data.item()

    def __float__(self) -> float:
        if self._data.size != 1:
            raise ValueError(f"float() needs a tensor with one element, this one has shape {self.shape}")
        return float(self._data.item())

    def __int__(self) -> int:
        if self._data.size != 1:
            raise ValueError(f"int() needs a tensor with one element, this one has shape {self.shape}")
        return int(self._data.item())

    def tolist(self) -> Any:
        return self._data.tolist()

    def detach(self) -> Tensor:
        """The same numbers, cut off from the graph (truncated BPTT: h = h.detach())."""
        return Tensor(self._data, name=self.name)

    def astype(self, dtype: Any) -> Tensor:
        """A copy in another float dtype, cut off from the graph."""
        return Tensor(self._data, dtype=_float_dtype(dtype), requires_grad=self.requires_grad, name=self.name)

    def requires_grad_(self, flag: bool = True) -> Tensor:
        if flag and self._data.dtype.kind != "f":
            raise TypeError(f"only floating-point tensors can require gradients (got {self._data.dtype})")
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
        body = np.array2string(self._data, precision=4, separator=", ", threshold=20, prefix="Tensor(")
        return f"Tensor({body}{extra})"

    def _repr_html_(self) -> str:
        """Jupyter: value and gradient, and a drawing of the graph that made this tensor."""
        from viz.notebook import tensor_html

        return tensor_html(self)

    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise ValueError(
                f"the truth value of a tensor with several elements (shape {self.shape}) is ambiguous; "
                f"use .all() or .any() on its .data"
            )
        return bool(self._data)

    # --- comparisons: element-wise, boolean, no gradient (as in PyTorch) --------
    def _compare(self, other: Any, ufunc: np.ufunc, symbol: str) -> Any:
        if isinstance(other, Tensor):
            other = other._data
        elif not isinstance(other, (np.ndarray, np.generic, int, float, bool, list, tuple)):
            return NotImplemented  # t == None, t == "a": Python's default (identity) applies
        try:
            result = ufunc(self._data, other)
        except ValueError:
            raise ValueError(
                f"{symbol}: shapes {self.shape} and {np.shape(other)} cannot be broadcast together"
            ) from None
        return Tensor._wrap(np.asarray(result), None, 0)

    def __eq__(self, other: Any) -> Any:  # type: ignore[override]
        return self._compare(other, np.equal, "==")

    def __ne__(self, other: Any) -> Any:  # type: ignore[override]
        return self._compare(other, np.not_equal, "!=")

    def __lt__(self, other: Any) -> Any:
        return self._compare(other, np.less, "<")

    def __le__(self, other: Any) -> Any:
        return self._compare(other, np.less_equal, "<=")

    def __gt__(self, other: Any) -> Any:
        return self._compare(other, np.greater, ">")

    def __ge__(self, other: Any) -> Any:
        return self._compare(other, np.greater_equal, ">=")

    # --- autograd ---------------------------------------------------------
    def backward(
        self,
        grad: Any = None,
        retain_grads: bool | None = None,
        step: bool = False,
        retain_graph: bool | None = None,
        create_graph: bool = False,
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
        ``create_graph=True`` records the backward pass itself: every ``.grad``
        it writes is then a Tensor with a graph (draw it, differentiate it
        again); see ``tr.grad``.
        """
        if step:
            from .stepper import BackwardStepper

            return BackwardStepper(self, grad, True if retain_grads is None else retain_grads)
        if create_graph:
            from .higher_order import backward_recorded

            backward_recorded(self, grad, True if retain_grads is None else retain_grads)
            return None
        _backward.backward(self, grad, retain_grads, retain_graph)
        return None

    def register_hook(self, fn: Any) -> Any:
        """Call ``fn(grad)`` whenever backward computes this tensor's gradient; return a handle
        (``handle.remove()``). ``fn`` may return a replacement gradient of the same shape, which is
        what flows on (intermediate tensors) or is added into ``.grad`` (leaves); None leaves it as
        it is. Several hooks run in registration order. PyTorch's semantics: see ``hooks.py``."""
        from .hooks import register

        return register(self, fn)

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

