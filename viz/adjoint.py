"""BPTT's adjoint recurrence as a picture: forward left to right, backward right to left.

``tr.grad(loss, [W], create_graph=True)`` records the backward pass itself;
its nodes carry scopes ``backward/<forward scope>``, so the backward of time
step t sits in a cluster ``backward/.../t<t>``. Drawn together with the
forward, in the cells view, the two rows share the time axis: the forward row
runs t = 1 -> T, the backward row runs T -> 1, and every backward cell reads
the values its forward cell saved (the edges that cross between the rows).
"""

from __future__ import annotations

from typing import Any

import tinygrad_rnn as tr

from .draw import draw
from .render import Drawing


def adjoint(loss: tr.Tensor, wrt: tr.Tensor, view: str = "cells", **options: Any) -> Drawing:
    """Draw ``loss``'s forward computation and the recorded backward pass that gives dloss/d``wrt``.

    The gradient is computed here with ``tr.grad(loss, [wrt], create_graph=True)``
    (nothing is written into ``.grad``) and becomes the root of the picture,
    named ``dL/d<name>``. ``view="cells"`` (default) draws one node per time
    step and row; ``view="ops"`` every op. Other options go to ``viz.draw``.
    Edges of the backward row are labelled δh_t: what the backward rule of
    step t sends on (to step t-1, and its term of the BPTT sum for ``wrt``).
    """
    if not isinstance(loss, tr.Tensor) or not isinstance(wrt, tr.Tensor):
        raise TypeError("adjoint: give the loss and the tensor to differentiate it by, both Tensors")
    (gradient,) = tr.grad(loss, [wrt], create_graph=True)
    gradient.name = f"dL/d{wrt.name}" if wrt.name else "dL/dwrt"
    return draw(tr.trace([loss, gradient]), view=view, **options)
