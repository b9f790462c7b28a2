"""Jacobian spectra per step: "the product vanishes", in singular values.

BPTT sends dL/dh_T back through one Jacobian per step: B_t = ∂h_t/∂h_{t-1}
for the RNN and GRU, whose state is h_t, and B_t = ∂(h_t, c_t)/∂(h_{t-1}, c_{t-1})
for the LSTM, whose state is (h_t, c_t) (docs/notation.md: s_t is the Elman
pre-activation, so it never names the state). So

    dL/dh_t = (B_T B_{T-1} ... B_{t+1})ᵀ dL/dh_T                        (RNN, GRU)
    dL/d(h_t, c_t) = (B_T B_{T-1} ... B_{t+1})ᵀ dL/d(h_T, c_T)          (LSTM)
    ‖dL/dh_t‖ <= σ_max(B_T ... B_{t+1}) ‖dL/dh_T‖ <= prod_j σ_max(B_j) ‖dL/dh_T‖,

the last line for the LSTM too when the loss reads h_T alone (dL/dc_T = 0, and
‖dL/dh_t‖ <= ‖dL/d(h_t, c_t)‖).

The singular values of each B_t say how much one step can stretch or shrink
a gradient; those of the running products say how much survives a distance
d = T - t. A typical largest singular value of 0.8 means that after 20 steps
at most 0.8^20 ≈ 0.01 of the gradient is left. For the Elman RNN,
B_t = diag(1 - h_t^2) W_hh, so the spectral radius of W_hh (its largest
|eigenvalue|) sets the pace when the units are far from saturation.

``spectra(kind, ...)`` reads every B_t off the engine's autograd (one
backward pass per state unit) along a real input: the characters of the
package's default text corpus, each a fixed random vector. ``pictures``
draws the products against distance and the measured ‖dL/dh_t‖ of the
gradient-flow story under its bound.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from viz import plot

from .gradient_flow import make_cell

KINDS = ("rnn", "lstm", "gru")


def text_inputs(steps: int, input_size: int, seed: int) -> np.ndarray:
    """The first ``steps`` characters of ``tr.data.load_text()``, each a fixed random vector: (steps, 1, D)."""
    from ..data import load_text

    text = load_text()[:steps]
    if len(text) < steps:
        raise ValueError(f"text_inputs: the corpus has only {len(text)} characters, asked for {steps}")
    vocab = sorted(set(text))
    table = np.random.default_rng(seed).standard_normal((len(vocab), input_size))
    return table[[vocab.index(ch) for ch in text]][:, None, :]


def _advance(kind: str, cell: Any, x: np.ndarray, state: tuple[np.ndarray, ...]) -> tuple[Any, ...]:
    from ..tensor import Tensor

    leaves = tuple(Tensor(s, requires_grad=True) for s in state)
    out = cell(Tensor(x), leaves if kind == "lstm" else leaves[0])
    return leaves, out if kind == "lstm" else (out,)


def state_jacobians(kind: str, cell: Any, xs: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """B[t-1] = ∂h_t/∂h_{t-1} (LSTM: ∂(h_t, c_t)/∂(h_{t-1}, c_{t-1})) for t = 1..T from autograd,
    and the states h_0..h_T (LSTM: (h_t, c_t) concatenated), zeros to start.

    One small graph per step with the state at t-1 as leaves; row p of B_t is the
    gradient of unit p of the state at t (a backward pass with cotangent e_p)."""
    from ..tensor import Tensor

    H = cell.hidden_size
    parts = 2 if kind == "lstm" else 1
    state = tuple(np.zeros((1, H)) for _ in range(parts))
    states, B = [np.concatenate(state, axis=1)[0]], np.empty((len(xs), parts * H, parts * H))
    for t, x in enumerate(xs):
        leaves, out = _advance(kind, cell, x, state)
        for p in range(parts * H):
            for leaf in leaves:
                leaf.grad = None
            unit = np.zeros((parts, 1, H))
            unit[p // H, 0, p % H] = 1.0
            total = sum(((o * Tensor(unit[k])).sum() for k, o in enumerate(out)), start=Tensor(0.0))
            total.backward()
            B[t, p] = np.concatenate([leaf.grad for leaf in leaves], axis=1)[0]
        state = tuple(o.data for o in out)
        states.append(np.concatenate(state, axis=1)[0])
    return B, states


def spectra(kind: str, steps: int = 60, hidden: int = 16, seed: int = 0, inputs: str = "text",
            input_size: int = 4) -> dict[str, Any]:  # fmt: skip
    """Singular values of every B_t and of the running products B_T ... B_{T-d+1}, d = 1..T.

    ``inputs="text"`` feeds the corpus characters; ``"normal"`` the gradient-flow
    story's inputs (standard normal, same seed), so its measured ‖dL/dh_t‖ can be
    set under the bound. Returns plain arrays: ``step_sv`` (T, n) descending,
    ``product_max`` (T,) σ_max at distance d = 1..T, ``chained`` (T,) the product
    of the per-step σ_max, ``radius`` ρ(W_hh) for the RNN (None for gated cells,
    whose W_hh is a stack of gate blocks)."""
    if kind not in KINDS:
        raise ValueError(f"spectra: kind must be one of {', '.join(KINDS)}, got {kind!r}")
    cell = make_cell(kind, input_size, hidden, seed)
    if inputs == "text":
        xs = text_inputs(steps, input_size, seed)
    elif inputs == "normal":
        xs = np.random.default_rng(seed).standard_normal((steps, 1, input_size))
    else:
        raise ValueError(f"spectra: inputs must be 'text' or 'normal', got {inputs!r}")
    B, _ = state_jacobians(kind, cell, xs)
    step_sv = np.linalg.svd(B, compute_uv=False)
    product = np.eye(B.shape[1])
    product_max = np.empty(steps)
    for d in range(1, steps + 1):  # B_T B_{T-1} ... B_{T-d+1}
        product = product @ B[steps - d]
        product_max[d - 1] = np.linalg.svd(product, compute_uv=False)[0]
    chained = np.cumprod(step_sv[::-1, 0])
    radius = float(np.max(np.abs(np.linalg.eigvals(cell.weight_hh.data)))) if kind == "rnn" else None
    return {"kind": kind, "step_sv": step_sv, "product_max": product_max, "chained": chained, "radius": radius}


def bound_check(kind: str, steps: int = 40, hidden: int = 8, seed: int = 0, input_size: int = 4) -> dict[str, Any]:
    """The gradient-flow story's measured ‖dL/dh_t‖ (L = sum(h_T)) beside σ_max(product) ‖dL/dh_T‖."""
    from .gradient_flow import hidden_gradient_norms

    measured = hidden_gradient_norms(kind, steps, hidden, input_size, seed)
    s = spectra(kind, steps, hidden, seed, inputs="normal", input_size=input_size)
    top = np.sqrt(hidden)  # ‖dL/dh_T‖: ones on h_T (and zeros on c_T, so also ‖dL/d(h_T, c_T)‖)
    bound = np.concatenate([s["product_max"][::-1][1:], [1.0]]) * top  # at t = 1..T: distance T - t
    loose = np.concatenate([s["chained"][::-1][1:], [1.0]]) * top
    return {"measured": measured, "bound": bound, "loose": loose}


