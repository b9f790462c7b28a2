"""A character-level language model (RNN, GRU or LSTM) against a character n-gram baseline.

Run `python examples/char_lm.py --help` for the options; the story itself (and
`tinygrad-rnn train`, which runs the same code) is in tinygrad_rnn/stories/char_lm.py.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a clone without installing

from tinygrad_rnn.stories import char_lm  # noqa: E402
from tinygrad_rnn.stories.common import script_main  # noqa: E402

if __name__ == "__main__":
    sys.exit(script_main(char_lm))
