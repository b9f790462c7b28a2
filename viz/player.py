"""The backward player: the explorer (``viz.explorer``) as one self-contained HTML page, no network.

``tinygrad-rnn step --html page.html`` and the tour write it; open it in any
browser and press → (or n) to take one backward step, ← (or p) to go back,
Home/End for the start and the end. The view follows the node being
explained; click a node for its value, gradient and local rule, a parameter
for its contributions per time step.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from tinygrad_rnn.files import write_atomic

from .explorer import _stepper, explorer_html

_PAGE = """<!DOCTYPE html>
<html xmlns="http://www.w3.org/1999/xhtml" lang="en">
<head>
<meta charset="utf-8"/>
<title>{title}</title>
</head>
<body style="margin: 10px">
{explorer}
<script>//<![CDATA[
(function () {{
  var auto = /autostep=(\\d+)/.exec(location.hash), root = document.querySelector(".tgr-explorer");
  if (auto && root.tgrExplorer) root.tgrExplorer.show(+auto[1], false);
}})();
//]]></script>
</body>
</html>
"""


def player_html(loss_or_stepper: Any, title: str | None = None, max_nodes: int = 500, view: str = "auto") -> str:
    """The player page as a string (see ``backward_player``)."""
    stepper = _stepper(loss_or_stepper, "backward_player")
    root = stepper.graph.tensors[stepper.graph.root]
    title = title or f"Backward pass of {stepper.label(root.id)}: {stepper.steps} steps"
    body = explorer_html(stepper, title, view=view, max_nodes=max_nodes, height="calc(100vh - 90px)", autofocus=True)
    return _PAGE.format(title=html.escape(title), explorer=body)


def backward_player(
    loss_or_stepper: Any, path: str | Path, title: str | None = None, max_nodes: int = 500, view: str = "auto"
) -> Path:
    """Write a self-contained HTML page that plays the backward pass of a loss (or a stepper).

    Position k shows the state after k steps; the page opens at the stepper's
    current position (0 for a loss). ``view``: "ops", "cells" or "auto" (cells
    for a long unroll; click a time step to open its ops). Opening the page
    with ``#autostep=N`` in the URL jumps to position N (handy for demos and
    headless checks). Leaves the stepper and every ``.grad`` exactly as they
    were. An ops view with more than ``max_nodes`` nodes is left out (refused
    when asked for with view="ops"), as by ``viz.draw``.
    """
    return write_atomic(path, player_html(loss_or_stepper, title, max_nodes, view))
