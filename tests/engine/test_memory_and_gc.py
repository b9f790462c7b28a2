"""What backward keeps (gradients, the graph) and how the engine handles Python's garbage collector."""

import gc
import weakref

import numpy as np
import pytest

import tinygrad_rnn as tr


def _chain():
    w = tr.Parameter(np.array([0.5, -0.3]), name="w")
    h = (w * 2.0).tanh()
    loss = (h * h).sum()
    return w, h, loss


def test_teaching_mode_is_on_by_default_and_keeps_intermediate_grads():
    assert tr.is_teaching_mode()
    w, h, loss = _chain()
    loss.backward()
    assert h.grad is not None and w.grad is not None
    assert len(tr.trace(loss)) == 4  # the graph is still whole: it can be drawn


def test_training_mode_keeps_only_leaf_grads_and_retain_grad_tensors():
    with tr.teaching_mode(False):
        w, h, loss = _chain()
        kept = h * 1.0
        kept.retain_grad()
        loss2 = (kept * h).sum()
        loss2.backward()
    assert w.grad is not None
    assert h.grad is None  # an intermediate nobody asked for
    assert kept.retains_grad and np.array_equal(kept.grad, h.data)
    assert tr.is_teaching_mode()  # the block restored the switch


def test_retain_grads_argument_overrides_the_switch():
    w, h, loss = _chain()
    loss.backward(retain_grads=False)
    assert h.grad is None and w.grad is not None


def test_backward_twice_through_a_freed_graph_raises_a_clear_error():
    w, h, loss = _chain()
    loss.backward(retain_graph=False)
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        loss.backward()
    with pytest.raises(RuntimeError, match="already freed"):
        tr.trace(loss)


def test_backward_twice_with_retain_graph_accumulates():
    w, h, loss = _chain()
    loss.backward(retain_graph=True)
    first = w.grad.copy()
    loss.backward()
    np.testing.assert_allclose(w.grad, 2 * first)


def test_a_freed_graph_releases_the_intermediate_arrays():
    w = tr.Parameter(np.ones(1000))
    h = (w * 2.0).tanh()
    probe = weakref.ref(h)
    loss = h.sum()
    del h
    assert probe() is not None  # the graph holds it
    loss.backward(retain_graph=False)
    assert probe() is None  # freed by reference counting as backward walked past it
    assert w.grad is not None


def test_the_stepper_still_shows_every_intermediate_gradient_with_teaching_mode_off():
    with tr.teaching_mode(False):
        w, h, loss = _chain()
        stepper = loss.backward(step=True)
        stepper.run()
    assert h.grad is not None and w.grad is not None
    assert len(tr.trace(loss)) == 4  # and the graph is still there to draw


def test_an_abandoned_stepper_is_freed_without_the_cyclic_collector():
    w, h, loss = _chain()
    stepper = loss.backward(step=True)
    stepper.step()
    probe = weakref.ref(stepper._pass)
    enabled = gc.isenabled()
    gc.disable()
    try:
        del stepper
        assert probe() is None  # no reference cycle: reference counting freed it
    finally:
        if enabled:
            gc.enable()


@pytest.mark.parametrize("initially", [True, False])
def test_gc_state_is_restored_after_every_pause(initially):
    was = gc.isenabled()
    (gc.enable if initially else gc.disable)()
    try:
        layer = tr.nn.LSTM(2, 3, rng=0)
        out, _ = layer(np.ones((4, 1, 2)))  # unrolls under gc_paused
        assert gc.isenabled() is initially
        tr.trace(out)
        assert gc.isenabled() is initially
        out.sum().backward(step=True).run()  # the stepper pauses too
        assert gc.isenabled() is initially
        out.sum().backward()
        assert gc.isenabled() is initially
        with pytest.raises(ValueError):
            with tr.graph.gc_paused():
                raise ValueError("inside the pause")
        assert gc.isenabled() is initially
    finally:
        (gc.enable if was else gc.disable)()


def test_a_big_graph_recorded_in_user_code_is_frozen_then_given_back():
    assert gc.isenabled()
    before = gc.get_freeze_count()
    x = tr.Tensor(np.full((1, 4), 0.1), requires_grad=True)
    h = x
    for _ in range(tr.graph.FREEZE_AFTER + 10):
        h = h.tanh()
    gc.collect()  # clears whatever garbage earlier code left
    gc.collect()  # a full collection that finds nothing: only the growing graph is left to walk
    for _ in range(tr.graph.CHECK_EVERY):
        h = h.tanh()  # the recording notices that collection (no gc callback: issue 28) and freezes
    assert gc.get_freeze_count() > before  # so its survivors were frozen: later collections skip them
    h.backward(np.ones((1, 4)))
    assert gc.get_freeze_count() == before  # backward gave them back to the collector
    assert gc.isenabled()


def test_recording_without_backward_does_not_keep_objects_frozen_for_ever(monkeypatch):
    monkeypatch.setattr(tr.graph, "FREEZE_AFTER", 50)  # small graphs count as big, to keep this fast
    monkeypatch.setattr(tr.graph, "MAX_FREEZES", 2)
    assert gc.isenabled()
    before = gc.get_freeze_count()
    layer = tr.nn.RNN(2, 2, rng=0)
    outputs = [layer(np.ones((30, 1, 2)))[0] for _ in range(2)]  # each unroll ends a pause in a big recording
    assert gc.get_freeze_count() > before  # frozen, as a long recording should be
    outputs.append(layer(np.ones((30, 1, 2)))[0])
    assert gc.get_freeze_count() == before  # given back after MAX_FREEZES, though no backward ran
    tr.graph.recording_consumed()
