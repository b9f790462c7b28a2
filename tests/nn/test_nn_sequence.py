"""Sequence modules: scopes in the recorded graph, the per-step work, layouts, lengths, errors."""

from __future__ import annotations

import re

import numpy as np
import pytest

import tinygrad_rnn as tr

GATES = {
    "lstm": {"input_gate", "forget_gate", "cell_gate", "output_gate", "cell_state", "hidden"},
    "gru": {"reset_gate", "update_gate", "new_gate", "hidden"},
    "rnn": {"hidden"},
}


def make(kind, **kwargs):
    return {"rnn": tr.nn.RNN, "lstm": tr.nn.LSTM, "gru": tr.nn.GRU}[kind](3, 4, rng=0, **kwargs)


def run(module, x, **kwargs):
    output, state = module(x, **kwargs)
    h_n = state[0] if isinstance(state, tuple) else state
    return output, h_n, (output.sum() + h_n.sum())


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_every_op_is_scoped_by_layer_direction_step_and_gate(kind):
    T = 5
    module = make(kind, num_layers=2, bidirectional=True, batch_first=True)
    x = np.random.default_rng(0).standard_normal((2, T, 3))
    output, h_n, _ = run(module, x)
    graph = tr.trace(tr.stack([output.sum(), h_n.sum()]))
    scopes = set(graph.scopes())
    for layer in (0, 1):
        for direction in ("fwd", "rev"):
            for t in range(1, T + 1):
                for gate in GATES[kind]:
                    assert f"{kind}/l{layer}/{direction}/t{t}/{gate}" in scopes
    assert ("lstm/l1/rev/t4/input_gate" in scopes) == (kind == "lstm")
    pattern = re.compile(rf"^{kind}(/l[01](/(fwd|rev)(/t[1-5](/[a-z_]+)?)?)?)?$")
    strays = [(n.op, n.scope) for n in graph.nodes if not pattern.match(n.scope) and n.op not in ("sum", "stack")]
    assert not strays, strays[:3]
    # a parameter is read only where its layer and direction run
    for record in graph.parameters():
        suffix = re.match(r"\w+_l(\d)(_reverse)?$", record.name)
        where = f"{kind}/l{suffix.group(1)}/{'rev' if suffix.group(2) else 'fwd'}"
        used_in = {graph.nodes[i].scope for i in record.consumers}
        assert all(s == where or s.startswith(where + "/t") for s in used_in), (record.name, used_in)


def test_reverse_direction_runs_backwards_but_t_names_the_position():
    module = tr.nn.LSTM(3, 4, bidirectional=True, rng=0)
    output, _ = module(np.random.default_rng(1).standard_normal((4, 2, 3)))
    graph = tr.trace(output)
    first = {}
    for node in graph.nodes:
        first.setdefault(node.scope, node.index)
    assert first["lstm/l0/fwd/t1"] < first["lstm/l0/fwd/t4"]
    assert first["lstm/l0/rev/t4"] < first["lstm/l0/rev/t1"]
    # rev/t3 reads the third piece of the input projection, i.e. x_3
    for t in range(1, 5):
        add = next(n for n in graph.nodes if n.scope == f"lstm/l0/rev/t{t}" and n.op == "add")
        piece = graph.tensors[add.inputs[0]]
        assert graph.nodes[piece.producer].op == "split" and piece.tensor._index == t - 1


@pytest.mark.parametrize("kind, ops_per_step", [("rnn", 3), ("lstm", 12), ("gru", 15)])
def test_one_projection_per_layer_and_one_hidden_matmul_per_step(kind, ops_per_step):
    T = 6
    module = make(kind, num_layers=2)
    _, _, loss = run(module, np.random.default_rng(2).standard_normal((T, 2, 3)))
    graph = tr.trace(loss)
    for layer in (0, 1):
        outer = [n for n in graph.nodes if n.scope == f"{kind}/l{layer}/fwd"]
        assert [n.op for n in outer].count("matmul") == 1  # the whole sequence's input projection
        assert [n.op for n in outer].count("split") == 1  # cut into T steps at once
        for t in range(1, T + 1):
            step = [n for n in graph.nodes if n.scope.startswith(f"{kind}/l{layer}/fwd/t{t}")]
            assert [n.op for n in step].count("matmul") == 1
            assert len(step) == ops_per_step, [n.op for n in step]


