"""A PyTorch user's habits: model.float() / .double() / .half() / .to(dtype) / .requires_grad_(flag)."""

import numpy as np
import pytest

import tinygrad_rnn as tr
from tinygrad_rnn.nn import Module


class Tagger(Module):
    """A nested model: a stacked bidirectional LSTM, a GRU on top of it, a linear head."""

    def __init__(self):
        super().__init__()
        self.encoder = tr.nn.LSTM(3, 4, num_layers=2, bidirectional=True, rng=0)
        self.decoder = tr.nn.GRU(8, 5, num_layers=2, bidirectional=True, rng=1)
        self.head = tr.nn.Linear(10, 2, rng=2)

    def forward(self, x):
        out, _ = self.encoder(x)
        out, _ = self.decoder(out)
        return self.head(out)


def _grads(model):
    return {name: p.grad.copy() for name, p in model.named_parameters()}


@pytest.mark.parametrize("convert, dtype", [(lambda m: m.float(), np.float32), (lambda m: m.half(), np.float16),
                                            (lambda m: m.to(np.float32), np.float32),
                                            (lambda m: m.to("float32"), np.float32),
                                            (lambda m: m.to(dtype="float16"), np.float16),
                                            (lambda m: m.to("float"), np.float32),  # torch.float, not NumPy's
                                            (lambda m: m.to("double"), np.float64),
                                            (lambda m: m.to("cpu", np.float32), np.float32),
                                            (lambda m: m.to(tr.Tensor(np.zeros(1, np.float32))), np.float32)])
def test_every_parameter_of_every_submodule_is_converted_in_place(convert, dtype):
    model = Tagger()
    before = dict(model.named_parameters())
    assert len(before) == 16 + 16 + 2 and {p.dtype for p in before.values()} == {np.dtype(np.float64)}
    assert convert(model) is model  # returns the module, as PyTorch does
    after = dict(model.named_parameters())
    assert all(after[name] is before[name] for name in before)  # same Parameter objects: an optimizer still works
    assert {name: p.dtype for name, p in after.items()} == {name: np.dtype(dtype) for name in before}
    assert model.double() is model and {p.dtype for p in model.parameters()} == {np.dtype(np.float64)}


def test_the_float32_model_takes_float32_input_and_matches_float64_to_float32_precision():
    x = np.random.default_rng(0).standard_normal((6, 2, 3))
    model = Tagger()
    out64 = model(tr.Tensor(x))
    out64.sum().backward()
    grads64 = _grads(model)
    with pytest.raises(TypeError, match="model.float()"):  # the error a PyTorch user meets says what to type
        model(tr.Tensor(x.astype(np.float32)))
    model.float().zero_grad()
    out32 = model(tr.Tensor(x.astype(np.float32)))
    assert out32.dtype == np.float32
    np.testing.assert_allclose(out32.data, out64.data, rtol=0, atol=1e-5)
    out32.sum().backward()
    for name, grad in _grads(model).items():
        assert grad.dtype == np.float32, name
        np.testing.assert_allclose(grad, grads64[name], rtol=1e-4, atol=1e-5, err_msg=name)


def test_a_gradient_already_there_is_converted_with_its_parameter():
    model = tr.nn.RNN(2, 3, rng=0)
    model(tr.Tensor(np.ones((2, 1, 2))))[0].sum().backward()
    kept = _grads(model)
    model.float()
    for name, p in model.named_parameters():
        assert p.grad.dtype == np.float32 and np.allclose(p.grad, kept[name], atol=1e-6)


def test_requires_grad_false_freezes_every_parameter_and_backward_leaves_them_alone():
    model = Tagger()
    assert model.encoder.requires_grad_(False) is model.encoder
    model(tr.Tensor(np.ones((2, 1, 3)))).sum().backward()
    assert all(p.grad is None and not p.requires_grad for p in model.encoder.parameters())
    assert all(p.grad is not None for p in model.decoder.parameters())
    model.requires_grad_()
    assert all(p.requires_grad for p in model.parameters())


@pytest.mark.parametrize("args, error, match", [(("int64",), TypeError, "only converts to a float dtype"),
                                                ((np.complex128,), TypeError, "float dtype"),
                                                (("cuda",), ValueError, "no device 'cuda'")])
def test_to_refuses_what_it_cannot_do_and_says_why(args, error, match):
    model = tr.nn.GRU(2, 3, rng=0)
    with pytest.raises(error, match=match):
        model.to(*args)
    assert {p.dtype for p in model.parameters()} == {np.dtype(np.float64)}  # nothing was changed
