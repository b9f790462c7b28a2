"""Numeric helpers shared by the checks: the closed form in numbers, and finite differences."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..gradcheck import numerical_grad

FD_STEP = 1e-4


def finite_difference(fn: Callable[[], float], x: np.ndarray, eps: float = FD_STEP) -> np.ndarray:
    """Central differences with one Richardson extrapolation: (4 D(eps/2) - D(eps)) / 3.

    A plain central difference D(eps) has error c eps^2 + (rounding ~ 1e-16/eps);
    combining two step sizes cancels the eps^2 term, leaving O(eps^4). With
    eps = 1e-4 both parts are small even for T = 200 unrolls, whose high
    derivatives are large: relative errors ~1e-11 (eps = 1e-3 left 4e-7 at T = 100).
    ``x`` is perturbed in place (via ``tr.numerical_grad``) and restored.
    """
    coarse = numerical_grad(fn, x, eps)
    fine = numerical_grad(fn, x, eps / 2)
    return (4 * fine - coarse) / 3


def recurrent_step(steps: int) -> float:
    """The step for perturbing a *linear* recurrent weight over ``steps`` steps: min(FD_STEP, 0.02 / T).

    w^T changes by a factor (1 + eps/w)^T ≈ e^(T eps / w): with eps = 1e-4 and T = 2000 that is
    e^0.2, far from linear, and the extrapolated difference is off by ~1e-5 relative. Keeping
    T eps <= 0.02 keeps it in the regime where Richardson's O(eps^4) error is small."""
    return min(FD_STEP, 0.02 / steps)


def closed_form_values(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Evaluate z_t = a_t + sum_{i<t} (prod_{j=i+1..t} b_j) a_i for t = 0..T numerically.

    A[t] and B[t] hold a_t and b_t (A[0] = a_0 = 0). Every z_t is computed from
    the closed form directly (the suffix products of b), not from the recurrence.
    """
    Z = np.empty(len(A))
    for n in range(len(A)):
        suffix = np.cumprod(B[n:0:-1])[::-1]  # suffix[i] = prod_{j=i+1..n} b_j, i = 0..n-1
        Z[n] = A[n] + suffix @ A[:n]
    return Z


def finite_difference_jacobian(fn: Callable[[], np.ndarray], x: np.ndarray, eps: float = FD_STEP) -> np.ndarray:
    """d fn() / d x for an array-valued ``fn``: shape fn().shape + x.shape (Richardson, as above).

    One perturbation of each element of ``x`` serves every output at once, so a
    whole sequence of states costs 4 evaluations per element, not 4 per output.
    """
    flat = x.reshape(-1)
    columns = []
    for i in range(flat.size):
        old = flat[i]

        def central(step: float, i: int = i, old: float = old) -> np.ndarray:
            flat[i] = old + step
            plus = np.array(fn(), dtype=float)
            flat[i] = old - step
            minus = np.array(fn(), dtype=float)
            flat[i] = old
            return (plus - minus) / (2 * step)

        columns.append((4 * central(eps / 2) - central(eps)) / 3)
    out = np.stack(columns, axis=-1)
    return out.reshape(out.shape[:-1] + x.shape)
