"""Many-to-one sentiment: labels that need word order, an order-blind baseline, and per-word saliency."""

import json

import numpy as np
import pytest

from tinygrad_rnn import cli, nn
from tinygrad_rnn.stories import sentiment, tasks


def test_the_grammar_labels_negation_and_contrast_by_their_rules():
    data = tasks.sentiment_sentences(300, np.random.default_rng(0))
    assert len(set(data.sentences)) == 300 and {data.kinds.count(k) for k in tasks.SENTIMENT_KINDS} == {100}
    positive = set(tasks.POSITIVE)
    for text, label, kind in zip(data.sentences, data.labels, data.kinds):
        words = text.split()
        adjectives = [w for w in words if w in positive or w in tasks.NEGATIVE]
        if kind == "plain":
            assert label == (adjectives[0] in positive)
        elif kind == "negation":
            assert ("not" in words or "never" in words) and label == (adjectives[0] not in positive)
        else:  # the two adjectives disagree, so their bag says nothing
            assert (adjectives[0] in positive) != (adjectives[1] in positive)
            main = adjectives[0] if "although" in words and words[0] != "although" else adjectives[1]
            assert label == (main in positive), text


def test_held_out_sentences_are_new():
    train = tasks.sentiment_sentences(200, np.random.default_rng(0))
    test = tasks.sentiment_sentences(100, np.random.default_rng(0), exclude=set(train.sentences))
    assert not set(train.sentences) & set(test.sentences)


def test_the_bag_of_words_cannot_tell_a_contrast_from_its_mirror():
    vocab = tasks.SentimentVocab()
    nn.manual_seed(0)
    bow = sentiment.build("bow", len(vocab), 4, 8)
    ids, lengths = vocab.encode(["good acting but a dull plot", "dull acting but a good plot"])
    out = bow(ids, lengths).data
    assert np.allclose(out[0], out[1])
    reader = sentiment.build("gru", len(vocab), 4, 8)
    out = reader(ids, lengths).data
    assert not np.allclose(out[0], out[1])


def test_padding_does_not_change_a_sentence_s_logits():
    vocab = tasks.SentimentVocab()
    nn.manual_seed(1)
    for name in ("bow", "lstm"):
        model = sentiment.build(name, len(vocab), 4, 8)
        alone = model(*vocab.encode(["the film was not bad"])).data
        padded = model(*vocab.encode(["the film was not bad", "although the plot was dull , the cast was fun"])).data
        assert np.allclose(alone[0], padded[0]), name


def test_saliency_has_one_value_per_word():
    vocab = tasks.SentimentVocab()
    nn.manual_seed(2)
    model = sentiment.build("rnn", len(vocab), 4, 8)
    data = tasks.sentiment_sentences(5, np.random.default_rng(3))
    values = sentiment.saliency(model, data)
    assert [len(v) for v in values] == list(data.lengths) and all(np.all(v >= 0) for v in values)


def test_sentiment_command_compares_the_models_and_draws_saliency(tmp_path, capsys):
    assert cli.main(["train", "sentiment", "--models", "bow", "gru", "--saliency-model", "gru", "--train-size",
                     "600", "--test-size", "150", "--epochs", "4", "--out", str(tmp_path), "--quiet"]) == 0
    runs = {r["model"]: r for r in json.loads((tmp_path / "sentiment.json").read_text())["runs"]}
    gru = runs["gru"]
    assert gru["loss"][-1] < gru["loss"][0] and gru["final"]["contrast"] > runs["bow"]["final"]["contrast"]
    out = capsys.readouterr().out
    assert "| bag of words |" in out and "| GRU |" in out and "most salient word" in out
    svg = (tmp_path / "sentiment_saliency.svg").read_text()
    assert svg.count("<rect") > 20 and ("although" in svg or "but" in svg)


def test_sentiment_refuses_more_sentences_than_the_grammar_has(capsys):
    assert cli.main(["train", "sentiment", "--train-size", "6000", "--quiet"]) == 1
    assert "ran out of new plain sentences" in capsys.readouterr().err


def test_word_saliency_shades_each_word_within_its_sentence():
    from viz import plot

    svg = plot.word_saliency([["not", "bad"], ["good"]], [[1.0, 3.0], [0.5]], ["+", "+"], title="s")
    assert svg.count("<rect") == 1 + 3  # the background and one box per word
    assert 'fill="rgb(55,55,255)"' in svg  # each row's largest value gets the darkest shade
    assert ">bad</text>" in svg and "bad: 3" in svg
    with pytest.raises(ValueError, match="one value per word"):
        plot.word_saliency([["a", "b"]], [[1.0]])
