"""Module bookkeeping a PyTorch user relies on: names, state_dict, modes, init, simple layers."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_rnn as tr
from tinygrad_rnn.nn import StateDictError


class Tagger(tr.nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = tr.nn.Embedding(10, 3, rng=0)
        self.rnn = tr.nn.LSTM(3, 4, num_layers=2, bidirectional=True, dropout=0.5, rng=1)
        self.head = tr.nn.Linear(8, 5, rng=2)

    def forward(self, ids):
        out, _ = self.rnn(self.embed(ids))
        return self.head(out)


def test_named_parameters_use_pytorchs_dotted_names_and_order():
    names = [name for name, _ in Tagger().named_parameters()]
    assert names[:6] == ["embed.weight", "rnn.weight_ih_l0", "rnn.weight_hh_l0", "rnn.bias_ih_l0",
                         "rnn.bias_hh_l0", "rnn.weight_ih_l0_reverse"]
    assert names[-2:] == ["head.weight", "head.bias"]
    assert len(names) == 1 + 16 + 2


def test_parameter_names_follow_registration():
    model = Tagger()
    for name, p in model.named_parameters():
        assert isinstance(p, tr.Parameter) and p.name == name
    assert tr.nn.GRU(2, 3).weight_hh_l0.name == "weight_hh_l0"
    graph = tr.trace(model(np.array([[1, 2], [3, 4]])).sum())
    assert {t.name for t in graph.parameters()} == {name for name, _ in model.named_parameters()}


def test_shapes_match_pytorch():
    lstm = tr.nn.LSTM(3, 4, num_layers=2, bidirectional=True)
    shapes = {name: p.shape for name, p in lstm.named_parameters()}
    assert shapes["weight_ih_l0"] == (16, 3) and shapes["weight_hh_l0_reverse"] == (16, 4)
    assert shapes["weight_ih_l1"] == (16, 8) and shapes["bias_hh_l1_reverse"] == (16,)
    gru = tr.nn.GRU(3, 4, bias=False)
    assert [n for n, _ in gru.named_parameters()] == ["weight_ih_l0", "weight_hh_l0"]
    assert gru.weight_ih_l0.shape == (12, 3)
    assert tr.nn.RNNCell(3, 4).weight_hh.shape == (4, 4)


def test_state_dict_round_trip_copies_values_not_references():
    source, target = Tagger(), Tagger()
    target.load_state_dict(source.state_dict())
    for (name, a), (_, b) in zip(source.named_parameters(), target.named_parameters()):
        assert np.array_equal(a.data, b.data), name
    snapshot = source.state_dict()
    snapshot["head.bias"][:] = 123.0
    assert not np.any(source.head.bias.data == 123.0)
    ids = np.array([[1, 2, 3]])
    source.eval(), target.eval()
    assert np.array_equal(source(ids).data, target(ids).data)


def _assert_unchanged(model, before):
    for name, value in model.state_dict().items():
        assert np.array_equal(value, before[name]), f"{name} changed"


def test_load_state_dict_errors_name_the_key_and_change_nothing():
    model = Tagger()
    before = model.state_dict()
    good = Tagger(); good.head.bias.data[:] = 7.0  # noqa: E702
    state = good.state_dict()

    wrong_shape = dict(state, **{"rnn.weight_ih_l1": np.zeros((16, 5))})
    with pytest.raises(StateDictError) as error:
        model.load_state_dict(wrong_shape)
    assert "rnn.weight_ih_l1" in str(error.value)
    assert "(16, 5)" in str(error.value) and "(16, 8)" in str(error.value)
    _assert_unchanged(model, before)  # head.bias (valid, listed before) was not copied either

    missing = {k: v for k, v in state.items() if k != "rnn.bias_hh_l0"}
    with pytest.raises(StateDictError, match=r"missing key 'rnn\.bias_hh_l0'"):
        model.load_state_dict(missing)
    _assert_unchanged(model, before)

    with pytest.raises(StateDictError, match=r"unexpected key 'rnn\.weight_hr_l0'"):
        model.load_state_dict(dict(state, **{"rnn.weight_hr_l0": np.zeros(3)}))
    _assert_unchanged(model, before)


def test_load_state_dict_non_strict_reports_what_it_skipped():
    model = Tagger()
    state = {"head.bias": np.full(5, 2.0), "extra": np.zeros(1)}
    result = model.load_state_dict(state, strict=False)
    assert result.unexpected_keys == ["extra"] and "head.weight" in result.missing_keys
    assert np.all(model.head.bias.data == 2.0)
    with pytest.raises(StateDictError, match="head.bias"):
        model.load_state_dict({"head.bias": np.zeros(4)}, strict=False)


def test_zero_grad_train_eval():
    model = Tagger()
    model(np.array([[1, 2]])).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())
    assert model.eval() is model and not model.rnn.training and not model.head.training
    model.train()
    assert model.training and model.rnn.training


def test_repr_reads_like_pytorch():
    text = repr(Tagger())
    assert text.splitlines()[0] == "Tagger("
    assert "(embed): Embedding(10, 3)" in text
    assert "(rnn): LSTM(3, 4, num_layers=2, dropout=0.5, bidirectional=True)" in text
    assert "(head): Linear(in_features=8, out_features=5, bias=True)" in text
    assert repr(tr.nn.RNN(2, 3, nonlinearity="relu", batch_first=True)) == \
        "RNN(2, 3, batch_first=True, nonlinearity='relu')"
    assert repr(tr.nn.GRUCell(2, 3, reset="before")) == "GRUCell(2, 3, reset='before')"


@pytest.mark.parametrize("make, hidden", [
    (lambda: tr.nn.LSTM(5, 16, num_layers=2, bidirectional=True), 16),
    (lambda: tr.nn.GRU(5, 9), 9),
    (lambda: tr.nn.RNN(5, 25), 25),
    (lambda: tr.nn.LSTMCell(5, 16, peephole=True), 16),
    (lambda: tr.nn.JordanCell(5, 16, 3), 16),
])
def test_default_init_is_uniform_within_one_over_sqrt_hidden(make, hidden):
    values = np.concatenate([p.data.ravel() for p in make().parameters()])
    bound = 1 / np.sqrt(hidden)
    assert values.min() >= -bound and values.max() <= bound
    # spread over the whole interval, not a constant or a narrower law
    assert values.min() < -0.9 * bound and values.max() > 0.9 * bound
    assert abs(values.std() - bound / np.sqrt(3)) < 0.1 * bound


def test_seeding_makes_weights_repeatable():
    tr.manual_seed(3)
    a = tr.nn.LSTM(3, 4).state_dict()
    tr.manual_seed(3)
    b = tr.nn.LSTM(3, 4).state_dict()
    c = tr.nn.LSTM(3, 4).state_dict()
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(a["weight_hh_l0"], c["weight_hh_l0"])
    d, e = tr.nn.GRU(3, 4, rng=7).state_dict(), tr.nn.GRU(3, 4, rng=np.random.default_rng(7)).state_dict()
    assert all(np.array_equal(d[k], e[k]) for k in d)
    with pytest.raises(TypeError, match="rng"):
        tr.nn.GRU(3, 4, rng="seven")


def test_linear_matches_its_formula_on_any_leading_shape():
    layer = tr.nn.Linear(3, 2, rng=0)
    x = np.random.default_rng(1).standard_normal((4, 5, 3))
    expected = x @ layer.weight.data.T + layer.bias.data
    assert np.allclose(layer(x).data, expected)
    assert tr.nn.Linear(3, 2, bias=False).bias is None
    with pytest.raises(tr.ShapeError, match="in_features=3"):
        layer(np.zeros((4, 2)))


def test_embedding_rows_and_scatter_add_gradient():
    table = tr.nn.Embedding(4, 2, rng=0)
    ids = np.array([[1, 3], [1, 0]])
    out = table(ids)
    assert np.array_equal(out.data, table.weight.data[ids])
    out.sum().backward()
    assert np.array_equal(table.weight.grad[:, 0], [1.0, 2.0, 0.0, 1.0])


def test_dropout_only_in_training_and_seedable():
    x = tr.Tensor(np.ones((200, 50)))
    layer = tr.nn.Dropout(0.25, rng=0)
    y = layer(x).data
    assert set(np.unique(y)) == {0.0, 1 / 0.75}
    assert abs((y == 0).mean() - 0.25) < 0.02
    assert np.array_equal(y, tr.nn.Dropout(0.25, rng=0)(x).data)
    assert layer.eval()(x) is x


def test_lstm_dropout_between_layers_only_in_training():
    x = np.random.default_rng(0).standard_normal((6, 4, 3))
    plain = tr.nn.LSTM(3, 5, num_layers=2, rng=0)
    dropped = tr.nn.LSTM(3, 5, num_layers=2, dropout=0.5, rng=0)
    dropped.load_state_dict(plain.state_dict())
    trained, _ = dropped(x)
    assert not np.allclose(trained.data, plain(x)[0].data)
    assert any(n.scope == "lstm/l0" and n.op == "mul" for n in tr.trace(trained).nodes)
    dropped.eval()
    evaluated, _ = dropped(x)
    assert np.array_equal(evaluated.data, plain(x)[0].data)
    # no dropout after the last layer: a one-layer stack is unaffected even in training
    with pytest.warns(UserWarning, match="num_layers=1"):
        single = tr.nn.GRU(3, 5, dropout=0.5, rng=0)
    reference = tr.nn.GRU(3, 5, rng=0)
    assert np.array_equal(single(x)[0].data, reference(x)[0].data)
