"""The lecture's hand-set LSTM: one memory cell that adds, resets and shows a number on command.

Run `python examples/toy_lstm.py --help` for the options; the story itself (and
`tinygrad-rnn train toy-lstm`, which runs the same code) is in tinygrad_rnn/stories/toy_lstm.py.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a clone without installing

from tinygrad_rnn.stories import toy_lstm  # noqa: E402
from tinygrad_rnn.stories.common import script_main  # noqa: E402

if __name__ == "__main__":
    sys.exit(script_main(toy_lstm))
