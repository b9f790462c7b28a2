"""Primitive ops: each one's forward, backward and local derivative side by side.

An op is a class. Calling ``Op.apply(*inputs)`` runs ``forward`` on the inputs'
NumPy arrays and, when recording, keeps the op object as the *node* of the
graph: it remembers its inputs, whatever ``forward`` saved on ``self``, and
the scope path open at the time. ``backward(g)`` receives the gradient of the
loss with respect to the op's output and returns one gradient per input:
the chain rule, dL/dx = dL/dy * dy/dx, with dy/dx written out in ``formula``.

Broadcasting: when an input was broadcast in forward, its gradient is summed
back to the input's shape (``unbroadcast``), because a broadcast input is an
input used many times.

Each rule is written once, against a small array namespace ``xp``. In an
ordinary backward pass ``xp`` is NumPy (``NUMPY``) and the rule sees the arrays
forward saved: plain, fast array code. With ``create_graph=True`` the same rule
runs with ``xp = ENGINE`` (these ops) and sees the saved *tensors* instead
(``from_inputs``/``from_outputs`` name which saved attribute is which input or
output), so the gradient it returns is itself a recorded computation that can
be drawn, stepped and differentiated again.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from typing import Any

import numpy as np

from .graph import CHECK_EVERY, RECORDED, SWITCHES, WRITES, check_finite, recorded_many
from .tensor import Tensor, get_default_dtype

_wrap = Tensor._wrap  # bound once: ops call it for every result
CHECK_MASK = CHECK_EVERY - 1  # RECORDED & CHECK_MASK == 0 every CHECK_EVERY recorded nodes


class ShapeError(ValueError):
    """Shapes that don't fit an op; the message names the op, the shapes and the scope."""


def unbroadcast(grad: Any, shape: tuple) -> Any:
    """Sum ``grad`` (an array, or a Tensor when recording) down to ``shape``: undo NumPy
    broadcasting in the backward pass."""
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    axes = tuple(range(extra)) + tuple(
        extra + i for i, n in enumerate(shape) if n == 1 and grad.shape[extra + i] != 1
    )
    return grad.sum(axis=axes, keepdims=True).reshape(shape)


class Op:
    """Base class of every primitive. Subclasses define ``forward`` and ``backward``."""

    name = "op"
    formula = ""  # the local derivative, one line, shown by the stepper

    # ops whose gradient is g in part of their input, zero elsewhere (x[idx]), define
    # add_into(grad_x, g): grad_x[idx] += g in place; backward() then uses it instead of
    # building a full-size zero array per call (see backward.BackwardPass._scatter)
    add_into = None

    # the attributes forward saved that *are* its inputs / outputs (in order; "" skips one):
    # a recorded backward (create_graph=True) swaps in those tensors for their arrays
    from_inputs: tuple[str, ...] = ()
    from_outputs: tuple[str, ...] = ()

    # set by apply() when the call is recorded
    inputs: tuple[Tensor, ...] = ()
    outputs: tuple = ()
    needs: tuple[bool, ...] = ()  # needs[i]: does input i require a gradient?
    scope = ""
    writes = 0  # in-place writes made (to any tensor) before this node was recorded: WRITES[0] then
    freed = False  # set by backward() when it has consumed this node (see backward.release)

    def forward(self, *arrays: np.ndarray) -> Any:
        raise NotImplementedError

    def backward(self, grad: Any, xp: Any = None) -> tuple:
        """dL/d(each input) from dL/d(output), with array functions taken from ``xp``."""
        raise NotImplementedError

    def recorded_backward(self, grad: Any) -> tuple:
        """The same rule run on engine ops and saved tensors: its result has a graph.

        ``grad`` is a Tensor (or a tuple of them, None where an output got none).
        Gradients of the gradient then flow into whatever the rule used: the
        upstream gradient and the forward's own inputs and outputs.
        """
        rule = type(self).backward
        if "xp" not in rule.__code__.co_varnames[: rule.__code__.co_argcount]:
            raise NotImplementedError(
                f"{self.name}: its backward(self, g) takes no array namespace, so create_graph=True cannot "
                "record it; write it as backward(self, g, xp=NUMPY) with xp.where, xp.zeros, ... for array "
                "functions, and name the saved inputs/outputs in from_inputs/from_outputs (see tinygrad_rnn/ops.py)"
            )
        view = object.__new__(type(self))
        saved = view.__dict__
        saved.update(self.__dict__)
        for name, t in zip(self.from_inputs, self.inputs):
            if name:
                saved[name] = t
        for i, (name, ref) in enumerate(zip(self.from_outputs, self.outputs)):
            if name:
                out = ref()  # alive whenever a gradient reached it; else the same output, rewrapped
                saved[name] = out if out is not None else _wrap(saved[name], self, i)
        return rule(view, grad, ENGINE)

    @classmethod
    def apply(cls, *inputs: Any, **params: Any) -> Any:
        """Run the op on tensors (or numbers/arrays, taken as constants) and record it.

        This runs once per node, so it is written for speed: one- and two-input
        calls (almost every op) skip the generic loops, and nothing is set up for
        a node that will not be recorded.
        """
        n = len(inputs)
        if n == 1:
            (a,) = inputs
            if not isinstance(a, Tensor):
                (a,) = inputs = _as_tensors(inputs)
            arrays: Any = (a._data,)
            needs: tuple[bool, ...] = (a.requires_grad,)
        elif n == 2:
            a, b = inputs
            if not (isinstance(a, Tensor) and isinstance(b, Tensor)):
                a, b = inputs = _as_tensors(inputs)
            arrays, needs = (a._data, b._data), (a.requires_grad, b.requires_grad)
        else:
            for x in inputs:
                if not isinstance(x, Tensor):
                    inputs = _as_tensors(inputs)
                    break
            arrays = [t._data for t in inputs]
            needs = tuple([t.requires_grad for t in inputs])  # (a tuple of bools: the GC stops tracking it)
        node = cls()
        try:
            out = node.forward(*arrays, **params)
        except (ValueError, IndexError, TypeError) as error:
            raise _op_error(cls, inputs, error) from None
        grad_enabled, anomaly, scope = SWITCHES.now  # this thread's switches (graph.py)
        record = grad_enabled and True in needs
        parent = node if record else None  # unrecorded results are constants: no node
        multiple = type(out) is tuple
        results = tuple([_wrap(o, parent, i) for i, o in enumerate(out)]) if multiple else _wrap(out, parent, 0)
        if record:
            RECORDED[0] += 1
            if not RECORDED[0] & CHECK_MASK:
                recorded_many()  # (now and then: has a full collection found the graph all alive?)
        if record or anomaly:
            node.inputs, node.needs, node.scope, node.writes = inputs, needs, scope, WRITES[0]
            node.outputs = tuple([weakref.ref(r) for r in results]) if multiple else (weakref.ref(results),)
            if anomaly:
                check_finite(node, out if multiple else (out,), "output")
        return results

    def saved(self) -> dict[str, Any]:
        """What forward kept for backward (attributes set on the node), by name."""
        return dict(vars(self))

    def __repr__(self) -> str:
        where = f" @ {self.scope}" if self.scope else ""
        return f"<{self.name}{where}>"


