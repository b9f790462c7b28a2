"""``tinygrad-rnn tour``: everything the project shows, in one folder a browser can open.

The tour unrolls an RNN, an LSTM and a GRU and draws their graphs (every op,
and one box per time step) with the gradients on them; writes the backward
player (step through backpropagation one node at a time); derives BPTT with
SymPy and checks it against autograd; trains a small character-level model
and plots its perplexity against an n-gram baseline; draws how gradients
fade or survive with distance; runs the lecture's hand-set LSTM cell; and draws
the rough error surface of a one-unit RNN, with gradient descent run on it with and without
clipping. ``index.html`` links it all, with no network.

A part whose module is missing from this installation is listed as not
available, with the reason; a part that fails says so and the command exits
non-zero. Nothing is faked.
"""

from __future__ import annotations

import argparse
import contextlib
import html
import importlib
import importlib.util
import io
import textwrap
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..files import write_atomic
from ..stories.common import Progress, output_folder, seed
from . import CLIError, UsageError

TITLES = {
    "rolled": "The recurrence, rolled: one cell and its loop",
    "graphs": "Unrolled graphs: RNN, LSTM, GRU",
    "player": "The backward player",
    "derivation": "BPTT, derived and checked",
    "char-lm": "A character-level language model",
    "gradient-flow": "Vanishing and exploding gradients",
    "toy-lstm": "The hand-set LSTM",
    "error-surface": "The rough error surface",
    "connectivity": "Where the gradient comes from: RNN, LSTM and GRU side by side",
}


class Unavailable(Exception):
    """A part of the tour needs a module this installation does not have."""


@dataclass
class Part:
    """One section of the tour: its files, its summary lines and its HTML."""

    title: str
    status: str = "ok"  # "ok", "unavailable" or "failed"
    files: list[tuple[str, Path]] = field(default_factory=list)
    summary: list[str] = field(default_factory=list)
    body: list[str] = field(default_factory=list)
    seconds: float = 0.0


def _require(module: str, *names: str) -> object:
    """Import ``module`` and check it provides ``names``; otherwise say what is missing."""
    if importlib.util.find_spec(module.split(".")[0]) is None:
        raise Unavailable(f"the module {module} is not installed")
    try:
        found = importlib.import_module(module)
    except ModuleNotFoundError as error:
        if error.name and (module == error.name or module.startswith(error.name + ".")):
            raise Unavailable(f"the module {module} is not in this version of tinygrad-rnn") from None
        raise
    missing = [n for n in names if not hasattr(found, n)]
    if missing:
        raise Unavailable(f"{module} does not provide {', '.join(missing)} yet")
    return found


def _img(path: Path, out: Path, caption: str, kind: str = "") -> str:
    """A figure; kind "graph" shows the picture at its own size in a box that scrolls (readable, not shrunk),
    "rolled" (small whatever T is) as wide as the page."""
    rel = html.escape(path.relative_to(out).as_posix())
    return (f'<figure class="{kind}"><a href="{rel}"><img src="{rel}" alt="{html.escape(caption)}"></a>'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>")


def _unrolled(kind: str, steps: int, seed: int):
    """A one-layer ``kind`` network (input 2, hidden 3) unrolled over ``steps``; loss = sum of h_T."""
    nn = _require("tinygrad_rnn.nn", "RNN", "LSTM", "GRU", "manual_seed")
    from ..tensor import Tensor

    nn.manual_seed(seed)
    layer = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[kind](2, 3)
    x = Tensor(np.random.default_rng(seed).standard_normal((steps, 1, 2)), name="x")
    output, _ = layer(x)
    loss = output[-1].sum()
    return loss


def part_graphs(out: Path, steps: int, seed: int) -> Part:
    """Each cell unrolled, drawn op by op and step by step, coloured by its gradients."""
    from ..graph import trace

    part = Part(TITLES["graphs"])
    viz = _require("viz", "draw", "render")
    sizes = {}
    for kind in ("rnn", "lstm", "gru"):
        loss = _unrolled(kind, steps, seed)
        sizes[kind] = len(trace(loss))
        loss.backward()
        for view in ("ops", "cells"):
            path = out / "graphs" / f"{kind}_{view}.svg"
            path.parent.mkdir(parents=True, exist_ok=True)
            viz.render(viz.draw(loss, view=view, grads=True), path)
            part.files.append((f"{kind.upper()} {view} view", path))
            part.body.append(_img(path, out, f"{kind.upper()}, {steps} steps, {view} view, with gradients", "graph"))
    part.summary.append(f"{steps} time steps; ops recorded: " + ", ".join(f"{k.upper()} {n}" for k, n in sizes.items()))
    return part


def part_rolled(out: Path, steps: int, seed: int) -> Part:
    """The notes' first picture: each cell drawn once, its recurrent edges a loop labelled with T."""
    part = Part(TITLES["rolled"])
    viz = _require("viz", "draw", "render")
    for kind in ("rnn", "lstm", "gru"):
        loss = _unrolled(kind, steps, seed)
        path = out / "graphs" / f"{kind}_rolled.svg"
        path.parent.mkdir(parents=True, exist_ok=True)
        viz.render(viz.draw(loss, view="rolled"), path)
        part.files.append((f"{kind.upper()} rolled view", path))
        part.body.append(_img(path, out, f"{kind.upper()}, rolled: one step, its loop goes round {steps} times",
                              "rolled"))
    part.body.insert(0, "<p>Every step of an RNN runs the same ops on the same weights, so the notes draw it once, "
                        "with a loop: the state a step hands to the next (h, and c for the LSTM) goes back into "
                        "the cell. Unrolled, the loop becomes the chain of time steps below. "
                        "(<code>tinygrad-rnn render --view rolled</code>)</p>")
    part.summary.append(f"each cell drawn once, its recurrence a loop labelled × {steps}")
    return part


def _table(markdown: str) -> str:
    """A Markdown table ('| a | b |' rows, a '|---|' rule) as an HTML table, numbers right-aligned."""
    rows = [[cell.strip() for cell in line.strip().strip("|").split("|")] for line in markdown.strip().splitlines()]
    head, body = rows[0], [r for r in rows[1:] if not all(set(c) <= set("-:") for c in r)]
    cells = "".join(f"<th>{html.escape(c)}</th>" for c in head)
    lines = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in body)
    return f'<table class="numbers"><thead><tr>{cells}</tr></thead><tbody>{lines}</tbody></table>'


