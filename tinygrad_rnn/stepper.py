"""Step through the backward pass one node at a time, like a debugger.

Backpropagation visits the recorded nodes in reverse topological order. At
each node it takes the gradient of the loss with respect to the node's output
(the *upstream* gradient), multiplies it by the node's local derivative (the
op's ``formula``) and sends the result to each input:

    dL/dx = dL/dy * dy/dx

A leaf such as W_hh is used once per time step, so its gradient arrives in
pieces, one per use, and ``W_hh.grad`` is their sum:

    dL/dW_hh = sum over t of (dL/dW_hh)_t      (backpropagation through time)

The stepper numbers those pieces over the whole graph ("contribution 2 of 3,
from t=2"). When a model uses a *view* of the parameter at every step (PyTorch's
layout computes W_hh^T once and multiplies h_{t-1} @ W_hh^T at each step), the
pieces are summed in dL/d(W_hh^T) first and reach ``W_hh.grad`` when the
transpose node runs; they are still counted as W_hh's contributions, and the
event says where they are being collected.

``BackwardStepper`` runs exactly the same pass as ``loss.backward()`` (both use
``backward.BackwardPass``), so after ``run()`` every ``.grad`` is bit-for-bit
what ``backward()`` gives; it just stops after each node and tells you what
happened there.

Gradients that already sit in a leaf's ``.grad`` before the first step are
*accumulated into*, as ``backward()`` (and PyTorch) does: zero them first if you
want this pass alone. ``back()`` restores every ``.grad`` in the graph,
including those earlier values, exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .backward import BackwardPass, seed_grad
from .graph import NodeRecord, TensorRecord, gc_paused, time_step, trace
from .notation import gradient, names_of, subscript
from .rules import Filled, fill

FULL_ARRAY_SIZE = 16  # arrays with at most this many elements print in full


def format_array(array: np.ndarray | None, indent: int = 0) -> str:
    """Small arrays in full (4 decimals); large ones as shape, norm, min and max."""
    if array is None:
        return "None (no gradient)"
    array = np.asarray(array)
    if array.size > FULL_ARRAY_SIZE:
        return (
            f"<array shape {array.shape}, norm {np.linalg.norm(array):.4g}, "
            f"min {array.min():.4g}, max {array.max():.4g}>"
        )
    text = np.array2string(array, precision=4, suppress_small=True, separator=" ")
    return text.replace("\n", "\n" + " " * indent)


VIEW_OPS = ("transpose", "reshape", "split")  # ops that only move a parameter's numbers around


@dataclass
class Accumulation:
    """A gradient piece adding into a leaf's ``.grad``, or into a view of the leaf such as W_hh^T.

    A *use* of the leaf (any op but a view op reading it or its view) is one
    numbered contribution. A view op passing the pieces it collected on to the
    leaf is a *gathering* (``contribution`` is None).
    """

    leaf: str  # the leaf's label, e.g. "W_hh"
    into: str  # the tensor receiving it: the leaf itself, or a view such as "W_hh.T"
    contribution: int | None  # 1-based over the whole pass; None for a gathering
    of: int  # how many uses of this leaf (directly or through views) the whole graph has
    t: int | None  # time step of the node that sent it, from its scope
    grad: np.ndarray  # what is added
    total: np.ndarray  # the receiving gradient right after adding it
    gathered: int = 0  # for a gathering: how many contributions it passes on
    source: str = ""  # for a gathering: the view they were collected in

    @property
    def target(self) -> str:
        return f"{self.leaf}.grad" if self.into == self.leaf else gradient(self.into)

    def __str__(self) -> str:
        when = f", from t={self.t}" if self.t is not None else ""
        if self.contribution is None:
            return f"{self.target} += … ({self.gathered} of {self.of} contributions, collected in {self.source})"
        whose = "" if self.into == self.leaf else f"{self.leaf}'s "
        return f"{self.target} += … ({whose}contribution {self.contribution} of {self.of}{when})"


@dataclass
class Sent:
    """The gradient one node sends to one of its inputs."""

    to: str  # label of the input tensor
    grad: np.ndarray | None
    accumulation: Accumulation | None  # set when the input is a leaf that requires grad, or a view of one
    rule: Filled | None = None  # the local rule with the operands' names and numbers (None: no short rule)


@dataclass(repr=False)
class StepEvent:
    """What one step did: the node, its upstream gradient, its rule, what it sent."""

    step: int  # 1-based position in the backward pass
    steps: int  # length of the whole pass
    index: int  # the node's index in ``stepper.graph.nodes`` (topological order)
    op: str
    scope: str
    formula: str
    outputs: tuple[str, ...]  # labels of the node's outputs
    upstream: tuple[np.ndarray | None, ...]  # dL/d(output) for each output
    sent: tuple[Sent, ...]  # one per input that requires grad
    hooks: tuple[str, ...] = ()  # per gradient a hook (register_hook) replaced here: "changed dL/dh₃: norm ..."

    @property
    def name(self) -> str:
        return ", ".join(self.outputs)

    @property
    def t(self) -> int | None:
        return time_step(self.scope)

    @property
    def accumulations(self) -> list[Accumulation]:
        return [s.accumulation for s in self.sent if s.accumulation is not None]

    def headline(self) -> str:
        where = f" at {self.scope}" if self.scope else ""
        return f"step {self.step} of {self.steps}: {self.op}{where} -> {self.name}"

    def summary(self) -> str:
        """One line: the node and any leaf accumulations."""
        extra = "".join(f"; {a}" for a in self.accumulations)
        return self.headline() + extra

    def __repr__(self) -> str:
        return f"<StepEvent {self.headline()}>"

    def _repr_html_(self) -> str:
        """Jupyter: the event in full, its headline in bold."""
        from viz.notebook import event_html

        return event_html(self)

    def __str__(self) -> str:
        lines = [self.headline()]
        for label, g in zip(self.outputs, self.upstream):
            head = f"  upstream   {gradient(label)} = "
            lines.append(head + format_array(g, len(head)))
        if all(g is None for g in self.upstream):
            lines.append("  (no gradient reached this node: nothing to send)")
            return "\n".join(lines)
        lines.extend(f"  hook       {line}" for line in self.hooks)
        lines.append(f"  local rule {self.formula}")
        for s in self.sent:
            if s.rule is not None:
                lines.append(f"  sends      {s.rule}")
            else:
                head = f"  sends      {gradient(s.to)} = "
                lines.append(head + format_array(s.grad, len(head)))
            a = s.accumulation
            if a is not None:
                lines.append(f"             {a}")
                head = f"             {a.target} is now "
                lines.append(head + format_array(a.total, len(head)))
        return "\n".join(lines)


class Events(list):
    """A list of ``StepEvent`` that prints each event in full (readable in a REPL)."""

    def __repr__(self) -> str:
        return "\n\n".join(map(str, self)) if self else "[] (no steps taken)"


class BackwardStepper:
    """The backward pass of ``loss``, one node at a time (see the module docstring).

    >>> stepper = loss.backward(step=True)     # or tr.BackwardStepper(loss)
    >>> print(stepper.step()[0])               # the first node: rule and gradients
    >>> stepper.run_to("t1"); stepper.back(); stepper.run()
    >>> stepper.frames()                       # the whole pass as plain data, for viewers

    Making a stepper records the graph's structure (``stepper.graph``) but
    computes no gradient and changes no ``.grad`` until the first step.
    ``back()`` replays the pass from the start up to one step earlier, so it
    costs up to one full backward pass (cheap for teaching-sized graphs).
    """

    def __init__(self, loss: Any, grad: Any = None, retain_grads: bool = True):
        if loss._node is None and loss.requires_grad:
            raise ValueError(
                "BackwardStepper: the loss is a leaf (no op produced it), so there is nothing to "
                "step through; compute it from other tensors, or call loss.backward()"
            )
        seed = seed_grad(loss, grad)
        self.loss = loss
        self.retain_grads = retain_grads
        self._seed = seed
        self.graph = trace(loss)
        self._owner, self._view_nodes = self._find_views()
        self._labels = self._make_labels()
        self._uses = self._count_uses()
        self._index_of = {id(rec.node): rec.index for rec in self.graph.nodes}
        self._pass: BackwardPass | None = None
        self._baseline: dict[int, np.ndarray | None] = {}
        self._events: list[StepEvent] = []
        self._given: dict[int, int] = {}  # leaf id -> contributions delivered so far
        self._running: dict[int, np.ndarray] = {}  # view id -> its gradient summed so far
        self._written: set[int] = set()  # leaves whose .grad this pass has added to
        self._collected: dict[int, int] = {}  # view id -> contributions summed in it so far

    # --- labels and counts ------------------------------------------------
    def _find_views(self) -> tuple[dict[int, int], set[int]]:
        """Leaves that require grad, and views of them (transpose/reshape/split chains), -> their leaf."""
        owner = {
            tid: tid for tid, rec in self.graph.tensors.items() if rec.producer is None and rec.tensor.requires_grad
        }
        view_nodes = set()
        for node in self.graph.nodes:  # topological order: a view's input is seen before the view
            if node.op in VIEW_OPS and len(node.inputs) == 1 and node.inputs[0] in owner:
                view_nodes.add(node.index)
                owner.update((out, owner[node.inputs[0]]) for out in node.outputs)
        return owner, view_nodes

    def _make_labels(self) -> dict[int, str]:
        """The one display name per tensor, in the notes' notation (``tinygrad_rnn.notation``): c₃, f₃, W_hh."""
        notation = names_of(self.graph)
        return {tid: notation.name(tid) for tid in self.graph.tensors}

    def _count_uses(self) -> dict[int, int]:
        """For each leaf that requires grad: how many uses, directly or through its views, it has.

        A use is one (node, input) pair reading the leaf or a view of it, where
        the node is not itself a view op of the chain: each sends one piece of
        the leaf's gradient.
        """
        uses = {tid: 0 for tid, leaf in self._owner.items() if tid == leaf}
        for rec in self.graph.nodes:
            if rec.index in self._view_nodes:
                continue
            for tid, needed in zip(rec.inputs, rec.node.needs):
                if needed and tid in self._owner:
                    uses[self._owner[tid]] += 1
        return uses

    def label(self, tensor_id: int) -> str:
        """The label events use for the tensor with this id."""
        return self._labels[tensor_id]

    def contributions(self, tensor_id: int) -> tuple[int, int]:
        """(received so far, total over the whole pass) for the leaf with this id; (0, 0) otherwise."""
        return self._given.get(tensor_id, 0), self._uses.get(tensor_id, 0)

    def collecting(self, tensor_id: int) -> dict[str, np.ndarray]:
        """Views of this leaf (e.g. ``W_hh.T``) holding pieces of its gradient not yet passed on."""
        first_done = self.steps - self.position  # nodes from this index on have been processed
        return {
            self._labels[view]: partial
            for view, partial in self._running.items()
            if self._owner[view] == tensor_id and self.graph.tensors[view].producer < first_done
        }

    # --- state ------------------------------------------------------------
    @property
    def steps(self) -> int:
        """Length of the whole pass: one step per recorded node."""
        return len(self.graph.nodes)

    @property
    def position(self) -> int:
        """How many steps have been taken."""
        return len(self._events)

    @property
    def done(self) -> bool:
        return self.position == self.steps

    @property
    def events(self) -> Events:
        """Every step taken so far, in order."""
        return Events(self._events)

    @property
    def current(self) -> NodeRecord | None:
        """The node the next step will process (None when done)."""
        return None if self.done else self.graph.nodes[self.steps - 1 - self.position]

    def pending(self) -> list[NodeRecord]:
        """Nodes not processed yet, in the order they will be (the current one first)."""
        return self.graph.nodes[: self.steps - self.position][::-1]

    def _current_upstream(self) -> tuple[np.ndarray | None, ...]:
        """dL/d(output) of the current node: complete, since all its consumers are done."""
        node = self.current
        if node is None:
            return ()
        if self._pass is None:  # not started: only the seed dL/dloss is known
            return tuple(self._seed if i == self.loss._index else None for i in range(len(node.node.outputs)))
        slots = self._pass.pending.get(id(node.node))
        return tuple(slots[:-1]) if slots else (None,) * len(node.node.outputs)

    def _output_ids(self, node: NodeRecord) -> list[int | None]:
        """Tensor id of each output position (None where nobody kept the output)."""
        ids = []
        for ref in node.node.outputs:
            out = ref()
            ids.append(id(out) if out is not None and id(out) in self.graph.tensors else None)
        return ids

    def _output_labels(self, node: NodeRecord) -> tuple[str, ...]:
        """A label per output position (outputs nobody kept get the op, its time step and ``[i]``)."""
        t = time_step(node.scope)
        return tuple(
            self._labels[tid] if tid is not None else f"{node.op}{subscript(str(t)) if t else ''}[{i}]"
            for i, tid in enumerate(self._output_ids(node))
        )

    def known_grads(self) -> dict[int, np.ndarray]:
        """Gradients known so far, by tensor id.

        Finished nodes' outputs and the current node's outputs (complete once
        every consumer is done), and leaves that received at least one
        contribution in this pass (their ``.grad``, including any earlier value).
        """
        known: dict[int, np.ndarray] = {}
        for event in self._events:
            node = self.graph.nodes[event.index]
            for tid, g in zip(self._output_ids(node), event.upstream):
                if tid is not None and g is not None:
                    known[tid] = g
        if self.current is not None:
            for tid, g in zip(self._output_ids(self.current), self._current_upstream()):
                if tid is not None and g is not None:
                    known[tid] = g
        for tid in self._written:
            known[tid] = self.graph.tensors[tid].tensor.grad
        return known

    def where(self) -> str:
        """Where the pass stands: the step count and the node about to be processed."""
        return self._where_text(self.current, self._current_upstream())

    def _where_text(self, node: NodeRecord | None, upstream: tuple[np.ndarray | None, ...]) -> str:
        """``where()`` for a pass whose next node is ``node`` (None: finished), waiting with ``upstream``."""
        if node is None:
            return f"finished: {self.steps} of {self.steps} steps; every gradient is in .grad"
        labels = self._output_labels(node)
        where = f" at {node.scope}" if node.scope else ""
        position = self.steps - 1 - node.index
        lines = [f"step {position} of {self.steps} done; next: {node.op}{where} -> {', '.join(labels)}"]
        for label, g in zip(labels, upstream):
            head = f"  upstream waiting: {gradient(label)} = "
            lines.append(head + format_array(g, len(head)))
        return "\n".join(lines)

    def __repr__(self) -> str:
        if self.done:
            return f"<BackwardStepper finished: {self.steps}/{self.steps} steps>"
        node = self.current
        where = f" at {node.scope}" if node.scope else ""
        name = ", ".join(self._output_labels(node))
        return (f"<BackwardStepper step {self.position}/{self.steps}, next: {node.op} -> {name}{where} "
                f"(node #{node.index})>")

    def _repr_html_(self) -> str:
        """Jupyter: the explorer inline (static HTML+JS, so it works without a kernel)."""
        from viz.notebook import stepper_html

        return stepper_html(self)

    # --- moving -----------------------------------------------------------
    def _start(self) -> BackwardPass:
        """Begin the pass: remember every .grad in the graph so back() can restore it."""
        if self._pass is None:
            self._baseline = {
                tid: None if rec.tensor.grad is None else np.array(rec.tensor.grad, copy=True)
                for tid, rec in self.graph.tensors.items()
            }
            self._pass = BackwardPass(self.loss, self._seed, self.retain_grads, retain_graph=True)
        return self._pass

    def _one(self) -> StepEvent:
        backward_pass = self._start()
        node = self.graph.nodes[self._index_of[id(backward_pass.order[backward_pass.position - 1])]]
        # what each receiving leaf or view holds before this step (views: our running sums,
        # which add the same arrays in the same order as the engine's pending slots)
        before: dict[int, np.ndarray | None] = {}
        for tid in node.inputs:
            if tid in self._owner and self._owner[tid] == tid:
                grad = self.graph.tensors[tid].tensor.grad
                before[tid] = None if grad is None else np.array(grad, copy=True)
            elif tid in self._owner:
                before[tid] = self._running.get(tid)
        result = backward_pass.step()
        gathering = node.index in self._view_nodes
        sent = []
        names = [self._labels[tid] for tid in node.inputs]
        outputs = self._output_labels(node)
        for position, (tid, needed, g) in enumerate(zip(node.inputs, node.node.needs, result.grad_inputs)):
            if not needed or g is None:
                continue
            summed = (tid in self._owner or len(self.graph.tensors[tid].consumers) > 1
                      or node.inputs.count(tid) > 1)  # '+=': one piece of a sum; '=': all of dL/d(input)
            rule = fill(node, position, names, list(outputs), result.grad_outputs, g, summed)
            accumulation = None
            if tid in self._owner:
                leaf, prior = self._owner[tid], before[tid]
                if prior is None:
                    total = np.array(g, dtype=self.graph.tensors[tid].tensor.dtype)
                else:
                    total = (prior + g).astype(prior.dtype, copy=False)
                before[tid] = total
                if tid == leaf:
                    self._written.add(tid)
                else:
                    self._running[tid] = total
                number, gathered = None, 0
                if gathering:
                    gathered = sum(self._collected.get(out, 0) for out in node.outputs)
                else:
                    self._given[leaf] = number = self._given.get(leaf, 0) + 1
                if tid != leaf:
                    self._collected[tid] = self._collected.get(tid, 0) + (gathered if gathering else 1)
                accumulation = Accumulation(
                    self._labels[leaf], self._labels[tid], number, self._uses[leaf], time_step(node.scope), g,
                    total, gathered, ", ".join(self._labels[out] for out in node.outputs),
                )
            sent.append(Sent(self._labels[tid], g, accumulation, rule))
        event = StepEvent(
            step=self.position + 1,
            steps=self.steps,
            index=node.index,
            op=node.op,
            scope=node.scope,
            formula=node.formula,
            outputs=outputs,
            upstream=result.grad_outputs,
            sent=tuple(sent),
            hooks=self._hook_lines(result.hooks),
        )
        hooked = {self._labels.get(id(c.tensor)): c.tensor for c in result.hooks if c.tensor._node is None}
        for a in event.accumulations:  # a leaf hook ran at this step: .grad now holds the hooked sum
            if a.leaf in hooked:
                a.total = np.array(hooked[a.leaf].grad, copy=True)
        self._events.append(event)
        return event

    def _hook_lines(self, changes: tuple) -> tuple[str, ...]:
        """The step text for gradients that hooks replaced at this step (see hooks.py)."""
        lines = []
        for change in changes:
            label = self._labels.get(id(change.tensor), "a hooked tensor")
            leaf = change.tensor._node is None
            lines.append(change.describe(label) + (f", before it is added into {label}.grad" if leaf else ""))
        return tuple(lines)

    def step(self, n: int = 1) -> Events:
        """Process the next ``n`` nodes (fewer if the pass ends) and return their events."""
        if not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"step(n): n must be a positive integer, got {n!r}")
        with gc_paused():  # a long run makes an event per node and no cycles (see graph.gc_paused)
            return Events(self._one() for _ in range(min(int(n), self.steps - self.position)))

    def run(self) -> Events:
        """Process every remaining node; afterwards .grad is exactly what backward() gives."""
        return self.step(self.steps - self.position) if not self.done else Events()

    def _matches(self, node: NodeRecord, target: str, found: set[int]) -> bool:
        """``target`` names one of the node's outputs (their ids: ``found``), or is a run of segments of its scope."""
        if any(t in found for t in node.outputs) or target == f"{node.op}#{node.index}":
            return True
        want = [s for s in target.split("/") if s]
        have = node.scope.split("/") if node.scope else []
        return bool(want) and any(have[i : i + len(want)] == want for i in range(len(have) - len(want) + 1))

    def run_to(self, name_or_scope: str) -> Events:
        """Step until the current node is in scope ``name_or_scope`` or produces a tensor of that name.

        ``"t1"`` matches any scope with a ``t1`` segment (``rnn/l0/fwd/t1/hidden``);
        ``"fwd/t2"`` a run of segments; ``"h2"`` the node producing the tensor
        named h2. If the current node already matches, nothing happens.
        Raises ValueError (and does not move) if no pending node matches.
        """
        found = set(names_of(self.graph).find(name_or_scope))
        for ahead, node in enumerate(self.pending()):
            if self._matches(node, name_or_scope, found):
                return self.step(ahead) if ahead else Events()
        scopes = sorted({s for n in self.pending() for s in n.scope.split("/") if s})
        raise ValueError(
            f"run_to({name_or_scope!r}): no pending node is in that scope or produces a tensor of "
            f"that name; scope segments still ahead: {', '.join(scopes) or '(none)'}"
        )

    def reset(self) -> None:
        """Undo every step: every .grad in the graph goes back to its value before the first step."""
        for tid, grad in self._baseline.items():
            self.graph.tensors[tid].tensor.grad = None if grad is None else np.array(grad, copy=True)
        self._pass = None
        self._events = []
        self._given = {}
        self._running = {}
        self._written = set()
        self._collected = {}

    def back(self) -> StepEvent:
        """Undo the last step exactly (replays the pass up to one step earlier); returns the undone event."""
        if not self._events:
            raise ValueError("back(): nothing to undo, no step has been taken yet")
        undone = self._events[-1]
        target = self.position - 1
        self.reset()
        if target:
            self.step(target)
        return undone

    def go_to(self, position: int) -> None:
        """Move to ``position`` steps taken (0 = start), forwards or backwards."""
        if not 0 <= position <= self.steps:
            raise ValueError(f"go_to: position must be between 0 and {self.steps}, got {position}")
        if position < self.position:
            self.reset()
        if position > self.position:
            self.step(position - self.position)

    # --- looking ----------------------------------------------------------
    def lookup(self, name: str) -> list[TensorRecord]:
        """Tensors of the graph that ``name`` names: its display name (``h₃``, typed ``h3``), a PyTorch
        name (``weight_hh_l0``) or an engine id (``tanh#7``, a debugging detail)."""
        found = [self.graph.tensors[tid] for tid in names_of(self.graph).find(name)]
        if not found:
            names = sorted({self._labels[t] for t in self.graph.tensors if self.graph.tensors[t].kind != "constant"})
            shown = ", ".join(names[:30]) + (f", … ({len(names) - 30} more)" if len(names) > 30 else "")
            raise KeyError(
                f"no tensor named {name!r} in this graph; its tensors: {shown or '(none)'} "
                f"(type h3 for h₃, or the PyTorch name such as weight_hh_l0)"
            )
        return found

    def show(self, name: str) -> str:
        """The value of tensor ``name`` and its gradient as far as the pass has got."""
        known = self.known_grads()
        blocks = []
        for rec in self.lookup(name):
            label = self._labels[rec.id]
            head = f"{label} = "
            lines = [f"{names_of(self.graph).full(rec.id)}: {rec.kind}, shape {rec.shape}"]
            lines.append(head + format_array(rec.tensor.data, len(head)))
            head = f"{gradient(label)} = "
            if rec.id in known:
                lines.append(head + format_array(known[rec.id], len(head)))
            elif not rec.tensor.requires_grad:
                lines.append(f"{head}(none: it does not require grad)")
            else:
                lines.append(f"{head}(not known yet)")
            if rec.id in self._uses:
                lines.append("contributions so far: {} of {}".format(*self.contributions(rec.id)))
                for view, partial in self.collecting(rec.id).items():
                    head = f"being collected in {gradient(view)} = "
                    lines.append(head + format_array(partial, len(head)))
            blocks.append("\n".join(lines))
        return "\n\n".join(blocks)

    def __viz_state__(self) -> dict[str, Any]:
        """What ``viz.draw(stepper)`` draws: node statuses and the gradients known so far.

        "current" is the node of the step just taken (the one the last event
        describes), "next" is ``stepper.current`` (the node the next step will
        process), "done" the other processed nodes, "pending" the rest.
        """
        first_done = self.steps - self.position
        status = {}
        for node in self.graph.nodes:
            if node.index > first_done or (node.index == first_done and self.position == 0):
                status[node.index] = "done"
            elif node.index == first_done:
                status[node.index] = "current"
            elif node.index == first_done - 1:
                status[node.index] = "next"
            else:
                status[node.index] = "pending"
        return {"graph": self.graph, "status": status, "grads": self.known_grads()}

    def tensor_numbers(self) -> dict[int, int]:
        """Tensor id -> its position k in ``graph.tensors`` (``viz.draw`` names its box ``v<k>``)."""
        return {tid: k for k, tid in enumerate(self.graph.tensors)}

    def frames(self) -> list[dict[str, Any]]:
        """The whole backward pass as plain data: one frame per position 0..steps.

        Frame k is the state after k steps (JSON-ready: strings, numbers, lists, dicts):

        - ``position``, ``steps``; ``node``: index (in ``graph.nodes``) of the node
          step k processed, the one ``text`` describes (None for k = 0);
          ``next``: the node step k+1 will process (None at the end);
        - ``text``: the event of step k in full (upstream, local rule, what it
          sent); ``rules``: its filled-in rules as plain data (``Filled.to_dict``);
          ``where``: what ``where()`` says at position k;
        - ``done``: indices of every processed node; ``known``: tensor numbers
          (see ``tensor_numbers``) whose gradient is known at position k;
        - ``grads``: {tensor number: {"text", "norm"}} for the gradients that
          became known or changed at step k (a later frame's entry replaces
          an earlier one; intermediates never change once known);
        - ``contributions``: the pieces of a leaf's gradient step k delivered:
          {"leaf", "tensor", "number", "of", "t", "norm", "into"}. Summed over
          frames 1..k they are the BPTT sum as far as it has got;
        - ``leaves``: every leaf that requires grad, its gradient so far and how
          many contributions it has had, as text.

        Computed in one pass: the stepper runs on to the end, the frames are
        read off its events, and it is put back at its position (replaying up
        to it), so every ``.grad`` is as it was.
        """
        back_to = self.position
        self.run()
        events = list(self._events)
        number = self.tensor_numbers()
        leaves = [tid for tid, leaf in self._owner.items() if tid == leaf]
        totals: dict[int, np.ndarray] = {}
        got: dict[int, int] = {}
        collecting: dict[int, np.ndarray] = {}  # view tensor id -> its partial sum
        label_to_id = {self._labels[tid]: tid for tid in self._owner}
        done: list[int] = []
        known: dict[int, None] = {}  # tensor numbers, in the order their gradients became known
        frames = []
        for k in range(self.steps + 1):
            event = events[k - 1] if k else None
            grads: dict[int, dict[str, Any]] = {}
            contributions = []

            def learn(tid: int | None, g: np.ndarray | None, grads: dict = grads) -> None:
                if tid is not None and g is not None:
                    known[number[tid]] = None
                    grads[number[tid]] = {"text": format_array(g), "norm": float(np.linalg.norm(g))}

            if event is not None:
                done.append(event.index)
                for a in event.accumulations:
                    into = label_to_id[a.into]
                    leaf = self._owner[into]
                    if into == leaf:
                        learn(into, a.total)
                        totals[into] = a.total
                    else:
                        collecting[into] = a.total
                    if a.contribution is not None:
                        got[leaf] = a.contribution
                        contributions.append({
                            "leaf": a.leaf, "tensor": number[leaf], "number": a.contribution, "of": a.of,
                            "t": a.t, "norm": float(np.linalg.norm(a.grad)), "into": a.into,
                        })
                for view in [v for v in collecting if self.graph.tensors[v].producer == event.index]:
                    del collecting[view]
            following = events[k] if k < self.steps else None
            upcoming = self.graph.nodes[following.index] if following is not None else None
            if upcoming is not None:
                for tid, g in zip(self._output_ids(upcoming), following.upstream):
                    learn(tid, g)
            panel = []
            for tid in leaves:
                head = f"{self._labels[tid]}.grad = "
                value = format_array(totals[tid], len(head)) if tid in totals else "(nothing yet)"
                torch = names_of(self.graph).torch_name(tid)
                also = f" (PyTorch: {torch}.grad)" if torch else ""
                panel.append(f"{head}{value}\n  {got.get(tid, 0)} of {self._uses[tid]} contributions so far{also}")
                for view, partial in collecting.items():
                    if self._owner[view] == tid:
                        head = f"  being collected in {gradient(self._labels[view])} = "
                        panel.append(head + format_array(partial, len(head)))
            frames.append({
                "position": k,
                "steps": self.steps,
                "node": None if event is None else event.index,
                "next": None if upcoming is None else upcoming.index,
                "text": "no step taken yet" if event is None else str(event),
                "rules": [] if event is None else [s.rule.to_dict() for s in event.sent if s.rule is not None],
                "where": self._where_text(upcoming, () if following is None else following.upstream),
                "done": list(done),
                "known": list(known),
                "grads": grads,
                "contributions": contributions,
                "leaves": "\n".join(panel),
            })
        self.go_to(back_to)
        return frames
