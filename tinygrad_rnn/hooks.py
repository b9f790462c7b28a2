"""Gradient hooks: ``tensor.register_hook(fn)`` changes a gradient in flight (PyTorch's semantics).

A hook is a function of one gradient. Backward calls it once per pass, at the
moment the tensor's gradient is complete (every use of the tensor has sent its
piece), *before* the gradient goes on:

- on an intermediate tensor such as h₃, before dL/dh₃ is pushed through the op
  that made h₃, so whatever the hook returns is what flows further back in time;
- on a leaf such as W_hh, before the summed gradient of this pass is added into
  ``W_hh.grad`` (the hook sees the sum over every time step, not the pieces).

``fn(grad)`` returns None (it only looked: logging, a norm per step) or a
replacement gradient of the same shape (the array it receives is read-only, as
it may be shared with other gradients: return a new one, do not write into it) (``lambda g: 0 * g`` cuts the path
through this tensor; ``lambda g: np.clip(g, -1, 1)`` clips it per step).
Several hooks on one tensor run in the order they were registered, each
receiving what the previous one returned. ``register_hook`` returns a handle:
``handle.remove()`` takes the hook off again.

The gradient a hook receives is what ``.grad`` holds in that mode: a NumPy array
in ``backward()`` and ``tr.grad``, a Tensor with a graph under
``create_graph=True`` (return a Tensor built from it, and the hook's own
arithmetic is recorded and differentiated too).

Where hooks run: ``backward()`` and the stepper (whose step text says what a
hook changed, and by how much), ``tr.grad`` and ``create_graph=True``. Not in
``reference_backward`` (the textbook walk, kept bare) and not in a ``tr.compile``
replay, which refuses a graph with a hook rather than skip it.

Cost: the table below is empty unless someone registered a hook, and the
backward walk checks it once per node, so a pass without hooks runs the same
loop it always did.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

import numpy as np

# id(tensor) -> (weak reference to the tensor, its hooks in registration order). Weak, as
# backward.RETAINED: a tensor that dies takes its hooks with it.
HOOKS: dict[int, tuple[weakref.ref, dict[int, Callable]]] = {}
_NEXT = [0]  # handle numbers, so one function registered twice runs twice and is removed once


class RemovableHandle:
    """What ``register_hook`` returns: ``handle.remove()`` unregisters the hook (twice is harmless).

    Also a context manager: ``with x.register_hook(fn): ...`` removes it on exit.
    """

    def __init__(self, key: int, number: int):
        self._key, self.id = key, number

    def remove(self) -> None:
        entry = HOOKS.get(self._key)
        if entry is not None:
            entry[1].pop(self.id, None)
            if not entry[1]:
                HOOKS.pop(self._key, None)

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.remove()


def register(tensor: Any, fn: Callable) -> RemovableHandle:
    """``tensor.register_hook(fn)``: see the module docstring."""
    if not callable(fn):
        raise TypeError(f"register_hook: expected a function of the gradient, got {type(fn).__name__}")
    if not tensor.requires_grad:
        raise RuntimeError(
            "register_hook: cannot register a hook on a tensor that does not require grad "
            "(no gradient will ever reach it); make it with requires_grad=True, or hook a tensor computed from one"
        )
    key = id(tensor)
    entry = HOOKS.get(key)
    if entry is None or entry[0]() is not tensor:
        entry = HOOKS[key] = (weakref.ref(tensor, lambda _, key=key, table=HOOKS: table.pop(key, None)), {})
    _NEXT[0] += 1
    entry[1][_NEXT[0]] = fn
    return RemovableHandle(key, _NEXT[0])


def hooks_of(tensor: Any) -> list[Callable]:
    """The hooks registered on ``tensor``, in the order they run (empty list: none)."""
    entry = HOOKS.get(id(tensor))
    if entry is None or entry[0]() is not tensor:
        return []
    return list(entry[1].values())


def run(tensor: Any, grad: Any, label: str = "") -> Any:
    """Pass ``grad`` through ``tensor``'s hooks in order; return the gradient that goes on.

    A hook's result must have the gradient's shape; a NumPy gradient stays a
    NumPy array of the tensor's dtype, a recorded (Tensor) gradient stays a Tensor.
    """
    from .tensor import Tensor

    for fn in hooks_of(tensor):
        shown = grad
        if isinstance(grad, np.ndarray):  # read-only: the array may be shared with other gradients
            shown = grad.view()
            shown.flags.writeable = False
        result = fn(shown)
        if result is None or result is shown:
            continue
        name = getattr(fn, "__name__", type(fn).__name__)
        where = label or (repr(tensor.name) if tensor.name else f"a tensor of shape {tensor.shape}")
        if np.shape(getattr(result, "data", result)) != np.shape(getattr(grad, "data", grad)):
            raise ValueError(
                f"hook {name} on {where} returned a gradient of shape {np.shape(getattr(result, 'data', result))}, "
                f"but the gradient has shape {np.shape(getattr(grad, 'data', grad))}: return one of the same shape "
                f"(or None to leave it unchanged)"
            )
        if isinstance(grad, Tensor):
            grad = result if isinstance(result, Tensor) else Tensor(np.asarray(result, dtype=tensor.dtype))
        else:
            grad = np.array(getattr(result, "data", result), dtype=tensor.dtype)
    return grad


def hooked_leaves(order: list) -> dict[int, list]:
    """For a backward pass over ``order``: the hooked leaves, grouped by the position of the node
    after which their gradient is complete (the first node in ``order`` that reads them, which the
    reverse walk reaches last)."""
    flush: dict[int, list] = {}
    seen: set[int] = set()
    for position, node in enumerate(order):
        for t, needed in zip(node.inputs, node.needs):
            if needed and t._node is None and id(t) not in seen and id(t) in HOOKS and hooks_of(t):
                seen.add(id(t))
                flush.setdefault(position, []).append(t)
    return flush


class HookChange:
    """A gradient a hook replaced at one step of the backward pass: the tensor, before and after."""

    __slots__ = ("tensor", "before", "after")

    def __init__(self, tensor: Any, before: Any, after: Any):
        self.tensor, self.before, self.after = tensor, before, after

    def describe(self, label: str) -> str:
        """One line for the step text (after its ``hook`` label): what the hook did to dL/d(label),
        and by how much."""
        before = np.asarray(getattr(self.before, "data", self.before))
        after = np.asarray(getattr(self.after, "data", self.after))
        change = float(np.linalg.norm(after - before))
        return (f"changed dL/d{label}: norm {np.linalg.norm(before):.4g} -> {np.linalg.norm(after):.4g}, "
                f"a change of norm {change:.4g}")
