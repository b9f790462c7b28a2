"""tr.save / tr.load round trips and refusals; tr.perplexity."""

from __future__ import annotations

import math
import pickle
import zipfile

import numpy as np
import pytest

import tinygrad_rnn as tr
from tinygrad_rnn import functional as F


def test_round_trip_keeps_names_dtypes_shapes_and_values(tmp_path):
    rng = np.random.default_rng(0)
    state = {
        "weight_hh_l0": rng.standard_normal((8, 2)),
        "bias_ih_l1_reverse": rng.standard_normal(8).astype(np.float32),
        "embedding.weight": rng.standard_normal((5, 3)).astype(np.float16),
        "state.0.step": np.array(7),
        "counts": np.arange(4, dtype=np.int32),
        "mask": np.array([True, False]),
        "tokens": np.array(["<pad>", "a", "é"]),
        "file": np.zeros(0),  # names np.savez would choke on are fine
        "allow_pickle": np.ones((0, 3)),
        "W": tr.Parameter(np.eye(2)),  # tensors are stored as their data
    }
    path = tmp_path / "model.npz"
    tr.save(state, path)
    loaded = tr.load(path)
    assert list(loaded) == list(state)
    for key, value in state.items():
        expected = value.data if isinstance(value, tr.Tensor) else value
        assert loaded[key].dtype == expected.dtype, key
        assert loaded[key].shape == expected.shape, key
        np.testing.assert_array_equal(loaded[key], expected)
    assert isinstance(loaded["W"], np.ndarray)
    # an .npz is readable by plain NumPy too
    with np.load(path) as plain:
        np.testing.assert_array_equal(plain["weight_hh_l0"], state["weight_hh_l0"])


def test_save_overwrites_and_leaves_no_temporary_files(tmp_path):
    path = tmp_path / "ckpt.npz"
    tr.save({"a": np.zeros(2)}, path)
    tr.save({"b": np.ones(3)}, path)
    assert list(tr.load(path)) == ["b"]
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.npz"]


def test_save_a_bad_value_names_the_key_and_writes_nothing(tmp_path):
    path = tmp_path / "bad.npz"
    with pytest.raises(TypeError, match="value for 'lr' is a float"):
        tr.save({"w": np.zeros(2), "lr": 0.1}, path)
    with pytest.raises(TypeError, match="'meta' is an object array"):
        tr.save({"meta": np.array([{"a": 1}], dtype=object)}, path)
    with pytest.raises(TypeError, match="keys must be non-empty strings"):
        tr.save({3: np.zeros(1)}, path)
    with pytest.raises(TypeError, match="expected a dict"):
        tr.save([np.zeros(1)], path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        tr.save({"w": np.zeros(1)}, tmp_path / "missing_dir" / "x.npz")
    assert list(tmp_path.iterdir()) == []


def test_load_refuses_missing_foreign_and_pickled_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="no checkpoint at"):
        tr.load(tmp_path / "nope.npz")
    text = tmp_path / "notes.txt"
    text.write_text("not a checkpoint")
    with pytest.raises(ValueError, match="not an .npz checkpoint"):
        tr.load(text)
    npy = tmp_path / "one.npy"
    np.save(npy, np.zeros(3))
    with pytest.raises(ValueError, match="not an .npz checkpoint"):
        tr.load(npy)
    with pytest.raises(IsADirectoryError):
        tr.load(tmp_path)

    # an archive whose member is a pickle: must be refused, never unpickled
    evil = tmp_path / "evil.npz"
    np.savez(evil, payload=np.array([object()], dtype=object))
    with pytest.raises(ValueError, match="pickled Python objects"):
        tr.load(evil)
    with zipfile.ZipFile(tmp_path / "raw.npz", "w") as archive:
        archive.writestr("payload.npy", pickle.dumps({"a": 1}))
    with pytest.raises(ValueError, match="not a valid .npz checkpoint"):
        tr.load(tmp_path / "raw.npz")


def test_truncated_checkpoint_is_reported(tmp_path):
    path = tmp_path / "cut.npz"
    tr.save({"w": np.arange(1000.0)}, path)
    path.write_bytes(path.read_bytes()[:-200])
    with pytest.raises(ValueError, match="cut.npz"):
        tr.load(path)


# --- perplexity -----------------------------------------------------------------------


@pytest.mark.parametrize("V", [2, 10, 65])
def test_perplexity_of_a_uniform_model_is_the_vocabulary_size(V):
    logits = tr.Tensor(np.zeros((7, V)))  # equal logits: p = 1/V for every class
    targets = np.arange(7) % V
    loss = F.cross_entropy(logits, targets)
    assert tr.perplexity(loss) == pytest.approx(V, rel=1e-12)
    assert tr.perplexity(loss.item()) == pytest.approx(V, rel=1e-12)


def test_perplexity_is_the_inverse_geometric_mean_probability():
    p = np.array([0.5, 0.25, 0.125])  # probabilities given to the true tokens
    mean_nll = -np.log(p).mean()
    assert tr.perplexity(mean_nll) == pytest.approx(1 / np.prod(p) ** (1 / 3), rel=1e-12)  # = 4
    assert tr.perplexity(np.float32(0.0)) == 1.0
    assert tr.perplexity(2000.0) == math.inf


def test_perplexity_rejects_what_is_not_a_mean_nll():
    with pytest.raises(ValueError, match="shape \\(3,\\)"):
        tr.perplexity(tr.Tensor(np.ones(3)))
    with pytest.raises(ValueError, match="negative log-likelihood"):
        tr.perplexity(-0.5)
    with pytest.raises(ValueError, match="NaN"):
        tr.perplexity(float("nan"))
    with pytest.raises(ValueError, match="one number"):
        tr.perplexity("2.0")