def _as_tensors(inputs: Sequence[Any]) -> tuple[Tensor, ...]:
    """Wrap numbers and arrays as constant tensors (the dtype rule, docs/errors.md).

    Beside a floating-point tensor a constant takes that tensor's dtype, so
    ``x * 0.5`` stays float32 when x is float32. Beside an integer or boolean
    tensor it keeps its own type and NumPy promotes: ``ints * 0.5`` is float64
    and ``bools + 2`` is int64, never truncated back to the tensor's type.
    """
    dtype = next((x._data.dtype for x in inputs if isinstance(x, Tensor)), None)
    if dtype is not None and dtype.kind != "f":
        if any(isinstance(x, float) for x in inputs):  # ints + 0.5: the default float dtype, as PyTorch
            return tuple(_floating(x) if isinstance(x, Tensor) else _constant(x, get_default_dtype()) for x in inputs)
        dtype = None
    return tuple(x if isinstance(x, Tensor) else _constant(x, dtype) for x in inputs)


def _floating(x: Any) -> Any:
    """An integer or boolean tensor (or array) as the default float dtype; floats unchanged.

    Ops whose result is a float (``exp``, ``log``, ``sigmoid``, ``/``, ``** 0.5``, ``mean``) give the
    default dtype from integers, as PyTorch does, not NumPy's float64. Integer tensors never
    require grad, so converting them loses no gradient.
    """
    if isinstance(x, Tensor):
        return x if x._data.dtype.kind == "f" else _wrap(x._data.astype(get_default_dtype()), None, 0)
    return x if x.dtype.kind == "f" else x.astype(get_default_dtype())


def _constant(x: Any, dtype: Any) -> Tensor:
    if dtype is not None and isinstance(x, (int, float)):  # a Python number: skip Tensor()'s checks
        return _wrap(np.array(x, dtype=dtype), None, 0)
    return Tensor(x, dtype=dtype)


def _op_error(cls: type, tensors: Sequence[Tensor], error: Exception) -> Exception:
    """Turn a NumPy error inside an op into one a student can act on."""
    shapes = " and ".join(str(t.shape) for t in tensors)
    path = SWITCHES.now[2]
    where = f" (in scope '{path}')" if path else ""
    detail = getattr(cls, "explain", None)
    reason = detail([t.shape for t in tensors]) if detail else None
    message = f"{cls.name}: {reason}{where}" if reason else f"{cls.name}: {error} — input shapes {shapes}{where}"
    if isinstance(error, IndexError):
        return IndexError(message)
    if isinstance(error, TypeError):
        return TypeError(message)
    return ShapeError(message)


def _broadcast_explain(shapes: list[tuple]) -> str | None:
    try:
        np.broadcast_shapes(*shapes)
    except ValueError:
        return f"shapes {' and '.join(map(str, shapes))} cannot be broadcast together"
    return None


