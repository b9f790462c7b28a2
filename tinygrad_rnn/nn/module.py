"""Module: the container every layer is built from, with PyTorch's bookkeeping.

A module owns parameters and child modules, registered simply by assigning
them as attributes (``self.weight = Parameter(...)``, ``self.fc = Linear(...)``).
From that registry it derives everything PyTorch users expect:
``parameters()``, ``named_parameters()`` with dotted names (``fc.weight``),
``state_dict()`` / ``load_state_dict()``, ``zero_grad()``, ``train()`` /
``eval()`` and a nested ``repr``.

Random initialisation draws from NumPy generators: pass ``rng=`` (a seed or a
``np.random.Generator``) to any layer, or call ``manual_seed(n)`` once to make
every layer created afterwards without ``rng=`` reproducible.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple

import numpy as np

from ..tensor import Parameter, Tensor, get_default_dtype

_FLOAT_DTYPES = (np.float64, np.float32, np.float16)
_TORCH_NAMES = {"float": np.float32, "double": np.float64, "half": np.float16}  # torch.float, torch.double, ...

_GLOBAL_RNG = [np.random.default_rng()]


def manual_seed(seed: int) -> None:
    """Seed the generator used by every module made without ``rng=`` (like ``torch.manual_seed``).

    Initial weights and dropout masks then repeat from run to run. The numbers
    differ from PyTorch's (different generators): to reproduce a PyTorch model,
    copy its weights with ``load_state_dict(torch_module.state_dict())``.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"manual_seed: the seed must be a whole number >= 0, got {type(seed).__name__} {seed!r}")
    if seed < 0:
        raise ValueError(f"manual_seed: the seed must be >= 0, got {seed}")
    _GLOBAL_RNG[0] = np.random.default_rng(seed)


def resolve_rng(rng: Any) -> np.random.Generator | None:
    """A module's own generator: None (use the global one), a seed, or a Generator."""
    if rng is None or isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        return np.random.default_rng(int(rng))
    raise TypeError(
        f"rng must be None, an integer seed or a numpy.random.Generator, got {type(rng).__name__}"
    )


def generator(rng: np.random.Generator | None) -> np.random.Generator:
    """The generator to draw from now: the module's own, else the global one."""
    return rng if rng is not None else _GLOBAL_RNG[0]


def uniform(rng: np.random.Generator | None, bound: float, shape: tuple) -> Parameter:
    """A parameter drawn from U(-bound, bound), PyTorch's default for recurrent layers."""
    data = generator(rng).uniform(-bound, bound, shape).astype(get_default_dtype())
    return Parameter(data)


