"""Optimizers and gradient clipping, with PyTorch's update rules.

An optimizer holds a list of parameters (tensors with ``requires_grad``) and,
after ``loss.backward()`` has filled their ``.grad``, ``step()`` moves each
parameter's ``.data`` in place. The training loop is the one PyTorch users
write::

    opt = tr.optim.Adam(model.parameters(), lr=1e-3)
    for x, y in batches:
        opt.zero_grad()                                  # grads -> None
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        tr.optim.clip_grad_norm_(model.parameters(), 5.0)  # tame exploding gradients
        opt.step()

Each optimizer's docstring gives its update rule, written as in PyTorch's
documentation; with the same hyperparameters the numbers agree with
``torch.optim`` to rounding (tests/fixtures/optim_steps.npz holds PyTorch's
trajectories). Parameters whose ``.grad`` is None are skipped by ``step()``.

Hyperparameters live in ``opt.param_groups`` (a list of dicts, as in
PyTorch), so a schedule is ``opt.param_groups[0]["lr"] *= 0.5``. Pass a list
of dicts instead of tensors to give groups their own settings::

    tr.optim.SGD([{"params": encoder_params}, {"params": decoder_params, "lr": 0.01}], lr=0.1)
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from .graph import enable_grad
from .tensor import Tensor

__all__ = ["SGD", "Adam", "Adagrad", "Optimizer", "clip_grad_norm_", "clip_grad_value_"]


class Optimizer:
    """Base class: parameter groups, per-parameter state, ``zero_grad`` and checkpoints.

    A subclass passes its hyperparameters as ``defaults`` and defines ``_check``
    (their validity rules) and ``_update(p, grad, state, group)`` (one
    parameter's step; ``state["step"]`` already counts this step).
    """

    def __init__(self, params: Iterable[Any], defaults: dict[str, Any]):
        self._check(defaults, "")
        self.defaults = dict(defaults)
        self.param_groups: list[dict[str, Any]] = []
        self.state: dict[int, dict[str, Any]] = {}  # keyed by id(parameter)
        name = type(self).__name__
        if isinstance(params, Tensor):
            raise TypeError(
                f"{name}: params should be an iterable of tensors, got one Tensor; "
                f"pass [tensor] or model.parameters()"
            )
        items = list(params)
        if not items:
            raise ValueError(f"{name}: got an empty parameter list: there is nothing to optimize")
        groups = items if isinstance(items[0], dict) else [{"params": items}]
        seen: set[int] = set()
        for g, group in enumerate(groups):
            if not isinstance(group, dict):
                raise TypeError(f"{name}: mix of tensors and parameter-group dicts in params (item {g})")
            self._add_group(group, g, seen)

    def _add_group(self, group: dict[str, Any], g: int, seen: set[int]) -> None:
        name = type(self).__name__
        if "params" not in group:
            raise ValueError(f"{name}: parameter group {g} has no 'params' key")
        unknown = set(group) - set(self.defaults) - {"params"}
        if unknown:
            raise ValueError(
                f"{name}: parameter group {g} has unknown option(s) {sorted(unknown)}; "
                f"known: {sorted(self.defaults)}"
            )
        params = group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        if not params:
            raise ValueError(f"{name}: parameter group {g} is empty")
        for i, p in enumerate(params):
            label = repr(p.name) if getattr(p, "name", None) else f"#{i}"
            if not isinstance(p, Tensor):
                raise TypeError(f"{name}: parameter {label} of group {g} is a {type(p).__name__}, not Tensor")
            if not p.requires_grad:
                raise ValueError(
                    f"{name}: parameter {label} of group {g} does not require grad, so it would never "
                    f"change; use tr.Parameter(...) or tensor.requires_grad_()"
                )
            if not p.is_leaf:
                raise ValueError(
                    f"{name}: parameter {label} of group {g} was computed by an op ({p.op}); "
                    f"optimize the leaf tensors it came from"
                )
            if id(p) in seen:
                raise ValueError(f"{name}: parameter {label} appears more than once in params")
            seen.add(id(p))
        full = {**self.defaults, **group, "params": params}
        self._check(full, f" (group {g})")
        self.param_groups.append(full)

    def _check(self, hyper: dict[str, Any], where: str) -> None:
        for key, value in hyper.items():
            if key == "params":
                continue
            if not isinstance(value, (numbers.Real, tuple, list)):
                raise TypeError(f"{type(self).__name__}: {key} must be a number, got {value!r}{where}")
            numbers_in = value if isinstance(value, (tuple, list)) else (value,)
            if not all(isinstance(v, numbers.Real) and math.isfinite(v) for v in numbers_in):
                raise ValueError(
                    f"{type(self).__name__}: {key} must be a finite number, got {value!r}{where} "
                    f"(a NaN or infinite hyperparameter would turn every parameter into NaN)"
                )
        if hyper["lr"] < 0:
            raise ValueError(f"{type(self).__name__}: lr must be >= 0, got {hyper['lr']}{where}")
        if hyper.get("weight_decay", 0) < 0:
            raise ValueError(
                f"{type(self).__name__}: weight_decay must be >= 0, got {hyper['weight_decay']}{where}"
            )

    def _params(self) -> list[Tensor]:
        return [p for group in self.param_groups for p in group["params"]]

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients of the last backward (leaf gradients accumulate otherwise).

        ``set_to_none=True`` (PyTorch's default) sets ``.grad = None``, so a
        parameter that the next loss does not reach is skipped by ``step()``;
        ``False`` fills the existing arrays with zeros.
        """
        for p in self._params():
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                p.grad[...] = 0

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient; return ``closure()``'s loss if given."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if p.grad.shape != p.shape:
                    raise ValueError(
                        f"{type(self).__name__}: parameter {p.name or ''!r} has shape {p.shape} "
                        f"but its grad has shape {p.grad.shape}"
                    )
                state = self.state.setdefault(id(p), {"step": 0})
                state["step"] += 1
                self._update(p, p.grad, state, group)
        return loss

    def _update(self, p: Tensor, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]) -> None:
        raise NotImplementedError

    # --- checkpoints -------------------------------------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        """The optimizer's state as a flat ``{name: ndarray}`` dict, ready for ``tr.save``.

        PyTorch nests it (``{"state": {...}, "param_groups": [...]}``); here it is
        flattened so that a checkpoint is one ``.npz`` of plain arrays:
        ``state.<i>.<buffer>`` for parameter i (counted over all groups, in
        order), ``param_groups.<g>.<option>`` for the hyperparameters and
        ``param_groups.<g>.params`` for the indices of group g's parameters.
        """
        out: dict[str, np.ndarray] = {}
        index = 0
        for g, group in enumerate(self.param_groups):
            count = len(group["params"])
            out[f"param_groups.{g}.params"] = np.arange(index, index + count)
            for key in self.defaults:
                out[f"param_groups.{g}.{key}"] = np.asarray(group[key])
            for p in group["params"]:
                for key, value in self.state.get(id(p), {}).items():
                    out[f"state.{index}.{key}"] = np.array(value)
                index += 1
        return out

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore hyperparameters and buffers saved by ``state_dict()``.

        The optimizer must have been built over parameters of the same shapes,
        in the same groups. Everything is checked before anything changes: an
        unexpected, missing or wrongly shaped entry raises ``ValueError`` naming it.
        """
        name = type(self).__name__
        params = self._params()
        groups = len(self.param_groups)
        known = {f"param_groups.{g}.{k}" for g in range(groups) for k in [*self.defaults, "params"]}
        new_state: dict[int, dict[str, Any]] = {}
        for key, value in state_dict.items():
            value = np.asarray(value)
            if key in known:
                continue
            parts = key.split(".")
            if len(parts) != 3 or parts[0] != "state" or not parts[1].isdigit():
                raise ValueError(f"{name}.load_state_dict: unexpected key {key!r} (from another optimizer?)")
            i, buffer = int(parts[1]), parts[2]
            if i >= len(params):
                raise ValueError(
                    f"{name}.load_state_dict: {key!r} is for parameter {i}, but this optimizer has "
                    f"{len(params)} parameters"
                )
            expected = () if buffer == "step" else params[i].shape
            if value.shape != expected:
                raise ValueError(
                    f"{name}.load_state_dict: {key!r} has shape {value.shape}, but parameter {i} "
                    f"needs {expected}"
                )
            new_state.setdefault(id(params[i]), {})[buffer] = (
                int(value) if buffer == "step" else value.astype(params[i].dtype, copy=True)
            )
        missing = sorted(known - set(state_dict))
        if missing:
            raise ValueError(f"{name}.load_state_dict: missing key(s) {missing}")
        start = 0
        for g, group in enumerate(self.param_groups):
            saved = np.asarray(state_dict[f"param_groups.{g}.params"]).reshape(-1)
            count = len(group["params"])
            if not np.array_equal(saved, np.arange(start, start + count)):
                raise ValueError(
                    f"{name}.load_state_dict: group {g} was saved with {saved.size} parameters, "
                    f"this optimizer's group {g} has {count}"
                )
            start += count
        for g, group in enumerate(self.param_groups):
            for key, default in self.defaults.items():
                value = np.asarray(state_dict[f"param_groups.{g}.{key}"])
                if isinstance(default, bool):
                    group[key] = bool(value)
                elif isinstance(default, tuple):
                    group[key] = tuple(float(v) for v in value.reshape(-1))
                else:
                    group[key] = float(value)
        self.state = new_state

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for g, group in enumerate(self.param_groups):
            options = ", ".join(f"{k}={group[k]}" for k in self.defaults)
            lines.append(f"  group {g}: {len(group['params'])} parameters, {options}")
        return "\n".join(lines) + "\n)"


