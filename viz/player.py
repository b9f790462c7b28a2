"""A browser player for the backward pass: one self-contained HTML file, no network.

The unrolled graph is drawn once (``viz.draw``'s ops view, rendered to SVG);
a slider and previous/next buttons move through the backward steps, and a
little JavaScript restyles the SVG's nodes for each frame (done / current /
pending ops, and the tensors whose gradient is known) while the event text of
that step is shown under the graph. SVG nodes are found by the ids
``viz.draw`` gives them: ``op<i>`` for node i, ``v<k>`` for the k-th tensor of
the graph. Everything a user named is escaped: HTML text through
``html.escape``, the SVG by ``viz``, and the frame data as JSON with ``<``,
``>`` and ``&`` written as ``\\u`` escapes.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

from tinygrad_rnn.graph import gc_paused
from tinygrad_rnn.stepper import BackwardStepper, format_array
from tinygrad_rnn.tensor import Tensor

from .draw import draw

_STATUS_FILL = {"done": "#b7e1b0", "current": "#ffd54f", "pending": "#ffffff"}


def _stepper(loss_or_stepper: Any) -> BackwardStepper:
    if isinstance(loss_or_stepper, BackwardStepper):
        return loss_or_stepper
    if isinstance(loss_or_stepper, Tensor):
        return BackwardStepper(loss_or_stepper)
    raise TypeError(
        f"backward_player: expected a loss Tensor or a BackwardStepper, got {type(loss_or_stepper).__name__}"
    )


def tensor_ids(stepper: BackwardStepper) -> dict[int, str]:
    """The SVG id ``viz.draw`` gives each tensor: ``v<k>``, k its position in ``graph.tensors``."""
    return {tid: f"v{k}" for k, tid in enumerate(stepper.graph.tensors)}


def _leaf_panel(stepper: BackwardStepper) -> str:
    """Every leaf that requires grad, with its gradient so far and how many contributions it has had."""
    known = stepper.known_grads()
    lines = []
    for tid, rec in stepper.graph.tensors.items():
        if rec.producer is not None or not rec.tensor.requires_grad:
            continue
        got, total = stepper.contributions(tid)
        head = f"{stepper.label(tid)}.grad = "
        value = format_array(known[tid], len(head)) if tid in known else "(nothing yet)"
        lines.append(f"{head}{value}\n  {got} of {total} contributions so far")
        for view, partial in stepper.collecting(tid).items():
            head = f"  being collected in dL/d{view} = "
            lines.append(head + format_array(partial, len(head)))
    return "\n".join(lines)


def _frames(stepper: BackwardStepper) -> list[dict[str, Any]]:
    """One frame per position 0..steps: the text of the step just taken, the leaf gradients,
    and the leaves whose ``.grad`` the pass has written (intermediates' gradients are known
    once their producer is current or done, which the page works out from the position).

    The stepper is walked from the start to the end and then put back where it was.
    """
    ids = tensor_ids(stepper)
    back_to = stepper.position
    with gc_paused():  # one frame per node: many objects, no cycles (see tinygrad_rnn.graph.gc_paused)
        stepper.go_to(0)
        frames = []
        text = stepper.where()
        while True:
            written = [ids[tid] for tid in stepper.known_grads() if stepper.graph.tensors[tid].producer is None]
            frames.append({"text": text, "leaves": _leaf_panel(stepper), "written": written})
            if stepper.done:
                break
            text = f"{stepper.step()[0]}\n\n{stepper.where()}"
        stepper.go_to(back_to)
    return frames


def _inline_svg(svg: str) -> str:
    """The <svg> element alone (no XML declaration, doctype or comments), ready to inline."""
    svg = svg[svg.index("<svg") :]
    return re.sub(r"<!--.*?-->", "", svg, flags=re.S)


def _json_for_script(value: Any) -> str:
    """JSON that is safe inside <script>: no '</', no '<!--', no raw '&' (valid XML too)."""
    text = json.dumps(value, ensure_ascii=False)
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


_PAGE = """<!DOCTYPE html>
<html xmlns="http://www.w3.org/1999/xhtml" lang="en">
<head>
<meta charset="utf-8"/>
<title>{title}</title>
<style>
body {{ font-family: Helvetica, Arial, sans-serif; margin: 1em; }}
#controls {{ margin-bottom: 0.8em; }}
#controls input {{ width: 40em; vertical-align: middle; }}
#graph {{ overflow: auto; max-height: 65vh; border: 1px solid #ccc; }}
#text {{ display: flex; gap: 1.5em; align-items: flex-start; }}
#text > div {{ flex: 1 1 50%; min-width: 0; }}
pre {{ background: #f7f7f7; padding: 0.6em; overflow-x: auto; font-size: 12px; }}
.node.done :is(polygon, ellipse) {{ fill: {done}; }}
.node.current :is(polygon, ellipse) {{ fill: {current}; stroke-width: 4px; }}
.node.pending :is(polygon, ellipse) {{ fill: {pending}; stroke-dasharray: 3 2; }}
.node.hasgrad :is(polygon, ellipse) {{ fill: #90caf9; }}
.node.hasgrad text, .node.done text, .node.current text {{ fill: black; }}
.legend span {{ padding: 0 0.5em; margin-right: 0.5em; border: 1px solid #999; }}
</style>
</head>
<body>
<h1>{title}</h1>
<div class="legend">
<span style="background:{done}">done</span><span style="background:{current}">current</span>
<span style="background:{pending}">pending</span><span style="background:#90caf9">tensor whose gradient is known</span>
</div>
<div id="controls">
<button id="prev" type="button">&#9664; previous</button>
<input id="slider" type="range" min="0" max="{steps}" value="{start}"/>
<button id="next" type="button">next &#9654;</button>
<span id="counter"></span>
</div>
<div id="graph">{svg}</div>
<div id="text">
<div><h2>This step</h2><pre id="event"></pre></div>
<div><h2>Leaf gradients so far</h2><pre id="leaves"></pre></div>
</div>
<script id="frames" type="application/json">{frames}</script>
<script>//<![CDATA[
(function () {{
  var data = JSON.parse(document.getElementById("frames").textContent);
  var frames = data.frames, producer = data.producer;
  var steps = frames.length - 1;
  var slider = document.getElementById("slider");
  var nodes = {{}};
  document.querySelectorAll("#graph g.node").forEach(function (g) {{ nodes[g.id] = g; }});
  function show(k) {{
    k = Math.max(0, Math.min(steps, k));
    slider.value = k;
    for (var i = 0; i !== steps; i++) {{
      var g = nodes["op" + i];
      if (!g) continue;
      var status = i >= steps - k ? "done" : (i === steps - k - 1 ? "current" : "pending");
      ["done", "current", "pending"].forEach(function (s) {{ g.classList.toggle(s, s === status); }});
    }}
    var written = {{}};
    frames[k].written.forEach(function (id) {{ written[id] = true; }});
    Object.keys(nodes).forEach(function (id) {{
      if (id.charAt(0) !== "v") return;
      var p = producer[id];
      var known = id === data.root || (p === undefined ? written[id] === true : p >= steps - k - 1);
      nodes[id].classList.toggle("hasgrad", known);
    }});
    document.getElementById("event").textContent = frames[k].text;
    document.getElementById("leaves").textContent = frames[k].leaves;
    document.getElementById("counter").textContent = "step " + k + " of " + steps;
  }}
  document.getElementById("prev").addEventListener("click", function () {{ show(+slider.value - 1); }});
  document.getElementById("next").addEventListener("click", function () {{ show(+slider.value + 1); }});
  slider.addEventListener("input", function () {{ show(+slider.value); }});
  show(+slider.value);
  var auto = /autostep=(\\d+)/.exec(location.hash);
  if (auto) {{
    for (var n = +auto[1]; n !== 0; n--) document.getElementById("next").click();
  }}
}})();
//]]></script>
</body>
</html>
"""


def player_html(loss_or_stepper: Any, title: str | None = None, max_nodes: int = 500) -> str:
    """The player page as a string (see ``backward_player``)."""
    stepper = _stepper(loss_or_stepper)
    root = stepper.graph.tensors[stepper.graph.root]
    title = title or f"Backward pass of {stepper.label(root.id)}: {stepper.steps} steps"
    svg = _inline_svg(draw(stepper.graph, max_nodes=max_nodes).pipe(format="svg", encoding="utf-8"))
    ids = tensor_ids(stepper)
    data = {
        "frames": _frames(stepper),
        "producer": {ids[tid]: rec.producer for tid, rec in stepper.graph.tensors.items() if rec.producer is not None},
        "root": ids[stepper.graph.root],
    }
    return _PAGE.format(
        title=html.escape(title),
        steps=stepper.steps,
        start=stepper.position,
        svg=svg,
        frames=_json_for_script(data),
        **_STATUS_FILL,
    )


def backward_player(
    loss_or_stepper: Any, path: str | Path, title: str | None = None, max_nodes: int = 500
) -> Path:
    """Write a self-contained HTML page that plays the backward pass of a loss (or a stepper).

    Position k of the slider shows the state after k steps; the page opens at
    the stepper's current position (0 for a loss). Opening the page with
    ``#autostep=N`` in the URL presses "next" N times (handy for demos and for
    headless checks). Leaves ``.grad`` exactly as it was. Graphs with more than
    ``max_nodes`` ops and tensors are refused, as by ``viz.draw``.
    """
    path = Path(path)
    path.write_text(player_html(loss_or_stepper, title, max_nodes), encoding="utf-8")
    return path
