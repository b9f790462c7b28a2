"""The two benchmark tasks, each in three implementations sharing one set of weights.

Tasks (PyTorch parameter names and layouts throughout):

- ``rnn``: min-char-rnn's model: one-hot characters (V = 65) into an Elman RNN
  (hidden 100), a linear read-out back to V, softmax cross-entropy summed over
  every step (T = 25, batch 1).
- ``lstm``: one LSTM layer (input 128, hidden 256, T = 35, batch 32) and the
  mean squared error of its outputs against a fixed random target.

Implementations: ``Engine`` (``tr.nn.RNN`` / ``tr.nn.LSTM``, graph recorded),
``Reference`` (``references.py``: NumPy by hand, no graph),
``Torch`` (``torch.nn.RNN`` / ``torch.nn.LSTM`` on the CPU, when installed).
Each has ``fwd_bwd()`` (one forward + backward, returns the loss) and
``grads()`` ({name: ndarray}).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

import tinygrad_rnn as tr

from . import references


@dataclass(frozen=True)
class Task:
    """One benchmark configuration: which model and its sizes."""

    kind: str  # "rnn" (char model) or "lstm"
    T: int
    B: int
    I: int
    H: int

    def label(self) -> str:
        model = "RNN char" if self.kind == "rnn" else "LSTM"
        return f"{model} T={self.T} B={self.B} {self.I}->{self.H}"


RNN_CHAR = Task("rnn", T=25, B=1, I=65, H=100)
LSTM = Task("lstm", T=35, B=32, I=128, H=256)


def init_params(task: Task, dtype: Any, seed: int = 0) -> dict[str, np.ndarray]:
    """PyTorch's init: every weight and bias uniform in [-1/sqrt(H), 1/sqrt(H)]."""
    rng = np.random.default_rng(seed)
    gates = 4 if task.kind == "lstm" else 1
    k = 1 / np.sqrt(task.H)
    shapes = {
        "weight_ih_l0": (gates * task.H, task.I),
        "weight_hh_l0": (gates * task.H, task.H),
        "bias_ih_l0": (gates * task.H,),
        "bias_hh_l0": (gates * task.H,),
    }
    if task.kind == "rnn":
        shapes["out.weight"] = (task.I, task.H)
        shapes["out.bias"] = (task.I,)
    return {name: rng.uniform(-k, k, shape).astype(dtype) for name, shape in shapes.items()}


def make_batch(task: Task, dtype: Any, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Inputs and targets: one-hot characters and next-character ids (rnn), or
    Gaussian inputs and a Gaussian target sequence (lstm)."""
    rng = np.random.default_rng(seed)
    if task.kind == "rnn":
        ids = rng.integers(0, task.I, size=(task.T + 1, task.B))
        x = np.eye(task.I, dtype=dtype)[ids[:-1]]
        return x, ids[1:]
    x = rng.standard_normal((task.T, task.B, task.I)).astype(dtype)
    return x, rng.standard_normal((task.T, task.B, task.H)).astype(dtype)


# ---------------------------------------------------------------------------
# The three implementations


class Engine:
    """tinygrad_rnn's ``tr.nn.RNN`` / ``tr.nn.LSTM`` (+ ``tr.nn.Linear`` read-out), graph recorded.

    Their cells are written from the engine's primitives: the input projection
    of the whole sequence in one matmul, one ``h @ W_hh^T`` per step.
    """

    name = "tinygrad_rnn"

    def __init__(self, task: Task, params: dict[str, np.ndarray], x: np.ndarray, y: np.ndarray):
        self.task = task
        layer = tr.nn.RNN if task.kind == "rnn" else tr.nn.LSTM
        self.layer = layer(task.I, task.H)
        self.modules = {"": self.layer}
        if task.kind == "rnn":
            self.out = tr.nn.Linear(task.H, task.I)
            self.modules["out."] = self.out
        self.params: dict[str, tr.Parameter] = {}
        for prefix, module in self.modules.items():
            for n, p in module.named_parameters():
                p.data = params[prefix + n].copy()  # (load_state_dict would keep float64)
                self.params[prefix + n] = p
        self.x, self.y = tr.Tensor(x, name="x"), y

    def forward(self) -> tr.Tensor:
        out, _ = self.layer(self.x)
        if self.task.kind == "lstm":
            return tr.F.mse_loss(out, self.y)
        logits = self.out(out.reshape(-1, self.task.H))
        return tr.F.cross_entropy(logits, self.y.reshape(-1), reduction="sum")

    def fwd_bwd(self) -> float:
        for p in self.params.values():
            p.grad = None
        loss = self.forward()
        loss.backward(retain_grads=False, retain_graph=False)
        return loss.item()

    def forward_no_grad(self) -> float:
        with tr.no_grad():
            return self.forward().item()

    def grads(self) -> dict[str, np.ndarray]:
        return {n: p.grad for n, p in self.params.items()}


class Reference:
    """The hand-written NumPy forward + BPTT (no graph)."""

    name = "NumPy by hand"

    def __init__(self, task: Task, params: dict[str, np.ndarray], x: np.ndarray, y: np.ndarray):
        self.params, self.x, self.y = params, x, y
        self.fn = references.rnn_charmodel if task.kind == "rnn" else references.lstm_mse
        self._grads: dict[str, np.ndarray] = {}

    def fwd_bwd(self) -> float:
        loss, self._grads = self.fn(self.params, self.x, self.y)
        return float(loss)

    def grads(self) -> dict[str, np.ndarray]:
        return self._grads


def torch_available() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


class Torch:
    """torch.nn.RNN / torch.nn.LSTM (+ torch.nn.Linear read-out for the char model) on the CPU."""

    name = "PyTorch CPU"

    def __init__(self, task: Task, params: dict[str, np.ndarray], x: np.ndarray, y: np.ndarray):
        import torch

        self.torch = torch
        dtype = torch.float64 if x.dtype == np.float64 else torch.float32
        layer = torch.nn.RNN if task.kind == "rnn" else torch.nn.LSTM
        self.layer = layer(task.I, task.H).to(dtype)
        self.modules = {"": self.layer}
        if task.kind == "rnn":
            self.out = torch.nn.Linear(task.H, task.I).to(dtype)
            self.modules["out."] = self.out
        with torch.no_grad():
            for prefix, module in self.modules.items():
                for n, p in module.named_parameters():
                    p.copy_(torch.from_numpy(params[prefix + n]))
        self.kind = task.kind
        self.x = torch.from_numpy(x)
        self.y = torch.from_numpy(y.reshape(-1) if task.kind == "rnn" else y)

    def fwd_bwd(self) -> float:
        F = self.torch.nn.functional
        for module in self.modules.values():
            module.zero_grad(set_to_none=True)
        out, _ = self.layer(self.x)
        if self.kind == "rnn":
            logits = self.out(out.reshape(-1, out.shape[-1]))
            loss = F.cross_entropy(logits, self.y, reduction="sum")
        else:
            loss = F.mse_loss(out, self.y)
        loss.backward()
        return loss.item()

    def grads(self) -> dict[str, np.ndarray]:
        return {
            prefix + n: p.grad.numpy()
            for prefix, module in self.modules.items()
            for n, p in module.named_parameters()
        }
