"""``to_sympy``: a recorded engine graph, rewritten as SymPy expressions in its leaves.

Every leaf tensor that requires grad (parameters, inputs) becomes an array of
symbols, one per element (``W_hh[0,1]``); other leaves become numbers (or
symbols too, with ``constants_as_symbols=True``). Then each node of the graph
is replayed element-wise on NumPy object arrays holding SymPy expressions, so
the result is the exact formula the engine evaluated, and ``sympy.diff`` of it
is the exact gradient that backward() approximates in floating point.

Meant for small graphs (a cell, a few steps, a tiny model): expression size
grows quickly with depth.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import sympy as sp

from ..graph import Graph, trace
from ..tensor import Tensor
from .numeric import finite_difference
from .report import CheckRow, CheckTable

MAX_ELEMENTS = 2000


def _heaviside(x: float, at_zero: float = 0.5) -> float:
    return 1.0 if x > 0 else 0.0 if x < 0 else at_zero


# evaluation is at one point, so plain Python floats: the math module handles Max,
# Piecewise and Heaviside (what sympy.diff makes of relu and max) without NumPy's select
SCALAR_MODULES = [{"Heaviside": _heaviside}, "math"]


def _obj(x: Any) -> np.ndarray:
    """Always an object array (NumPy returns bare elements for 0-d results)."""
    return np.asarray(x, dtype=object) if not isinstance(x, np.ndarray) or x.dtype != object else x


def _elementwise(fn: Callable[[sp.Expr], sp.Expr]) -> Callable[[np.ndarray], np.ndarray]:
    vec = np.vectorize(fn, otypes=[object])
    return lambda a: _obj(vec(a)) if a.size else a


def _exponent(p: Any) -> sp.Expr:
    p = float(p)
    return sp.Integer(int(p)) if p.is_integer() else sp.Float(p)


def _max(a: np.ndarray, axis: Any, keepdims: bool) -> np.ndarray:
    """Max over ``axis`` with sympy.Max, element by element (object arrays can't compare)."""
    axes = tuple(range(a.ndim)) if axis is None else tuple(ax % a.ndim for ax in np.atleast_1d(axis))
    kept = [ax for ax in range(a.ndim) if ax not in axes]
    moved = np.transpose(a, kept + list(axes)).reshape(*(a.shape[ax] for ax in kept), -1)
    rows = moved.reshape(-1, moved.shape[-1])
    out = np.empty(len(rows), dtype=object)
    out[:] = [sp.Max(*row) for row in rows]
    out = out.reshape([a.shape[ax] for ax in kept])
    if keepdims:
        out = out.reshape([1 if ax in axes else a.shape[ax] for ax in range(a.ndim)])
    return _obj(out)


def _scatter_add(g: np.ndarray, shape: tuple, index: Any) -> np.ndarray:
    """A zero array with ``g`` added at ``index`` (the adjoint of indexing, in recorded gradients)."""
    full = np.empty(shape, dtype=object)
    full[...] = sp.Integer(0)
    np.add.at(full, index, g)
    return full


# op name -> rule(node, input arrays, output shapes) -> list of output arrays
RULES: dict[str, Callable[[Any, list[np.ndarray], list[tuple]], list[np.ndarray]]] = {
    "add": lambda n, x, s: [x[0] + x[1]],
    "sub": lambda n, x, s: [x[0] - x[1]],
    "mul": lambda n, x, s: [x[0] * x[1]],
    "div": lambda n, x, s: [x[0] / x[1]],
    "neg": lambda n, x, s: [-x[0]],
    "pow": lambda n, x, s: [_elementwise(lambda e: e ** _exponent(n.p))(x[0])],
    "matmul": lambda n, x, s: [np.matmul(x[0], x[1])],
    "exp": lambda n, x, s: [_elementwise(sp.exp)(x[0])],
    "log": lambda n, x, s: [_elementwise(sp.log)(x[0])],
    "tanh": lambda n, x, s: [_elementwise(sp.tanh)(x[0])],
    "sigmoid": lambda n, x, s: [_elementwise(lambda e: 1 / (1 + sp.exp(-e)))(x[0])],
    "relu": lambda n, x, s: [_elementwise(lambda e: sp.Max(0, e))(x[0])],
    "sum": lambda n, x, s: [np.sum(x[0], axis=n.axis, keepdims=n.keepdims)],
    "mean": lambda n, x, s: [np.sum(x[0], axis=n.axis, keepdims=n.keepdims) * sp.Rational(1, n.n)],
    "max": lambda n, x, s: [_max(x[0], n.axis, n.keepdims)],
    "reshape": lambda n, x, s: [x[0].reshape(s[0])],
    "transpose": lambda n, x, s: [np.transpose(x[0], n.axes)],
    "getitem": lambda n, x, s: [x[0][n.index]],
    "concat": lambda n, x, s: [np.concatenate(x, axis=n.axis)],
    "stack": lambda n, x, s: [np.stack(x, axis=n.axis)],
    "split": lambda n, x, s: np.split(x[0], np.cumsum(n.sizes)[:-1], axis=n.axis),
    "where": lambda n, x, s: [np.where(n.mask, x[0], x[1])],
    "embedding": lambda n, x, s: [x[0][n.ids]],
    # the two ops that only recorded backward passes (create_graph=True) make
    "broadcast_to": lambda n, x, s: [np.broadcast_to(x[0], s[0]).copy()],
    "scatter_add": lambda n, x, s: [_scatter_add(x[0], s[0], n.index)],
}


class SympyGraph:
    """The result of ``to_sympy``: ``expr`` shaped like the tensor, in the leaves' ``symbols``.

    - ``expr``: a NumPy object array of SymPy expressions (``.scalar()`` for one element)
    - ``symbols``: leaf name -> object array of its element symbols
    - ``leaves``: leaf name -> the engine tensor (its current numbers are the evaluation point)
    - ``gradient(name)``: sympy.diff of the scalar root with respect to every element of a leaf
    - ``check()``: sympy.diff vs the engine's backward vs finite differences, as a table
    """

    def __init__(self, root: Tensor, expr: np.ndarray, symbols: dict[str, np.ndarray], leaves: dict[str, Tensor]):
        self.root = root
        self.expr = expr
        self.symbols = symbols
        self.leaves = leaves

    def scalar(self) -> sp.Expr:
        if self.expr.size != 1:
            raise ValueError(f"to_sympy: the root has shape {self.expr.shape}, not one element; reduce it first")
        return self.expr.reshape(-1)[0]

    def all_symbols(self) -> list[sp.Symbol]:
        return [s for arr in self.symbols.values() for s in arr.reshape(-1)]

    def values(self) -> dict[sp.Symbol, float]:
        """The evaluation point: every leaf symbol at its tensor's current value."""
        return {
            s: float(v)
            for name, arr in self.symbols.items()
            for s, v in zip(arr.reshape(-1), np.asarray(self.leaves[name].data, dtype=float).reshape(-1))
        }

    def gradient(self, name: str) -> np.ndarray:
        """d root / d leaf, element by element (an object array shaped like the leaf)."""
        if name not in self.symbols:
            raise KeyError(f"to_sympy: no leaf named {name!r}; leaves: {', '.join(self.symbols)}")
        root = self.scalar()
        return _obj(np.vectorize(lambda s: sp.diff(root, s), otypes=[object])(self.symbols[name]))

    def evaluate(self, exprs: np.ndarray | sp.Expr, point: dict[sp.Symbol, float] | None = None) -> np.ndarray:
        """Numbers for expressions at the leaves' values (lambdified with CSE)."""
        syms = self.all_symbols()
        arr = _obj(exprs)
        fn = sp.lambdify(syms, list(arr.reshape(-1)), modules=SCALAR_MODULES, cse=True)
        point = point or self.values()
        return np.array(fn(*[point[s] for s in syms]), dtype=float).reshape(arr.shape)

    def check(self) -> CheckTable:
        """For every leaf that requires grad: sympy.diff, engine backward(), central differences.

        The engine's gradients come from ``root.backward()`` (the leaves' existing
        ``.grad`` is put back afterwards); the finite differences are of the
        SymPy expression evaluated numerically, so the table also checks that
        the conversion computes the same function the engine did.
        """
        root = self.scalar()
        names = [n for n, t in self.leaves.items() if t.requires_grad and n in self.symbols]
        saved = {n: self.leaves[n].grad for n in names}
        for n in names:
            self.leaves[n].grad = None
        self.root.backward()
        engine = {
            n: np.zeros(self.leaves[n].shape) if self.leaves[n].grad is None else self.leaves[n].grad for n in names
        }
        for n in names:
            self.leaves[n].grad = saved[n]
        syms = self.all_symbols()
        value_fn = sp.lambdify(syms, root, modules=SCALAR_MODULES, cse=True)
        point = self.values()
        rows = []
        for n in names:
            arr = np.array([point[s] for s in self.symbols[n].reshape(-1)], dtype=float)

            def value(n: str = n, arr: np.ndarray = arr) -> float:
                here = dict(point)
                here.update(zip(self.symbols[n].reshape(-1), arr))
                return float(value_fn(*[here[s] for s in syms]))

            fd = finite_difference(value, arr).reshape(self.leaves[n].shape)
            rows.append(CheckRow(f"dL/d{n}", self.evaluate(self.gradient(n)), engine[n], fd))
        forward = abs(float(value_fn(*[point[s] for s in syms])) - float(self.root.data))
        return CheckTable(rows, f"check: to_sympy gradients (forward value differs from the engine's by {forward:.1e})")

    def __repr__(self) -> str:
        leaves = ", ".join(f"{n} {self.leaves[n].shape}" for n in self.symbols)
        body = sp.sstr(self.scalar()) if self.expr.size == 1 else f"array of shape {self.expr.shape}"
        if len(body) > 400:
            body = body[:400] + " …"
        return f"SympyGraph(in {leaves}):\n  {body}"

    def latex(self) -> str:
        return sp.latex(self.scalar()) if self.expr.size == 1 else sp.latex(sp.Array(self.expr.tolist()))

    def _repr_latex_(self) -> str:
        return f"$\\displaystyle {self.latex()}$"


def _leaf_symbols(name: str, shape: tuple) -> np.ndarray:
    if not shape:
        return _obj(sp.Symbol(name, real=True))
    out = np.empty(shape, dtype=object)
    for index in np.ndindex(*shape):
        out[index] = sp.Symbol(f"{name}[{','.join(map(str, index))}]", real=True)
    return out


def _constant(data: np.ndarray) -> np.ndarray:
    convert = sp.Integer if data.dtype.kind in "iub" else sp.Float
    return _obj(
        np.vectorize(lambda v: convert(v.item() if hasattr(v, "item") else v), otypes=[object])(data)
        if data.size
        else np.empty(data.shape, dtype=object)
    )


def to_sympy(tensor: Tensor, constants_as_symbols: bool = False, max_elements: int = MAX_ELEMENTS) -> SympyGraph:
    """The graph recorded behind ``tensor`` as SymPy expressions in its leaf tensors.

    Leaves are named by ``tensor.name`` (unnamed ones ``x0``, ``x1``, … in graph
    order; repeated names get a suffix). Supports every primitive op in
    ``tinygrad_rnn.ops``. Raises ``ValueError`` when the leaves hold more than
    ``max_elements`` numbers (the formulas would be enormous).
    """
    if not isinstance(tensor, Tensor):
        raise TypeError(f"to_sympy expects a tinygrad_rnn Tensor, got {type(tensor).__name__}")
    graph: Graph = trace(tensor)
    leaf_records = [r for r in graph.tensors.values() if r.producer is None]
    total = sum(int(np.prod(r.shape)) for r in leaf_records)
    if total > max_elements:
        raise ValueError(
            f"to_sympy is for small graphs: the leaves hold {total} numbers "
            f"(limit max_elements={max_elements}); "
            "use a smaller model (hidden size, steps) or raise max_elements"
        )
    values: dict[int, np.ndarray] = {}
    symbols: dict[str, np.ndarray] = {}
    leaves: dict[str, Tensor] = {}
    unnamed = 0
    for rec in leaf_records:
        symbolic = rec.tensor.requires_grad or constants_as_symbols
        if not symbolic:
            values[rec.id] = _constant(np.asarray(rec.tensor.data))
            continue
        name = rec.name
        if not name:
            name, unnamed = f"x{unnamed}", unnamed + 1
        base, k = name, 1
        while name in symbols:
            name, k = f"{base}_{k}", k + 1
        values[rec.id] = _leaf_symbols(name, rec.shape)
        symbols[name] = values[rec.id]
        leaves[name] = rec.tensor
    for node in graph.nodes:
        rule = RULES.get(node.op)
        if rule is None:
            where = f" (scope '{node.scope}')" if node.scope else ""
            raise NotImplementedError(
                f"to_sympy: no SymPy rule for op '{node.op}'{where}; supported ops: {', '.join(RULES)}"
            )
        op = node.node
        outputs = [ref() for ref in op.outputs]
        shapes = [o.shape if o is not None else None for o in outputs]
        results = rule(op, [values[tid] for tid in node.inputs], shapes)
        for out, result in zip(outputs, results):
            if out is not None and id(out) in graph.tensors:
                values[id(out)] = _obj(result)
    return SympyGraph(tensor, values[id(tensor)], symbols, leaves)
