"""The gated cells' recurrent weight W_hh: z_k = a_k + B_k z_{k-1} with a matrix B_k, checked three ways."""

import numpy as np
import pytest

from tinygrad_rnn import cli
from tinygrad_rnn.symbolic import GatedWeights


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_derive_check_of_a_gated_cell_has_w_hh_rows_and_passes(cell, capsys):
    assert cli.main(["derive", "--cell", cell, "--check"]) == 0
    out = capsys.readouterr().out
    table = out[out.index(f"check: {cell.upper()} W_hh"):]
    rows = {line.split("  ")[0] for line in table.splitlines()[3:6]}
    state, prev, size = ("(h_5, c_5)", "(h_4, c_4)", 4) if cell == "lstm" else ("h_5", "h_4", 2)
    assert "dL/dW_hh" in rows and f"d{state}/dW_hh" in rows
    assert f"B_5 = d{state}/d{prev}, {size}×{size}" in rows  # the LSTM's state is (h, c): B_k is 2H × 2H
    assert "additive path" in out  # the additive path stays, before the matrix recurrence
    assert out.index("additive path") < out.index("W_hh by the recurrence")


def test_lstm_state_jacobian_has_the_forget_gate_as_its_c_block():
    model = GatedWeights("lstm", steps=3, hidden=2, seed=1)
    states, _, B = model.symbolic_steps()
    H, k = 2, 2
    v = model.values
    pre = v["weight_ih"][:, 0] * model.xs[k - 1] + v["bias_ih"] + v["weight_hh"] @ states[k - 1][:H] + v["bias_hh"]
    forget = 1 / (1 + np.exp(-pre[H : 2 * H]))
    np.testing.assert_allclose(B[k][H:, H:], np.diag(forget), atol=1e-14)  # ∂c_k/∂c_{k-1} = diag(f_k)


def test_a_wrong_jacobian_is_caught_by_the_check(monkeypatch):
    model = GatedWeights("gru", steps=4, seed=0)
    good = model.symbolic_steps

    def without_update_gate_path():
        states, A, B = good()
        return states, A, B * 0.9  # a derivation that loses a tenth of every step's Jacobian

    monkeypatch.setattr(model, "symbolic_steps", without_update_gate_path)
    failures = model.check().failures()
    assert any("dL/dW_hh" in f for f in failures) and any("B_4" in f for f in failures)