def part_player(out: Path, steps: int, seed: int) -> Part:
    """The RNN's backward pass in the explorer: inline in the index page, and as a page of its own."""
    part = Part(TITLES["player"])
    viz = _require("viz", "backward_player", "explorer_html")
    loss = _unrolled("rnn", steps, seed)
    path = out / "backward.html"
    title = f"Backward through an RNN unrolled over {steps} steps"
    viz.backward_player(loss, path, title=title)
    part.files.append(("backward player", path))
    rel = html.escape(path.name)
    part.body.append("<p>The RNN above, backpropagated one node at a time. Click the explorer, then press "
                     "&#8594; (or n) to take a step, &#8592; (or p) to go back, Home/End for the start and the "
                     "end. The node of the step just taken is highlighted and the view follows it; the text "
                     "beside it gives the upstream gradient, the local rule and what was sent. Click an op "
                     "for its gradient, a parameter for its contributions per time step. "
                     f'<a href="{rel}">Open it on a page of its own</a>.</p>')
    part.body.append(viz.explorer_html(loss, title=title, height="460px"))
    part.summary.append("step through backward() node by node (inline, and backward.html)")
    return part


def part_derivation(out: Path, steps: int) -> Part:
    """What ``tinygrad-rnn derive --cell rnn --check`` prints, as a typeset page (derivation.html, MathML:
    the browser renders it, nothing is fetched), plus the terminal text and Markdown for notes."""
    part = Part(TITLES["derivation"])
    symbolic = _require("tinygrad_rnn.symbolic", "derive")
    doc = symbolic.derive("rnn", steps, check=True)
    text, markdown = doc.text(), doc.markdown()
    command = f"tinygrad-rnn derive --cell rnn --steps {steps} --check"
    intro = (f"<p>BPTT for the Elman RNN, derived by SymPy and checked three ways (symbolic, autograd, finite "
             f"differences). The same from the command line: <code>{command}</code>. "
             '<a href="index.html">Back to the tour</a>.</p>')
    write_atomic(out / "derivation.html", doc.html_page(TITLES["derivation"], intro))
    write_atomic(out / "derivation.txt", text + "\n")
    write_atomic(out / "derivation.md", markdown + "\n")
    part.files += [("derivation (typeset)", out / "derivation.html"),
                   ("derivation (text, as the terminal prints it)", out / "derivation.txt"),
                   ("derivation (Markdown source, to paste into notes)", out / "derivation.md")]
    worst = max((c.max_error for c in doc.checks), default=float("nan"))
    if not doc.ok(1e-8):
        raise RuntimeError(f"the BPTT check failed: an error of {worst:.1e} exceeds 1e-8 (see {part.files[1][1]})")
    part.summary.append(f"closed form derived for T = {steps}, checked three ways:")
    part.summary += [f"{check.title.removeprefix('check: ')}: {check.summary()}" for check in doc.checks]
    part.body += ['<p><a href="derivation.html">Read the derivation</a>: the recurrence, its closed form with a '
                  "proof by induction, the scalar and the vector RNN, typeset, with the check tables. The same "
                  f"from the command line: <code>{command}</code>.</p>",
                  "<ul>" + "".join(f"<li>{html.escape(line)}</li>" for line in part.summary[1:]) + "</ul>"]
    return part


