"""viz: pictures of the graphs that tinygrad_rnn records.

    import viz
    loss.backward()
    viz.draw(loss)                                   # every op, one box per time step, tiled: T = 1000 is fine
    viz.draw(loss, view="cells")                     # one node per time step
    viz.draw(loss, view="rolled")                    # one step drawn once, its recurrence a loop "× T"
    viz.draw(loss, elide=3)                          # t = 1, 2, 3, "… n steps …", T-2, T-1, T
    viz.draw(loss, grads=True, highlight="weight_hh_l0")   # the BPTT sum, path by path
    viz.render(loss, "lstm.svg")                     # .svg, .png or .dot
    viz.adjoint(loss, W_hh)                          # forward and the recorded backward, side by side
    viz.backward_player(loss, "backward.html")       # the explorer as a page: press -> to step
    viz.explore(loss)                                # the explorer as a live notebook widget

``draw`` returns a ``graphviz.Digraph`` (it displays inline in Jupyter);
``render`` uses the ``graphviz-pure`` command that comes with this package,
or the renderer named by ``renderer=`` or ``$TINYGRAD_RNN_RENDERER`` (e.g.
system Graphviz's ``dot``). See docs/graphs.md.
"""

from typing import Any

from .adjoint import adjoint
from .draw import GraphTooLarge, draw, render
from .explorer import explorer_html
from .player import backward_player
from .render import Drawing, RendererNotFound, RenderError, find_renderer


def explore(loss_or_stepper: Any, **options: Any) -> Any:
    """The explorer as a live Jupyter widget driving the real stepper (see ``viz.widget.explore``).

    Imported on first use, so ``import viz`` does not need anywidget.
    """
    from .widget import explore as _explore

    return _explore(loss_or_stepper, **options)


__all__ = ["Drawing", "GraphTooLarge", "RenderError", "RendererNotFound", "adjoint", "backward_player", "draw",
           "explore", "explorer_html", "find_renderer", "render"]
