"""The switches belong to a thread: no_grad, scope, detect_anomaly and set_default_dtype.

Each test makes two threads overlap on purpose (one holds a switch open while
the other works), so it does not depend on the scheduler's luck; the last one
also runs a training thread beside a no_grad thread under a tiny switch
interval and asks for bit-identical gradients.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator

import numpy as np
import pytest

import tinygrad_rnn as tr


@pytest.fixture(autouse=True)
def tiny_switch_interval() -> Iterator[None]:
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(previous)


def run_in_thread(fn: Callable[[], object]) -> object:
    """Run ``fn`` in a new thread and return its result (re-raising what it raised)."""
    out: dict[str, object] = {}

    def target() -> None:
        try:
            out["value"] = fn()
        except BaseException as error:  # handed back to the test's thread
            out["error"] = error

    worker = threading.Thread(target=target)
    worker.start()
    worker.join(timeout=30)
    assert not worker.is_alive(), "the worker thread hung"
    if "error" in out:
        raise out["error"]  # type: ignore[misc]
    return out["value"]


def hold_open(switch: Callable[[], object], work: Callable[[], object]) -> object:
    """Thread A enters ``switch`` and waits inside it while thread B runs ``work``."""
    entered, finished = threading.Event(), threading.Event()

    def holder() -> None:
        with switch():  # type: ignore[attr-defined]
            entered.set()
            finished.wait(timeout=30)

    a = threading.Thread(target=holder)
    a.start()
    assert entered.wait(timeout=30)
    try:
        return run_in_thread(work)
    finally:
        finished.set()
        a.join(timeout=30)


def test_no_grad_in_one_thread_does_not_stop_recording_in_another():
    w = tr.Tensor(np.array([0.5, -1.0]), requires_grad=True)

    def train() -> tuple[bool, np.ndarray]:
        y = (w * w).sum()
        y.backward()
        return tr.is_grad_enabled(), w.grad.copy()

    enabled, grad = hold_open(tr.no_grad, train)
    assert enabled is True
    np.testing.assert_array_equal(grad, 2 * w.data)
    assert tr.is_grad_enabled()  # and nothing was left switched off here


def test_a_scope_open_in_one_thread_does_not_tag_another_threads_nodes():
    x = tr.Tensor(np.ones(3), requires_grad=True)

    def record() -> list[str]:
        with tr.scope("mine"):
            y = x.tanh().sum()
        return tr.trace(y).scopes()

    scopes = hold_open(lambda: tr.scope("other_thread"), record)
    assert scopes == ["mine"]
    assert tr.current_scope() == ""


def test_anomaly_mode_in_one_thread_does_not_raise_in_another():
    def legitimate_log_of_zero() -> float:
        with np.errstate(divide="ignore"):
            return float(tr.log(tr.Tensor(np.zeros(1), requires_grad=True)).sum().item())

    assert hold_open(tr.detect_anomaly, legitimate_log_of_zero) == -np.inf

    def still_on_in_its_own_thread() -> None:
        with tr.detect_anomaly(), pytest.raises(tr.AnomalyError, match="log"), np.errstate(divide="ignore"):
            tr.log(tr.Tensor(np.zeros(1), requires_grad=True))

    run_in_thread(still_on_in_its_own_thread)


def test_set_default_dtype_in_one_thread_leaves_other_threads_float64():
    ready, done = threading.Event(), threading.Event()

    def float32_thread() -> None:
        tr.set_default_dtype("float32")
        ready.set()
        done.wait(timeout=30)

    a = threading.Thread(target=float32_thread)
    a.start()
    assert ready.wait(timeout=30)
    try:
        dtypes = run_in_thread(lambda: (tr.nn.Linear(2, 3).weight.dtype, tr.Tensor([1.5]).dtype))
    finally:
        done.set()
        a.join(timeout=30)
    assert dtypes == (np.float64, np.float64)
    assert tr.get_default_dtype() is np.float64


def test_a_new_thread_starts_from_the_defaults_whatever_its_parent_set():
    tr.set_default_dtype("float32")
    try:
        with tr.no_grad(), tr.scope("parent"), tr.detect_anomaly():
            seen = run_in_thread(
                lambda: (tr.is_grad_enabled(), tr.current_scope(), tr.get_default_dtype(), tr.Tensor(0.5).dtype)
            )
    finally:
        tr.set_default_dtype("float64")
    assert seen == (True, "", np.float64, np.float64)


def test_training_beside_a_no_grad_thread_gives_the_single_thread_gradients():
    rng = np.random.default_rng(0)
    xs = rng.standard_normal((5, 4, 3))
    model = tr.nn.GRU(3, 4, rng=0)

    def gradients() -> list[np.ndarray]:
        model.zero_grad()
        out, _ = model(tr.Tensor(xs))
        (out * out).sum().backward()
        return [p.grad.copy() for p in model.parameters()]

    reference = gradients()
    stop = threading.Event()
    other = tr.nn.GRU(3, 4, rng=1)

    def inference() -> None:
        while not stop.is_set():
            with tr.no_grad(), tr.scope("inference"):
                other(tr.Tensor(xs[:2]))

    side = threading.Thread(target=inference)
    side.start()
    try:
        trained = [gradients() for _ in range(15)]
    finally:
        stop.set()
        side.join(timeout=30)
    for step in trained:
        for got, expected in zip(step, reference):
            np.testing.assert_array_equal(got, expected)
