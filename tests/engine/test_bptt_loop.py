"""tr.bptt_loop: the recorded graph written back as the BPTT loop, run, and located line by line."""

from __future__ import annotations

import ast
import re

import numpy as np
import pytest

import tinygrad_rnn as tr
from tests.readme_example import readme_rnn
from tinygrad_rnn.graph import trace
from tinygrad_rnn.loops import LoopError, highlight_html

CELLS = {"rnn": tr.nn.RNN, "lstm": tr.nn.LSTM, "gru": tr.nn.GRU}


def model_loss(cell: str, layers: int, bidirectional: bool, T: int, seed: int = 0):
    model = CELLS[cell](3, 4, num_layers=layers, bidirectional=bidirectional, rng=seed)
    x = tr.Tensor(np.random.default_rng(seed + 1).normal(size=(T, 2, 3)))
    out, _ = model(x)
    target = np.random.default_rng(seed + 2).normal(size=out.shape)
    return model, tr.F.mse_loss(out, target)


def loops_of(source: str) -> list[tuple[str, str]]:
    """(the comment naming the loop, the `for` line right after it), in order."""
    lines = source.split("\n")
    found = []
    for k, line in enumerate(lines):
        match = re.match(r"\s*# (\S+): (the forward|backpropagation through time)", line)
        if match:
            following = next(text.strip() for text in lines[k + 1:] if text.strip().startswith("for t in"))
            found.append((match.group(1) + " " + ("forward" if match.group(2) == "the forward" else "backward"),
                          following))
    return found


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_the_loop_is_backward_folded_by_time(cell, layers, bidirectional):
    sources = {}
    for T in (1, 3, 50):
        model, loss = model_loss(cell, layers, bidirectional, T)
        loop = tr.bptt_loop(loss)
        loss.backward()
        grads = loop.run()
        params = dict(model.named_parameters())
        assert sorted(grads) == sorted(params)  # every parameter, under its PyTorch name
        for name, p in params.items():
            np.testing.assert_allclose(grads[name], p.grad, rtol=0, atol=1e-12, err_msg=f"{cell} {name} T={T}")
        ast.parse(loop.source)
        sources[T] = loop.source
    # its length does not depend on T: only the line `T = ...` and the shapes' numbers differ
    assert len(sources[3].split("\n")) == len(sources[50].split("\n")) == len(sources[1].split("\n"))
    differing = [(a, b) for a, b in zip(sources[3].split("\n"), sources[50].split("\n")) if a != b]
    assert all(re.sub(r"\d+", "N", a) == re.sub(r"\d+", "N", b) for a, b in differing)
    assert "    T = 50" in sources[50]
    # one forward loop and one backward loop per layer and direction; the backward runs the forward reversed
    found = loops_of(sources[3])
    directions = ["fwd", "rev"] if bidirectional else ["fwd"]
    expected = {f"{cell}/l{layer}/{d} {part}" for layer in range(layers) for d in directions
                for part in ("forward", "backward")}
    assert {name for name, _ in found} == expected and len(found) == len(expected)
    for name, line in found:
        forward = dict(found)[name.replace("backward", "forward")]
        if name.endswith("backward"):
            reversed_ = "for t in reversed(range(1, T + 1)):" if "/fwd" in name else "for t in range(1, T + 1):"
            assert line == reversed_, (name, line)
            assert forward == ("for t in range(1, T + 1):" if "/fwd" in name else
                               "for t in reversed(range(1, T + 1)):")


def test_the_source_runs_without_the_engine():
    """run() executes the text: the source imports only NumPy, and exec-ing it by hand gives the gradients."""
    model, loss = model_loss("lstm", 1, False, 4)
    loop = tr.bptt_loop(loss)
    assert "tinygrad" not in loop.source and "import numpy as np" in loop.source
    namespace: dict = {}
    exec(loop.source, namespace)
    assert sorted(loop.params) == sorted(name for name, _ in model.named_parameters())
    by_hand = namespace["training_step"](dict(loop.inputs), dict(loop.params))
    loss.backward()
    for name, p in model.named_parameters():
        np.testing.assert_allclose(by_hand[name], p.grad, rtol=0, atol=1e-12)
    # an edit to the text changes what run() returns (it is the text that runs, not the engine)
    loop.source = loop.source.replace("dW_hh += ", "dW_hh -= ")
    assert not np.allclose(loop.run()["weight_hh_l0"], model.weight_hh_l0.grad)


