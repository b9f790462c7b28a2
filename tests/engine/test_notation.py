"""The notation layer: one display name per tensor, checked against names written out by hand from the notes."""

import subprocess
import sys

import numpy as np

import tinygrad_rnn as tr
from tinygrad_rnn.cli.step import builtin_model
from tinygrad_rnn.notation import names_of, plain

ENGINE_ID = r"\w+#\d+"


def named(loss):
    graph = tr.trace(loss)
    notation = names_of(graph)
    return graph, notation, {n.index: [notation.name(t) for t in n.outputs] for n in graph.nodes}


def by_scope(graph, notation, scope):
    return [notation.name(t) for n in graph.nodes if n.scope == scope for t in n.outputs]


def test_lstm_two_layers_bidirectional_names_every_tensor_as_the_notes_do():
    m = tr.nn.LSTM(2, 2, num_layers=2, bidirectional=True, rng=np.random.default_rng(0))
    out, _ = m(tr.Tensor(np.ones((3, 1, 2)), name="x"))
    graph, notation, _ = named(out.sum())
    assert by_scope(graph, notation, "lstm/l0/fwd/t2/forget_gate") == ["f⁽¹⁾₂"]
    assert by_scope(graph, notation, "lstm/l0/fwd/t2/cell_state") == ["f⁽¹⁾₂⊙c⁽¹⁾₁", "i⁽¹⁾₂⊙g⁽¹⁾₂", "c⁽¹⁾₂"]
    assert by_scope(graph, notation, "lstm/l0/fwd/t2/hidden") == ["tanh(c⁽¹⁾₂)", "h⁽¹⁾₂"]
    assert by_scope(graph, notation, "lstm/l1/rev/t3/output_gate") == ["←o⁽²⁾₃"]
    assert by_scope(graph, notation, "lstm/l1/rev/t1/hidden")[-1] == "←h⁽²⁾₁"
    # the stacked pre-activation s, cut into the four gates' pre-activations, in PyTorch's order i, f, g, o
    assert by_scope(graph, notation, "lstm/l1/fwd/t3") == ["W_hh⁽²⁾ h⁽²⁾₂", "s⁽²⁾₃", "sⁱ⁽²⁾₃", "sᶠ⁽²⁾₃", "sᵍ⁽²⁾₃",
                                                          "sᵒ⁽²⁾₃"]
    params = {notation.torch_name(p.id): notation.name(p.id) for p in graph.parameters()}
    assert params["weight_hh_l0"] == "W_hh⁽¹⁾" and params["bias_ih_l1_reverse"] == "←b_ih⁽²⁾"
    names = [notation.name(t) for t, rec in graph.tensors.items() if rec.kind != "constant"]
    assert len(names) == len(set(names))  # one tensor, one name; one name, one tensor
    assert not any("#" in n for n in names)


def test_gru_update_gate_is_u_never_z_and_the_projections_read_as_in_pytorch_docs():
    graph, notation, _ = named(builtin_model("gru", 2))
    assert by_scope(graph, notation, "gru/l0/fwd/t2/update_gate") == ["sᵘ₂", "u₂"]
    assert by_scope(graph, notation, "gru/l0/fwd/t2/reset_gate") == ["sʳ₂", "r₂"]
    assert by_scope(graph, notation, "gru/l0/fwd/t2/new_gate") == ["r₂⊙(W_hn h₁+b_hn)", "sⁿ₂", "n₂"]
    assert by_scope(graph, notation, "gru/l0/fwd/t2/hidden") == ["1−u₂", "(1−u₂)⊙n₂", "u₂⊙h₁", "h₂"]
    assert by_scope(graph, notation, "gru/l0/fwd/t1") == ["W_ir x₁+b_ir", "W_iu x₁+b_iu", "W_in x₁+b_in", "W_hh h₀",
                                                         "W_hh h₀+b", "W_hr h₀+b_hr", "W_hu h₀+b_hu", "W_hn h₀+b_hn"]
    assert not any("z" in notation.name(t) for t in graph.tensors)


def test_elman_rnn_pre_activation_is_s_and_a_user_loop_keeps_its_names_and_falls_back_to_op_and_step():
    graph, notation, _ = named(builtin_model("rnn", 2))
    assert by_scope(graph, notation, "rnn/l0/fwd/t2/hidden") == ["W_hh h₁", "s₂", "h₂"]
    W = tr.Parameter(np.eye(2) * 0.5, name="W_hh")
    h = tr.Tensor(np.ones((1, 2)), name="h0")
    xs = [tr.Tensor(np.full((1, 2), 0.1 * t), name=f"x{t}") for t in range(1, 4)]
    for t, x in enumerate(xs, start=1):
        with tr.scope(f"t{t}"):
            h = (x + h @ W).tanh()
    graph, notation, names = named(h.sum())
    # the one tensor each step of the loop hands on is its state h_t = tanh(s_t); the rest read as expressions
    assert [names[i] for i in range(9)] == [["h₀ @ W_hh"], ["s₁"], ["h₁"], ["h₁ @ W_hh"], ["s₂"],
                                            ["h₂"], ["h₂ @ W_hh"], ["s₃"], ["h₃"]]
    assert plain("tanh₂") == "tanh2" and plain("sᶠ⁽²⁾₃") == "sf23"
    assert notation.find("x1") == notation.find("x₁") != []
    assert notation.debug_id(graph.nodes[2].outputs[0]) == "tanh#2"  # the engine id, as a debugging detail
    alpha, beta, gamma = (tr.Tensor(np.ones(2), requires_grad=True, name=n) for n in ("alpha", "beta", "gamma"))
    with tr.scope("t3"):
        u = alpha * beta + gamma * alpha
        v = u.exp()
    graph, notation, names = named(u.sum() + v.sum())
    # alpha⊙beta+gamma⊙alpha is too long for a name: the op and its time step
    assert sorted(by_scope(graph, notation, "t3")) == sorted(["alpha⊙beta", "gamma⊙alpha", "add₃", "exp(add₃)"])
    user = tr.Tensor(np.ones(2), requires_grad=True) * 2.0
    user.name = "my state"
    assert named(user.sum())[2][0] == ["my state"]  # name= wins


def test_importing_the_notation_layer_pulls_in_no_viz():
    code = "import sys, tinygrad_rnn.notation; assert 'viz' not in sys.modules and 'sympy' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_gradient_in_pieces_is_written_plus_equals_and_a_whole_one_equals():
    from tinygrad_rnn.stepper import BackwardStepper

    a = tr.Tensor(np.array([1.0, 2.0]), requires_grad=True, name="a")
    b = a.tanh()
    events = BackwardStepper((b * b).sum()).run()  # b is read twice by one node: two pieces of dL/db
    (total, mul, tanh) = events
    assert str(total.sent[0].rule).startswith("dL/d(tanh(a)⊙tanh(a)) = dL/dsum · 1 = ")  # all of it
    assert [str(s.rule).split(" = ")[0] for s in mul.sent] == ["dL/dtanh(a) += dL/d(tanh(a)⊙tanh(a)) ⊙ tanh(a)"] * 2
    assert str(tanh.sent[0].rule).startswith("dL/da += dL/dtanh(a) ⊙ (1 − tanh(a)²) = ")  # a leaf: added into
