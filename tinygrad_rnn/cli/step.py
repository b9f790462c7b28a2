"""``tinygrad-rnn step``: a pdb-like prompt that walks the backward pass node by node.

Over a small built-in recurrent model (``--cell rnn|lstm|gru --steps T``) or
over the tensor a user's script computes (``--script FILE.py``, its variable ``loss`` or ``--var NAME``).
Commands are read one per line, so a file of commands can be piped in to make
a handout:  ``printf 'n 3\\nu t1\\np weight_hh_l0\\n' | tinygrad-rnn step``.
At a terminal the prompt is pdb's: long forms (``next``, ``continue``, ...),
readline editing and history, and an empty line repeats the last command.
No command ends the session but ``q``: a problem gets a one-line answer.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import runpy
import select
import sys
import traceback
from pathlib import Path
from typing import TextIO

import numpy as np

from .. import nn
from ..files import printable
from ..graph import NodeRecord, trace
from ..notation import names_of
from ..stepper import BackwardStepper
from ..stories.common import seed
from ..tensor import Tensor
from . import LINE_LIMIT, CLIError, UsageError, option_words, output_file, shorten

MAX_NODES = 500
LIST_LIMIT = 40  # a command that would print more steps or nodes than this shows the first and last 20

PROMPT = "(step) "
HELP = """commands:
  n [k]       next: process k nodes (default 1) and show what each did
  c           continue to the end of the pass
  u SCOPE     run until the next node is in SCOPE (e.g. t1) or makes the tensor SCOPE (e.g. c2 for c₂),
              and stop just before it
  b           back: undo the last step
  w           where: steps done and the next node
  l           list the pending nodes, the next one first
  p NAME      print tensor NAME's value and its gradient so far (e.g. p c2, p W_hh, p weight_hh_l0)
  g FILE.svg  draw the state (current / next / done / pending nodes, gradients so far)
words: current = the step just taken (what the step text describes); next = the node the next step
processes; done = processed; pending = not reached yet. Names are the notes' (c₂, f₃, W_hh): type c2.
  h           this help
  q           quit (or Ctrl-D)
The long forms work too, as in pdb: next (or step, s), continue, until, back, where, list, print,
graph, help, quit, exit. At a terminal, an empty line repeats the last command and the arrow keys
recall earlier ones."""

# Every long form (and pdb's "s", "?") -> the one-letter command it stands for.
ALIASES = {
    "next": "n", "s": "n", "step": "n", "continue": "c", "cont": "c", "until": "u", "back": "b",
    "where": "w", "list": "l", "print": "p", "graph": "g", "help": "h", "?": "h", "quit": "q", "exit": "q",
}
NOTEBOOK_ADVICE = (
    "tinygrad-rnn step is a prompt that reads what you type, and a notebook kernel has no terminal to type in.\n"
    "Use the explorer instead:\n"
    "  import viz; viz.explore(loss)                  (a live widget: its buttons step the real stepper)\n"
    "  stepper = loss.backward(step=True); stepper    (the explorer inline, no kernel needed)\n"
    "or pipe commands in: !printf 'n 3\\nw\\n' | tinygrad-rnn step; in a terminal, run `tinygrad-rnn step`."
)

INPUT_SIZE, HIDDEN_SIZE = 2, 2
MODULES = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cell", choices=sorted(MODULES), help="built-in model (default rnn)")
    parser.add_argument("--steps", type=int, help="time steps of the built-in model (default 3)")
    parser.add_argument("--seed", type=seed, help="seed for the built-in model's numbers (default 0)")
    parser.add_argument("--script", type=Path, help="a Python script that computes a scalar loss")
    parser.add_argument("--var", help="the name of the loss variable in --script (default loss)")
    parser.add_argument("--html", type=output_file(".html", ".htm"),
                        help="write the browser player to this file instead of a prompt")
    parser.add_argument("--max-nodes", type=int, default=MAX_NODES,
                        help=f"refuse to draw (--html, g) graphs with more nodes (default {MAX_NODES})")
    parser.add_argument("--full", action="store_true", help=f"print lines longer than {LINE_LIMIT} characters whole")


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
    last: dict[int, NodeRecord] = {}
    graph = trace(loss)
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
        raise CLIError(f"--script {path}: no such file")
    namespace = runpy.run_path(str(path), run_name="__main__")
    if var not in namespace:
        tensors = sorted(k for k, v in namespace.items() if isinstance(v, Tensor))
        raise CLIError(f"{path} defines no variable {var!r}; tensors it defines: {', '.join(tensors) or '(none)'}")
    value = namespace[var]
    if not isinstance(value, Tensor):
        raise CLIError(f"{var!r} in {path} is a {type(value).__name__}, not a tinygrad_rnn Tensor")
    return value


def _too_large(error: Exception, max_nodes: int) -> str:
    """viz's GraphTooLarge in this command's words (step has no cells view: fewer steps or --max-nodes)."""
    found = re.search(r"has (\d+) nodes", str(error))
    if found is None:
        return option_words(str(error))
    size = found.group(1)
    return (f"the graph has {size} nodes, more than --max-nodes {max_nodes}: the picture would be a hairball. "
            f"Unroll fewer --steps, or start step with --max-nodes {size} to draw it anyway.")


# what a command needs when it is typed bare (instead of the whole help)
MISSING_ARGUMENT = {
    "p": "p: give a tensor name, e.g. p weight_hh_l0 (l lists the pending nodes)",
    "g": "g: give a file name ending in .svg, e.g. g state.svg",
    "u": "u: give a scope or tensor to run until, e.g. u t1",
}


def _draw(stepper: BackwardStepper, target: str, out: TextIO, max_nodes: int = MAX_NODES) -> None:
    import viz

    path = Path(target)
    if path.suffix.lower() != ".svg":
        print("g: give a file name ending in .svg, e.g. g state.svg", file=out)
        return
    folder = path.parent
    if not folder.exists() and not folder.parent.exists():  # a typo must not create a tree of folders
        print(f"g: the folder {str(folder.parent)!r} does not exist (g makes at most one new folder)", file=out)
        return
    try:
        viz.render(stepper, path, max_nodes=max_nodes)
    except viz.GraphTooLarge as error:
        print(f"g: {_too_large(error, max_nodes)}", file=out)
        return
    except (viz.RendererNotFound, viz.RenderError, OSError) as error:
        print(f"g: {error}", file=out)
        return
    print(f"wrote {path}", file=out)


def _pending_list(stepper: BackwardStepper) -> list[str]:
    pending = stepper.pending()
    if not pending:
        return ["nothing pending: the backward pass is finished"]
    names = names_of(stepper.graph)
    return [f"{'next ->' if k == 0 else '       '} {node.op} -> {', '.join(names.name(t) for t in node.outputs)}  "
            f"{node.scope or '(top level)'}" for k, node in enumerate(pending)]


def stopped_before(stepper: BackwardStepper, target: str) -> str:
    """Where ``u TARGET`` stopped and why: just before the first pending node of TARGET, which is next."""
    node = stepper.current
    if node is None:
        return stepper.where()
    made = ", ".join(names_of(stepper.graph).name(t) for t in node.outputs)
    return f"stopped just before the first node of {target}: {node.op} -> {made} (next)\n{stepper.where()}"


def _cut(items: list, what: str, full: bool) -> list:
    """The first and last ``LIST_LIMIT // 2`` of a long list, with a line saying how many are left out."""
    if full or len(items) <= LIST_LIMIT:
        return items
    half = LIST_LIMIT // 2
    note = f"… {len(items) - 2 * half:,} more {what} not shown (start step with --full to see all) …"
    return [*items[:half], note, *items[-half:]]


