"""Additive attention in the encoder-decoder: weights that sum to 1, exact gradients, and a shorter path back."""

import json

import numpy as np

import tinygrad_rnn as tr
from tinygrad_rnn import cli, nn
from tinygrad_rnn.stories import seq2seq
from tinygrad_rnn.stories.tasks import DigitVocab, digit_task


def test_attention_weights_are_a_distribution_over_encoder_steps():
    nn.manual_seed(0)
    attention = seq2seq.additive_attention(5, 3, 4)
    rng = np.random.default_rng(0)
    keys = tr.Tensor(rng.standard_normal((6, 2, 4)))
    context, alpha = attention(tr.Tensor(rng.standard_normal((2, 3))), keys)
    assert alpha.shape == (6, 2) and context.shape == (2, 4)
    assert np.allclose(alpha.data.sum(axis=0), 1) and np.all(alpha.data > 0)
    assert np.allclose(context.data, (alpha.data[:, :, None] * keys.data).sum(axis=0))


def test_attention_gradchecks_in_query_keys_and_weights():
    nn.manual_seed(1)
    attention = seq2seq.additive_attention(3, 2, 4)
    rng = np.random.default_rng(1)
    query = tr.Tensor(rng.standard_normal((2, 2)), requires_grad=True)
    keys = tr.Tensor(rng.standard_normal((5, 2, 4)), requires_grad=True)
    params = list(attention.parameters())

    def context(q, k, *_weights):
        return attention(q, k)[0]

    assert tr.gradcheck(context, [query, keys, *params])


def test_the_attention_model_gradchecks_end_to_end():
    nn.manual_seed(2)
    model = seq2seq.build("gru", len(DigitVocab()), 2, 2, attention=True, bidirectional=True)
    data = digit_task("add", 2, 1, np.random.default_rng(0))

    def loss(*_params):
        logits = model(data.source, data.decoder_input)
        return tr.F.cross_entropy(logits.reshape(-1, len(DigitVocab())), data.decoder_target.reshape(-1))

    assert tr.gradcheck(loss, list(model.parameters()), atol=1e-5)


def test_greedy_decoding_with_attention_matches_teacher_forcing_on_its_own_output():
    nn.manual_seed(3)
    model = seq2seq.build("lstm", len(DigitVocab()), 4, 8, attention=True)
    data = digit_task("reverse", 5, 3, np.random.default_rng(0))
    weights: list = []
    decoded = seq2seq.greedy_decode(model, data.source, 4, weights)
    start = np.full((1, 5), DigitVocab.start)
    logits = model(data.source, np.concatenate([start, decoded[:-1]]))
    assert np.array_equal(logits.data.argmax(axis=-1), decoded)
    assert len(weights) == 4 and all(np.allclose(w.sum(axis=0), 1) for w in weights)


def test_attention_gives_the_loss_a_short_path_to_the_first_encoder_step():
    """Without attention, dL/dx_1 reaches the first input only through all S encoder steps;
    with attention, the context reads h_1 directly, so much more of the gradient arrives."""
    _, _, plain = seq2seq.gradient_path(attention=False)
    _, _, attended = seq2seq.gradient_path(attention=True)
    assert attended > 5 * plain


def test_seq2seq_attention_command_learns_and_draws_the_weights(tmp_path, capsys):
    assert cli.main(["train", "seq2seq", "--task", "reverse", "--digits", "3", "--hidden", "16", "--train-size",
                     "300", "--test-size", "50", "--epochs", "3", "--attention", "--bidirectional", "--out",
                     str(tmp_path), "--quiet"]) == 0
    r = json.loads((tmp_path / "seq2seq_reverse_attention.json").read_text())
    assert r["attention"] and r["bidirectional"] and r["loss"][-1] < r["loss"][0]
    weights = np.array(r["weights"])
    assert weights.shape == (4, 3) and np.allclose(weights.sum(axis=1), 1)
    svg = (tmp_path / "seq2seq_reverse_attention_weights.svg").read_text()
    assert "Attention weights" in svg and "&lt;/s&gt;" in svg
    out = capsys.readouterr().out
    assert "||dL/dx_1||, in a 6-step tanh encoder: no attention" in out
    for name in ("no_attention", "attention"):
        assert "t = 6" in (tmp_path / f"seq2seq_gradient_path_{name}.svg").read_text()
