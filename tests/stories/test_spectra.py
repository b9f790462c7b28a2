"""Jacobian spectra per step (issue 17 §4): B_t read off autograd, the products against distance,
and the gradient-flow story's measured ‖dL/dh_t‖ under the singular-value bound."""

import re

import numpy as np
import pytest

from tinygrad_rnn import cli
from tinygrad_rnn.stories import spectra
from tinygrad_rnn.stories.gradient_flow import make_cell

# the state written as s (s_t, s_T, s_{t-1}, ∂s): docs/notation.md keeps s_t for the Elman pre-activation
STATE_S = re.compile(r"(?<![A-Za-z\\])s_[{tT]|∂s|state \$?s\b")


def test_rnn_step_jacobian_is_diag_of_tanh_slope_times_w_hh():
    cell = make_cell("rnn", 4, 5, seed=1)
    xs = spectra.text_inputs(6, 4, seed=1)
    B, states = spectra.state_jacobians("rnn", cell, xs)
    W = cell.weight_hh.data
    for t in range(6):
        expected = (1 - states[t + 1] ** 2)[:, None] * W
        np.testing.assert_allclose(B[t], expected, atol=1e-14)


def test_lstm_state_jacobian_covers_h_and_c():
    cell = make_cell("lstm", 4, 3, seed=0)
    B, states = spectra.state_jacobians("lstm", cell, spectra.text_inputs(3, 4, seed=0))
    assert B.shape == (3, 6, 6) and len(states) == 4
    # dc_t/dc_{t-1} holding h_{t-1} fixed is diag(f_t): the forget gate, each entry in (0, 1)
    block = B[1, 3:, 3:]
    assert np.allclose(block, np.diag(np.diag(block))) and np.all((0 < np.diag(block)) & (np.diag(block) < 1))


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_measured_gradient_norms_sit_under_the_bound(kind):
    check = spectra.bound_check(kind, steps=30, hidden=6, seed=2)
    measured, bound, loose = check["measured"], check["bound"], check["loose"]
    assert np.all(measured <= bound * (1 + 1e-10)), (measured / bound).max()
    assert np.all(bound <= loose * (1 + 1e-10))
    assert measured[0] < measured[-1]  # it does shrink with distance at PyTorch's init


def test_spectra_products_and_radius():
    s = spectra.spectra("rnn", steps=25, hidden=6, seed=0)
    assert s["product_max"][0] == pytest.approx(s["step_sv"][-1, 0])  # distance 1: just B_T
    assert np.all(s["product_max"] <= s["chained"] * (1 + 1e-10))  # submultiplicative
    assert s["radius"] == pytest.approx(max(abs(np.linalg.eigvals(make_cell("rnn", 4, 6, 0).weight_hh.data))))
    with pytest.raises(ValueError, match="kind must be one of"):
        spectra.spectra("jordan")


def test_cli_derive_spectra_writes_readable_pictures(tmp_path, capsys):
    assert cli.main(["derive", "--spectra", "--steps", "30", "--hidden", "6", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert re.search(r"RNN +[0-9.]+ +[0-9.e-]+", out) and "ρ(W_hh)" in out
    products = (tmp_path / "spectra_products.svg").read_text()
    assert "How much of a gradient survives d steps" in products and "LSTM: σ_max(B_T…B_(T-d+1))" in products
    bound = (tmp_path / "spectra_bound.svg").read_text()
    assert "GRU measured ‖dL/dh_t‖" in bound and "under its singular-value bound" in bound
    # the bound's legend names the state the way the terminal does (it read ‖dL/ds_T‖: s_t is the pre-activation)
    assert "GRU bound σ_max(∏B)‖dL/dh_T‖" in bound and not STATE_S.search(bound)
    # the table and both pictures describe the same cells: H and T as asked (the bound picture used H = 8, T = 40)
    assert "(H = 6, T = 30, text input)" in out and "(H = 6, text input)" in products
    assert "(H = 6, T = 30, normal inputs)" in bound
    assert cli.main(["derive", "--out", str(tmp_path)]) == 2
    assert "--out goes with --spectra" in capsys.readouterr().err


def test_cli_derive_spectra_shorter_than_twenty_steps_reads_the_whole_unroll(capsys):
    # the table looked 20 steps back whatever T was: --steps 10 ended in an IndexError traceback
    assert cli.main(["derive", "--spectra", "--steps", "3", "--hidden", "4"]) == 0
    out = capsys.readouterr().out
    assert "its 3rd power" in out and "σ_max, 3 steps" in out and "ρ³" in out


def test_cli_derive_spectra_names_the_state_h_or_h_and_c_never_s(capsys):
    # issue 22: "no letter means two things on one screen"; B_t was written ∂s_t/∂s_{t-1}
    assert cli.main(["derive", "--spectra", "--steps", "4", "--hidden", "3"]) == 0
    out = capsys.readouterr().out
    assert "B_t = ∂h_t/∂h_{t-1} for the RNN and GRU, whose state is h_t" in out
    # the LSTM's state Jacobian as `derive --cell lstm` writes it
    assert "B_t = ∂(h_t, c_t)/∂(h_{t-1}, c_{t-1}) for the LSTM, whose state is (h_t, c_t)" in out
    assert "∂L/∂h_t = (B_T B_{T-1} … B_{t+1})ᵀ ∂L/∂h_T" in out
    assert "∂L/∂(h_t, c_t) = (B_T B_{T-1} … B_{t+1})ᵀ ∂L/∂(h_T, c_T)" in out
    assert "σ_max(B_T … B_{t+1}) ‖∂L/∂h_T‖" in out
    assert not STATE_S.search(out), STATE_S.search(out)
