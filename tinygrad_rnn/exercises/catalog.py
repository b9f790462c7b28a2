"""The exercises: for each, random inputs, the same computation built with the engine, and its slots.

A *slot* is one gradient the student's backward returns (``dc_prev``, or
``dx at t=3`` for one time step of a returned array). Slots are listed in
backward order, nearest the loss first, so the first slot whose value is
wrong is where the student's derivation first went astray: everything before
it was right. Each slot points at the engine tensor whose ``.grad`` is the
expected value (the engine is the oracle) and carries the rule, in the notes'
notation, that produces it, plus a few classic mistakes to recognise.

The computation is recorded under scopes (``lstm/t1/forget_gate``) and with
display names (``c₀``, ``f₁``, ``W_h``), so the explorer can be opened on the
node that computes the wrong gradient.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..graph import scope
from ..ops import chunk, sigmoid, tanh
from ..tensor import Parameter, Tensor
from . import forwards

SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def display_name(symbol: str, t: int | None = None) -> str:
    """The notes' name of a tensor: ``display_name("c", 0)`` is ``c₀``, ``display_name("W_h")`` is ``W_h``.

    The one place this package spells names, so it can follow the project's notation layer.
    """
    return symbol if t is None else f"{symbol}{str(t).translate(SUBSCRIPTS)}"


@dataclass
class Slot:
    """One gradient to compare: ``key`` as the report names it, read from ``result[returned][index]``."""

    key: str
    returned: str
    rule: str
    tensor: Tensor
    required: bool = True
    index: int | None = None
    hints: list[tuple[str, Callable[[], np.ndarray]]] = field(default_factory=list)

    @property
    def expected(self) -> np.ndarray:
        return np.asarray(self.tensor.grad)


@dataclass
class Trial:
    """One random instance of an exercise: forward inputs, upstream gradients, sizes."""

    inputs: dict[str, np.ndarray]
    upstream: dict[str, np.ndarray]
    sizes: dict[str, int]

    def describe(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.sizes.items())


@dataclass
class Exercise:
    """What the checker needs to know about one exercise (see ``EXERCISES``)."""

    name: str
    signature: str
    summary: str
    fields: dict[str, bool]  # returned key -> required?
    make: Callable[[np.random.Generator, dict[str, int]], Trial]
    forward: Callable[[Trial], Any]
    call: Callable[[Callable, Trial, Any], Any]
    shapes: Callable[[Trial], dict[str, tuple]]
    graph: Callable[[Trial], tuple[Tensor, list[Slot]]]
    sizes: list[dict[str, int]] = field(default_factory=list)
    single: str | None = None  # a bare array returned is taken as this key (one-input ops)


def _leaf(array: np.ndarray, symbol: str, t: int | None = None) -> Tensor:
    return Tensor(array, requires_grad=True, name=display_name(symbol, t))


def _param(array: np.ndarray, symbol: str) -> Parameter:
    return Parameter(array, name=display_name(symbol))


def _named(tensor: Tensor, symbol: str, t: int | None = None) -> Tensor:
    tensor.name = display_name(symbol, t)
    tensor.retain_grad()
    return tensor


def _loss(pairs: list[tuple[Tensor, np.ndarray]]) -> Tensor:
    """L = Σ ⟨y, dL/dy⟩ over the outputs: its gradient at each output y is the given upstream dL/dy."""
    with scope("loss"):
        total = None
        for y, g in pairs:
            term = (y * Tensor(g, name=display_name("d" + (y.name or "y")))).sum()
            total = term if total is None else total + term
    total.name = "L"
    return total


def _normal(rng: np.random.Generator, *shape: int, scale: float = 1.0) -> np.ndarray:
    return rng.standard_normal(shape) * scale


# --- op rules -------------------------------------------------------------------------------------------------

def _unary(name: str, op: Callable[[Tensor], Tensor], fwd: Callable, rule: str, hints: Callable) -> Exercise:
    def make(rng: np.random.Generator, s: dict[str, int]) -> Trial:
        return Trial({"x": _normal(rng, s["N"], s["M"])}, {"g": _normal(rng, s["N"], s["M"])}, s)

    def graph(trial: Trial) -> tuple[Tensor, list[Slot]]:
        x = _leaf(trial.inputs["x"], "x")
        y = _named(op(x), "y")
        slot = Slot("dx", "dx", rule, x)
        slot.hints = hints(trial, y.data)
        return _loss([(y, trial.upstream["g"])]), [slot]

    def forward(trial: Trial) -> dict:
        return fwd(trial.inputs["x"])[1]

    return Exercise(
        name=f"{name}_backward", signature=f"{name}_backward(g, cache) -> {{'dx': ...}}",
        summary=f"the local rule of y = {name}(x): given g = dL/dy and the cache of {name}_forward, return dL/dx",
        fields={"dx": True}, make=make, forward=forward, call=lambda fn, trial, cache: fn(trial.upstream["g"], cache),
        shapes=lambda trial: {"dx": trial.inputs["x"].shape}, graph=graph,
        sizes=[{"N": 3, "M": 4}, {"N": 2, "M": 5}, {"N": 1, "M": 3}], single="dx")


def _tanh_hints(trial: Trial, y: np.ndarray) -> list:
    g = trial.upstream["g"]
    return [("g ⊙ (1 − x²): the rule needs y = tanh(x), not x", lambda: g * (1 - trial.inputs["x"] ** 2)),
            ("g ⊙ (1 − y): the rule squares y", lambda: g * (1 - y)),
            ("1 − y² without g: the upstream gradient must multiply the local derivative", lambda: 1 - y**2)]


def _sigmoid_hints(trial: Trial, y: np.ndarray) -> list:
    g = trial.upstream["g"]
    return [("g ⊙ y: the rule is y ⊙ (1 − y)", lambda: g * y),
            ("g ⊙ x ⊙ (1 − x): the rule needs y = σ(x), not x",
             lambda: g * trial.inputs["x"] * (1 - trial.inputs["x"])),
            ("y ⊙ (1 − y) without g: the upstream gradient must multiply the local derivative", lambda: y * (1 - y))]


def _matmul_exercise() -> Exercise:
    def make(rng: np.random.Generator, s: dict[str, int]) -> Trial:
        lead = (s["B"],) if s["B"] else ()
        a = _normal(rng, *lead, s["N"], s["K"])
        b = _normal(rng, s["K"], s["M"])
        return Trial({"a": a, "b": b}, {"g": _normal(rng, *lead, s["N"], s["M"])}, s)

    def graph(trial: Trial) -> tuple[Tensor, list[Slot]]:
        a, b = _leaf(trial.inputs["a"], "a"), _leaf(trial.inputs["b"], "b")
        y = _named(a @ b, "y")
        g = trial.upstream["g"]
        da = Slot("da", "da", "dL/da = dL/dy bᵀ", a)
        db = Slot("db", "db", "dL/db = aᵀ dL/dy, summed over the batch axes b was broadcast along", b)
        db.hints = [("the sum of aᵀ dL/dy over the batch is missing: b is shared by every batch entry",
                     lambda: (np.swapaxes(trial.inputs["a"], -1, -2) @ g)[0])] if trial.sizes["B"] else []
        return _loss([(y, g)]), [da, db]

    return Exercise(
        name="matmul_backward", signature="matmul_backward(g, cache) -> {'da': ..., 'db': ...}",
        summary="y = a @ b with a (N, K) or (B, N, K) and b (K, M): return dL/da and dL/db (b broadcast over B)",
        fields={"da": True, "db": True}, make=make, forward=lambda t: forwards.matmul_forward(**t.inputs)[1],
        call=lambda fn, trial, cache: fn(trial.upstream["g"], cache),
        shapes=lambda t: {"da": t.inputs["a"].shape, "db": t.inputs["b"].shape}, graph=graph,
        sizes=[{"B": 0, "N": 3, "K": 4, "M": 2}, {"B": 2, "N": 3, "K": 2, "M": 4}, {"B": 3, "N": 1, "K": 3, "M": 3}])


MUL_SHAPES = [((3, 4), (4,)), ((3, 1), (1, 4)), ((2, 3, 4), (3, 1))]


def _mul_exercise() -> Exercise:
    def make(rng: np.random.Generator, s: dict[str, int]) -> Trial:
        shape_a, shape_b = MUL_SHAPES[s["case"]]
        g = _normal(rng, *np.broadcast_shapes(shape_a, shape_b))
        return Trial({"a": _normal(rng, *shape_a), "b": _normal(rng, *shape_b)}, {"g": g}, s)

    def graph(trial: Trial) -> tuple[Tensor, list[Slot]]:
        a, b = _leaf(trial.inputs["a"], "a"), _leaf(trial.inputs["b"], "b")
        y = _named(a * b, "y")
        g = trial.upstream["g"]
        rule = "dL/d{0} = dL/dy ⊙ {1}, summed over the axes along which {0} was broadcast (back to {0}'s shape)"
        return _loss([(y, g)]), [Slot("da", "da", rule.format("a", "b"), a), Slot("db", "db", rule.format("b", "a"), b)]

    def describe_shapes(t: Trial) -> dict[str, tuple]:
        return {"da": t.inputs["a"].shape, "db": t.inputs["b"].shape}

    return Exercise(
        name="mul_backward", signature="mul_backward(g, cache) -> {'da': ..., 'db': ...}",
        summary="y = a ⊙ b with broadcasting: return dL/da and dL/db, each in the shape of its operand",
        fields={"da": True, "db": True}, make=make, forward=lambda t: forwards.mul_forward(**t.inputs)[1],
        call=lambda fn, trial, cache: fn(trial.upstream["g"], cache), shapes=describe_shapes, graph=graph,
        sizes=[{"case": 0}, {"case": 1}, {"case": 2}])


# --- the vanilla RNN -----------------------------------------------------------------------------------------

def _rnn_make(rng: np.random.Generator, s: dict[str, int]) -> Trial:
    N, D, H = s["N"], s["D"], s["H"]
    lead = (s["T"],) if "T" in s else ()
    inputs = {"x": _normal(rng, *lead, N, D), "h_prev" if not lead else "h0": _normal(rng, N, H, scale=0.5),
              "Wx": _normal(rng, D, H, scale=0.6), "Wh": _normal(rng, H, H, scale=0.6), "b": _normal(rng, H, scale=0.2)}
    return Trial(inputs, {"dhs" if lead else "dh": _normal(rng, *lead, N, H)}, s)


def _rnn_cell(x: Tensor, h_prev: Tensor, Wx: Tensor, Wh: Tensor, b: Tensor, t: int) -> tuple[Tensor, Tensor]:
    """h_t = tanh(s_t), s_t = x_t W_x + h_{t-1} W_h + b, recorded in scope ``t{t}``; returns (s_t, h_t)."""
    with scope(f"t{t}"):
        a = _named(x @ Wx + h_prev @ Wh + b, "s", t)
        with scope("hidden"):
            h = _named(tanh(a), "h", t)
    return a, h


RNN_STEP_RULES = {
    "da": "dL/ds_t = dL/dh_t ⊙ (1 − h_t²)",
    "dx": "dL/dx_t = dL/ds_t W_xᵀ",
    "dh_prev": "dL/dh_{t-1} = dL/ds_t W_hᵀ",
    "dWx": "dL/dW_x = x_tᵀ dL/ds_t",
    "dWh": "dL/dW_h = h_{t-1}ᵀ dL/ds_t",
    "db": "dL/db = Σ over the batch of dL/ds_t",
}


def _rnn_step_graph(trial: Trial) -> tuple[Tensor, list[Slot]]:
    v = trial.inputs
    x, h_prev = _leaf(v["x"], "x", 1), _leaf(v["h_prev"], "h", 0)
    Wx, Wh, b = _param(v["Wx"], "W_x"), _param(v["Wh"], "W_h"), _param(v["b"], "b")
    with scope("rnn"):
        a, h = _rnn_cell(x, h_prev, Wx, Wh, b, 1)

    def da() -> np.ndarray:  # dL/ds_t, read when a hint is tried (after backward)
        return np.asarray(a.grad)

    slots = [Slot("da", "da", RNN_STEP_RULES["da"], a, required=False),
             Slot("dx", "dx", RNN_STEP_RULES["dx"], x),
             Slot("dh_prev", "dh_prev", RNN_STEP_RULES["dh_prev"], h_prev),
             Slot("dWx", "dWx", RNN_STEP_RULES["dWx"], Wx),
             Slot("dWh", "dWh", RNN_STEP_RULES["dWh"], Wh),
             Slot("db", "db", RNN_STEP_RULES["db"], b)]
    slots[0].hints = [("dL/dh_t ⊙ (1 − s_t²): the rule uses h_t = tanh(s_t), not s_t",
                       lambda: trial.upstream["dh"] * (1 - (v["x"] @ v["Wx"] + v["h_prev"] @ v["Wh"] + v["b"]) ** 2))]
    slots[2].hints = [("dL/ds_t W_h: the transpose of W_h is missing (W_h is square, so the shape was right)",
                       lambda: da() @ v["Wh"])]
    slots[4].hints = [("h_tᵀ dL/ds_t: the operand is h_{t-1}, the input of the step, not its output h_t",
                       lambda: h.data.T @ da())]
    return _loss([(h, trial.upstream["dh"])]), slots


def _rnn_step_exercise() -> Exercise:
    return Exercise(
        name="rnn_step_backward", signature="rnn_step_backward(dh, cache) -> {'dx', 'dh_prev', 'dWx', 'dWh', 'db'}",
        summary="one step of h_t = tanh(x_t W_x + h_{t-1} W_h + b): from dL/dh_t to every input's gradient",
        fields={"da": False, "dx": True, "dh_prev": True, "dWx": True, "dWh": True, "db": True},
        make=_rnn_make, forward=lambda t: forwards.rnn_step_forward(**t.inputs)[1],
        call=lambda fn, trial, cache: fn(trial.upstream["dh"], cache),
        shapes=lambda t: {"da": t.inputs["h_prev"].shape, "dx": t.inputs["x"].shape,
                          "dh_prev": t.inputs["h_prev"].shape, **_weight_shapes(t)},
        graph=_rnn_step_graph, sizes=[{"N": 3, "D": 5, "H": 4}, {"N": 2, "D": 3, "H": 5}, {"N": 1, "D": 2, "H": 3}])


def _weight_shapes(t: Trial) -> dict[str, tuple]:
    return {"dWx": t.inputs["Wx"].shape, "dWh": t.inputs["Wh"].shape, "db": t.inputs["b"].shape}


BPTT_RULES = {
    "dh": "dL/dh_t = dhs_t + dL/ds_{t+1} W_hᵀ (its own upstream plus what step t+1 sends back)",
    "da": "dL/ds_t = dL/dh_t ⊙ (1 − h_t²)",
    "dx": "dL/dx_t = dL/ds_t W_xᵀ, where dL/ds_t = (dhs_t + dL/ds_{t+1} W_hᵀ) ⊙ (1 − h_t²)",
    "dh0": "dL/dh_0 = dL/ds_1 W_hᵀ",
    "dWx": "dL/dW_x = Σ_t x_tᵀ dL/ds_t",
    "dWh": "dL/dW_h = Σ_t h_{t-1}ᵀ dL/ds_t",
    "db": "dL/db = Σ_t Σ over the batch of dL/ds_t",
}


def _bptt_graph(trial: Trial, truncate: int | None = None) -> tuple[Tensor, list[Slot]]:
    """The unrolled RNN; with ``truncate=k`` the state is detached after every k-th step (truncated BPTT)."""
    v, T = trial.inputs, trial.sizes["T"]
    xs = [_leaf(v["x"][t], "x", t + 1) for t in range(T)]
    h0 = _leaf(v["h0"], "h", 0)
    Wx, Wh, b = _param(v["Wx"], "W_x"), _param(v["Wh"], "W_h"), _param(v["b"], "b")
    a_s, hs, h = [], [], h0
    with scope("rnn"):
        for t in range(1, T + 1):
            carry = h.detach() if truncate and t > 1 and (t - 1) % truncate == 0 else h
            a, h = _rnn_cell(xs[t - 1], carry, Wx, Wh, b, t)
            a_s.append(a)
            hs.append(h)
    dhs = trial.upstream["dhs"]
    carried = "" if truncate is None else f" (no carry across the cut after every {truncate}th step)"
    slots = []
    for t in range(T, 0, -1):
        at = f" at t={t}"
        dx = Slot("dx" + at, "dx", BPTT_RULES["dx"] + carried, xs[t - 1], index=t - 1)
        one_step = (dhs[t - 1] * (1 - hs[t - 1].data ** 2)) @ v["Wx"].T
        if t < T:
            dx.hints = [("dL/dx_t computed from dhs_t alone: the gradient carried back from step t+1 "
                         "(dL/dh_t via h_{t+1}) is missing", lambda one_step=one_step: one_step)]
        slots += [Slot("dh" + at, "dh", BPTT_RULES["dh"] + carried, hs[t - 1], required=False, index=t - 1),
                  Slot("da" + at, "da", BPTT_RULES["da"], a_s[t - 1], required=False, index=t - 1), dx]
        if t < T:
            slots[-3].hints = [("dhs_t alone: the gradient carried back from step t+1 is missing",
                                lambda t=t: dhs[t - 1])]
    slots += [Slot("dh0", "dh0", BPTT_RULES["dh0"], h0), Slot("dWx", "dWx", BPTT_RULES["dWx"], Wx),
              Slot("dWh", "dWh", BPTT_RULES["dWh"], Wh), Slot("db", "db", BPTT_RULES["db"], b)]
    return _loss([(h_t, dhs[t]) for t, h_t in enumerate(hs)]), slots


def _bptt_shapes(t: Trial) -> dict[str, tuple]:
    T, N, H = t.sizes["T"], t.sizes["N"], t.sizes["H"]
    return {"dh": (T, N, H), "da": (T, N, H), "dx": t.inputs["x"].shape, "dh0": t.inputs["h0"].shape,
            **_weight_shapes(t)}


BPTT_FIELDS = {"dh": False, "da": False, "dx": True, "dh0": True, "dWx": True, "dWh": True, "db": True}
BPTT_SIZES = [{"T": 4, "N": 2, "D": 3, "H": 4}, {"T": 4, "N": 3, "D": 2, "H": 3}, {"T": 4, "N": 1, "D": 4, "H": 2}]
TRUNCATE = 2


def _bptt_exercise() -> Exercise:
    return Exercise(
        name="rnn_backward", signature="rnn_backward(dhs, caches) -> {'dx', 'dh0', 'dWx', 'dWh', 'db'}",
        summary="BPTT over T steps: dhs (T, N, H) holds the upstream gradient of every h_t",
        fields=BPTT_FIELDS, make=_rnn_make, forward=lambda t: forwards.rnn_forward(**t.inputs)[1],
        call=lambda fn, trial, caches: fn(trial.upstream["dhs"], caches), shapes=_bptt_shapes,
        graph=_bptt_graph, sizes=BPTT_SIZES)


def _truncated_exercise() -> Exercise:
    return Exercise(
        name="rnn_backward_truncated",
        signature=("rnn_backward_truncated(dhs, caches, k) -> {'dx', 'dh0', 'dWx', 'dWh', 'db'}, "
                   f"called with k={TRUNCATE}"),
        summary=f"truncated BPTT: the gradient is carried back within blocks of k={TRUNCATE} steps, never across",
        fields=BPTT_FIELDS, make=_rnn_make, forward=lambda t: forwards.rnn_forward(**t.inputs)[1],
        call=lambda fn, trial, caches: fn(trial.upstream["dhs"], caches, TRUNCATE), shapes=_bptt_shapes,
        graph=lambda trial: _bptt_graph(trial, TRUNCATE), sizes=BPTT_SIZES)


# --- the LSTM ----------------------------------------------------------------------------------------------

LSTM_RULES = {
    "do": "dL/do_t = dL/dh_t ⊙ tanh(c_t)",
    "dc_total": "dL/dc_t = dc + dL/dh_t ⊙ o_t ⊙ (1 − tanh²(c_t)) (the upstream dc plus the path through h_t)",
    "di": "dL/di_t = dL/dc_t ⊙ g_t",
    "df": "dL/df_t = dL/dc_t ⊙ c_{t-1}",
    "dg": "dL/dg_t = dL/dc_t ⊙ i_t",
    "dc_prev": "dL/dc_{t-1} = dL/dc_t ⊙ f_t",
    "da": "dL/ds_t = [dL/di_t ⊙ i_t(1 − i_t), dL/df_t ⊙ f_t(1 − f_t), dL/dg_t ⊙ (1 − g_t²), dL/do_t ⊙ o_t(1 − o_t)]",
    **{k: v for k, v in RNN_STEP_RULES.items() if k != "da"},
}
LSTM_FIELDS = {"do": False, "dc_total": False, "di": False, "df": False, "dg": False, "dc_prev": True,
               "da": False, "dx": True, "dh_prev": True, "dWx": True, "dWh": True, "db": True}


def _lstm_graph(trial: Trial) -> tuple[Tensor, list[Slot]]:
    v, up = trial.inputs, trial.upstream
    x, h_prev, c_prev = _leaf(v["x"], "x", 1), _leaf(v["h_prev"], "h", 0), _leaf(v["c_prev"], "c", 0)
    Wx, Wh, b = _param(v["Wx"], "W_x"), _param(v["Wh"], "W_h"), _param(v["b"], "b")
    with scope("lstm"), scope("t1"):
        a = _named(x @ Wx + h_prev @ Wh + b, "s", 1)
        a_i, a_f, a_g, a_o = chunk(a, 4, axis=1)
        with scope("input_gate"):
            i = _named(sigmoid(a_i), "i", 1)
        with scope("forget_gate"):
            f = _named(sigmoid(a_f), "f", 1)
        with scope("cell_gate"):
            g = _named(tanh(a_g), "g", 1)
        with scope("output_gate"):
            o = _named(sigmoid(a_o), "o", 1)
        with scope("cell_state"):
            c = _named(f * c_prev + i * g, "c", 1)
        with scope("hidden"):
            tanh_c = _named(tanh(c), "tanh(c₁)")
            h = _named(o * tanh_c, "h", 1)
    tensors = {"do": o, "dc_total": c, "di": i, "df": f, "dg": g, "dc_prev": c_prev, "da": a, "dx": x,
               "dh_prev": h_prev, "dWx": Wx, "dWh": Wh, "db": b}
    slots = {k: Slot(k, k, LSTM_RULES[k], tensors[k], required=LSTM_FIELDS[k]) for k in LSTM_FIELDS}
    slots["dc_prev"].hints = [("dL/dc_t alone: the factor f_t is missing", lambda: np.asarray(c.grad))]
    slots["do"].hints = [("dL/dh_t alone: the factor tanh(c_t) is missing", lambda: up["dh"]),
                         ("dL/dh_t ⊙ c_t: the rule uses tanh(c_t), not c_t", lambda: up["dh"] * c.data)]
    slots["dc_total"].hints = [("the upstream dc alone: the path through h_t = o_t ⊙ tanh(c_t) is missing",
                                lambda: up["dc"]),
                               ("dL/dh_t ⊙ o_t ⊙ (1 − tanh²(c_t)) alone: the upstream dc is missing",
                                lambda: np.asarray(c.grad) - up["dc"])]
    slots["dh_prev"].hints = [("dL/ds_t W_x: W_h is the weight of h_{t-1}", lambda: np.asarray(a.grad) @ v["Wx"].T)]
    slots["dWh"].hints = [("h_tᵀ dL/ds_t: the operand is h_{t-1}, the input of the step, not its output h_t",
                           lambda: h.data.T @ np.asarray(a.grad))]
    return _loss([(h, up["dh"]), (c, up["dc"])]), list(slots.values())


def _lstm_make(rng: np.random.Generator, s: dict[str, int]) -> Trial:
    N, D, H = s["N"], s["D"], s["H"]
    inputs = {"x": _normal(rng, N, D), "h_prev": _normal(rng, N, H, scale=0.5), "c_prev": _normal(rng, N, H),
              "Wx": _normal(rng, D, 4 * H, scale=0.6), "Wh": _normal(rng, H, 4 * H, scale=0.6),
              "b": _normal(rng, 4 * H, scale=0.2)}
    return Trial(inputs, {"dh": _normal(rng, N, H), "dc": _normal(rng, N, H)}, s)


def _gate_shapes(t: Trial, names: tuple[str, ...], gates: int) -> dict[str, tuple]:
    N, H = t.inputs["h_prev"].shape
    return {**{k: (N, H) for k in names}, "dx": t.inputs["x"].shape, "dh_prev": (N, H), **_weight_shapes(t),
            **{k: (N, gates * H) for k in ("da", "dax", "dah")}}


def _lstm_exercise() -> Exercise:
    return Exercise(
        name="lstm_step_backward",
        signature="lstm_step_backward(dh, dc, cache) -> {'dx', 'dh_prev', 'dc_prev', 'dWx', 'dWh', 'db'}",
        summary="one LSTM step: from dL/dh_t and dL/dc_t (the upstream dh, dc) to every input's gradient",
        fields=LSTM_FIELDS, make=_lstm_make, forward=lambda t: forwards.lstm_step_forward(**t.inputs)[2],
        call=lambda fn, trial, cache: fn(trial.upstream["dh"], trial.upstream["dc"], cache),
        shapes=lambda t: _gate_shapes(t, ("do", "dc_total", "di", "df", "dg", "dc_prev"), 4), graph=_lstm_graph,
        sizes=[{"N": 3, "D": 5, "H": 4}, {"N": 2, "D": 3, "H": 5}, {"N": 1, "D": 2, "H": 3}])


# --- the GRU -----------------------------------------------------------------------------------------------

GRU_RULES = {
    "dn": "dL/dn_t = dL/dh_t ⊙ (1 − u_t)",
    "du": "dL/du_t = dL/dh_t ⊙ (h_{t-1} − n_t)",
    "dr": "dL/dr_t = dL/dn_t ⊙ (1 − n_t²) ⊙ (h_{t-1} W_h)_n",
    "dax": "dL/d(x_t W_x + b) = [dL/dr_t ⊙ r_t(1 − r_t), dL/du_t ⊙ u_t(1 − u_t), dL/dn_t ⊙ (1 − n_t²)]",
    "dah": "dL/d(h_{t-1} W_h) = [dL/dr_t ⊙ r_t(1 − r_t), dL/du_t ⊙ u_t(1 − u_t), dL/dn_t ⊙ (1 − n_t²) ⊙ r_t]",
    "dx": "dL/dx_t = dL/d(x_t W_x + b) W_xᵀ",
    "dh_prev": "dL/dh_{t-1} = dL/dh_t ⊙ u_t + dL/d(h_{t-1} W_h) W_hᵀ (the direct path through u_t plus the gates)",
    "dWx": "dL/dW_x = x_tᵀ dL/d(x_t W_x + b)",
    "dWh": "dL/dW_h = h_{t-1}ᵀ dL/d(h_{t-1} W_h)",
    "db": "dL/db = Σ over the batch of dL/d(x_t W_x + b)",
}
GRU_FIELDS = {"dn": False, "du": False, "dr": False, "dax": False, "dah": False, "dx": True, "dh_prev": True,
              "dWx": True, "dWh": True, "db": True}


def _gru_cell(x: Tensor, h_prev: Tensor, Wx: Tensor, Wh: Tensor, b: Tensor, t: int) -> dict[str, Tensor]:
    """One GRU step recorded in scope ``t{t}`` with its gates named r_t, u_t, n_t: every tensor by key."""
    with scope(f"t{t}"):
        ax = _named(x @ Wx + b, "ax", t)
        ah = _named(h_prev @ Wh, "ah", t)
        ax_r, ax_u, ax_n = chunk(ax, 3, axis=1)
        ah_r, ah_u, ah_n = chunk(ah, 3, axis=1)
        with scope("reset_gate"):
            r = _named(sigmoid(ax_r + ah_r), "r", t)
        with scope("update_gate"):
            u = _named(sigmoid(ax_u + ah_u), "u", t)
        with scope("new_gate"):
            n = _named(tanh(ax_n + r * ah_n), "n", t)
        with scope("hidden"):
            h = _named((1 - u) * n + u * h_prev, "h", t)
    return {"ax": ax, "ah": ah, "r": r, "u": u, "n": n, "h": h}


def _gru_graph(trial: Trial) -> tuple[Tensor, list[Slot]]:
    v, up = trial.inputs, trial.upstream
    x, h_prev = _leaf(v["x"], "x", 1), _leaf(v["h_prev"], "h", 0)
    Wx, Wh, b = _param(v["Wx"], "W_x"), _param(v["Wh"], "W_h"), _param(v["b"], "b")
    with scope("gru"):
        cell = _gru_cell(x, h_prev, Wx, Wh, b, 1)
    ax, ah, r, u, n, h = (cell[k] for k in ("ax", "ah", "r", "u", "n", "h"))
    tensors = {"dn": n, "du": u, "dr": r, "dax": ax, "dah": ah, "dx": x, "dh_prev": h_prev, "dWx": Wx, "dWh": Wh,
               "db": b}
    slots = {k: Slot(k, k, GRU_RULES[k], tensors[k], required=GRU_FIELDS[k]) for k in GRU_FIELDS}
    slots["du"].hints = [("dL/dh_t ⊙ (n_t − h_{t-1}): the sign is flipped (h_t = (1 − u_t) ⊙ n_t + u_t ⊙ h_{t-1})",
                          lambda: up["dh"] * (n.data - v["h_prev"]))]
    slots["dh_prev"].hints = [("dL/d(h_{t-1} W_h) W_hᵀ alone: the direct path dL/dh_t ⊙ u_t is missing",
                               lambda: np.asarray(ah.grad) @ v["Wh"].T)]
    return _loss([(h, up["dh"])]), list(slots.values())


def _gru_make(rng: np.random.Generator, s: dict[str, int]) -> Trial:
    N, D, H = s["N"], s["D"], s["H"]
    inputs = {"x": _normal(rng, N, D), "h_prev": _normal(rng, N, H, scale=0.5),
              "Wx": _normal(rng, D, 3 * H, scale=0.6), "Wh": _normal(rng, H, 3 * H, scale=0.6),
              "b": _normal(rng, 3 * H, scale=0.2)}
    return Trial(inputs, {"dh": _normal(rng, N, H)}, s)


def _gru_exercise() -> Exercise:
    return Exercise(
        name="gru_step_backward", signature="gru_step_backward(dh, cache) -> {'dx', 'dh_prev', 'dWx', 'dWh', 'db'}",
        summary="one GRU step (r reset, u update, n new gate): from dL/dh_t to every input's gradient",
        fields=GRU_FIELDS, make=_gru_make, forward=lambda t: forwards.gru_step_forward(**t.inputs)[1],
        call=lambda fn, trial, cache: fn(trial.upstream["dh"], cache),
        shapes=lambda t: _gate_shapes(t, ("dn", "du", "dr"), 3), graph=_gru_graph,
        sizes=[{"N": 3, "D": 5, "H": 4}, {"N": 2, "D": 3, "H": 5}, {"N": 1, "D": 2, "H": 3}])


GRU_BPTT_RULES = {
    "dh": "dL/dh_t = dhs_t + dL/dh_t via step t+1, where step t+1 sends dL/dh_{t+1} ⊙ u_{t+1} + "
          "dL/d(h_t W_h) W_hᵀ",
    "dx": "dL/dx_t = dL/d(x_t W_x + b) W_xᵀ, from the whole dL/dh_t (its upstream plus the carry)",
    "dh0": "dL/dh_0 = dL/dh_1 ⊙ u_1 + dL/d(h_0 W_h) W_hᵀ",
    "dWx": "dL/dW_x = Σ_t x_tᵀ dL/d(x_t W_x + b)",
    "dWh": "dL/dW_h = Σ_t h_{t-1}ᵀ dL/d(h_{t-1} W_h)",
    "db": "dL/db = Σ_t Σ over the batch of dL/d(x_t W_x + b)",
}


def _gru_bptt_make(rng: np.random.Generator, s: dict[str, int]) -> Trial:
    T, N, D, H = s["T"], s["N"], s["D"], s["H"]
    inputs = {"x": _normal(rng, T, N, D), "h0": _normal(rng, N, H, scale=0.5),
              "Wx": _normal(rng, D, 3 * H, scale=0.6), "Wh": _normal(rng, H, 3 * H, scale=0.6),
              "b": _normal(rng, 3 * H, scale=0.2)}
    return Trial(inputs, {"dhs": _normal(rng, T, N, H)}, s)


def _gru_bptt_graph(trial: Trial) -> tuple[Tensor, list[Slot]]:
    v, T = trial.inputs, trial.sizes["T"]
    xs = [_leaf(v["x"][t], "x", t + 1) for t in range(T)]
    h0 = _leaf(v["h0"], "h", 0)
    Wx, Wh, b = _param(v["Wx"], "W_x"), _param(v["Wh"], "W_h"), _param(v["b"], "b")
    hs, h = [], h0
    with scope("gru"):
        for t in range(1, T + 1):
            h = _gru_cell(xs[t - 1], h, Wx, Wh, b, t)["h"]
            hs.append(h)
    dhs = trial.upstream["dhs"]
    slots = []
    for t in range(T, 0, -1):
        at = f" at t={t}"
        dh = Slot("dh" + at, "dh", GRU_BPTT_RULES["dh"], hs[t - 1], required=False, index=t - 1)
        if t < T:
            dh.hints = [("dhs_t alone: the gradient carried back from step t+1 is missing", lambda t=t: dhs[t - 1])]
        dx = Slot("dx" + at, "dx", GRU_BPTT_RULES["dx"], xs[t - 1], index=t - 1)
        if t < T:
            dx.hints = [("dL/dx_t computed from dhs_t alone: the gradient carried back from step t+1 is missing",
                         lambda t=t: _gru_step_input_grad(trial, hs[t - 2].data if t > 1 else v["h0"], t))]
        slots += [dh, dx]
    slots += [Slot(k, k, GRU_BPTT_RULES[k], tensor) for k, tensor in (("dh0", h0), ("dWx", Wx), ("dWh", Wh),
                                                                         ("db", b))]
    return _loss([(h_t, dhs[t]) for t, h_t in enumerate(hs)]), slots


def _gru_step_input_grad(trial: Trial, h_prev: np.ndarray, t: int) -> np.ndarray:
    """dL/dx_t of step t alone with upstream dhs_t (no carry): one GRU cell, differentiated by the engine."""
    v = trial.inputs
    x = Tensor(v["x"][t - 1], requires_grad=True)
    h = _gru_cell(x, Tensor(h_prev), Tensor(v["Wx"]), Tensor(v["Wh"]), Tensor(v["b"]), t)["h"]
    (h * Tensor(trial.upstream["dhs"][t - 1])).sum().backward()
    return np.asarray(x.grad)


def _gru_bptt_exercise() -> Exercise:
    return Exercise(
        name="gru_backward", signature="gru_backward(dhs, caches) -> {'dx', 'dh0', 'dWx', 'dWh', 'db'}",
        summary="BPTT for a GRU over T steps (caches of gru_forward); dhs (T, N, H): the upstream of every h_t",
        fields={"dh": False, "dx": True, "dh0": True, "dWx": True, "dWh": True, "db": True},
        make=_gru_bptt_make, forward=lambda t: forwards.gru_forward(**t.inputs)[1],
        call=lambda fn, trial, caches: fn(trial.upstream["dhs"], caches), shapes=_bptt_shapes,
        graph=_gru_bptt_graph, sizes=BPTT_SIZES)


EXERCISES: dict[str, Exercise] = {ex.name: ex for ex in (
    _unary("tanh", tanh, forwards.tanh_forward, "dL/dx = dL/dy ⊙ (1 − y²)", _tanh_hints),
    _unary("sigmoid", sigmoid, forwards.sigmoid_forward, "dL/dx = dL/dy ⊙ y ⊙ (1 − y)", _sigmoid_hints),
    _matmul_exercise(),
    _mul_exercise(),
    _rnn_step_exercise(),
    _bptt_exercise(),
    _truncated_exercise(),
    _lstm_exercise(),
    _gru_exercise(),
    _gru_bptt_exercise(),
)}
