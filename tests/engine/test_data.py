"""Corpus, vocabulary, padding, BPTT batching and splits."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygrad_rnn import data

# --- corpus ---------------------------------------------------------------------------


def test_default_corpus_is_real_english_of_a_few_hundred_kb():
    text = data.load_text()
    assert 200_000 < len(text) < 1_000_000
    assert text == data.load_text()  # deterministic
    words = text.lower().split()
    for common in ("the", "of", "and", "is", "to", "return"):
        assert words.count(common) > 100, common
    assert text.startswith("Get useful information from live Python objects.")  # inspect's docstring
    assert "\x00" not in text


def test_load_text_reads_a_users_file_and_explains_failures(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text("héllo wörld\n", encoding="utf-8")
    assert data.load_text(path) == "héllo wörld\n"
    with pytest.raises(FileNotFoundError, match="no text file"):
        data.load_text(tmp_path / "missing.txt")
    (tmp_path / "empty.txt").write_text("")
    with pytest.raises(ValueError, match="is empty"):
        data.load_text(tmp_path / "empty.txt")
    (tmp_path / "binary.bin").write_bytes(b"\xff\xfe\x00\x81")
    with pytest.raises(ValueError, match="not UTF-8"):
        data.load_text(tmp_path / "binary.bin")


# --- vocabulary -----------------------------------------------------------------------


def test_char_vocab_ids_are_specials_then_by_frequency():
    vocab = data.Vocab.from_text("abracadabra")
    assert vocab.id_to_token == ["<pad>", "<bos>", "<eos>", "<unk>", "a", "b", "r", "c", "d"]
    assert (vocab.pad_id, vocab.bos_id, vocab.eos_id, vocab.unk_id) == (0, 1, 2, 3)
    assert vocab["a"] == 4 and vocab["z"] == 3 and "z" not in vocab and "a" in vocab
    np.testing.assert_array_equal(vocab.encode("cab?"), [7, 4, 5, 3])
    assert vocab.encode("cab").dtype == np.int64


def test_char_vocab_round_trips_the_corpus():
    text = data.load_text()[:20_000]
    vocab = data.Vocab.from_text(text)
    assert vocab.decode(vocab.encode(text)) == text
    ids = vocab.encode(["<bos>", *"abc", "<eos>", "<pad>"])
    assert vocab.decode(ids, skip=("<bos>", "<eos>", "<pad>")) == "abc"


@settings(max_examples=50, deadline=None)
@given(st.text(min_size=1, max_size=200))
def test_char_round_trip_property(text):
    vocab = data.Vocab.from_text(text)
    assert vocab.decode(vocab.encode(text)) == text
    assert len(vocab) == len(set(text) - {"<pad>"}) + 4


def test_word_vocab_min_freq_max_size_and_no_unk():
    text = "the cat saw the dog . the dog ran ."
    vocab = data.Vocab.from_text(text, level="word", min_freq=2)
    assert vocab.id_to_token == ["<pad>", "<bos>", "<eos>", "<unk>", "the", ".", "dog"]
    assert vocab.decode(vocab.encode("the cat ran .")) == "the <unk> <unk> ."
    small = data.Vocab.from_text(text, level="word", max_size=5)
    assert small.id_to_token == ["<pad>", "<bos>", "<eos>", "<unk>", "the"]
    strict = data.Vocab(list("aab"), unk=None, reserved=())
    assert strict.id_to_token == ["a", "b"]
    with pytest.raises(KeyError, match="'z' is not in the vocabulary"):
        strict.encode("az")
    with pytest.raises(KeyError, match="no unk"):
        _ = strict.unk_id
    with pytest.raises(KeyError, match="'<pad>' is not among the reserved tokens"):
        _ = strict.pad_id
    assert data.tokenize("Don't stop.", "word") == ["Don", "'", "t", "stop", "."]


def test_vocab_survives_a_checkpoint(tmp_path):
    import tinygrad_rnn as tr

    for text, level, options in (
        ("hello, wörld", "char", {}),
        ("to be or not to be", "word", {"reserved": ("<s>",), "unk": None}),
    ):
        vocab = data.Vocab.from_text(text, level=level, **options)
        tr.save({"weight": np.zeros(2), **vocab.state_dict()}, tmp_path / "lm.npz")
        back = data.Vocab.from_state_dict(tr.load(tmp_path / "lm.npz"))
        assert back.id_to_token == vocab.id_to_token
        assert (back.level, back.unk, back.reserved) == (vocab.level, vocab.unk, vocab.reserved)
        assert back.decode(back.encode(text)) == vocab.decode(vocab.encode(text))
    with pytest.raises(KeyError, match="vocab saved with this prefix"):
        data.Vocab.from_state_dict({"weight": np.zeros(2)})


def test_vocab_rejects_bad_options():
    with pytest.raises(ValueError, match="level must be"):
        data.Vocab.from_text("abc", level="byte")
    with pytest.raises(ValueError, match="distinct"):
        data.Vocab("abc", reserved=("<unk>",))
    with pytest.raises(ValueError, match="cannot even hold"):
        data.Vocab("abc", max_size=2)
    with pytest.raises(IndexError, match="ids must be in"):
        data.Vocab("abc").decode([99])


# --- padding --------------------------------------------------------------------------


def test_pad_sequences_pads_truncates_and_counts():
    seqs = [[5, 6, 7], [8], [1, 2, 3, 4, 9]]
    padded, lengths = data.pad_sequences(seqs, pad_id=0)
    np.testing.assert_array_equal(padded, [[5, 6, 7, 0, 0], [8, 0, 0, 0, 0], [1, 2, 3, 4, 9]])
    np.testing.assert_array_equal(lengths, [3, 1, 5])
    padded, lengths = data.pad_sequences(seqs, pad_id=-1, max_len=4)
    np.testing.assert_array_equal(padded, [[5, 6, 7, -1], [8, -1, -1, -1], [1, 2, 3, 4]])
    np.testing.assert_array_equal(lengths, [3, 1, 4])
    padded, _ = data.pad_sequences(seqs, pad_id=0, max_len=2, truncate="pre")
    np.testing.assert_array_equal(padded, [[6, 7], [8, 0], [4, 9]])
    assert padded.dtype == np.int64
    padded, lengths = data.pad_sequences([[], [3]], pad_id=0)
    np.testing.assert_array_equal(padded, [[0], [3]])
    np.testing.assert_array_equal(lengths, [0, 1])
    with pytest.raises(ValueError, match="no sequences"):
        data.pad_sequences([], pad_id=0)
    with pytest.raises(ValueError, match="truncate must be"):
        data.pad_sequences(seqs, pad_id=0, truncate="middle")


# --- BPTT batches ---------------------------------------------------------------------

STREAM = np.arange(1000)  # token i has id i, so positions are visible in the batches


@pytest.mark.parametrize("sampler", [data.sequential_batches, data.random_batches])
def test_batches_have_the_right_shapes_and_targets_are_shifted_inputs(sampler):
    batches = list(sampler(STREAM, batch_size=4, num_steps=7, seed=3))
    assert len(batches) == data.num_batches(len(STREAM), 4, 7) == (1000 - 7) // 28
    for X, Y in batches:
        assert X.shape == Y.shape == (4, 7) and X.dtype == STREAM.dtype
        np.testing.assert_array_equal(Y, X + 1)  # Y[:, t] is the token after X[:, t]
        np.testing.assert_array_equal(np.diff(X, axis=1), 1)  # each row is a contiguous window
    X, Y = next(iter(sampler(STREAM, batch_size=4, num_steps=7, seed=3, batch_first=False)))
    np.testing.assert_array_equal(X, batches[0][0].T)


def test_sequential_batch_k_plus_1_continues_batch_k_row_by_row():
    batches = list(data.sequential_batches(STREAM, batch_size=3, num_steps=5, seed=11))
    for (X0, _), (X1, _) in zip(batches, batches[1:]):
        np.testing.assert_array_equal(X1[:, 0], X0[:, -1] + 1)  # row b picks up where it stopped
    rows = np.concatenate([X for X, _ in batches], axis=1)  # each row: one contiguous stretch of text
    np.testing.assert_array_equal(np.diff(rows, axis=1), 1)
    starts = rows[:, 0]
    assert np.all(np.diff(starts) == rows.shape[1])  # rows are consecutive, non-overlapping stretches


def test_random_batches_cover_disjoint_windows_in_shuffled_order():
    batches = list(data.random_batches(STREAM, batch_size=4, num_steps=10, seed=5))
    starts = np.concatenate([X[:, 0] for X, _ in batches])
    assert len(set(starts.tolist())) == starts.size  # no window is used twice
    assert len(set((starts % 10).tolist())) == 1  # all on one grid: windows never overlap
    assert not np.all(np.diff(starts) > 0)  # shuffled, not in text order


def test_batches_are_seeded():
    def first(sampler, seed):
        return next(iter(sampler(STREAM, 2, 6, seed=seed)))[0]

    for sampler in (data.sequential_batches, data.random_batches):
        np.testing.assert_array_equal(first(sampler, 1), first(sampler, 1))
        assert any(not np.array_equal(first(sampler, 0), first(sampler, s)) for s in range(1, 6))
        rng = np.random.default_rng(0)  # a shared Generator advances: epochs differ
        epochs = {next(iter(sampler(STREAM, 2, 6, seed=rng)))[0].tobytes() for _ in range(5)}
        assert len(epochs) > 1


def test_too_short_a_stream_is_explained():
    with pytest.raises(ValueError, match="10 tokens are too few for one batch of 2 rows x 5 steps"):
        list(data.sequential_batches(np.arange(10), 2, 5))
    with pytest.raises(ValueError, match="batch_size and num_steps must be >= 1"):
        list(data.random_batches(STREAM, 0, 5))


# --- splits ---------------------------------------------------------------------------


def test_train_val_split_contiguous_and_shuffled():
    text = "abcdefghij"
    assert data.train_val_split(text, 0.2) == ("abcdefgh", "ij")
    train, val = data.train_val_split(np.arange(10), 0.3)
    np.testing.assert_array_equal(val, [7, 8, 9])
    pairs = [(i, -i) for i in range(20)]
    train, val = data.train_val_split(pairs, 0.25, shuffle=True, seed=0)
    assert len(train) == 15 and len(val) == 5 and sorted(train + val) == sorted(pairs)
    assert (train, val) == data.train_val_split(pairs, 0.25, shuffle=True, seed=0)
    assert val != pairs[15:]
    with pytest.raises(ValueError, match="destroys it"):
        data.train_val_split(text, 0.2, shuffle=True)
    with pytest.raises(ValueError, match="leave one side empty"):
        data.train_val_split("abc", 0.1)
    with pytest.raises(ValueError, match="between 0 and 1"):
        data.train_val_split(text, 1.0)
