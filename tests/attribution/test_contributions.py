"""tr.contributions and tr.connectivity: BPTT's sum itemized, against PyTorch's per-step weight
copies (tests/fixtures/contributions.npz, written by tests/fixtures/make_contributions_fixture.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import tinygrad_rnn as tr

FIXTURE = np.load(Path(__file__).resolve().parents[1] / "fixtures" / "contributions.npz", allow_pickle=False)
KINDS = {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU"}


def model_and_losses(kind: str):
    x = FIXTURE[f"{kind}_x"]
    model = getattr(tr.nn, KINDS[kind])(x.shape[2], FIXTURE[f"{kind}_V"].shape[2])
    model.load_state_dict({k.removeprefix(f"{kind}_"): FIXTURE[k] for k in FIXTURE.files
                           if k.startswith(f"{kind}_") and "_l0" in k})
    out, _ = model(tr.Tensor(x))
    V = FIXTURE[f"{kind}_V"]
    return model, [(out[t] * tr.Tensor(V[t])).sum() for t in range(len(V))]


@pytest.mark.parametrize("kind", KINDS)
def test_each_entry_is_the_gradient_through_a_per_step_copy_of_the_weight(kind):
    model, losses = model_and_losses(kind)
    C = tr.contributions(losses, model.weight_hh_l0)
    assert C.shape == FIXTURE[f"{kind}_C"].shape
    assert tr.attribution.time_steps(losses, model.weight_hh_l0) == [1, 2, 3, 4, 5]  # the columns
    np.testing.assert_allclose(C, FIXTURE[f"{kind}_C"], rtol=1e-9, atol=1e-13)


@pytest.mark.parametrize("kind", KINDS)
def test_the_contributions_sum_to_the_gradient_and_respect_causality(kind):
    model, losses = model_and_losses(kind)
    C = tr.contributions(losses, model.weight_hh_l0)
    np.testing.assert_allclose(C.sum(axis=(0, 1)), FIXTURE[f"{kind}_grad"], rtol=1e-9, atol=1e-13)
    total = losses[0]
    for loss in losses[1:]:
        total = total + loss
    total.backward()
    np.testing.assert_allclose(C.sum(axis=(0, 1)), model.weight_hh_l0.grad, rtol=1e-10, atol=1e-14)
    T = C.shape[0]
    for row in range(T):
        assert not C[row, row + 1:].any(), f"loss {row + 1} reached a later step"
    assert np.abs(C[T - 1, 1:T - 1]).sum() > 0  # the last loss reaches back through earlier steps


def test_contributions_do_not_touch_grad():
    model, losses = model_and_losses("rnn")
    tr.contributions(losses, model.weight_hh_l0)
    assert model.weight_hh_l0.grad is None


def test_hand_made_copies_agree_on_a_loop_written_with_tensor_ops():
    """The definition, without PyTorch: C[t~, t] = dL_t~/dW_t for a separate copy W_t at each step."""
    rng = np.random.default_rng(3)
    W0, xs = rng.normal(0, 0.7, (3, 3)), rng.normal(size=(4, 1, 3))

    def run(weights):
        h, losses = tr.Tensor(np.zeros((1, 3))), []
        for t, W in enumerate(weights):
            with tr.scope(f"t{t + 1}"):
                h = (h @ W.T + tr.Tensor(xs[t])).tanh()
            losses.append((h * h).sum())
        return losses

    W = tr.Tensor(W0, requires_grad=True, name="W_hh")
    C = tr.contributions(run([W] * 4), W)
    copies = [tr.Tensor(W0.copy(), requires_grad=True) for _ in range(4)]
    losses = run(copies)
    for row in range(4):
        pieces = tr.grad(losses[row], copies, allow_unused=True)
        for col, piece in enumerate(pieces):
            np.testing.assert_allclose(C[row, col], 0 if piece is None else piece.data, atol=1e-14)


def test_clear_errors():
    model, losses = model_and_losses("rnn")
    with pytest.raises(TypeError, match="sequence of one-element loss terms"):
        tr.contributions(losses[0], model.weight_hh_l0)
    with pytest.raises(ValueError, match=r"losses\[0\] must be a one-element Tensor"):
        tr.contributions([tr.Tensor(np.ones(3))], model.weight_hh_l0)
    with pytest.raises(ValueError, match="no loss term depends on"):
        tr.contributions(losses, tr.Tensor(np.ones(2), requires_grad=True))
    with pytest.raises(TypeError, match="must be a parameter .* got a tensor an op computed"):
        tr.contributions(losses, model.weight_hh_l0 * 2)
    W = tr.Tensor(np.eye(2), requires_grad=True, name="W")
    with pytest.raises(ValueError, match="outside any time step"):
        tr.contributions([(W @ tr.Tensor(np.ones(2))).sum()], W)


@pytest.mark.parametrize("kind", KINDS)
def test_connectivity_is_the_norm_of_single_output_gradients(kind):
    rng = np.random.default_rng(1)
    tr.manual_seed(2)
    model = getattr(tr.nn, KINDS[kind])(3, 4)
    x = tr.Tensor(rng.normal(size=(6, 2, 3)), requires_grad=True)
    out, _ = model(x)
    targets = rng.integers(0, 4, size=6)
    K = tr.connectivity(out, x, targets=targets, row=1)
    assert K.shape == (6, 6)
    for t_out in range(6):
        (g,) = tr.grad(out[t_out, 1, int(targets[t_out])], [x])
        np.testing.assert_allclose(K[t_out], np.linalg.norm(g.data[:, 1], axis=-1), rtol=1e-12, atol=1e-15)
        assert not K[t_out, t_out + 1:].any()
    K2 = tr.connectivity(out, x, unit=3)
    (g,) = tr.grad(out[5, 0, 3], [x])
    np.testing.assert_allclose(K2[5], np.linalg.norm(g.data[:, 0], axis=-1), rtol=1e-12)


def test_connectivity_errors():
    x = tr.Tensor(np.ones((3, 1, 2)), requires_grad=True)
    out, _ = tr.nn.RNN(2, 3)(x)
    with pytest.raises(ValueError, match="targets= .* or unit="):
        tr.connectivity(out, x)
    with pytest.raises(ValueError, match="requires grad"):
        tr.connectivity(out, tr.Tensor(np.ones((3, 1, 2))), unit=0)
    with pytest.raises(ValueError, match="0..2"):
        tr.connectivity(out, x, unit=5)


def test_norm_gives_the_size_of_each_entry():
    model, losses = model_and_losses("gru")
    sizes = tr.contributions(losses, model.weight_hh_l0, norm=True)
    np.testing.assert_allclose(sizes, np.linalg.norm(FIXTURE["gru_C"], axis=(2, 3)), rtol=1e-9, atol=1e-14)


def test_hidden_states_are_the_h_t_inside_the_output_and_a_hook_on_one_cuts_there():
    model, losses = model_and_losses("gru")
    out = losses[0]._node.inputs[0]._node.inputs[0]._node.inputs[0]  # losses[t] = sum(out[t] * V_t)
    hs = tr.attribution.hidden_states(out)
    assert len(hs) == 5 and all(np.array_equal(h.data, out.data[t]) for t, h in enumerate(hs))
    with hs[2].register_hook(lambda g: np.zeros_like(g)):
        C = tr.contributions(losses, model.weight_hh_l0)
    assert not C[2:, :3].any()  # every path from the losses at steps 3..5 through steps 1..3 is cut
    np.testing.assert_allclose(C[:2], FIXTURE["gru_C"][:2], rtol=1e-9, atol=1e-13)  # losses 1, 2: untouched
    with pytest.raises(ValueError, match="hidden_states: expected the output"):
        tr.attribution.hidden_states(losses[0])


def test_a_weight_read_through_a_split_view_is_itemized_too():
    """Cho's GRU (reset before the matmul) splits W_hh^T into two pieces used at every step, so each
    step has two uses: they land in the same column, and the table still sums to the gradient."""
    tr.manual_seed(4)
    cell = tr.nn.GRUCell(2, 3, reset="before")
    xs = np.random.default_rng(4).normal(size=(4, 1, 2))
    h, losses = tr.Tensor(np.zeros((1, 3))), []
    for t in range(4):
        with tr.scope(f"t{t + 1}"):
            h = cell(tr.Tensor(xs[t]), h)
        losses.append((h * h).sum())
    C = tr.contributions(losses, cell.weight_hh)
    assert C.shape == (4, 4, 9, 3)
    (g,) = tr.grad(sum(losses[1:], losses[0]), [cell.weight_hh])
    np.testing.assert_allclose(C.sum(axis=(0, 1)), g.data, rtol=1e-10, atol=1e-14)
    assert C[3, 1, :6].any() and C[3, 1, 6:].any()  # both pieces (update/reset rows, new-gate rows) itemized
