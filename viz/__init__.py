"""viz: draw graphs recorded by tinygrad_rnn with Graphviz."""

from .player import backward_player  # noqa: F401  (viz.backward_player)
