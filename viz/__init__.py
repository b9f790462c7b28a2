"""viz: draw graphs recorded by tinygrad_rnn with Graphviz."""
