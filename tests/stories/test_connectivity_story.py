"""`tinygrad-rnn train connectivity`: RNN, LSTM and GRU measured before and after training."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from tinygrad_rnn import cli
from tinygrad_rnn.stories import connectivity as story

TEXT = "the cat sat on the mat. the dog sat on the log. a bird sat on the cat. " * 60


def test_reach_counts_steps_back_until_a_row_falls_below_one_percent():
    T = 20
    lag = np.subtract.outer(np.arange(T), np.arange(T))
    decay = np.where(lag >= 0, 0.5 ** np.clip(lag, 0, None), 0.0)  # halves per step back
    assert story.reach(decay) == 6  # 0.5**6 = 1.6% >= 1%, 0.5**7 = 0.8% < 1%
    flat = np.where(lag >= 0, 1.0, 0.0)  # no decay: reaches back to the start of each row
    assert story.reach(flat) == np.median(np.arange(T // 2, T))


def test_a_small_run_measures_every_model_before_and_after_training():
    r = story.train(TEXT, kinds=("rnn", "lstm", "gru"), hidden=8, embed=4, batches=3, window=12, batch=4,
                    num_steps=8, max_chars=None)
    assert set(r["models"]) == {"rnn", "lstm", "gru"} and len(r["text"]) == 12
    for m in r["models"].values():
        assert m["batches"] == 3
        for state in ("init", "trained"):
            K, C = m[state]["connectivity"], m[state]["contributions"]
            assert K.shape == C.shape == (12, 12)
            assert not np.triu(K, 1).any() and not np.triu(C, 1).any()  # nothing reaches the future
            assert (np.diag(K) > 0).all()
        assert not np.allclose(m["init"]["connectivity"], m["trained"]["connectivity"])  # training changed it
    for kind, m in r["models"].items():  # the hook zeroing dL/dh_6: no loss at or after step 6 reaches steps 1..5
        cut, step = m["cut"]["contributions"], m["cut"]["step"]
        assert step == 6 and m["cut"]["grad_change"] > 0
        blocked = cut[step - 1:, 1: step - 1]  # (step 1 reads h_0 = 0: nothing flows there anyway)
        assert (not blocked.any()) == (kind != "lstm"), kind  # the LSTM's cell state c gets past a cut h
        assert m["cut"]["reaches_past_cut"] == (kind == "lstm")
        np.testing.assert_allclose(cut[: step - 1], m["trained"]["contributions"][: step - 1])  # earlier losses
    assert "the LSTM still reaches steps before 6" in story.cut_answer(r)


def test_the_command_writes_the_pages_and_prints_question_and_answer(tmp_path, capsys):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(TEXT)
    assert cli.main(["train", "connectivity", "--text", str(corpus), "--kinds", "rnn,lstm", "--hidden", "8",
                     "--embed", "4", "--batches", "2", "--window", "10", "--out", str(tmp_path), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert story.QUESTIONS["connectivity"] in out and "at initialisation: RNN" in out and "LSTM" in out
    for name in ("connectivity_text.html", "connectivity_heatmaps.html", "contributions_heatmaps.html"):
        page = (tmp_path / name).read_text()
        assert not re.search(r"""(src|href|url)\s*[=(]\s*["']?(https?:)?//""", page), name  # no network
        assert "<link" not in page and "<script src" not in page
    r = json.loads((tmp_path / "connectivity.json").read_text())
    assert len(r["models"]["lstm"]["trained"]["connectivity"]) == 10


def test_unknown_kinds_are_a_one_line_error(tmp_path):
    with pytest.raises(SystemExit) as exit_info:  # the message Python prints, exit status 1
        cli.main(["train", "connectivity", "--kinds", "rnn,transformer", "--out", str(tmp_path)])
    message = str(exit_info.value.code)
    assert "--kinds" in message and "rnn, lstm, gru" in message and "\n" not in message
