"""Check autograd against central differences: the ground truth for every op.

For a scalar function L(x), each partial derivative is approximated by

    dL/dx_i ~ (L(x + eps e_i) - L(x - eps e_i)) / (2 eps)

whose error is O(eps^2). A non-scalar output y is reduced to L = sum(y * v)
with a fixed random v, which checks the whole vector-Jacobian product.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from .graph import enable_grad, no_grad
from .higher_order import grad
from .ops import concat
from .tensor import Tensor


class GradcheckError(AssertionError):
    """Autograd and finite differences disagree; the message names the worst element."""


def numerical_grad(fn: Callable[[], float], x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central differences of a scalar function of the array ``x`` (perturbed in place)."""
    grad = np.zeros_like(x)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        plus = fn()
        flat[i] = old - eps
        minus = fn()
        flat[i] = old
        gflat[i] = (plus - minus) / (2 * eps)
    return grad


def gradcheck(
    fn: Callable[..., Tensor],
    inputs: Sequence[Tensor],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    seed: int = 0,
) -> bool:
    """Compare ``fn(*inputs)``'s autograd gradients with central differences.

    Every input with ``requires_grad`` is checked element by element; an
    element fails when |autograd - numeric| > atol + rtol * |numeric|. Returns
    True, or raises ``GradcheckError`` naming the input, the element and both
    numbers (returns False instead with ``raise_exception=False``).
    """
    for name, value in (("eps", eps), ("atol", atol), ("rtol", rtol)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
            raise ValueError(f"gradcheck: {name} must be a finite number >= 0, got {value!r}")
    if eps == 0:
        raise ValueError("gradcheck: eps must be positive: the differences divide by 2 * eps (try eps=1e-6)")
    inputs = list(inputs)
    checked = [t for t in inputs if isinstance(t, Tensor) and t.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires grad, so there is nothing to check")
    for t in checked:
        if t.dtype != np.float64:
            raise TypeError(f"gradcheck needs float64 inputs for accurate differences, got {t.dtype}")

    out = fn(*inputs)
    if not isinstance(out, Tensor):
        raise TypeError(f"gradcheck: fn must return a Tensor, got {type(out).__name__}")
    weights = np.random.default_rng(seed).standard_normal(out.shape)

    def loss_value() -> float:
        with no_grad():
            return float(np.sum(fn(*inputs).data * weights))

    saved = [t.grad for t in checked]
    for t in checked:
        t.grad = None
    if out.requires_grad:
        (out * weights).sum().backward()
    analytic = [t.grad if t.grad is not None else np.zeros_like(t.data) for t in checked]  # none reached: 0
    for t, g in zip(checked, saved):
        t.grad = g

    worst = None
    for k, (t, a) in enumerate(zip(checked, analytic)):
        numeric = numerical_grad(loss_value, t.data, eps)
        excess = np.abs(a - numeric) - (atol + rtol * np.abs(numeric))
        i = int(np.argmax(excess))
        if excess.reshape(-1)[i] > 0 and (worst is None or excess.reshape(-1)[i] > worst[0]):
            index = np.unravel_index(i, t.shape) if t.shape else ()
            worst = (excess.reshape(-1)[i], k, t, index, a[index], numeric[index])
    if worst is None:
        return True
    _, k, t, index, a_val, n_val = worst
    position = next(i for i, x in enumerate(inputs) if x is t)  # (not inputs.index(t): == is element-wise)
    label = f"input {position}" + (f" ({t.name!r})" if t.name else "")
    message = (
        f"gradcheck failed for {label} at index {tuple(int(i) for i in index)}: "
        f"autograd {a_val:.10g}, numerical {n_val:.10g}, |diff| {abs(a_val - n_val):.3g} "
        f"> atol {atol} + rtol {rtol} * |numerical|"
    )
    if raise_exception:
        raise GradcheckError(message)
    return False


def gradgradcheck(
    fn: Callable[..., Tensor],
    inputs: Sequence[Tensor],
    grad_outputs: Tensor | None = None,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    seed: int = 0,
) -> bool:
    """Check second derivatives: ``gradcheck`` of the recorded gradient (as PyTorch's).

    The function checked is (inputs, v) -> grad(fn(inputs), inputs, grad_outputs=v,
    create_graph=True), flattened and joined: its autograd gradient is the
    double backward (the backward pass of the recorded backward pass), and its
    central differences are differences of first-order gradients. ``v`` is a
    random tensor shaped like fn's output (or ``grad_outputs``) and is checked
    too, since the gradient is linear in it.
    """
    inputs = list(inputs)
    wrt = [k for k, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    if not wrt:
        raise ValueError("gradgradcheck: no input requires grad, so there is nothing to check")
    if grad_outputs is None:
        with no_grad():
            shape = fn(*inputs).shape
        rng = np.random.default_rng(seed + 1)
        grad_outputs = Tensor(rng.standard_normal(shape), requires_grad=True, name="grad_output")

    def first_order(*args: Tensor) -> Tensor:
        *xs, v = args
        with enable_grad():
            found = grad(fn(*xs), [xs[k] for k in wrt], v, create_graph=True, allow_unused=True)
            flat = [Tensor(np.zeros(xs[k].size)) if g is None else g.reshape(-1) for k, g in zip(wrt, found)]
            return concat(flat)

    return gradcheck(first_order, [*inputs, grad_outputs], eps, atol, rtol, raise_exception, seed)
