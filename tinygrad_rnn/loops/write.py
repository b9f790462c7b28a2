"""Writing the source: names in the notes' notation, the forward as loops, then BPTT reversed.

``Builder`` takes the loops ``fold.find_loops`` found, checks that every step runs the
same ops wired the same way, names every value (the notes' symbol for a gate's result:
``i f g o c h``, ``r u n``; parameters as ``W_hh`` with their PyTorch names in comments)
and writes ``training_step(inputs, params)``: outside ops one line each, each loop as
``for t``, then the backward in reverse, each line an op's backward rule (``rules``).
"""

from __future__ import annotations

import heapq
import keyword
import re
import unicodedata
from typing import Any

import numpy as np

from ..graph import trace
from ..ops import _is_basic
from ..tensor import Tensor
from .fold import Loop, LoopError, find_loops, output_positions, split_scope
from .rules import HELPERS, backward_texts, forward_text

# the notes' symbol of each gate scope (GRU's update gate is u: z is the BPTT sensitivity)
GATE_SYMBOLS = {
    "input_gate": "i", "forget_gate": "f", "cell_gate": "g", "output_gate": "o", "cell_state": "c",
    "hidden": "h", "reset_gate": "r", "update_gate": "u", "new_gate": "n", "output": "y",
}

# PyTorch parameter name -> the notes' symbol (weight_hh_l0 = W_hh)
_PARAMETER_ALIASES = {"weight_ih": "W_ih", "weight_hh": "W_hh", "bias_ih": "b_ih", "bias_hh": "b_hh",
                      "weight_ci": "w_ci", "weight_cf": "w_cf", "weight_co": "w_co"}


def display_name(tensor_name: str | None, single_layer: bool) -> str | None:
    """The notes' name of a parameter: weight_hh_l0 -> W_hh (W_hh_l1, W_hh_l0_reverse when there are several).

    The one place where names are chosen, so the notation layer can take it over.
    """
    if not tensor_name:
        return None
    leaf = tensor_name.rsplit(".", 1)[-1]
    match = re.fullmatch(r"(weight_ih|weight_hh|bias_ih|bias_hh|weight_c[ifo])(_l\d+(?:_reverse)?)?", leaf)
    if match:  # (a cell's own parameters have no layer suffix: LSTMCell.weight_hh is W_hh too)
        suffix = match.group(2) or ""
        if single_layer and suffix == "_l0":
            suffix = ""
        return _PARAMETER_ALIASES[match.group(1)] + suffix
    return _identifier(tensor_name)


def _identifier(text: str) -> str:
    """A valid Python name made from ``text`` (a parameter's dotted name, a scope, a name such as ``x₁``:
    NFKC folds subscript digits to plain ones, as Python does for the names it reads)."""
    name = re.sub(r"\W+", "_", unicodedata.normalize("NFKC", text)).strip("_") or "v"
    if name[0].isdigit() or keyword.iskeyword(name):
        name = "v_" + name
    return name


