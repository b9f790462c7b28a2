"""The stories of the lecture notes, each a small training run with pictures.

Each story module has ``configure(parser)`` and ``run(args) -> int``, shared
by ``tinygrad-rnn train <story>`` and the thin scripts in ``examples/``, and
a ``train(...)`` (or ``train_one``) function returning the numbers as a dict.
"""

# name -> (module, one-line help)
STORIES: dict[str, tuple[str, str]] = {
    "char-lm": ("tinygrad_rnn.stories.char_lm", "character-level language model vs an n-gram baseline"),
    "adding": ("tinygrad_rnn.stories.adding", "the adding problem: long-range memory, RNN vs LSTM vs GRU (and IRNN)"),
    "sine": ("tinygrad_rnn.stories.sine", "sine wave: many-to-one prediction and autoregressive generation"),
    "seq2seq": ("tinygrad_rnn.stories.seq2seq", "encoder-decoder on digit strings, greedy decoding, attention"),
    "slot-filling": ("tinygrad_rnn.stories.slot_filling", "slot filling: feed-forward vs (bidirectional) RNN"),
    "gradient-flow": ("tinygrad_rnn.stories.gradient_flow", "vanishing and exploding gradients, with pictures"),
    "curvature": ("tinygrad_rnn.stories.curvature", "the cliff: curvature along the gradient as w crosses 1 (hvp)"),
    "error-surface": ("tinygrad_rnn.stories.error_surface", "the rough error surface: plateau, cliff, and clipping"),
    "sentiment": ("tinygrad_rnn.stories.sentiment", "many-to-one sentiment: negation and contrast, BoW vs RNNs"),
    "toy-lstm": ("tinygrad_rnn.stories.toy_lstm", "the lecture's hand-set LSTM: one memory cell, weights by hand"),
    "connectivity": ("tinygrad_rnn.stories.connectivity",
                     "how far back each prediction's gradient reaches: RNN vs LSTM vs GRU, before and after training"),
}
