"""Nothing silently wrong, round three (issue 28): the API cases.

Each test is a defect the re-audit found; each failed before the fix.
"""

from __future__ import annotations

import copy
import errno
import io
import os
import pickle
import tempfile
import time
import zipfile

import numpy as np
import pytest

import tinygrad_rnn as tr
from tinygrad_rnn import functional as F

# --- a list of tensors is not a constant ---------------------------------------------------


def test_a_layer_given_a_list_of_tensors_refuses_instead_of_dropping_their_gradients():
    x1 = tr.Tensor(np.ones((1, 3)), requires_grad=True)
    x2 = tr.Tensor(np.ones((1, 3)), requires_grad=True)
    with pytest.raises(TypeError, match=r"tr\.stack"):
        tr.nn.RNN(3, 4, rng=0)([x1, x2])


def test_tensor_of_a_list_of_grad_tensors_refuses_and_names_stack():
    a = tr.Tensor(1.0, requires_grad=True)
    b = tr.Tensor(2.0, requires_grad=True)
    with pytest.raises(TypeError, match=r"lose their gradients.*tr\.stack"):
        tr.Tensor([a, b])
    with pytest.raises(TypeError, match=r"tr\.stack"):
        tr.Tensor([[a], [b]])  # nested too


def test_the_embedding_trains_when_its_outputs_are_stacked():
    emb, rnn = tr.nn.Embedding(5, 3, rng=0), tr.nn.RNN(3, 4, rng=0)
    out, _ = rnn(tr.stack([emb(tr.Tensor(np.array([t]))) for t in (1, 2, 3)]))
    out.sum().backward()
    assert emb.weight.grad is not None and np.abs(emb.weight.grad[1:4]).sum() > 0


def test_a_list_of_constant_tensors_is_still_a_constant():
    assert tr.Tensor([tr.Tensor(1.0), tr.Tensor(2.0)]).data.tolist() == [1.0, 2.0]


# --- the tensor owns its numbers -----------------------------------------------------------


def test_refilling_the_callers_buffer_after_forward_does_not_change_the_gradient():
    m = tr.nn.RNN(2, 3, rng=0)
    rng = np.random.default_rng(0)
    first, new = rng.normal(size=(4, 1, 2)), rng.normal(size=(4, 1, 2))

    def grad_of(batch):
        m.zero_grad()
        out, _ = m(batch)
        (out * out).sum().backward()
        return m.weight_ih_l0.grad.copy()

    expected = grad_of(first.copy())
    buf = first.copy()
    m.zero_grad()
    out, _ = m(buf)
    loss = (out * out).sum()
    buf[:] = new  # the loader refills its buffer before backward
    loss.backward()
    np.testing.assert_allclose(m.weight_ih_l0.grad, expected, rtol=1e-12)


def test_a_parameter_owns_its_numbers_the_optimizer_does_not_write_into_the_callers_array():
    a = np.ones((2, 2))
    w = tr.nn.Parameter(a)
    (w * w).sum().backward()
    tr.optim.SGD([w], lr=0.1).step()
    assert np.all(a == 1.0)  # the caller's array is untouched
    assert np.allclose(w.data, 0.8)


def test_a_read_only_array_can_be_trained():
    a = np.ones(3)
    a.flags.writeable = False
    w = tr.nn.Parameter(a)
    (w * w).sum().backward()
    tr.optim.Adam([w], lr=0.1).step()
    assert np.all(w.data < 1.0)


def test_tensor_copies_the_array_it_is_given():
    a = np.zeros(3)
    t = tr.Tensor(a)
    a[0] = 5.0
    assert t.data[0] == 0.0 and t.data is not a


# --- special tensors -----------------------------------------------------------------------


@pytest.mark.parametrize("reduce", ["sum", "mean", "max"])
@pytest.mark.parametrize("axis", [0, -1, (0,)])
def test_a_0d_tensor_reduced_over_axis_0_has_gradient_1(reduce, axis):
    x = tr.Tensor(2.0, requires_grad=True)
    y = getattr(x, reduce)(axis=axis)
    y.backward()
    assert y.shape == () and x.grad.shape == () and x.grad == 1.0


def test_a_0d_tensor_refuses_other_axes_by_name():
    with pytest.raises(IndexError, match="axis 1 is out of range for a 0-d tensor"):
        tr.Tensor(2.0).sum(axis=1)


@pytest.mark.parametrize(
    "compute",
    [lambda i: i + 0.5, lambda i: 0.5 * i, lambda i: i.exp(), lambda i: i / i, lambda i: i.log(),
     lambda i: i.sigmoid(), lambda i: i.mean(), lambda i: i**0.5],
    ids=["int+0.5", "0.5*int", "exp", "int/int", "log", "sigmoid", "mean", "int**0.5"],
)
def test_integers_become_the_default_float_dtype_as_in_pytorch(compute):
    tr.set_default_dtype("float32")
    try:
        out = compute(tr.Tensor(np.array([1, 2], dtype=np.int32)))
    finally:
        tr.set_default_dtype("float64")
    assert out.dtype == np.float32


# --- checkpoints: special files, bombs, names ----------------------------------------------


def _timed_load(path):
    start = time.monotonic()
    try:
        with pytest.raises(ValueError) as caught:
            tr.load(path)
    finally:
        assert time.monotonic() - start < 5, "tr.load took too long"
    return str(caught.value)


def test_load_refuses_an_endless_device_at_once():
    assert "not a regular file" in _timed_load("/dev/zero")


def test_load_refuses_a_fifo_without_blocking(tmp_path):
    fifo = tmp_path / "pipe.npz"
    os.mkfifo(fifo)
    assert "not a regular file" in _timed_load(fifo)


