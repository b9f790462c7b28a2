"""Slot filling: a per-word feed-forward tagger against a (bidirectional) RNN.

Run `python examples/slot_filling.py --help` for the options; the story itself (and
`tinygrad-rnn train`, which runs the same code) is in tinygrad_rnn/stories/slot_filling.py.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a clone without installing

from tinygrad_rnn.stories import slot_filling  # noqa: E402
from tinygrad_rnn.stories.common import script_main  # noqa: E402

if __name__ == "__main__":
    sys.exit(script_main(slot_filling))