def test_cells_scope_their_gates():
    h, c = tr.nn.LSTMCell(3, 4, rng=0)(np.ones((2, 3)))
    assert {"lstm_cell/input_gate", "lstm_cell/cell_state", "lstm_cell/hidden"} <= set(tr.trace(h).scopes())
    assert "gru_cell/reset_gate" in tr.trace(tr.nn.GRUCell(3, 4, rng=0)(np.ones(3))).scopes()
    assert "rnn_cell/hidden" in tr.trace(tr.nn.RNNCell(3, 4, rng=0)(np.ones(3))).scopes()
    y, _ = tr.nn.JordanCell(3, 4, 2, rng=0)(np.ones(3))
    assert {"jordan_cell/hidden", "jordan_cell/output"} <= set(tr.trace(y).scopes())
    out, _ = tr.nn.Jordan(3, 4, 2, rng=0)(np.ones((3, 1, 3)))
    assert "jordan/l0/fwd/t3/output" in tr.trace(out).scopes()


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_unbatched_input_equals_a_batch_of_one_without_the_batch_axis(kind):
    module = make(kind, num_layers=2, bidirectional=True, batch_first=True)
    x = np.random.default_rng(3).standard_normal((5, 3))
    output, h_n, _ = run(module, x)
    assert output.shape == (5, 8) and h_n.shape == (4, 4)
    batched_output, batched_h_n, _ = run(module, x[None])
    np.testing.assert_array_equal(output.data, batched_output.data[0])
    np.testing.assert_array_equal(h_n.data, batched_h_n.data[:, 0])


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru", "jordan"])
def test_lengths_give_what_each_sequence_gives_alone(kind):
    if kind == "jordan":
        module = tr.nn.Jordan(3, 4, 2, rng=0)
    else:
        module = make(kind, num_layers=2, bidirectional=True)
    T, lengths = 6, [2, 6, 4]
    x = np.random.default_rng(4).standard_normal((T, 3, 3))
    x[T - 1, 0] = 1e3  # padding must not leak into anything
    output, state = module(x, lengths=np.array(lengths))
    h_n = state[0] if isinstance(state, tuple) else state
    for n, length in enumerate(lengths):
        alone, alone_state = module(x[:length, n:n + 1])
        alone_h_n = alone_state[0] if isinstance(alone_state, tuple) else alone_state
        np.testing.assert_allclose(output.data[:length, n], alone.data[:, 0], rtol=0, atol=1e-14)
        np.testing.assert_array_equal(output.data[length:, n], 0.0)
        np.testing.assert_allclose(h_n.data[:, n], alone_h_n.data[:, 0], rtol=0, atol=1e-14)


def test_lengths_equal_to_t_are_the_plain_run():
    module = make("gru", bidirectional=True)
    x = np.random.default_rng(5).standard_normal((4, 2, 3))
    a, _, _ = run(module, x, lengths=[4, 4])
    b, _, _ = run(module, x)
    np.testing.assert_array_equal(a.data, b.data)


def test_padded_input_positions_get_zero_gradient():
    module = make("lstm", bidirectional=True)
    x = tr.Tensor(np.random.default_rng(6).standard_normal((5, 2, 3)), requires_grad=True)
    output, (h_n, c_n) = module(x, lengths=[3, 5])
    (output.sum() + h_n.sum() + c_n.sum()).backward()
    assert np.all(x.grad[3:, 0] == 0) and np.all(x.grad[:3, 0] != 0) and np.all(x.grad[:, 1] != 0)


def test_initial_state_is_used_and_gets_a_gradient():
    module = make("lstm", num_layers=2)
    x = np.random.default_rng(7).standard_normal((3, 2, 3))
    h0 = tr.Tensor(np.full((2, 2, 4), 0.5), requires_grad=True)
    c0 = tr.Tensor(np.zeros((2, 2, 4)), requires_grad=True)
    output, (h_n, _) = module(x, (h0, c0))
    assert not np.allclose(output.data, module(x)[0].data)
    h_n.sum().backward()
    assert h0.grad.shape == (2, 2, 4) and np.abs(h0.grad).sum() > 0


