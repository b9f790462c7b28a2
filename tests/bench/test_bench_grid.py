"""`tinygrad-rnn bench --grid --quick`: the grid's smoke run prints every implementation and the targets."""

import subprocess
import sys


def test_grid_quick_prints_ratios_beside_the_targets():
    out = subprocess.run(
        [sys.executable, "-m", "tinygrad_rnn", "bench", "--grid", "--quick", "--repeats", "1"],
        capture_output=True, text=True, check=True, timeout=120,
    ).stdout
    for cell in ("RNN", "LSTM", "GRU"):
        assert f"{cell} T=5 B=1 H=8 float64" in out
    assert "replay/hand" in out and "eager/hand, B=1" in out
    assert "eager / hand at B=1:" in out and "(target <= 3.0)" in out
    assert "replay / hand (worst config):" in out and "(target <= 1.2)" in out
    assert "not judged" in out  # quick sizes are not held to the full grid's targets
