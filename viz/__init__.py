"""viz: pictures of the graphs that tinygrad_rnn records.

    import viz
    loss.backward()
    viz.draw(loss)                                   # every op, one box per time step, tiled: T = 1000 is fine
    viz.draw(loss, view="cells")                     # one node per time step
    viz.draw(loss, grads=True, highlight="weight_hh_l0")   # the BPTT sum, path by path
    viz.render(loss, "lstm.svg")                     # .svg, .png or .dot

``draw`` returns a ``graphviz.Digraph`` (it displays inline in Jupyter);
``render`` uses the ``graphviz-pure`` command that comes with this package,
or the renderer named by ``renderer=`` or ``$TINYGRAD_RNN_RENDERER`` (e.g.
system Graphviz's ``dot``). See docs/graphs.md.
"""

from .draw import GraphTooLarge, draw
from .player import backward_player
from .render import Drawing, RendererNotFound, RenderError, find_renderer, render

__all__ = ["Drawing", "GraphTooLarge", "RenderError", "RendererNotFound", "draw", "find_renderer", "render",
           "backward_player"]
