"""Where the gradient comes from: connectivity and contributions on a trained character model.

The question of the vanishing gradient, asked of real models on real text:
how far back does a prediction's gradient reach? Three character models of
the same size (a tanh RNN, an LSTM and a GRU) are measured at initialisation,
trained for the same wall-clock time on the same text, and measured again on
a held-out passage:

- connectivity ||d y_t~ / d x_t|| (``tr.connectivity``): how much the logit of
  the true next character at step t~ depends on the character read at step t;
- contributions ||C[t~, t]|| (``tr.contributions``): how much of the gradient of
  the loss at step t~ with respect to W_hh flows through W_hh's use at step t;
- the same with a hook (``register_hook``) that zeroes dL/dh_k in the middle of
  the passage: which entries vanish, and how much W_hh's gradient changes.

The *reach* of a row t~ is how many steps back its values stay above 1% of
the row's largest; the story reports the median over the passage's second
half (where there are enough earlier steps to reach into). Pictures: the
passage coloured by connectivity (hover a character), and T~ x T heatmaps on
a log colour scale, each with its question and the measured answer.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np

from viz import connectivity as pages
from viz import plot

from ..files import write_atomic
from .char_lm import build, detach_state
from .common import KINDS, Progress, add_common_options, positive, save_results

FLOOR = 0.01  # the reach: steps back until a row falls below this fraction of its largest value

QUESTIONS = {
    "cut": "What does cutting dL/dh_k at one step with a hook remove from W_hh's gradient?",
    "connectivity": "How far back does each model's prediction depend on the characters it read, "
                    "at initialisation and after training?",
    "contributions": "Which steps' uses of W_hh make up the gradient of each step's loss?",
}


def reach(matrix: np.ndarray, floor: float = FLOOR) -> float:
    """Median over the second half of the rows t~ of the largest lag d with
    matrix[t~, t~ - d] >= floor * max of row t~ (0: only the current step counts)."""
    T = matrix.shape[0]
    lags = []
    for row in range(T // 2, T):
        values = matrix[row, : row + 1]
        if values.max() <= 0:
            continue
        strong = np.nonzero(values >= floor * values.max())[0]
        lags.append(row - strong.min())
    return float(np.median(lags)) if lags else 0.0


def measure(model: Any, ids: np.ndarray) -> dict[str, Any]:
    """Connectivity and W_hh contributions (norms) of ``model`` on one passage ``ids`` (T + 1 ids)."""
    from .. import functional as F
    from ..attribution import connectivity, contributions

    inputs, targets = ids[:-1].reshape(-1, 1), ids[1:].reshape(-1, 1)
    x = model.embedding(inputs)  # (T, 1, E): connectivity is measured with respect to it
    output, _ = model.rnn(x)
    logits = model.readout(output)
    K = connectivity(logits, x, targets=targets)
    losses = [F.cross_entropy(logits[t], targets[t]) for t in range(len(inputs))]
    C = contributions(losses, model.rnn.weight_hh_l0, norm=True)
    nll = float(np.mean([loss.item() for loss in losses]))
    return {"connectivity": K, "contributions": C, "reach": reach(K), "contributions_reach": reach(C),
            "ppl": float(np.exp(nll))}


def cut(model: Any, ids: np.ndarray, step: int) -> dict[str, Any]:
    """W_hh's contributions with dL/dh_step zeroed by a hook (``register_hook``), and how much
    that changes W_hh's gradient of the summed loss: ||g_cut - g|| / ||g||."""
    from .. import functional as F
    from ..attribution import contributions, hidden_states
    from ..higher_order import grad

    inputs, targets = ids[:-1].reshape(-1, 1), ids[1:].reshape(-1, 1)
    output, _ = model.rnn(model.embedding(inputs))
    logits = model.readout(output)
    losses = [F.cross_entropy(logits[t], targets[t]) for t in range(len(inputs))]
    total = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), reduction="sum")
    W = model.rnn.weight_hh_l0
    (full,) = grad(total, [W])
    with hidden_states(output)[step - 1].register_hook(lambda g: np.zeros_like(g)):
        C = contributions(losses, W, norm=True)
        (kept,) = grad(total, [W])
    change = float(np.linalg.norm(kept.data - full.data) / np.linalg.norm(full.data))
    before = C[step - 1:, : step - 1]  # losses at or after the cut, uses before it
    return {"step": step, "contributions": C, "grad_change": change,
            "reaches_past_cut": bool(np.any(before > 1e-12 * C.max()))}