# ---------------------------------------------------------------------------
# The two array namespaces a backward rule runs on (see the module docstring)


class _NumPyNamespace:
    """``xp`` of an ordinary backward pass: NumPy's own functions, on the saved arrays."""

    broadcast_to = staticmethod(np.broadcast_to)
    expand_dims = staticmethod(np.expand_dims)
    concatenate = staticmethod(np.concatenate)
    zeros = staticmethod(np.zeros)
    where = staticmethod(np.where)

    @staticmethod
    def scatter_add(g: np.ndarray, shape: tuple, index: Any) -> np.ndarray:
        full = np.zeros(shape, dtype=g.dtype)
        _add_at(full, index, g)
        return full

    @staticmethod
    def unstack(g: np.ndarray, axis: int) -> tuple:
        return tuple(np.moveaxis(g, axis, 0))


class _EngineNamespace:
    """``xp`` of a recorded backward pass (create_graph=True): the same functions as ops."""

    @staticmethod
    def broadcast_to(x: Tensor, shape: tuple) -> Tensor:
        return BroadcastTo.apply(x, shape=tuple(shape))

    @staticmethod
    def expand_dims(x: Tensor, axis: Any) -> Tensor:
        shape = np.expand_dims(np.broadcast_to(np.empty((), dtype=bool), x.shape), axis).shape
        return Reshape.apply(x, shape=shape)

    @staticmethod
    def concatenate(xs: Sequence[Tensor], axis: int = 0) -> Tensor:
        return Concat.apply(*xs, axis=axis)

    @staticmethod
    def zeros(shape: Any, dtype: Any) -> Tensor:
        return _wrap(np.zeros(shape, dtype=dtype), None, 0)

    @staticmethod
    def where(mask: np.ndarray, a: Any, b: Any) -> Tensor:
        return Where.apply(a, b, mask=mask)

    @staticmethod
    def scatter_add(g: Tensor, shape: tuple, index: Any) -> Tensor:
        return ScatterAdd.apply(g, shape=shape, index=index)

    @staticmethod
    def unstack(g: Tensor, axis: int) -> tuple:
        axis %= g.ndim
        return tuple(GetItem.apply(g, index=(slice(None),) * axis + (i,)) for i in range(g.shape[axis]))


NUMPY = _NumPyNamespace()
ENGINE = _EngineNamespace()


# ---------------------------------------------------------------------------
# Element-wise arithmetic (with broadcasting)


class Add(Op):
    name = "add"
    formula = "d(a+b)/da = 1,  d(a+b)/db = 1"
    explain = staticmethod(_broadcast_explain)

    def forward(self, a, b):
        self.shapes = (a.shape, b.shape)
        return a + b

    def backward(self, g, xp=NUMPY):
        return unbroadcast(g, self.shapes[0]), unbroadcast(g, self.shapes[1])


class Sub(Op):
    name = "sub"
    formula = "d(a-b)/da = 1,  d(a-b)/db = -1"
    explain = staticmethod(_broadcast_explain)

    def forward(self, a, b):
        self.shapes = (a.shape, b.shape)
        return a - b

    def backward(self, g, xp=NUMPY):
        gb = -unbroadcast(g, self.shapes[1]) if self.needs[1] else None
        return unbroadcast(g, self.shapes[0]), gb


class Mul(Op):
    name = "mul"
    formula = "d(a*b)/da = b,  d(a*b)/db = a"
    explain = staticmethod(_broadcast_explain)
    from_inputs = ("a", "b")

    def forward(self, a, b):
        self.a, self.b = a, b
        return a * b

    def backward(self, g, xp=NUMPY):
        ga = unbroadcast(g * self.b, self.a.shape) if self.needs[0] else None
        gb = unbroadcast(g * self.a, self.b.shape) if self.needs[1] else None
        return ga, gb


class Div(Op):
    name = "div"
    formula = "d(a/b)/da = 1/b,  d(a/b)/db = -a/b^2"
    explain = staticmethod(_broadcast_explain)
    from_inputs = ("a", "b")

    def forward(self, a, b):
        if a.dtype.kind != "f" and b.dtype.kind != "f":  # ints / ints: the default float dtype
            a, b = _floating(a), _floating(b)
        self.a, self.b = a, b
        return a / b

    def backward(self, g, xp=NUMPY):
        ga = unbroadcast(g / self.b, self.a.shape) if self.needs[0] else None
        gb = unbroadcast(-g * self.a / (self.b * self.b), self.b.shape) if self.needs[1] else None
        return ga, gb


class Neg(Op):
    name = "neg"
    formula = "d(-x)/dx = -1"

    def forward(self, x):
        return -x

    def backward(self, g, xp=NUMPY):
        return (-g,)


class Pow(Op):
    name = "pow"
    formula = "d(x^p)/dx = p * x^(p-1)  (0 for p = 0, also at x = 0)"
    from_inputs = ("x",)

    def forward(self, x, exponent):
        if isinstance(exponent, float) and x.dtype.kind != "f":  # ints ** 0.5: the default float dtype
            x = _floating(x)
        self.x, self.p = x, exponent
        return x**exponent

    def backward(self, g, xp=NUMPY):
        if self.p == 0:  # x^0 = 1 is constant: 0, where p * x^(p-1) would be 0 * inf at x = 0
            return (xp.zeros(self.x.shape, dtype=g.dtype),)
        return (g * self.p * self.x ** (self.p - 1),)


