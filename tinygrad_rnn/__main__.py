"""``python -m tinygrad_rnn`` is the ``tinygrad-rnn`` command."""

import sys

from .cli import main

sys.exit(main())
