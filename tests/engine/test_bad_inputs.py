"""A catalogue of ordinary mistakes made through the engine's API, and what each one gets.

Every case asserts the exception's type and that its message names the problem
(a regex on the key phrase): the rule of docs/errors.md. Cases marked "issue 14"
were silently accepted, or failed with NumPy internals, before that issue.
(The command line's cases live beside the CLI tests.)
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import numpy as np
import pytest

import tinygrad_rnn as tr
from tinygrad_rnn import F, optim
from tinygrad_rnn.nn.module import StateDictError


def ones(*shape: int) -> tr.Tensor:
    return tr.Tensor(np.ones(shape))


def param(*shape: int, name: str = "w") -> tr.Tensor:
    return tr.Tensor(np.full(shape, 0.5), requires_grad=True, name=name)


def with_grad(*grads: np.ndarray) -> list[tr.Tensor]:
    params = []
    for g in grads:
        p = tr.Parameter(np.zeros_like(g))
        p.grad = np.array(g, dtype=float)
        params.append(p)
    return params


def modified_between_forward_and_backward(change: str) -> None:
    """Forward, then an in-place change of a parameter, then backward."""
    layer = tr.nn.Linear(3, 2, rng=0)
    loss = (layer(ones(4, 3)) ** 2).sum()
    if change == "data -=":
        layer.weight.data -= 1.0
    elif change == "optimizer":
        loss2 = (layer(ones(4, 3)) ** 2).sum()
        loss2.backward()
        optim.SGD(layer.parameters(), lr=0.1).step()
    else:
        layer.load_state_dict({k: v + 1 for k, v in layer.state_dict().items()})
    loss.backward()


def float32_model_on_float64_input() -> None:
    tr.set_default_dtype("float32")
    try:
        model = tr.nn.LSTM(3, 4, rng=0)
    finally:
        tr.set_default_dtype("float64")
    model(np.zeros((5, 2, 3)))  # a float64 array: PyTorch refuses this too


def in_scope(fn):
    def run() -> None:
        with tr.scope("encoder"), tr.scope("t3"):
            fn()

    return run


def load_file(tmp: Path, name: str, write) -> None:
    path = tmp / name
    write(path)
    tr.load(path)


def huge_header(path: Path) -> None:
    """A 200-byte .npz whose only array claims shape (10**12,): 8 TB of float64."""
    header = {"descr": "<f8", "fortran_order": False, "shape": (10**12,)}
    with zipfile.ZipFile(path, "w") as archive, archive.open("w.npy", "w") as member:
        np.lib.format.write_array_header_1_0(member, header)
        member.write(b"\0" * 64)


def lying_directory(path: Path) -> None:
    """The zip directory claims a 4 GB member (and its .npy header agrees) in a file of a few hundred bytes."""
    header = {"descr": "<f8", "fortran_order": False, "shape": (500_000_000,)}
    with zipfile.ZipFile(path, "w") as archive, archive.open("w.npy", "w") as member:
        np.lib.format.write_array_header_1_0(member, header)
        member.write(b"\0" * 64)
    raw = bytearray(path.read_bytes())
    entry = raw.index(b"PK\x01\x02")  # the central directory's record of w.npy
    raw[entry + 24 : entry + 28] = (4_000_000_128).to_bytes(4, "little")  # its uncompressed size
    path.write_bytes(bytes(raw))


def pickled(path: Path) -> None:
    np.savez(path, payload=np.array([object()], dtype=object))


def gradcheck_wrong_gradient() -> None:
    class Wrong(tr.ops.Op):
        name = "wrong"

        def forward(self, x):
            return x * x

        def backward(self, g):
            return (g * 3.0,)

    tr.gradcheck(lambda x: Wrong.apply(x), [tr.Tensor(np.array([1.0, 2.0]), requires_grad=True)])


CASES = [
    # --- making tensors -------------------------------------------------------------------
    ("tensor-of-strings", lambda: tr.Tensor(["a", "b"]), TypeError, r"must be real numbers or booleans, got dtype <U1"),
    ("tensor-of-none", lambda: tr.Tensor(None), TypeError, r"must be real numbers or booleans, got dtype object"),
    ("tensor-complex", lambda: tr.Tensor(np.array([1 + 2j])), TypeError, r"got dtype complex128"),
    ("tensor-ragged", lambda: tr.Tensor([[1.0, 2.0], [3.0]]), ValueError, r"not a regular array"),  # issue 14
    ("int-tensor-requires-grad", lambda: tr.Tensor([1, 2], requires_grad=True), TypeError,
     r"only floating-point tensors can require gradients"),
    ("unknown-dtype", lambda: tr.Tensor([1.0], dtype="float7"), TypeError, r"unknown dtype 'float7'"),
    ("default-dtype-int", lambda: tr.set_default_dtype("int32"), TypeError, r"unknown dtype 'int32'"),
    ("astype-int", lambda: ones(2).astype("int64"), TypeError, r"unknown dtype 'int64'"),
    ("requires-grad-on-ints", lambda: tr.Tensor([1, 2]).requires_grad_(), TypeError,
     r"only floating-point tensors can require gradients \(got int64\)"),
    ("item-of-many", lambda: ones(3).item(), ValueError, r"one element.*shape \(3,\)"),
    ("float-of-many", lambda: float(ones(2, 2)), ValueError, r"float\(\) needs a tensor with one element"),  # issue 14
    ("int-of-many", lambda: int(ones(2)), ValueError, r"int\(\) needs a tensor with one element"),  # issue 14
    ("bool-of-many", lambda: bool(ones(2)), ValueError, r"truth value of a tensor with several elements"),
    ("data-set-to-list", lambda: setattr(ones(2), "data", [1.0, 2.0]), TypeError,
     r"Tensor\.data must be a NumPy array, got list"),  # issue 14
    ("compare-unbroadcastable", lambda: ones(3) == ones(2), ValueError,
     r"==: shapes \(3,\) and \(2,\) cannot be broadcast"),  # issue 14
    ("compare-lt-unbroadcastable", lambda: ones(3) < np.ones(4), ValueError, r"<: shapes \(3,\) and \(4,\)"),
    # --- ops --------------------------------------------------------------------------------
    ("add-unbroadcastable", lambda: ones(2, 3) + ones(4), tr.ShapeError,
     r"add: shapes \(2, 3\) and \(4,\) cannot be broadcast"),
    ("add-names-the-scope", in_scope(lambda: ones(2, 3) * ones(4)), tr.ShapeError, r"mul: .*in scope 'encoder/t3'"),
    ("matmul-inner", lambda: ones(2, 3) @ ones(4, 5), tr.ShapeError, r"inner dimensions 3 != 4"),
    ("matmul-scalar", lambda: tr.matmul(ones(), ones(3)), tr.ShapeError, r"scalars can't be matrix-multiplied"),
    ("matmul-mixed-floats", lambda: ones(2, 2).astype("float32") @ ones(2, 2), TypeError,
     r"different dtypes, float32 @ float64.*astype"),  # issue 14
    ("matmul-int-by-float", lambda: tr.Tensor(np.eye(2, dtype=int)) @ np.full((2, 2), 0.5), TypeError,
     r"different dtypes, int64 @ float64.*\.astype\('float64'\)"),  # issue 14 (was all zeros)
    ("matmul-two-int-widths", lambda: tr.Tensor(np.eye(2, dtype=np.int32)) @ tr.Tensor(np.eye(2, dtype=np.int64)),
     TypeError, r"int32 @ int64.*convert both with \.astype\('float64'\)"),
    ("matmul-names-the-scope", in_scope(lambda: ones(2, 2).astype("float32") @ ones(2, 2)), TypeError,
     r"in scope 'encoder/t3'"),
    ("pow-tensor-exponent", lambda: ones(2) ** ones(2), TypeError, r"exponent must be a Python number"),
    ("transpose-axes", lambda: ones(2, 3).transpose(0, 5), ValueError, r"axes \(0, 5\) out of range"),
    ("transpose-three-axes", lambda: ones(2, 3).transpose(0, 1, 2), ValueError, r"give two axes to swap"),
    ("permute-not-permutation", lambda: ones(2, 3).permute(0, 0), ValueError, r"not a permutation"),
    ("reshape-impossible", lambda: ones(2, 3).reshape(4, 2), tr.ShapeError, r"reshape: .*\(2, 3\)"),
    ("getitem-out-of-range", lambda: ones(2, 3)[5], IndexError, r"shape \(2, 3\)"),
    ("concat-nothing", lambda: tr.concat([]), ValueError, r"concat: needs at least one tensor"),
    ("concat-mismatch", lambda: tr.concat([ones(2, 3), ones(2, 4)]), tr.ShapeError, r"pieces must agree"),
    ("stack-mismatch", lambda: tr.stack([ones(2), ones(3)]), tr.ShapeError, r"must all have the same shape"),
    ("split-negative-size", lambda: tr.split(ones(3), [5, -2]), ValueError,
     r"split: sizes must be >= 0, got \[5, -2\]"),  # issue 14
    ("split-not-adding-up", lambda: tr.split(ones(3), [1, 1]), tr.ShapeError, r"don't add up to 3"),
    ("split-fractional-size", lambda: tr.split(ones(3), [1.5, 1.5]), TypeError, r"sizes must be integers"),  # issue 14
    ("split-zero-size", lambda: tr.split(ones(3), 0), ValueError, r"size must be positive"),
    ("chunk-zero", lambda: tr.chunk(ones(3), 0), ValueError, r"chunks must be a positive integer"),  # issue 14
    ("sum-axis-out-of-range", lambda: ones(3).sum(axis=5), IndexError,
     r"sum: axis 5 is out of bounds for array of dimension 1"),
    ("axis-and-dim", lambda: ones(2, 3).sum(axis=0, dim=1), TypeError, r"give axis= or dim=, not both"),
    ("where-unbroadcastable", lambda: tr.where(np.ones(3, bool), ones(3), ones(2)), tr.ShapeError,
     r"cannot be broadcast"),
    ("embedding-negative-id", lambda: tr.embedding(param(3, 2), np.array([0, -1])), IndexError,
     r"ids must be in \[0, 3\); got min -1"),  # issue 14
    ("embedding-id-too-big", lambda: tr.embedding(param(3, 2), np.array([3])), IndexError,
     r"ids must be in \[0, 3\); got min 3, max 3"),
    ("embedding-float-ids", lambda: tr.embedding(param(3, 2), np.array([0.0])), TypeError, r"ids must be integers"),
    ("embedding-1d-weight", lambda: tr.embedding(param(3), np.array([0])), tr.ShapeError,
     r"weight must be 2-D"),  # issue 14
    # --- backward and the graph ---------------------------------------------------------------------
    ("backward-no-grad", lambda: ones(2).sum().backward(), RuntimeError, r"does not require grad"),
    ("backward-non-scalar", lambda: (param(2) * 2).backward(), RuntimeError, r"needs a gradient argument.*\(2,\)"),
    ("backward-grad-shape", lambda: (param(2) * 2).backward(np.ones(3)), ValueError,
     r"grad has shape \(3,\) but the tensor has shape \(2,\)"),
    ("inplace-data-minus-equals", lambda: modified_between_forward_and_backward("data -="), RuntimeError,
     r"'weight' of shape \(2, 3\).*modified by an in-place operation"),  # issue 14
    ("inplace-optimizer-step", lambda: modified_between_forward_and_backward("optimizer"), RuntimeError,
     r"modified by an in-place operation.*run the forward pass again"),  # issue 14
    ("inplace-load-state-dict", lambda: modified_between_forward_and_backward("load"), RuntimeError,
     r"modified by an in-place operation"),  # issue 14
    ("scope-with-slash", lambda: tr.scope("a/b"), ValueError, r"contain no '/'"),
    ("scope-empty", lambda: tr.scope(""), ValueError, r"must be non-empty"),
    ("anomaly-log-zero", lambda: _anomaly_log_zero(), tr.AnomalyError, r"output of log .*NaN or Inf"),
    ("backward-pass-done", lambda: _step_past_the_end(), RuntimeError, r"the backward pass is done"),
    # --- functional ---------------------------------------------------------------------------------
    ("ce-bad-reduction", lambda: F.cross_entropy(param(2, 3), [0, 1], reduction="avg"), ValueError,
     r"reduction must be 'mean', 'sum' or 'none', got 'avg'"),
    ("ce-float-targets", lambda: F.cross_entropy(param(2, 3), np.array([0.0, 1.0])), TypeError,
     r"targets must be integer class indices"),
    ("ce-shapes", lambda: F.cross_entropy(param(2, 3), np.array([0, 1, 2])), tr.ShapeError,
     r"expected logits \(N, C\) and targets \(N,\), got \(2, 3\) and \(3,\)"),
    ("ce-target-too-big", lambda: F.cross_entropy(param(2, 3), np.array([0, 3])), IndexError,
     r"target 3 is out of range for 3 classes"),
    ("ce-negative-target", lambda: F.cross_entropy(param(2, 3), np.array([0, -1])), IndexError,
     r"target -1 is out of range.*ignore_index=-100"),
    ("nll-negative-target", lambda: F.nll_loss(param(2, 3), np.array([0, -1])), IndexError,
     r"nll_loss: target -1 is out of range for 3 classes"),  # issue 14
    ("nll-target-too-big", lambda: F.nll_loss(param(2, 3), np.array([5, 0])), IndexError,
     r"nll_loss: target 5 is out of range"),  # issue 14
    ("nll-shapes", lambda: F.nll_loss(param(2, 3), np.array([0])), tr.ShapeError,
     r"nll_loss: expected log_probs \(N, C\) and targets \(N,\)"),  # issue 14
    ("nll-float-targets", lambda: F.nll_loss(param(2, 3), np.array([0.5, 1.0])), TypeError,
     r"nll_loss: targets must be integer"),  # issue 14
    ("mse-shapes", lambda: F.mse_loss(param(2), np.ones(3)), tr.ShapeError,
     r"input shape \(2,\) != target shape \(3,\)"),
    ("mse-bad-reduction", lambda: F.mse_loss(param(2), np.ones(2), reduction="max"), ValueError, r"reduction must be"),
    ("dropout-p", lambda: F.dropout(param(2), p=1.5), ValueError, r"dropout probability must be in \[0, 1\], got 1.5"),
    ("one-hot-negative", lambda: F.one_hot(np.array([-1]), 3), IndexError, r"ids must be in \[0, 3\)"),
    # --- nn modules ----------------------------------------------------------------------------------
    ("linear-zero-features", lambda: tr.nn.Linear(0, 3), ValueError, r"in_features must be a positive integer, got 0"),
    ("linear-fractional-features", lambda: tr.nn.Linear(2.5, 3), ValueError, r"in_features must be a positive integer"),
    ("linear-on-a-string", lambda: tr.nn.Linear(3, 2)("abc"), TypeError, r"must be real numbers or booleans"),
    ("linear-wrong-input", lambda: tr.nn.Linear(3, 2)(ones(4, 5)), tr.ShapeError,
     r"in_features=3, got shape \(4, 5\)"),
    ("float32-model-float64-input", float32_model_on_float64_input, TypeError,
     r"different dtypes, float64 @ float32 .*in scope 'lstm.*\.astype\('float32'\)"),  # issue 14
    ("rnn-bad-nonlinearity", lambda: tr.nn.RNN(3, 4, nonlinearity="gelu"), ValueError,
     r"nonlinearity must be one of 'tanh', 'relu', got 'gelu'"),
    ("rnn-wrong-input-size", lambda: tr.nn.GRU(3, 4)(np.zeros((5, 2, 7))), tr.ShapeError,
     r"GRU: expected input of shape \(T, N, 3\)"),
    ("rnn-empty-input", lambda: tr.nn.RNN(3, 4)(np.zeros((0, 2, 3))), tr.ShapeError, r"the input is empty"),
    ("rnn-bad-lengths", lambda: tr.nn.LSTM(3, 4)(np.zeros((5, 2, 3)), lengths=[6, 2]), ValueError,
     r"every length must be between 1 and T = 5"),
    ("embedding-module-negative-id", lambda: tr.nn.Embedding(4, 2)(np.array([[1, -2]])), IndexError,
     r"ids must be in \[0, 4\); got min -2"),  # issue 14
    ("dropout-module-p", lambda: tr.nn.Dropout(p=2), ValueError, r"p must be a probability in \[0, 1\], got 2"),
    ("load-state-missing-key", lambda: tr.nn.Linear(2, 2).load_state_dict({"weight": np.zeros((2, 2))}),
     StateDictError, r"missing key 'bias'"),
    ("load-state-wrong-shape",
     lambda: tr.nn.Linear(2, 2).load_state_dict({"weight": np.zeros((3, 2)), "bias": np.zeros(2)}),
     StateDictError, r"key 'weight': the checkpoint has shape \(3, 2\) but the model's parameter has shape \(2, 2\)"),
    ("module-without-super-init", lambda: _module_without_init(), RuntimeError, r"call super\(\).__init__\(\)"),
    ("module-bad-rng", lambda: tr.nn.Linear(2, 2, rng="seed"), TypeError, r"rng must be None, an integer seed"),
    # --- optimizers and clipping -------------------------------------------------------------------------
    ("sgd-negative-lr", lambda: optim.SGD([param(2)], lr=-1), ValueError, r"lr must be >= 0, got -1"),
    ("adam-nan-eps", lambda: optim.Adam([param(2)], eps=float("nan")), ValueError,
     r"Adam: eps must be a finite number, got nan"),  # issue 14
    ("adam-nan-lr", lambda: optim.Adam([param(2)], lr=float("nan")), ValueError,
     r"lr must be a finite number"),  # issue 14
    ("adam-nan-beta", lambda: optim.Adam([param(2)], betas=(float("nan"), 0.9)), ValueError,
     r"betas must be a finite number"),  # issue 14
    ("sgd-nan-momentum", lambda: optim.SGD([param(2)], lr=0.1, momentum=float("nan")), ValueError,
     r"momentum must be a finite number"),  # issue 14
    ("adagrad-inf-decay", lambda: optim.Adagrad([param(2)], lr_decay=float("inf")), ValueError,
     r"lr_decay must be a finite number, got inf"),  # issue 14
    ("group-nan-lr", lambda: optim.SGD([{"params": [param(2)], "lr": float("nan")}], lr=0.1), ValueError,
     r"lr must be a finite number, got nan \(group 0\)"),  # issue 14
    ("adam-string-lr", lambda: optim.Adam([param(2)], lr="fast"), TypeError, r"lr must be a number, got 'fast'"),
    ("sgd-empty", lambda: optim.SGD([], lr=0.1), ValueError, r"empty parameter list"),
    ("sgd-one-tensor", lambda: optim.SGD(param(2), lr=0.1), TypeError, r"pass \[tensor\] or model.parameters\(\)"),
    ("sgd-non-leaf", lambda: optim.SGD([param(2) * 2], lr=0.1), ValueError, r"was computed by an op \(mul\)"),
    ("sgd-constant", lambda: optim.SGD([ones(2)], lr=0.1), ValueError, r"does not require grad"),
    ("sgd-duplicate", lambda: (lambda p: optim.SGD([p, p], lr=0.1))(param(2)), ValueError, r"appears more than once"),
    ("sgd-unknown-option", lambda: optim.SGD([{"params": [param(2)], "betas": 1}], lr=0.1), ValueError,
     r"unknown option\(s\) \['betas'\]"),
    ("sgd-nesterov", lambda: optim.SGD([param(2)], lr=0.1, nesterov=True), ValueError,
     r"nesterov=True needs momentum > 0"),
    ("step-grad-wrong-shape", lambda: _step_with_wrong_grad(), ValueError,
     r"SGD: parameter 'w' has shape \(2,\) but its grad has shape \(3,\)"),
    ("optim-load-foreign", lambda: optim.SGD([param(2)], lr=0.1).load_state_dict({"foo": np.zeros(1)}), ValueError,
     r"unexpected key 'foo'"),
    ("clip-nan-max-norm", lambda: optim.clip_grad_norm_(with_grad(np.ones(2)), float("nan")), ValueError,
     r"max_norm must be >= 0, got nan"),  # issue 14
    ("clip-string-max-norm", lambda: optim.clip_grad_norm_(with_grad(np.ones(2)), "1"), TypeError,
     r"max_norm must be a number, got '1'"),  # issue 14
    ("clip-norm-type", lambda: optim.clip_grad_norm_(with_grad(np.ones(2)), 1.0, norm_type=0), ValueError,
     r"norm_type must be > 0"),
    ("clip-nonfinite-error", lambda: optim.clip_grad_norm_(with_grad(np.array([np.nan, 1.0])), 1.0,
                                                           error_if_nonfinite=True),
     FloatingPointError, r"total gradient norm is nan"),
    ("clip-value-nan", lambda: optim.clip_grad_value_(with_grad(np.ones(2)), float("nan")), ValueError,
     r"clip_value must be >= 0, got nan"),  # issue 14
    ("clip-not-tensors", lambda: optim.clip_grad_norm_([np.ones(2)], 1.0), TypeError, r"item 0 is a ndarray"),
    # --- gradcheck ---------------------------------------------------------------------------------------
    ("gradcheck-nothing", lambda: tr.gradcheck(lambda x: x * 2, [ones(2)]), ValueError, r"no input requires grad"),
    ("gradcheck-float32", lambda: tr.gradcheck(lambda x: x * 2, [param(2).astype("float32").requires_grad_()]),
     TypeError, r"needs float64 inputs.*float32"),
    ("gradcheck-not-a-tensor", lambda: tr.gradcheck(lambda x: 3.0, [param(2)]), TypeError,
     r"fn must return a Tensor, got float"),
    ("gradcheck-wrong-gradient", gradcheck_wrong_gradient, tr.GradcheckError,
     r"gradcheck failed for input 0 at index \(1,\): autograd"),
]

FILE_CASES = [
    ("save-not-a-dict", lambda tmp: tr.save([np.zeros(1)], tmp / "a.npz"), TypeError, r"expected a dict"),
    ("save-a-float", lambda tmp: tr.save({"lr": 0.1}, tmp / "a.npz"), TypeError, r"the value for 'lr' is a float"),
    ("save-object-array", lambda tmp: tr.save({"m": np.array([{}], dtype=object)}, tmp / "a.npz"), TypeError,
     r"object array"),
    ("save-missing-dir", lambda tmp: tr.save({"w": np.zeros(1)}, tmp / "nope" / "a.npz"), FileNotFoundError,
     r"the directory .*nope' does not exist"),
    ("save-onto-dir", lambda tmp: tr.save({"w": np.zeros(1)}, tmp), IsADirectoryError, r"is a directory"),
    ("load-missing", lambda tmp: tr.load(tmp / "none.npz"), FileNotFoundError, r"no checkpoint at"),
    ("load-dir", lambda tmp: tr.load(tmp), IsADirectoryError, r"is a directory, not a checkpoint"),
    ("load-text-file", lambda tmp: load_file(tmp, "a.npz", lambda p: p.write_text("hello")), ValueError,
     r"not an \.npz checkpoint \(not a zip archive\)"),
    ("load-pickled", lambda tmp: load_file(tmp, "a.npz", pickled), ValueError, r"holds pickled Python objects"),
    ("load-huge-header", lambda tmp: load_file(tmp, "a.npz", huge_header), ValueError,
     r"claims shape \(1000000000000,\) of float64 \(8,000,000,000,000 bytes\), but the member holds only"),  # issue 14
    ("load-lying-zip-directory", lambda tmp: load_file(tmp, "a.npz", lying_directory), ValueError,
     r"'w.npy' claims 4,000,000,128 bytes; a file of \d+ bytes can't hold that"),  # issue 14
]


def _anomaly_log_zero() -> None:
    with tr.detect_anomaly(), np.errstate(divide="ignore"):
        tr.log(tr.Tensor(np.zeros(2), requires_grad=True))


def _step_past_the_end() -> None:
    p = tr.BackwardPass((param(2) * 2).sum(), np.ones(()))
    p.run()
    p.step()


def _step_with_wrong_grad() -> None:
    p = param(2)
    opt = optim.SGD([p], lr=0.1)
    p.grad = np.ones(3)
    opt.step()


def _module_without_init() -> None:
    class Broken(tr.nn.Module):
        def __init__(self) -> None:
            self.w = tr.Parameter(np.zeros(2))

    Broken()


def test_the_catalogue_is_large_enough():
    assert len(CASES) + len(FILE_CASES) >= 80
    ids = [case[0] for case in CASES + FILE_CASES]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("name, call, error, pattern", CASES, ids=[case[0] for case in CASES])
def test_a_mistake_gets_a_message_that_names_it(name, call, error, pattern):
    with pytest.raises(error) as caught:
        call()
    assert re.search(pattern, str(caught.value)), f"{name}: {caught.value}"


@pytest.mark.parametrize("name, call, error, pattern", FILE_CASES, ids=[case[0] for case in FILE_CASES])
def test_a_file_mistake_gets_a_message_that_names_it(name, call, error, pattern, tmp_path):
    with pytest.raises(error) as caught:
        call(tmp_path)
    assert re.search(pattern, str(caught.value)), f"{name}: {caught.value}"