@pytest.mark.parametrize("call, error, words", [
    (lambda m: m(np.zeros((2, 3, 4, 3))), tr.ShapeError, ["(T, N, 3)", "(2, 3, 4, 3)"]),
    (lambda m: m(np.zeros((5, 2, 6))), tr.ShapeError, ["(T, N, 3)", "(5, 2, 6)"]),
    (lambda m: m(np.zeros((0, 2, 3))), tr.ShapeError, ["empty"]),
    (lambda m: m(np.zeros((5, 2, 3)), np.zeros((1, 2, 4))), tr.ShapeError, ["(2, 2, 4)", "(1, 2, 4)"]),
    (lambda m: m(np.zeros((5, 3)), np.zeros((2, 1, 4))), tr.ShapeError, ["unbatched", "(2, 4)"]),
    (lambda m: m(np.zeros((5, 2, 3)), (np.zeros((2, 2, 4)),) * 2), TypeError, ["only LSTM"]),
    (lambda m: m(np.zeros((5, 2, 3)), lengths=[5]), ValueError, ["expected 2 values"]),
    (lambda m: m(np.zeros((5, 2, 3)), lengths=[6, 1]), ValueError, ["between 1 and T = 5", "[6, 1]"]),
    (lambda m: m(np.zeros((5, 2, 3)), lengths=[0, 1]), ValueError, ["between 1 and T = 5"]),
    (lambda m: m(np.zeros((5, 2, 3)), lengths=[2.5, 1]), TypeError, ["integers"]),
    (lambda m: m(np.zeros((5, 3)), lengths=[5]), ValueError, ["batched"]),
])
def test_bad_input_gets_a_message_a_student_can_act_on(call, error, words):
    module = tr.nn.GRU(3, 4, num_layers=2, rng=0)
    with pytest.raises(error) as raised:
        call(module)
    for word in words:
        assert word in str(raised.value)
    assert str(raised.value).startswith("GRU")


def test_bad_arguments_and_lstm_state():
    with pytest.raises(ValueError, match="nonlinearity"):
        tr.nn.RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="hidden_size"):
        tr.nn.LSTM(3, 0)
    with pytest.raises(ValueError, match="dropout"):
        tr.nn.LSTM(3, 4, dropout=1.5)
    with pytest.raises(ValueError, match="reset"):
        tr.nn.GRUCell(3, 4, reset="middle")
    with pytest.raises(TypeError, match=r"pair \(h_0, c_0\)"):
        tr.nn.LSTM(3, 4)(np.zeros((2, 1, 3)), np.zeros((1, 1, 4)))
    with pytest.raises(tr.ShapeError, match=r"LSTMCell: expected input of shape \(N, 3\)"):
        tr.nn.LSTMCell(3, 4)(np.zeros((2, 5)))
    with pytest.raises(tr.ShapeError, match=r"c must have shape \(2, 4\)"):
        tr.nn.LSTMCell(3, 4)(np.zeros((2, 3)), (np.zeros((2, 4)), np.zeros((1, 4))))


def test_batch_first_only_swaps_the_layout():
    module = make("rnn", num_layers=2, bidirectional=True)
    x = np.random.default_rng(8).standard_normal((5, 2, 3))
    time_major, h_tm, _ = run(module, x)
    first = make("rnn", num_layers=2, bidirectional=True, batch_first=True)
    batch_major, h_bm, _ = run(first, x.transpose(1, 0, 2))
    np.testing.assert_array_equal(batch_major.data, time_major.data.transpose(1, 0, 2))
    np.testing.assert_array_equal(h_bm.data, h_tm.data)  # h_n stays (layers*D, N, H)


def test_float32_runs_in_float32():
    module = make("lstm")
    for p in module.parameters():
        p.data = p.data.astype(np.float32)
    output, (h_n, _) = module(np.ones((3, 2, 3), dtype=np.float32))
    assert output.dtype == np.float32 and h_n.dtype == np.float32