class SGD(Optimizer):
    r"""Stochastic gradient descent, optionally with momentum (PyTorch's formulation).

    With g = grad + weight_decay * p, at step t:

        b_t = g                                    (t = 1)
        b_t = momentum * b_{t-1} + (1 - dampening) * g   (t > 1)
        d   = g + momentum * b_t   if nesterov else b_t   (d = g when momentum = 0)
        p  <- p - lr * d

    Momentum keeps a running direction b, so steps grow along directions the
    gradient keeps pointing to and cancel where it oscillates. Note PyTorch's
    form: lr multiplies the whole buffer (Sutskever et al. put lr inside b).
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
    ):
        super().__init__(
            params,
            dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay, nesterov=nesterov),
        )

    def _check(self, hyper: dict[str, Any], where: str) -> None:
        super()._check(hyper, where)
        if hyper["momentum"] < 0:
            raise ValueError(f"SGD: momentum must be >= 0, got {hyper['momentum']}{where}")
        if hyper["nesterov"] and (hyper["momentum"] <= 0 or hyper["dampening"] != 0):
            raise ValueError(f"SGD: nesterov=True needs momentum > 0 and dampening = 0{where}")

    def _update(self, p: Tensor, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]) -> None:
        if group["weight_decay"]:
            grad = grad + group["weight_decay"] * p.data
        momentum = group["momentum"]
        if momentum:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = np.array(grad, dtype=p.dtype, copy=True)
            else:
                buf *= momentum
                buf += (1 - group["dampening"]) * grad
            grad = grad + momentum * buf if group["nesterov"] else buf
        p.data -= group["lr"] * grad


class Adam(Optimizer):
    r"""Adam (Kingma & Ba), with PyTorch's L2 ``weight_decay`` and optional AMSGrad.

    With g = grad + weight_decay * p, at step t:

        m_t = beta1 * m_{t-1} + (1 - beta1) * g          (mean of gradients)
        v_t = beta2 * v_{t-1} + (1 - beta2) * g^2        (mean of squared gradients)
        m^  = m_t / (1 - beta1^t),  v^ = v_t / (1 - beta2^t)   (undo the bias of m_0 = v_0 = 0)
        p  <- p - lr * m^ / (sqrt(v^) + eps)

    Each coordinate gets its own step size lr / sqrt(v^): large where gradients
    have been large, so a step moves every coordinate by about lr.
    ``amsgrad=True`` uses the running maximum of v_t instead of v_t.
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
    ):
        super().__init__(
            params,
            dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, amsgrad=amsgrad),
        )

    def _check(self, hyper: dict[str, Any], where: str) -> None:
        super()._check(hyper, where)
        betas = tuple(hyper["betas"])
        if len(betas) != 2 or not all(0 <= b < 1 for b in betas):
            raise ValueError(f"Adam: betas must be two numbers in [0, 1), got {hyper['betas']}{where}")
        if hyper["eps"] < 0:
            raise ValueError(f"Adam: eps must be >= 0, got {hyper['eps']}{where}")

    def _update(self, p: Tensor, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]) -> None:
        if group["weight_decay"]:
            grad = grad + group["weight_decay"] * p.data
        beta1, beta2 = group["betas"]
        if "exp_avg" not in state:
            state["exp_avg"] = np.zeros_like(p.data)
            state["exp_avg_sq"] = np.zeros_like(p.data)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = np.zeros_like(p.data)
        m, v, t = state["exp_avg"], state["exp_avg_sq"], state["step"]
        m *= beta1
        m += (1 - beta1) * grad
        v *= beta2
        v += (1 - beta2) * grad * grad
        if group["amsgrad"]:
            np.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
            v = state["max_exp_avg_sq"]
        m_hat = m / (1 - beta1**t)
        v_hat = v / (1 - beta2**t)
        p.data -= group["lr"] * m_hat / (np.sqrt(v_hat) + group["eps"])


