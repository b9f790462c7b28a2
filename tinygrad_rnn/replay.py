"""Replay mode: record a training step's graph once, then replay it as a flat list of kernels.

The eager engine builds a fresh graph at every call: one Python node object,
one output Tensor, a weak reference and a scope string per op, then a walk that
discovers the order again. For a fixed model and fixed shapes that graph is the
same every time; only the numbers change. A *tracing JIT* (tinygrad's TinyJit,
``torch.compile``, ``jax.jit``) exploits that: run the function once, keep
the recorded graph, and from then on run just its arithmetic.

``step = tr.compile(fn)`` does exactly that for a function from tensors to a
scalar loss::

    step = tr.compile(lambda x, y: F.mse_loss(lstm(x)[0], y))
    loss = step(x, y)        # first call for these shapes: eager run, recorded
    loss = step(x2, y2)      # later calls: replay forward and backward, fill .grad

This module only *reads* the recorded graph (``graph.trace``): the plan is
two flat lists, one forward kernel per node in topological order and one
backward kernel per node in reverse, over numbered value slots. The kernels
are the ops' own ``forward`` and ``backward`` methods and gradients are summed
in the same order as ``backward()`` sums them, so a replay gives the same
numbers as the eager engine *bit for bit* (a test holds it to that).

What is replayed, and what is fixed at recording time:

- the arguments (new arrays of the same shapes and dtypes each call);
- parameters and other leaves that require grad: read from ``.data`` at every
  call, so an optimizer may update them in place or rebind them;
- every other leaf (constants made inside ``fn``, such as a zero initial state)
  keeps the value it had when recorded. So does anything ``fn`` computes from
  its arguments *outside* the engine's ops (with NumPy on ``.data``, under
  ``no_grad``): ``check=True`` (the default) compares the first replay with an
  eager run and raises if they differ.

A new shape or dtype of any argument records a new plan (like ``jax.jit``).
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from typing import Any

import numpy as np

from .backward import _accumulate, _to_leaf
from .graph import topological_order, trace
from .ops import Op
from .tensor import Tensor


class ReplayMismatch(RuntimeError):
    """The first replay of a compiled function did not reproduce the eager result."""


class _Plan:
    """One recorded graph, as slots and kernels."""

    def __init__(self, loss: Tensor, arguments: list[Tensor], params: dict[int, dict]):
        graph = trace(loss)
        slot_of: dict[int, int] = {}
        values: list[Any] = []

        self.shapes: dict[int, tuple] = {}
        self.dtypes: dict[int, np.dtype] = {}

        def slot(key: int, value: Any, like: Any = None) -> int:
            if key not in slot_of:
                slot_of[key] = len(values)
                values.append(value)
                if like is not None:
                    self.shapes[slot_of[key]], self.dtypes[slot_of[key]] = like.data.shape, like.data.dtype
            return slot_of[key]

        # arguments first (slots 0..n-1), then every tensor of the graph
        for arg in arguments:
            slot(id(arg), None, arg)
        self.n_args = len(arguments)
        self.leaves: list[tuple[int, Tensor]] = []  # leaves that require grad: (slot, tensor)
        argument_ids = {id(a) for a in arguments}
        for rec in graph.tensors.values():
            if rec.producer is None and rec.id not in argument_ids:
                s = slot(rec.id, rec.tensor.data, rec.tensor)
                if rec.tensor.requires_grad:
                    self.leaves.append((s, rec.tensor))
        self.grad_leaf: dict[int, Tensor] = {s: t for s, t in self.leaves}
        self.grad_leaf.update({slot_of[id(a)]: a for a in arguments if a.requires_grad})
        self.arg_leaves = [a for a in arguments if a.requires_grad]
        argument_arrays = {id(a.data): i for i, a in enumerate(arguments)}

        self.forward: list[tuple] = []  # (node, input slots, output slots, params, params fed by arguments)
        for rec in graph.nodes:
            node = rec.node
            ins = tuple(slot_of[id(t)] for t in node.inputs)
            outs = []
            for k, ref in enumerate(node.outputs):
                out = ref()
                outs.append(slot(id(out), None, out) if out is not None else slot(-len(values) - 1 - k, None))
            kwargs = params.get(id(node), {})
            fed = tuple((name, argument_arrays[id(v)]) for name, v in kwargs.items() if id(v) in argument_arrays)
            self.forward.append((node, ins, tuple(outs), kwargs, fed))
        # Arguments were recorded as if they required grad (so that every op on them is in the
        # graph, not folded into a constant); the replay computes gradients only where eager
        # backward would: towards leaves that require grad.
        requires = [False] * len(values)
        for s in self.grad_leaf:
            requires[s] = True
        for node, ins, outs, _, _ in self.forward:
            node.needs = tuple(requires[s] for s in ins)
            if True in node.needs:
                for s in outs:
                    requires[s] = True
        self.n_slots = len(values)
        self.constants = values
        self.loss_slot = slot_of[id(loss)]
        self.dtype = loss.data.dtype
        for node, *_ in self.forward:  # the plan keeps the op objects, not the first call's tensors
            node.inputs, node.outputs = (), ()
        self.leaf_tensors = [t for _, t in self.leaves]
        self.program = _generate(self)  # straight-line code for the whole step, or None

    def run(self, arguments: list[np.ndarray]) -> np.ndarray:
        """Forward, then backward into the leaves' .grad; returns the loss array."""
        for t in self.arg_leaves:  # stand-ins for the caller's tensors: fresh each call
            t.grad = None
        if self.program is not None:
            return self.program(arguments, self.leaf_tensors, self.constants, self.arg_leaves)
        return self.interpret(arguments)

    def interpret(self, arguments: list[np.ndarray]) -> np.ndarray:
        """The plan run node by node through the ops' own methods (any op; see _generate for speed)."""
        vals = list(self.constants)
        vals[: self.n_args] = arguments
        for s, leaf in self.leaves:
            vals[s] = leaf.data
        for node, ins, outs, kwargs, fed in self.forward:
            if fed:
                kwargs = {**kwargs, **{name: arguments[i] for name, i in fed}}
            out = node.forward(*[vals[s] for s in ins], **kwargs)
            if len(outs) == 1 and type(out) is not tuple:
                vals[outs[0]] = out
            else:
                for s, o in zip(outs, out):
                    vals[s] = o
        loss = vals[self.loss_slot]
        self._backward(np.ones_like(loss))
        return loss

    def _backward(self, seed: np.ndarray) -> None:
        """The walk of backward.BackwardPass, over slots: the same sums in the same order."""
        grads: list[Any] = [None] * self.n_slots
        owned = [False] * self.n_slots
        grads[self.loss_slot] = seed
        leaf = self.grad_leaf
        for node, ins, outs, _, _ in reversed(self.forward):
            upstream = [grads[s] for s in outs]
            for s in outs:  # consumed: let it go (as backward() pops a node's pending slots)
                grads[s] = None
            if True not in node.needs or all(g is None for g in upstream):
                continue
            if node.add_into is not None:
                self._scatter(node, ins[0], upstream[0], grads, owned)
                continue
            sent = node.backward(upstream[0] if len(upstream) == 1 else tuple(upstream))
            for s, needed, g in zip(ins, node.needs, sent):
                if not needed or g is None:
                    continue
                if s in leaf:
                    _to_leaf(leaf[s], g)
                elif grads[s] is None:
                    grads[s] = g  # borrowed
                else:
                    box = [grads[s], int(owned[s])]
                    _accumulate(box, 0, g)
                    grads[s], owned[s] = box[0], bool(box[1])

    def _scatter(self, node: Op, s: int, g: np.ndarray, grads: list, owned: list) -> None:
        if not node.needs[0]:
            return
        if s in self.grad_leaf:
            t = self.grad_leaf[s]
            if t.grad is None:
                _to_leaf(t, node.backward(g)[0])
            else:
                node.add_into(t.grad, g)
            return
        if grads[s] is None:
            grads[s] = node.backward(g)[0]
        else:
            if not owned[s]:
                grads[s] = grads[s].copy()
            node.add_into(grads[s], g)
        owned[s] = True


