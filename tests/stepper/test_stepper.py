"""BackwardStepper: same numbers as backward(), exact undo, run_to, contribution counting, printing."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_rnn as tr
from tinygrad_rnn.cli.step import builtin_model


def tiny_rnn(steps=3, hidden=2, seed=0, name="W_hh"):
    """h_t = tanh(W_hh h_{t-1} + W_xh x_t) with h_0 = 0, loss = sum(h_T); scopes rnn/l0/fwd/t<t>."""
    rng = np.random.default_rng(seed)
    W_hh = tr.Parameter(rng.uniform(-1, 1, (hidden, hidden)), name=name)
    W_xh = tr.Parameter(rng.uniform(-1, 1, (hidden, 1)), name="W_xh")
    xs = rng.standard_normal((steps, 1))
    h = tr.Tensor(np.zeros(hidden), name="h0")
    hs = []
    with tr.scope("rnn"), tr.scope("l0"), tr.scope("fwd"):
        for t in range(1, steps + 1):
            with tr.scope(f"t{t}"), tr.scope("hidden"):
                h = (W_hh @ h + W_xh @ tr.Tensor(xs[t - 1])).tanh()
            h.name = f"h{t}"
            hs.append(h)
    loss = h.sum()
    loss.name = "loss"
    return loss, W_hh, hs


def tied_rnn(steps=3, seed=1):
    """One parameter W used as both the input and the recurrent weight, and twice in one node (W*W)."""
    rng = np.random.default_rng(seed)
    W = tr.Parameter(rng.uniform(-0.8, 0.8, (2, 2)), name="W")
    x = tr.Tensor(rng.standard_normal((steps, 2)), requires_grad=True, name="x")
    h = tr.Tensor(np.zeros(2))
    for t in range(1, steps + 1):
        with tr.scope(f"t{t}"):
            h = (W @ x[t - 1] + (W * W) @ h).tanh()
    return h.sum()


GRAPHS = {
    "rnn": lambda: builtin_model("rnn", 3, seed=2),
    "lstm": lambda: builtin_model("lstm", 3, seed=3),
    "gru": lambda: builtin_model("gru", 3, seed=4),
    "tied": tied_rnn,
}


def all_grads(loss):
    """Every .grad in the graph (copies), by tensor id."""
    return {
        tid: None if rec.tensor.grad is None else rec.tensor.grad.copy()
        for tid, rec in tr.trace(loss).tensors.items()
    }


def clear_grads(loss):
    for rec in tr.trace(loss).tensors.values():
        rec.tensor.grad = None


def assert_same_grads(a, b):
    assert a.keys() == b.keys()
    for tid in a:
        if a[tid] is None or b[tid] is None:
            assert a[tid] is None and b[tid] is None
        else:
            assert a[tid].dtype == b[tid].dtype
            assert np.array_equal(a[tid], b[tid])


@pytest.mark.parametrize("kind", sorted(GRAPHS))
def test_run_gives_backwards_gradients_bit_for_bit(kind):
    loss = GRAPHS[kind]()
    stepper = tr.BackwardStepper(loss)
    stepper.step(5)
    stepper.run()
    assert stepper.done
    stepped = all_grads(loss)
    clear_grads(loss)
    loss.backward()
    assert_same_grads(stepped, all_grads(loss))
    assert any(g is not None and np.any(g != 0) for g in stepped.values())


@pytest.mark.parametrize("kind", sorted(GRAPHS))
def test_pre_existing_leaf_grads_accumulate_like_backward(kind):
    loss = GRAPHS[kind]()
    graph = tr.trace(loss)
    leaves = [r.tensor for r in graph.tensors.values() if r.producer is None and r.tensor.requires_grad]
    earlier = [np.full(t.shape, 0.25) for t in leaves]
    for t, g in zip(leaves, earlier):
        t.grad = g.copy()
    loss.backward(step=True).run()
    stepped = [t.grad.copy() for t in leaves]
    for t, g in zip(leaves, earlier):
        t.grad = g.copy()
    loss.backward()
    for s, t in zip(stepped, leaves):
        assert np.array_equal(s, t.grad)


def test_nothing_is_computed_until_a_step_is_asked_for():
    loss, W_hh, hs = tiny_rnn()
    stepper = loss.backward(step=True)
    assert isinstance(stepper, tr.BackwardStepper)
    assert stepper.position == 0 and not stepper.done
    assert W_hh.grad is None and all(h.grad is None for h in hs) and loss.grad is None
    stepper.step()
    assert loss.grad is not None and W_hh.grad is None


@pytest.mark.parametrize("kind", ["rnn", "lstm", "tied"])
def test_back_restores_the_previous_state_exactly(kind):
    loss = GRAPHS[kind]()
    stepper = tr.BackwardStepper(loss)
    for k in (0, 4, 11):
        stepper.go_to(k)
        before, where, position = all_grads(loss), stepper.where(), stepper.position
        events = [e.summary() for e in stepper.events]
        stepper.step(3)
        assert stepper.position == position + 3
        for _ in range(3):
            stepper.back()
        assert stepper.position == position and stepper.where() == where
        assert [e.summary() for e in stepper.events] == events
        assert_same_grads(before, all_grads(loss))


def test_back_restores_grads_that_existed_before_the_stepper_started():
    loss, W_hh, hs = tiny_rnn()
    loss.backward()  # leaves and intermediates now hold gradients from an earlier pass
    earlier = all_grads(loss)
    stepper = tr.BackwardStepper(loss)
    stepper.run()
    assert not np.array_equal(W_hh.grad, earlier[id(W_hh)])  # accumulated: twice the gradient
    assert np.allclose(W_hh.grad, 2 * earlier[id(W_hh)])
    while stepper.position:
        stepper.back()
    assert_same_grads(earlier, all_grads(loss))
    with pytest.raises(ValueError, match="nothing to undo"):
        stepper.back()


def test_back_returns_the_undone_event_and_the_same_step_is_replayed():
    loss, W_hh, _ = tiny_rnn()
    stepper = tr.BackwardStepper(loss)
    first = stepper.step(6)[-1]
    undone = stepper.back()
    assert undone.summary() == first.summary()
    again = stepper.step()[0]
    assert str(again) == str(first)


def test_run_to_scope_stops_at_the_first_node_of_that_time_step():
    loss, W_hh, hs = tiny_rnn()
    stepper = tr.BackwardStepper(loss)
    events = stepper.run_to("t1")
    assert events and all("/t1/" not in e.scope for e in events)
    assert stepper.current.scope == "rnn/l0/fwd/t1/hidden"
    assert stepper.run_to("t1") == []  # already there: nothing happens
    assert stepper.current.scope.split("/")[3] == "t1"


def test_run_to_a_name_stops_at_the_node_producing_it():
    loss, W_hh, hs = tiny_rnn()
    stepper = tr.BackwardStepper(loss)
    stepper.run_to("h2")
    assert stepper.current.outputs == (id(hs[1]),)
    assert hs[1].grad is None  # not processed yet: it is the current node
    stepper.run_to("fwd/t1")
    assert stepper.current.outputs == (id(hs[0]),)


def test_run_to_something_not_ahead_raises_and_does_not_move():
    loss, _, _ = tiny_rnn()
    stepper = tr.BackwardStepper(loss)
    stepper.run_to("t2")
    position = stepper.position
    for target in ("t9", "W_hh", "t3"):
        with pytest.raises(ValueError, match="no pending node"):
            stepper.run_to(target)
        assert stepper.position == position


@pytest.mark.parametrize("steps", [1, 3, 5])
def test_W_hh_gets_one_contribution_per_time_step_in_reverse_time(steps):
    loss, W_hh, hs = tiny_rnn(steps=steps)
    stepper = tr.BackwardStepper(loss)
    events = stepper.run()
    acc = [a for e in events for a in e.accumulations if a.leaf == "W_hh"]
    expected = [(k, steps, steps + 1 - k) for k in range(1, steps + 1)]  # k-th arrives from t = T + 1 - k
    assert [(a.contribution, a.of, a.t) for a in acc] == expected
    assert stepper.contributions(id(W_hh)) == (steps, steps)
    assert np.array_equal(acc[-1].total, W_hh.grad)


def test_each_contribution_is_the_bptt_term_of_its_time_step():
    """contribution_t = delta_t h_{t-1}^T, delta_T = 1 - h_T^2, delta_{t-1} = (W^T delta_t)(1 - h_{t-1}^2)."""
    steps = 4
    loss, W_hh, hs = tiny_rnn(steps=steps, hidden=3, seed=5)
    acc = {a.t: a.grad for e in tr.BackwardStepper(loss).run() for a in e.accumulations if a.leaf == "W_hh"}
    h = [np.zeros(3)] + [x.data for x in hs]
    delta = 1 - h[steps] ** 2
    for t in range(steps, 0, -1):
        np.testing.assert_allclose(acc[t], np.outer(delta, h[t - 1]), rtol=1e-12, atol=1e-15)
        delta = (W_hh.data.T @ delta) * (1 - h[t - 1] ** 2)


def test_contributions_through_a_view_are_counted_for_the_parameter():
    """PyTorch's layout: W_hh^T once, then h_{t-1} @ W_hh^T at every step."""
    rng = np.random.default_rng(7)
    W_hh = tr.Parameter(rng.uniform(-1, 1, (3, 3)), name="W_hh")
    h = tr.Tensor(rng.standard_normal((1, 3)))
    W_T = W_hh.T
    for t in range(1, 5):
        with tr.scope(f"t{t}"):
            h = (h @ W_T).tanh()
    loss = h.sum()
    stepper = tr.BackwardStepper(loss)
    stepper.run_to("t1")
    assert stepper.contributions(id(W_hh)) == (3, 4) and W_hh.grad is None
    assert "being collected in dL/dW_hhᵀ = " in stepper.show("W_hh")
    assert list(stepper.collecting(id(W_hh))) == ["W_hhᵀ"]
    stepper.run_to("W_hhᵀ")
    assert np.array_equal(stepper.collecting(id(W_hh))["W_hhᵀ"], stepper._current_upstream()[0])
    stepper.step()
    assert stepper.collecting(id(W_hh)) == {} and "being collected" not in stepper.show("W_hh")
    stepper.run()
    events = stepper.events
    acc = [a for e in events for a in e.accumulations if a.leaf == "W_hh"]
    uses, (gather,) = acc[:-1], acc[-1:]
    assert [(a.into, a.contribution, a.of, a.t) for a in uses] == [("W_hhᵀ", k, 4, 5 - k) for k in range(1, 5)]
    assert str(uses[1]) == "dL/dW_hhᵀ += … (W_hh's contribution 2 of 4, from t=3)"
    assert (gather.into, gather.contribution, gather.gathered, gather.source) == ("W_hh", None, 4, "W_hhᵀ")
    assert str(gather) == "W_hh.grad += … (4 of 4 contributions, collected in W_hhᵀ)"
    assert events[-1].op == "transpose" and np.array_equal(gather.total, W_hh.grad)
    np.testing.assert_allclose(sum(a.grad for a in uses).T, W_hh.grad, rtol=1e-12)
    assert np.array_equal(uses[-1].total, events[-1].upstream[0])  # our running sum is the engine's