class Adagrad(Optimizer):
    r"""Adagrad (Duchi et al.): the optimizer of Karpathy's min-char-rnn.

    With g = grad + weight_decay * p, at step t:

        lr_t = lr / (1 + (t - 1) * lr_decay)
        s_t  = s_{t-1} + g^2                  (s_0 = initial_accumulator_value)
        p   <- p - lr_t * g / (sqrt(s_t) + eps)

    The sum s only grows, so each coordinate's step shrinks as its gradients
    accumulate: rare features keep large steps, frequent ones slow down.
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-2,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
    ):
        super().__init__(
            params,
            dict(
                lr=lr,
                lr_decay=lr_decay,
                weight_decay=weight_decay,
                initial_accumulator_value=initial_accumulator_value,
                eps=eps,
            ),
        )

    def _check(self, hyper: dict[str, Any], where: str) -> None:
        super()._check(hyper, where)
        for key in ("lr_decay", "initial_accumulator_value", "eps"):
            if hyper[key] < 0:
                raise ValueError(f"Adagrad: {key} must be >= 0, got {hyper[key]}{where}")

    def _update(self, p: Tensor, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]) -> None:
        if group["weight_decay"]:
            grad = grad + group["weight_decay"] * p.data
        if "sum" not in state:
            state["sum"] = np.full_like(p.data, group["initial_accumulator_value"])
        s = state["sum"]
        s += grad * grad
        lr_t = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
        p.data -= lr_t * grad / (np.sqrt(s) + group["eps"])


# --- gradient clipping --------------------------------------------------------


def _grads(params: Iterable[Tensor] | Tensor, where: str) -> list[np.ndarray]:
    params = [params] if isinstance(params, Tensor) else list(params)
    for i, p in enumerate(params):
        if not isinstance(p, Tensor):
            raise TypeError(f"{where}: params must be tensors, item {i} is a {type(p).__name__}")
    return [p.grad for p in params if p.grad is not None]


def _check_bound(where: str, name: str, value: Any) -> None:
    """A clipping bound is a number >= 0 (not NaN: a NaN bound would silently clip nothing)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{where}: {name} must be a number, got {value!r}")
    if not value >= 0:
        raise ValueError(f"{where}: {name} must be >= 0, got {value}")


