"""How far back each prediction's gradient reaches: RNN, LSTM and GRU char models, before and after training.

Run `python examples/connectivity.py --help` for the options; the story itself (and
`tinygrad-rnn train connectivity`, which runs the same code) is in tinygrad_rnn/stories/connectivity.py.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a clone without installing

from tinygrad_rnn.stories import connectivity  # noqa: E402
from tinygrad_rnn.stories.common import script_main  # noqa: E402

if __name__ == "__main__":
    sys.exit(script_main(connectivity))