def part_char_lm(out: Path, quick: bool, seed: int, progress: Progress) -> Part:
    """A short char-level GRU run: perplexity curve against the n-gram baseline, and a sample."""
    part = Part(TITLES["char-lm"])
    _require("tinygrad_rnn.nn", "GRU", "Linear")
    _require("tinygrad_rnn.optim", "Adam", "clip_grad_norm_")
    data = _require("tinygrad_rnn.data", "load_text", "Vocab", "sequential_batches")
    from ..stories import char_lm

    # one epoch of the story's defaults over the whole built-in text: the shortest run that beats the n-gram
    settings = dict(hidden=32, epochs=1, max_chars=12_000, num_steps=16, sample_length=120) if quick else dict(
        epochs=1, sample_length=200)
    r = char_lm.train(data.load_text(), kind="gru", seed=seed, progress=progress, **settings)
    curve = char_lm.plot.save(char_lm.curve_svg(r), out / "char_lm_perplexity.svg")
    sample = out / "char_lm_sample.txt"
    write_atomic(sample, r["sample"] + "\n")
    part.files += [("perplexity curve", curve), ("a sample", sample)]
    best = r["best_ngram"]
    line = (f"GRU on {r['chars']:,} characters of stdlib docstrings: held-out perplexity {r['final_val_ppl']:.2f} "
            f"in {r['seconds']:.0f} s (best n-gram: {best}-gram {r['baselines'][best]:.2f})")
    line += ": it beats the n-gram" if r["beats_ngram"] else (
        f": NOT better than the n-gram, a short demo; `{char_lm.BEATS_NGRAM}` beats it")
    part.summary.append(line)
    part.body += [f"<p>{html.escape(line)}. Longer runs: <code>tinygrad-rnn train char-lm --help</code>.</p>",
                  _img(curve, out, "perplexity"),
                  f'<p><a href="{sample.name}">A sample</a> at temperature {r["temperature"]}, starting from '
                  f"<code>{html.escape(repr(r['sample'][:4]))}</code>:</p>",
                  f'<pre class="text">{html.escape(r["sample"])}</pre>']
    return part


def part_gradient_flow(out: Path, quick: bool, seed: int) -> Part:
    """The gradient-flow story's pictures (without its slow trained-model panel)."""
    part = Part(TITLES["gradient-flow"])
    _require("tinygrad_rnn.nn", "RNNCell", "LSTMCell", "GRUCell", "RNN")
    _require("tinygrad_rnn.optim", "SGD", "clip_grad_norm_")
    from ..stories import gradient_flow

    parser = argparse.ArgumentParser()
    gradient_flow.configure(parser)
    sizes = ["--steps", "30", "--hidden", "16", "--trials", "2", "--table-steps", "20", "--train-steps", "40"]
    args = parser.parse_args([*(sizes if quick else []), "--seed", str(seed), "--out", str(out / "gradient-flow"),
                              "--quiet"])
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        gradient_flow.run(args)
    folder = out / "gradient-flow"
    for name, caption in (("gradient_norms.svg", "||dL/dh_t|| against the distance from the loss"),
                          ("closed_form_rnn.svg", "RNN: |prod b_j| for each (i, k)"),
                          ("closed_form_lstm.svg", "LSTM cell state: |prod f_j|"),
                          ("closed_form_gru.svg", "GRU: |prod b_j|"),
                          ("exploding_loss.svg", "exploding gradients: training with and without clipping"),
                          ("exploding_grad_norm.svg", "gradient norm per step")):
        part.files.append((caption, folder / name))
        part.body.append(_img(folder / name, out, caption))
    report = [line for line in buffer.getvalue().splitlines() if not line.startswith("wrote ")]
    part.body.append(f"<pre>{html.escape(chr(10).join(report))}</pre>")
    part.summary += report
    return part


