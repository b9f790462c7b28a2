"""The explorer: one self-contained HTML+JS view of a recorded graph and its backward pass.

The stepper computes the whole pass as frames (``BackwardStepper.frames()``,
plain data); this module only renders them: the graph drawn once by
``viz.draw`` (the ops view, and the cells view for long unrolls), the frames
as JSON, and a small script (``explorer.js``) that restyles the drawing for
each frame, pans to the node being explained, and answers clicks.

Everything lives inside one root element: the CSS rules are prefixed with the
root's own unique id (``#tgr-<key>``: an id outranks a host page's class rules,
such as JupyterLab's), the SVG's element ids become ``data-id`` attributes, and
the script finds its root by its ``data-tgr-explorer`` key, so any number of
explorers can share a page (a notebook, the tour). No network.

The meaning of the colours is the one of ``viz.draw(stepper)`` and of the
step shell's ``g`` picture (``viz.labels.STATUS_STYLE``): *current* is the step
just taken, the node the step text describes.
"""

from __future__ import annotations

import html
import json
import re
import uuid
from pathlib import Path
from typing import Any

from tinygrad_rnn.notation import names_of, plain
from tinygrad_rnn.stepper import BackwardStepper, format_array
from tinygrad_rnn.tensor import Tensor

from . import labels, mathml
from .draw import TIME as TIME_STEP
from .draw import GraphTooLarge, draw

SCRIPT = Path(__file__).with_name("explorer.js")
LONG_UNROLL = 8  # more time steps than this: the explorer opens in the cells view

_GROUP = re.compile(
    r'<g data-id="(g\d+)" class="node (cell|block)[^"]*">\s*<title>[^<]*</title>\s*'
    r'<g data-id="a_g\d+"><a xlink:title="([^"]*)">(.*?)</g>',
    re.S,
)

