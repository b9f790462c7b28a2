"""The hand-set LSTM: one memory cell whose weights are chosen by hand, not learned.

The NTU lecture's "human LSTM". Each input is x = (x1, x2, x3); the cell is

    z = x1                      the cell input (g, with a linear activation)
    i = sigmoid(100 x2 - 10)    input gate: open only when x2 = 1
    f = sigmoid(100 x2 + 10)    forget gate: closed (reset) only when x2 = -1
    o = sigmoid(100 x3 - 10)    output gate: open only when x3 = 1
    c_t = f c_{t-1} + i z       the memory
    y_t = o c_t                 the output (h, with a linear activation)

so it adds x1 to memory when x2 = 1, clears the memory when x2 = -1, and
shows it when x3 = 1. It is an ordinary ``tr.nn.LSTM(3, 1,
g_activation="identity", h_activation="identity")`` whose weights are
loaded from a state_dict; every number printed is read back from the graph
the engine recorded (the gate sigmoids and the cell-state adds of each time
step), not computed beside it. The sigmoids are not exactly 0 or 1
(sigmoid(10) = 0.99995), so the numbers are the lecture's to about 1e-3.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from .common import Progress, StoryError, output_folder, save_results

# The lecture's sequence: (x1, x2, x3) per step.
LECTURE_INPUTS = ((1, 0, 0), (3, 1, 0), (2, 0, 0), (4, 1, 0), (2, 0, 0), (1, 0, 1), (3, -1, 0), (6, 1, 0), (1, 0, 1))

# PyTorch's gate order i, f, g, o: one row of weight_ih and one bias per gate.
HAND_WEIGHTS = np.array([[0.0, 100.0, 0.0],   # input gate  100 x2 - 10
                         [0.0, 100.0, 0.0],   # forget gate 100 x2 + 10
                         [1.0, 0.0, 0.0],     # cell input  z = x1
                         [0.0, 0.0, 100.0]])  # output gate 100 x3 - 10
HAND_BIASES = np.array([-10.0, 10.0, 0.0, -10.0])


def build():
    """The one-cell LSTM with the lecture's hand-set weights (no recurrent weights: W_hh = 0)."""
    from .. import nn

    cell = nn.LSTM(3, 1, g_activation="identity", h_activation="identity")
    cell.load_state_dict({"weight_ih_l0": HAND_WEIGHTS, "bias_ih_l0": HAND_BIASES,
                          "weight_hh_l0": np.zeros((4, 1)), "bias_hh_l0": np.zeros(4)})
    return cell


def step_values(graph, op: str, gate: str, steps: int) -> np.ndarray:
    """The value of the last ``op`` node recorded in scope ``.../t<k>/<gate>``, for k = 1..steps."""
    found: dict[int, float] = {}
    for node in graph.nodes:
        head, _, tail = node.scope.rpartition("/")
        if node.op == op and tail == gate and head.rpartition("/")[2].startswith("t"):
            found[int(head.rpartition("/")[2][1:])] = float(graph.tensors[node.outputs[0]].tensor.data.item())
    missing = [k for k in range(1, steps + 1) if k not in found]
    if missing:
        raise RuntimeError(f"toy-lstm: no {op} node in scope t{missing[0]}/{gate} of the recorded graph")
    return np.array([found[k] for k in range(1, steps + 1)])


def run_cell(inputs=LECTURE_INPUTS) -> dict:
    """Run the hand-set cell over ``inputs`` ((x1, x2, x3) per step) and read every step's numbers off its graph.

    Returns the inputs, the gates i, f, o, the memory before and after each
    step (c_{t-1}, c_t), the outputs y_t, and the output tensor itself (the
    root of the recorded graph, for drawing).
    """
    from ..graph import trace
    from ..tensor import Tensor

    x = np.asarray(inputs, dtype=float)
    if x.ndim != 2 or x.shape[1] != 3 or len(x) == 0:
        raise ValueError(f"toy-lstm: inputs must be (x1, x2, x3) triples, got an array of shape {x.shape}")
    output, _ = build()(Tensor(x.reshape(len(x), 1, 3), name="x"))
    graph = trace(output)
    T = len(x)
    memory = step_values(graph, "add", "cell_state", T)
    return {
        "inputs": x,
        "input_gate": step_values(graph, "sigmoid", "input_gate", T),
        "forget_gate": step_values(graph, "sigmoid", "forget_gate", T),
        "output_gate": step_values(graph, "sigmoid", "output_gate", T),
        "memory_before": np.concatenate([[0.0], memory[:-1]]),
        "memory": memory,
        "output": output.data.reshape(-1),
        "root": output,
    }


def format_table(r: dict) -> str:
    """A Markdown table, one row per step: inputs, gates, memory before and after, output."""
    lines = ["| t | x1 | x2 | x3 | input gate | forget gate | output gate | memory before | memory after | output |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for t, (x, i, f, o, before, after, y) in enumerate(zip(
            r["inputs"], r["input_gate"], r["forget_gate"], r["output_gate"], r["memory_before"], r["memory"],
            r["output"]), start=1):
        xs = " | ".join(f"{v:g}" for v in x)
        lines.append(f"| {t} | {xs} | {i:.5g} | {f:.5g} | {o:.5g} | {before:.3f} | {after:.3f} | {y:.3f} |")
    return "\n".join(lines)


def draw(r: dict, path: Path) -> Path:
    """The cells view of the run, one box per time step with h_t and c_t written on it."""
    import viz

    path.parent.mkdir(parents=True, exist_ok=True)
    viz.render(viz.draw(r["root"], view="cells", values=True), path)
    return path


def parse_inputs(text: str) -> list[tuple[float, ...]]:
    """'1,0,0 3,1,0 ...' -> [(1, 0, 0), (3, 1, 0), ...]."""
    try:
        steps = [tuple(float(v) for v in item.split(",")) for item in text.split()]
    except ValueError:
        raise StoryError(f"--inputs: use triples like '1,0,0 3,1,0', got {text!r}") from None
    if not steps or any(len(s) != 3 for s in steps):
        raise StoryError(f"--inputs: every step needs three numbers x1,x2,x3, got {text!r}")
    return steps


def configure(parser: argparse.ArgumentParser) -> None:
    lecture = " ".join(",".join(map(str, s)) for s in LECTURE_INPUTS)
    parser.add_argument("--inputs", default=lecture,
                        help=f"the sequence as x1,x2,x3 triples (default the lecture's: {lecture})")
    parser.add_argument("--out", type=output_folder, default="tinygrad-rnn-out/toy-lstm",
                        help="folder for the picture and results (default tinygrad-rnn-out/toy-lstm)")
    parser.add_argument("--no-picture", action="store_true", help="skip the cells-view picture")
    parser.add_argument("--quiet", action="store_true", help="print only the table")


def run(args: argparse.Namespace) -> int:
    progress = Progress(args.quiet)
    r = run_cell(parse_inputs(args.inputs))
    progress(f"ran the hand-set cell over {len(r['inputs'])} steps; numbers read from its recorded graph")
    out = Path(args.out)
    print(format_table(r))
    save_results(out, "toy_lstm", {k: v for k, v in r.items() if k != "root"})
    if not args.no_picture:
        print(f"wrote {draw(r, out / 'toy_lstm_cells.svg')}")
    return 0