def test_names_follow_the_notes():
    _, lstm = model_loss("lstm", 1, False, 3)
    source = tr.bptt_loop(lstm).source
    for line in ("i[t] = sigmoid(s_i[t])", "f[t] = sigmoid(s_f[t])", "g[t] = np.tanh(s_g[t])",
                 "o[t] = sigmoid(s_o[t])", "c[t] = fc[t] + ig[t]", "h[t] = o[t] * tanh_c[t]",
                 "hW[t] = h[t - 1] @ W_hh.T", "dh = dh_out[t - 1] + dh_next", "dW_hh += (h[t - 1].T @ dhW).T",
                 "dh_next = dhW @ W_hh", "dc_next = dfc * f[t]"):
        assert line in source, line
    assert 'W_hh = params["weight_hh_l0"]  # weight_hh_l0' in source  # the notes' name, PyTorch's in a comment
    _, gru = model_loss("gru", 1, False, 3)
    source = tr.bptt_loop(gru).source
    assert "u[t] = sigmoid(s_u[t])" in source and "r[t] = sigmoid(s_r[t])" in source
    assert "n[t] = np.tanh(s_n[t])" in source
    for source in (tr.bptt_loop(lstm).source, tr.bptt_loop(gru).source):
        names = {node.id for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Name)}
        assert not names & {"z", "a", "b"}  # the letters of the recurrence z_k = a_k + b_k z_{k-1}
        assert not re.search(r"\bv\d+\b|#\d+", source)  # no replay slots, no engine ids


def test_two_layers_are_named_by_layer_and_direction():
    _, loss = model_loss("rnn", 2, True, 3)
    source = tr.bptt_loop(loss).source
    for name in ("W_hh_l0", "W_hh_l0_reverse", "W_hh_l1", "W_hh_l1_reverse", "dh_next_l1_reverse"):
        assert re.search(rf"\b{name}\b", source), name


def test_a_hand_written_loop_under_time_scopes():
    rng = np.random.default_rng(0)
    W_xh = tr.Parameter(rng.normal(size=(3, 4)) * 0.5, name="W_xh")
    W_hh = tr.Parameter(rng.normal(size=(4, 4)) * 0.5, name="W_hh")
    W_hy = tr.Parameter(rng.normal(size=(4, 2)) * 0.5, name="W_hy")
    xs = rng.normal(size=(6, 1, 3))
    h = tr.Tensor(np.zeros((1, 4)))
    loss = 0
    for t in range(1, 7):
        with tr.scope(f"t{t}"):
            h = tr.tanh(tr.Tensor(xs[t - 1]) @ W_xh + h @ W_hh)
            y = h @ W_hy
            loss = loss + (y * y).sum()
    loop = tr.bptt_loop(loss)
    loss.backward()
    grads = loop.run()
    for name, p in [("W_xh", W_xh), ("W_hh", W_hh), ("W_hy", W_hy)]:
        np.testing.assert_allclose(grads[name], p.grad, rtol=0, atol=1e-12)
    assert "h = {0: h0}" in loop.source and "loss[t] = loss[t - 1] + " in loop.source
    assert "for t in reversed(range(1, T + 1)):" in loop.source and "dh_next = " in loop.source


def test_a_graph_without_time_steps_gets_a_clear_error():
    w = tr.Parameter(np.ones(3), name="w")
    with pytest.raises(LoopError, match=r"no time steps.*tr\.scope\(f\"t\{t\}\"\)"):
        tr.bptt_loop((w * w).sum())
    linear = tr.nn.Linear(3, 2)
    with pytest.raises(LoopError, match="t1, t2"):
        tr.bptt_loop(linear(tr.Tensor(np.ones((1, 3)))).sum())
    with pytest.raises(TypeError, match="loss Tensor"):
        tr.bptt_loop(np.ones(3))


def test_steps_that_differ_are_refused_with_the_step_named():
    w = tr.Parameter(np.full((2, 2), 0.5), name="W")
    h = tr.Tensor(np.ones((1, 2)))
    for t in range(1, 4):
        with tr.scope(f"t{t}"):
            h = tr.tanh(h @ w) if t != 2 else tr.sigmoid(h @ w)
    with pytest.raises(LoopError, match=r"step t\d+ .*different ops"):
        tr.bptt_loop(h.sum())


def test_every_backward_node_of_a_step_has_its_line_and_t():
    """locate(node) -> (line, t): the line is in the backward loop and runs that node's rule at that t."""
    _, loss = model_loss("lstm", 1, False, 3)
    loop = tr.bptt_loop(loss)
    lines = loop.source.split("\n")
    start = next(k for k, line in enumerate(lines) if "backpropagation through time, the forward loop reversed" in line)
    for rec in trace(loss).nodes:
        parts = rec.scope.split("/")
        steps = [int(p[1:]) for p in parts if re.fullmatch(r"t\d+", p)]
        where = loop.locate(rec.node)
        if not steps:
            continue
        line, t = where
        assert t == steps[0] and line - 1 > start
        text = lines[line - 1]
        if rec.op == "sigmoid" and parts[-1] == "forget_gate":
            assert text.strip() == "ds_f = df * f[t] * (1 - f[t])"
        if rec.op == "matmul":
            assert "W_hh" in text