class _Writer:
    """Collects lines with their indentation, and which graph nodes each line computes."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.owner: dict[int, list[int]] = {}  # line number (0-based) -> node indices

    def add(self, indent: int, text: str, nodes: tuple[int, ...] = ()) -> int:
        self.lines.append("    " * indent + text if text else "")
        if nodes:
            self.owner[len(self.lines) - 1] = list(nodes)
        return len(self.lines) - 1


class _Names:
    """Fresh variable names: ``h``, then ``h_2``, ... never a keyword or a name the text already uses."""

    def __init__(self) -> None:
        self.used: set[str] = {"np", "T", "t", "inputs", "params", "grads", "sigmoid", "unbroadcast",
                               "scatter_add", "training_step"}

    def fresh(self, base: str) -> str:
        base = _identifier(base)
        name, k = base, 2
        while name in self.used or keyword.iskeyword(name):
            name, k = f"{base}_{k}", k + 1
        self.used.add(name)
        return name


class Builder:
    """Writes one graph's training step as loops (see the module docstring)."""

    def __init__(self, loss: Tensor):
        if not isinstance(loss, Tensor):
            raise TypeError(f"tr.bptt_loop: expected the loss Tensor, got {type(loss).__name__}")
        if loss._node is None:
            raise LoopError("tr.bptt_loop: this loss was not computed by recorded ops (nothing requires grad, or "
                            "it ran under no_grad), so there is no graph to write as a loop")
        if loss.data.size != 1:
            raise LoopError(f"tr.bptt_loop: the loss must be a scalar (one number), got shape {loss.shape}")
        self.loss = loss
        self.graph = graph = trace(loss)
        self.position = output_positions(graph)
        self.loops, self.where = find_loops(graph, self.position)
        if not self.loops:
            raise LoopError(
                "tr.bptt_loop: this graph has no time steps. A loop needs each step's ops recorded under a "
                "scope named t1, t2, ...: the built-in tr.nn.RNN/LSTM/GRU do this; in your own loop write "
                "`with tr.scope(f\"t{t}\"): h = ...` around each step's work")
        self.single = len(self.loops) == 1
        self.names = _Names()
        self.value: dict[int, str] = {}  # tensor id -> expression (outside the loops)
        self.leaf_inputs: dict[str, Any] = {}
        self.param_inputs: dict[str, tuple[str, np.ndarray]] = {}  # var -> (torch name, array)
        self.param_tid: dict[str, int] = {}  # var -> tensor id
        self.loaded: set[str] = set()  # inputs already read into a variable
        self.side: dict[int, str] = {}  # node index -> the variable of its ids / index arrays
        self.seq_names: dict[int, str] = {}  # split node index -> its list of per-step pieces (xWb_t)
        self.T = max(len(lp.steps) for lp in self.loops)
        # the backward's bookkeeping: gradient variables, which are assigned, where each node's rule is
        self.grad: dict[Any, str] = {}  # tensor id, ("seq", node index) or ("at", ...) -> gradient variable
        self.assigned: set[str] = set()
        self.backward_line: dict[int, int] = {}  # node index -> line (0-based) of its rule's first line
        self.backward_start = 0
        # gradients that reach a loop's values from outside it, by loop: whole sequences (dh_out) and
        # single steps (the last state: h_n, or a loss summed inside the loop)
        self.loop_seq: dict[int, dict[tuple[int, int], list[tuple[str, int | None, list[int]]]]] = {}
        self.loop_at: dict[int, dict[tuple[int, int], dict[int, str]]] = {}
        for loop in self.loops:
            self._classify(loop)
        self._suffixes()

    # -- analysis ---------------------------------------------------------

    def _classify(self, loop: Loop) -> None:
        """Find the template: one step's ops, and what each of their operands is at every step.

        Raises ``LoopError`` naming the step when the steps do not all run the same ops wired the same way.
        """
        graph = self.graph
        producer = {tid: (rec.index, self.position[tid]) for rec in graph.nodes for tid in rec.outputs}
        kinds_per_step = []
        for s, (_, members) in enumerate(loop.steps):
            place = {n: j for j, n in enumerate(members)}
            prev_place = {n: j for j, n in enumerate(loop.steps[s - 1][1])} if s > 0 else {}
            kinds = []
            for n in members:
                rec = graph.nodes[n]
                row = []
                for tid in rec.inputs:
                    p = producer.get(tid)
                    if p is not None and p[0] in place:
                        row.append(("local", (place[p[0]], p[1])))
                    elif p is not None and p[0] in prev_place:
                        row.append(("carry", (prev_place[p[0]], p[1])))
                    else:
                        row.append(("ext", tid))
                kinds.append(row)
            kinds_per_step.append(kinds)
        ref = kinds_per_step[1] if len(loop.steps) > 1 else kinds_per_step[0]
        template_nodes = [graph.nodes[n] for n in loop.steps[0][1]]
        for t, members in loop.steps:
            ops = [(graph.nodes[n].op, split_scope(graph.nodes[n].scope)[2]) for n in members]
            if ops != [(r.op, split_scope(r.scope)[2]) for r in template_nodes]:
                raise LoopError(self._mismatch(loop, t, "runs different ops"))
        for j, row in enumerate(ref):
            kinds = []
            for i, (kind, detail) in enumerate(row):
                column = [kinds_per_step[s][j][i] for s in range(len(loop.steps))]
                if kind in ("local", "carry"):
                    later = column[1:] if kind == "carry" else column
                    if any(c != (kind, detail) for c in later):
                        raise LoopError(self._mismatch(loop, loop.steps[0][0], "wires its ops differently"))
                    if kind == "carry":
                        if column[0][0] != "ext":
                            raise LoopError(self._mismatch(loop, loop.steps[0][0], "wires its ops differently"))
                        loop.inits[detail] = column[0][1]
                    kinds.append((kind, detail))
                    continue
                if any(c[0] != "ext" for c in column):
                    raise LoopError(self._mismatch(loop, loop.steps[0][0], "wires its ops differently"))
                tids = [c[1] for c in column]
                kinds.append(self._outside_kind(loop, j, i, tids))
            loop.inputs.append(kinds)
        loop.template = [(r.op, split_scope(r.scope)[2], r.node) for r in template_nodes]
        for op, tail, node in loop.template:
            if op == "embedding" or (op == "getitem" and not _is_basic(node.index)):
                raise LoopError(f"bptt_loop: '{op}' with index arrays inside the time steps ('{loop.prefix}/t.../"
                                f"{tail}') has no loop template: look the inputs up once, before the loop (as "
                                "tr.nn modules do)")
        if len(loop.steps) == 1:
            self._carries_of_single_step(loop)

    def _mismatch(self, loop: Loop, t: int, what: str) -> str:
        return (f"bptt_loop: step t{t} under '{loop.prefix or '(root)'}' {what} than the other steps, so the "
                "steps cannot be written as one loop body; record the same ops at every step")

    def _outside_kind(self, loop: Loop, j: int, i: int, tids: list[int]) -> tuple[str, Any]:
        """An operand made outside the steps: a literal (1), an invariant (W_hh.T), or a sequence
        (one piece per step of one split, or a different leaf per step)."""
        graph = self.graph
        tensors = [graph.tensors[tid] for tid in tids]
        producers = {r.producer for r in tensors}
        steps = [t for t, _ in loop.steps]
        if len(producers) == 1 and None not in producers:
            node = graph.nodes[next(iter(producers))]
            offsets = {t - self.position[tid] for t, tid in zip(steps, tids)}
            if node.op == "split" and len(offsets) == 1 and len(node.node.outputs) == len(steps):
                return ("seq", (("node", node.index), offsets.pop()))
        if len(set(tids)) == 1:
            rec = tensors[0]
            if rec.producer is None and not rec.tensor.requires_grad and rec.tensor.data.size == 1 \
                    and rec.tensor.data.ndim == 0:
                return ("literal", _number(rec.tensor.data))
            return ("inv", tids[0])
        if all(r.producer is None and not r.tensor.requires_grad and r.tensor.data.size == 1 for r in tensors) \
                and len({float(r.tensor.data.reshape(())) for r in tensors}) == 1 and tensors[0].tensor.data.ndim == 0:
            return ("literal", _number(tensors[0].tensor.data))
        if all(r.producer is None for r in tensors):
            return ("seq", (("leaves", tuple(tids)), min(steps)))
        raise LoopError(
            f"bptt_loop: op '{loop.template[j][0] if loop.template else graph.nodes[loop.steps[0][1][j]].op}' "
            f"in '{loop.prefix or '(root)'}' reads a different tensor at every step, made outside the steps' "
            "scopes; compute it inside `with tr.scope(f\"t{t}\")`, or cut it from one tensor with tr.split")

    def _carries_of_single_step(self, loop: Loop) -> None:
        """T = 1: no second step shows which inputs are carried; the built-in modules name their
        initial states h0 and c0 (y0 for Jordan), and the state they become is the last op of
        the 'hidden' / 'cell_state' / 'output' scope."""
        scope_of = {"h0": "hidden", "c0": "cell_state", "y0": "output"}
        last_in = {}
        for j, (_, tail, _) in enumerate(loop.template):
            last_in[tail.split("/")[-1] if tail else ""] = j
        for j, row in enumerate(loop.inputs):
            for i, (kind, detail) in enumerate(row):
                if kind != "inv":
                    continue
                name = self.graph.tensors[detail].tensor.name
                target = last_in.get(scope_of.get(name or "", "-"))
                if target is not None and target > j:
                    row[i] = ("carry", (target, 0))
                    loop.inits[(target, 0)] = detail

    def _suffixes(self) -> None:
        """With several loops, each loop's names end in PyTorch's suffix for its layer and direction."""
        if self.single:
            return
        for loop in self.loops:
            loop.suffix = self._scope_suffix(loop.prefix) or "_" + _identifier(loop.prefix or "loop")

    def _scope_suffix(self, scope: str) -> str:
        """'lstm/l1/rev/...' -> '_l1_reverse', 'lstm/l0' -> '_l0'; '' with a single loop or no layer in the scope."""
        match = re.search(r"(?:^|/)l(\d+)(?:/(fwd|rev))?(?:/|$)", scope)
        if self.single or not match:
            return ""
        return f"_l{match.group(1)}" + ("_reverse" if match.group(2) == "rev" else "")

    # -- naming -------------------------------------------------------------

    def _leaf_name(self, tid: int) -> str:
        """The variable of a leaf: the notes' name of a parameter, x for data, y for a target, ..."""
        if tid in self.value:
            return self.value[tid]
        rec = self.graph.tensors[tid]
        t = rec.tensor
        if rec.kind == "parameter" or t.requires_grad:
            base = display_name(t.name, self._single_layer()) or "param"
        else:
            consumers = {self.graph.nodes[n].op for n in rec.consumers}
            data_like = bool(consumers & {"reshape", "matmul", "transpose", "getitem", "split"})
            base = _identifier(t.name) if t.name else ("x" if data_like else "const")
            if not t.name and any(self.graph.nodes[n].op == "sub" and self.graph.nodes[n].inputs[1:] == (tid,)
                                  for n in rec.consumers):
                base = "y"  # what a loss subtracts: the target
            for name, data in self.leaf_inputs.items():  # the same input seen twice (x, reshaped per layer)
                if _identifier(name).split("_")[0] == base.split("_")[0] and isinstance(data, np.ndarray) \
                        and data.shape == t.data.shape and np.array_equal(data, t.data):
                    self.value[tid] = name
                    return name
        name = self.names.fresh(base)
        self.value[tid] = name
        if rec.kind == "parameter" or t.requires_grad:
            key = t.name or name
            if any(key == used for used, _ in self.param_inputs.values()):  # two parameters named alike
                key = name  # (e.g. the .weight of two separate modules): keep both, under the variable's name
            self.param_inputs[name] = (key, t.data)
            self.param_tid[name] = tid
        else:
            self.leaf_inputs[name] = t.data
        return name

    def _single_layer(self) -> bool:
        """One layer, one direction: parameters are W_hh, not W_hh_l0."""
        return all(not re.search(r"(?:^|/)l[1-9]\d*(?:/|$)", lp.prefix) and "/rev" not in lp.prefix
                   for lp in self.loops)

    def _template_names(self, loop: Loop) -> None:
        """Names of the template's values: the notes' symbol for a gate's result, else built from operands."""
        last_in: dict[str, int] = {}
        for j, (_, tail, _) in enumerate(loop.template):
            if tail:
                last_in[tail] = j
        carried = {key for key in loop.inits}
        consumers: dict[tuple[int, int], list[int]] = {}
        for j, row in enumerate(loop.inputs):
            for kind, detail in row:
                if kind == "local":
                    consumers.setdefault(detail, []).append(j)
        state_count = 0
        for j, (_, tail, node) in enumerate(loop.template):  # first the values the notes name: h, c, i, ...
            symbol = GATE_SYMBOLS.get(tail.split("/")[-1], _identifier(tail.split("/")[-1])) if tail else ""
            if tail and last_in[tail] == j and len(node.outputs) == 1:
                loop.names[(j, 0)] = self.names.fresh(symbol + loop.suffix)
            elif not tail and (j, 0) in carried and len(node.outputs) == 1:
                if self.graph.root in self.graph.nodes[loop.steps[-1][1][j]].outputs:  # summed into the loss
                    loop.names[(j, 0)] = self.names.fresh("loss" + loop.suffix)
                    continue
                state = "h" if state_count == 0 else f"state{state_count + 1}"
                loop.names[(j, 0)] = self.names.fresh(state + loop.suffix)
                state_count += 1
        for j, (op, tail, node) in enumerate(loop.template):  # then the rest, named after their operands
            symbol = GATE_SYMBOLS.get(tail.split("/")[-1], "")  # (a gate's: pre_i; a module's scope adds nothing)
            operands = [self._operand_base(loop, kind, detail) for kind, detail in loop.inputs[j]]
            for o in range(len(node.outputs)):
                if (j, o) in loop.names:
                    continue
                if op == "split":
                    users = consumers.get((j, o), [])
                    gate = {loop.template[u][1].split("/")[-1] for u in users}
                    label = GATE_SYMBOLS.get(gate.pop(), str(o)) if len(gate) == 1 and "" not in gate else str(o)
                    base = f"{operands[0]}_{label}"
                elif op == "matmul":
                    b = operands[1]
                    base = f"{operands[0]}W" if b.startswith("W") else f"{operands[0]}_{b}"
                elif op == "mul" and all(len(x) <= 2 and x.isidentifier() for x in operands):
                    base = "".join(operands)
                elif op in ("tanh", "sigmoid", "relu", "exp", "log"):
                    base = f"{op}_{operands[0]}"
                elif op == "transpose":
                    base = f"{operands[0]}_T"
                elif op == "add" and all(x.startswith("b_") for x in operands):
                    base = "bias"
                elif op == "add" and operands[1].startswith("b"):
                    base = f"{operands[0]}b"
                elif op == "add":
                    # a pre-activation is s, as in tinygrad_rnn.notation: s_f (LSTM gate), s (Elman, stacked gates)
                    base = f"s_{symbol}" if symbol not in ("", "h") else "s"
                elif op == "sub" and operands[0] == "one":
                    base = f"{operands[1]}_bar"  # 1 - u, written u_bar (so its gradient reads du_bar)
                else:
                    base = f"{symbol or 'v'}_{op}"
                loop.names[(j, o)] = self.names.fresh(base + loop.suffix)

    def _operand_base(self, loop: Loop, kind: str, detail: Any) -> str:
        """A short stem for naming a value after its operands: h, W_hh, xWb, one (the literal 1)."""
        if kind in ("local", "carry"):
            name = loop.names.get(detail, "v")
            return name[: -len(loop.suffix)] if loop.suffix and name.endswith(loop.suffix) else name
        if kind == "literal":
            return "one" if float(detail) == 1.0 else "k"
        if kind == "inv":
            name = self.value.get(detail) or self._leaf_name(detail)
            return name.removesuffix(".T")
        source, _ = detail
        if source[0] == "node":
            return _bare(self.seq_names.get(source[1], "xs"))
        return "xs"

    # -- emitting -------------------------------------------------------------

    def build(self) -> tuple[str, dict[int, tuple[int, int | None]], dict[str, Any], dict[str, tuple]]:
        """The whole source (header, ``training_step``), node index -> (line, t), and the recorded inputs."""
        order = self._segments()
        w = _Writer()
        what = ", ".join(sorted({_kind_of(lp.prefix) for lp in self.loops}))
        w.add(0, "def training_step(inputs, params):")
        w.add(1, f'"""One training step of {what}: the forward as a loop over t, then backpropagation')
        w.add(1, 'through time (BPTT): the same loop run backwards, carrying dL/dh from step t to step t - 1."""')
        w.add(1, f"T = {self.T}")
        self._forward(w, order)
        self._backward(w, order)
        w.add(1, "return grads")
        body = "\n".join(w.lines) + "\n"
        header = "import numpy as np\n\n\n" + "".join(
            text + "\n\n" for name, text in HELPERS.items() if re.search(rf"\b{name}\(", body))
        shift = header.count("\n")
        locations = {n: (line + shift, t) for n, (line, t) in self._locations(w).items()}
        return header + body, locations, self.leaf_inputs, self.param_inputs

    def _segments(self) -> list[tuple[str, Any]]:
        """Outside nodes and whole loops, in an order where each comes after what it reads."""
        graph = self.graph
        seg_of: dict[int, tuple[str, Any]] = {}
        for rec in graph.nodes:
            if rec.index in self.where:
                seg_of[rec.index] = ("loop", id(self.where[rec.index][0]))
            else:
                seg_of[rec.index] = ("node", rec.index)
        by_key = {("loop", id(lp)): lp for lp in self.loops}
        start: dict[tuple, int] = {}
        deps: dict[tuple, set] = {}
        producer = {tid: rec.index for rec in graph.nodes for tid in rec.outputs}
        for rec in graph.nodes:
            key = seg_of[rec.index]
            start[key] = min(start.get(key, rec.index), rec.index)
            for tid in rec.inputs:
                p = producer.get(tid)
                if p is not None and seg_of[p] != key:
                    deps.setdefault(key, set()).add(seg_of[p])
        waiting = {k: len(deps.get(k, ())) for k in start}
        users: dict[tuple, list] = {}
        for k, ds in deps.items():
            for d in ds:
                users.setdefault(d, []).append(k)
        ready = [(start[k], k) for k in start if waiting[k] == 0]
        heapq.heapify(ready)
        out = []
        while ready:
            _, k = heapq.heappop(ready)
            out.append(("loop", by_key[k]) if k[0] == "loop" else ("node", graph.nodes[k[1]]))
            for u in users.get(k, ()):
                waiting[u] -= 1
                if waiting[u] == 0:
                    heapq.heappush(ready, (start[u], u))
        if len(out) != len(start):
            raise LoopError("bptt_loop: an op outside the time-step scopes reads one step's result and feeds a "
                            "later step; put it inside `with tr.scope(f\"t{t}\")` so it is part of the step")
        return out

    def _expr(self, tid: int) -> str:
        """An outside expression for tensor ``tid`` (a leaf, an outside node's output, or a loop's last value)."""
        if tid in self.value:
            return self.value[tid]
        rec = self.graph.tensors[tid]
        if _is_literal(rec):
            return _number(rec.tensor.data)
        if rec.producer is None:
            return self._leaf_name(tid)
        loop_info = self.where.get(rec.producer)
        if loop_info is not None:
            loop, t, place = loop_info
            o = self.position[tid]
            index = "T" if t == len(loop.steps) + loop.first - 1 and loop.first == 1 else str(t)
            return f"{loop.names[(place, o)]}[{index}]"
        raise LoopError(f"bptt_loop: internal: no value for tensor {tid}")

    def _seq_input(self, rec: Any) -> str | None:
        """If a node reads one whole sequence of a loop's values (stack of h_1..h_T), its list expression."""
        if not rec.inputs:
            return None
        infos = [self.where.get(self.graph.tensors[tid].producer) for tid in rec.inputs]
        if any(info is None for info in infos) or len(rec.inputs) < 2:
            return None
        loops = {id(info[0]) for info in infos}
        if len(loops) != 1:
            return None
        loop = infos[0][0]
        keys = {(info[2], self.position[tid])
                for info, tid in zip(infos, rec.inputs)}
        ts = [info[1] for info in infos]
        if len(keys) != 1 or len(ts) != len(loop.steps):
            return None
        name = loop.names[keys.pop()]
        rng = _range_text(loop.first, len(loop.steps))
        if ts == sorted(ts):
            return f"[{name}[t] for t in {rng}]"
        if ts == sorted(ts, reverse=True):
            return f"[{name}[t] for t in reversed({rng})]"
        return None

    def _outside_name(self, rec: Any, ins: list[str]) -> str:
        """A name for an outside op's result: loss, xW (x @ W_ih.T), xWb (+ a bias), hs (stack of h_t), ...

        With several layers or directions it ends in the suffix of the layer and direction
        whose scope it ran in (xW_l1_reverse), like the loops' own names.
        """
        op = rec.op
        if rec.index == self.graph.tensors[self.graph.root].producer:
            return self.names.fresh("loss")
        bare = [_bare(x[1:].split("[")[0] if x.startswith("[") else x.split("[")[0].removesuffix(".T")) for x in ins]
        base = bare[0] if bare else "v"
        if op == "matmul" and bare[1].startswith("W_ih"):  # a layer's input projection: x_t W_ih^T for every t
            base = "xW"
        elif op == "matmul":
            base = f"{base}W" if bare[1].startswith("W") else f"{base}_{bare[1]}"
        elif op == "concat" and all(x.startswith("hs") for x in bare):  # both directions' h_t: the layer's output
            base = "out"
        elif op == "reshape" and len(rec.node.shape) > len(self.graph.tensors[rec.outputs[0]].shape):
            base = f"{base}_flat"
        elif op == "add" and len(ins) == 2 and all(x.startswith("b_") for x in ins):
            base = "bias"
        elif op == "add" and len(ins) == 2 and bare[1].startswith("b"):
            base = f"{base}b"
        elif op in ("stack", "concat") and ins[0].startswith("["):
            base = f"{base}s"
        elif op == "transpose":
            base = f"{base}_T"
        else:  # named after its first operand's stem and the op: hs_exp, hs_sum (no ever-growing chains)
            base = f"{base.split('_')[0] or 'v'}_{op}"
        return self.names.fresh(base + self._scope_suffix(rec.scope))

    def _forward(self, w: _Writer, order: list) -> None:
        """Load the parameters, then the forward: outside nodes line by line, each loop as a ``for t``."""
        graph = self.graph
        w.add(1, "# inputs and parameters (PyTorch names in the comments)")
        for rec in graph.tensors.values():
            if rec.producer is None and rec.consumers:
                if rec.kind == "parameter" or rec.tensor.requires_grad:
                    name = self._leaf_name(rec.id)
                    w.add(1, f'{name} = params["{self.param_inputs[name][0]}"]'
                          + (f"  # {rec.tensor.name}" if rec.tensor.name and rec.tensor.name != name else ""))
        w.add(1, "")
        w.add(1, "# ---- forward ----")
        for kind, item in order:
            if kind == "node":
                self._forward_node(w, item)
            else:
                self._forward_loop(w, item)
        w.add(1, "")

    def _ensure_leaf_lines(self, w: _Writer, tids: list[int]) -> None:
        """Read the inputs these tensors are from (x = inputs["x"]), once each."""
        for tid in tids:
            rec = self.graph.tensors[tid]
            if rec.producer is None and tid not in self.value and not _is_literal(rec):
                name = self._leaf_name(tid)
                if name in self.leaf_inputs and name not in self.loaded:
                    self.loaded.add(name)
                    w.add(1, f'{name} = inputs["{name}"]')

    def _forward_node(self, w: _Writer, rec: Any) -> None:
        """One outside op as one line (a split into per-step pieces becomes the list ``xWb_t``)."""
        alias = self._alias(rec)
        if alias:
            return
        seq = self._seq_input(rec)
        if seq is None:
            self._ensure_leaf_lines(w, list(rec.inputs))
            ins = [self._expr(tid) for tid in rec.inputs]
        else:
            ins = [seq]
        shapes = [tuple(self.graph.tensors[tid].shape) for tid in rec.outputs]
        text = forward_text(rec.node, ins, shapes, self._side_input(w, rec))
        if rec.op == "split":
            users = self._seq_user(rec)
            base = _bare(ins[0].removesuffix(".T"))
            if users is not None:
                name = self.names.fresh(f"{base}{self._scope_suffix(rec.scope)}_t")
                if len(rec.node.outputs) == self.T:
                    text = text.replace(f"np.split({ins[0]}, {self.T}, ", f"np.split({ins[0]}, T, ")
                self.seq_names[rec.index] = name
                w.add(1, f"{name} = {text}  # one piece per time step", (rec.index,))
                return
            names = [self.names.fresh(f"{base}_{k}{self._scope_suffix(rec.scope)}") for k in range(len(rec.outputs))]
            for tid, name in zip(rec.outputs, names):
                self.value[tid] = name
            targets = f"[{names[0]}]" if len(names) == 1 else ", ".join(names)
            w.add(1, f"{targets} = {text}", (rec.index,))
            return
        name = self._outside_name(rec, ins)
        self.value[rec.outputs[0]] = name
        w.add(1, f"{name} = {text}", (rec.index,))

    def _side_input(self, w: _Writer, rec: Any) -> str | None:
        """Read the array an op holds besides its operands (token ids, index arrays) from ``inputs``, once."""
        node = rec.node
        if rec.op == "embedding":
            array, base = node.ids, "ids"
        elif rec.op == "getitem" and not _is_basic(node.index):
            array, base = node.index, "index"
        else:
            return None
        name = self.names.fresh(base)
        self.leaf_inputs[name] = array
        self.loaded.add(name)
        self.side[rec.index] = name
        w.add(1, f'{name} = inputs["{name}"]')
        return name

    def _alias(self, rec: Any) -> bool:
        """A parameter's transpose (W_hh.T) is written where it is used, not as a line of its own."""
        if rec.op != "transpose" or tuple(rec.node.axes) != (1, 0):
            return False
        src = self.graph.tensors[rec.inputs[0]]
        if src.producer is not None:
            return False
        self.value[rec.outputs[0]] = self._leaf_name(src.id) + ".T"
        return True

    def _seq_user(self, rec: Any) -> Any:
        """The loop that reads the pieces of this split one per step, if any."""
        for loop in self.loops:
            for kinds in loop.inputs:
                for kind, detail in kinds:
                    if kind == "seq" and detail[0] == ("node", rec.index):
                        return loop
        return None

    def _loop_operand(self, loop: Loop, kind: str, detail: Any) -> str:
        """An operand of the loop body at iteration t: h[t - 1], xWb_t[t - 1], W_hh.T, 1, ..."""
        if kind == "local":
            return f"{loop.names[detail]}[t]"
        if kind == "carry":
            return f"{loop.names[detail]}[t + 1]" if loop.reverse else f"{loop.names[detail]}[t - 1]"
        if kind == "literal":
            return detail
        if kind == "inv":
            return self._expr(detail)
        source, offset = detail
        name = self.seq_names[source[1]] if source[0] == "node" else self._leaf_seq(loop, source[1], offset)
        return f"{name}[t - {offset}]" if offset else f"{name}[t]"

    def _leaf_seq(self, loop: Loop, tids: tuple, offset: int) -> str:
        """A different leaf at every step (x_t given as separate tensors): one input list ``xs``."""
        key = ("leaves", tids)
        if key not in self.value:
            name = self.names.fresh("xs")
            self.value[key] = name
            self.leaf_inputs[name] = [self.graph.tensors[tid].tensor.data for tid in tids]
            if loop.reverse:
                self.leaf_inputs[name] = self.leaf_inputs[name][::-1]
        return self.value[key]

    def _forward_loop(self, w: _Writer, loop: Loop) -> None:
        """One loop's forward: the per-step dicts, the initial states, then the body at t."""
        self._template_names(loop)
        for kinds in loop.inputs:
            for kind, detail in kinds:
                if kind == "inv":
                    self._ensure_leaf_lines(w, [detail])
                elif kind == "seq" and detail[0][0] == "leaves":
                    name = self._leaf_seq(loop, detail[0][1], detail[1])
                    if name not in self.loaded:
                        self.loaded.add(name)
                        w.add(1, f'{name} = inputs["{name}"]  # one array per time step')
        for key, tid in loop.inits.items():  # an unnamed initial state is h0 (c0, ...), as in the notes
            rec = self.graph.tensors[tid]
            if tid not in self.value and rec.producer is None and not rec.tensor.name:
                name = self.names.fresh(loop.names[key].removesuffix(loop.suffix) + "0")
                self.value[tid] = name
                self.leaf_inputs[name] = rec.tensor.data
                self.loaded.add(name)
                w.add(1, f'{name} = inputs["{name}"]')
        self._ensure_leaf_lines(w, list(loop.inits.values()))
        where = loop.prefix or "your loop"
        w.add(1, f"# {where}: the forward, one step per t" + (" (t = T down to 1)" if loop.reverse else ""))
        stored = [loop.names[key] for key in sorted(loop.names)]
        carried = {loop.names[key]: self._expr(tid) for key, tid in loop.inits.items()}
        start = _offset_text(loop.last + 1, loop.first, len(loop.steps)) if loop.reverse else str(loop.first - 1)
        plain = [n for n in stored if n not in carried]
        while plain:  # declarations, a line of at most ~100 characters each
            k = 1
            while k < len(plain) and len(", ".join(plain[:k + 1])) + 4 * (k + 1) < 90:
                k += 1
            chunk, plain = plain[:k], plain[k:]
            w.add(1, f"{', '.join(chunk)} = {', '.join('{}' for _ in chunk)}")
        for name, init in carried.items():
            w.add(1, f"{name} = {{{start}: {init}}}  # the initial state")
        rng = _range_text(loop.first, len(loop.steps))
        w.add(1, f"for t in {'reversed(' + rng + ')' if loop.reverse else rng}:")
        for j, (_, _, node) in enumerate(loop.template):
            ins = [self._loop_operand(loop, kind, detail) for kind, detail in loop.inputs[j]]
            shapes = [tuple(ref().shape) if ref() is not None else () for ref in node.outputs]
            text = forward_text(node, ins, shapes)
            outs = [f"{loop.names[(j, o)]}[t]" for o in range(len(node.outputs))]
            nodes = tuple(members[j] for _, members in loop.steps)
            w.add(2, f"{', '.join(outs)} = {text}", nodes)

    # -- backward ---------------------------------------------------------------

    def _backward(self, w: _Writer, order: list) -> None:
        """The backward: the segments in reverse, outside nodes one rule each, loops reversed; then grads."""
        self.backward_start = len(w.lines)
        w.add(1, "# ---- backward: backpropagation through time ----")
        root = self.graph.root
        self._send_outside(w, root, f"np.ones_like({self._expr(root)})  # dL/dL = 1", ())
        for kind, item in reversed(order):
            if kind == "node":
                self._backward_node(w, item)
            else:
                self._backward_loop(w, item)
        w.add(1, "")
        w.add(1, "grads = {}")
        for var, (torch_name, _) in self.param_inputs.items():
            g = self.grad.get(self.param_tid[var])
            if g is not None and g in self.assigned:
                w.add(1, f'grads["{torch_name}"] = {g}')

    def _grad_var(self, key: Any, base: str) -> str:
        """The gradient variable of ``key`` (``dW_hh`` for W_hh), made on first use."""
        if key not in self.grad:
            self.grad[key] = self.names.fresh("d" + base.split("[")[0].removesuffix(".T"))
        return self.grad[key]

    def _accumulate(self, w: _Writer, indent: int, var: str, expr: str, nodes: tuple = ()) -> None:
        """``var = expr`` the first time, ``var = var + expr`` after: the sum backward() makes."""
        if var in self.assigned:
            w.add(indent, f"{var} = {var} + {expr}", nodes)
        else:
            w.add(indent, f"{var} = {expr}", nodes)
            self.assigned.add(var)

    def _send_outside(self, w: _Writer, tid: int, expr: str, nodes: tuple) -> None:
        """A gradient for an outside tensor: a leaf, an outside node's output, or a loop's last value."""
        rec = self.graph.tensors[tid]
        if not rec.tensor.requires_grad:
            return
        if rec.producer is not None and rec.producer in self.where:
            loop, t, place = self.where[rec.producer]
            o = self.position[tid]
            key = ("at", id(loop), place, o, t)
            last = loop.first if loop.reverse else loop.last
            var = self._grad_var(key, loop.names[(place, o)] + ("" if t == last else f"_{t}"))
            self.loop_at.setdefault(id(loop), {}).setdefault((place, o), {})[t] = var
            self._accumulate(w, 1, var, expr, nodes)
            return
        if self.value.get(tid, "").endswith(".T") and rec.producer is not None:  # W_ih.T: straight to W_ih
            self._send_outside(w, self.graph.nodes[rec.producer].inputs[0], f"({expr}).T", nodes)
            return
        if rec.producer is None:
            var = self._grad_var(tid, self._leaf_name(tid))
        else:
            var = self._grad_var(tid, self.value.get(tid, "v"))
        self._accumulate(w, 1, var, expr, nodes)

    def _backward_node(self, w: _Writer, rec: Any) -> None:
        """One outside op's backward rule, sending each input its gradient."""
        if rec.op == "transpose" and self.value.get(rec.outputs[0], "").endswith(".T") and \
                self.graph.tensors[rec.inputs[0]].producer is None:
            return  # an alias W.T: its users sent their gradient to W directly
        if rec.index in self.seq_names:  # a split whose pieces feed a loop: its gradient is that loop's list
            g = self.grad.get(("seq", rec.index))
            if g is None:
                return
            self._send_outside(w, rec.inputs[0], f"np.concatenate({g}, axis={rec.node.axis})", (rec.index,))
            return
        outs = [self.grad.get(tid) for tid in rec.outputs]
        outs = [g if g in self.assigned else None for g in outs]
        if all(g is None for g in outs):
            return
        seq = self._seq_input(rec)
        ins = [seq] if seq is not None else [self._expr(tid) for tid in rec.inputs]
        shapes = [tuple(self.graph.tensors[tid].shape) for tid in rec.inputs]
        out_shapes = [tuple(self.graph.tensors[tid].shape) for tid in rec.outputs]
        out_names = [self.value.get(tid, "") for tid in rec.outputs]
        if seq is not None:
            loop = self.where[self.graph.tensors[rec.inputs[0]].producer][0]
            place = self.where[self.graph.tensors[rec.inputs[0]].producer][2]
            o = self.position[rec.inputs[0]]
            if rec.op == "stack":
                expr = outs[0] if rec.node.axis == 0 else f"np.moveaxis({outs[0]}, {rec.node.axis}, 0)"
                text = f"list({expr})"
            elif rec.op == "concat":
                text = f"np.split({outs[0]}, {len(rec.inputs)}, axis={rec.node.axis})"
            else:
                raise LoopError(f"bptt_loop: '{rec.op}' reads all steps of a loop; only stack/concat can")
            name = self.names.fresh("d" + loop.names[(place, o)].removesuffix(loop.suffix) + "_out" + loop.suffix)
            w.add(1, f"{name} = {text}  # the gradient reaching each step's output from above", (rec.index,))
            ts = [self.where[self.graph.tensors[tid].producer][1] for tid in rec.inputs]
            first = ts[0] if ts == sorted(ts) else None
            self.loop_seq.setdefault(id(loop), {}).setdefault((place, o), []).append((name, first, ts))
            return
        needed = [self.graph.tensors[tid].tensor.requires_grad for tid in rec.inputs]
        exprs = backward_texts(rec.node, ins, out_names, outs, shapes, out_shapes, self.side.get(rec.index))
        for tid, need, expr in zip(rec.inputs, needed, exprs):
            if need and expr is not None:
                self._send_outside(w, tid, expr, (rec.index,))

    def _backward_loop(self, w: _Writer, loop: Loop) -> None:
        """One loop's backward: carries and running sums set up, then the body reversed at t.

        At the top of an iteration a step value's gradient is what reaches it from outside the step
        (the layer above: ``dh_out``) plus the carry from the step processed before (``dh_next``);
        the body's rules then run in reverse order, each line an op's backward rule.
        """
        graph = self.graph
        names = loop.names
        seq_grads = self.loop_seq.get(id(loop), {})
        at_grads = self.loop_at.get(id(loop), {})
        rng = _range_text(loop.first, len(loop.steps))
        last_t = loop.first if loop.reverse else loop.last
        where = loop.prefix or "your loop"
        w.add(1, f"# {where}: backpropagation through time, the forward loop reversed")
        # the carries: dh_next holds what reaches h_t from step t + 1 (the reverse twin of z_t)
        carry_var: dict[tuple[int, int], str] = {}
        for key in loop.inits:
            base = names[key].removesuffix(loop.suffix)
            var = self.names.fresh(f"d{base}_next{loop.suffix}")
            carry_var[key] = var
            at = at_grads.get(key, {})
            last_ref = f"{names[key]}[{'T' if not loop.reverse and loop.first == 1 else last_t}]"
            if last_t in at and at[last_t] in self.assigned:
                w.add(1, f"{var} = {at.pop(last_t)}  # what reaches the last state from above")
            else:
                w.add(1, f"{var} = np.zeros_like({last_ref})")
        # invariants that need a gradient: running sums over t (dW_hh += ...)
        inv_var: dict[int, str] = {}
        for kinds in loop.inputs:
            for kind, detail in kinds:
                if kind == "inv" and detail not in inv_var and graph.tensors[detail].tensor.requires_grad:
                    target = self._inv_target(detail)
                    var = self._grad_var(target, self._expr(target))
                    if var in self.assigned:
                        w.add(1, f"{var} = np.array({var})")
                    else:
                        w.add(1, f"{var} = np.zeros_like({self._expr(target)})")
                        self.assigned.add(var)
                    inv_var[detail] = var
        seq_var: dict[Any, str] = {}
        for kinds in loop.inputs:
            for kind, detail in kinds:
                if kind == "seq" and detail[0][0] == "node" and detail[0] not in seq_var:
                    src = graph.nodes[detail[0][1]]
                    if graph.tensors[src.inputs[0]].tensor.requires_grad:
                        var = self.names.fresh("d" + self.seq_names[detail[0][1]])
                        self.grad[("seq", detail[0][1])] = var
                        seq_var[detail[0]] = var
                        w.add(1, f"{var} = [None] * {'T' if len(loop.steps) == len(src.outputs) else len(src.outputs)}")
        back_rng = rng if loop.reverse else f"reversed({rng})"
        w.add(1, f"for t in {back_rng}:")
        local: dict[tuple[int, int], str] = {}
        assigned_local: set[str] = set()
        commented: set[int] = set()

        def acc(var: str, expr: str, nodes: tuple) -> None:
            if var in assigned_local:
                w.add(2, f"{var} = {var} + {expr}", nodes)
            else:
                w.add(2, f"{var} = {expr}", nodes)
                assigned_local.add(var)

        def lvar(key: tuple[int, int]) -> str:
            if key not in local:
                local[key] = self.names.fresh("d" + names[key].removesuffix(loop.suffix) + loop.suffix)
            return local[key]

        # what reaches each step's values from outside the step: the carry and the layer above
        later = "t - 1" if loop.reverse else "t + 1"
        for key in sorted(set(carry_var) | set(seq_grads) | set(at_grads), reverse=True):
            terms = []
            for name, first_t, ts in seq_grads.get(key, []):
                if first_t is not None:
                    terms.append(f"{name}[t - {first_t}]" if first_t else f"{name}[t]")
                else:
                    terms.append(f"{name}[{_offset_text(ts[0], loop.first, len(loop.steps))} - t]")
            for t_at, var in at_grads.get(key, {}).items():
                if var in self.assigned:
                    terms.append(f"({var} if t == {t_at} else 0)")
            if key in carry_var:
                terms.append(carry_var[key])
            if terms:
                sources = (["above"] if len(terms) > (key in carry_var) else []) + \
                    ([f"step {later}"] if key in carry_var else [])
                symbol = names[key].removesuffix(loop.suffix)
                w.add(2, f"{lvar(key)} = {' + '.join(terms)}  # dL/d{symbol}_t, from {' and '.join(sources)}")
                assigned_local.add(lvar(key))
        for j in reversed(range(len(loop.template))):
            op, tail, node = loop.template[j]
            members = tuple(m[j] for _, m in loop.steps)
            outs = [lvar((j, o)) if lvar((j, o)) in assigned_local else None for o in range(len(node.outputs))]
            if all(g is None for g in outs):
                continue
            ins = [self._loop_operand(loop, kind, detail) for kind, detail in loop.inputs[j]]
            shapes = [tuple(t.shape) for t in node.inputs]
            out_shapes = [tuple(ref().shape) if ref() is not None else () for ref in node.outputs]
            out_names = [f"{names[(j, o)]}[t]" for o in range(len(node.outputs))]
            exprs = backward_texts(node, ins, out_names, outs, shapes, out_shapes)
            first = len(w.lines)
            for (kind, detail), expr in zip(loop.inputs[j], exprs):
                if expr is None:
                    continue
                if kind == "local":
                    acc(lvar(detail), expr, members)
                elif kind == "carry":
                    var = carry_var[detail]
                    fresh = var not in assigned_local
                    acc(var, expr, members)
                    if fresh:
                        earlier = "t + 1" if loop.reverse else "t - 1"
                        w.lines[-1] += f"  # to {names[detail].removesuffix(loop.suffix)}_{{{earlier}}}: carried"
                elif kind == "inv" and detail in inv_var:
                    target = self._inv_target(detail)
                    text = f"({expr}).T" if target != detail else expr
                    w.add(2, f"{inv_var[detail]} += {text}", members)
                    if detail not in commented:
                        commented.add(detail)
                        w.lines[-1] += "  # this step's share: summed over t"
                elif kind == "seq" and detail[0] in seq_var:
                    var, offset = seq_var[detail[0]], detail[1]
                    w.add(2, f"{var}[t - {offset}] = {expr}" if offset else f"{var}[t] = {expr}", members)
            if len(w.lines) > first:
                for n in members:
                    self.backward_line[n] = first
        for key, tid in loop.inits.items():
            if graph.tensors[tid].tensor.requires_grad:
                self._send_outside(w, tid, carry_var[key], ())

    def _inv_target(self, tid: int) -> int:
        """The tensor whose gradient an invariant's gradient goes to: W_hh for the alias W_hh.T."""
        name = self.value.get(tid, "")
        if name.endswith(".T"):
            for other, n in self.value.items():
                if n == name[:-2]:
                    return other
        return tid

    def _locations(self, w: _Writer) -> dict[int, tuple[int, int | None]]:
        """Node index -> (1-based line of the source that runs its backward, t or None outside loops)."""
        out: dict[int, tuple[int, int | None]] = {}
        for n, line in self.backward_line.items():
            info = self.where.get(n)
            out[n] = (line + 1, info[1] if info else None)
        for line, nodes in w.owner.items():
            for n in nodes:
                if n not in self.where and line > self.backward_start:
                    out.setdefault(n, (line + 1, None))
        return out


