"""Ctrl-C always stops a training loop (issue 28).

A KeyboardInterrupt raised while Python runs a garbage-collector callback is
printed as "Exception ignored" and dropped: the loop goes on. The engine used to
register such a callback, so some Ctrl-Cs were lost. Here a real training loop
runs in a child process and gets SIGINT at random moments; every run must end.
"""

from __future__ import annotations

import gc
import os
import random
import signal
import subprocess
import sys
import time
import weakref

import numpy as np

import tinygrad_rnn as tr

LOOP = """
import gc, sys
import numpy as np
import tinygrad_rnn as tr
gc.set_threshold(20, 2, 2)  # collections all the time: any Python code run by the collector is exposed
rng = np.random.default_rng(0)
rnn, head = tr.nn.RNN(3, 8, rng=0), tr.nn.Linear(8, 1, rng=1)
opt = tr.optim.SGD(list(rnn.parameters()) + list(head.parameters()), lr=0.01)
print("ready", flush=True)
while True:
    out, _ = rnn(rng.normal(size=(12, 2, 3)))
    loss = (head(out) ** 2).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
"""

RUNS = 12


def _env() -> dict[str, str]:
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return {**os.environ, "PYTHONPATH": root}


def test_the_engine_runs_no_python_code_inside_the_garbage_collector():
    ours = [cb for cb in gc.callbacks if getattr(cb, "__module__", "").startswith("tinygrad_rnn")]
    assert ours == [], f"gc callbacks of ours swallow Ctrl-C: {ours}"


def test_ctrl_c_at_random_moments_always_stops_a_training_loop():
    chance = random.Random()
    survivors = []
    for run in range(RUNS):
        child = subprocess.Popen(
            [sys.executable, "-c", LOOP], env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        try:
            assert child.stdout.readline().strip() == "ready", child.stderr.read()
            time.sleep(chance.uniform(0.05, 0.4))
            child.send_signal(signal.SIGINT)
            try:
                child.wait(timeout=6)
            except subprocess.TimeoutExpired:
                survivors.append(run)
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
            child.stdout.close()
            child.stderr.close()
    assert survivors == [], f"{len(survivors)} of {RUNS} loops kept running after Ctrl-C"



def test_the_engine_leaves_no_weakref_callbacks_on_what_it_tracks():
    """A weakref callback is Python code run when an object dies; a Ctrl-C arriving there is lost too."""
    w = tr.Parameter(np.ones((2, 2)))
    (w * 2).sum().backward()
    tr.optim.SGD([w], lr=0.1).step()  # an in-place write: the engine remembers the buffer written
    h = (w * 3).tanh()
    h.retain_grad()  # the engine remembers the tensor whose grad to keep
    for tracked in (w.data, h):
        assert [r for r in weakref.getweakrefs(tracked) if r.__callback__ is not None] == []


def test_a_tensor_reusing_a_dead_retained_tensors_id_does_not_keep_its_grad():
    x = tr.Tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    y.retain_grad()
    dead = id(y)
    del y
    for _ in range(10_000):  # CPython soon hands the freed memory to a new tensor
        z = x * 3
        if id(z) == dead:
            break
    assert id(z) == dead
    assert not z.retains_grad
    with tr.teaching_mode(False):
        (z * z).sum().backward()
    assert z.grad is None  # only tensors retain_grad() was called on keep their grad


def test_ctrl_c_at_random_moments_always_stops_the_quick_tour(tmp_path):
    """The command line: a Ctrl-C during ``tour --quick`` stops it with "interrupted", never exit 0."""
    chance = random.Random()
    for run in range(4):
        child = subprocess.Popen(
            [sys.executable, "-m", "tinygrad_rnn", "tour", "--quick", "--out", str(tmp_path / f"tour{run}")],
            env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        try:
            assert "tour:" in child.stdout.readline()  # it is running its first part
            time.sleep(chance.uniform(0.0, 1.5))
            child.send_signal(signal.SIGINT)
            _, err = child.communicate(timeout=20)
        finally:
            if child.poll() is None:
                child.kill()
                child.communicate()
        # 130 from main. About 1 run in 30 (seen only with the Ctrl-C during the derivation part) the
        # process instead ends by SIGINT itself right after main printed "interrupted"; the cause is not
        # found yet (it does not reproduce under strace). Either way the tour stopped, which is the point.
        assert child.returncode in (130, -signal.SIGINT), (run, child.returncode, err)
        assert err.strip().splitlines()[-1] == "interrupted" and "Traceback" not in err