_CSS = """
R { font-family: Helvetica, Arial, sans-serif; font-size: 13px; color: #222; border: 1px solid #cfd8dc;
    border-radius: 4px; padding: 6px; outline: none; box-sizing: border-box; max-width: 100%; }
R:focus { border-color: #1e88e5; box-shadow: 0 0 0 2px #bbdefb; }
R .tgr-title { font-weight: bold; margin: 0 0 4px 2px; }
R .tgr-bar { display: flex; flex-wrap: wrap; gap: 4px; align-items: center; margin-bottom: 6px; }
R .tgr-bar button { font-size: 12px; padding: 2px 7px; cursor: pointer; }
R .tgr-bar button.tgr-on { background: #1e88e5; color: white; border-color: #0d47a1; }
R .tgr-slider { width: 16em; }
R .tgr-counter { min-width: 8em; font-variant-numeric: tabular-nums; }
R .tgr-runto { display: inline-flex; gap: 2px; margin: 0; }
R .tgr-target { width: 9em; font-size: 12px; }
R .tgr-message { color: #b00020; }
R .tgr-main { display: flex; gap: 8px; height: HEIGHT; }
R .tgr-viewport { position: relative; overflow: hidden; flex: 1 1 62%; min-width: 0; border: 1px solid #eceff1;
    background: white; cursor: grab; touch-action: none; }
R .tgr-canvas { position: absolute; left: 0; top: 0; transform-origin: 0 0; }
R .tgr-canvas svg { display: block; }
R .tgr-side { flex: 0 1 38%; min-width: 16em; overflow: auto; }
R .tgr-h { font-weight: bold; margin: 6px 0 2px; color: #37474f; }
R pre { background: #f6f8fa; padding: 5px; margin: 0 0 4px; font-size: 11.5px; white-space: pre-wrap;
    word-break: break-word; }
R .tgr-rule { overflow-x: auto; }
R .tgr-rule .tgr-formula { margin: 2px 0 6px; text-align: left; }
R .tgr-rule math { font-size: 15px; }
R .tgr-legend { font-size: 11.5px; line-height: 1.7; }
R .tgr-swatch { display: inline-block; width: 1.6em; height: 0.95em; vertical-align: middle; margin-right: 4px;
    border: 1px solid #546e7a; box-sizing: border-box; }
R .tgr-palette { display: inline-block; vertical-align: middle; }
R .tgr-palette span { display: inline-block; width: 0.9em; height: 0.95em; }
R .tgr-chart rect { fill: #1e88e5; }
R .tgr-chart text { font-size: 9px; fill: #37474f; }
R .tgr-chart-title { margin-top: 4px; }
R g.node { cursor: pointer; }
R g.node.current :is(polygon, ellipse, path) { fill: CURRENT_FILL !important; stroke: CURRENT_STROKE;
    stroke-width: CURRENT_WIDTH; }
R g.node.current text { fill: CURRENT_FONT; }
R g.node.next :is(polygon, ellipse, path) { fill: NEXT_FILL; stroke: NEXT_STROKE; stroke-width: NEXT_WIDTH;
    stroke-dasharray: 4 2; }
R g.node.pending :is(polygon, ellipse, path) { fill: PENDING_FILL; stroke: PENDING_STROKE;
    stroke-dasharray: 3 2; }
R g.node.pending text { fill: PENDING_FONT; }
R g.node.partial :is(polygon, ellipse, path) { stroke-dasharray: 6 2; }
R .tgr-overview { display: flex; align-items: center; gap: 4px; margin: 0 0 4px; font-size: 11px; color: #455a64;
    white-space: nowrap; height: 24px; }
R .tgr-overview + .tgr-main { height: calc(HEIGHT - 28px); }
R .tgr-overview-strip { flex: 1 1 auto; min-width: 0; height: 22px; border: 1px solid #b0bec5; cursor: pointer;
    display: block; }
R .tgr-overview-window { fill: rgba(21, 101, 192, 0.12); stroke: #0d47a1; stroke-width: 2px;
    vector-effect: non-scaling-stroke; }
R .tgr-rolled-where { position: absolute; left: 6px; top: 4px; padding: 2px 6px; background: #ede7f6;
    border: 1px solid #6a1b9a; border-radius: 3px; font-weight: bold; color: #4a148c; display: none; }
R[data-view="rolled"] .tgr-rolled-where { display: block; }
R g.node.tgr-lit :is(polygon, ellipse, path) { fill: CURRENT_FILL !important; stroke: CURRENT_STROKE;
    stroke-width: CURRENT_WIDTH; }
R g.node.tgr-lit text { fill: CURRENT_FONT !important; }
R g.tgr-folded rect { fill: #e3f2fd; stroke: #1565c0; stroke-width: 1.5px; stroke-dasharray: 5 3; }
R g.tgr-folded text { fill: #0d2a4a; font-size: 12px; }
R g.node.tgr-selected :is(polygon, ellipse, path) { stroke: #ff6f00 !important; stroke-width: 3px !important; }
R .tgr-side pre { white-space: pre; overflow-x: auto; word-break: normal; }
R .tgr-chart text.tgr-bar-value { font-size: 8.5px; fill: #0d47a1; }
R .tgr-fold { font-size: 11.5px; margin: 1px 2px; padding: 1px 5px; cursor: pointer; }
R .tgr-canvas svg { max-width: none; max-height: none; }
R .tgr-runto { flex: none; flex-direction: row; overflow: visible; }
R { line-height: 1.4; text-align: left; background: #fff; }
"""
# The host's CSS (the last three rules above): JupyterLab's .jp-RenderedHTMLCommon gives every svg in an output
# ``max-width: 100%; height: auto`` (a 4,000 px graph drawn 570 px wide), every pre its own background and padding,
# every form a scrolling flex column, and a dark theme its own text colour on a dark page (the explorer's text is
# dark: it keeps a white ground of its own). Our rules are scoped by the root's id (``#tgr-...``): an id outranks the
# host's class selectors, so these rules win wherever the explorer is shown.


def _stepper(loss_or_stepper: Any, who: str) -> BackwardStepper:
    if isinstance(loss_or_stepper, BackwardStepper):
        return loss_or_stepper
    if isinstance(loss_or_stepper, Tensor):
        return BackwardStepper(loss_or_stepper)
    raise TypeError(f"{who}: expected a loss Tensor or a BackwardStepper, got {type(loss_or_stepper).__name__}")


def _inline_svg(svg: str) -> str:
    """The <svg> element alone (no XML declaration, doctype or comments), with its element ids
    turned into ``data-id`` attributes so that two drawings on one page do not clash."""
    svg = svg[svg.index("<svg") :]
    svg = re.sub(r"<!--.*?-->", "", svg, flags=re.S)
    return re.sub(r'(<[a-zA-Z]+) id="', r'\1 data-id="', svg)