# ---------------------------------------------------------------------------
# Code generation: the plan written out as one straight-line Python function.
#
# For the ops below, each node becomes one or two lines of NumPy, the same expressions
# as the op's forward and backward (so the same bits), over local variables: v12 is the
# value in slot 12, g12 its gradient. Gradients accumulate as backward() accumulates them
# (the first one borrowed, the second a fresh sum, later ones added in place), decided
# here once instead of at every call. A variable is deleted right after its last use, so
# a forward value lives only as long as some backward line still reads it. A graph with
# any other op is run by Plan.interpret instead.

SUPPORTED = {"add", "sub", "mul", "matmul", "tanh", "sigmoid", "transpose", "split", "concat", "stack", "sum",
             "mean", "reshape"}


def _unbroadcast(expr: str, shape: tuple, to: tuple) -> str:
    """Source for backward.unbroadcast(expr, to) when expr has ``shape`` (known statically)."""
    if shape == to:
        return expr
    extra = len(shape) - len(to)
    axes = tuple(range(extra)) + tuple(extra + i for i, n in enumerate(to) if n == 1 and shape[extra + i] != 1)
    return f"{expr}.sum(axis={axes!r}, keepdims=True).reshape({to!r})"


def _slices(shape: tuple, sizes: tuple, axis: int) -> list[str]:
    """Index expressions of ops._cut's pieces."""
    pieces, start = [], 0
    for n in sizes:
        index = [":"] * len(shape)
        index[axis] = f"{start}:{start + n}"
        pieces.append(", ".join(index))
        start += n
    return pieces