def train_for(model: Any, train_ids: np.ndarray, batches: int, batch: int, num_steps: int, lr: float,
              clip: float, rng: np.random.Generator) -> dict[str, Any]:
    """Adam on ``batches`` batches, truncated BPTT (sequential batches, the state carried over detached)."""
    from .. import data, optim
    from .. import functional as F

    opt = optim.Adam(model.parameters(), lr=lr)
    started, steps, losses = time.perf_counter(), 0, []
    V = model.vocab_size
    while steps < batches:
        state = None
        for X, Y in data.sequential_batches(train_ids, batch, num_steps, seed=rng, batch_first=False):
            state = detach_state(state)
            logits, state = model(X, state)
            loss = F.cross_entropy(logits.reshape(-1, V), Y.reshape(-1))
            opt.zero_grad()
            loss.backward(retain_grads=False, retain_graph=False)
            optim.clip_grad_norm_(model.parameters(), clip)
            opt.step()
            steps += 1
            losses.append(loss.item())
            if steps == batches:
                break
    tail = losses[-max(1, len(losses) // 10):]
    return {"batches": steps, "seconds": time.perf_counter() - started,
            "train_ppl": float(np.exp(np.mean(tail))) if tail else float("nan")}


def passage(text: str, length: int) -> str:
    """``length`` + 1 characters of ``text`` starting at a line that begins a sentence, if one is near."""
    start = text.find("\n", len(text) // 3)
    start = start + 1 if 0 <= start < len(text) - length - 1 else 0
    return text[start: start + length + 1]


def train(text: str, kinds: tuple[str, ...] = KINDS, hidden: int = 64, embed: int = 16, batches: int = 1500,
          window: int = 48, batch: int = 32, num_steps: int = 32, lr: float = 0.01, clip: float = 1.0,
          max_chars: int | None = 150_000, seed: int = 0, progress: Progress | None = None) -> dict:
    """Measure, train (``batches`` batches each), measure again, for each cell kind: the numbers behind the
    pictures. The same seed gives every kind the same batches in the same order."""
    from .. import data, nn

    progress = progress or Progress(quiet=True)
    text = text[:max_chars] if max_chars else text
    train_text, val_text = data.train_val_split(text, 0.1)
    vocab = data.Vocab.from_text(train_text, level="char", reserved=())
    shown = "".join(c for c in passage(val_text, window) if c in vocab)[: window + 1]
    ids = vocab.encode(shown)
    train_ids = vocab.encode(train_text)
    models: dict[str, Any] = {}
    for kind in kinds:
        rng = np.random.default_rng(seed)
        nn.manual_seed(seed)
        model = build(kind, len(vocab), hidden, embed)
        before = measure(model, ids)
        progress(f"{kind.upper()}: at initialisation, connectivity reaches back {before['reach']:.0f} steps; "
                 f"training on {batches} batches")
        run = train_for(model, train_ids, batches, batch, num_steps, lr, clip, rng)
        after = measure(model, ids)
        progress(f"{kind.upper()}: {run['seconds']:.0f} s, training perplexity {run['train_ppl']:.2f}; "
                 f"connectivity now reaches back {after['reach']:.0f} steps")
        models[kind] = {"init": before, "trained": after, "cut": cut(model, ids, len(ids) // 2), **run}
    return {"text": shown[:-1], "next": shown[1:], "hidden": hidden, "embed": embed, "batches": batches,
            "floor": FLOOR, "models": models}


def answer(result: dict, key: str = "reach") -> str:
    """The measured answer to a picture's question, one sentence per state."""
    parts = []
    for state, name in (("init", "at initialisation"), ("trained", f"after {result['batches']} batches of training")):
        reaches = ", ".join(f"{kind.upper()} {m[state][key]:.0f}" for kind, m in result["models"].items())
        parts.append(f"{name}: {reaches} steps back")
    return "Median reach (values above 1% of the row's largest), " + "; ".join(parts) + "."


def cut_answer(result: dict) -> str:
    """The measured answer to the hook question."""
    models = result["models"]
    step = next(iter(models.values()))["cut"]["step"]
    changes = ", ".join(f"{kind.upper()} {m['cut']['grad_change']:.0%}" for kind, m in models.items())
    past = [kind.upper() for kind, m in models.items() if m["cut"]["reaches_past_cut"]]
    verb = "reaches" if len(past) == 1 else "reach"
    tail = (f"; the {' and '.join(past)} still {verb} steps before {step}: its cell state c carries the gradient "
            f"past the cut h" if past else f"; no loss after step {step} reaches W_hh's uses before it any more")
    return f"After training, a hook zeroing dL/dh_{step} changes W_hh's gradient by {changes}{tail}."


def pictures(result: dict, out: Path) -> list[Path]:
    """The coloured text page and the two heatmap pages."""
    kinds = list(result["models"])
    panels = []
    for kind in kinds:
        for state, name in (("trained", "after training"), ("init", "at initialisation")):
            m = result["models"][kind][state]
            panels.append({"label": f"{kind.upper()} {name}", "matrix": m["connectivity"],
                           "note": f"reach {m['reach']:.0f} steps; perplexity on this passage {m['ppl']:.1f}"})
    text_html = pages.text_page(result["text"], panels, after=result["next"][-1],
                                question=QUESTIONS["connectivity"], answer=answer(result),
                                intro="Each panel is one model reading the same held-out passage. Hover a character "
                                      "to see which earlier characters its next-character prediction depends on.")
    written = [write_atomic(out / "connectivity_text.html", text_html)]
    for key, what, colour in (("connectivity", "||dy_t~/dx_t||", "||dy/dx||"),
                              ("contributions", "||C[t~, t]|| for W_hh", "||C||")):
        figures = []
        steps = range(1, len(result["text"]) + 1)  # steps counted from 1, as the text page counts them
        reach_key = "reach" if key == "connectivity" else "contributions_reach"
        states = (("init", "at initialisation"), ("trained", "after training"))
        if key == "contributions":
            states += (("cut", "after training, dL/dh_k zeroed"),)
        for state, name in states:
            for kind in kinds:
                m = result["models"][kind][state]
                if state == "cut":
                    name = name.replace("_k", f"_{m['step']}")
                    answer_text = f"{kind.upper()}: W_hh's gradient changes by {m['grad_change']:.0%}"
                else:
                    answer_text = f"{kind.upper()} {name}: reaches back {m[reach_key]:.0f} steps"
                figures.append({
                    "svg": plot.heatmap(m[key], title=f"{kind.upper()} {name}", log=True, xlabel="input step t",
                                        ylabel="output step t~", colour_label=colour, width=400, height=360,
                                        xticks=steps, yticks=steps),
                    "answer": answer_text,
                })
        intro = QUESTIONS[key] + " " + answer(result, reach_key)
        if key == "contributions":
            intro += " " + QUESTIONS["cut"] + " " + cut_answer(result)
        html = pages.heatmap_page(figures, title=f"{what}: every output step against every input step", intro=intro)
        written.append(write_atomic(out / f"{key}_heatmaps.html", html))
    return written


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--text", help="a UTF-8 text file to learn (default: the standard library's docstrings)")
    parser.add_argument("--kinds", default="rnn,lstm,gru", help="cells to compare, comma-separated (default all)")
    parser.add_argument("--hidden", type=int, default=64, help="hidden size of every model (default 64)")
    parser.add_argument("--embed", type=int, default=16, help="embedding size (default 16)")
    parser.add_argument("--batches", type=int, default=1500,
                        help="training batches per model (default 1500: about a minute for all three)")
    parser.add_argument("--window", type=int, default=48, help="characters of the measured passage (default 48)")
    parser.add_argument("--max-chars", type=int, default=150_000, help="train on the first N characters")
    add_common_options(parser, "connectivity")


def run(args: argparse.Namespace) -> int:
    from .. import data

    positive("--hidden, --embed, --window and --max-chars", args.hidden, args.embed, args.window, args.max_chars)
    if args.batches < 0:
        raise SystemExit("--batches must be >= 0")
    kinds = tuple(k.strip() for k in args.kinds.split(",") if k.strip())
    unknown = [k for k in kinds if k not in KINDS]
    if not kinds or unknown:
        raise SystemExit(f"--kinds: use some of {', '.join(KINDS)} (got {args.kinds!r})")
    try:
        text = data.load_text(args.text)
    except (OSError, ValueError) as error:
        raise SystemExit(f"connectivity: --text: {str(error).removeprefix('load_text: ')}") from None
    progress = Progress(args.quiet)
    result = train(text, kinds, args.hidden, args.embed, args.batches, args.window, max_chars=args.max_chars,
                   seed=args.seed, progress=progress)
    out = Path(args.out)
    written = pictures(result, out)
    save_results(out, "connectivity", result)
    print(QUESTIONS["connectivity"])
    print(answer(result))
    print(QUESTIONS["contributions"])
    print(answer(result, "contributions_reach"))
    print(QUESTIONS["cut"])
    print(cut_answer(result))
    print("wrote " + ", ".join(str(p) for p in written))
    return 0