def json_for_script(value: Any) -> str:
    """JSON that is safe inside <script>: no '</', no '<!--', no raw '&' (valid XML too)."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def _time_steps(stepper: BackwardStepper) -> int:
    return len({tuple(n.scope.split("/")[: i + 1]) for n in stepper.graph.nodes
                for i, seg in enumerate(n.scope.split("/")) if TIME_STEP.match(seg)})


def _groups(svg: str, stepper: BackwardStepper) -> list[dict[str, Any]]:
    """The boxes of the cells view and the nodes each stands for (a time step: its ops)."""
    found = [(gid, kind, html.unescape(title), "after the steps" in body) for gid, kind, title, body in
             _GROUP.findall(svg)]
    groups = {gid: {"id": gid, "scope": title, "cell": kind == "cell", "nodes": []} for gid, kind, title, _ in found}
    cells = {title: gid for gid, kind, title, _ in found if kind == "cell"}
    blocks = [(tuple(title.split("/")) if title != "(top level)" else (), after, gid)
              for gid, kind, title, after in found if kind == "block"]
    first_cell: dict[tuple, int] = {}
    for node in stepper.graph.nodes:
        path = tuple(node.scope.split("/")) if node.scope else ()
        cut = next((i for i, seg in enumerate(path) if TIME_STEP.match(seg)), None)
        if cut is not None and "/".join(path[: cut + 1]) in cells:
            groups[cells["/".join(path[: cut + 1])]]["nodes"].append(node.index)
            for i in range(cut + 1):
                first_cell.setdefault(path[:i], node.index)
            continue
        fitting = [b for b in blocks if path[: len(b[0])] == b[0]]
        if not fitting:
            continue
        longest = max(len(b[0]) for b in fitting)
        fitting = [b for b in fitting if len(b[0]) == longest]
        after = node.index > first_cell.get(fitting[0][0], len(stepper.graph.nodes))
        gid = next((b[2] for b in fitting if b[1] == after), fitting[0][2])
        groups[gid]["nodes"].append(node.index)
    return [g for g in groups.values() if g["nodes"]]


def _legend(scale: labels.ColourScale, has_grads: bool, cells: bool) -> str:
    rows = []
    for status in ("current", "next", "done", "pending"):
        style = labels.STATUS_STYLE[status]
        dash = "dashed" if style.get("dash") else "solid"
        rows.append(f'<span class="tgr-swatch" style="background:{style["fill"]};border:2px {dash} '
                    f'{style["stroke"]}"></span><b>{status}</b>: {html.escape(labels.STATUS_MEANING[status])}')
    if cells:
        rows.append(f'<span class="tgr-swatch" style="border:2px dashed {labels.STATUS_STYLE["done"]["stroke"]}">'
                    "</span><b>partly done</b> (cells view): some of the step's ops are processed")
    palette = "".join(f'<span style="background:{c}"></span>' for c in labels.PALETTE)
    if has_grads:
        rows.append(f'<span class="tgr-palette">{palette}</span> gradient norm, log scale: '
                    f"{labels.number(10 ** scale.low)} to {labels.number(10 ** scale.high)} (done ops and "
                    f"tensors whose gradient is known)")
    return '<div class="tgr-legend">' + "<br/>".join(rows) + "</div>"


def explorer_data(
    stepper: BackwardStepper, views: dict[str, str], start: int
) -> tuple[dict[str, Any], labels.ColourScale]:
    """What the script needs: the frames (from the stepper, in one pass) and the graph's nodes;
    and the colour scale of the gradient norms over the whole pass (fixed while stepping)."""
    frames = stepper.frames()
    norms = [g["norm"] for f in frames for g in f["grads"].values()]
    scale = labels.ColourScale(norms)
    number = stepper.tensor_numbers()
    last_norm: dict[int, float] = {}

    def look(norm: float) -> dict[str, str] | None:
        fill = scale.colour(norm)
        return None if fill is None else {"fill": fill, "font": scale.font_colour(norm)}

    for f in frames:
        for k, g in f["grads"].items():
            g["colour"] = look(g["norm"])
            last_norm[k] = g["norm"]
    uses = {tid: stepper.contributions(tid)[1] for tid in stepper.graph.tensors}
    nodes = []
    for node in stepper.graph.nodes:
        outputs = [number[t] for t in node.outputs]
        known = [last_norm[k] for k in outputs if k in last_norm]
        nodes.append({"op": node.op, "scope": node.scope, "formula": node.formula,
                      "inputs": [number[t] for t in node.inputs], "outputs": outputs,
                      "colour": look(max(known)) if known else None})
    names = names_of(stepper.graph)
    tensors = [{"label": stepper.label(rec.id), "plain": plain(stepper.label(rec.id)), "kind": rec.kind,
                "torch": names.torch_name(rec.id),
                "shape": str(rec.shape),
                "value": format_array(rec.tensor.data), "producer": rec.producer,
                "requires_grad": bool(rec.tensor.requires_grad), "leaf": uses[rec.id] > 0, "uses": uses[rec.id]}
               for rec in stepper.graph.tensors.values()]
    groups = _groups(views["cells"], stepper) if "cells" in views else []
    for group in groups:
        known = [last_norm[k] for i in group["nodes"] for k in nodes[i]["outputs"] if k in last_norm]
        group["colour"] = look(max(known)) if known else None
    slim = [{key: f[key] for key in ("node", "next", "text", "where", "grads", "contributions", "leaves")}
            for f in frames]  # "done" and "known" follow from "node" and "grads" of frames 0..k
    typeset: dict[str, str] = {}  # each name and operator of the rules typeset once (MathML; no network)
    for frame, full in zip(slim, frames):
        frame["rules"] = full["rules"]
        for rule in full["rules"]:
            for text in mathml.pieces(rule):
                if text not in typeset:
                    typeset[text] = mathml.expression(text)
    return {"steps": stepper.steps, "start": start, "frames": slim, "nodes": nodes, "tensors": tensors,
            "math": typeset, "groups": groups, "has_grads": bool(norms)}, scale


# --- the BPTT loop panel (tr.bptt_loop): the line of the loop each backward step runs -------------

LOOP_SCRIPT = Path(__file__).with_name("loop_panel.js")


def loop_panel(stepper: BackwardStepper, script: bool = True) -> str:
    """The training step as the BPTT loop (``tr.bptt_loop``), with the line of the current step marked.

    Each backward step of the explorer processes one node; the panel marks the
    line of the loop that runs that node's rule and names the iteration
    ("line 87, t = 3"); a click on a line goes to the step that runs it, at the
    t shown: stepper node <-> line <-> t. Empty for a graph without time steps
    (the loop needs them). ``script=False`` leaves out the inline script
    (``viz/loop_panel.js``), for the widget, which mounts it itself.
    """
    from tinygrad_rnn.loops import LoopError, bptt_loop, highlight_html

    try:
        loop = bptt_loop(stepper.graph.tensors[stepper.graph.root].tensor)
    except LoopError:
        return ""
    at = {}
    for node in stepper.graph.nodes:
        where = loop.locate(node.node)
        if where is not None:
            at[node.index] = list(where)
    uid = uuid.uuid4().hex[:12]
    code = LOOP_SCRIPT.read_text(encoding="utf-8").strip()
    mount = (f"<script>//<![CDATA[\n{code}(document.querySelector('[data-tgr-loop=\"{uid}\"]'));\n//]]></script>"
             if script else "")  # (the notebook widget mounts the same script itself: viz/widget.py)
    return f"""<div class="tgr-loop-panel" data-tgr-loop="{uid}" data-line="" data-t="">
