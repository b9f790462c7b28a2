"""Many-to-one sentiment classification: negation and contrast, a bag of words against RNN, LSTM and GRU.

Run `python examples/sentiment.py --help` for the options; the story itself (and
`tinygrad-rnn train sentiment`, which runs the same code) is in tinygrad_rnn/stories/sentiment.py.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a clone without installing

from tinygrad_rnn.stories import sentiment  # noqa: E402
from tinygrad_rnn.stories.common import script_main  # noqa: E402

if __name__ == "__main__":
    sys.exit(script_main(sentiment))
