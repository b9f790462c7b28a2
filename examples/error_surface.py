"""The rough error surface of a one-unit RNN: plateau, cliff, and gradient descent with and without clipping.

Run `python examples/error_surface.py --help` for the options; the story itself (and
`tinygrad-rnn train error-surface`, which runs the same code) is in tinygrad_rnn/stories/error_surface.py.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a clone without installing

from tinygrad_rnn.stories import error_surface  # noqa: E402
from tinygrad_rnn.stories.common import script_main  # noqa: E402

if __name__ == "__main__":
    sys.exit(script_main(error_surface))
