"""``tinygrad-rnn exercise NAME FILE.py``: check a backward you wrote, from the terminal.

FILE.py defines a function named NAME (e.g. ``lstm_step_backward``); the checker runs it on
random instances against the engine and prints the same message as ``tr.exercises.check``:
which gradient is the first wrong one and the rule that produces it. Exit 0 when every
gradient matches, 1 when one is wrong (or the file or the function raises: the traceback
lines from your file are shown), 2 for a usage error (an unknown exercise, a missing file).
``--html PAGE.html`` also writes the report as a page, with the explorer opened on the wrong gradient.
"""

from __future__ import annotations

import argparse
import html
import os
import runpy
import sys
import traceback

from . import CLIError, UsageError, output_file


def configure(parser: argparse.ArgumentParser) -> None:
    from ..exercises import EXERCISES

    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = "exercises:\n" + "\n".join(f"  {ex.signature}\n      {ex.summary}" for ex in EXERCISES.values())
    parser.add_argument("name", metavar="NAME", choices=list(EXERCISES),
                        help="the exercise, which is also the name of your function: " + ", ".join(EXERCISES))
    parser.add_argument("file", metavar="FILE.py", help="a Python file that defines a function named NAME")
    parser.add_argument("--html", metavar="PAGE.html", type=output_file(".html", ".htm"),
                        help="also write the report as a page: the message and, when a gradient is wrong, the "
                             "explorer opened on the step that computes it")


def run(args: argparse.Namespace) -> int:
    from ..exercises import EXERCISES, check
    from ..exercises.check import student_traceback
    from ..files import write_atomic

    if not os.path.isfile(args.file):
        raise UsageError(f"{args.file}: {'not a file' if os.path.exists(args.file) else 'no such file'}")
    sys.path.insert(0, os.path.dirname(os.path.abspath(args.file)))  # the student's own helper modules
    try:
        namespace = runpy.run_path(args.file, run_name="__exercise__")
    except Exception as error:  # the student's file: show them their own traceback, not ours
        if isinstance(error, SyntaxError):  # where Python stopped reading, with its caret
            print("".join(traceback.format_exception_only(error)).rstrip(), file=sys.stderr)
            return 1
        lines = student_traceback(error)
        print(f"{args.file} raised {type(error).__name__} while loading: {error}", file=sys.stderr)
        if lines:
            print(lines, file=sys.stderr)
        return 1
    finally:
        sys.path.pop(0)
    fn = namespace.get(args.name)
    if not callable(fn):
        defined = sorted(k for k, v in namespace.items() if callable(v) and not k.startswith("_")
                         and getattr(v, "__module__", None) == "__exercise__")
        raise CLIError(f"{args.file} defines no function {args.name}; it should define "
                       f"{EXERCISES[args.name].signature} (functions found: {', '.join(defined) or 'none'})")
    report = check(args.name, fn)
    if args.html:
        write_atomic(args.html, "<!DOCTYPE html><html><head><meta charset='utf-8'><title>"
                     f"{html.escape(args.name)}</title></head><body>{report._repr_html_()}</body></html>")
    stream = sys.stdout if report.ok else sys.stderr
    print(report.message, file=stream)
    if report.traceback:
        print(report.traceback, file=stream)
    return 0 if report.ok else 1
