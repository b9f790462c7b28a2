"""The ops as text: each op's forward expression and backward rule over variable names.

The same rules as ``tinygrad_rnn/ops.py`` (Op.backward), written with the operands'
names filled in: ``g * (1 - y * y)`` for tanh, ``g @ B.T`` and ``A.T @ g`` for matmul.
``HELPERS`` are the three small functions the written source defines when it uses
them (sigmoid, unbroadcast, scatter_add).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .fold import LoopError

SUPPORTED = ("add", "sub", "mul", "div", "neg", "pow", "matmul", "tanh", "sigmoid", "relu", "exp", "log",
             "transpose", "reshape", "split", "concat", "stack", "sum", "mean", "getitem", "embedding")


def _unbroadcast_text(expr: str, shape: tuple, to: tuple) -> str:
    """``unbroadcast(expr, to)`` when the shapes differ, else ``expr`` itself (shapes are known here)."""
    return expr if tuple(shape) == tuple(to) else f"unbroadcast({expr}, {tuple(to)!r})"


def _index_text(index: Any) -> str:
    """A basic index (ints, slices, None, ...) as source text: ``0, 1:3``."""
    items = index if isinstance(index, tuple) else (index,)
    out = []
    for item in items:
        if isinstance(item, slice):
            start = "" if item.start is None else str(item.start)
            stop = "" if item.stop is None else str(item.stop)
            out.append(f"{start}:{stop}" + ("" if item.step is None else f":{item.step}"))
        elif item is None:
            out.append("None")
        elif item is Ellipsis:
            out.append("...")
        elif isinstance(item, (int, np.integer)):
            out.append(str(int(item)))
        else:
            raise LoopError("getitem: only basic indexing (ints, slices) can be written as a loop line")
    return ", ".join(out)


def forward_text(node: Any, ins: list[str], out_shapes: list[tuple], side: str | None = None) -> str:
    """The op's forward as one expression over the operands' names.

    ``side`` names an array the op holds besides its operands: embedding's token ids, or
    the index arrays of advanced indexing (``x[rows, targets]``), read from ``inputs``.
    """
    op = node.name
    a = ins[0] if ins else ""
    if op in ("add", "sub", "mul", "div", "matmul"):
        sign = {"add": "+", "sub": "-", "mul": "*", "div": "/", "matmul": "@"}[op]
        return f"{a} {sign} {ins[1]}"
    if op == "neg":
        return f"-{a}"
    if op == "pow":
        return f"{a} ** {node.p!r}"
    if op in ("tanh", "exp", "log"):
        return f"np.{op}({a})"
    if op == "sigmoid":
        return f"sigmoid({a})"
    if op == "relu":
        return f"np.maximum({a}, 0)"
    if op == "transpose":
        axes = tuple(node.axes)
        return f"{a}.T" if axes == (1, 0) else f"{a}.transpose({axes!r})"
    if op == "reshape":
        return f"{a}.reshape({out_shapes[0]!r})"
    if op == "getitem":
        return f"{a}[{side}]" if side else f"{a}[{_index_text(node.index)}]"
    if op == "embedding":
        return f"{a}[{side}]"
    if op in ("sum", "mean"):
        args = [] if node.axis is None else [f"axis={node.axis!r}"]
        if node.keepdims:
            args.append("keepdims=True")
        return f"np.asarray({a}.{op}({', '.join(args)}))"
    if op == "split":
        sizes = list(node.sizes)
        if len(set(sizes)) == 1:
            return f"np.split({a}, {len(sizes)}, axis={node.axis})"
        cuts = list(np.cumsum(sizes)[:-1].tolist())
        return f"np.split({a}, {cuts!r}, axis={node.axis})"
    if op in ("concat", "stack"):
        joiner = "np.concatenate" if op == "concat" else "np.stack"
        listed = ins[0] if len(ins) == 1 and ins[0].startswith("[") else f"[{', '.join(ins)}]"
        return f"{joiner}({listed}, axis={node.axis})"
    if op == "where":
        raise LoopError("bptt_loop: op 'where' (a sequence module given lengths=, or tr.where) has no loop template "
                        "yet: write the loop of full-length sequences (no lengths=)")
    raise LoopError(f"bptt_loop: op '{op}' has no loop template (supported: {', '.join(SUPPORTED)})")


def _transposed(name: str) -> str:
    """``name.T``, written ``W`` rather than ``W.T.T`` when ``name`` is itself ``W.T`` (the same array)."""
    return name[:-2] if name.endswith(".T") else f"{name}.T"


def _vector_matmul_texts(ins: list[str], go: str, a: tuple, b: tuple, out: tuple) -> list[str]:
    """The matmul rule when an operand is 1-D: a 1-D A is the row (1, k), a 1-D B the column (k, 1).

    ``W @ h`` with a 1-D h (the README's RNN) gets ``dL/dW = outer(g, h)`` and ``dL/dh = W.T @ g``;
    ``h @ W`` gets ``g @ W.T`` and ``outer(h, g)``; ``u @ v`` (a scalar) gets ``g * v`` and ``g * u``.
    With a batch of matrices on the other side, the row / column is written out as a reshape and the
    2-D rule runs on it.
    """
    if len(a) == 1 and len(b) == 1:
        return [f"{go} * {ins[1]}", f"{go} * {ins[0]}"]
    if len(a) == 1 and len(b) == 2:
        return [f"{go} @ {_transposed(ins[1])}", f"np.outer({ins[0]}, {go})"]
    if len(a) == 2 and len(b) == 1:
        return [f"np.outer({go}, {ins[1]})", f"{_transposed(ins[0])} @ {go}"]
    a2 = (1, *a) if len(a) == 1 else a
    b2 = (*b, 1) if len(b) == 1 else b
    out2 = tuple(np.broadcast_shapes(a2[:-2], b2[:-2])) + (a2[-2], b2[-1])
    names = [f"{ins[0]}.reshape({a2!r})" if len(a) == 1 else ins[0],
             f"{ins[1]}.reshape({b2!r})" if len(b) == 1 else ins[1]]
    ga, gb = backward_texts(_MATMUL, names, [], [f"{go}.reshape({out2!r})"], [a2, b2], [out2])
    return [f"({ga}).reshape({a!r})" if len(a) == 1 else ga, f"({gb}).reshape({b!r})" if len(b) == 1 else gb]


class _MatMul:
    """Stands for a matmul node where only its name is read (the batched 1-D case above)."""

    name = "matmul"


_MATMUL = _MatMul()


def backward_texts(node: Any, ins: list[str], outs: list[str], g: list[str | None], shapes: list[tuple],
                    out_shapes: list[tuple], side: str | None = None) -> list[str | None]:
    """The op's backward rule over the names: one expression per input (None: no gradient).

    ``g`` holds the names of the gradients of the outputs (None for an output none reached).
    """
    op = node.name
    go = g[0]
    if op == "add":
        return [_unbroadcast_text(go, out_shapes[0], shapes[0]), _unbroadcast_text(go, out_shapes[0], shapes[1])]
    if op == "sub":
        return [_unbroadcast_text(go, out_shapes[0], shapes[0]),
                "-" + _unbroadcast_text(go, out_shapes[0], shapes[1])]
    if op == "mul":
        return [_unbroadcast_text(f"{go} * {ins[1]}", out_shapes[0], shapes[0]),
                _unbroadcast_text(f"{go} * {ins[0]}", out_shapes[0], shapes[1])]
    if op == "div":
        return [_unbroadcast_text(f"{go} / {ins[1]}", out_shapes[0], shapes[0]),
                _unbroadcast_text(f"-{go} * {ins[0]} / ({ins[1]} * {ins[1]})", out_shapes[0], shapes[1])]
    if op == "neg":
        return [f"-{go}"]
    if op == "pow":
        return [f"{go} * {node.p!r} * {ins[0]} ** {node.p - 1!r}"]
    if op == "matmul":
        a, b = shapes
        if len(a) == 2 and len(b) == 2:
            return [f"{go} @ {_transposed(ins[1])}", f"{_transposed(ins[0])} @ {go}"]
        if len(a) == 1 or len(b) == 1:
            return _vector_matmul_texts(ins, go, a, b, out_shapes[0])
        ga = _unbroadcast_text(f"{go} @ {ins[1]}.swapaxes(-1, -2)", out_shapes[0][:-1] + (b[-2],), a)
        if len(b) == 2:
            return [ga, f"{ins[0]}.reshape(-1, {a[-1]}).T @ {go}.reshape(-1, {out_shapes[0][-1]})"]
        return [ga, _unbroadcast_text(f"{ins[0]}.swapaxes(-1, -2) @ {go}", out_shapes[0][:-2] + b[-2:], b)]
    if op == "tanh":
        return [f"{go} * (1 - {outs[0]} * {outs[0]})"]
    if op == "sigmoid":
        return [f"{go} * {outs[0]} * (1 - {outs[0]})"]
    if op == "relu":
        return [f"np.where({ins[0]} <= 0, 0, {go})"]
    if op == "exp":
        return [f"{go} * {outs[0]}"]
    if op == "log":
        return [f"{go} / {ins[0]}"]
    if op == "transpose":
        inverse = tuple(sorted(range(len(node.axes)), key=tuple(node.axes).__getitem__))
        return [f"{go}.T" if inverse == (1, 0) else f"{go}.transpose({inverse!r})"]
    if op == "reshape":
        return [f"{go}.reshape({shapes[0]!r})"]
    if op == "getitem":
        return [f"scatter_add({go}, {shapes[0]!r}, {side or '(' + _index_text(node.index) + ',)'})"]
    if op == "embedding":
        return [f"scatter_add({go}.reshape(-1, {shapes[0][-1]}), {shapes[0]!r}, {side}.reshape(-1))"]
    if op in ("sum", "mean"):
        kept = go if node.axis is None or node.keepdims else f"np.expand_dims({go}, {node.axis!r})"
        scaled = f"{kept} / {node.n}" if op == "mean" else kept
        return [f"np.broadcast_to({scaled}, {shapes[0]!r})"]
    if op == "split":
        pieces = []
        for name, shape in zip(g, out_shapes):
            pieces.append(name if name is not None else f"np.zeros({shape!r})")
        return [f"np.concatenate([{', '.join(pieces)}], axis={node.axis})"]
    if op == "concat":
        out, start, texts = out_shapes[0], 0, []
        for n in node.sizes:
            index = [":"] * len(out)
            index[node.axis] = f"{start}:{start + n}"
            texts.append(f"{go}[{', '.join(index)}]")
            start += n
        return texts
    if op == "stack":
        moved = go if node.axis == 0 else f"np.moveaxis({go}, {node.axis}, 0)"
        return [f"{moved}[{k}]" for k in range(len(shapes))]
    raise LoopError(f"bptt_loop: op '{op}' has no loop template (supported: {', '.join(SUPPORTED)})")


HELPERS = {  # written at the top of the source when the body uses them
    "sigmoid": '''def sigmoid(x):
    return 1 / (1 + np.exp(-x))
''',
    "unbroadcast": '''def unbroadcast(g, shape):
    """Sum a gradient back to the shape of an input that was broadcast (ops.unbroadcast)."""
    extra = g.ndim - len(shape)
    axes = tuple(range(extra)) + tuple(extra + i for i, n in enumerate(shape) if n == 1 and g.shape[extra + i] != 1)
    return g.sum(axis=axes, keepdims=True).reshape(shape)
''',
    "scatter_add": '''def scatter_add(g, shape, index):
    full = np.zeros(shape)
    np.add.at(full, index, g)
    return full
''',
}
