"""``tinygrad-rnn step``: a pdb-like prompt that walks the backward pass node by node.

Over a small built-in recurrent model (``--cell rnn|lstm|gru --steps T``) or
over the tensor a user's script computes (``--script FILE.py --var NAME``).
Commands are read one per line, so a file of commands can be piped in to make
a handout:  ``printf 'n 3\\nu t1\\np weight_hh_l0\\n' | tinygrad-rnn step``.
"""

from __future__ import annotations

import argparse
import os
import re
import runpy
import select
import sys
from pathlib import Path
from typing import TextIO

import numpy as np

from . import autograd, nn
from .stepper import BackwardStepper
from .tensor import Tensor

PROMPT = "(step) "
HELP = """commands:
  n [k]       next: process k nodes (default 1) and show what each did
  c           continue to the end of the pass
  u SCOPE     run until the current node is in SCOPE (e.g. t1) or produces the tensor SCOPE
  b           back: undo the last step
  w           where: steps done and the node about to be processed
  l           list the pending nodes, the current one first
  p NAME      print tensor NAME's value and its gradient so far (e.g. p weight_hh_l0)
  g FILE.svg  draw the current state (done / current / pending nodes, gradients so far)
  h           this help
  q           quit"""

INPUT_SIZE, HIDDEN_SIZE = 2, 2
MODULES = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cell", choices=sorted(MODULES), default="rnn", help="built-in model (default rnn)")
    parser.add_argument("--steps", type=int, default=3, help="time steps of the built-in model (default 3)")
    parser.add_argument("--seed", type=int, default=0, help="seed for the built-in model's numbers")
    parser.add_argument("--script", type=Path, help="a Python script that computes a scalar loss")
    parser.add_argument("--var", help="the name of the loss variable in --script")
    parser.add_argument("--html", type=Path, help="write the browser player to this file instead of a prompt")


def builtin_model(cell: str, steps: int, seed: int = 0) -> Tensor:
    """A one-layer ``tr.nn`` RNN/LSTM/GRU (input 2, hidden 2, batch 1) over ``steps`` random
    inputs; returns loss = sum(h_T), named "loss".

    The hidden states get names h1..hT so that events read like the notes:
    h_t is the output of the last op recorded in scope ``<cell>/l0/fwd/t<t>/hidden``.
    """
    rng = np.random.default_rng(seed)
    module = MODULES[cell](INPUT_SIZE, HIDDEN_SIZE, rng=rng)
    x = Tensor(rng.standard_normal((steps, 1, INPUT_SIZE)), name="x")
    _, state = module(x)
    h_n = state[0] if cell == "lstm" else state
    loss = h_n.sum()
    loss.name = "loss"
    hidden = re.compile(rf"^{cell}/l0/fwd/t(\d+)/hidden$")
    last: dict[int, autograd.NodeRecord] = {}
    graph = autograd.trace(loss)
    for node in graph.nodes:
        match = hidden.match(node.scope)
        if match:
            last[int(match.group(1))] = node
    for t, node in last.items():
        for tid in node.outputs:
            graph.tensors[tid].tensor.name = graph.tensors[tid].tensor.name or f"h{t}"
    return loss


def _load_script(path: Path, var: str) -> Tensor:
    """Run the user's script as ``__main__`` and take its variable ``var``."""
    if not path.is_file():
        raise SystemExit(f"step: --script {path}: no such file")
    namespace = runpy.run_path(str(path), run_name="__main__")
    if var not in namespace:
        tensors = sorted(k for k, v in namespace.items() if isinstance(v, Tensor))
        raise SystemExit(
            f"step: {path} defines no variable {var!r}; tensors it defines: {', '.join(tensors) or '(none)'}"
        )
    value = namespace[var]
    if not isinstance(value, Tensor):
        raise SystemExit(f"step: {var!r} in {path} is a {type(value).__name__}, not a tinygrad_rnn Tensor")
    return value


def _draw(stepper: BackwardStepper, target: str, out: TextIO) -> None:
    import viz

    path = Path(target)
    if path.suffix.lower() != ".svg":
        print("g: give a file name ending in .svg, e.g. g state.svg", file=out)
        return
    try:
        viz.render(stepper, path)
    except (viz.GraphTooLarge, viz.RendererNotFound, viz.RenderError) as error:
        print(f"g: {error}", file=out)
        return
    print(f"wrote {path}", file=out)


def _pending_list(stepper: BackwardStepper) -> str:
    pending = stepper.pending()
    if not pending:
        return "nothing pending: the backward pass is finished"
    lines = []
    for k, node in enumerate(pending):
        mark = "->" if k == 0 else "  "
        lines.append(f"{mark} {node.op}#{node.index}  {node.scope or '(top level)'}")
    return "\n".join(lines)


