"""``tinygrad-rnn train <story>``: run one of the notes' stories (see ``tinygrad_rnn.stories``)."""

from __future__ import annotations

import argparse
import importlib

from ..stories import STORIES
from ..stories.common import StoryError
from . import CLIError


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="story", metavar="STORY", required=True)
    for name, (module, help_text) in STORIES.items():
        child = sub.add_parser(name, help=help_text, description=importlib.import_module(module).__doc__,
                               formatter_class=argparse.RawDescriptionHelpFormatter)
        child.set_defaults(_story=module)
        importlib.import_module(module).configure(child)


def run(args: argparse.Namespace) -> int:
    try:
        return int(importlib.import_module(args._story).run(args) or 0)
    except StoryError as error:
        raise CLIError(str(error)) from None