def test_a_leaf_used_twice_in_one_node_counts_two_contributions():
    W = tr.Parameter(np.array([[1.0, 2.0], [3.0, 4.0]]), name="W")
    loss = (W * W).sum()
    events = tr.BackwardStepper(loss).run()
    acc = events[-1].accumulations
    assert [(a.contribution, a.of) for a in acc] == [(1, 2), (2, 2)]
    assert np.array_equal(acc[0].total, W.data) and np.array_equal(acc[1].total, 2 * W.data)


def test_events_print_the_rule_the_gradients_and_the_accumulation():
    loss, W_hh, hs = tiny_rnn()
    stepper = tr.BackwardStepper(loss)
    tanh_event = stepper.step(2)[1]
    text = str(tanh_event)
    assert "tanh at rnn/l0/fwd/t3/hidden -> h₃" in text
    assert "d tanh(x)/dx = 1 - tanh(x)^2" in text
    assert "dL/dh₃ = [1. 1.]" in text  # small arrays in full
    h3 = hs[2].data
    sent = tanh_event.sent[0].grad  # the rule filled in: names, then numbers, then the result
    numbers = f"[1 1] ⊙ (1 − [{h3[0]:.3g} {h3[1]:.3g}]²) = [{sent[0]:.3g} {sent[1]:.3g}]"
    assert f"dL/ds₃ = dL/dh₃ ⊙ (1 − h₃²) = {numbers}" in text
    matmul = stepper.run_to("t2")[-1]  # (no reshape nodes around a 1-D matmul any more)
    assert matmul.op == "matmul" and "W_hh.grad += … (contribution 1 of 3, from t=3)" in str(matmul)
    assert "W_hh.grad is now" in str(matmul)
    assert repr(stepper).startswith("<BackwardStepper step ") and "rnn/l0/fwd/t2/hidden" in repr(stepper)