def _generate(plan: _Plan) -> Callable | None:
    """Write the plan as source, compile it once; None if an op has no template here."""
    if any(node.name not in SUPPORTED for node, *_ in plan.forward) or plan.dtypes.get(plan.loss_slot) is None:
        return None
    if any(fed for *_, fed in plan.forward):
        return None
    shapes = plan.shapes
    leaf_index = {slot: k for k, (slot, _) in enumerate(plan.leaves)}
    arg_leaf_index = {slot: k for k, slot in enumerate(s for s in plan.grad_leaf if s < plan.n_args)}
    forward: list[tuple[str, set, set]] = []  # (line, names read, names written)
    backward: list[tuple[str, set, set]] = []
    for s in range(plan.n_args):
        forward.append((f"v{s} = A[{s}]", set(), {f"v{s}"}))
    for slot, k in leaf_index.items():
        forward.append((f"v{slot} = L[{k}].data", set(), {f"v{slot}"}))
    constants = {
        s for node, ins, *_ in plan.forward for s in ins if s >= plan.n_args and s not in leaf_index
    } - {s for _, _, outs, _, _ in plan.forward for s in outs}
    for s in sorted(constants):
        forward.append((f"v{s} = C[{s}]", set(), {f"v{s}"}))

    def emit(lines: list, line: str, reads: list[str], writes: list[str]) -> None:
        lines.append((line, set(reads), set(writes)))

    for node, ins, outs, kwargs, _ in plan.forward:
        v = [f"v{i}" for i in ins]
        o = [f"v{i}" for i in outs]
        op = node.name
        if op in ("add", "sub", "mul", "matmul"):
            sign = {"add": "+", "sub": "-", "mul": "*", "matmul": "@"}[op]
            emit(forward, f"{o[0]} = {v[0]} {sign} {v[1]}", v, o)
        elif op == "tanh":
            emit(forward, f"{o[0]} = np.tanh({v[0]})", v, o)
        elif op == "sigmoid":
            if shapes[ins[0]] == ():
                emit(forward, f"{o[0]} = 1 / (1 + np.exp(np.negative({v[0]})))", v, o)
            else:
                y = o[0]
                emit(forward, f"{y} = np.exp(np.negative({v[0]})); {y} += 1; np.reciprocal({y}, out={y})", v, o)
        elif op == "transpose":
            emit(forward, f"{o[0]} = {v[0]}.transpose({tuple(node.axes)!r})", v, o)
        elif op == "reshape":
            emit(forward, f"{o[0]} = {v[0]}.reshape({tuple(kwargs['shape'])!r})", v, o)
        elif op == "split":
            for name, index in zip(o, _slices(shapes[ins[0]], node.sizes, node.axis)):
                emit(forward, f"{name} = {v[0]}[{index}]", v, [name])
        elif op in ("stack", "concat"):
            joiner = "np.stack" if op == "stack" else "np.concatenate"
            emit(forward, f"{o[0]} = {joiner}(({', '.join(v)},), axis={node.axis})", v, o)
        elif op == "sum":
            emit(forward, f"{o[0]} = np.asarray({v[0]}.sum(axis={node.axis!r}, keepdims={node.keepdims!r}))", v, o)
        elif op == "mean":
            emit(forward, f"{o[0]} = np.asarray({v[0]}.mean(axis={node.axis!r}, keepdims={node.keepdims!r}))", v, o)

    state: dict[int, str] = {plan.loss_slot: "borrowed"}  # gradient slots reached so far
    views: set[str] = set()  # swapped views of matmul operands already made
    root = plan.loss_slot
    emit(backward, f"g{root} = np.ones_like(v{root})", [f"v{root}"], [f"g{root}"])

    def contribute(slot: int, temp: str) -> None:
        if slot in leaf_index:
            emit(backward, f"_to_leaf(L[{leaf_index[slot]}], {temp})", [temp], [])
        elif slot in arg_leaf_index:
            emit(backward, f"_to_leaf(AL[{arg_leaf_index[slot]}], {temp})", [temp], [])
        elif slot not in state:
            emit(backward, f"g{slot} = {temp}", [temp], [f"g{slot}"])
            state[slot] = "borrowed"
        elif state[slot] == "borrowed":  # (np.asarray: a 0-d sum is a NumPy scalar, see backward._accumulate)
            total = f"g{slot} + {temp}" if shapes.get(slot, ()) != () else f"np.asarray(g{slot} + {temp})"
            emit(backward, f"g{slot} = {total}", [f"g{slot}", temp], [f"g{slot}"])
            state[slot] = "owned"
        else:
            emit(backward, f"g{slot} += {temp}", [f"g{slot}", temp], [f"g{slot}"])

    for index, (node, ins, outs, _, _) in enumerate(reversed(plan.forward)):
        reached = [s for s in outs if s in state]
        if not reached or True not in node.needs:
            continue
        op, needs = node.name, node.needs
        g = f"g{outs[0]}"
        v = [f"v{i}" for i in ins]
        sends: list[tuple[int, str, list[str]]] = []  # (input slot, expression, names read)
        if op in ("add", "sub"):
            out_shape = shapes[outs[0]]
            sends.append((ins[0], _unbroadcast(g, out_shape, shapes[ins[0]]), [g]))
            second = _unbroadcast(g, out_shape, shapes[ins[1]])
            sends.append((ins[1], f"-{second}" if op == "sub" else second, [g]))
        elif op == "mul":
            out_shape = shapes[outs[0]]
            sends.append((ins[0], _unbroadcast(f"({g} * {v[1]})", out_shape, shapes[ins[0]]), [g, v[1]]))
            sends.append((ins[1], _unbroadcast(f"({g} * {v[0]})", out_shape, shapes[ins[1]]), [g, v[0]]))
        elif op == "matmul":
            a, b = shapes[ins[0]], shapes[ins[1]]
            if len(a) < 2 or len(b) < 2:  # a 1-D operand (W_hh @ h): not compiled, the engine runs it
                return None
            out_shape = shapes[outs[0]]
            ga_shape = out_shape[:-1] + (b[-2],)
            swapped = f"s{ins[1]}"  # b's swapped view: the same at every step that reuses b (W_hh^T)
            if swapped not in views:
                views.add(swapped)
                emit(backward, f"{swapped} = {v[1]}.swapaxes(-1, -2)", [v[1]], [swapped])
            sends.append((ins[0], _unbroadcast(f"({g} @ {swapped})", ga_shape, a), [g, swapped]))
            if len(a) == 2 and len(b) == 2:
                gb = f"{v[0]}.T @ {g}"
            elif len(b) == 2:
                gb = f"{v[0]}.reshape(-1, {a[-1]}).T @ {g}.reshape(-1, {out_shape[-1]})"
            else:
                return None
            sends.append((ins[1], gb, [g, v[0]]))
        elif op == "tanh":
            sends.append((ins[0], f"{g} * (1 - v{outs[0]} * v{outs[0]})", [g, f"v{outs[0]}"]))
        elif op == "sigmoid":
            y = f"v{outs[0]}"
            sends.append((ins[0], f"{g} * {y} * (1 - {y})", [g, y]))
        elif op == "transpose":
            inverse = tuple(sorted(range(len(node.axes)), key=node.axes.__getitem__))
            sends.append((ins[0], f"{g}.transpose({inverse!r})", [g]))
        elif op == "reshape":
            sends.append((ins[0], f"{g}.reshape({shapes[ins[0]]!r})", [g]))
        elif op == "split":
            pieces, reads = [], []
            for slot, n in zip(outs, node.sizes):
                if slot in state:
                    pieces.append(f"g{slot}")
                    reads.append(f"g{slot}")
                else:
                    shape = list(shapes[ins[0]])
                    shape[node.axis] = n
                    pieces.append(f"np.zeros({tuple(shape)!r}, dtype=np.{np.dtype(node.dtype).name})")
            sends.append((ins[0], f"np.concatenate(({', '.join(pieces)},), axis={node.axis})", reads))
        elif op == "stack":
            moved = f"m{index}"
            if node.axis == 0:  # np.moveaxis(g, 0, 0) is g itself (a view of the same numbers)
                moved = g
            else:
                emit(backward, f"{moved} = np.moveaxis({g}, {node.axis}, 0)", [g], [moved])
            for k, slot in enumerate(ins):
                sends.append((slot, f"{moved}[{k}]", [moved]))
        elif op == "concat":
            for slot, piece in zip(ins, _slices(shapes[outs[0]], node.sizes, node.axis)):
                sends.append((slot, f"{g}[{piece}]", [g]))
        elif op in ("sum", "mean"):
            kept = g if node.axis is None or node.keepdims else f"np.expand_dims({g}, {node.axis!r})"
            scaled = f"{kept} / {node.n}" if op == "mean" else kept
            sends.append((ins[0], f"np.broadcast_to({scaled}, {shapes[ins[0]]!r})", [g]))
        temps, made = [], {}
        for k, (slot, expr, reads) in enumerate(sends):
            if needs[k]:
                if expr in made:  # x * x sends g * x twice: compute it once (the same bits)
                    temps.append((slot, made[expr]))
                    continue
                temp = made[expr] = f"d{index}_{k}"
                emit(backward, f"{temp} = {expr}", reads, [temp])
                temps.append((slot, temp))
        for slot, temp in temps:
            contribute(slot, temp)

    loss = f"v{plan.loss_slot}"
    lines = forward + backward
    last: dict[str, int] = {}
    for i, (_, reads, writes) in enumerate(lines):
        for name in reads | writes:
            last[name] = i
    guarded = any(node.name == "sigmoid" for node, *_ in plan.forward)
    body = []
    if guarded:  # sigmoid's exp(-x) may overflow to inf, whose limit is right: as Sigmoid.forward does
        body.append("    with np.errstate(over='ignore'):")
    for i, (line, _, _) in enumerate(lines):
        indent = "        " if guarded and i < len(forward) else "    "
        body.append(indent + line)
        dead = sorted(n for n, j in last.items() if j == i and n != loss)
        if dead:
            body.append(indent + "del " + ", ".join(dead))
    body.append(f"    return {loss}")
    source = "def step(A, L, C, AL):\n" + "\n".join(body) + "\n"
    namespace: dict[str, Any] = {"np": np, "_to_leaf": _to_leaf}
    exec(builtins.compile(source, "<tr.compile replay>", "exec"), namespace)  # our own generated source
    step = namespace["step"]
    step.source = source
    return step


