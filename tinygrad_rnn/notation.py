"""One display name per tensor of a recorded graph, in the notation of the notes.

A student reads ``c₃ = f₃ ⊙ c₂ + i₃ ⊙ g₃`` in the notes; the step text, the
shell, the explorer, the SVG labels and the error messages should say ``c₃``,
``f₃`` and ``c₂`` too, not ``add#39``. This module gives every tensor of a
recorded graph (``tr.trace(loss)``) exactly one such name, read off the scope
data the modules record (``lstm/l1/rev/t3/forget_gate``), in one pass over the
graph. The table of every symbol is ``docs/notation.md``. The rules, in order:

1. A name the user gave (``Tensor(..., name="h0")``) is kept; a letter followed
   by digits is written with a subscript (``h0`` -> ``h₀``, ``x12`` -> ``x₁₂``).
2. PyTorch's recurrent parameters show the notes' alias: ``weight_hh_l0`` is
   ``W_hh``, ``bias_ih_l1_reverse`` is ``←b_ih⁽²⁾``; ``torch_name`` keeps the
   PyTorch name for panels and tooltips.
3. The tensor that leaves a gate scope is the gate's symbol with its time step:
   ``h₃ c₃`` (state), ``i₃ f₃ g₃ o₃`` (LSTM gates), ``r₃ u₃ n₃`` (GRU reset,
   update, new gate; the update gate is ``u``, never ``z``, which is the BPTT
   sensitivity of the recurrence z_k = a_k + b_k z_{k-1}).
4. A gate's pre-activation, the input of its sigmoid/tanh, is ``s`` with the
   gate as a superscript: ``sᶠ₃`` (``s₃`` for an Elman RNN's ``hidden``); the
   LSTM's stacked pre-activation of all four gates, cut into those, is ``s₃``.
5. Marks: a layer superscript when the graph has more than one layer
   (``h⁽²⁾₃`` is layer 2, scope ``l1``) and ``←`` in front for the reverse
   direction (``←h₃``).
6. The input and recurrent projections are written as in PyTorch's docs:
   ``W_hh h₂``, ``W_hr h₂+b_hr`` (GRU's reset part of it), ``W_ih x₃+b``.
7. In a user's own loop (``with tr.scope(f"t{t}")``), the one tensor that leaves
   each time step's scope is its state ``h_t``, and what its nonlinearity was applied
   to is ``s_t`` (h_t = tanh(s_t)).
8. Any other tensor is the expression of its operands' names when that is
   short (``f₃⊙c₂``, ``tanh(c₃)``, ``1−u₃``), else the op with its time step
   (``tanh₃``, ``split₃[1]``). Names are unique in a graph: a repeat gets a ′.

Engine ids such as ``add#39`` are only a debugging detail: ``debug_id``.
``import tinygrad_rnn.notation`` needs only the standard library.
"""

from __future__ import annotations

import re
from typing import Any

GATE_SYMBOLS = {
    "input_gate": "i",
    "forget_gate": "f",
    "cell_gate": "g",
    "output_gate": "o",
    "cell_state": "c",
    "hidden": "h",
    "reset_gate": "r",
    "update_gate": "u",
    "new_gate": "n",
}
PREACTIVATION = "s"  # s_t: what a gate's nonlinearity is applied to (not a, b or z: the BPTT recurrence's letters)
REVERSE = "\u2190"  # ←, in front of every name of the reverse direction
NONLINEAR = {"sigmoid": "\u03c3", "tanh": "tanh", "relu": "relu", "exp": "exp", "log": "log"}
OPERATORS = {"add": "+", "sub": "\u2212", "mul": "\u2299", "div": "/"}
EXPRESSION_LIMIT = 18  # longer expressions fall back to the op and its time step

_SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
_SUP = str.maketrans("0123456789()hifgornux", "⁰¹²³⁴⁵⁶⁷⁸⁹⁽⁾ʰⁱᶠᵍᵒʳⁿᵘˣ")
_PLAIN = str.maketrans("₀₁₂₃₄₅₆₇₈₉⁰¹²³⁴⁵⁶⁷⁸⁹ʰⁱᶠᵍᵒʳⁿᵘˣ", "01234567890123456789hifgornux", "⁽⁾′")
_TIME = re.compile(r"^t(\d+)$")
_LAYER = re.compile(r"^l(\d+)$")
_LETTER_DIGITS = re.compile(r"^([A-Za-z])(\d+)$")
_TORCH = re.compile(r"^(?:.*\.)?(weight|bias)_(ih|hh)(?:_l(\d+))?(_reverse)?$")


def subscript(digits: str) -> str:
    """'12' -> '₁₂'."""
    return digits.translate(_SUB)


def superscript(text: str) -> str:
    """'(2)' -> '⁽²⁾', 'f' -> 'ᶠ' (digits, brackets and the gate letters)."""
    return text.translate(_SUP)


def plain(name: str) -> str:
    """The name typed on a keyboard: 'h₃' -> 'h3', 'sᶠ₃' -> 'sf3', 'W_hh⁽²⁾' -> 'W_hh2', 'W_hhᵀ' -> 'W_hh.T'."""
    return name.translate(_PLAIN).replace(REVERSE, "<-").replace("ᵀ", ".T")


def _compound(name: str) -> bool:
    """Does the name need brackets as an operand (it is itself an expression)?"""
    return any(c in name for c in " +−⊙/@")


def wrap(name: str) -> str:
    """The name as an operand: 'f₃⊙c₂' -> '(f₃⊙c₂)'; 'c₂' stays."""
    return f"({name})" if _compound(name) else name


def alias(torch_name: str, layers: bool = True) -> str | None:
    """The notes' name of a PyTorch recurrent parameter: 'weight_hh_l0' -> 'W_hh⁽¹⁾' ('W_hh' with
    ``layers=False``, for a one-layer model), 'bias_ih_l1_reverse' -> '←b_ih⁽²⁾'; None for other names."""
    match = _TORCH.match(torch_name)
    if match is None:
        return None
    kind, side, layer, reverse = match.groups()
    mark = superscript(f"({int(layer) + 1})") if layer is not None and layers else ""
    return f"{REVERSE if reverse else ''}{'W' if kind == 'weight' else 'b'}_{side}{mark}"


def gradient(name: str) -> str:
    """The gradient's name: 'dL/dc₃', 'dL/d(f₃⊙c₂)'."""
    return f"dL/d{wrap(name)}"


