"""The four op rules: what each op sends back to its inputs, given g = dL/dy."""

import numpy as np


def tanh_backward(g, cache):
    """y = tanh(x): dL/dx = g ⊙ (1 − y²)."""
    return {"dx": g * (1 - cache["y"] ** 2)}


def sigmoid_backward(g, cache):
    """y = σ(x): dL/dx = g ⊙ y ⊙ (1 − y)."""
    y = cache["y"]
    return {"dx": g * y * (1 - y)}


def unbroadcast(grad, shape):
    """Sum ``grad`` over the axes along which an operand of ``shape`` was broadcast, back to ``shape``."""
    while grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    for axis, size in enumerate(shape):
        if size == 1 and grad.shape[axis] != 1:
            grad = grad.sum(axis=axis, keepdims=True)
    return grad


def matmul_backward(g, cache):
    """y = a @ b: dL/da = g bᵀ, dL/db = aᵀ g (summed over the batch when b is shared by it)."""
    a, b = cache["a"], cache["b"]
    da = g @ np.swapaxes(b, -1, -2)
    db = unbroadcast(np.swapaxes(a, -1, -2) @ g, b.shape)
    return {"da": da, "db": db}


def mul_backward(g, cache):
    """y = a ⊙ b: dL/da = g ⊙ b and dL/db = g ⊙ a, each summed back to its operand's shape."""
    a, b = cache["a"], cache["b"]
    return {"da": unbroadcast(g * b, a.shape), "db": unbroadcast(g * a, b.shape)}
