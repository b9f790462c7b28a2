"""Optimizers against PyTorch's trajectories (fixtures), clipping against NumPy by hand."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

import tinygrad_rnn as tr
from tinygrad_rnn import optim

FIXTURES = np.load(Path(__file__).resolve().parents[1] / "fixtures" / "optim_steps.npz")
CASES = sorted(k[: -len(".options")] for k in FIXTURES.files if k.endswith(".options"))
STEPS, NPARAMS = FIXTURES["has_grad"].shape


def make(case: str) -> tuple[optim.Optimizer, list[tr.Parameter]]:
    spec = json.loads(str(FIXTURES[f"{case}.options"]))
    params = [tr.Parameter(FIXTURES[f"init.{i}"].copy(), name=f"p{i}") for i in range(NPARAMS)]
    return getattr(optim, spec["class"])(params, **spec["kwargs"]), params


def feed(params: list[tr.Parameter], step: int) -> None:
    for i, p in enumerate(params):
        p.grad = FIXTURES[f"grads.{step}.{i}"].copy() if FIXTURES["has_grad"][step, i] else None


def test_fixture_covers_every_optimizer_and_option():
    classes = {json.loads(str(FIXTURES[f"{c}.options"]))["class"] for c in CASES}
    assert classes == {"SGD", "Adam", "Adagrad"}
    options = {k for c in CASES for k in json.loads(str(FIXTURES[f"{c}.options"]))["kwargs"]}
    assert {"momentum", "dampening", "nesterov", "weight_decay", "betas", "eps", "amsgrad",
            "lr_decay", "initial_accumulator_value"} <= options  # fmt: skip


@pytest.mark.parametrize("case", CASES)
def test_steps_match_pytorch(case):
    opt, params = make(case)
    for step in range(STEPS):
        feed(params, step)
        opt.step()
        for i, p in enumerate(params):
            expected = FIXTURES[f"{case}.{step}.{i}"]
            where = f"{case} step {step} param {i}"
            np.testing.assert_allclose(p.data, expected, rtol=0, atol=1e-13, err_msg=where)


@pytest.mark.parametrize("case", CASES)
def test_state_dict_resumes_exactly_through_a_checkpoint(case, tmp_path):
    opt, params = make(case)
    for step in range(2):
        feed(params, step)
        opt.step()
    tr.save(opt.state_dict(), tmp_path / "opt.npz")
    # a fresh optimizer on the current weights, with its buffers loaded from disk
    fresh, fresh_params = make(case)
    for p, q in zip(fresh_params, params):
        p.data[...] = q.data
    fresh.load_state_dict(tr.load(tmp_path / "opt.npz"))
    for step in range(2, STEPS):
        feed(fresh_params, step)
        fresh.step()
    for i, p in enumerate(fresh_params):
        np.testing.assert_allclose(p.data, FIXTURES[f"{case}.{STEPS - 1}.{i}"], rtol=0, atol=1e-13)


def test_step_skips_parameters_without_grad_and_updates_in_place():
    a = tr.Parameter(np.ones(3))
    b = tr.Parameter(np.ones(2))
    data_a = a.data
    opt = optim.SGD([a, b], lr=0.5)
    a.grad = np.array([1.0, 2.0, 3.0])
    opt.step()
    assert a.data is data_a  # same array: views and graphs holding it see the new values
    np.testing.assert_array_equal(a.data, [0.5, 0.0, -0.5])
    np.testing.assert_array_equal(b.data, [1.0, 1.0])


def test_zero_grad_sets_none_or_zeros():
    p = tr.Parameter(np.ones(2))
    opt = optim.Adam([p])
    p.grad = np.ones(2)
    opt.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(p.grad, [0.0, 0.0])
    opt.zero_grad()
    assert p.grad is None


def test_training_loop_drives_a_quadratic_to_its_minimum():
    target = np.array([1.0, -2.0, 3.0])
    for make_opt in (
        lambda p: optim.SGD(p, lr=0.1, momentum=0.9),
        lambda p: optim.Adam(p, lr=0.1),
        lambda p: optim.Adagrad(p, lr=0.5),
    ):
        w = tr.Parameter(np.zeros(3))
        opt = make_opt([w])
        for _ in range(300):
            opt.zero_grad()
            loss = ((w - target) ** 2).sum()
            loss.backward()
            opt.step()
        np.testing.assert_allclose(w.data, target, atol=1e-2)


def test_parameter_groups_use_their_own_options():
    a, b = tr.Parameter(np.zeros(1)), tr.Parameter(np.zeros(1))
    opt = optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.01}], lr=1.0)
    a.grad, b.grad = np.ones(1), np.ones(1)
    opt.step()
    np.testing.assert_array_equal(a.data, [-1.0])
    np.testing.assert_array_equal(b.data, [-0.01])
    opt.param_groups[0]["lr"] = 0.5  # a schedule edits the group, as in PyTorch
    opt.step()
    np.testing.assert_array_equal(a.data, [-1.5])


def test_closure_is_evaluated_and_its_loss_returned():
    w = tr.Parameter(np.array([2.0]))
    opt = optim.SGD([w], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert loss.item() == 4.0
    np.testing.assert_array_equal(w.data, [1.0])  # 2 - 0.25 * (2 * 2)


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda p: optim.SGD(p, lr=-0.1), "lr must be >= 0"),
        (lambda p: optim.SGD(p, lr=0.1, momentum=-1), "momentum must be >= 0"),
        (lambda p: optim.SGD(p, lr=0.1, nesterov=True), "nesterov=True needs momentum > 0"),
        (lambda p: optim.SGD(p, lr=0.1, momentum=0.9, dampening=0.1, nesterov=True), "dampening = 0"),
        (lambda p: optim.Adam(p, betas=(0.9, 1.0)), "betas must be two numbers in"),
        (lambda p: optim.Adam(p, eps=-1), "eps must be >= 0"),
        (lambda p: optim.Adam(p, weight_decay=-1), "weight_decay must be >= 0"),
        (lambda p: optim.Adagrad(p, lr_decay=-1), "lr_decay must be >= 0"),
        (lambda p: optim.Adagrad(p, initial_accumulator_value=-1), "initial_accumulator_value"),
        (lambda p: optim.SGD([{"params": p, "lr": -1}], lr=0.1), r"lr must be >= 0, got -1 \(group 0\)"),
        (lambda p: optim.SGD([{"params": p, "momentun": 0.9}], lr=0.1), "unknown option"),
    ],
)
def test_bad_hyperparameters_are_named(build, message):
    with pytest.raises(ValueError, match=message):
        build([tr.Parameter(np.zeros(2))])


def test_hyperparameters_must_be_numbers():
    with pytest.raises(TypeError, match="lr must be a number, got '0.1'"):
        optim.Adam([tr.Parameter(np.zeros(2))], lr="0.1")
    with pytest.raises(TypeError, match="lr must be a number, got None"):
        optim.SGD([tr.Parameter(np.zeros(2))], lr=None)


def test_bad_parameter_lists_are_explained():
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.Adam([])
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.Adam(iter([]))  # e.g. an exhausted model.parameters() generator
    with pytest.raises(ValueError, match="'W' of group 0 does not require grad"):
        optim.SGD([tr.Tensor(np.zeros(2), name="W")], lr=0.1)
    with pytest.raises(TypeError, match="one Tensor"):
        optim.SGD(tr.Parameter(np.zeros(2)), lr=0.1)
    with pytest.raises(TypeError, match="ndarray, not Tensor"):
        optim.SGD([np.zeros(2)], lr=0.1)
    w = tr.Parameter(np.zeros(2), name="w")
    with pytest.raises(ValueError, match="'w' appears more than once"):
        optim.SGD([w, w], lr=0.1)
    with pytest.raises(ValueError, match="computed by an op"):
        optim.SGD([w * 2], lr=0.1)


def test_load_state_dict_rejects_mismatches_and_changes_nothing():
    p = tr.Parameter(np.zeros(3))
    opt = optim.Adam([p], lr=0.1)
    p.grad = np.ones(3)
    opt.step()
    saved = opt.state_dict()
    assert set(saved) == {
        "param_groups.0.params", "param_groups.0.lr", "param_groups.0.betas", "param_groups.0.eps",
        "param_groups.0.weight_decay", "param_groups.0.amsgrad",
        "state.0.step", "state.0.exp_avg", "state.0.exp_avg_sq",
    }  # fmt: skip

    other = optim.Adam([tr.Parameter(np.zeros(4))], lr=0.5)
    with pytest.raises(ValueError, match=r"'state.0.exp_avg' has shape \(3,\), but parameter 0 needs \(4,\)"):
        other.load_state_dict(saved)
    assert other.param_groups[0]["lr"] == 0.5 and other.state == {}
    with pytest.raises(ValueError, match="unexpected key 'state.0.momentum_buffer.x'"):
        opt.load_state_dict({**saved, "state.0.momentum_buffer.x": np.zeros(3)})
    with pytest.raises(ValueError, match=r"missing key\(s\) \['param_groups.0.lr'\]"):
        opt.load_state_dict({k: v for k, v in saved.items() if k != "param_groups.0.lr"})
    sgd = optim.SGD([tr.Parameter(np.zeros(3))], lr=0.1)
    with pytest.raises(ValueError, match="unexpected key 'param_groups.0.betas' \\(from another optimizer"):
        sgd.load_state_dict(saved)
    two = optim.Adam([tr.Parameter(np.zeros(3)), tr.Parameter(np.zeros(3))])
    with pytest.raises(ValueError, match="group 0 was saved with 1 parameters"):
        two.load_state_dict(saved)


# --- clipping -------------------------------------------------------------------------


def with_grads(*grads):
    params = []
    for g in grads:
        p = tr.Parameter(np.zeros_like(g))
        p.grad = np.array(g, dtype=float)
        params.append(p)
    return params


def test_clip_grad_norm_scales_all_grads_together_and_returns_the_old_norm():
    params = with_grads(np.array([3.0, 0.0]), np.array([[0.0, 4.0], [0.0, 12.0]]))  # joint norm 13
    total = optim.clip_grad_norm_(params, max_norm=1.0)
    assert total == pytest.approx(13.0, abs=1e-12)
    scale = 1.0 / (13.0 + 1e-6)
    np.testing.assert_allclose(params[0].grad, [3 * scale, 0.0], rtol=1e-14)
    np.testing.assert_allclose(params[1].grad, [[0.0, 4 * scale], [0.0, 12 * scale]], rtol=1e-14)
    new_norm = np.sqrt(sum(np.sum(p.grad**2) for p in params))
    assert new_norm == pytest.approx(1.0, abs=1e-6)
    assert float(total) == total.item() == pytest.approx(13.0)  # usable like PyTorch's tensor result


def test_clip_grad_norm_leaves_small_grads_alone():
    params = with_grads(np.array([0.3, -0.4]))
    total = optim.clip_grad_norm_(params, max_norm=1.0)
    assert total == pytest.approx(0.5)
    np.testing.assert_array_equal(params[0].grad, [0.3, -0.4])


def test_clip_grad_norm_inf_and_p_norms():
    params = with_grads(np.array([1.0, -7.0]), np.array([2.0]))
    assert optim.clip_grad_norm_(params, 100.0, norm_type="inf") == 7.0
    assert optim.clip_grad_norm_(params, 100.0, norm_type=math.inf) == 7.0
    assert optim.clip_grad_norm_(params, 100.0, norm_type=1) == pytest.approx(10.0)
    total = optim.clip_grad_norm_(params, 3.5, norm_type=float("inf"))
    assert total == 7.0
    np.testing.assert_allclose(params[0].grad, np.array([1.0, -7.0]) * 3.5 / (7.0 + 1e-6), rtol=1e-14)
    np.testing.assert_allclose(params[1].grad, [2.0 * 3.5 / (7.0 + 1e-6)], rtol=1e-14)


def test_clip_grad_norm_ignores_missing_grads_and_reports_nonfinite():
    p = tr.Parameter(np.zeros(2))
    assert optim.clip_grad_norm_([p], 1.0) == 0.0
    params = with_grads(np.array([np.inf, 1.0]))
    with pytest.raises(FloatingPointError, match="total gradient norm is inf"):
        optim.clip_grad_norm_(params, 1.0, error_if_nonfinite=True)
    with pytest.raises(ValueError, match="norm_type must be > 0"):
        optim.clip_grad_norm_(params, 1.0, norm_type=0)
    with pytest.raises(ValueError, match="max_norm must be >= 0"):
        optim.clip_grad_norm_(params, -1.0)


def test_clip_grad_norm_after_backward_through_an_exploding_rnn():
    W = tr.Parameter(np.eye(2) * 3.0)
    h = tr.Tensor(np.ones(2))
    for _ in range(10):
        h = W @ h
    h.sum().backward()
    before = np.linalg.norm(W.grad)
    total = optim.clip_grad_norm_([W], 5.0)
    assert total == pytest.approx(before, rel=1e-12) and before > 1e4
    assert np.linalg.norm(W.grad) == pytest.approx(5.0, rel=1e-6)


def test_clip_grad_value_clamps_each_entry():
    params = with_grads(np.array([-3.0, 0.2, 5.0]))
    optim.clip_grad_value_(params, 1.0)
    np.testing.assert_array_equal(params[0].grad, [-1.0, 0.2, 1.0])
    with pytest.raises(ValueError, match="clip_value must be >= 0"):
        optim.clip_grad_value_(params, -1.0)


def test_live_against_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    init, grads = rng.standard_normal((2, 5)), rng.standard_normal((6, 2, 5)) * 3
    settings = [
        ("SGD", {"lr": 0.05, "momentum": 0.8, "dampening": 0.1, "weight_decay": 0.02}),
        ("Adam", {"lr": 0.03, "betas": (0.7, 0.95), "weight_decay": 0.01, "amsgrad": True}),
        ("Adagrad", {"lr": 0.2, "lr_decay": 0.05, "initial_accumulator_value": 0.1}),
    ]
    for name, kwargs in settings:
        ours = [tr.Parameter(a.copy()) for a in init]
        theirs = [torch.tensor(a, requires_grad=True) for a in init]
        o, t = getattr(optim, name)(ours, **kwargs), getattr(torch.optim, name)(theirs, **kwargs)
        for g in grads:
            for p, q, gi in zip(ours, theirs, g):
                p.grad, q.grad = gi.copy(), torch.tensor(gi)
            assert optim.clip_grad_norm_(ours, 4.0) == pytest.approx(
                torch.nn.utils.clip_grad_norm_(theirs, 4.0).item(), rel=1e-13
            )
            o.step()
            t.step()
        for p, q in zip(ours, theirs):
            np.testing.assert_allclose(p.data, q.detach().numpy(), rtol=0, atol=1e-13)