class Compiled:
    """A function recorded once per input signature and replayed (see the module docstring)."""

    def __init__(self, fn: Callable[..., Tensor], check: bool = True):
        if not callable(fn):
            raise TypeError(f"tr.compile: expected a function returning a scalar loss, got {fn!r}")
        self.fn = fn
        self.check = check
        self.plans: dict[tuple, _Plan] = {}
        self._checked: set[tuple] = set()

    def __call__(self, *args: Any) -> Tensor:
        arrays = [a.data if isinstance(a, Tensor) else np.asarray(a) for a in args]
        wants_grad = [isinstance(a, Tensor) and a.requires_grad for a in args]
        key = tuple([(a.shape, a.dtype, g) for a, g in zip(arrays, wants_grad)])  # one plan per signature
        plan = self.plans.get(key)
        if plan is None:
            loss, plan = self._record(arrays, wants_grad, [a if isinstance(a, Tensor) else None for a in args])
            self.plans[key] = plan
            return loss
        if self.check and key not in self._checked:
            self._checked.add(key)
            self._verify(plan, arrays, wants_grad)
        loss = plan.run(arrays)  # (no GC pause needed: a replay makes arrays, which the collector ignores)
        if plan.arg_leaves:
            self._copy_argument_grads(plan, args)
        return Tensor._wrap(loss, None, 0)

    def source(self) -> str:
        """The generated step of the most recent plan, as Python: read what a replay runs.

        Empty when no plan has been recorded yet, or when the plan has an op without a
        template (it is then run by the interpreter, node by node).
        """
        if not self.plans:
            return ""
        program = list(self.plans.values())[-1].program
        return program.source if program is not None else ""

    def _wrap_arguments(self, arrays: list[np.ndarray], wants_grad: list[bool]) -> list[Tensor]:
        return [Tensor(a, requires_grad=g) for a, g in zip(arrays, wants_grad)]

    @staticmethod
    def _recorded_arguments(arrays: list[np.ndarray]) -> list[Tensor]:
        """Float arguments require grad while recording, so every op reading them is recorded."""
        return [Tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]

    def _record(self, arrays: list[np.ndarray], wants_grad: list[bool], originals: list) -> tuple[Tensor, _Plan]:
        """Run ``fn`` eagerly (this call's result) and keep its graph as a plan."""
        arguments = self._recorded_arguments(arrays)
        params: dict[int, dict] = {}
        loss = _recording(self.fn, arguments, params)
        if not isinstance(loss, Tensor) or loss.data.size != 1:
            raise TypeError("tr.compile: the function must return a scalar loss Tensor (e.g. F.mse_loss(...))")
        if loss._node is None:
            raise TypeError("tr.compile: the loss does not depend on any op that requires grad: nothing to replay")
        _refuse_hooks(loss)
        loss.backward(retain_grads=False, retain_graph=True)
        result = Tensor(loss.data)
        for arg, original, wanted in zip(arguments, originals, wants_grad):
            if wanted and arg.grad is not None:
                _to_leaf(original, arg.grad)
            arg.requires_grad = wanted
        plan = _Plan(loss, arguments, params)
        return result, plan

    def _copy_argument_grads(self, plan: _Plan, args: tuple) -> None:
        for s, t in plan.grad_leaf.items():
            if s < plan.n_args and isinstance(args[s], Tensor):
                if t.grad is not None:
                    _to_leaf(args[s], t.grad)
                t.grad = None

    def _verify(self, plan: _Plan, arrays: list[np.ndarray], wants_grad: list[bool]) -> None:
        """First replay for a signature: compare with an eager run on the same inputs, then undo it."""
        leaves = [t for _, t in plan.leaves]
        before = [None if t.grad is None else t.grad.copy() for t in leaves]
        eager = self.fn(*self._wrap_arguments(arrays, wants_grad))
        eager.backward(retain_grads=False, retain_graph=False)
        expected = [t.grad for t in leaves]
        for t, g in zip(leaves, before):
            t.grad = None if g is None else g.copy()
        loss = plan.run(arrays)
        same = np.array_equal(loss, eager.data) and all(
            (a is None and t.grad is None) or (a is not None and t.grad is not None and np.array_equal(a, t.grad))
            for a, t in zip(expected, leaves)
        )
        for t, g in zip(leaves, before):
            t.grad = g
        if not same:
            raise ReplayMismatch(
                "tr.compile: replaying the recorded graph on new inputs did not give what running the "
                "function gives. The function probably computes something from its arguments outside "
                "the engine's ops (NumPy on .data, no_grad, Python control flow on values), which a "
                "replay keeps fixed at its recorded value. Keep that work in tensor ops, or pass "
                "check=False if you know the difference is intended."
            )


