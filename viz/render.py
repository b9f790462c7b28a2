"""Turning DOT into SVG/PNG files, with or without a system Graphviz.

Graphviz's layout program is ``dot``. When it is not installed (no admin
rights, a fresh notebook server), the ``graphviz-pure`` command from the PyPI
package of the same name does the same job without any system library, and
is installed with this project. ``find_renderer()`` picks ``dot`` from PATH
first, else ``graphviz-pure`` from PATH or from beside the running Python.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import graphviz

from tinygrad_rnn.files import write_atomic

FORMATS = {".svg": "svg", ".png": "png", ".dot": "dot", ".gv": "dot"}

INSTALL_HELP = (
    "no Graphviz renderer found: neither `dot` nor `graphviz-pure` is on PATH or beside "
    f"{sys.executable}. Install one of them:\n"
    "  pip install graphviz-pure         (pure, no system packages; gives the `graphviz-pure` command)\n"
    "  apt install graphviz | brew install graphviz | conda install graphviz   (system `dot`)\n"
    "The DOT text never needs a renderer: drawing.source, or render(..., 'graph.dot')."
)


class RendererNotFound(RuntimeError):
    """Neither system Graphviz (``dot``) nor ``graphviz-pure`` could be found."""


class RenderError(RuntimeError):
    """The renderer ran but failed; the message carries what it printed."""


def find_renderer() -> str:
    """Path of the program that lays out DOT: ``dot`` if on PATH, else ``graphviz-pure``."""
    found = shutil.which("dot") or shutil.which("graphviz-pure")
    if found:
        return found
    here = Path(sys.executable).parent
    for name in ("graphviz-pure", "graphviz-pure.exe"):
        candidate = here / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    raise RendererNotFound(INSTALL_HELP)


def pipe_source(source: str, fmt: str) -> bytes:
    """Run the renderer on DOT ``source`` and return the ``fmt`` output ("svg", "png", ...)."""
    program = find_renderer()
    result = subprocess.run([program, f"-T{fmt}"], input=source.encode("utf-8"), capture_output=True)
    if result.returncode != 0 or not result.stdout:
        message = result.stderr.decode("utf-8", "replace").strip()
        raise RenderError(f"{Path(program).name} -T{fmt} failed (exit {result.returncode}): {message}")
    return result.stdout


class Drawing(graphviz.Digraph):
    """A ``graphviz.Digraph`` that renders through ``find_renderer()``.

    Everything ``graphviz.Digraph`` offers still works (``.source``, ``.save``,
    attributes); ``.pipe()``, ``.render()`` and the Jupyter display
    (``_repr_mimebundle_``) use ``dot`` or ``graphviz-pure``, so the picture
    shows inline in a notebook even where system Graphviz is missing.
    """

    def pipe(self, format: str | None = None, *args: Any, encoding: str | None = None, **kwargs: Any) -> Any:
        data = pipe_source(self.source, format or self.format or "svg")
        return data.decode(encoding) if encoding else data

    def render(
        self,
        filename: str | os.PathLike | None = None,
        directory: str | os.PathLike | None = None,
        view: bool = False,
        cleanup: bool = False,
        format: str | None = None,
        **_: Any,
    ) -> str:
        """As ``graphviz.Digraph.render``: save the DOT file, write ``<file>.<format>`` beside it."""
        fmt = format or self.format or "svg"
        source_path = Path(self.save(filename, directory=directory))
        out = source_path.with_name(f"{source_path.name}.{fmt}")
        out.write_bytes(pipe_source(self.source, fmt))
        if cleanup:
            source_path.unlink()
        if view:
            graphviz.view(str(out))
        return str(out)


def render(obj: Any, path: str | os.PathLike, **draw_options: Any) -> Path:
    """Write a picture of ``obj`` to ``path``; the extension picks the format.

    ``obj`` is a drawing from ``viz.draw`` (or any ``graphviz.Digraph``), or
    something ``viz.draw`` accepts (a Tensor, a Graph, a stepper), drawn with
    ``draw_options``. ``.svg`` and ``.png`` need a renderer (``dot`` or
    ``graphviz-pure``); ``.dot``/``.gv`` write the DOT text and never do.
    Missing folders on the way are created; the file is replaced at once
    (``tinygrad_rnn.files.write_atomic``), never left half-written.
    """
    path = Path(path)
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ValueError(f"render: can't tell the format from {path.name!r}: use a path ending in {', '.join(FORMATS)}")
    if isinstance(obj, graphviz.Digraph):
        if draw_options:
            raise TypeError("render: drawing options only apply when passing a tensor, graph or stepper")
        drawing = obj
    else:
        from .draw import draw

        drawing = draw(obj, **draw_options)
    return write_atomic(path, drawing.source if fmt == "dot" else pipe_source(drawing.source, fmt))
