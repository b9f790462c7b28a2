"""Run tr.nn on the PyTorch fixtures and measure the differences (used by test_nn_parity.py).

    PYTHONPATH=. /work/venv/bin/python tests/nn/nn_parity.py

prints the largest absolute difference over the whole grid, per quantity.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

import tinygrad_rnn as tr

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "torch_recurrent.npz"
SEQUENCES = {"rnn_tanh": tr.nn.RNN, "rnn_relu": tr.nn.RNN, "lstm": tr.nn.LSTM, "gru": tr.nn.GRU}
CELLS = {"rnn_tanh": tr.nn.RNNCell, "rnn_relu": tr.nn.RNNCell, "lstm": tr.nn.LSTMCell, "gru": tr.nn.GRUCell}


def load_cases() -> dict[str, tuple[dict, dict[str, np.ndarray]]]:
    """{case name: (configuration, {array name: array})} from the packed fixture file."""
    cases = {}
    with np.load(FIXTURES, allow_pickle=False) as data:
        for name in data.files:
            if name.endswith(".json"):
                continue
            described = json.loads(str(data[name + ".json"]))
            vector = data[name]
            arrays = {key: vector[offset:offset + int(np.prod(shape))].reshape(shape)
                      for key, shape, offset in described["arrays"]}
            cases[name] = (described["config"], arrays)
    return cases


def _sizes(arrays: dict[str, np.ndarray], suffix: str) -> tuple[int, int]:
    """(input_size, hidden_size) read off the weight shapes."""
    return arrays[f"param/weight_ih{suffix}"].shape[1], arrays[f"param/weight_hh{suffix}"].shape[1]


def _leaf(array: np.ndarray) -> tr.Tensor:
    return tr.Tensor(array.copy(), requires_grad=True)


def run_sequence(config: dict, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    kind = config["kind"]
    input_size, hidden_size = _sizes(arrays, "_l0")
    extra = {"nonlinearity": kind.split("_")[1]} if kind.startswith("rnn") else {}
    module = SEQUENCES[kind](input_size, hidden_size, num_layers=config["num_layers"], bias=config["bias"],
                             batch_first=config["batch_first"], bidirectional=config["bidirectional"],
                             rng=0, **extra)
    module.load_state_dict({k[len("param/"):]: v for k, v in arrays.items() if k.startswith("param/")})
    x, h0 = _leaf(arrays["x"]), _leaf(arrays["h0"])
    c0 = _leaf(arrays["c0"]) if kind == "lstm" else None
    lengths = arrays["lengths"].astype(int) if "lengths" in arrays else None
    output, state = module(x, (h0, c0) if kind == "lstm" else h0, lengths=lengths)
    h_n, c_n = state if kind == "lstm" else (state, None)
    loss = (output * arrays["R"]).sum() + (h_n * arrays["S"]).sum()
    if c_n is not None:
        loss = loss + (c_n * arrays["U"]).sum()
    loss.backward()
    results = {"output": output.data, "h_n": h_n.data, "grad/x": x.grad, "grad/h0": h0.grad}
    if kind == "lstm":
        results.update({"c_n": c_n.data, "grad/c0": c0.grad})
    results.update({f"grad/{name}": p.grad for name, p in module.named_parameters()})
    return results


def run_cell(config: dict, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    kind = config["kind"]
    input_size, hidden_size = _sizes(arrays, "")
    extra = {"nonlinearity": kind.split("_")[1]} if kind.startswith("rnn") else {}
    cell = CELLS[kind](input_size, hidden_size, bias=config["bias"], rng=0, **extra)
    cell.load_state_dict({k[len("param/"):]: v for k, v in arrays.items() if k.startswith("param/")})
    xs, h0, c0 = _leaf(arrays["xs"]), _leaf(arrays["h0"]), _leaf(arrays["c0"])
    weights = arrays["weights"]
    state = (h0, c0) if kind == "lstm" else h0
    results, loss = {}, 0.0
    for step in (1, 2):
        state = cell(xs[step - 1], state)
        h, c = state if kind == "lstm" else (state, None)
        loss = loss + (h * weights[step - 1]).sum()
        results[f"h{step}"] = h.data
        if c is not None:
            loss = loss + (c * weights[step + 1]).sum()
            results[f"c{step}"] = c.data
    loss.backward()
    results.update({"grad/xs": xs.grad, "grad/h0": h0.grad})
    if kind == "lstm":
        results["grad/c0"] = c0.grad
    results.update({f"grad/{name}": p.grad for name, p in cell.named_parameters()})
    return results


EXPECTED = {"output", "h_n", "c_n", "h1", "h2", "c1", "c2"}


def differences(config: dict, arrays: dict[str, np.ndarray]) -> dict[str, float]:
    """max |ours - PyTorch| for every output and gradient the fixture holds."""
    run = run_cell if config["module"] == "cell" else run_sequence
    results = run(config, arrays)
    checked = [k for k in arrays if k in EXPECTED or k.startswith("grad/")]
    missing = [k for k in checked if results.get(k) is None]
    if missing:
        raise AssertionError(f"no value computed for {missing}")
    if set(results) != set(checked):
        raise AssertionError(f"computed {sorted(results)} but the fixture has {sorted(checked)}")
    return {k: float(np.max(np.abs(results[k] - arrays[k]))) for k in checked}


def main() -> None:
    worst: dict[str, tuple[float, str]] = {}
    cases = load_cases()
    for name, (config, arrays) in cases.items():
        for key, diff in differences(config, arrays).items():
            group = "grad/<param>" if key.startswith("grad/") and key[5:] not in ("x", "xs", "h0", "c0") else key
            if diff >= worst.get(group, (-1.0, ""))[0]:
                worst[group] = (diff, name)
    for group, (diff, name) in sorted(worst.items()):
        print(f"{group:14s} max |diff| {diff:.2e}  ({name})")
    overall = max(worst.values())
    print(f"{len(cases)} cases, largest difference over the grid: {overall[0]:.2e} ({overall[1]})")


if __name__ == "__main__":
    main()