def test_large_arrays_are_summarised():
    rng = np.random.default_rng(0)
    W = tr.Parameter(rng.standard_normal((10, 10)), name="big")
    loss = (W @ W).sum()
    text = str(tr.BackwardStepper(loss).run()[-1])
    norm = np.linalg.norm(np.ones((10, 10)) @ W.data.T)
    assert "shape (10, 10)" in text and f"norm {norm:.4g}" in text
    assert text.count("\n") < 12


def test_where_pending_and_viz_state_agree():
    loss, W_hh, hs = tiny_rnn()
    stepper = tr.BackwardStepper(loss)
    n = stepper.steps
    assert set(stepper.__viz_state__()["status"].values()) == {"next", "pending"}  # nothing done yet
    events = stepper.run_to("t2")
    k = len(events)
    state = stepper.__viz_state__()
    statuses = list(state["status"].values())
    counts = tuple(statuses.count(s) for s in ("done", "current", "next", "pending"))
    assert counts == (k - 1, 1, 1, n - k - 1)
    assert state["status"][events[-1].index] == "current"  # the step just taken: what the last event says
    assert state["status"][stepper.current.index] == "next"  # the node the next step will process
    assert state["graph"] is stepper.graph
    grads = state["grads"]
    assert np.array_equal(grads[id(W_hh)], W_hh.grad)  # got its t=3 contribution
    assert np.array_equal(grads[id(hs[2])], np.ones(2))  # done: dL/dh3
    assert id(hs[1]) in grads and id(hs[0]) not in grads  # h2 is the current node's output, h1 still pending
    assert hs[1].grad is None
    pending = stepper.pending()
    assert len(pending) == n - k and pending[0] is stepper.current
    assert stepper.where().startswith(f"step {k} of {n} done; next: tanh at rnn/l0/fwd/t2/hidden -> h₂")
    stepper.run()
    assert stepper.where().startswith("finished") and stepper.pending() == [] and stepper.current is None
    final = stepper.__viz_state__()["status"]
    assert final[stepper.events[-1].index] == "current" and set(final.values()) == {"done", "current"}