def execute(stepper: BackwardStepper, line: str, out: TextIO) -> bool:
    """Run one command line; returns False when the user asked to quit."""
    parts = line.split()
    if not parts:
        return True
    command, args = parts[0], parts[1:]
    try:
        if command == "q":
            return False
        if command == "n" and len(args) <= 1:
            if args and not args[0].isdigit():
                raise ValueError(f"n: give a number of steps, e.g. n 3 (got {args[0]!r})")
            if stepper.done:
                print("the backward pass is finished (b to go back)", file=out)
            for event in stepper.step(int(args[0]) if args else 1):
                print(event, file=out)
        elif command == "c":
            for event in stepper.run():
                print(event.summary(), file=out)
            print(stepper.where(), file=out)
        elif command == "u" and len(args) == 1:
            events = stepper.run_to(args[0])
            for event in events:
                print(event.summary(), file=out)
            print(stepper.where() if events else f"already there:\n{stepper.where()}", file=out)
        elif command == "b":
            undone = stepper.back()
            print(f"undid {undone.headline()}", file=out)
            print(stepper.where(), file=out)
        elif command == "w":
            print(stepper.where(), file=out)
        elif command == "l":
            print(_pending_list(stepper), file=out)
        elif command == "p" and len(args) == 1:
            print(stepper.show(args[0]), file=out)
        elif command == "g" and len(args) == 1:
            _draw(stepper, args[0], out)
        elif command == "h":
            print(HELP, file=out)
        else:
            print(f"unknown command or wrong arguments: {line.strip()!r}\n{HELP}", file=out)
    except KeyError as error:
        print(error.args[0], file=out)
    except ValueError as error:
        print(error, file=out)
    return True


NOTEBOOK_HINT = (
    "step: this is a notebook, where the prompt cannot read your typing. Use the explorer instead:\n"
    "  import viz; viz.explore(loss)     (a live widget: its buttons step the real stepper)\n"
    "  stepper = loss.backward(step=True); stepper     (the explorer inline, no kernel needed)\n"
    "or pipe commands in: !printf 'n 3\\nw\\n' | tinygrad-rnn step"
)


def in_notebook() -> bool:
    """True inside a Jupyter kernel, or in a command a notebook cell started (``!tinygrad-rnn step``)."""
    return "ipykernel" in sys.modules or "JPY_PARENT_PID" in os.environ


def _has_input(stdin: TextIO, wait: float = 1.0) -> bool:
    """Whether commands are piped in (or the pipe is closed) within ``wait`` seconds: a kernel's
    stdin is a pipe nobody writes to, and reading it would hang the cell."""
    try:
        fd = stdin.fileno()
    except (AttributeError, OSError, ValueError):
        return True  # not a file (e.g. io.StringIO): reading cannot block
    try:
        return bool(select.select([fd], [], [], wait)[0])
    except (OSError, ValueError):
        return True


def shell(stepper: BackwardStepper, stdin: TextIO, out: TextIO) -> int:
    """The prompt loop. Piped input is echoed after the prompt so transcripts read like a session.

    In a notebook with nothing piped in, it says to use ``viz.explore`` and returns.
    """
    interactive = stdin.isatty() and out.isatty()
    print(f"{stepper!r}\n{stepper.where()}\ntype h for help", file=out)
    if not interactive and in_notebook() and not _has_input(stdin):
        print(NOTEBOOK_HINT, file=out)
        return 0
    commands = 0
    try:
        while True:
            if interactive:
                line = input(PROMPT)
            else:
                line = stdin.readline()
                if not line:
                    if commands == 0 and in_notebook():
                        print(NOTEBOOK_HINT, file=out)
                    raise EOFError
                commands += 1
                out.write(PROMPT + line if line.endswith("\n") else PROMPT + line + "\n")
            if not execute(stepper, line, out):
                return 0
    except (EOFError, KeyboardInterrupt):
        print(file=out)
        return 0


def run(args: argparse.Namespace) -> int:
    if args.steps < 1:
        raise SystemExit("step: --steps must be at least 1")
    if (args.script is None) != (args.var is None):
        raise SystemExit("step: --script FILE.py and --var NAME go together")
    if args.script is not None:
        loss = _load_script(args.script, args.var)
        where = f"{args.var} from {args.script}"
    else:
        loss = builtin_model(args.cell, args.steps, args.seed)
        where = f"built-in {args.cell} over {args.steps} steps, loss = sum(h{args.steps})"
    try:
        stepper = BackwardStepper(loss)
    except (RuntimeError, ValueError) as error:
        raise SystemExit(f"step: {error}") from None
    if args.html is not None:
        import viz

        try:
            viz.backward_player(stepper, args.html)
        except (viz.GraphTooLarge, viz.RendererNotFound, viz.RenderError) as error:
            raise SystemExit(f"step: {error}") from None
        print(f"wrote {args.html}: {stepper.steps} backward steps of {where}; open it in a browser and press -> "
              "to step (<- back, Home/End)")
        return 0
    print(f"stepping through backward of {where}")
    return shell(stepper, sys.stdin, sys.stdout)