class Notation:
    """The display names of one recorded graph (see the module docstring); ``names_of(graph)`` caches it.

    >>> notation = names_of(tr.trace(loss))
    >>> notation.name(tensor_id)      # 'c₃'
    >>> notation.torch_name(tid)      # 'weight_hh_l0' for W_hh ('weight_hh_l0.T' for W_hhᵀ), else None
    >>> notation.debug_id(tid)        # 'add#15' (the engine's id: for debugging only)
    """

    def __init__(self, graph: Any):
        self.graph = graph
        nodes = graph.nodes
        self._layers = any(m and int(m.group(1)) > 0 for n in nodes for m in map(_LAYER.match, n.scope.split("/")))
        self._names: dict[int, str] = {}
        self._torch: dict[int, str] = {}
        self._debug: dict[int, str] = {}
        self._proj: dict[int, tuple[str, str, bool, str, str]] = {}  # tid -> (side i|h, operand, bias?, ←, ⁽ˡ⁾)
        self._used: set[str] = set()
        self._scope_marks: dict[str, tuple[str, str]] = {}  # scope path -> (prefix, superscript + subscript)
        self.symbols: set[int] = set()  # tensors named by their scope: h₃ c₃ f₃ (gate outputs) and a loop's h_t
        self._carried: dict[str, int] = {}  # time-step scope of a user's loop -> how many tensors leave it
        for node in nodes:
            if node.scope and _TIME.match(node.scope.rsplit("/", 1)[-1]):
                leaving = sum(self._leaves_scope(graph.tensors[t], node.scope) for t in node.outputs)
                self._carried[node.scope] = self._carried.get(node.scope, 0) + leaving
        leaf_count: dict[str, int] = {}
        for rec in graph.tensors.values():
            if rec.producer is None:
                k = leaf_count.get(rec.kind, 0)
                leaf_count[rec.kind] = k + 1
                self._debug[rec.id] = f"{rec.kind}#{k}"
        for node in nodes:
            for tid in node.inputs:
                if tid not in self._names:
                    self._assign(tid, self._leaf_name(graph.tensors[tid]))
            several = len(node.node.outputs) > 1
            for tid in node.outputs:
                rec = graph.tensors[tid]
                suffix = f"[{rec.tensor._index}]" if several else ""
                self._debug[tid] = f"{node.op}#{node.index}{suffix}"
                self._assign(tid, self._node_name(node, rec, suffix))
        for tid, rec in graph.tensors.items():  # a root that no node made (a leaf loss)
            if tid not in self._names:
                self._assign(tid, self._leaf_name(rec))

    # --- reading ----------------------------------------------------------
    def name(self, tid: int) -> str:
        """The one display name of the tensor with this id."""
        return self._names[tid]

    def torch_name(self, tid: int) -> str | None:
        """PyTorch's name of a parameter shown under an alias (``weight_hh_l0`` for W_hh, ``weight_hh_l0.T``
        for its transpose W_hhᵀ), else None."""
        return self._torch.get(tid)

    def debug_id(self, tid: int) -> str:
        """The engine's id of the tensor: ``op#index`` (``[i]`` for the i-th output) or ``kind#k`` for leaves."""
        return self._debug[tid]

    def full(self, tid: int) -> str:
        """The name with the PyTorch name of an aliased parameter: 'W_hh (weight_hh_l0)'."""
        torch = self._torch.get(tid)
        return f"{self._names[tid]} ({torch})" if torch else self._names[tid]

    def find(self, text: str) -> list[int]:
        """Ids of the tensors ``text`` names: display name, its typed form ('h3' for h₃), PyTorch or debug id."""
        return [
            tid for tid, name in self._names.items()
            if text in (name, plain(name), self._torch.get(tid), self._debug.get(tid))
        ]

    # --- naming -----------------------------------------------------------
    def _assign(self, tid: int, name: str) -> None:
        rec = self.graph.tensors[tid]
        if rec.kind == "constant":  # numbers in formulas (1 − u₃), the data x: need no second name
            self._names[tid] = name
            return
        while name in self._used:
            name += "′"
        self._used.add(name)
        self._names[tid] = name

    def _marks(self, path: list[str]) -> tuple[str, str]:
        """(prefix, superscript) of a scope path: '←' for the reverse direction, '⁽ˡ⁾' for layer l."""
        layer = next((int(m.group(1)) for m in map(_LAYER.match, path) if m), None)
        prefix = REVERSE if "rev" in path else ""
        mark = superscript(f"({layer + 1})") if self._layers and layer is not None else ""
        return prefix, mark

    def _symbol(self, letter: str, path: list[str]) -> str:
        key = "/".join(path)
        marks = self._scope_marks.get(key)
        if marks is None:  # once per scope path: a long unroll has few of them and many nodes in each
            prefix, mark = self._marks(path)
            t = next((m.group(1) for m in map(_TIME.match, path) if m), None)
            marks = self._scope_marks[key] = (prefix, mark + (subscript(t) if t else ""))
        return f"{marks[0]}{letter}{marks[1]}"

    def _leaf_name(self, rec: Any) -> str:
        if rec.name:
            notes = alias(rec.name, self._layers) if rec.kind == "parameter" else None
            if notes is not None:
                self._torch[rec.id] = rec.name
                return notes
            short = _LETTER_DIGITS.match(rec.name)
            return f"{short.group(1)}{subscript(short.group(2))}" if short else rec.name
        if rec.kind == "constant" and rec.tensor.size == 1:
            return f"{float(rec.tensor.data.reshape(-1)[0]):.3g}"
        return rec.kind

    def _leaves_scope(self, rec: Any, scope: str) -> bool:
        """Is this output seen outside the scope that made it (or the graph's result)?"""
        nodes = self.graph.nodes
        return not rec.consumers or rec.id == self.graph.root or any(nodes[c].scope != scope for c in rec.consumers)

    def _gate_input(self, rec: Any) -> str | None:
        """The gate whose nonlinearity reads this tensor (and nothing else does), else None."""
        if len(rec.consumers) != 1:
            return None
        consumer = self.graph.nodes[rec.consumers[0]]
        path = consumer.scope.split("/")
        if consumer.op not in NONLINEAR or path[-1] not in GATE_SYMBOLS or path[-1] == "cell_state":
            return None
        outputs = [self.graph.tensors[t] for t in consumer.outputs]
        if not outputs or not self._leaves_scope(outputs[0], consumer.scope):
            return None
        return path[-1]

    def _preactivation(self, rec: Any) -> str | None:
        """'sᶠ₃' for a gate's pre-activation, 's₃' for the stacked pre-activations split into the gates."""
        if len(rec.consumers) == 1:  # a user's loop: h_t = tanh(s_t), h_t the one tensor its step hands on
            consumer = self.graph.nodes[rec.consumers[0]]
            if consumer.op in NONLINEAR and self._carried.get(consumer.scope) == 1 and any(
                self._leaves_scope(self.graph.tensors[t], consumer.scope) for t in consumer.outputs
            ):
                return self._symbol(PREACTIVATION, consumer.scope.split("/"))
        gate = self._gate_input(rec)
        if gate is not None:
            path = self.graph.nodes[rec.consumers[0]].scope.split("/")
            letter = "" if gate == "hidden" else superscript(GATE_SYMBOLS[gate])
            return self._symbol(PREACTIVATION + letter, path)
        if len(rec.consumers) == 1:
            split = self.graph.nodes[rec.consumers[0]]
            if split.op == "split" and split.outputs and all(
                self._gate_input(self.graph.tensors[t]) for t in split.outputs
            ):
                return self._symbol(PREACTIVATION, split.scope.split("/"))
        return None

    def _node_name(self, node: Any, rec: Any, suffix: str) -> str:
        path = node.scope.split("/") if node.scope else []
        self._track_projection(node, rec)
        if node.op == "transpose" and node.inputs and node.inputs[0] in self._torch:
            self._torch[rec.id] = self._torch[node.inputs[0]] + ".T"  # weight_hh_l0.T, PyTorch's spelling of W_hhᵀ
        if rec.name:
            return self._leaf_name(rec)
        if path and path[-1] in GATE_SYMBOLS and self._leaves_scope(rec, node.scope):
            self.symbols.add(rec.id)
            symbol = GATE_SYMBOLS[path[-1]]
            return self._symbol(("δ" if path[0] == "backward" else "") + symbol, path)
        if path and self._carried.get(node.scope) == 1 and self._leaves_scope(rec, node.scope):
            self.symbols.add(rec.id)
            return self._symbol("h", path)  # the one tensor a step of a user's loop hands on: its state h_t
        pre = self._preactivation(rec)
        if pre is not None:
            return pre
        projection = self._projection_name(node, rec)
        if projection is not None:
            return projection
        expression = self._expression(node)
        if expression is not None and len(expression) <= EXPRESSION_LIMIT and not suffix:
            return expression
        return self._symbol(node.op, path) + suffix

    def _expression(self, node: Any) -> str | None:
        names = [self._names[t] for t in node.inputs]
        if node.op in OPERATORS and len(names) == 2:
            a, b = names
            if node.op == "add":
                return f"{a}+{b}"
            return f"{wrap(a)}{OPERATORS[node.op]}{wrap(b)}"
        if node.op in NONLINEAR and len(names) == 1:
            return f"{NONLINEAR[node.op]}({names[0]})"
        if node.op == "neg":
            return f"−{wrap(names[0])}"
        if node.op == "transpose" and len(names) == 1:
            return f"{wrap(names[0])}ᵀ"
        if node.op == "matmul" and len(names) == 2:
            a, b = names
            if b.endswith("ᵀ") and not _compound(b[:-1]):  # x @ Wᵀ is the notes' W x
                return f"{b[:-1]} {wrap(a)}"
            return f"{wrap(a)} @ {wrap(b)}"
        if node.op in ("stack", "concat") and names:  # the outputs of every step: [h₁, h₂, h₃] or [h₁ … h₂₀]
            listed = "[" + ", ".join(names) + "]"
            return listed if len(listed) <= EXPRESSION_LIMIT or len(names) < 3 else f"[{names[0]} … {names[-1]}]"
        if node.op in ("sum", "mean") and len(names) == 1:
            return f"{'Σ' if node.op == 'sum' else 'mean'} {wrap(names[0])}"
        return None

    # --- projections: W_hh h₂, W_ih x₃+b and their pieces per gate ----------
    def _track_projection(self, node: Any, rec: Any) -> None:
        """Remember which tensors are x W_ihᵀ or h W_hhᵀ (+ bias), so their pieces can be named per gate."""
        tensors = self.graph.tensors
        if node.op == "matmul" and len(node.inputs) == 2:
            weight = self._weight_of(node.inputs[1])
            if weight is not None:
                self._proj[rec.id] = (weight[0], self._names[node.inputs[0]], False, *weight[1:])
        elif node.op == "add" and len(node.inputs) == 2:
            a, b = node.inputs
            for p, other in ((a, b), (b, a)):
                if p in self._proj and (tensors[other].producer is None or other not in self._proj):
                    side, operand, _, prefix, mark = self._proj[p]
                    self._proj[rec.id] = (side, operand, True, prefix, mark)
        elif node.op in ("split", "reshape") and node.inputs and node.inputs[0] in self._proj:
            self._proj[rec.id] = self._proj[node.inputs[0]]

    def _weight_of(self, tid: int) -> tuple[str, str, str] | None:
        """('i' or 'h', '←' or '', its layer mark) for W_ih / W_hh or their transpose, else None."""
        rec = self.graph.tensors[tid]
        if rec.producer is not None:
            node = self.graph.nodes[rec.producer]
            return self._weight_of(node.inputs[0]) if node.op == "transpose" and node.inputs else None
        torch = _TORCH.match(self._torch.get(tid, ""))
        if torch is None or torch.group(1) != "weight":
            return None
        mark = superscript(f"({int(torch.group(3)) + 1})") if torch.group(3) is not None and self._layers else ""
        return torch.group(2)[0], REVERSE if torch.group(4) else "", mark

    def _projection_name(self, node: Any, rec: Any) -> str | None:
        """'W_hr h₂+b_hr' for the reset gate's piece of W_hh h₂ + b_hh; 'W_ih x₃+b' for x_3's piece."""
        if rec.id not in self._proj:
            return None
        side, operand, bias, prefix, mark = self._proj[rec.id]
        if node.op != "split":
            core = f"{prefix}W_{side}h{mark} {wrap(operand)}"
            return core + ("+b" if bias else "")
        nodes = self.graph.nodes
        gates = {nodes[c].scope.split("/")[-1] for c in rec.consumers}
        times = {m.group(1) for c in rec.consumers for m in map(_TIME.match, nodes[c].scope.split("/")) if m}
        gate = GATE_SYMBOLS.get(gates.pop()) if len(gates) == 1 else None
        letter = gate if gate and gate not in "hc" else "h"
        if side == "i" and len(times) == 1 and not _compound(operand) and not plain(operand)[-1:].isdigit():
            operand += subscript(times.pop())  # x is the whole sequence: its piece at t is x_t
        b = (f"+b_{side}{letter}{mark}" if letter != "h" else "+b") if bias else ""
        return f"{prefix}W_{side}{letter}{mark} {wrap(operand)}{b}"


def names_of(graph: Any) -> Notation:
    """The ``Notation`` of a recorded graph, made once and kept on it (one pass over the graph)."""
    notation = graph.__dict__.get("_notation")
    if notation is None:
        notation = graph.__dict__["_notation"] = Notation(graph)
    return notation