def test_repr_html_highlights_the_code():
    _, loss = model_loss("rnn", 1, False, 2)
    page = tr.bptt_loop(loss)._repr_html_()
    assert '<span class="tgr-k">for</span>' in page and '<span class="tgr-c"># ---- forward ----</span>' in page
    assert not re.search(r"<style>\s*[a-z.#]", page)  # its styles are scoped to this block of code
    assert page.count('class="tgr-line"') == len(tr.bptt_loop(loss).source.split("\n"))
    marked = highlight_html("x = '<b>'\ny = 1", current=2)
    assert "&lt;b&gt;" in marked and 'data-line="2" style="background' in marked


@pytest.mark.parametrize("make", [
    lambda: tr.nn.GRU(3, 4, reset="before", rng=0),
    lambda: tr.nn.GRU(3, 4, num_layers=2, bias=False, rng=0),
    lambda: tr.nn.LSTM(3, 4, peephole=True, rng=0),
    lambda: tr.nn.RNN(3, 4, nonlinearity="relu", rng=0),
    lambda: tr.nn.Jordan(3, 4, 2, rng=0),
], ids=["gru-reset-before", "gru-no-bias", "lstm-peephole", "rnn-relu", "jordan"])
def test_the_variants_fold_too(make):
    model = make()
    out = model(tr.Tensor(np.random.default_rng(1).normal(size=(4, 2, 3))))[0]
    loss = tr.F.mse_loss(out, np.random.default_rng(2).normal(size=out.shape))
    loop = tr.bptt_loop(loss)
    loss.backward()
    grads = loop.run()
    for name, p in model.named_parameters():
        np.testing.assert_allclose(grads[name], p.grad, rtol=0, atol=1e-12, err_msg=name)


def test_a_trainable_initial_state_gets_its_gradient_and_lengths_are_refused_clearly():
    model = tr.nn.RNN(3, 4, rng=0)
    h0 = tr.Tensor(np.random.default_rng(3).normal(size=(1, 2, 4)), requires_grad=True)
    out, _ = model(tr.Tensor(np.random.default_rng(1).normal(size=(4, 2, 3))), h0)
    loss = (out * out).mean()
    loop = tr.bptt_loop(loss)
    loss.backward()
    # what dh_next holds after the last iteration is dL/dh_0: it flows on to the tensor h_0 came from
    assert "= dh_next\n" in loop.source
    np.testing.assert_allclose(loop.run()["param"], h0.grad, rtol=0, atol=1e-12)
    with pytest.raises(LoopError, match="lengths="):
        out, _ = model(tr.Tensor(np.ones((4, 2, 3))), lengths=[4, 2])
        tr.bptt_loop(out.sum())


