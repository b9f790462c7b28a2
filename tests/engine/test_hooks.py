"""Tensor.register_hook against PyTorch: replacing, scaling, observing, removal, several steps,
leaves, create_graph and tr.grad (numbers from tests/fixtures/hooks.npz, written by
tests/fixtures/make_hook_fixture.py; PyTorch is not needed here)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import tinygrad_rnn as tr

FIXTURE = np.load(Path(__file__).resolve().parents[1] / "fixtures" / "hooks.npz", allow_pickle=False)
T = FIXTURE["in_xs"].shape[0]
PARAMS = ("W_hh", "W_xh", "b")


def build():
    """The fixture's RNN in tinygrad_rnn: parameters, hidden states h_1..h_T, loss."""
    p = {k: tr.Tensor(FIXTURE[f"in_{k}"].copy(), requires_grad=True, name=k) for k in PARAMS}
    h = tr.Tensor(np.zeros((FIXTURE["in_xs"].shape[1], FIXTURE["in_W_hh"].shape[0])))
    hs = []
    for t in range(T):
        with tr.scope(f"t{t + 1}"):
            h = (h @ p["W_hh"].T + tr.Tensor(FIXTURE["in_xs"][t]) @ p["W_xh"].T + p["b"]).tanh()
        hs.append(h)
    loss = hs[0].sum() * 0.0
    for t, h in enumerate(hs):
        loss = loss + (h * tr.Tensor(FIXTURE["in_V"][t])).sum()
    return p, hs, loss


def assert_grads(p, case):
    for k in PARAMS:
        np.testing.assert_allclose(p[k].grad, FIXTURE[f"{case}_{k}"], rtol=1e-10, atol=1e-12, err_msg=f"{case} {k}")


def test_without_hooks_the_gradients_are_pytorchs():
    p, _, loss = build()
    loss.backward()
    assert_grads(p, "none")


def test_a_replacing_hook_cuts_the_path_through_h2_and_its_grad_shows_the_replacement():
    p, hs, loss = build()
    hs[2].register_hook(lambda g: np.zeros_like(g))
    loss.backward()
    assert_grads(p, "replace")
    np.testing.assert_array_equal(hs[2].grad, FIXTURE["replace_h2grad"])
    assert not np.allclose(FIXTURE["replace_W_hh"], FIXTURE["none_W_hh"])  # the hook mattered


def test_scaling_hooks_on_an_intermediate_and_on_a_leaf():
    p, hs, loss = build()
    hs[2].register_hook(lambda g: g * 0.5)
    p["W_hh"].register_hook(lambda g: g * 2)
    loss.backward()
    assert_grads(p, "scale")


def test_observing_hooks_see_dL_dh_at_every_step_and_change_nothing():
    p, hs, loss = build()
    seen = {}
    for t, h in enumerate(hs):
        h.register_hook(lambda g, t=t: seen.__setitem__(t, g.copy()))
    loss.backward()
    assert_grads(p, "observe")
    np.testing.assert_allclose(np.stack([seen[t] for t in range(T)]), FIXTURE["observe_dh"], rtol=1e-10)


def test_a_removed_hook_does_not_run_and_the_others_still_do():
    p, hs, loss = build()
    handle = hs[2].register_hook(lambda g: np.zeros_like(g))
    hs[2].register_hook(lambda g: g * 0.25)
    handle.remove()
    handle.remove()  # twice is harmless, as in PyTorch
    loss.backward()
    assert_grads(p, "removed")


def test_hooks_at_several_steps_run_in_registration_order():
    p, hs, loss = build()
    hs[1].register_hook(lambda g: np.clip(g, -0.05, 0.05))
    hs[3].register_hook(lambda g: g * 0.3)
    hs[2].register_hook(lambda g: g + 1)
    hs[2].register_hook(lambda g: g * 2)
    loss.backward()
    assert_grads(p, "steps")