# ---------------------------------------------------------------------------
# Matrix product


class MatMul(Op):
    """Y = A @ B with NumPy's (and PyTorch's) rules: a 1-D A is a row vector, a 1-D B a column
    vector, and the added axis is dropped from Y. ``W_hh @ h`` with a 1-D h is this one node,
    so the picture and the stepper show the product the code wrote, with its operands."""

    name = "matmul"
    formula = "Y = A @ B:  dL/dA = dL/dY @ B^T,  dL/dB = A^T @ dL/dY"
    from_inputs = ("a", "b")

    @staticmethod
    def explain(shapes):
        a, b = shapes
        a = (1, *a) if len(a) == 1 else a
        b = (*b, 1) if len(b) == 1 else b
        if len(a) < 2 or len(b) < 2:
            return None
        if a[-1] != b[-2]:
            return f"cannot multiply {shapes[0]} @ {shapes[1]}: inner dimensions {a[-1]} != {b[-2]}"
        return _broadcast_explain([a[:-2], b[:-2]])

    def forward(self, a, b):
        if a.ndim == 0 or b.ndim == 0:
            raise ValueError("matmul of a scalar (use *)")
        self.a, self.b = a, b
        return a @ b

    def backward(self, g, xp=NUMPY):
        a, b = self.a, self.b
        if a.ndim == 1 or b.ndim == 1:  # the 2-D rule on the row / column the 1-D operand stands for
            a2 = a.reshape(1, -1) if a.ndim == 1 else a
            b2 = b.reshape(-1, 1) if b.ndim == 1 else b
            out = np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2]) + (a2.shape[-2], b2.shape[-1])
            ga, gb = self._rule(a2, b2, g.reshape(out))
            return (None if ga is None else ga.reshape(a.shape)), (None if gb is None else gb.reshape(b.shape))
        return self._rule(a, b, g)

    def _rule(self, a, b, g):
        ga = unbroadcast(g @ b.swapaxes(-1, -2), a.shape) if self.needs[0] else None
        gb = None
        if self.needs[1]:
            if a.ndim == 2 and b.ndim == 2:
                gb = a.T @ g
            elif b.ndim == 2:  # B is shared by every row of a batch A: one matmul over all rows
                gb = a.reshape(-1, a.shape[-1]).T @ g.reshape(-1, g.shape[-1])
            else:
                gb = unbroadcast(a.swapaxes(-1, -2) @ g, b.shape)
        return ga, gb


# ---------------------------------------------------------------------------
# Element-wise functions


class Exp(Op):
    name = "exp"
    formula = "d exp(x)/dx = exp(x)"
    from_outputs = ("y",)

    def forward(self, x):
        self.y = np.exp(_floating(x))
        return self.y

    def backward(self, g, xp=NUMPY):
        return (g * self.y,)


class Log(Op):
    name = "log"
    formula = "d log(x)/dx = 1/x"
    from_inputs = ("x",)

    def forward(self, x):
        self.x = x
        return np.log(_floating(x))

    def backward(self, g, xp=NUMPY):
        return (g / self.x,)


class Tanh(Op):
    name = "tanh"
    formula = "d tanh(x)/dx = 1 - tanh(x)^2"
    from_outputs = ("y",)

    def forward(self, x):
        self.y = np.tanh(x)
        return self.y

    def backward(self, g, xp=NUMPY):
        return (g * (1 - self.y * self.y),)


class Sigmoid(Op):
    name = "sigmoid"
    formula = "d sigmoid(x)/dx = sigmoid(x) * (1 - sigmoid(x))"
    from_outputs = ("y",)

    def forward(self, x):
        # 1 / (1 + exp(-x)), in place (the same bits; no temporaries, no Python numbers to convert).
        # For x << 0, exp(-x) overflows to inf and 1/(1+inf) = 0, the right limit: so no warning.
        with np.errstate(over="ignore"):
            e = np.exp(np.negative(_floating(x)))
        if type(e) is np.ndarray:
            e += 1
            self.y = np.reciprocal(e, out=e)
        else:  # 0-d input (NumPy returns a scalar)
            self.y = 1 / (1 + e)
        return self.y

    def backward(self, g, xp=NUMPY):
        return (g * self.y * (1 - self.y),)


class ReLU(Op):
    name = "relu"
    formula = "d relu(x)/dx = 1 if x > 0 else 0"

    def forward(self, x):
        self.off = x <= 0  # (False for NaN: a NaN passes its gradient on, as in PyTorch)
        return np.maximum(x, 0)  # not x * (x > 0): relu(-inf) is 0, not -inf * 0 = NaN; relu(NaN) is NaN

    def backward(self, g, xp=NUMPY):
        # a choice, not g * mask: an inf gradient where x <= 0 still sends 0 (as PyTorch)
        return (xp.where(self.off, 0, g),)


