"""Smoke tests of the stories: tiny sizes, a few steps; the loss falls and the pictures are written."""

import json
import runpy
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tinygrad_rnn import cli
from tinygrad_rnn.stories import STORIES, adding, char_lm, gradient_flow, seq2seq, slot_filling

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))
DETERMINISTIC = {"toy_lstm", "error_surface"}


def run_story(name: str, out: Path, *args: str) -> None:
    assert cli.main(["train", name, "--out", str(out), "--quiet", *args]) == 0


def is_svg(path: Path) -> bool:
    text = path.read_text() if path.is_file() else ""
    return text.lstrip().startswith("<svg") and text.rstrip().endswith("</svg>")


def test_every_story_is_a_train_subcommand_with_help(capsys):
    for name in STORIES:
        with pytest.raises(SystemExit) as info:
            cli.main(["train", name, "--help"])
        assert info.value.code == 0
        assert f"tinygrad-rnn train {name}" in capsys.readouterr().out


@pytest.mark.parametrize("script", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_each_example_script_answers_help(script, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", [str(script), "--help"])
    with pytest.raises(SystemExit) as info:
        runpy.run_path(str(script), run_name="__main__")
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert f"usage: {script.name}" in out and "--out" in out
    assert "--seed" in out or script.stem in DETERMINISTIC  # nothing random to seed in a hand-set cell


def test_an_example_script_runs_its_story_end_to_end(tmp_path):
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "sine_wave.py"), "--hidden", "4", "--points", "80", "--window", "10",
         "--epochs", "2", "--generate", "5", "--out", str(tmp_path), "--quiet"],
        capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "autoregressive generation, 5 steps" in result.stdout
    assert is_svg(tmp_path / "sine_generation.svg")


def test_examples_cover_the_stories():
    assert {p.stem for p in EXAMPLES} == {
        "char_lm", "adding_problem", "sine_wave", "seq2seq", "slot_filling", "gradient_flow", "toy_lstm",
        "error_surface", "sentiment", "connectivity"}


def test_adding_problem_gru_beats_the_mean_on_short_sequences(tmp_path, capsys):
    run_story("adding", tmp_path, "--lengths", "6", "--kinds", "rnn", "gru", "--hidden", "8", "--steps", "150",
              "--batch", "16", "--lr", "0.02", "--eval-every", "50")
    results = json.loads((tmp_path / "adding_T6.json").read_text())
    gru = next(r for r in results["runs"] if r["kind"] == "gru")
    assert gru["mse"][-1] < gru["mse"][0]
    assert gru["final_mse"] < 0.5 * results["baseline_mse"]
    table = capsys.readouterr().out
    assert "| GRU |" in table and "| RNN |" in table and "| predict the mean | 0.1667 |" in table
    assert is_svg(tmp_path / "adding_T6.svg")


def test_adding_table_lists_every_length():
    runs = [{"kind": "rnn", "T": 50, "final_mse": 0.16, "solved_at": None, "max_steps": 2000},
            {"kind": "rnn", "T": 100, "final_mse": 0.17, "solved_at": None, "max_steps": 2000, "seconds": 61.2},
            {"kind": "lstm", "T": 50, "final_mse": 0.008, "solved_at": 1250, "max_steps": 2000}]
    table = adding.format_table(runs).splitlines()
    assert table[0] == "| cell | T = 50: held-out MSE | T = 100: held-out MSE |"
    assert table[2] == "| RNN | 0.1600 (not solved in 2,000 steps) | 0.1700 (not solved in 2,000 steps, 61 s) |"
    assert table[3] == "| LSTM | 0.0080 (solved at step 1,250) |  |"


def test_sine_prediction_improves_and_generation_is_drawn(tmp_path, capsys):
    run_story("sine", tmp_path, "--hidden", "8", "--points", "200", "--epochs", "3", "--generate", "30")
    results = json.loads((tmp_path / "sine.json").read_text())
    assert results["test_mse"][-1] < results["test_mse"][0]
    assert len(results["generated"]) == 30 and np.all(np.abs(results["generated"]) < 2)
    assert is_svg(tmp_path / "sine_loss.svg") and is_svg(tmp_path / "sine_generation.svg")
    assert "autoregressive generation, 30 steps" in capsys.readouterr().out


def test_seq2seq_learns_and_decodes_greedily():
    r = seq2seq.train("reverse", digits=3, hidden=32, train_size=300, test_size=50, epochs=3, seed=0)
    assert r["loss"][-1] < r["loss"][0]
    assert r["test_pairs"] == 50 and 0 <= r["final_accuracy"] <= r["digit_accuracy"][-1] <= 1
    for source, target, decoded in r["examples"]:
        assert target == source[::-1] and set(decoded) <= set("0123456789")


def test_greedy_decoding_stops_being_teacher_forced(tmp_path):
    from tinygrad_rnn import nn
    from tinygrad_rnn.stories.tasks import DigitVocab, digit_task

    nn.manual_seed(0)
    model = seq2seq.build("gru", len(DigitVocab()), 4, 8)
    data = digit_task("reverse", 5, 3, np.random.default_rng(0))
    decoded = seq2seq.greedy_decode(model, data.source, 4)
    assert decoded.shape == (4, 5)
    # feeding the decoded tokens back as decoder input reproduces the same argmaxes
    start = np.full((1, 5), DigitVocab.start)
    logits = model(data.source, np.concatenate([start, decoded[:-1]]))
    assert np.array_equal(logits.data.argmax(axis=-1), decoded)