def test_show_gives_value_gradient_and_contribution_count():
    loss, W_hh, hs = tiny_rnn()
    stepper = tr.BackwardStepper(loss)
    assert "dL/dh₁ = (not known yet)" in stepper.show("h1")  # typed h1 finds h₁
    stepper.run_to("t1")
    text = stepper.show("W_hh")
    assert "contributions so far: 2 of 3" in text and "parameter, shape (2, 2)" in text
    with pytest.raises(KeyError, match="its tensors: .*W_hh"):
        stepper.show("nope")


def test_bad_input_gets_clear_errors():
    loss, W_hh, _ = tiny_rnn()
    stepper = tr.BackwardStepper(loss)
    with pytest.raises(ValueError, match="positive integer"):
        stepper.step(0)
    with pytest.raises(ValueError, match="leaf"):
        tr.BackwardStepper(W_hh)
    with pytest.raises(RuntimeError, match="non-scalar"):
        tr.BackwardStepper(W_hh @ W_hh)
    with pytest.raises(RuntimeError, match="does not require grad"):
        tr.BackwardStepper(tr.Tensor([1.0]).sum())


def test_non_scalar_root_with_explicit_grad_matches_backward():
    rng = np.random.default_rng(3)
    W = tr.Parameter(rng.standard_normal((3, 3)), name="W")
    y = (W @ W).tanh()
    seed = rng.standard_normal((3, 3))
    y.backward(seed, step=True).run()
    stepped = W.grad.copy()
    W.grad = None
    y.backward(seed)
    assert np.array_equal(stepped, W.grad)