def clip_grad_norm_(
    params: Iterable[Tensor] | Tensor,
    max_norm: float,
    norm_type: float | str = 2.0,
    error_if_nonfinite: bool = False,
) -> np.float64:
    r"""Rescale all gradients together so their joint norm is at most ``max_norm``.

    The total norm treats every gradient as one long vector,
    ``total = (sum_i ||g_i||_p^p)^(1/p)`` (for ``norm_type=inf``, the largest
    |entry|). Every gradient is then multiplied in place by
    ``min(1, max_norm / (total + 1e-6))``: nothing changes when the norm is
    already small, and the *direction* is kept when it is clipped (the cure
    for exploding gradients in BPTT, Pascanu et al. 2013). Parameters whose
    ``.grad`` is None are ignored.

    Returns the total norm *before* clipping (a NumPy float: ``float(n)`` or
    ``n.item()``), the number to log when watching for explosions.

    A non-finite gradient is handled as in PyTorch: the total norm is then NaN
    or inf, and every gradient is multiplied by ``max_norm / (total + 1e-6)``
    all the same, which is NaN (every gradient becomes NaN: the step is
    visibly ruined, not silently half-clipped) or 0 (finite entries become 0).
    ``error_if_nonfinite=True`` raises ``FloatingPointError`` instead, before
    any gradient is touched.
    """
    if isinstance(norm_type, str):
        if norm_type.lower() not in ("inf", "infinity"):
            raise ValueError(f"clip_grad_norm_: norm_type must be a number > 0 or 'inf', got {norm_type!r}")
        norm_type = math.inf
    norm_type = float(norm_type)
    if not norm_type > 0:
        raise ValueError(f"clip_grad_norm_: norm_type must be > 0 (2 is the usual), got {norm_type}")
    _check_bound("clip_grad_norm_", "max_norm", max_norm)
    grads = _grads(params, "clip_grad_norm_")
    if not grads:
        return np.float64(0.0)
    if norm_type == math.inf:
        total = max(float(np.max(np.abs(g))) if g.size else 0.0 for g in grads)
    else:
        per_tensor = np.array([np.sum(np.abs(g) ** norm_type) ** (1 / norm_type) for g in grads])
        total = float(np.sum(per_tensor**norm_type) ** (1 / norm_type))
    if error_if_nonfinite and not math.isfinite(total):
        raise FloatingPointError(
            f"clip_grad_norm_: the total gradient norm is {total}; find where it came from with "
            f"tr.detect_anomaly(), or pass error_if_nonfinite=False"
        )
    coefficient = max_norm / (total + 1e-6)
    scale = coefficient if not coefficient >= 1.0 else 1.0  # NaN stays NaN, as torch.clamp(max=1) keeps it
    for g in grads:
        g *= scale
    return np.float64(total)


def clip_grad_value_(params: Iterable[Tensor] | Tensor, clip_value: float) -> None:
    """Clamp every gradient entry into [-clip_value, clip_value], in place.

    Unlike ``clip_grad_norm_`` this changes the gradient's direction; it only
    guarantees that no single entry is huge.
    """
    _check_bound("clip_grad_value_", "clip_value", clip_value)
    for g in _grads(params, "clip_grad_value_"):
        np.clip(g, -clip_value, clip_value, out=g)