# ---------------------------------------------------------------------------
# Reductions


def _keep(g: Any, axis: Any, keepdims: bool, xp: Any) -> Any:
    """Put back the reduced axes as size-1 axes so ``g`` broadcasts over the input."""
    if axis is None or keepdims:
        return g
    return xp.expand_dims(g, axis)


class Sum(Op):
    name = "sum"
    formula = "d sum(x)/dx_i = 1  (the gradient is copied to every summed element)"

    def forward(self, x, axis=None, keepdims=False):
        self.shape, self.axis, self.keepdims = x.shape, axis, keepdims
        return np.asarray(x.sum(axis=axis, keepdims=keepdims))

    def backward(self, g, xp=NUMPY):
        return (xp.broadcast_to(_keep(g, self.axis, self.keepdims, xp), self.shape),)


class Mean(Op):
    name = "mean"
    formula = "d mean(x)/dx_i = 1/n"

    def forward(self, x, axis=None, keepdims=False):
        self.shape, self.axis, self.keepdims = x.shape, axis, keepdims
        y = np.asarray(_floating(x).mean(axis=axis, keepdims=keepdims))
        self.n = x.size // max(y.size, 1) if x.size else 1
        return y

    def backward(self, g, xp=NUMPY):
        return (xp.broadcast_to(_keep(g, self.axis, self.keepdims, xp) / self.n, self.shape),)


class Max(Op):
    name = "max"
    formula = "d max(x)/dx_i = 1 where x_i is the max (shared equally between ties; a NaN is the max), else 0"

    def forward(self, x, axis=None, keepdims=False):
        self.axis, self.keepdims = axis, keepdims
        top = x.max(axis=axis, keepdims=True)
        self.mask = x == top
        if np.isnan(top).any():  # the max of a slice holding NaN is NaN: the NaNs get its gradient
            self.mask |= np.isnan(x)
        return np.asarray(top if keepdims else np.squeeze(top, axis=axis))

    def backward(self, g, xp=NUMPY):
        share = self.mask / self.mask.sum(axis=self.axis, keepdims=True)
        return (share * _keep(g, self.axis, self.keepdims, xp),)


# ---------------------------------------------------------------------------
# Shape ops: they move numbers around, so backward moves gradients back


class Reshape(Op):
    name = "reshape"
    formula = "gradient reshaped back to the input's shape"

    def forward(self, x, shape):
        self.shape = x.shape
        return x.reshape(shape)

    def backward(self, g, xp=NUMPY):
        return (g.reshape(self.shape),)


class Transpose(Op):
    name = "transpose"
    formula = "gradient permuted back by the inverse permutation"

    def forward(self, x, axes):
        self.axes = axes
        return x.transpose(axes)

    def backward(self, g, xp=NUMPY):
        inverse = sorted(range(len(self.axes)), key=self.axes.__getitem__)  # argsort of the permutation
        return (g.transpose(inverse),)


def _is_basic(index: Any) -> bool:
    """Basic indexing (ints, slices, None, ...) never repeats an element."""
    if isinstance(index, int):
        return True
    items = index if isinstance(index, tuple) else (index,)
    return all(i is None or i is Ellipsis or isinstance(i, (int, np.integer, slice)) for i in items)


class GetItem(Op):
    name = "getitem"
    formula = "d x[idx]/dx = 1 at idx, else 0  (repeated indices add up: scatter-add)"

    def forward(self, x, index):
        self.shape, self.dtype, self.index = x.shape, x.dtype, index
        try:
            return x[index]
        except IndexError as error:
            raise IndexError(f"{error} (indexing a tensor of shape {x.shape})") from None

    def backward(self, g, xp=NUMPY):
        return (xp.scatter_add(g, self.shape, self.index),)

    def add_into(self, grad_x, g):
        """grad_x[idx] += g, in place (repeated indices add up: np.add.at)."""
        _add_at(grad_x, self.index, g)


def _add_at(full: np.ndarray, index: Any, g: np.ndarray) -> None:
    """full[index] += g in place; repeated (advanced) indices add up."""
    if _is_basic(index):
        full[index] += g
    else:
        np.add.at(full, index, g)


class ScatterAdd(Op):
    """The adjoint of indexing: a zero array of ``shape`` with ``g`` added at ``index``.

    Recorded backward passes use it where getitem/embedding send their
    gradient back; its own gradient is indexing again.
    """

    name = "scatter_add"
    formula = "out = zeros, out[idx] += g:  dL/dg = dL/dout[idx]"

    def forward(self, g, shape, index):
        self.index = index
        full = np.zeros(shape, dtype=g.dtype)
        _add_at(full, index, g)
        return full

    def backward(self, g, xp=NUMPY):
        return (g[self.index],)


class BroadcastTo(Op):
    """Copy an array along new or size-1 axes (``np.broadcast_to``); used by recorded
    backward passes of sum and mean."""

    name = "broadcast_to"
    formula = "gradient summed back over the broadcast axes"

    def forward(self, x, shape):
        self.shape = x.shape
        return np.broadcast_to(x, shape)

    def backward(self, g, xp=NUMPY):
        return (unbroadcast(g, self.shape),)