def pictures(out: str | Path, steps: int = 60, hidden: int = 16, seed: int = 0) -> dict[str, Any]:
    """Write spectra_products.svg and spectra_bound.svg into ``out``; return the numbers behind them."""
    out = Path(out)
    results = {kind: spectra(kind, steps, hidden, seed) for kind in KINDS}
    d = np.arange(1, steps + 1)
    series, colours, dashed = {}, {}, []
    for n, kind in enumerate(KINDS):
        name = kind.upper()
        series[f"{name}: σ_max(B_T…B_(T-d+1))"] = (d, results[kind]["product_max"])
        series[f"{name}: ∏ σ_max(B_j)"] = (d, results[kind]["chained"])
        colours[f"{name}: σ_max(B_T…B_(T-d+1))"] = colours[f"{name}: ∏ σ_max(B_j)"] = plot.PALETTE[n]
        dashed.append(f"{name}: ∏ σ_max(B_j)")
    radius = results["rnn"]["radius"]
    series[f"ρ(W_hh)^d = {radius:.3g}^d (RNN)"] = (d, radius**d)
    colours[f"ρ(W_hh)^d = {radius:.3g}^d (RNN)"] = "#777777"
    dashed.append(f"ρ(W_hh)^d = {radius:.3g}^d (RNN)")
    products = plot.save(
        plot.line_plot(series, title=f"How much of a gradient survives d steps (H = {hidden}, text input)",
                       xlabel="distance d = T - t", ylabel="largest singular value", logy=True,
                       colours=colours, dashed=dashed),
        out / "spectra_products.svg",
    )  # fmt: skip
    series, colours, dashed = {}, {}, []
    for n, kind in enumerate(KINDS):
        check = bound_check(kind, steps=steps, hidden=hidden, seed=seed)  # the table's H and T
        distance = np.arange(steps)[::-1]
        series[f"{kind.upper()} measured ‖dL/dh_t‖"] = (distance, check["measured"])
        series[f"{kind.upper()} bound σ_max(∏B)‖dL/dh_T‖"] = (distance, check["bound"])
        colours[f"{kind.upper()} measured ‖dL/dh_t‖"] = colours[f"{kind.upper()} bound σ_max(∏B)‖dL/dh_T‖"] = (
            plot.PALETTE[n]
        )
        dashed.append(f"{kind.upper()} bound σ_max(∏B)‖dL/dh_T‖")
        results[kind]["bound_check"] = check
    bound = plot.save(
        plot.line_plot(series, title=f"The gradient-flow story's ‖dL/dh_t‖ (H = {hidden}, T = {steps}, normal "
                       "inputs) under its singular-value bound",
                       xlabel="distance T - t", ylabel="norm", logy=True, colours=colours, dashed=dashed),
        out / "spectra_bound.svg",
    )  # fmt: skip
    results["pictures"] = [str(products), str(bound)]
    return results