def check_size(owner: str, name: str, value: Any) -> int:
    """Sizes are positive integers; say which argument is wrong otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{owner}: {name} must be a positive integer, got {value!r}")
    return int(value)


class StateDictError(KeyError):
    """``load_state_dict`` found missing, unexpected or wrongly shaped entries (nothing was loaded)."""

    def __str__(self) -> str:
        return str(self.args[0])


class LoadResult(NamedTuple):
    """What ``load_state_dict(strict=False)`` skipped (both empty after a strict load)."""

    missing_keys: list[str]
    unexpected_keys: list[str]


class Module:
    """Base class of layers: register ``Parameter`` and ``Module`` attributes, write ``forward``.

    >>> class TwoLayer(Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.rnn = LSTM(3, 8)
    ...         self.head = Linear(8, 2)
    ...     def forward(self, x):
    ...         out, _ = self.rnn(x)
    ...         return self.head(out)
    >>> [name for name, _ in TwoLayer().named_parameters()][:2]
    ['rnn.weight_ih_l0', 'rnn.weight_hh_l0']

    Each parameter's ``.name`` is kept equal to its dotted name, so recorded
    graphs label it as PyTorch would (``rnn.weight_hh_l0``).
    """

    training: bool

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", {})
        object.__setattr__(self, "_modules", {})
        object.__setattr__(self, "training", True)

    # --- registration by attribute assignment -------------------------------
    def __setattr__(self, name: str, value: Any) -> None:
        registry = self.__dict__.get("_parameters")
        if registry is None:
            raise RuntimeError(f"{type(self).__name__}: call super().__init__() before assigning attributes")
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        if isinstance(value, Parameter):
            self.__dict__.pop(name, None)
            self._parameters[name] = value
            value.name = name
        elif isinstance(value, Module):
            self.__dict__.pop(name, None)
            self._modules[name] = value
            for full_name, parameter in value.named_parameters(prefix=name):
                parameter.name = full_name
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name: str) -> Any:
        # only called when ordinary lookup fails: parameters and children live in registries
        for registry in ("_parameters", "_modules"):
            entries = self.__dict__.get(registry, {})
            if name in entries:
                return entries[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name: str) -> None:
        if name in self._parameters:
            del self._parameters[name]
        elif name in self._modules:
            del self._modules[name]
        else:
            object.__delattr__(self, name)

    # --- walking the tree -------------------------------------------------
    def named_children(self) -> Iterator[tuple[str, Module]]:
        yield from self._modules.items()

    def children(self) -> Iterator[Module]:
        for _, child in self.named_children():
            yield child

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """This module and every descendant, with dotted names ("" for this one)."""
        yield prefix, self
        for name, child in self._modules.items():
            yield from child.named_modules(f"{prefix}.{name}" if prefix else name)

    def modules(self) -> Iterator[Module]:
        for _, module in self.named_modules():
            yield module

    def named_parameters(self, prefix: str = "", recurse: bool = True) -> Iterator[tuple[str, Parameter]]:
        """(dotted name, parameter) pairs: own parameters first, then each child's, in
        registration order; a parameter shared by two modules is listed once."""
        seen: set[int] = set()
        modules = self.named_modules(prefix) if recurse else iter([(prefix, self)])
        for module_name, module in modules:
            for name, parameter in module._parameters.items():
                if id(parameter) not in seen:
                    seen.add(id(parameter))
                    yield (f"{module_name}.{name}" if module_name else name), parameter

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, parameter in self.named_parameters(recurse=recurse):
            yield parameter

    # --- training helpers -------------------------------------------------
    def zero_grad(self) -> None:
        """Forget accumulated gradients (``.grad = None``) before the next backward pass."""
        for parameter in self.parameters():
            parameter.grad = None

    def train(self, mode: bool = True) -> Module:
        """Training mode (dropout active) for this module and all children; returns self."""
        for module in self.modules():
            object.__setattr__(module, "training", bool(mode))
        return self

    def eval(self) -> Module:
        """Evaluation mode (dropout off); same as ``train(False)``."""
        return self.train(False)

    # --- dtype and requires_grad, as in PyTorch ----------------------------
    def to(self, *args: Any, **kwargs: Any) -> Module:
        """Convert every parameter of this module and its submodules to a float dtype, in place; returns self.

        PyTorch's forms work: ``model.to(np.float32)``, ``model.to("float32")``, ``model.to(dtype=...)``
        (``"float"``, ``"double"`` and ``"half"`` mean what they mean in PyTorch: float32, float64, float16),
        ``model.to(some_tensor)`` (its dtype), and a device, ``"cpu"``, which changes nothing (NumPy has
        one device). As in PyTorch the parameters stay the same objects (an optimizer made before still
        updates them) with new numbers, and a gradient already in ``.grad`` is converted with them.
        """
        device, dtype = _to_arguments(args, kwargs)
        if device not in (None, "cpu"):
            raise ValueError(f"Module.to: tinygrad-rnn computes on the CPU with NumPy; there is no device {device!r}")
        if dtype is None:
            return self
        for parameter in self.parameters():
            if parameter.dtype != dtype:
                parameter.data = parameter.data.astype(dtype)
                if parameter.grad is not None:
                    parameter.grad = parameter.grad.astype(dtype)
        return self

    def float(self) -> Module:
        """Every parameter to float32, in place (``to(np.float32)``): the speed switch; returns self."""
        return self.to(np.float32)

    def double(self) -> Module:
        """Every parameter to float64, in place (``to(np.float64)``), the engine's default; returns self."""
        return self.to(np.float64)

    def half(self) -> Module:
        """Every parameter to float16, in place (``to(np.float16)``); returns self."""
        return self.to(np.float16)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Switch gradient tracking of every parameter on or off, in place (freeze a layer with
        ``layer.requires_grad_(False)``: backward then leaves its ``.grad`` alone); returns self."""
        for parameter in self.parameters():
            parameter.requires_grad_(requires_grad)
        return self

    # --- checkpoints ------------------------------------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        """{PyTorch-style dotted name: a copy of the parameter's array}."""
        return {name: parameter.data.copy() for name, parameter in self.named_parameters()}

    def load_state_dict(self, state_dict: Any, strict: bool = True) -> LoadResult:
        """Copy arrays into the parameters of the same names (a PyTorch state_dict works too).

        Everything is checked before anything is copied: a missing key, an
        unexpected key (both allowed with ``strict=False``) or a shape that
        differs raises ``StateDictError`` naming every offending key and
        leaves the module unchanged.
        """
        if not hasattr(state_dict, "items"):
            raise TypeError(
                f"load_state_dict: expected a dict of name -> array (from state_dict() or tr.load), "
                f"got {type(state_dict).__name__}"
            )
        own = dict(self.named_parameters())
        incoming = {str(k): v for k, v in dict(state_dict).items()}
        arrays: dict[str, np.ndarray] = {}
        problems: list[str] = []
        missing = [name for name in own if name not in incoming]
        unexpected = [name for name in incoming if name not in own]
        if strict:
            problems += [f"missing key '{name}' (the model's parameter has shape {own[name].shape})"
                         for name in missing]
            problems += [f"unexpected key '{name}' (shape {_shape_of(incoming[name])}); "
                         f"the model has no parameter of that name" for name in unexpected]
        for name, parameter in own.items():
            if name not in incoming:
                continue
            array = _as_array(incoming[name])
            if array is None or array.dtype.kind not in "fiu":
                problems.append(f"key '{name}' holds {type(incoming[name]).__name__}, not a numeric array")
            elif array.shape != parameter.shape:
                problems.append(f"key '{name}': the checkpoint has shape {array.shape} but the model's "
                                f"parameter has shape {parameter.shape}")
            else:
                arrays[name] = array
        if problems:
            raise StateDictError(
                f"load_state_dict for {type(self).__name__} failed, nothing was changed:\n  "
                + "\n  ".join(problems)
            )
        for name, array in arrays.items():
            own[name].data[...] = array
            own[name]._bump_version()  # an in-place write: graphs recorded before can't be backpropagated
        return LoadResult(missing, unexpected)

    # --- calling and printing ---------------------------------------------
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    def extra_repr(self) -> str:
        """The constructor arguments worth showing, e.g. ``3, 8, num_layers=2``."""
        return ""

    def __repr__(self) -> str:
        extra = self.extra_repr()
        if not self._modules:
            return f"{type(self).__name__}({extra})"
        lines = [extra] if extra else []
        for name, child in self._modules.items():
            lines.append(f"({name}): " + repr(child).replace("\n", "\n  "))
        return f"{type(self).__name__}(\n  " + "\n  ".join(lines) + "\n)"


def _to_arguments(args: tuple, kwargs: dict) -> tuple[str | None, type | None]:
    """``Module.to``'s arguments as (device, float dtype): positional device and/or dtype, or a tensor, or
    the keywords ``device=`` and ``dtype=`` (``non_blocking=`` and ``copy=`` are accepted and mean nothing here)."""
    unknown = set(kwargs) - {"device", "dtype", "non_blocking", "copy", "memory_format"}
    if unknown or len(args) > 2:
        raise TypeError(f"Module.to: expected to(dtype), to(device), to(device, dtype) or to(tensor), got "
                        f"{len(args)} positional arguments and keywords {sorted(kwargs)}")
    device, dtype = kwargs.get("device"), kwargs.get("dtype")
    for arg in args:
        if isinstance(arg, Tensor) or isinstance(arg, np.ndarray):
            dtype = arg.dtype
        elif isinstance(arg, str) and arg.split(":")[0] in ("cpu", "cuda", "mps", "xpu", "meta"):
            device = arg
        else:
            dtype = arg
    if dtype is None:
        return device, None
    if isinstance(dtype, str) and dtype in _TORCH_NAMES:  # "float" is float32 in PyTorch (NumPy says float64)
        return device, _TORCH_NAMES[dtype]
    try:
        resolved = np.dtype(dtype)
    except TypeError:
        resolved = None
    if resolved is None or resolved.kind != "f" or resolved.type not in _FLOAT_DTYPES:
        raise TypeError(f"Module.to only converts to a float dtype (float64, float32, float16), got {dtype!r}; "
                        "parameters hold real numbers with gradients")
    return device, resolved.type


def _as_array(value: Any) -> np.ndarray | None:
    """NumPy arrays, our Tensors and PyTorch tensors (via ``.detach().cpu().numpy()``)."""
    if isinstance(value, Tensor):
        return value.data
    if hasattr(value, "detach") and hasattr(value, "cpu"):
        value = value.detach().cpu().numpy()
    try:
        return np.asarray(value)
    except (TypeError, ValueError):
        return None


def _shape_of(value: Any) -> tuple | str:
    array = _as_array(value)
    return array.shape if array is not None else "unknown"