def _is_literal(rec: Any) -> bool:
    """A constant number (a 0-d leaf that needs no gradient), written into the text as it is: 1, 0.5."""
    return rec.producer is None and not rec.tensor.requires_grad and rec.tensor.data.ndim == 0


def _bare(name: str) -> str:
    """A name without its per-step '_t' and its layer/direction suffix: xWb_l1_reverse_t -> xWb."""
    return re.sub(r"_l\d+(?:_reverse)?$", "", name.removesuffix("_t"))


def _number(value: Any) -> str:
    """A 0-d constant as source: ``1`` for 1.0, else its repr."""
    number = float(np.asarray(value).reshape(()))
    return str(int(number)) if number.is_integer() else repr(number)


def _kind_of(prefix: str) -> str:
    """'lstm/l0/fwd' -> 'an LSTM', for the function's docstring."""
    head = prefix.split("/")[0] if prefix else ""
    return {"rnn": "an RNN", "lstm": "an LSTM", "gru": "a GRU", "jordan": "a Jordan network"}.get(head, "a loop")


def _offset_text(t: int, first: int, T: int) -> str:
    """Step index ``t`` written against T (``T``, ``T + 1``) when the loop runs 1..T: the same text at every T."""
    if first == 1 and t == T:
        return "T"
    if first == 1 and t == T + 1:
        return "T + 1"
    return str(t)


def _range_text(first: int, count: int) -> str:
    """The loop's range of t as source, written against T so that the text does not change with T."""
    if first == 1:
        return "range(1, T + 1)"
    if first == 0:
        return "range(T)"
    return f"range({first}, {first} + T)"