def test_a_loss_that_is_one_output_of_a_multi_output_op():
    W = tr.Parameter(np.array([1.0, 2.0, 3.0]), name="W")
    first, loss = (W * W).split([2, 1])
    stepper = tr.BackwardStepper(loss)
    assert np.array_equal(stepper.known_grads()[id(loss)], np.ones(1))
    assert "dL/dsplit[0] = None (no gradient)" in stepper.where()
    stepper.run()
    assert np.array_equal(W.grad, [0.0, 0.0, 6.0])


@settings(max_examples=30, deadline=None)
@given(st.lists(st.one_of(st.integers(1, 6), st.just("back")), max_size=12))
def test_any_walk_of_steps_and_backs_lands_in_the_state_of_a_straight_walk(moves):
    loss = tied_rnn(steps=2)
    walker = tr.BackwardStepper(loss)
    for move in moves:
        if move == "back":
            if walker.position:
                walker.back()
        else:
            walker.step(move)
    seen = all_grads(loss)
    summaries = [e.summary() for e in walker.events]
    clear_grads(loss)
    straight = tr.BackwardStepper(loss)
    if walker.position:
        straight.step(walker.position)
    assert_same_grads(seen, all_grads(loss))
    assert [e.summary() for e in straight.events] == summaries


@pytest.mark.parametrize("kind", sorted(GRAPHS))
def test_frames_are_what_stepping_one_at_a_time_shows(kind):
    loss = GRAPHS[kind]()
    frames = tr.BackwardStepper(loss).frames()
    walker = tr.BackwardStepper(loss)  # the reference: step by step, asking the stepper at each position
    number = walker.tensor_numbers()
    assert len(frames) == walker.steps + 1
    latest = {}
    for k, frame in enumerate(frames):
        if k:
            event = walker.step()[0]
            assert frame["text"] == str(event) and frame["node"] == event.index
        assert frame["position"] == k and frame["where"] == walker.where()
        assert frame["next"] == (None if walker.current is None else walker.current.index)
        assert frame["done"] == [e.index for e in walker.events]
        known = walker.known_grads()
        assert sorted(frame["known"]) == sorted(number[t] for t in known)
        latest.update(frame["grads"])
        for tid, grad in known.items():
            assert latest[number[tid]]["text"] == tr.stepper.format_array(grad)
        status = walker.__viz_state__()["status"]
        assert [i for i, s in status.items() if s == "current"] == ([] if k == 0 else [frame["node"]])
    got = {}
    for frame in frames:
        for c in frame["contributions"]:
            got.setdefault(c["leaf"], []).append(c)
    for rec in walker.graph.tensors.values():
        if rec.producer is None and rec.tensor.requires_grad:
            pieces = got[walker.label(rec.id)]
            assert [c["number"] for c in pieces] == list(range(1, walker.contributions(rec.id)[1] + 1))
            assert all(c["of"] == len(pieces) for c in pieces)


def test_frames_of_an_rnn_show_w_hh_arriving_from_t3_to_t1_and_leave_the_stepper_alone():
    loss, W_hh, _ = tiny_rnn()
    W_hh.grad = np.full(W_hh.shape, 5.0)  # an earlier gradient: accumulated into, and restored
    stepper = tr.BackwardStepper(loss)
    stepper.run_to("t2")
    position, grad = stepper.position, W_hh.grad.copy()
    frames = stepper.frames()
    assert stepper.position == position and np.array_equal(W_hh.grad, grad)
    pieces = [c for f in frames for c in f["contributions"] if c["leaf"] == "W_hh"]
    assert [(c["number"], c["of"], c["t"]) for c in pieces] == [(1, 3, 3), (2, 3, 2), (3, 3, 1)]
    assert "W_hh.grad = (nothing yet)\n  0 of 3" in frames[0]["leaves"]
    assert "3 of 3 contributions so far" in frames[-1]["leaves"]
    stepper.run()
    W = stepper.tensor_numbers()[id(W_hh)]
    last = [f["grads"][W] for f in frames if W in f["grads"]][-1]
    assert last["text"] == tr.stepper.format_array(W_hh.grad)  # the earlier 5s included, as backward() does
