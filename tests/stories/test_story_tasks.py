"""Generated data for the stories: the properties each story's claims rest on."""

import numpy as np
import pytest

from tinygrad_rnn.stories import tasks


def test_adding_problem_targets_are_the_sum_of_the_two_marked_values():
    x, y = tasks.adding_problem(200, 20, np.random.default_rng(0))
    assert x.shape == (20, 200, 2) and y.shape == (200, 1)
    markers = x[..., 1]
    assert np.all(markers.sum(axis=0) == 2)
    assert np.all(markers[:10].sum(axis=0) == 1)  # one in each half
    assert np.allclose((x[..., 0] * markers).sum(axis=0), y[:, 0])


def test_adding_problem_mean_prediction_scores_one_sixth():
    _, y = tasks.adding_problem(200_000, 4, np.random.default_rng(1))
    assert abs(np.mean((y - 1.0) ** 2) - tasks.ADDING_BASELINE_MSE) < 0.003


def test_sine_windows_pair_each_window_with_the_next_value():
    series = np.arange(10.0)
    x, y = tasks.windows(series, 3)
    assert x.shape == (3, 7, 1) and y.shape == (7, 1)
    assert list(x[:, 2, 0]) == [2, 3, 4] and y[2, 0] == 5
    with pytest.raises(ValueError, match="no windows"):
        tasks.windows(series, 10)


@pytest.mark.parametrize("task", ["reverse", "add"])
def test_digit_pairs_encode_start_and_end_tokens(task):
    data = tasks.digit_task(task, 50, 3, np.random.default_rng(2))
    vocab = tasks.DigitVocab()
    for j, (source, target) in enumerate(zip(data.sources, data.targets)):
        if task == "reverse":
            assert target == source[::-1]
        else:
            a, b = source.split("+")
            assert int(target) == int(a) + int(b) and len(target) == 4
        assert vocab.decode(data.source[:, j]) == source
        assert data.decoder_input[0, j] == vocab.start
        assert vocab.decode(data.decoder_input[1:, j]) == target
        assert data.decoder_target[-1, j] == vocab.end
        assert vocab.decode(data.decoder_target[:, j]) == target  # decode stops at </s>
    assert data.take([3, 1]).sources == [data.sources[3], data.sources[1]]


def test_slot_sentences_label_the_same_city_both_ways():
    data = tasks.slot_sentences(400, np.random.default_rng(3))
    vocab = tasks.SlotVocab()
    dest, dep = tasks.SLOTS.index("destination"), tasks.SLOTS.index("departure")
    city_ids = {vocab.index[c] for c in tasks.CITIES}
    real = data.labels != data.ignore
    assert np.all(real.sum(axis=0) == data.lengths)
    as_dest = set(data.words[data.labels == dest].tolist())
    as_dep = set(data.words[data.labels == dep].tolist())
    assert as_dest <= city_ids and as_dep <= city_ids
    assert as_dest & as_dep  # the same word in both slots: context must decide
    j = next(i for i, s in enumerate(data.sentences) if s.startswith("arrive "))
    assert data.labels[1, j] == dest
    assert np.all(data.words[~real] == 0)


def test_ngram_probabilities_sum_to_one_and_context_helps():
    rng = np.random.default_rng(4)
    # a text where each character is usually followed by the next letter of "abcd"
    ids = np.cumsum(rng.choice([1, 1, 1, 2], size=5000)) % 4
    model = tasks.CharNGram(2, 4, k=0.5).fit(ids[:4000])
    history = ids[:10]
    total = sum(np.exp(model.log_probs(np.array([c]), history))[0] for c in range(4))
    assert abs(total - 1) < 1e-12
    unigram = tasks.CharNGram(1, 4, k=0.5).fit(ids[:4000])
    assert model.perplexity(ids[4000:], ids[:4000]) < 0.8 * unigram.perplexity(ids[4000:])
    assert unigram.perplexity(ids[4000:]) == pytest.approx(4.0, rel=0.01)  # uniform letters


def test_ngram_counts_match_a_hand_count():
    ids = np.array([0, 1, 0, 1, 1])
    model = tasks.CharNGram(2, 2, k=1.0).fit(ids)
    # contexts among the first 4: 0 twice, 1 twice; bigrams 01 x2, 10 x1, 11 x1
    p = np.exp(model.log_probs(np.array([1, 0]), history=np.array([0])))
    assert p[0] == pytest.approx((2 + 1) / (2 + 2))  # P(1 | 0)
    assert p[1] == pytest.approx((1 + 1) / (2 + 2))  # P(0 | 1)
    with pytest.raises(ValueError, match="history"):
        model.log_probs(np.array([1]))