def test_a_char_model_with_embedding_and_cross_entropy():
    """Embedding before the loop, cross-entropy after it: both written out, keyed by the dotted names."""

    class CharModel(tr.nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = tr.nn.Embedding(10, 3, rng=0)
            self.rnn = tr.nn.GRU(3, 4, rng=0)
            self.fc = tr.nn.Linear(4, 10, rng=0)

        def forward(self, ids):
            out, _ = self.rnn(self.emb(ids))
            return self.fc(out.reshape(-1, 4))

    model, rng = CharModel(), np.random.default_rng(0)
    loss = tr.F.cross_entropy(model(rng.integers(0, 10, size=(6, 2))), rng.integers(0, 10, size=12))
    loop = tr.bptt_loop(loss)
    loss.backward()
    grads = loop.run()
    assert sorted(grads) == sorted(name for name, _ in model.named_parameters())
    for name, p in model.named_parameters():
        np.testing.assert_allclose(grads[name], p.grad, rtol=0, atol=1e-12, err_msg=name)
    assert 'W_hh = params["rnn.weight_hh_l0"]  # rnn.weight_hh_l0' in loop.source
    assert 'ids = inputs["ids"]' in loop.source and "scatter_add(" in loop.source


def test_a_hand_written_loop_that_runs_backwards_in_time():
    """Steps recorded t = T..1 (a reverse direction written by hand): the backward loop runs t = 1..T."""
    rng = np.random.default_rng(0)
    W_xh = tr.Parameter(rng.normal(size=(3, 4)) * 0.5, name="W_xh")
    W_hh = tr.Parameter(rng.normal(size=(4, 4)) * 0.5, name="W_hh")
    xs = tr.split(tr.Tensor(rng.normal(size=(5, 1, 3))), 1, axis=0)
    h, outputs = tr.Tensor(np.zeros((1, 4))), []
    for t in range(5, 0, -1):
        with tr.scope(f"t{t}"):
            h = tr.tanh(xs[t - 1].reshape(1, 3) @ W_xh + h @ W_hh)
        outputs.append(h)
    loss = (tr.stack(outputs) ** 2).sum()
    loop = tr.bptt_loop(loss)
    loss.backward()
    grads = loop.run()
    for name, p in [("W_xh", W_xh), ("W_hh", W_hh)]:
        np.testing.assert_allclose(grads[name], p.grad, rtol=0, atol=1e-12)
    source = loop.source
    assert "for t in reversed(range(1, T + 1)):\n        xsW[t]" in source and "hW[t] = h[t + 1] @ W_hh" in source
    assert "    for t in range(1, T + 1):\n        dh = dh_out[T - t] + dh_next" in source


def test_a_loop_over_lstm_cell_with_a_loss_summed_inside_the_steps():
    cell, head = tr.nn.LSTMCell(3, 4, rng=0), tr.nn.Linear(4, 1, rng=0)
    xs = np.random.default_rng(0).normal(size=(6, 2, 3))
    state, loss = None, 0
    for t in range(1, 7):
        with tr.scope(f"t{t}"):
            state = cell(xs[t - 1], state)
            loss = loss + (head(state[0]) ** 2).mean()
    loop = tr.bptt_loop(loss)
    loss.backward()
    grads = loop.run()
    for model in (cell, head):
        for name, p in model.named_parameters():
            np.testing.assert_allclose(grads[name], p.grad, rtol=0, atol=1e-12, err_msg=name)
    for line in ("hW[t] = h[t - 1] @ W_hh_T[t]", "c[t] = fc[t] + ig[t]", "loss[t] = loss[t - 1] + ",
                 "dc_next = dfc * f[t]"):
        assert line in loop.source, line


def test_work_between_the_steps_outside_their_scopes_is_refused_with_what_to_do():
    w = tr.Parameter(np.full((2, 2), 0.5), name="W")
    h = tr.Tensor(np.ones((1, 2)))
    for t in range(1, 4):
        with tr.scope(f"t{t}"):
            h = tr.tanh(h @ w)
        h = h * 0.9  # outside the step's scope, yet part of the recurrence
    with pytest.raises(LoopError, match=r"'matmul'.*different tensor at every step.*tr\.scope"):
        tr.bptt_loop(h.sum())


def test_the_readme_engine_example_with_a_1d_state_gets_its_loop():
    # README "The engine in one screen": W_hh @ h with a 1-D h is one matmul node per step
    loss, W_hh = readme_rnn()
    loop = tr.bptt_loop(loss)
    loss.backward()
    np.testing.assert_allclose(loop.run()["W_hh"], W_hh.grad, rtol=0, atol=1e-12)
    assert "W_hh @ h[t - 1]" in loop.source  # the product the code wrote, in the forward loop
    assert "np.outer(" in loop.source and "W_hh.T @ " in loop.source  # dL/dW_hh and the carried dL/dh


@pytest.mark.parametrize("side", ["left", "right", "batched"])
def test_a_1d_operand_on_either_side_of_matmul(side):
    rng = np.random.default_rng(1)
    W_hh = tr.Parameter(rng.normal(size=(4, 4)) * 0.5, name="W_hh")
    w_y = tr.Parameter(rng.normal(size=4), name="w_y")
    W_b = tr.Parameter(rng.normal(size=(2, 4, 4)) * 0.5, name="W_b")
    xs = rng.normal(size=(5, 4))
    h0 = tr.Tensor(np.full(4, 0.1), requires_grad=True, name="h0")
    h, loss = h0, 0
    for t in range(1, 6):
        with tr.scope(f"t{t}"):
            x = tr.Tensor(xs[t - 1])
            if side == "left":  # h @ W: the 1-D h is a row
                h = tr.tanh(h @ W_hh + x)
            elif side == "right":  # W @ h: the 1-D h is a column
                h = tr.tanh(W_hh @ h + x)
            else:  # a 1-D h against a stack of matrices: (4,) @ (2, 4, 4) -> (2, 4), summed back to (4,)
                h = tr.tanh((h @ W_b).sum(axis=0) + x)
            loss = loss + (h @ w_y) * (h @ w_y)  # a 1-D @ 1-D dot product: a scalar
    loop = tr.bptt_loop(loss)
    loss.backward()
    grads = loop.run()
    used = [("W_b", W_b)] if side == "batched" else [("W_hh", W_hh)]
    assert sorted(grads) == sorted([name for name, _ in used] + ["h0", "w_y"])
    for name, p in used + [("w_y", w_y), ("h0", h0)]:
        np.testing.assert_allclose(grads[name], p.grad, rtol=0, atol=1e-12, err_msg=f"{side} {name}")
