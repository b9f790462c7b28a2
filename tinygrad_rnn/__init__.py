"""tinygrad-rnn: a NumPy autograd engine that records recurrent networks as graphs.

    import tinygrad_rnn as tr
    W = tr.Tensor(np.random.randn(3, 3), requires_grad=True, name="W_hh")
    h = tr.Tensor(np.zeros(3))
    for t in range(4):
        with tr.scope(f"t{t}"):
            h = (W @ h + 1.0).tanh()
    h.sum().backward()        # W.grad: the sum of four contributions, one per step
    tr.trace(h)               # the recorded graph as data
"""

from . import data, functional, nn, optim
from .backward import BackwardPass, reference_backward
from .gradcheck import GradcheckError, gradcheck, gradgradcheck, numerical_grad
from .graph import (
    AnomalyError,
    Graph,
    NodeRecord,
    TensorRecord,
    current_scope,
    detect_anomaly,
    enable_grad,
    is_grad_enabled,
    is_teaching_mode,
    no_grad,
    scope,
    teaching_mode,
    trace,
)
from .higher_order import grad, hvp
from .metrics import perplexity
from .nn import manual_seed
from .ops import (
    ShapeError,
    cat,
    chunk,
    concat,
    embedding,
    exp,
    log,
    matmul,
    relu,
    sigmoid,
    split,
    stack,
    tanh,
    where,
)
from .replay import ReplayMismatch, compile
from .serialization import load, save
from .stepper import BackwardStepper, StepEvent
from .tensor import Parameter, Tensor, get_default_dtype, set_default_dtype

F = functional

__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    """``tr.symbolic`` loads on first use: it imports SymPy, which takes about a second.
    ``tr.exercises`` too (a learner's tool, not part of the engine), and ``tr.contributions`` /
    ``tr.connectivity`` (``tr.attribution``)."""
    if name in ("symbolic", "exercises"):
        import importlib

        return importlib.import_module(f".{name}", __name__)
    if name in ("attribution", "contributions", "connectivity"):  # attribution: where gradients come from
        import importlib

        module = importlib.import_module(".attribution", __name__)
        return module if name == "attribution" else getattr(module, name)
    if name in ("bptt_loop", "BPTTLoop"):  # the BPTT loop writer (tinygrad_rnn/loops/): loaded on first use
        import importlib

        value = getattr(importlib.import_module(".loops", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'tinygrad_rnn' has no attribute {name!r}")


__all__ = [
    "AnomalyError",
    "BackwardPass",
    "BackwardStepper",
    "F",
    "Graph",
    "GradcheckError",
    "NodeRecord",
    "ReplayMismatch",
    "Parameter",
    "ShapeError",
    "StepEvent",
    "Tensor",
    "TensorRecord",
    "cat",
    "chunk",
    "compile",
    "concat",
    "current_scope",
    "data",
    "detect_anomaly",
    "embedding",
    "enable_grad",
    "exp",
    "functional",
    "get_default_dtype",
    "grad",
    "gradcheck",
    "gradgradcheck",
    "hvp",
    "is_grad_enabled",
    "is_teaching_mode",
    "load",
    "log",
    "matmul",
    "manual_seed",
    "nn",
    "no_grad",
    "numerical_grad",
    "reference_backward",
    "optim",
    "perplexity",
    "relu",
    "save",
    "scope",
    "set_default_dtype",
    "sigmoid",
    "split",
    "stack",
    "tanh",
    "teaching_mode",
    "trace",
    "where",
]