def _refuse_hooks(loss: Tensor) -> None:
    """A replay runs the ops' kernels only: a gradient hook (register_hook) in the graph would be skipped."""
    from .hooks import HOOKS

    if not HOOKS:
        return
    for node in topological_order(loss):
        for t in (*node.inputs, *(ref() for ref in node.outputs)):
            if t is not None and id(t) in HOOKS:
                name = repr(t.name) if t.name else f"a tensor of shape {t.shape}"
                raise TypeError(f"tr.compile: {name} has a gradient hook (register_hook), which a replay cannot run; "
                                f"remove it (handle.remove()) or call the function without tr.compile")


def _recording(fn: Callable[..., Tensor], arguments: list[Tensor], params: dict[int, dict]) -> Any:
    """Call ``fn`` with every op's keyword parameters (axis=, index=, ...) noted per node.

    Ops do not keep their keyword parameters (only what forward saved), and a
    replay needs them; so for the length of this one call, ``Op.apply`` is
    wrapped to note them. Nothing else changes, and the hot path is untouched
    outside compile's first call.
    """
    original = Op.__dict__["apply"]

    def apply(cls: type, *inputs: Any, **kwargs: Any) -> Any:
        result = original.__func__(cls, *inputs, **kwargs)
        first = result[0] if isinstance(result, tuple) else result
        if kwargs and first._node is not None:
            params[id(first._node)] = kwargs
        return result

    Op.apply = classmethod(apply)
    try:
        return fn(*arguments)
    finally:
        Op.apply = original


def compile(fn: Callable[..., Tensor], check: bool = True) -> Compiled:
    """Record ``fn`` (tensors -> scalar loss) once per input signature; replay forward + backward after.

    Each call returns the loss as a Tensor (no graph) and *accumulates* the
    gradient of every parameter into its ``.grad``, exactly as
    ``fn(*args).backward()`` would, with the same bits. ``check=True`` runs the
    first replay of each signature side by side with the eager function and
    raises ``ReplayMismatch`` if they differ.
    """
    return Compiled(fn, check)
