"""Pages for "where the gradient comes from": text coloured by connectivity, and heatmap grids.

``text_page`` writes a character model's text once per model (RNN, LSTM, GRU,
at initialisation and after training). Hover a character: it is the input at
step t~, and the model predicts the character after it; every earlier
character t lights up by ||d y_t~ / d x_t||, how much that prediction depends on
it (distill's "memorization in RNNs"), on a log scale from 1/1000 of the row's
largest value (white) to the largest (dark blue). The same step lights up in
every panel at once, so the models compare side by side.

``heatmap_page`` puts T~ x T heatmaps (log colour scale, from ``viz.plot``) in a
grid, each under the question it answers and the measured answer.

Both pages are one self-contained HTML file: no network, no external script.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from html import escape
from typing import Any

import numpy as np

FLOOR = 1e-3  # the log colour scale of the text starts at this fraction of a row's largest value

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 24px; color: #111; max-width: 1200px; }
h1 { font-size: 22px; } h2 { font-size: 17px; margin: 18px 0 6px; }
.tgr-question { font-weight: 600; } .tgr-answer { margin: 2px 0 10px; }
.tgr-panel { border: 1px solid #ccd; border-radius: 6px; padding: 8px 12px; margin: 10px 0; }
.tgr-text { font-family: Menlo, Consolas, monospace; font-size: 18px; line-height: 1.7; white-space: pre-wrap; }
.tgr-char { padding: 1px 0; border-radius: 2px; cursor: default; }
.tgr-char.tgr-hovered { outline: 2px solid #d62728; }
.tgr-status { font-size: 15px; min-height: 1.4em; color: #333; }
.tgr-legend span { display: inline-block; width: 28px; height: 14px; vertical-align: middle; }
.tgr-grid { display: grid; grid-template-columns: repeat(3, 1fr); gap: 12px; }
.tgr-panels { display: grid; grid-template-columns: 1fr 1fr; gap: 0 12px; }
.tgr-grid figure { margin: 0; } .tgr-grid figcaption { font-size: 15px; margin: 4px 0; }
.tgr-grid svg { max-width: 100%; height: auto; }
"""

# Hovering step t~ in any panel colours every panel's characters 0..t~ by its row t~.
_SCRIPT = """
(function () {
  const data = window.tgrConnectivity;
  const floor = Math.log10(data.floor);
  function shade(v, top) {
    if (!(v > 0) || !(top > 0)) return null;
    const x = Math.min(1, Math.max(0, (Math.log10(v / top) - floor) / -floor));
    if (x <= 0) return null;
    const r = Math.round(255 - x * 247), g = Math.round(255 - x * 207), b = Math.round(255 - x * 148);
    return [`rgb(${r}, ${g}, ${b})`, x > 0.55 ? '#fff' : '#000'];
  }
  function show(step) {
    document.querySelectorAll('.tgr-panel').forEach(function (panel) {
      const row = data.panels[+panel.dataset.panel].matrix[step];
      const top = Math.max.apply(null, row.slice(0, step + 1));
      panel.querySelectorAll('.tgr-char').forEach(function (span) {
        const t = +span.dataset.t;
        const s = t <= step ? shade(row[t], top) : null;
        span.style.backgroundColor = s ? s[0] : '';
        span.style.color = s ? s[1] : '';
        span.classList.toggle('tgr-hovered', t === step);
      });
      const next = data.text[step + 1] === undefined ? '' : data.text[step + 1];
      let first = 0;  // the farthest shaded character (gaps allowed: a model may skip its neighbours)
      while (first < step && !shade(row[first], top)) first += 1;
      panel.querySelector('.tgr-status').textContent =
        `step ${step + 1}: reading "${data.text[step]}", predicting the next character ` +
        `"${next === '\\n' ? '⏎' : next}": the shading reaches back ${step - first} character(s)`;
    });
  }
  document.querySelectorAll('.tgr-char').forEach(function (span) {
    span.addEventListener('mouseenter', function () { show(+span.dataset.t); });
  });
  window.tgrShowStep = show;
})();
"""


def _page(title: str, body: list[str], script: str = "") -> str:
    return "\n".join([
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">', f"<title>{escape(title)}</title>",
        f"<style>{_STYLE}</style></head><body>", f"<h1>{escape(title)}</h1>", *body, script, "</body></html>",
    ])


def _char(c: str) -> str:
    return "⏎\n" if c == "\n" else escape(c)


def text_page(text: str, panels: Sequence[dict[str, Any]], title: str = "Where each prediction's gradient reaches",
              intro: str = "", question: str = "", answer: str = "", after: str = "") -> str:
    """The coloured-text page. ``text``: the T characters the models read (input x_t = text[t]).
    ``panels``: one per model, ``{"label": "GRU after training", "matrix": (T, T) connectivity}``
    (row t~ = the prediction made after reading text[t~]); optional ``"note"``, a line under the label.
    ``after``: the character that follows the text (what the last step predicts)."""
    T = len(text)
    for panel in panels:
        m = np.asarray(panel["matrix"], dtype=float)
        if m.shape[0] != T or m.shape[1] != T:
            raise ValueError(f"text_page: panel {panel['label']!r} has a {m.shape} matrix for {T} characters")
    body = [f"<p>{escape(intro)}</p>" if intro else ""]
    if question:
        body.append(f'<p class="tgr-question">{escape(question)}</p><p class="tgr-answer">{escape(answer)}</p>')
    legend = "".join(f'<span style="background: rgb({round(255 - x * 247)}, {round(255 - x * 207)}, '
                     f'{round(255 - x * 148)})"></span>' for x in np.linspace(0, 1, 7))
    body.append(f'<p class="tgr-legend">hover a character: earlier characters shade by how much the next '
                f'prediction depends on them, ||dy/dx_t||, on a log scale: 1/1000 of the largest {legend} '
                f'the largest</p>')
    rows = ['<div class="tgr-panels">']
    for k, panel in enumerate(panels):
        chars = "".join(f'<span class="tgr-char" data-t="{t}">{_char(c)}</span>' for t, c in enumerate(text))
        note = f'<div class="tgr-note">{escape(panel["note"])}</div>' if panel.get("note") else ""
        rows.append(f'<div class="tgr-panel" data-panel="{k}"><h2>{escape(panel["label"])}</h2>{note}'
                    f'<div class="tgr-text">{chars}</div><div class="tgr-status"></div></div>')
    rows.append("</div>")
    data = {"text": list(text + after), "floor": FLOOR,
            "panels": [{"label": p["label"], "matrix": np.asarray(p["matrix"], dtype=float).round(12).tolist()}
                       for p in panels]}
    blob = json.dumps(data).replace("</", "<\\/")
    script = f"<script>window.tgrConnectivity = {blob};</script>\n<script>{_SCRIPT}</script>"
    return _page(title, body + rows, script)


def heatmap_page(figures: Sequence[dict[str, str]], title: str, intro: str = "") -> str:
    """A grid of SVG figures, ``{"svg": ..., "question": ..., "answer": ...}`` each (the SVG is ours,
    made by ``viz.plot``; question and answer are escaped)."""
    body = [f"<p>{escape(intro)}</p>" if intro else "", '<div class="tgr-grid">']
    for f in figures:
        question = f'<span class="tgr-question">{escape(f["question"])}</span><br>' if f.get("question") else ""
        body.append(f'<figure>{f["svg"]}<figcaption>{question}{escape(f.get("answer", ""))}</figcaption></figure>')
    body.append("</div>")
    return _page(title, body)