def _cut(x: np.ndarray, sizes: Sequence[int], axis: int) -> tuple:
    """Views of consecutive pieces of ``x`` along ``axis`` with the given sizes."""
    index = [slice(None)] * x.ndim
    pieces, start = [], 0
    for n in sizes:
        index[axis] = slice(start, start + n)
        pieces.append(x[tuple(index)])
        start += n
    return tuple(pieces)


class Concat(Op):
    name = "concat"
    formula = "gradient cut back into the pieces along the joined axis"

    @staticmethod
    def explain(shapes):
        return f"pieces must agree on every axis but the joined one; got {', '.join(map(str, shapes))}"

    def forward(self, *xs, axis=0):
        self.axis, self.sizes = axis, [x.shape[axis] for x in xs]
        return np.concatenate(xs, axis=axis)

    def backward(self, g, xp=NUMPY):
        return _cut(g, self.sizes, self.axis)


class Stack(Op):
    name = "stack"
    formula = "gradient sliced back into the stacked pieces"

    @staticmethod
    def explain(shapes):
        return f"stacked tensors must all have the same shape; got {', '.join(map(str, shapes))}"

    def forward(self, *xs, axis=0):
        self.axis, self.count = axis, len(xs)
        return np.stack(xs, axis=axis)

    def backward(self, g, xp=NUMPY):
        return xp.unstack(g, self.axis)


class Split(Op):
    """One input, several outputs (PyTorch's ``split`` by sizes)."""

    name = "split"
    formula = "gradients of the pieces joined back together (zeros for unused pieces)"

    def forward(self, x, sizes, axis=0):
        if sum(sizes) != x.shape[axis]:
            raise ValueError(f"split sizes {list(sizes)} don't add up to {x.shape[axis]} (axis {axis})")
        self.shape, self.dtype, self.axis, self.sizes = x.shape, x.dtype, axis, sizes
        return _cut(x, sizes, axis)

    def backward(self, grads, xp=NUMPY):
        if not isinstance(grads, tuple):  # split into a single piece: autograd passes one array
            grads = (grads,)
        pieces = []
        for g, n in zip(grads, self.sizes):
            if g is None:
                shape = list(self.shape)
                shape[self.axis] = n
                g = xp.zeros(shape, dtype=self.dtype)
            pieces.append(g)
        return (xp.concatenate(pieces, axis=self.axis),)


class Where(Op):
    name = "where"
    formula = "d where(m, a, b)/da = m,  d where(m, a, b)/db = 1 - m"
    explain = staticmethod(_broadcast_explain)

    def forward(self, a, b, mask):
        self.mask, self.shapes = mask, (a.shape, b.shape)
        return np.where(mask, a, b)

    def backward(self, g, xp=NUMPY):
        zero = np.zeros((), dtype=g.dtype)
        ga = unbroadcast(xp.where(self.mask, g, zero), self.shapes[0]) if self.needs[0] else None
        gb = unbroadcast(xp.where(self.mask, zero, g), self.shapes[1]) if self.needs[1] else None
        return ga, gb


class Embedding(Op):
    name = "embedding"
    formula = "out[k] = W[ids[k]]:  dL/dW[ids[k]] += dL/dout[k]  (scatter-add)"

    def forward(self, weight, ids):
        self.shape, self.dtype, self.ids = weight.shape, weight.dtype, ids
        try:
            return weight[ids]
        except IndexError:
            raise IndexError(
                f"token ids must be in [0, {weight.shape[0]}); got min {ids.min()}, max {ids.max()}"
            ) from None

    def backward(self, g, xp=NUMPY):
        return (xp.scatter_add(g.reshape(-1, self.shape[-1]), self.shape, self.ids.reshape(-1)),)


# ---------------------------------------------------------------------------
# Function forms (what ``import tinygrad_rnn as tr`` exposes)


def _axis(axis: Any, dim: Any) -> Any:
    """Accept NumPy's ``axis=`` and PyTorch's ``dim=``."""
    if dim is not None:
        if axis is not None:
            raise TypeError("give axis= or dim=, not both")
        return tuple(dim) if isinstance(dim, list) else dim
    return tuple(axis) if isinstance(axis, list) else axis


def _reduced_axis(x: Tensor, axis: Any, op: str) -> Any:
    """A 0-d tensor has one element and no axes; like PyTorch, ``axis=0`` or ``-1`` reduces it whole."""
    if axis is None or x._data.ndim:
        return axis
    for a in axis if isinstance(axis, tuple) else (axis,):
        if a not in (0, -1):
            raise IndexError(f"{op}: axis {a} is out of range for a 0-d tensor (use 0, -1 or None)")
    return None


def tanh(x: Any) -> Tensor:
    return Tanh.apply(x)


def sigmoid(x: Any) -> Tensor:
    return Sigmoid.apply(x)


def relu(x: Any) -> Tensor:
    return ReLU.apply(x)


