"""The benchmark's references compute what the engine computes, and `bench --quick` runs."""

from dataclasses import replace

import numpy as np
import pytest

import tinygrad_rnn as tr
from tinygrad_rnn import cli
from tinygrad_rnn.bench import models, references
from tinygrad_rnn.bench.suite import Settings, run_all


@pytest.mark.parametrize(
    "task",
    [models.RNN_CHAR, replace(models.RNN_CHAR, T=7, B=3), replace(models.LSTM, T=6, B=4, I=10, H=12)],
    ids=["rnn-min-char", "rnn-batch3", "lstm-small"],
)
def test_hand_written_reference_matches_the_engine_in_float64(task):
    params = models.init_params(task, np.float64, seed=3)
    x, y = models.make_batch(task, np.float64, seed=4)
    engine, hand = models.Engine(task, params, x, y), models.Reference(task, params, x, y)
    assert engine.fwd_bwd() == pytest.approx(hand.fwd_bwd(), rel=1e-13)
    ours, theirs = engine.grads(), hand.grads()
    assert ours.keys() == theirs.keys()
    for name in theirs:
        np.testing.assert_allclose(ours[name], theirs[name], rtol=1e-10, atol=1e-13, err_msg=name)


def test_full_size_lstm_reference_matches_the_engine():
    task = replace(models.LSTM, T=5)
    params = models.init_params(task, np.float64)
    x, y = models.make_batch(task, np.float64)
    engine, hand = models.Engine(task, params, x, y), models.Reference(task, params, x, y)
    assert engine.fwd_bwd() == pytest.approx(hand.fwd_bwd(), rel=1e-13)
    for name, g in hand.grads().items():
        np.testing.assert_allclose(engine.grads()[name], g, rtol=1e-10, atol=1e-14, err_msg=name)


def test_reference_gradients_agree_with_finite_differences():
    # independent of the engine: the hand-written BPTT against central differences
    task = models.Task("lstm", T=3, B=2, I=3, H=2)
    params = models.init_params(task, np.float64, seed=5)
    x, y = models.make_batch(task, np.float64, seed=6)
    _, grads = references.lstm_mse(params, x, y)
    W = params["weight_hh_l0"]
    numeric = tr.numerical_grad(lambda: references.lstm_mse(params, x, y)[0], W)
    np.testing.assert_allclose(grads["weight_hh_l0"], numeric, rtol=1e-6, atol=1e-9)
    char = models.Task("rnn", T=4, B=1, I=5, H=3)
    params = models.init_params(char, np.float64, seed=7)
    x, ids = models.make_batch(char, np.float64, seed=8)
    _, grads = references.rnn_charmodel(params, x, ids)
    for name in ("weight_hh_l0", "out.weight"):
        numeric = tr.numerical_grad(lambda: references.rnn_charmodel(params, x, ids)[0], params[name])
        np.testing.assert_allclose(grads[name], numeric, rtol=1e-6, atol=1e-9, err_msg=name)


def test_engine_model_keeps_float32_and_is_scoped_by_time_step():
    task = replace(models.LSTM, T=3, B=2, I=4, H=5)
    x, y = models.make_batch(task, np.float32)
    engine = models.Engine(task, models.init_params(task, np.float32), x, y)
    loss = engine.forward()
    assert loss.dtype == np.float32
    scopes = tr.trace(loss).scopes()
    assert "lstm/l0/fwd/t3/forget_gate" in scopes and "lstm/l0/fwd" in scopes
    engine.fwd_bwd()
    assert all(g.dtype == np.float32 for g in engine.grads().values())


def test_torch_agrees_with_the_reference():
    pytest.importorskip("torch")
    for task in (replace(models.RNN_CHAR, T=5), replace(models.LSTM, T=4, B=3, I=6, H=7)):
        params = models.init_params(task, np.float64)
        x, y = models.make_batch(task, np.float64)
        torch_model, hand = models.Torch(task, params, x, y), models.Reference(task, params, x, y)
        assert torch_model.fwd_bwd() == pytest.approx(hand.fwd_bwd(), rel=1e-12)
        for name, g in hand.grads().items():
            np.testing.assert_allclose(torch_model.grads()[name], g, rtol=1e-9, atol=1e-13, err_msg=name)


def test_quick_bench_prints_every_table_and_the_targets(capsys):
    lines = []
    run_all(Settings.quick(use_torch=False), out=lines.append)
    text = "\n".join(lines)
    for heading in (
        "Forward + backward per batch",
        "Cost of recording the graph",
        "Peak memory",
        "Scaling with sequence length",
        "Scaling with hidden size",
        "Targets",
    ):
        assert f"## {heading}" in text
    assert "PyTorch: not installed (or --no-torch)" in text
    assert "targets (set for the full sizes) are not judged" in text
    speed_rows = [r for r in lines if r.startswith("| RNN char") or r.startswith("| LSTM")]
    ratios = [float(r.split("|")[6]) for r in speed_rows[:4]]  # ours/hand column of the first table
    assert all(0 < q < 100 for q in ratios)


def test_bench_command_line_quick_run(capsys):
    assert cli.main(["bench", "--quick", "--no-torch", "--only", "speed"]) == 0
    out = capsys.readouterr().out
    assert "## Forward + backward per batch" in out and "## Peak memory" not in out
    assert "machine:" in out and "NumPy" in out