def part_toy_lstm(out: Path) -> Part:
    """The lecture's hand-set LSTM cell: its table of memory and output, and its cells view with values."""
    part = Part(TITLES["toy-lstm"])
    _require("viz", "draw", "render")
    from ..stories import toy_lstm

    r = toy_lstm.run_cell()
    path = toy_lstm.draw(r, out / "toy-lstm" / "toy_lstm_cells.svg")
    part.files.append(("the hand-set LSTM, cells view with values", path))
    memory = ", ".join(f"{v:.0f}" for v in r["memory_before"])
    outputs = ", ".join(f"{v:.0f}" for v in r["output"])
    part.summary.append(f"one LSTM cell, weights set by hand, on the lecture's 9 inputs: memory {memory}; "
                        f"outputs {outputs}")
    part.body += [f"<p>{html.escape(part.summary[0])}. It adds x1 when x2 = 1, resets when x2 = &minus;1 and "
                  f"shows its memory when x3 = 1 (<code>tinygrad-rnn train toy-lstm</code>).</p>",
                  _img(path, out, "the hand-set LSTM over 9 steps: h and c on every step"),
                  _table(toy_lstm.format_table(r))]
    return part


def part_error_surface(out: Path) -> Part:
    """The one-unit RNN's loss over (w, b), with gradient descent run with and without clipping."""
    part = Part(TITLES["error-surface"])
    _require("tinygrad_rnn.optim", "SGD", "clip_grad_norm_")
    from ..stories import error_surface

    parser = argparse.ArgumentParser()
    error_surface.configure(parser)
    args = parser.parse_args(["--out", str(out / "error-surface"), "--quiet"])
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        error_surface.run(args)
    folder = out / "error-surface"
    for name, caption in (("error_surface.svg", "loss over (w, b) with both descents"),
                          ("error_surface_slice.svg", "along w through the cliff"),
                          ("error_surface_grad_steps.svg", "gradient norm at each descent step")):
        part.files.append((caption, folder / name))
        part.body.append(_img(folder / name, out, caption))
    report = [line for line in buffer.getvalue().splitlines() if not line.startswith("wrote ")]
    part.body.append(f"<pre>{html.escape(chr(10).join(report))}</pre>"
                     f"<p><code>tinygrad-rnn train error-surface --help</code> for the options.</p>")
    part.summary += report
    return part


def part_connectivity(out: Path, quick: bool, seed: int) -> Part:
    """Three tiny char models (RNN, LSTM, GRU) measured before and after a short training: the text coloured
    by connectivity (hover a character) and the log-scale heatmaps, with the question and the measured answer."""
    part = Part(TITLES["connectivity"])
    data = _require("tinygrad_rnn.data", "load_text", "Vocab", "sequential_batches")
    _require("viz.connectivity", "text_page", "heatmap_page")
    from ..stories import connectivity

    r = connectivity.train(data.load_text(), hidden=24, embed=8, batches=3 if quick else 20,
                           window=16 if quick else 24, max_chars=30_000, seed=seed)
    folder = out / "connectivity"
    text_page, *heatmaps = connectivity.pictures(r, folder)
    part.files += [("the passage coloured by connectivity", text_page),
                   ("connectivity heatmaps", heatmaps[0]), ("W_hh contributions heatmaps", heatmaps[1])]
    line = f"{connectivity.QUESTIONS['connectivity']} {connectivity.answer(r)}"
    part.summary.append(line)
    links = " · ".join(f'<a href="{path.relative_to(out).as_posix()}">{html.escape(name)}</a>'
                       for name, path in part.files)
    part.body += [f"<p>{html.escape(line)}</p>", f"<p>{links}. Hover a character of the passage: its earlier "
                  f"characters light up by how much its prediction depends on them. Twenty batches are a glimpse, "
                  f"too short to read a lesson from: the whole story, <code>tinygrad-rnn train connectivity</code> "
                  f"(hidden 64, 1500 batches, about a minute; docs/contributions.md), is where the GRU and the "
                  f"LSTM learn to reach further back than the RNN.</p>"]
    return part


STYLE = """
body { font-family: Helvetica, Arial, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; }
figure { display: inline-block; margin: 0.5em; vertical-align: top; }
figure img { max-width: 520px; max-height: 420px; border: 1px solid #ddd; }
figcaption { font-size: 0.9em; color: #444; }
pre { background: #f6f6f6; padding: 0.8em; overflow-x: auto; font-size: 0.85em; }
figure.graph, figure.rolled { display: block; }
figure.graph a { display: block; max-height: 460px; overflow: auto; border: 1px solid #ddd; }
figure.graph img, figure.rolled img { max-width: none; max-height: none; border: 0; }
figure.rolled img { max-width: 100%; }
pre.text { white-space: pre-wrap; overflow-wrap: anywhere; }
table.numbers { border-collapse: collapse; font-size: 0.85em; margin: 0.5em 0; }
table.numbers th, table.numbers td { border: 1px solid #ccc; padding: 2px 6px; text-align: right; }
table.numbers th { background: #f0f0f0; }
.unavailable { color: #8a6d00; } .failed { color: #b00020; }
"""