def exp(x: Any) -> Tensor:
    return Exp.apply(x)


def log(x: Any) -> Tensor:
    return Log.apply(x)


def matmul(a: Any, b: Any) -> Tensor:
    """a @ b for 1-D, 2-D and batched operands (1-D operands as in NumPy)."""
    if not (isinstance(a, Tensor) and isinstance(b, Tensor)):
        a, b = _as_tensors((a, b))
    if a._data.dtype != b._data.dtype:
        raise _dtype_error(a, b)
    if a._data.ndim == 0 or b._data.ndim == 0:
        raise ShapeError(f"matmul: scalars can't be matrix-multiplied (shapes {a.shape} and {b.shape}); use *")
    return MatMul.apply(a, b)


def _dtype_error(a: Tensor, b: Tensor) -> TypeError:
    """matmul refuses mixed dtypes, as PyTorch does: a float32 model fed float64 data stops here."""
    path = SWITCHES.now[2]
    where = f" in scope '{path}'" if path else ""
    trained = [t for t in (a, b) if t.requires_grad]
    floats = [t for t in (a, b) if t.dtype.kind == "f"]
    target = (trained or floats)[0].dtype if trained or floats else None
    fix = (
        f"convert the {'right' if target == a.dtype else 'left'} one with .astype('{target}')"
        if target is not None
        else "convert both with .astype('float64')"
    )
    return TypeError(
        f"matmul: the operands have different dtypes, {a.dtype} @ {b.dtype} (shapes {a.shape} and "
        f"{b.shape}){where}; {fix} (a float32 model needs float32 input: tr.Tensor(data, dtype='float32'); "
        f"float32 data runs in a model converted with model.float())"
    )


def where(mask: Any, a: Any, b: Any) -> Tensor:
    """Element-wise choice: ``a`` where ``mask`` is true, else ``b`` (mask gets no gradient)."""
    mask = np.asarray(getattr(mask, "data", mask), dtype=bool)
    return Where.apply(a, b, mask=mask)


def concat(tensors: Sequence[Any], axis: int | None = None, dim: int | None = None) -> Tensor:
    """Join tensors along an existing axis (``torch.cat``)."""
    axis = _axis(axis, dim)
    if not tensors:
        raise ValueError("concat: needs at least one tensor")
    _check_axis("concat", tensors, axis, 0)
    return Concat.apply(*tensors, axis=0 if axis is None else axis)


cat = concat


def stack(tensors: Sequence[Any], axis: int | None = None, dim: int | None = None) -> Tensor:
    """Join same-shaped tensors along a new axis."""
    axis = _axis(axis, dim)
    if not tensors:
        raise ValueError("stack: needs at least one tensor")
    _check_axis("stack", tensors, axis, 1)
    return Stack.apply(*tensors, axis=0 if axis is None else axis)


def _check_axis(op: str, tensors: Sequence[Any], axis: Any, extra: int) -> None:
    """An axis out of range for the pieces (``extra`` = 1 for the new axis of stack) is named as such."""
    if not isinstance(axis, (int, np.integer)):
        return
    ndim = np.ndim(tensors[0].data if isinstance(tensors[0], Tensor) else tensors[0]) + extra
    if not -ndim <= axis < ndim:
        raise IndexError(f"{op}: axis {axis} is out of range for {ndim - extra}-d pieces (use -{ndim} .. {ndim - 1})")


def split(x: Tensor, split_size_or_sections: Any, axis: int | None = None, dim: int | None = None):
    """Cut into pieces of a given size (int) or sizes (list), as ``torch.split``."""
    axis = _axis(axis, dim)
    axis = 0 if axis is None else axis % max(x.ndim, 1)
    n = x.shape[axis]
    if isinstance(split_size_or_sections, (int, np.integer)):
        size = int(split_size_or_sections)
        if size <= 0:
            raise ValueError(f"split: size must be positive, got {size}")
        sizes = [size] * (n // size) + ([n % size] if n % size else [])
    else:
        sizes = list(split_size_or_sections)
        if not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) for s in sizes):
            raise TypeError(f"split: sizes must be integers, got {sizes}")
        if any(s < 0 for s in sizes):
            raise ValueError(f"split: sizes must be >= 0, got {[int(s) for s in sizes]}")
        sizes = [int(s) for s in sizes]
    return list(Split.apply(x, sizes=tuple(sizes), axis=axis))