def execute(
    stepper: BackwardStepper, line: str, out: TextIO, max_nodes: int = MAX_NODES, limit: int | None = LINE_LIMIT
) -> bool:
    """Run one command line; returns False when the user asked to quit.

    Every problem with the command is reported and the prompt goes on. Lines
    longer than ``limit`` characters are cut, and so are listings of more than
    ``LIST_LIMIT`` steps or nodes (``limit=None``, i.e. ``--full``, prints all).
    """
    parts = line.split()
    if not parts:
        return True
    command, args = ALIASES.get(parts[0], parts[0]), parts[1:]
    full = limit is None

    def say(text: object) -> None:
        print(shorten(printable(text), "start step with --full", limit), file=out)

    try:
        if command == "q":
            return False
        if command == "n" and len(args) <= 1:
            if args and not (args[0].isdigit() and int(args[0]) >= 1):
                raise ValueError(f"n: give a number of steps of at least 1, e.g. n 3 (got {args[0]!r})")
            if stepper.done:
                say("the backward pass is finished (b to go back)")
            for event in _cut(stepper.step(int(args[0]) if args else 1), "steps", full):
                say(event)
        elif command == "c" and not args:
            for summary in _cut([event.summary() for event in stepper.run()], "steps", full):
                say(summary)
            say(stepper.where())
        elif command == "u" and len(args) == 1:
            events = stepper.run_to(args[0])
            for summary in _cut([event.summary() for event in events], "steps", full):
                say(summary)
            say(stopped_before(stepper, args[0]) if events else f"already there:\n{stepper.where()}")
        elif command == "b" and not args:
            undone = stepper.back()
            say(f"undid {undone.headline()}")
            say(stepper.where())
        elif command == "w" and not args:
            say(stepper.where())
        elif command == "l" and not args:
            say("\n".join(_cut(_pending_list(stepper), "pending nodes", full)))
        elif command == "p" and len(args) == 1:
            say(stepper.show(args[0]))
        elif command == "g" and len(args) == 1:
            _draw(stepper, args[0], out, max_nodes)
        elif command == "h":
            say(HELP)
        elif command in MISSING_ARGUMENT and not args:
            say(MISSING_ARGUMENT[command])
        else:
            say(f"unknown command or wrong arguments: {line.strip()!r}\n{HELP}")
    except KeyError as error:
        say(error.args[0])
    except ValueError as error:
        say(error)
    except KeyboardInterrupt:  # Ctrl-C during a long command: back to the last whole step, and the prompt
        kept = len(stepper.events)
        stepper.reset()
        if kept:
            stepper.step(kept)
        say(f"interrupted: back at step {kept} of {stepper.steps} (the steps before are kept)")
    except Exception:  # a bug in tinygrad-rnn: show it, but the session (and its state) goes on
        traceback.print_exc()
        say(f"error running {line.strip()!r}: that is a bug in tinygrad-rnn (traceback above); the session goes on")
    return True