def derivation(steps: int = 60, hidden: int = 16, seed: int = 0, out: str | Path | None = None) -> Any:
    """The spectra as a printable Derivation (what ``tinygrad-rnn derive --spectra`` shows)."""
    from ..symbolic.report import Derivation, Equation, Table, Tex

    results = pictures(out, steps, hidden, seed) if out is not None else {k: spectra(k, steps, hidden, seed)
                                                                          for k in KINDS}  # fmt: skip
    d = Derivation(f"Jacobian spectra per step: RNN, LSTM, GRU (H = {hidden}, T = {steps}, text input)")
    d.add(
        r"BPTT multiplies one Jacobian per step: $B_t = \partial h_t/\partial h_{t-1}$ for the RNN and GRU, "
        r"whose state is $h_t$, and $B_t = \partial (h_t, c_t)/\partial (h_{t-1}, c_{t-1})$ for the LSTM, "
        r"whose state is $(h_t, c_t)$:",
        Equation(
            Tex(r"\frac{\partial L}{\partial h_t}", "∂L/∂h_t"),
            Tex(r"\left(B_T B_{T-1} \cdots B_{t+1}\right)^\top \frac{\partial L}{\partial h_T}"
                r"\quad\text{(RNN, GRU)}",
                "(B_T B_{T-1} … B_{t+1})ᵀ ∂L/∂h_T   (RNN, GRU)"),
        ),
        Equation(
            Tex(r"\frac{\partial L}{\partial (h_t, c_t)}", "∂L/∂(h_t, c_t)"),
            Tex(r"\left(B_T B_{T-1} \cdots B_{t+1}\right)^\top \frac{\partial L}{\partial (h_T, c_T)}"
                r"\quad\text{(LSTM)}",
                "(B_T B_{T-1} … B_{t+1})ᵀ ∂L/∂(h_T, c_T)   (LSTM)"),
        ),
    )  # fmt: skip
    d.add(
        r"so $\|\partial L/\partial h_t\| \le \sigma_{\max}(B_T \cdots B_{t+1}) \|\partial L/\partial h_T\| "
        r"\le \prod_{j>t} \sigma_{\max}(B_j) \|\partial L/\partial h_T\|$ (for the LSTM too when the loss "
        r"reads $h_T$ alone, $\partial L/\partial c_T = 0$): the singular values of one step say "
        "how much it can stretch or shrink a gradient, those of the running product how much survives a distance."
    )
    n = min(20, steps)  # the distance the table looks at (all of T when T is shorter)
    nth = f"{n}{'st' if n == 1 else 'nd' if n == 2 else 'rd' if n == 3 else 'th'}"
    rows = []
    for kind in KINDS:
        r = results[kind]
        typical = float(np.median(r["step_sv"][:, 0]))
        rho = ("--", "--") if r["radius"] is None else (f"{r['radius']:.3g}", f"{r['radius'] ** n:.2g}")
        rows.append((kind.upper(), f"{typical:.3g}", f"{typical**n:.2g}", f"{r['chained'][n - 1]:.2g}",
                     f"{r['product_max'][n - 1]:.2g}", f"{r['product_max'][-1]:.2g}", *rho))  # fmt: skip
    d.add(
        f"Per cell: the median largest singular value of one step and its {nth} power; the product of the last {n} "
        f"steps' largest singular values; the largest singular value of the product of those {n} Jacobians "
        f"(what can survive {n} steps) and of all {steps}; for the RNN the spectral radius $\\rho(W_{{hh}})$ and "
        f"its {nth} power. Singular values are submultiplicative, so the product shrinks at least as fast as "
        r"the chained bound; when the states are far from saturation the RNN's pace is $\rho(W_{hh})^d$.",
        table=Table(("cell", r"median $\sigma_{\max}(B_t)$", f"its {nth} power",
                     rf"$\prod_{{{n}}} \sigma_{{\max}}(B_j)$", rf"$\sigma_{{\max}}$, {n} steps", f"{steps} steps",
                     r"$\rho(W_{hh})$", rf"$\rho^{{{n}}}$"), rows),
    )  # fmt: skip
    if out is not None:
        names = ", ".join(f"`{p}`" for p in results["pictures"])
        d.add(f"Pictures: {names}. Both use this table's $H = {hidden}$ and $T = {steps}$; the second measures "
              r"$\|\partial L/\partial h_t\|$ as the gradient-flow story does (random normal inputs, "
              r"$L = \sum h_T$), so its bound is computed on those inputs, not on text.")
    return d
