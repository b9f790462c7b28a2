"""Rich display in Jupyter: what a Tensor, a Graph, a BackwardStepper and a StepEvent show.

The engine's classes call these from their ``_repr_html_`` (importing viz
only then, so ``import tinygrad_rnn`` stays light). Every output is static
HTML: it still reads in a rendered notebook with no kernel behind it.
"""

from __future__ import annotations

import html
from typing import Any

import tinygrad_rnn as tr
from tinygrad_rnn.stepper import BackwardStepper, StepEvent, format_array

from . import mathml
from .draw import GraphTooLarge, draw
from .explorer import _inline_svg, explorer_html
from .render import RendererNotFound, RenderError

INLINE_OPS = 120  # graphs with more ops than this are drawn in the cells view inline
INLINE_MAX = 3000  # ... and with more than this not at all (a training batch): laying it out takes long
BOX = 'style="font-family: Helvetica, Arial, sans-serif; font-size: 13px"'


def _svg(obj: Any, graph: tr.Graph, **options: Any) -> str:
    """The drawing as inline SVG (cells view for a big graph), or a line saying why there is none."""
    if len(graph.nodes) > INLINE_MAX:
        return (f"<p><i>(not drawn inline: {len(graph.nodes)} ops; viz.draw(..., view='cells') draws one box "
                f"per time step)</i></p>")
    view = "cells" if len(graph.nodes) > INLINE_OPS else "ops"
    try:
        svg = draw(obj, view=view, **options).pipe(format="svg", encoding="utf-8")
    except (GraphTooLarge, RendererNotFound, RenderError) as error:
        return f"<p><i>(no drawing: {html.escape(str(error).splitlines()[0])})</i></p>"
    note = "" if view == "ops" else f"<div><i>{len(graph.nodes)} ops: one box per time step (cells view)</i></div>"
    return svg_box(svg, max_height="520px") + note


def svg_box(svg: str, max_height: str | None = None) -> str:
    """A drawing at its own size in a box that scrolls, whatever the notebook's CSS says.

    Notebook front ends fit pictures to the cell: JupyterLab gives every svg of an HTML output
    ``max-width: 100%`` (a wide graph shrinks until its labels are 1 px tall) and clips a wide
    SVG output at the cell's edge. An inline style outranks their stylesheets, so the drawing
    keeps its size (labels as drawn: 14 pt) and the box scrolls instead.
    """
    inline = _inline_svg(svg).replace("<svg", '<svg style="max-width: none; max-height: none; height: auto"', 1)
    limit = f" max-height: {max_height};" if max_height else ""
    return f'<div class="tgr-drawing" style="max-width: 100%; overflow: auto;{limit}">{inline}</div>'


def tensor_html(tensor: Any) -> str:
    """Name, shape, value and gradient in a small table; under it, the graph that made the tensor."""
    node = tensor._node
    rows = [("shape", f"{tensor.shape} {tensor.data.dtype}"), ("value", format_array(tensor.data))]
    if tensor.requires_grad:
        rows.append(("grad", format_array(tensor.grad) if tensor.grad is not None else "None (call .backward())"))
    if node is not None:
        rows.append(("made by", f"{node.name}" + (f" at {node.scope}" if node.scope else "")))
    title = f"Tensor {tensor.name!r}" if tensor.name else "Tensor"
    table = "".join(f'<tr><th style="text-align: left; padding-right: 1em">{html.escape(k)}</th>'
                    f'<td><pre style="margin: 0">{html.escape(v)}</pre></td></tr>' for k, v in rows)
    out = [f"<div {BOX}><b>{html.escape(title)}</b><table>{table}</table>"]
    if node is not None:
        graph = tr.trace(tensor)
        out.append(f"<div>{html.escape(repr(graph))}: the graph that computed it</div>")
        out.append(_svg(tensor, graph, values=True, grads=tensor.grad is not None))
    return "".join(out) + "</div>"


def graph_html(graph: tr.Graph) -> str:
    """The graph's counts, scopes and its drawing."""
    scopes = graph.scopes()
    shown = ", ".join(s or "(top level)" for s in scopes[:8]) + (", …" if len(scopes) > 8 else "")
    return (f"<div {BOX}><b>{html.escape(repr(graph))}</b><div>scopes: {html.escape(shown)}</div>"
            f"{_svg(graph, graph)}</div>")


def stepper_html(stepper: BackwardStepper) -> str:
    """The explorer, inline: step with the buttons or the keyboard (no kernel needed)."""
    try:
        return explorer_html(stepper, height="480px")
    except (RendererNotFound, RenderError) as error:
        return f"<pre>{html.escape(repr(stepper))}\n{html.escape(stepper.where())}\n({html.escape(str(error))})</pre>"


def event_html(event: StepEvent) -> str:
    """One step: the headline in bold, then upstream, local rule and what was sent."""
    head, _, rest = str(event).partition("\n")
    math = mathml.rules([s.rule.to_dict() for s in event.sent if s.rule is not None])
    return (f"<div {BOX}><b>{html.escape(head)}</b>{math}"
            f"<pre style='margin: 2px 0'>{html.escape(rest)}</pre></div>")