def _line_editing() -> None:
    """Arrow keys, history, Ctrl-R and Tab (file names, for g) at a terminal prompt: ``input()`` uses
    readline once it is imported."""
    with contextlib.suppress(ImportError):  # Windows without pyreadline: the plain prompt still works
        import readline  # noqa: F401  (importing it is what switches line editing on)


def shell(
    stepper: BackwardStepper, stdin: TextIO, out: TextIO, max_nodes: int = MAX_NODES, limit: int | None = LINE_LIMIT
) -> int:
    """The prompt loop. Piped input is echoed after the prompt so transcripts read like a session.

    At a terminal the prompt has line editing and history (readline), and an
    empty line repeats the last command, as in pdb. Piped empty lines do nothing.
    Ctrl-C or Ctrl-D at the prompt ends the session; Ctrl-C during a long
    command (``c`` at T = 10,000) comes back to the prompt.
    """
    interactive = stdin.isatty() and out.isatty()
    if interactive:
        _line_editing()
    print(printable(f"{stepper!r}\n{stepper.where()}\ntype h for help"), file=out)
    if not interactive and _in_notebook_kernel() and not _has_input(stdin):
        print(NOTEBOOK_ADVICE, file=out)  # a kernel's stdin is a pipe nobody writes to
        return 0
    last, commands = "", 0
    try:
        while True:
            if interactive:
                line = input(PROMPT)
                if line.strip():
                    last = line
                else:
                    line = last
            else:
                line = stdin.readline()
                if not line:
                    if not commands and _in_notebook_kernel():  # a kernel's stdin: nothing will come
                        print(NOTEBOOK_ADVICE, file=out)
                    raise EOFError
                commands += 1
                out.write(PROMPT + line if line.endswith("\n") else PROMPT + line + "\n")
            if not execute(stepper, line, out, max_nodes, limit):
                return 0
    except (EOFError, KeyboardInterrupt):
        print(file=out)
        return 0


def _in_notebook_kernel() -> bool:
    """True inside a Jupyter (IPython) kernel, or in a command a notebook cell started
    (``!tinygrad-rnn step``): there is no terminal for a prompt to read."""
    if "JPY_PARENT_PID" in os.environ:
        return True
    ipython = sys.modules.get("IPython")
    running = ipython.get_ipython() if ipython is not None and hasattr(ipython, "get_ipython") else None
    return running is not None and getattr(running, "kernel", None) is not None


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


def run(args: argparse.Namespace) -> int:
    if args.script is not None and (args.cell, args.steps, args.seed) != (None, None, None):
        raise UsageError("--cell, --steps and --seed pick the built-in model, which --script replaces: leave them out")
    if args.script is None and args.var is not None:
        raise UsageError("--var NAME names the loss in --script FILE.py: give the script too")
    if args.max_nodes < 1:
        raise UsageError("--max-nodes must be positive")
    if args.script is not None:
        var = args.var or "loss"
        loss = _load_script(args.script, var)
        where = f"{var} from {args.script}"
    else:
        cell, steps = args.cell or "rnn", 3 if args.steps is None else args.steps
        if steps < 1:
            raise UsageError("--steps must be at least 1")
        loss = builtin_model(cell, steps, args.seed or 0)
        where = f"built-in {cell} over {steps} steps, loss = sum(h{steps})"
    try:
        stepper = BackwardStepper(loss)
    except (RuntimeError, ValueError) as error:
        raise CLIError(str(error)) from None
    if args.html is not None:
        import viz

        try:
            viz.backward_player(stepper, args.html, max_nodes=args.max_nodes)
        except viz.GraphTooLarge as error:
            raise CLIError(_too_large(error, args.max_nodes)) from None
        except (viz.RendererNotFound, viz.RenderError, OSError) as error:
            raise CLIError(str(error)) from None
        print(printable(f"wrote {args.html}: {stepper.steps} backward steps of {where}; "
                        "open it in a browser and press -> to step (<- back, Home/End)"))
        return 0
    print(printable(f"stepping through backward of {where}"))
    return shell(stepper, sys.stdin, sys.stdout, args.max_nodes, None if args.full else LINE_LIMIT)