def _one_member(path, method=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", method) as z:
        with z.open("a.npy", "w") as m:
            np.lib.format.write_array(m, np.ones(3))


def _patch(path, local_offset, central_offset, value, mask=False):
    data = bytearray(path.read_bytes())
    i, j = data.find(b"PK\x03\x04") + local_offset, data.find(b"PK\x01\x02") + central_offset
    for k in (i, j):
        data[k] = data[k] | value if mask else value
    path.write_bytes(bytes(data))


def test_load_refuses_an_encrypted_member_in_its_own_words(tmp_path):
    path = tmp_path / "enc.npz"
    _one_member(path)
    _patch(path, 6, 8, 1, mask=True)  # the "encrypted" flag bit
    assert "'a.npy' is encrypted" in _timed_load(path)


def test_load_refuses_an_unknown_compression_method_in_its_own_words(tmp_path):
    path = tmp_path / "method.npz"
    _one_member(path)
    _patch(path, 8, 10, 99)
    assert "compression method 99" in _timed_load(path)


def test_load_refuses_a_zip_bomb_before_inflating_it(tmp_path):
    path = tmp_path / "bomb.npz"
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": (2**24,)})
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        with z.open("a.npy", "w", force_zip64=True) as m:
            m.write(header.getvalue())
            m.write(b"\0" * 2**27)  # 128 MiB of zeros deflate to about 130 KB
    assert "zip bomb" in _timed_load(path)


def test_save_refuses_a_nul_byte_in_a_key(tmp_path):
    with pytest.raises(ValueError, match="NUL byte"):
        tr.save({"a\0b": np.ones(2)}, tmp_path / "x.npz")


def test_save_onto_a_read_only_filesystem_names_the_target_not_the_temporary(tmp_path, monkeypatch):
    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system", str(tmp_path / ".x.npz.123.abc.tmp"))

    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    with pytest.raises(OSError) as caught:
        tr.save({"a": np.ones(2)}, tmp_path / "x.npz")
    assert caught.value.errno == errno.EROFS
    assert "x.npz'" in str(caught.value) and ".tmp" not in str(caught.value)


# --- smaller errors from internals: each names the argument ----------------------------------


def _deep_graph():
    h = tr.Tensor([1.0, 2.0], requires_grad=True)
    for _ in range(150):
        h = h.tanh()
    return h


def test_deepcopy_of_a_deep_non_leaf_is_refused_by_the_leaf_rule_not_a_recursion_error():
    with pytest.raises(RuntimeError, match="only leaf tensors"):
        copy.deepcopy(_deep_graph())


def test_pickling_a_non_leaf_is_refused_by_the_leaf_rule():
    with pytest.raises(RuntimeError, match="only leaf tensors.*detach"):
        pickle.dumps(_deep_graph())


def test_leaves_and_modules_still_copy_and_pickle():
    w = tr.nn.Parameter(np.ones(2), name="w")
    assert copy.deepcopy(w).name == "w" and pickle.loads(pickle.dumps(w)).requires_grad
    lstm = copy.deepcopy(tr.nn.LSTM(2, 2, rng=0))
    assert lstm.weight_hh_l0.shape == (8, 2)


ARGUMENT_ERRORS = [
    ("gradcheck eps=0", lambda: tr.gradcheck(lambda a: (a * a).sum(), [tr.Tensor([1.0], requires_grad=True)], eps=0),
     ValueError, "eps must be positive"),
    ("backward grad='abc'", lambda: (tr.Tensor(1.0, requires_grad=True) * 2).backward(grad="abc"),
     TypeError, "backward(): grad must be numbers"),
    ("dropout='0.5'", lambda: tr.nn.RNN(2, 2, num_layers=2, dropout="0.5"), TypeError, "dropout must be a number"),
    ("len of 0-d", lambda: len(tr.Tensor(2.0)), TypeError, "len() of a 0-d tensor"),
    ("load_state_dict(list)", lambda: tr.nn.RNN(2, 2).load_state_dict([1, 2]), TypeError,
     "load_state_dict: expected a dict"),
    ("one_hot of floats", lambda: F.one_hot(np.array([0.5, 1.0]), 3), TypeError, "one_hot: ids must be integers"),
    ("manual_seed('abc')", lambda: tr.nn.manual_seed("abc"), TypeError, "manual_seed: the seed must be a whole"),
    ("manual_seed(-1)", lambda: tr.nn.manual_seed(-1), ValueError, "manual_seed: the seed must be >= 0"),
    ("batch of 0", lambda: tr.nn.RNN(2, 3)(np.ones((4, 0, 2))), tr.ShapeError, "the batch is empty"),
    ("concat bad axis", lambda: tr.concat([tr.Tensor(np.ones((2, 2)))] * 2, axis=5), IndexError,
     "concat: axis 5 is out of range for 2-d pieces"),
    ("stack bad axis", lambda: tr.stack([tr.Tensor(np.ones((2, 2)))] * 2, axis=5), IndexError,
     "stack: axis 5 is out of range"),
    ("requires_grad='no'", lambda: tr.Tensor(1.0, requires_grad="no"), TypeError,
     "requires_grad must be True or False"),
    ("scope(None)", lambda: tr.scope(None), TypeError, "scope: give the scope a name"),
]


@pytest.mark.parametrize("case", ARGUMENT_ERRORS, ids=[c[0] for c in ARGUMENT_ERRORS])
def test_a_bad_argument_is_named_in_the_engines_words(case):
    _, call, kind, phrase = case
    with pytest.raises(kind) as caught:
        call()
    assert phrase in str(caught.value)


def test_softmax_takes_an_array_like_the_other_functions():
    out = F.softmax(np.ones(3))
    assert np.allclose(out.data, 1 / 3)
