"""Issue 14's silent failures, one test each: every one of these gave a plausible wrong answer before.

The dtype rule, comparisons and conversions, the version counter (backward
through numbers changed in place), clip_grad_norm_ on non-finite gradients,
and checkpoints that survive Ctrl-C and kill -9.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

import tinygrad_rnn as tr
from tinygrad_rnn import optim

ROOT = Path(__file__).resolve().parents[2]


# --- the dtype rule -------------------------------------------------------------------------------


def test_integer_and_boolean_tensors_promote_float_constants_instead_of_truncating():
    ints = tr.Tensor(np.array([1, 2, 3]))
    half = ints * 0.5
    assert half.dtype == np.float64
    np.testing.assert_array_equal(half.data, [0.5, 1.0, 1.5])
    np.testing.assert_array_equal((ints + 0.7).data, [1.7, 2.7, 3.7])
    np.testing.assert_array_equal((0.5 * ints).data, [0.5, 1.0, 1.5])  # the reflected form too
    bools = tr.Tensor(np.array([True, False])) + 2
    assert bools.dtype == np.int64
    np.testing.assert_array_equal(bools.data, [3, 2])
    assert (ints + 1).dtype == np.int64  # int with int stays int
    float32 = tr.Tensor(np.ones(2, dtype=np.float32))
    assert (float32 * 0.5).dtype == np.float32  # a float tensor still gives constants its dtype


def test_numpy_scalars_keep_their_dtype_and_python_floats_get_the_default():
    assert tr.Tensor(np.float32(1.5)).dtype == np.float32
    assert tr.Tensor(np.int32(3)).dtype == np.int32
    assert tr.Tensor(1.5).dtype == np.float64
    tr.set_default_dtype("float32")
    try:
        assert tr.Tensor(1.5).dtype == np.float32
        assert tr.Tensor(np.float64(1.5)).dtype == np.float64  # a NumPy scalar says what it is
    finally:
        tr.set_default_dtype("float64")


def test_a_float32_model_runs_on_float32_input_and_refuses_float64():
    tr.set_default_dtype("float32")
    try:
        model = tr.nn.Linear(3, 2, rng=0)
    finally:
        tr.set_default_dtype("float64")
    assert model(np.ones((4, 3), dtype=np.float32)).dtype == np.float32
    with pytest.raises(TypeError, match=r"float64 @ float32"):
        model(np.ones((4, 3)))


# --- comparisons and conversions ------------------------------------------------------------------


def test_comparisons_are_elementwise_boolean_and_carry_no_gradient():
    x = tr.Tensor(np.array([-1.0, 0.0, 2.0]), requires_grad=True)
    for result, expected in [
        (x > 0, [False, False, True]),
        (x >= 0, [False, True, True]),
        (x < 0, [True, False, False]),
        (x <= 0, [True, True, False]),
        (x == 0, [False, True, False]),
        (x != 0, [True, False, True]),
        (np.zeros(3) < x, [False, False, True]),  # an array on the left: reflected to Tensor
        (x == tr.Tensor(np.array([-1.0, 1.0, 2.0])), [True, False, True]),
    ]:
        assert result.dtype == np.bool_
        np.testing.assert_array_equal(result.data, expected)
        assert not result.requires_grad and result.op is None
    assert bool(tr.Tensor(0.0) == 0)
    assert (x == None) is False and (x != None) is True  # noqa: E711
    np.testing.assert_array_equal(tr.where(x > 0, x, 0.0).data, [0.0, 0.0, 2.0])


def test_tensors_still_hash_by_identity_in_sets_and_dicts():
    a, b = tr.Tensor(np.ones(3)), tr.Tensor(np.ones(3))
    assert len({a, b}) == 2
    table = {a: "a", b: "b"}
    assert table[a] == "a" and table[b] == "b"


def test_numpy_sees_a_tensor_as_its_numbers():
    t = tr.Tensor(np.arange(3.0))
    assert np.asarray(t) is t.data
    assert np.asarray(t, dtype=np.float32).dtype == np.float32
    stacked = np.array([t, t])
    assert stacked.dtype == np.float64 and stacked.shape == (2, 3)


def test_float_and_int_of_a_one_element_tensor():
    assert float(tr.Tensor(2.5)) == 2.5
    assert float(tr.Tensor([[2.5]])) == 2.5
    assert int(tr.Tensor(np.array([7]))) == 7
    assert int(tr.Tensor(2.9)) == 2


# --- the version counter ---------------------------------------------------------------------------


def test_a_normal_training_loop_is_never_refused():
    model = tr.nn.LSTM(3, 4, rng=0)
    opt = optim.Adam(model.parameters(), lr=0.01)
    xs = np.random.default_rng(0).standard_normal((5, 2, 3))
    for _ in range(3):
        opt.zero_grad()
        out, _ = model(xs)
        (out * out).sum().backward()
        opt.step()


def test_an_optimizer_step_between_forward_and_backward_is_refused_naming_the_parameter():
    model = tr.nn.RNN(3, 4, rng=0)
    opt = optim.SGD(model.parameters(), lr=0.1)
    xs = np.ones((4, 1, 3))
    out, _ = model(xs)
    loss = out.sum()
    other, _ = model(xs)
    other.sum().backward()
    opt.step()
    with pytest.raises(RuntimeError, match=r"'weight_(ih|hh)_l0' of shape \(4, [34]\) was modified by an in-place"):
        loss.backward()


def test_the_stepper_refuses_too():
    w = tr.Tensor(np.array([1.0, 2.0]), requires_grad=True, name="w")
    stepper = (w * w).sum().backward(step=True)
    w.data *= 3
    with pytest.raises(RuntimeError, match=r"'w' of shape \(2,\) was modified"):
        stepper.run()


def test_an_output_saved_for_backward_and_changed_in_place_is_refused():
    x = tr.Tensor(np.array([0.1, 0.2]), requires_grad=True)
    y = x.tanh()  # tanh saves its output y
    loss = y.sum()
    y.data -= 1.0
    with pytest.raises(RuntimeError, match=r"output 0 of tanh"):
        loss.backward()


def test_changes_that_cannot_affect_the_gradient_are_allowed():
    w = tr.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    added = (w + 1.0).sum()  # add saves only shapes
    w.data -= 5.0
    added.backward()
    np.testing.assert_array_equal(w.grad, [1.0, 1.0])

    v = tr.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    squared = (v * v).sum()
    v.data = np.array([10.0, 20.0])  # rebinding: the graph keeps the old numbers, and says so in its gradient
    squared.backward()
    np.testing.assert_array_equal(v.grad, [2.0, 4.0])

    u = tr.Tensor(np.array([3.0]), requires_grad=True)
    unrelated = tr.Tensor(np.array([1.0]), requires_grad=True)
    product = (u * u).sum()
    unrelated.data += 1.0  # written, but not used by this graph
    product.backward()
    np.testing.assert_array_equal(u.grad, [6.0])


def test_the_version_grows_with_each_in_place_write():
    w = tr.Parameter(np.zeros(2))
    assert w._version == 0
    w.data += 1
    first = w._version
    w.data += 1
    assert first > 0 and w._version > first


# --- clipping non-finite gradients, as PyTorch -----------------------------------------------------------


def params_with_grads(*grads: list[float]) -> list[tr.Tensor]:
    params = []
    for g in grads:
        p = tr.Parameter(np.zeros(len(g)))
        p.grad = np.array(g, dtype=float)
        params.append(p)
    return params


def test_one_nan_gradient_makes_the_total_norm_nan_and_every_gradient_nan():
    params = params_with_grads([np.nan, 1.0], [2.0, 3.0])
    total = optim.clip_grad_norm_(params, 1.0)
    assert np.isnan(total)
    assert np.isnan(params[0].grad).all() and np.isnan(params[1].grad).all()  # not left unclipped


def test_an_infinite_gradient_zeroes_the_finite_entries_as_pytorch_does():
    params = params_with_grads([np.inf, 1.0], [2.0])
    with np.errstate(invalid="ignore"):  # inf * 0: NumPy warns, as it should
        total = optim.clip_grad_norm_(params, 1.0)
    assert total == np.inf
    np.testing.assert_array_equal(params[0].grad, [np.nan, 0.0])
    np.testing.assert_array_equal(params[1].grad, [0.0])


def test_error_if_nonfinite_raises_before_touching_any_gradient():
    params = params_with_grads([np.nan, 1.0], [2.0])
    with pytest.raises(FloatingPointError, match="nan"):
        optim.clip_grad_norm_(params, 1.0, error_if_nonfinite=True)
    np.testing.assert_array_equal(params[1].grad, [2.0])


# --- checkpoints -----------------------------------------------------------------------------------------


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


def test_ctrl_c_right_after_the_rename_is_a_keyboard_interrupt_and_the_checkpoint_is_complete(tmp_path, monkeypatch):
    path = tmp_path / "model.npz"
    real_replace = os.replace

    def replace_then_interrupt(src, dst):
        real_replace(src, dst)
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", replace_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        tr.save({"w": np.arange(4.0)}, path)
    monkeypatch.undo()
    np.testing.assert_array_equal(tr.load(path)["w"], np.arange(4.0))
    assert leftovers(tmp_path) == []


def test_ctrl_c_while_writing_keeps_the_old_checkpoint_and_leaves_no_temporary_file(tmp_path, monkeypatch):
    path = tmp_path / "model.npz"
    tr.save({"w": np.zeros(3)}, path)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(np.lib.format, "write_array", interrupted)
    with pytest.raises(KeyboardInterrupt):
        tr.save({"w": np.ones(3)}, path)
    monkeypatch.undo()
    np.testing.assert_array_equal(tr.load(path)["w"], np.zeros(3))
    assert leftovers(tmp_path) == []


def test_the_bytes_are_fsynced_before_the_rename(tmp_path, monkeypatch):
    calls: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: (calls.append("fsync"), real_fsync(fd))[1])
    monkeypatch.setattr(os, "replace", lambda a, b: (calls.append("replace"), real_replace(a, b))[1])
    tr.save({"w": np.zeros(3)}, tmp_path / "model.npz")
    assert calls[:2] == ["fsync", "replace"]


@pytest.mark.skipif(os.name != "posix", reason="kill -9 and the stale-file check are POSIX")
def test_the_next_save_removes_what_a_killed_save_left_behind(tmp_path):
    path = tmp_path / "model.npz"
    script = textwrap.dedent(
        f"""
        import time, numpy as np
        import tinygrad_rnn as tr
        real = np.lib.format.write_array
        def slow(member, array, **kw):
            real(member, array, **kw)
            member.flush()
            time.sleep(60)  # killed here, half-way through the save
        np.lib.format.write_array = slow
        tr.save({{"a": np.zeros(100_000), "b": np.zeros(3)}}, {str(path)!r})
        """
    )
    child = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT)
    try:
        deadline = time.monotonic() + 30
        while not leftovers(tmp_path) and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    stale = leftovers(tmp_path)
    assert len(stale) == 1 and stale[0].startswith(f".model.npz.{child.pid}.")
    tr.save({"w": np.ones(2)}, path)
    assert leftovers(tmp_path) == []
    np.testing.assert_array_equal(tr.load(path)["w"], np.ones(2))


def test_a_temporary_file_of_a_running_save_is_left_alone(tmp_path):
    path = tmp_path / "model.npz"
    busy = tmp_path / f".model.npz.{os.getppid()}.abc123.tmp"  # our parent process is alive
    busy.write_bytes(b"partial")
    tr.save({"w": np.ones(2)}, path)
    assert busy.exists()