def chunk(x: Tensor, chunks: int, axis: int | None = None, dim: int | None = None):
    """Cut into ``chunks`` nearly equal pieces, as ``torch.chunk``."""
    axis = _axis(axis, dim)
    axis = 0 if axis is None else axis
    if isinstance(chunks, bool) or not isinstance(chunks, (int, np.integer)) or chunks < 1:
        raise ValueError(f"chunk: chunks must be a positive integer, got {chunks!r}")
    return split(x, -(-x.shape[axis] // chunks), axis=axis)


def embedding(weight: Tensor, ids: Any) -> Tensor:
    """Rows of ``weight`` picked by integer ``ids`` (any shape): out.shape = ids.shape + (D,)."""
    ids = np.asarray(getattr(ids, "data", ids))
    if not np.issubdtype(ids.dtype, np.integer):
        raise TypeError(f"embedding: ids must be integers, got dtype {ids.dtype}")
    if np.ndim(weight) != 2:
        raise ShapeError(f"embedding: weight must be 2-D (num_embeddings, embedding_dim), got shape {np.shape(weight)}")
    rows = np.shape(weight)[0]
    if ids.size and (ids.min() < 0 or ids.max() >= rows):
        raise IndexError(
            f"embedding: token ids must be in [0, {rows}); got min {ids.min()}, max {ids.max()} "
            f"(a negative id is not counted from the end: it is refused)"
        )
    return Embedding.apply(weight, ids=ids)


# ---------------------------------------------------------------------------
# Tensor's operators and methods: each is one line over an op above. They are
# bound onto Tensor here, so the import arrow points one way (ops -> tensor).


class _TensorMethods:
    def __add__(self, other: Any) -> Tensor:
        return Add.apply(self, other)

    def __radd__(self, other: Any) -> Tensor:
        return Add.apply(other, self)

    def __sub__(self, other: Any) -> Tensor:
        return Sub.apply(self, other)

    def __rsub__(self, other: Any) -> Tensor:
        return Sub.apply(other, self)

    def __mul__(self, other: Any) -> Tensor:
        return Mul.apply(self, other)

    def __rmul__(self, other: Any) -> Tensor:
        return Mul.apply(other, self)

    def __truediv__(self, other: Any) -> Tensor:
        return Div.apply(self, other)

    def __rtruediv__(self, other: Any) -> Tensor:
        return Div.apply(other, self)

    def __neg__(self) -> Tensor:
        return Neg.apply(self)

    def __pow__(self, exponent: Any) -> Tensor:
        if isinstance(exponent, Tensor) or np.ndim(exponent) != 0:
            raise TypeError("pow: the exponent must be a Python number (x ** 2), not a tensor or array")
        return Pow.apply(self, exponent=exponent)

    def __matmul__(self, other: Any) -> Tensor:
        return matmul(self, other)

    def __rmatmul__(self, other: Any) -> Tensor:
        return matmul(other, self)

    def __getitem__(self, index: Any) -> Tensor:
        if isinstance(index, Tensor):
            index = index.data
        elif isinstance(index, tuple):
            index = tuple(i.data if isinstance(i, Tensor) else i for i in index)
        elif isinstance(index, list):
            index = np.asarray(index)
        return GetItem.apply(self, index=index)

    # --- functions (names as in PyTorch) -----------------------------------
    def tanh(self) -> Tensor:
        return Tanh.apply(self)

    def sigmoid(self) -> Tensor:
        return Sigmoid.apply(self)

    def relu(self) -> Tensor:
        return ReLU.apply(self)

    def exp(self) -> Tensor:
        return Exp.apply(self)

    def log(self) -> Tensor:
        return Log.apply(self)

    def sum(self, axis: Any = None, keepdims: bool = False, dim: Any = None, keepdim: bool = False) -> Tensor:
        return Sum.apply(self, axis=_reduced_axis(self, _axis(axis, dim), "sum"), keepdims=keepdims or keepdim)

    def mean(self, axis: Any = None, keepdims: bool = False, dim: Any = None, keepdim: bool = False) -> Tensor:
        return Mean.apply(self, axis=_reduced_axis(self, _axis(axis, dim), "mean"), keepdims=keepdims or keepdim)

    def max(self, axis: Any = None, keepdims: bool = False, dim: Any = None, keepdim: bool = False) -> Tensor:
        return Max.apply(self, axis=_reduced_axis(self, _axis(axis, dim), "max"), keepdims=keepdims or keepdim)

    def reshape(self, *shape: Any) -> Tensor:
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return Reshape.apply(self, shape=shape)

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
        return Transpose.apply(self, axes=tuple(perm))

    def permute(self, *axes: Any) -> Tensor:
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        if sorted(ax % max(self.ndim, 1) for ax in axes) != list(range(self.ndim)):
            raise ValueError(f"permute: {axes} is not a permutation of a {self.ndim}-D tensor's axes")
        return Transpose.apply(self, axes=tuple(ax % self.ndim for ax in axes))

    @property
    def T(self) -> Tensor:
        return Transpose.apply(self, axes=tuple(reversed(range(self.ndim))))

    def swapaxes(self, axis1: int, axis2: int) -> Tensor:
        """Swap two axes (NumPy's name; PyTorch's ``transpose(a, b)``)."""
        return self.transpose(axis1, axis2)

    def split(self, split_size_or_sections: Any, axis: Any = None, dim: Any = None) -> list[Tensor]:
        return split(self, split_size_or_sections, axis=axis, dim=dim)

    def chunk(self, chunks: int, axis: Any = None, dim: Any = None) -> list[Tensor]:
        return chunk(self, chunks, axis=axis, dim=dim)


for _name, _member in vars(_TensorMethods).items():
    if callable(_member) or isinstance(_member, property):
        setattr(Tensor, _name, _member)