def test_a_leaf_hook_runs_once_with_the_sum_over_every_use_and_grads_accumulate_after_it():
    p, _, loss = build()
    calls = []
    p["W_hh"].register_hook(lambda g: calls.append(g.copy()))
    loss.backward()
    assert len(calls) == int(FIXTURE["leafcalls_count"]) == 1
    np.testing.assert_allclose(calls[0], FIXTURE["leafcalls_seen"], rtol=1e-10)
    p2, _, loss2 = build()  # a second backward adds the hooked gradient to what .grad held
    p2["W_hh"].grad = np.ones_like(p2["W_hh"].data)
    p2["W_hh"].register_hook(lambda g: g * 2)
    loss2.backward()
    np.testing.assert_allclose(p2["W_hh"].grad, 1 + FIXTURE["scale_W_hh"] * 0 + 2 * FIXTURE["none_W_hh"], rtol=1e-10)


def test_hooks_with_create_graph_are_differentiated_too():
    p, hs, loss = build()
    hs[2].register_hook(lambda g: g * hs[2])
    (g_hh,) = tr.grad(loss, [p["W_hh"]], create_graph=True)
    np.testing.assert_allclose(g_hh.data, FIXTURE["cg_first"], rtol=1e-10)
    second = tr.grad((g_hh * tr.Tensor(FIXTURE["in_S"])).sum(), [p[k] for k in PARAMS])
    for k, g in zip(PARAMS, second):
        np.testing.assert_allclose(g.data, FIXTURE[f"cg_second_{k}"], rtol=1e-9, atol=1e-12, err_msg=k)


def test_backward_create_graph_runs_hooks_and_records_them():
    p, hs, loss = build()
    hs[2].register_hook(lambda g: g * hs[2])
    loss.backward(create_graph=True)
    np.testing.assert_allclose(p["W_hh"].grad.data, FIXTURE["cg_first"], rtol=1e-10)
    assert p["W_hh"].grad.requires_grad


def test_tr_grad_runs_leaf_hooks_as_torch_autograd_grad_does():
    p, _, loss = build()
    p["W_hh"].register_hook(lambda g: g * 2)
    g_hh, g_xh = tr.grad(loss, [p["W_hh"], p["W_xh"]])
    np.testing.assert_allclose(g_hh.data, FIXTURE["autograd_W_hh"], rtol=1e-10)
    np.testing.assert_allclose(g_xh.data, FIXTURE["autograd_W_xh"], rtol=1e-10)


def test_the_stepper_gives_the_same_numbers_and_says_what_the_hook_changed():
    p, hs, loss = build()
    hs[2].register_hook(lambda g: np.zeros_like(g))
    stepper = loss.backward(step=True)
    events = stepper.run()
    assert_grads(p, "replace")
    hooked = [e for e in events if e.hooks]
    assert len(hooked) == 1
    text = str(hooked[0])
    norm = float(np.linalg.norm(FIXTURE["observe_dh"][2]))
    assert "  hook       changed dL/dh₃: " in text, text  # the notation layer names the tanh output h₃
    assert f"norm {norm:.4g} -> 0, a change of norm {norm:.4g}" in text, text


def test_the_stepper_reports_a_leaf_hook_at_the_leafs_last_use():
    p, _, loss = build()
    p["W_hh"].register_hook(lambda g: g * 2)
    events = loss.backward(step=True).run()
    hooked = [e for e in events if e.hooks]
    assert len(hooked) == 1 and "W_hh" in str(hooked[0])
    assert_grads_partial = FIXTURE["scale_W_hh"]  # W_hh doubled, and h_2's halving absent: compare to none * 2
    assert assert_grads_partial.shape == p["W_hh"].grad.shape
    np.testing.assert_allclose(p["W_hh"].grad, 2 * FIXTURE["none_W_hh"], rtol=1e-10)