<style>[data-tgr-loop="{uid}"] .tgr-loop-code {{ position: relative; max-height: 24em; overflow: auto;
  border: 1px solid #eceff1; }}
[data-tgr-loop="{uid}"] .tgr-loop-code pre {{ white-space: pre; word-break: normal; font-size: 11px; margin: 0; }}
[data-tgr-loop="{uid}"] .tgr-loop-current {{ background: #ffe082; outline: 1px solid #ff8f00; }}</style>
<div class="tgr-h">The BPTT loop (<span class="tgr-loop-at">no step taken yet</span>)</div>
<div class="tgr-loop-code">{highlight_html(loop.source)}</div>
<script type="application/json" class="tgr-loop-data">{json_for_script(at)}</script>
{mount}
</div>"""


def _rolled(stepper: BackwardStepper, views: dict[str, str]) -> dict[int, tuple] | None:
    """Draw the rolled picture into ``views`` (a regular unroll only); return its node map."""
    from .rolled import RolledUnavailable

    try:
        drawing = draw(stepper.graph, view="rolled")
    except RolledUnavailable:
        return None
    views["rolled"] = _inline_svg(drawing.pipe(format="svg", encoding="utf-8"))
    return drawing.rolled


def _whole_and_part(data: dict[str, Any], rolled: dict[int, tuple] | None) -> dict[str, Any]:
    """The data behind the rolled picture and the overview strip (issue 23).

    rolled: per node, [the op drawn for it in the rolled picture, its t, its row's T] (or null);
    step_t: per node, its time step t (null outside the steps); overview: per t = 1..T, the
    colour of the largest gradient norm of that step's outputs at the end of the pass.
    """
    step_t: list[int | None] = []
    for node in data["nodes"]:
        segs = node["scope"].split("/") if node["scope"] else []
        step_t.append(next((int(seg[1:]) for seg in segs if TIME_STEP.match(seg)), None))
    T = max((t for t in step_t if t is not None), default=0)
    best: dict[int, dict] = {}
    for node, t in zip(data["nodes"], step_t):
        if t is not None and node["colour"] is not None:
            have = best.get(t)
            if have is None or labels.PALETTE.index(node["colour"]["fill"]) > labels.PALETTE.index(have["fill"]):
                best[t] = node["colour"]
    overview = [best.get(t, {}).get("fill") for t in range(1, T + 1)] if T > LONG_UNROLL else []
    table = [list(rolled[i]) if rolled and i in rolled else None for i in range(len(data["nodes"]))]
    return {"rolled": table if rolled else None, "step_t": step_t, "overview": overview}


def _overview_strip(data: dict[str, Any]) -> str:
    """The strip over a long unroll: one cell per t, coloured by gradient norm; the script adds the window."""
    colours = data["overview"]
    if not colours:
        return ""
    T = len(colours)
    cells = "".join(f'<rect x="{t}" y="0" width="1.02" height="1" fill="{c or "#eceff1"}"><title>t = {t + 1}</title>'
                    "</rect>" for t, c in enumerate(colours))
    return (f'<div class="tgr-overview" title="all {T} time steps, coloured by gradient norm; the rectangle is '
            f'what the view shows: click to jump"><span class="tgr-overview-t">t = 1</span>'
            f'<svg class="tgr-overview-strip" viewBox="0 0 {T} 1" preserveAspectRatio="none">{cells}'
            f'<rect class="tgr-overview-window" x="0" y="0" width="0" height="1"/></svg>'
            f'<span class="tgr-overview-t">{T}</span></div>')


def explorer_html(
    loss_or_stepper: Any,
    title: str | None = None,
    view: str = "auto",
    max_nodes: int = 500,
    height: str = "540px",
    autofocus: bool = False,
    script: bool = True,
) -> str:
    """The explorer as an HTML fragment (one root <div>): inline it in a page or a notebook.

    view: "ops" (every op), "cells" (one box per time step; click one to open
    its ops), "rolled" (opens on the folded cell, with cells and ops one click
    away) or "auto" (cells for more than LONG_UNROLL time steps, else ops; the
    rolled picture one click away).
    The ops view is left out when it has more than ``max_nodes`` nodes.
    The stepper stays where it is and every ``.grad`` as it was. ``script=False``
    leaves out the inline script (the notebook widget mounts the same script itself).
    """
    stepper = _stepper(loss_or_stepper, "explorer")
    if view not in ("auto", "ops", "cells", "rolled"):
        raise ValueError(f"explorer: view must be 'auto', 'ops', 'cells' or 'rolled', got {view!r}")
    long = _time_steps(stepper) > LONG_UNROLL
    views: dict[str, str] = {}
    note = ""
    if view in ("ops", "auto", "rolled"):
        try:
            views["ops"] = _inline_svg(draw(stepper.graph, max_nodes=max_nodes).pipe(format="svg", encoding="utf-8"))
        except GraphTooLarge as error:
            if view == "ops":
                raise
            note = str(error).split(":")[1].strip()
    if view == "cells" or (view in ("auto", "rolled") and (long or "ops" not in views)):
        views["cells"] = _inline_svg(draw(stepper.graph, view="cells").pipe(format="svg", encoding="utf-8"))
    rolled = _rolled(stepper, views) if view in ("auto", "rolled") else None
    start_view = "cells" if "cells" in views and (view == "cells" or long or "ops" not in views) else "ops"
    if view == "rolled":
        start_view = "rolled"
    data, scale = explorer_data(stepper, views, stepper.position)
    data.update(_whole_and_part(data, rolled))
    legend = _legend(scale, data["has_grads"], "cells" in views)
    data.update(view=start_view, autofocus=autofocus, ops_note=note)
    uid = uuid.uuid4().hex[:12]
    selector = f'[data-tgr-explorer="{uid}"]'
    scope = f"#tgr-{uid}"
    css = _CSS.replace("HEIGHT", height)
    for status, style in labels.STATUS_STYLE.items():
        for key, value in style.items():
            css = css.replace(f"{status.upper()}_{key.upper()}", f"{value}px" if key == "width" else str(value))
    css = "\n".join(scope + line[1:] if line.startswith("R") else line for line in css.strip().splitlines())
    frame = data["frames"][stepper.position]
    root = stepper.graph.tensors[stepper.graph.root]
    title = title or f"Backward pass of {stepper.label(root.id)}: {stepper.steps} steps"
    view_buttons = "".join(f'<button type="button" class="tgr-viewbtn" data-view="{v}">{v}</button>'
                           for v in ("rolled", "cells", "ops") if v in views)
    canvases = "".join(f'<div class="tgr-canvas" data-view="{v}">{svg}</div>' for v, svg in views.items())
    mount = f"""<script>//<![CDATA[
(function () {{
  var root = document.querySelector('{selector}');
  var data = JSON.parse(root.querySelector(".tgr-data").textContent);
  root.tgrExplorer = {SCRIPT.read_text(encoding="utf-8").strip()}(root, data, null);
}})();
//]]></script>""" if script else ""
    # data-lm-suppress-shortcuts: JupyterLab leaves the keys to the explorer while it has the focus
    return f"""<div class="tgr-explorer" id="tgr-{uid}" data-tgr-explorer="{uid}" tabindex="0"
data-lm-suppress-shortcuts="true" data-p-suppress-shortcuts="true">
<style>{css}</style>
<div class="tgr-title">{html.escape(title)}</div>
<div class="tgr-bar">
<button type="button" class="tgr-first" title="start (Home)">|&#9664;</button>
<button type="button" class="tgr-prev" title="back one step (&#8592; or p)">&#9664; back</button>
<button type="button" class="tgr-next" title="one step (&#8594; or n)">step &#9654;</button>
<button type="button" class="tgr-last" title="end (End)">&#9654;|</button>
<input class="tgr-slider" type="range" min="0" max="{stepper.steps}" value="{stepper.position}"/>
<span class="tgr-counter">step {stepper.position} of {stepper.steps}</span>
{view_buttons}
<button type="button" class="tgr-zoomout" title="zoom out (-)">&#8722;</button>
<button type="button" class="tgr-zoomin" title="zoom in (+)">+</button>
<button type="button" class="tgr-fit">fit width</button>
<button type="button" class="tgr-all">show all</button>
<button type="button" class="tgr-foldsteps" title="fold every time step into one box; click one to unfold it in place">
fold steps</button>
<label><input type="checkbox" class="tgr-follow" checked="checked"/> follow</label>
<form class="tgr-runto"><input class="tgr-target" type="text" placeholder="scope, e.g. t1"/>
<button type="submit">run to</button></form>
<span class="tgr-message"></span>
</div>
{_overview_strip(data)}
<div class="tgr-main">
<div class="tgr-viewport">{canvases}<div class="tgr-rolled-where"></div></div>
<div class="tgr-side">
{legend}
<div class="tgr-h">This step (&#8594;/n step, &#8592;/p back, Home/End)</div>
<div class="tgr-rule">{"".join(mathml.rule(r, data["math"]) for r in frame["rules"])}</div>
<pre class="tgr-event">{html.escape(frame["text"])}</pre>
<pre class="tgr-where">{html.escape(frame["where"])}</pre>
<div class="tgr-h">Clicked</div>
<div class="tgr-info">Click an op for its local rule and gradients, a parameter for its contributions
per time step.</div>
<div class="tgr-h">Leaf gradients so far</div>
<pre class="tgr-leaves">{html.escape(frame["leaves"])}</pre>
{loop_panel(stepper, script)}
</div>
</div>
<script type="application/json" class="tgr-data">{json_for_script(data)}</script>
{mount}
</div>"""