def write_index(out: Path, parts: list[Part], seconds: float) -> Path:
    body = ["<!doctype html>", '<html lang="en"><head><meta charset="utf-8">', "<title>tinygrad-rnn tour</title>",
            f"<style>{STYLE}</style></head><body>", "<h1>tinygrad-rnn: the tour</h1>",
            f"<p>Made by <code>tinygrad-rnn tour</code> in {seconds:.0f} s. Every picture is a file in this "
            f"folder; click one to open it full size.</p>", "<ul>"]
    body += [f'<li><a href="#part{i}">{html.escape(p.title)}</a>'
             + ("" if p.status == "ok" else f' <span class="{p.status}">({p.status})</span>') + "</li>"
             for i, p in enumerate(parts)]
    body.append("</ul>")
    for i, p in enumerate(parts):
        body.append(f'<h2 id="part{i}">{html.escape(p.title)}</h2>')
        if p.status != "ok":
            body.append(f'<p class="{p.status}">{html.escape(" ".join(p.summary))}</p>')
        body += p.body
    body.append("</body></html>")
    return write_atomic(out / "index.html", "\n".join(body) + "\n")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=output_folder, default="tinygrad-rnn-tour",
                        help="folder to write (default tinygrad-rnn-tour)")
    parser.add_argument("--steps", type=int, default=3, help="time steps in the drawn graphs (default 3)")
    parser.add_argument("--quick", action="store_true", help="smaller training runs (for tests; a few seconds)")
    parser.add_argument("--seed", type=seed, default=0, help="random seed (default 0)")
    parser.add_argument("--quiet", action="store_true", help="print only where things went and the summary")


def run(args: argparse.Namespace) -> int:
    if not 1 <= args.steps <= 20:
        raise UsageError("--steps must be between 1 and 20 (the ops view of a long unroll is unreadable)")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    progress = Progress(args.quiet)
    jobs: list[tuple[str, Callable[[], Part]]] = [
        ("rolled", lambda: part_rolled(out, args.steps, args.seed)),
        ("graphs", lambda: part_graphs(out, args.steps, args.seed)),
        ("player", lambda: part_player(out, args.steps, args.seed)),
        ("derivation", lambda: part_derivation(out, 5)),
        ("char-lm", lambda: part_char_lm(out, args.quick, args.seed, progress)),
        ("gradient-flow", lambda: part_gradient_flow(out, args.quick, args.seed)),
        ("toy-lstm", lambda: part_toy_lstm(out)),
        ("error-surface", lambda: part_error_surface(out)),
        ("connectivity", lambda: part_connectivity(out, args.quick, args.seed)),
    ]
    parts = []
    for name, job in jobs:
        progress(f"tour: {TITLES[name].lower()} ...")
        started = time.perf_counter()
        try:
            part = job()
        except Unavailable as reason:
            part = Part(TITLES[name], "unavailable", summary=[f"not available yet: {reason}"])
        except OSError as error:  # the disk or the folder (full, read-only): no other part can be written either
            if error.errno is None:
                raise
            raise CLIError(f"{TITLES[name].lower()}: {error.strerror if error.filename is None else error}") from None
        except Exception as error:  # a broken part must not hide the others; it is reported and fails the run
            traceback.print_exc()
            part = Part(TITLES[name], "failed", summary=[f"FAILED: {type(error).__name__}: {error}"])
        part.seconds = time.perf_counter() - started
        parts.append(part)
    index = write_index(out, parts, progress.elapsed)
    print(f"\ntinygrad-rnn tour: {progress.elapsed:.0f} s, written to {out}/")
    for part in parts:
        mark = {"ok": "ok  ", "unavailable": "n/a ", "failed": "FAIL"}[part.status]
        print(f"[{mark}] {part.title} ({part.seconds:.1f} s)")
        for line in part.summary:
            print(textwrap.fill(line, width=110, initial_indent=" " * 7, subsequent_indent=" " * 9,
                                break_on_hyphens=False))
        if part.files:
            names = ", ".join(path.relative_to(out).as_posix() for _, path in part.files)
            print(textwrap.fill(f"files: {names}", width=110, initial_indent=" " * 7, subsequent_indent=" " * 14,
                                break_on_hyphens=False))
    print(f"\nopen {index} in a browser")
    return 1 if any(p.status == "failed" for p in parts) else 0
