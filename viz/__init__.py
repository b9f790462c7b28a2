"""viz: pictures of the graphs that tinygrad_rnn records.

    import viz
    loss.backward()
    viz.draw(loss)                                   # every op, clustered by time step
    viz.draw(loss, view="cells")                     # one node per time step: T = 500 is fine
    viz.draw(loss, grads=True, highlight="weight_hh_l0")   # the BPTT sum, path by path
    viz.render(loss, "lstm.svg")                     # .svg, .png or .dot
    viz.adjoint(loss, W_hh)                          # forward and the recorded backward, side by side

``draw`` returns a ``graphviz.Digraph`` (it displays inline in Jupyter);
``render`` uses system Graphviz (``dot``) when installed, else the
``graphviz-pure`` command that comes with this package.
"""

from .adjoint import adjoint
from .draw import GraphTooLarge, draw
from .player import backward_player
from .render import Drawing, RendererNotFound, RenderError, find_renderer, render

__all__ = ["Drawing", "adjoint", "GraphTooLarge", "RenderError", "RendererNotFound", "draw", "find_renderer", "render",
           "backward_player"]