def test_bad_hooks_get_clear_errors():
    p, hs, loss = build()
    with pytest.raises(RuntimeError, match="does not require grad"):
        tr.Tensor(np.ones(2)).register_hook(lambda g: g)
    with pytest.raises(TypeError, match="function of the gradient"):
        hs[0].register_hook(3)
    hs[2].register_hook(lambda g: np.zeros(7))
    with pytest.raises(ValueError, match=r"returned a gradient of shape \(7,\).*\(2, 3\)"):
        loss.backward()


def test_a_handle_used_as_a_context_manager_removes_the_hook():
    p, hs, loss = build()
    with hs[2].register_hook(lambda g: np.zeros_like(g)):
        pass
    loss.backward()
    assert_grads(p, "none")


def test_tr_compile_refuses_a_graph_with_a_hook_instead_of_skipping_it():
    W = tr.Tensor(np.eye(2), requires_grad=True, name="W_hh")
    W.register_hook(lambda g: g * 2)
    step = tr.compile(lambda x: ((W @ x).tanh()).sum())
    with pytest.raises(TypeError, match="'W_hh' has a gradient hook .* a replay cannot run"):
        step(np.ones(2))


def test_stepping_back_and_forth_with_hooks_lands_on_the_hooked_gradients():
    p, hs, loss = build()
    hs[2].register_hook(lambda g: np.zeros_like(g))
    stepper = loss.backward(step=True)
    stepper.step(30)
    stepper.back()
    stepper.run()
    assert_grads(p, "replace")


def test_a_hook_on_a_leaf_read_by_slices_sees_the_whole_sum_once():
    """x[t] at every step adds into x's gradient in place (backward's scatter path); the hook still
    runs once, on the sum, and what it returns is what lands in x.grad."""
    xs = FIXTURE["in_xs"]

    def run(hook=None):
        x = tr.Tensor(xs.copy(), requires_grad=True, name="x")
        calls = []
        if hook is not None:
            x.register_hook(lambda g: calls.append(g.copy()) or hook(g))
        W = tr.Tensor(FIXTURE["in_W_xh"], requires_grad=True)
        h = tr.Tensor(np.zeros((xs.shape[1], W.shape[0])))
        for t in range(len(xs)):
            h = (h + x[t] @ W.T).tanh()
        h.sum().backward()
        return x.grad, calls

    plain, _ = run()
    doubled, calls = run(lambda g: 2 * g)
    assert len(calls) == 1
    np.testing.assert_allclose(calls[0], plain, rtol=1e-12)
    np.testing.assert_allclose(doubled, 2 * plain, rtol=1e-12)


def test_a_hook_cannot_write_into_a_gradient_others_share_and_returning_it_changes_nothing():
    p, hs, loss = build()

    def in_place(g):
        g *= 0

    hs[2].register_hook(in_place)
    with pytest.raises(ValueError, match="read-only"):
        loss.backward()
    p, hs, loss = build()
    hs[2].register_hook(lambda g: g)  # the same gradient back: no change, and the stepper says none
    events = loss.backward(step=True).run()
    assert not any(e.hooks for e in events)
    assert_grads(p, "none")


def test_the_explorers_frames_carry_the_hook_line():
    p, hs, loss = build()
    hs[2].name = "h₃"
    hs[2].register_hook(lambda g: np.zeros_like(g))
    frames = loss.backward(step=True).frames()
    texts = [f["text"] for f in frames if "  hook  " in f["text"]]
    assert len(texts) == 1 and "hook       changed dL/dh₃: norm" in texts[0] and "-> 0, a change" in texts[0]


def test_a_hook_that_removes_every_hook_half_way_still_lets_the_leaves_get_their_gradient():
    p, hs, loss = build()
    handles = [p["W_hh"].register_hook(lambda g: g * 2)]

    def once(g):
        for handle in handles:
            handle.remove()

    handles.append(hs[3].register_hook(once))
    p["W_hh"].grad = np.ones_like(p["W_hh"].data)
    loss.backward()
    np.testing.assert_allclose(p["W_hh"].grad, 1 + FIXTURE["none_W_hh"], rtol=1e-10)  # no doubling, none lost
