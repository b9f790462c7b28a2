"""Turning DOT into SVG/PNG files, with or without a system Graphviz.

Two programs can lay out and draw DOT: ``graphviz-pure`` (the PyPI package of
the same name, a dependency of this project, no system libraries) and system
Graphviz's ``dot``. ``find_renderer()`` prefers graphviz-pure, because it was
measured to be the faster of the two on our graphs (the clustered GRU ops
view at T=15: 0.37 s against 4.5 s with Debian's ``dot`` 2.43) and because it
is the one every install has. A user picks the other one by name:
``viz.render(..., renderer="dot")``, ``tinygrad-rnn render --renderer dot``,
or the environment variable ``TINYGRAD_RNN_RENDERER=dot`` (a path works too).

A render that takes longer than a couple of seconds says so on stderr and
counts the seconds until it is done.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import graphviz

FORMATS = {".svg": "svg", ".png": "png", ".dot": "dot", ".gv": "dot"}
ENVIRONMENT = "TINYGRAD_RNN_RENDERER"
PROGRAMS = ("graphviz-pure", "dot")  # in order of preference
SLOW = 2.0  # seconds: a render still running after this reports progress on stderr

INSTALL_HELP = (
    "no Graphviz renderer found: neither `graphviz-pure` nor `dot` is on PATH or beside "
    f"{sys.executable}. Install one of them:\n"
    "  pip install graphviz-pure         (pure, no system packages; gives the `graphviz-pure` command)\n"
    "  apt install graphviz | brew install graphviz | conda install graphviz   (system `dot`)\n"
    "The DOT text never needs a renderer: drawing.source, or render(..., 'graph.dot')."
)


NO_PROGRAMS = (
    "viz cannot draw here: this Python (Pyodide or JupyterLite, sys.platform 'emscripten') cannot run a "
    "Graphviz program, and graphviz-pure has no WebAssembly build. Everything else works: the graph, the stepper, "
    "the derivations. The DOT text needs no renderer: drawing.source, or viz.render(obj, 'graph.dot'); "
    "draw it where Python can run programs (pip install graphviz-pure)."
)


class RendererNotFound(RuntimeError):
    """Neither ``graphviz-pure`` nor system Graphviz (``dot``) could be found."""


class RenderError(RuntimeError):
    """The renderer ran but failed; the message carries what it printed."""


def _locate(name: str) -> str | None:
    """A program on PATH or beside the running Python (a venv's bin/ need not be on PATH)."""
    found = shutil.which(name)
    if found:
        return found
    here = Path(sys.executable).parent
    for candidate in (here / name, here / f"{name}.exe"):
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def find_renderer(renderer: str | None = None) -> str:
    """Path of the program that lays out DOT.

    renderer: "graphviz-pure", "dot" or a path to either; default: the
    ``TINYGRAD_RNN_RENDERER`` environment variable if set, else graphviz-pure,
    else ``dot``.
    """
    if sys.platform == "emscripten":
        raise RendererNotFound(NO_PROGRAMS)
    wanted = renderer or os.environ.get(ENVIRONMENT) or None
    if wanted:
        found = _locate(wanted) if os.sep not in wanted else (wanted if os.access(wanted, os.X_OK) else None)
        if found is None:
            source = "renderer=" if renderer else f"${ENVIRONMENT}="
            raise RendererNotFound(
                f"the renderer named by {source}{wanted!r} was not found (on PATH or beside {sys.executable}); "
                f"name one of {', '.join(PROGRAMS)} or a path to it, or leave it unset to pick automatically"
            )
        return found
    for name in PROGRAMS:
        found = _locate(name)
        if found:
            return found
    raise RendererNotFound(INSTALL_HELP)


def run_renderer(source: str, args: list[str], renderer: str | None = None, what: str = "") -> bytes:
    """Run the renderer with ``args`` on DOT ``source``; return its stdout.

    If it runs for more than SLOW seconds, a line on stderr says what is being
    rendered and with which program, and is updated every second until it ends.
    """
    program = find_renderer(renderer)
    name = Path(program).name
    with tempfile.TemporaryFile() as source_file:  # a file, so waiting with a timeout can be retried
        source_file.write(source.encode("utf-8"))
        source_file.seek(0)
        process = subprocess.Popen([program, *args], stdin=source_file, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE)
        start = time.perf_counter()
        reported = False
        live = sys.stderr.isatty()  # a terminal gets one line counting up; a log gets a line at start and end
        while True:
            try:
                out, err = process.communicate(timeout=SLOW if not reported else 1.0)
                break
            except subprocess.TimeoutExpired:
                if live or not reported:
                    elapsed = time.perf_counter() - start
                    print(f"\r{name}: rendering {what or 'the graph'}... {elapsed:.0f} s", end="" if live else "\n",
                          file=sys.stderr, flush=True)
                reported = True
    if reported:
        print(f"{chr(13) if live else ''}{name}: rendered {what or 'the graph'} in {time.perf_counter() - start:.1f} s",
              file=sys.stderr, flush=True)
    if process.returncode != 0 or not out:
        message = err.decode("utf-8", "replace").strip()
        raise RenderError(f"{name} {' '.join(args)} failed (exit {process.returncode}): {message}")
    return out


def pipe_source(source: str, fmt: str, renderer: str | None = None, pinned: bool = False, what: str = "") -> bytes:
    """Run the renderer on DOT ``source`` and return the ``fmt`` output ("svg", "png", ...).

    pinned: the DOT already holds every position (``pos`` of nodes and edges,
    ``bb`` of clusters), as ``viz.draw`` writes for a tiled unroll: it is drawn
    without a layout (``neato -n2``), which costs time linear in its size.
    """
    args = ["-Kneato", "-n2", f"-T{fmt}"] if pinned else [f"-T{fmt}"]
    return run_renderer(source, args, renderer, what)


class Drawing(graphviz.Digraph):
    """A ``graphviz.Digraph`` that renders through ``find_renderer()``.

    Everything ``graphviz.Digraph`` offers still works (``.source``, ``.save``,
    attributes); ``.pipe()``, ``.render()`` and the Jupyter display
    (``_repr_mimebundle_``) use ``graphviz-pure`` or ``dot``, so the picture
    shows inline in a notebook even where system Graphviz is missing.

    ``renderer`` names the program (see ``find_renderer``); ``pinned`` is set
    by ``viz.draw`` when the source already holds every position (a tiled
    unroll), and then it is drawn without a layout (``neato -n2``).
    """

    renderer: str | None = None
    pinned: bool = False
    summary: str = ""

    def pipe(self, format: str | None = None, *args: Any, encoding: str | None = None, **kwargs: Any) -> Any:
        data = pipe_source(self.source, format or self.format or "svg", self.renderer, self.pinned, self.summary)
        return data.decode(encoding) if encoding else data

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None, **kwargs: Any) -> dict[str, Any]:
        """The SVG, and beside it the same drawing as HTML: at its own size in a box that scrolls.

        A notebook picks the HTML. Shown as a bare SVG, a wide graph is clipped at the cell's
        edge (JupyterLab) or shrunk to its width, labels too small to read.
        """
        bundle = super()._repr_mimebundle_(include, exclude, **kwargs)
        if "image/svg+xml" in bundle and "text/html" not in set(exclude or ()):
            from .notebook import svg_box  # the notebook's display helpers; viz.render stays light

            bundle["text/html"] = svg_box(bundle["image/svg+xml"])
        return bundle

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
        out.write_bytes(self.pipe(format=fmt))
        if cleanup:
            source_path.unlink()
        if view:
            graphviz.view(str(out))
        return str(out)
