"""Backpropagation: the chain rule applied to the recorded graph, node by node.

Read ``reference_backward`` first: it is the whole algorithm in a dozen lines.
Visit the nodes in reverse topological order (every node after all the nodes
that used its outputs), and at each one apply the op's local rule to the
gradient arriving at its output, adding what it sends into each input:

    dL/d(input) += local_derivative(node)^T . dL/d(output)

``BackwardPass`` below computes exactly the same numbers (a test checks this
bit for bit on RNN, LSTM and GRU graphs) with the bookkeeping a real engine
needs: it can stop after any node (the stepper), it does not copy an array it
does not own, and it adds a slice's gradient into place instead of building a
full-size array per time step. The walk is iterative (no recursion), so a
graph 10,000 ops deep, an RNN unrolled over 10,000 steps, is fine. It also
refuses a node whose saved numbers were changed in place since the forward
pass (``check_unchanged``): that gradient would belong to another function.

What it keeps is up to the caller (see ``graph.teaching_mode``): ``.grad`` on
every intermediate tensor or only on leaves and ``retain_grad()`` tensors, and
the graph itself, or each node freed (``release``) as soon as it has been used.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from .graph import (
    SWITCHES,
    WRITES,
    check_finite,
    describe,
    gc_paused,
    recording_consumed,
    topological_order,
    written_since,
)
from .hooks import HOOKS, HookChange, hooked_leaves
from .hooks import run as run_hooks

# Intermediate tensors whose .grad backward() keeps (Tensor.retain_grad()), by id; weak, so a
# tensor that dies is not kept alive (and a new tensor reusing its id is not mistaken for it:
# the reference must still point at it). Dead entries are swept out when the table has doubled,
# not by a weakref callback: Python ignores an exception raised in a callback, so a Ctrl-C
# arriving while one ran would be lost (issue 28).
RETAINED: dict[int, weakref.ref] = {}
_SWEEP_AT = [64]


def retain(tensor: Any) -> None:
    """Mark a non-leaf tensor so that backward() keeps its ``.grad`` (``Tensor.retain_grad``)."""
    if len(RETAINED) >= _SWEEP_AT[0]:
        for key in [key for key, ref in RETAINED.items() if ref() is None]:
            del RETAINED[key]
        _SWEEP_AT[0] = max(64, 2 * len(RETAINED))
    RETAINED[id(tensor)] = weakref.ref(tensor)


def release(node: Any) -> None:
    """Free what a node holds once backward has used it: its saved arrays and its links to its
    inputs (so the tensors upstream, and their data, can go as soon as nothing else holds them).
    Only the op name and scope stay, for the error a second backward() through it raises."""
    scope = node.scope
    vars(node).clear()
    node.freed, node.scope = True, scope


def reference_backward(root: Any, grad: Any = None) -> None:
    """Backpropagation as the textbook states it; ``backward()`` gives the same numbers, faster."""
    grads = {id(root): seed_grad(root, grad)}  # dL/dt for every tensor t reached so far, by id
    tensors = {id(root): root}  # keeps each tensor of ``grads`` alive and findable
    for node in reversed(topological_order(root)):  # a node comes after every node that used it
        outputs = [ref() for ref in node.outputs]
        upstream = [grads.get(id(out)) if out is not None else None for out in outputs]  # dL/d(output)
        if all(g is None for g in upstream):
            continue  # no path from the loss runs through this node
        sent = node.backward(upstream[0] if len(upstream) == 1 else tuple(upstream))  # the local rule
        for x, needed, g in zip(node.inputs, node.needs, sent):
            if needed and g is not None:  # a tensor used twice gets the sum of both gradients
                grads[id(x)] = grads[id(x)] + g if id(x) in grads else g
                tensors[id(x)] = x
    for key, t in tensors.items():  # leaves accumulate across calls; intermediates are overwritten
        if t.requires_grad:
            t.grad = grads[key].copy() if t.grad is None or t._node is not None else t.grad + grads[key]


@dataclass
class NodeEvent:
    """What one step of the backward pass did at one node."""

    node: Any
    grad_outputs: tuple  # upstream gradient for each output
    grad_inputs: tuple  # gradient sent to each input (None where not needed)
    hooks: tuple = ()  # HookChange for each tensor whose hooks returned a new gradient at this step


class BackwardPass:
    """The backward pass as a sequence of node steps (``backward()`` runs them all).

    Kept separate so that a stepper can run it one node at a time and still get
    exactly the numbers ``backward()`` gets.

    Gradient bookkeeping: ``pending[id(node)]`` holds one gradient slot per output
    of a node not processed yet. A slot first *borrows* the array it receives
    (no copy); the second gradient into the same slot makes a fresh sum, which
    the slot then owns, and later ones are added into it in place.
    """

    def __init__(self, root: Any, grad: np.ndarray, retain_grads: bool = True, retain_graph: bool = True):
        self.root = root
        self.order = topological_order(root)
        self.retain_grads = retain_grads
        self.retain_graph = retain_graph  # False: free each node once used (see release)
        self.pending: dict[int, list] = {}  # id(node) -> [grad per output..., owned bit mask]
        # hooked leaves: {position of their last use: [leaves]} and their .grad from before this pass,
        # set aside so this pass's pieces sum alone and the hooks see that sum (see hooks.py)
        leaf_hooks = None
        if HOOKS:
            flush = hooked_leaves(self.order)
            if flush:
                leaf_hooks = (flush, {id(t): t.grad for leaves in flush.values() for t in leaves})
                for leaves in flush.values():
                    for t in leaves:
                        t.grad = None
        if root._node is None:
            _to_leaf(root, run_hooks(root, grad) if HOOKS else grad)
        else:
            _slots(self.pending, root._node)[root._index] = grad
        # [nodes left to process (order[:cursor[0]]), does step() want a NodeEvent per node?,
        #  anomaly mode of the thread that called step() or run()]
        # The walk holds this list and not self, so a pass abandoned half-way makes no
        # reference cycle (pass -> walk -> pass) and is freed at once by reference counting.
        self._cursor = [len(self.order), True, False]
        self._walker = _walk(self.order, self.pending, self._cursor, retain_grads, retain_graph, leaf_hooks)

    @property
    def position(self) -> int:
        """Nodes left to process: ``order[:position]``."""
        return self._cursor[0]

    @property
    def done(self) -> bool:
        return self._cursor[0] == 0

    def step(self) -> NodeEvent:
        """Process the next node: apply its local rule, pass gradients to its inputs."""
        if self.done:
            raise RuntimeError("the backward pass is done: every node has been processed")
        self._cursor[1], self._cursor[2] = True, SWITCHES.now[1]
        return next(self._walker)

    def run(self) -> None:
        """Process every node left (this is ``backward()``; no events are built)."""
        self._cursor[1], self._cursor[2] = False, SWITCHES.now[1]
        for _ in self._walker:
            pass


def _slots(pending: dict, node: Any) -> list:
    slots = pending.get(id(node))
    if slots is None:
        slots = [None] * len(node.outputs) + [0]
        pending[id(node)] = slots
    return slots


def _walk(order: list, pending: dict, cursor: list, retain: bool, retain_graph: bool,
          leaf_hooks: tuple | None = None) -> Iterator[NodeEvent | None]:
    """The chain rule at each node in reverse topological order, one node per ``next()``.

    (One generator serves both step() and run(): the same code, so the same
    numbers; a generator also keeps the per-node loop free of call overhead.)
    Hooks (hooks.py): a node's output gradients go through their tensors' hooks
    before the node's rule uses them; hooked leaves get theirs after their last use.
    """
    retained, writes, hooks = RETAINED, WRITES, HOOKS
    position = cursor[0]
    while position:
        position -= 1
        cursor[0] = position
        node = order[position]
        slots = pending.pop(id(node), None)
        if slots is None:  # no gradient reached this node: nothing depends on it
            event = NodeEvent(node, (None,) * len(node.outputs), (None,) * len(node.inputs)) if cursor[1] else None
            if hooks or leaf_hooks is not None:  # (a hook may remove every hook half-way)
                _note_hooks(event, (), leaf_hooks, position)
            yield event
            if not retain_graph:
                release(node)
            continue
        if node.writes < writes[0]:  # some tensor was written in place after this node was recorded
            check_unchanged(node)
        grad_outputs = slots[:-1] if len(slots) > 2 else (slots[0],)
        changes = ()
        if hooks:
            grad_outputs, changes = _hook_outputs(node, grad_outputs)
        if retain:
            for ref, g in zip(node.outputs, grad_outputs):
                if g is not None:
                    out = ref()
                    if out is not None:
                        out.grad = g
        elif retained:  # only the tensors someone called retain_grad() on
            for ref, g in zip(node.outputs, grad_outputs):
                out = ref()
                if g is not None and out is not None and id(out) in retained and retained[id(out)]() is out:
                    out.grad = g
        if node.add_into is not None:  # a slice x[idx]: add g into x's gradient where it sits
            _scatter(pending, node, grad_outputs[0], cursor[2])
            event = NodeEvent(node, tuple(grad_outputs), node.backward(grad_outputs[0])) if cursor[1] else None
            if hooks or leaf_hooks is not None:  # (a hook may remove every hook half-way)
                _note_hooks(event, changes, leaf_hooks, position)
            if not retain_graph:
                release(node)
            yield event
            continue
        grad_inputs = node.backward(grad_outputs[0] if len(grad_outputs) == 1 else tuple(grad_outputs))
        if cursor[2]:
            check_finite(node, grad_inputs, "gradient")
        for t, needed, g in zip(node.inputs, node.needs, grad_inputs):
            if needed and g is not None:
                parent = t._node
                if parent is None:
                    _to_leaf(t, g)
                    continue
                into = pending.get(id(parent))
                if into is None:  # _slots(pending, parent), inlined: this loop is the hot path
                    n = len(parent.outputs)
                    into = pending[id(parent)] = [None, 0] if n == 1 else [None] * n + [0]
                if into[t._index] is None:
                    into[t._index] = g  # borrowed
                else:
                    _accumulate(into, t._index, g)
        event = NodeEvent(node, tuple(grad_outputs), tuple(grad_inputs)) if cursor[1] else None
        if hooks or leaf_hooks is not None:
            _note_hooks(event, changes, leaf_hooks, position)
        if not retain_graph:
            release(node)
        yield event


def _note_hooks(event: NodeEvent | None, changes: tuple, leaf_hooks: tuple | None, position: int) -> None:
    """After the node at ``position``: run the hooks of the leaves it was the last use of, and put
    every gradient a hook replaced at this step (``changes``: its outputs') on the event."""
    if leaf_hooks is not None and position in leaf_hooks[0]:
        changes += _hook_leaves(leaf_hooks[0].pop(position), leaf_hooks[1])
    if changes and event is not None:
        event.hooks = changes


def _hook_outputs(node: Any, grad_outputs: Any) -> tuple[list, tuple]:
    """Run the hooks of the node's outputs on their (complete) gradients; return the gradients
    that go on, and a HookChange for each one a hook replaced."""
    grads, changes = list(grad_outputs), []
    for k, (ref, g) in enumerate(zip(node.outputs, grad_outputs)):
        out = ref()
        if g is not None and out is not None and id(out) in HOOKS:
            new = run_hooks(out, g)
            if new is not g:
                changes.append(HookChange(out, g, new))
                grads[k] = new
    return grads, tuple(changes)


def _hook_leaves(leaves: list, before: dict) -> tuple:
    """Hooked leaves whose last use has run: pass this pass's summed gradient through their hooks,
    then add it to what ``.grad`` held before the pass (leaves accumulate, as in PyTorch)."""
    changes = []
    for t in leaves:
        g, previous = t.grad, before.pop(id(t))
        if g is None:  # no gradient reached it: its hooks are not called
            t.grad = previous
            continue
        new = run_hooks(t, g)
        if new is not g:
            changes.append(HookChange(t, g, new))
        t.grad = np.array(new, copy=True) if previous is None else previous + new
    return tuple(changes)


def _scatter(pending: dict, node: Any, g: np.ndarray, anomaly: bool) -> None:
    """Accumulate for a node whose gradient is ``g`` in part of its input and zero elsewhere.

    Unrolled RNNs read x_t = xs[t] from one projected sequence at every step:
    materialising a full-size zero gradient per step would make BPTT
    quadratic in T. Instead ``node.add_into`` adds ``g`` into the input's
    gradient buffer in place (the first step's buffer comes from backward()).
    """
    if anomaly:
        check_finite(node, (g,), "gradient")
    (t,) = node.inputs
    if not node.needs[0]:
        return
    parent = t._node
    if parent is None:
        if t.grad is None:
            _to_leaf(t, node.backward(g)[0])
        elif t.requires_grad:
            node.add_into(t.grad, g)
        return
    slots = _slots(pending, parent)
    index = t._index
    current = slots[index]
    if current is None:
        slots[index] = node.backward(g)[0]  # freshly made, so owned
    else:
        if not slots[-1] & (1 << index):  # borrowed: copy once before writing into it
            current = slots[index] = current.copy()
        node.add_into(current, g)
    slots[-1] |= 1 << index


def check_unchanged(node: Any) -> None:
    """Raise if numbers ``node`` saved for backward were written in place after it was recorded.

    The write log says which memory was written since (a parameter, and so
    also the view ``W.T`` a matmul read); the node's saved arrays say whether
    it kept those numbers (``add`` keeps only shapes, so changing its inputs
    changes nothing it needs). Rebinding ``W.data = new_array`` leaves the
    saved old array intact, and is allowed.
    """
    tensors = [("input", k, t) for k, t in enumerate(node.inputs)]
    tensors += [("output", k, ref()) for k, ref in enumerate(node.outputs)]
    for role, k, t in tensors:
        write = written_since(t._data, node.writes) if t is not None else None
        if write is None:
            continue
        _, region, label = write
        if any(np.may_share_memory(a, region if region is not None else t._data) for a in _saved_arrays(node)):
            raise RuntimeError(
                f"backward: {label} was modified by an in-place operation after the forward pass used it "
                f"({role} {k} of {describe(node)}), by an optimizer step, a .data assignment or "
                f"load_state_dict, so its gradient would come from the new numbers; run the forward "
                f"pass again after changing it, or change it after backward()"
            )


def _saved_arrays(node: Any) -> list[np.ndarray]:
    """The arrays a node's forward kept on it (directly, or in a tuple or list)."""
    values = [v for key, v in vars(node).items() if key not in ("inputs", "outputs")]
    items = [x for v in values for x in (v if isinstance(v, (tuple, list)) else (v,))]
    return [x for x in items if isinstance(x, np.ndarray)]


def _accumulate(slots: list, index: int, grad: np.ndarray) -> None:
    """slots[index] += grad, without ever writing into an array we don't own."""
    current = slots[index]
    if current is None:
        slots[index] = grad  # borrowed
    elif slots[-1] & (1 << index):  # we own it: add in place
        current += grad
    else:
        # np.asarray: with 0-d tensors current + grad is a NumPy scalar, which += can't update in place
        slots[index] = np.asarray(current + grad)
        slots[-1] |= 1 << index


def _to_leaf(leaf: Any, grad: np.ndarray) -> None:
    """Leaves (parameters, inputs) accumulate across uses *and* across backward calls."""
    if not leaf.requires_grad:
        return
    if leaf.grad is None:
        leaf.grad = np.array(grad, dtype=leaf.data.dtype, copy=True)
    else:
        leaf.grad += grad


def seed_grad(root: Any, grad: Any = None) -> np.ndarray:
    """The gradient backward starts from: ones for a scalar ``root``, else ``grad`` checked."""
    if not root.requires_grad:
        raise RuntimeError(
            "backward() on a tensor that does not require grad: nothing it depends on "
            "requires grad (was it computed under no_grad(), or from detached tensors?)"
        )
    if grad is None:
        if root.data.size != 1:
            raise RuntimeError(
                f"backward() needs a gradient argument for a non-scalar tensor of shape "
                f"{root.shape}: pass grad= of the same shape, or reduce first (e.g. .sum())"
            )
        return np.ones_like(root.data)
    try:
        grad = np.asarray(getattr(grad, "data", grad), dtype=root.data.dtype)
    except (TypeError, ValueError):
        raise TypeError(
            f"backward(): grad must be numbers of the tensor's shape {root.shape} (a Tensor, an array or a "
            f"number), got {type(grad).__name__} {grad!r:.40}"
        ) from None
    if grad.shape != root.shape:
        raise ValueError(f"backward(): grad has shape {grad.shape} but the tensor has shape {root.shape}")
    return grad


def backward(root: Any, grad: Any = None, retain_grads: bool | None = None, retain_graph: bool | None = None) -> None:
    """Fill ``.grad`` of every tensor that ``root`` depends on (see ``Tensor.backward``).

    ``None`` for either switch means: as ``graph.teaching_mode`` says (on by default;
    off, as a training loop wants, only leaves and ``retain_grad()`` tensors keep
    ``.grad``, and the graph is freed).
    """
    seed = seed_grad(root, grad)
    teaching = SWITCHES.teaching
    with gc_paused():
        BackwardPass(
            root,
            seed,
            teaching if retain_grads is None else retain_grads,
            teaching if retain_graph is None else retain_graph,
        ).run()
        recording_consumed()