def test_slot_filling_context_beats_word_by_word(tmp_path, capsys):
    run_story("slot-filling", tmp_path, "--epochs", "2", "--train-size", "300", "--test-size", "100")
    runs = {r["model"]: r["final"] for r in json.loads((tmp_path / "slot_filling.json").read_text())["runs"]}
    assert runs["birnn"]["city words"] > runs["feedforward"]["city words"] + 0.3
    assert "| bidirectional RNN |" in capsys.readouterr().out


def test_slot_filling_feedforward_cannot_see_context():
    from tinygrad_rnn.stories.tasks import SlotVocab

    model = slot_filling.build("feedforward", len(SlotVocab()), 4, 8)
    words = np.array([[5, 5], [7, 9]])  # same first word, different second word
    out = model(words, np.array([2, 2])).data
    assert np.allclose(out[0, 0], out[0, 1])


def test_char_lm_on_a_user_text(tmp_path, capsys):
    text = tmp_path / "corpus.txt"
    text.write_text("the cat sat on the mat. the dog sat on the log. " * 60)
    run_story("char-lm", tmp_path, "--text", str(text), "--hidden", "16", "--epochs", "2", "--batch", "8",
              "--num-steps", "16", "--lr", "0.02", "--prefix", "the ", "--sample-length", "40")
    r = json.loads((tmp_path / "char_lm.json").read_text())
    assert r["curve"]["train_ppl"][-1] < r["curve"]["train_ppl"][0]
    assert r["curve"]["val_ppl"][-1] < r["vocab_size"]  # better than a uniform guess
    assert r["sample"].startswith("the ") and len(r["sample"]) == 44
    assert set(r["baselines"]) == {"1", "2", "3", "4", "5"}
    assert is_svg(tmp_path / "char_lm_perplexity.svg")
    assert (tmp_path / "char_lm_sample.txt").read_text().startswith("the ")
    assert "held-out perplexity: GRU" in capsys.readouterr().out


def test_char_lm_random_sampling_with_embedding_lstm():
    r = char_lm.train("abcabcabd " * 80, kind="lstm", hidden=8, embed=4, epochs=1, batch=4, num_steps=8,
                      sampling="random", max_chars=None, prefix="ab", sample_length=5)
    assert r["sampling"] == "random" and len(r["sample"]) == 7 and np.isfinite(r["final_val_ppl"])


def test_char_lm_rejects_a_bad_sampling_mode():
    with pytest.raises(ValueError, match="sampling"):
        char_lm.train("abc" * 100, sampling="shuffled")


def test_detach_state_cuts_both_lstm_states():
    from tinygrad_rnn import Tensor

    h = Tensor(np.ones(2), requires_grad=True) * 2
    c = Tensor(np.ones(2), requires_grad=True) * 3
    h2, c2 = char_lm.detach_state((h, c))
    assert h2.is_leaf and c2.is_leaf and not h2.requires_grad and np.array_equal(c2.data, c.data)


def test_gradient_norms_vanish_with_distance_for_a_vanilla_rnn():
    norms = gradient_flow.hidden_gradient_norms("rnn", 20, 8, 3, seed=0)
    assert norms.shape == (20,)
    assert norms[0] < 1e-3 * norms[-1]  # t = 1 is 19 steps from the loss, t = T is at it


@pytest.mark.parametrize("kind", ["rnn", "gru"])
def test_closed_form_products_match_autograd_through_the_chain(kind):
    assert gradient_flow.chain_check(kind, 12, seed=1) < 1e-12


def test_lstm_cell_state_factors_are_forget_gates():
    factors = gradient_flow.local_factors("lstm", 10, seed=0)
    assert np.all((factors > 0) & (factors < 1))


def test_product_table_layout():
    table = gradient_flow.product_table(np.array([2.0, 0.5, -3.0]))
    assert np.allclose(np.diag(table), 1)
    assert table[2, 0] == pytest.approx(1.5)  # |b_2 b_3|
    assert table[1, 0] == pytest.approx(0.5) and np.isnan(table[0, 2])


def test_gradient_flow_pictures_and_clipping_story(tmp_path, capsys):
    run_story("gradient-flow", tmp_path, "--steps", "12", "--hidden", "8", "--trials", "1", "--table-steps", "8",
              "--train-steps", "60")
    for name in ("gradient_norms", "closed_form_rnn", "closed_form_lstm", "closed_form_gru", "exploding_loss",
                 "exploding_grad_norm"):
        assert is_svg(tmp_path / f"{name}.svg"), name
    runs = json.loads((tmp_path / "gradient_flow.json").read_text())["exploding"]
    unclipped, clipped = runs
    assert max(unclipped["grad_norm"]) > 1e6 and unclipped["loss"][-1] > 1e3  # blew up
    assert clipped["loss"][-1] < 1.0
    out = capsys.readouterr().out
    assert "no clipping" in out and "clip_grad_norm_ at 1" in out
