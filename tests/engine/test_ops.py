"""Every primitive and composite against central differences, over generated shapes."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_rnn as tr
from tinygrad_rnn import functional as F

SETTINGS = settings(max_examples=25, deadline=None)

shapes = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4)


def leaf(rng, shape, low=-2.0, high=2.0, name=None):
    return tr.Tensor(rng.uniform(low, high, shape), requires_grad=True, name=name)


@st.composite
def broadcast_pair(draw):
    """Two shapes that broadcast together (some axes 1 or missing on either side)."""
    shape = draw(shapes)
    a = tuple(1 if draw(st.booleans()) else n for n in shape)
    b = tuple(1 if draw(st.booleans()) else n for n in shape)
    b = b[draw(st.integers(0, len(b) - 1)) :]
    if draw(st.booleans()):
        a, b = b, a
    return a, b


seeds = st.integers(0, 2**31 - 1)


@SETTINGS
@given(broadcast_pair(), seeds)
def test_binary_arithmetic_with_broadcasting(pair, seed):
    rng = np.random.default_rng(seed)
    a, b = leaf(rng, pair[0]), leaf(rng, pair[1])
    b_away_from_zero = tr.Tensor(np.sign(b.data) * (0.5 + np.abs(b.data)), requires_grad=True)
    assert tr.gradcheck(lambda x, y: x + y, [a, b])
    assert tr.gradcheck(lambda x, y: x - y, [a, b])
    assert tr.gradcheck(lambda x, y: x * y, [a, b])
    assert tr.gradcheck(lambda x, y: x / y, [a, b_away_from_zero])
    out = a + b
    assert out.shape == np.broadcast_shapes(pair[0], pair[1])


@SETTINGS
@given(shapes, seeds)
def test_unary_functions(shape, seed):
    rng = np.random.default_rng(seed)
    x = leaf(rng, shape)
    positive = leaf(rng, shape, 0.5, 3.0)
    away_from_kink = tr.Tensor(np.sign(x.data) * (0.1 + np.abs(x.data)), requires_grad=True)
    assert tr.gradcheck(lambda t: -t, [x])
    assert tr.gradcheck(lambda t: t.exp(), [x])
    assert tr.gradcheck(lambda t: t.log(), [positive])
    assert tr.gradcheck(lambda t: t.tanh(), [x])
    assert tr.gradcheck(lambda t: t.sigmoid(), [x])
    assert tr.gradcheck(lambda t: t.relu(), [away_from_kink])
    assert tr.gradcheck(lambda t: t**3, [x])
    assert tr.gradcheck(lambda t: t**-0.5, [positive])


@SETTINGS
@given(shapes, seeds, st.booleans())
def test_reductions_over_every_axis(shape, seed, keepdims):
    rng = np.random.default_rng(seed)
    x = leaf(rng, shape)
    for axis in [None, *range(len(shape)), -1]:
        assert tr.gradcheck(lambda t, a=axis: t.sum(axis=a, keepdims=keepdims), [x])
        assert tr.gradcheck(lambda t, a=axis: t.mean(axis=a, keepdims=keepdims), [x])
        assert tr.gradcheck(lambda t, a=axis: t.max(axis=a, keepdims=keepdims), [x])
        expected = x.data.sum(axis=axis, keepdims=keepdims)
        np.testing.assert_allclose(x.sum(axis=axis, keepdims=keepdims).data, expected)


def test_reductions_accept_pytorch_dim():
    x = tr.Tensor(np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(x.sum(dim=1).data, [3.0, 12.0])
    np.testing.assert_array_equal(x.mean(dim=0, keepdim=True).data, [[1.5, 2.5, 3.5]])
    np.testing.assert_array_equal(x.max(dim=1).data, [2.0, 5.0])
    with pytest.raises(TypeError, match="axis= or dim="):
        x.sum(axis=0, dim=1)


def test_max_shares_gradient_between_ties():
    x = tr.Tensor([1.0, 3.0, 3.0], requires_grad=True)
    x.max().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.5, 0.5])


@SETTINGS
@given(st.integers(1, 4), st.integers(1, 4), st.integers(1, 4), st.integers(0, 2), seeds)
def test_matmul_2d_and_batched(n, k, m, batch_dims, seed):
    rng = np.random.default_rng(seed)
    batch = (2, 3)[:batch_dims]
    a = leaf(rng, batch + (n, k))
    b = leaf(rng, (k, m))  # broadcast over a's batch
    assert tr.gradcheck(lambda x, y: x @ y, [a, b])
    np.testing.assert_allclose((a @ b).data, a.data @ b.data)
    c = leaf(rng, batch + (k, m))
    assert tr.gradcheck(lambda x, y: x @ y, [a, c])


def test_matmul_with_vectors_follows_numpy():
    rng = np.random.default_rng(0)
    W, v = leaf(rng, (3, 4)), leaf(rng, (4,))
    u = leaf(rng, (3,))
    assert (W @ v).shape == (3,)
    assert (u @ W).shape == (4,)
    assert (v @ v).shape == ()
    assert tr.gradcheck(lambda a, b: a @ b, [W, v])
    assert tr.gradcheck(lambda a, b: a @ b, [u, W])
    assert tr.gradcheck(lambda a, b: tr.matmul(a, b), [v, v])


@SETTINGS
@given(shapes, seeds)
def test_reshape_and_permute(shape, seed):
    rng = np.random.default_rng(seed)
    x = leaf(rng, shape)
    perm = tuple(np.random.default_rng(seed).permutation(len(shape)))
    assert tr.gradcheck(lambda t: t.reshape(-1), [x])
    assert tr.gradcheck(lambda t: t.reshape(1, *shape, 1), [x])
    assert tr.gradcheck(lambda t: t.permute(*perm) * tr.Tensor(np.arange(x.size).reshape(
        tuple(shape[p] for p in perm))), [x])
    assert x.T.shape == tuple(reversed(shape))
    np.testing.assert_array_equal(x.permute(*perm).data, np.transpose(x.data, perm))


def test_transpose_swaps_two_axes_like_pytorch():
    x = tr.Tensor(np.zeros((2, 3, 4)))
    assert x.transpose(0, 2).shape == (4, 3, 2)
    assert x.transpose((1, 2, 0)).shape == (3, 4, 2)
    assert tr.Tensor(np.zeros((2, 3))).transpose(0, 1).shape == (3, 2)
    with pytest.raises(ValueError, match="out of range"):
        x.transpose(0, 5)


@SETTINGS
@given(st.integers(2, 5), st.integers(1, 4), seeds)
def test_getitem_slices_and_repeated_integer_indices(n, m, seed):
    rng = np.random.default_rng(seed)
    x = leaf(rng, (n, m))
    idx = rng.integers(0, n, size=7)  # repeats on purpose: gradients must add up
    weights = tr.Tensor(rng.standard_normal((7, m)))
    assert tr.gradcheck(lambda t: t[1:], [x])
    assert tr.gradcheck(lambda t: t[:, -1], [x])
    assert tr.gradcheck(lambda t: t[idx] * weights, [x])
    assert tr.gradcheck(lambda t: t[idx, np.zeros(7, dtype=int)], [x])
    x.grad = None
    x[idx].sum().backward()
    np.testing.assert_array_equal(x.grad[:, 0], np.bincount(idx, minlength=n))


def test_getitem_with_tensor_and_list_indices():
    x = tr.Tensor(np.arange(5.0), requires_grad=True)
    np.testing.assert_array_equal(x[[0, 0, 4]].data, [0.0, 0.0, 4.0])
    np.testing.assert_array_equal(x[tr.Tensor(np.array([1, 2]))].data, [1.0, 2.0])


@SETTINGS
@given(st.integers(1, 3), st.integers(1, 4), st.integers(0, 1), seeds)
def test_concat_stack_split(pieces, size, axis, seed):
    rng = np.random.default_rng(seed)
    xs = [leaf(rng, (size + i, 3) if axis == 0 else (3, size + i)) for i in range(pieces)]
    assert tr.gradcheck(lambda *ts: tr.concat(ts, axis=axis), xs)
    same = [leaf(rng, (2, size)) for _ in range(pieces)]
    assert tr.gradcheck(lambda *ts: tr.stack(ts, dim=axis), same)
    whole = leaf(rng, (2 * size + 1, 3))
    parts = tr.split(whole, [size, size + 1], axis=0)
    assert [p.shape for p in parts] == [(size, 3), (size + 1, 3)]
    assert tr.gradcheck(lambda t: tr.split(t, [size, size + 1])[1] * 2.0, [whole])
    assert tr.gradcheck(lambda t: tr.concat(tr.split(t, size)[::-1]), [whole])


def test_split_and_chunk_sizes_follow_pytorch():
    x = tr.Tensor(np.arange(10.0))
    assert [p.shape[0] for p in x.split(4)] == [4, 4, 2]
    assert [p.shape[0] for p in x.chunk(3)] == [4, 4, 2]
    with pytest.raises(tr.ShapeError, match="don't add up"):
        x.split([3, 3])


def test_split_pieces_used_twice_and_unused():
    x = tr.Tensor(np.arange(6.0), requires_grad=True)
    a, b, c = x.split(2)
    (a * a + a).sum().backward()  # b and c unused: their gradient is zero
    np.testing.assert_array_equal(x.grad, [1.0, 3.0, 0.0, 0.0, 0.0, 0.0])


@SETTINGS
@given(broadcast_pair(), seeds)
def test_where(pair, seed):
    rng = np.random.default_rng(seed)
    a, b = leaf(rng, pair[0]), leaf(rng, pair[1])
    mask = rng.random(np.broadcast_shapes(*pair)) > 0.5
    assert tr.gradcheck(lambda x, y: tr.where(mask, x, y), [a, b])


@SETTINGS
@given(st.integers(2, 6), st.integers(1, 4), seeds)
def test_embedding_scatter_adds_repeated_ids(vocab, dim, seed):
    rng = np.random.default_rng(seed)
    W = leaf(rng, (vocab, dim))
    ids = rng.integers(0, vocab, size=(3, 4))
    out = tr.embedding(W, ids)
    assert out.shape == (3, 4, dim)
    assert tr.gradcheck(lambda w: tr.embedding(w, ids), [W])


@SETTINGS
@given(st.integers(1, 4), st.integers(2, 5), seeds)
def test_composites(n, c, seed):
    rng = np.random.default_rng(seed)
    x = leaf(rng, (n, c), -3, 3)
    targets = rng.integers(0, c, size=n)
    assert tr.gradcheck(lambda t: F.softmax(t, axis=1), [x])
    assert tr.gradcheck(lambda t: F.log_softmax(t, dim=-1), [x])
    assert tr.gradcheck(lambda t: F.cross_entropy(t, targets), [x])
    y = tr.Tensor(rng.standard_normal((n, c)))
    assert tr.gradcheck(lambda t: F.mse_loss(t, y), [x])
    assert tr.gradcheck(lambda t: F.dropout(t, 0.3, rng=seed), [x])


def test_cross_entropy_matches_the_definition_and_ignores_padding():
    logits = np.array([[1.0, 2.0, 3.0], [0.5, -1.0, 0.0], [2.0, 2.0, 2.0]])
    targets = np.array([2, 0, -100])
    expected = -np.mean([np.log(np.exp(3) / np.exp([1, 2, 3]).sum()),
                         np.log(np.exp(0.5) / np.exp([0.5, -1, 0]).sum())])
    loss = F.cross_entropy(tr.Tensor(logits), targets)
    assert loss.item() == pytest.approx(expected, rel=1e-12)
    x = tr.Tensor(logits, requires_grad=True)
    F.cross_entropy(x, targets).backward()
    np.testing.assert_array_equal(x.grad[2], 0.0)  # the ignored row gets no gradient
    with pytest.raises(IndexError, match="out of range for 3 classes"):
        F.cross_entropy(tr.Tensor(logits), np.array([0, 3, 1]))


def test_softmax_and_log_softmax_are_stable_for_huge_logits():
    x = tr.Tensor([[1000.0, 0.0, -1000.0]])
    np.testing.assert_allclose(F.softmax(x).data, [[1.0, 0.0, 0.0]])
    np.testing.assert_allclose(F.log_softmax(x).data, [[0.0, -1000.0, -2000.0]])


def test_sigmoid_is_stable_without_warnings():
    x = tr.Tensor(np.array([-1000.0, -30.0, 0.0, 30.0, 1000.0]), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # overflow or invalid values would warn
        y = x.sigmoid()
        y.sum().backward()
    np.testing.assert_allclose(y.data, [0.0, 1 / (1 + np.exp(30.0)), 0.5, 1 / (1 + np.exp(-30.0)), 1.0])
    assert np.all(np.isfinite(x.grad))


def test_dropout_is_seedable_and_inverted():
    x = tr.Tensor(np.ones((200, 50)))
    a, b = F.dropout(x, 0.4, rng=3), F.dropout(x, 0.4, rng=3)
    np.testing.assert_array_equal(a.data, b.data)
    assert set(np.unique(a.data)) == {0.0, 1 / 0.6}
    assert abs(a.data.mean() - 1.0) < 0.05  # expectation preserved
    assert F.dropout(x, 0.4, training=False) is x


def test_one_hot():
    np.testing.assert_array_equal(F.one_hot([2, 0], 3).data, [[0, 0, 1], [1, 0, 0]])
    with pytest.raises(IndexError):
        F.one_hot([3], 3)


def test_split_into_a_single_piece_backpropagates():
    # a recurrent layer over a one-step sequence splits its input projection into one piece
    x = tr.Tensor(np.arange(6.0).reshape(3, 2), requires_grad=True)
    (piece,) = x.split(3)
    (piece * 2.0).sum().backward()
    np.testing.assert_array_equal(x.grad, np.full((3, 2), 2.0))
