# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 6. Training a character-level language model
#
# Everything so far, used for real: a GRU reads text one character at a time and predicts
# the next. The loop is the one of every RNN course:
#
# 1. cut the text into batches of sequences of `num_steps` characters, consecutive across
#    batches (so the hidden state can carry over);
# 2. forward, cross-entropy of the next character, `loss.backward()`;
# 3. clip the gradient norm (`tr.optim.clip_grad_norm_`: a long unroll can explode),
#    take an Adam step;
# 4. *detach* the hidden state before the next batch: truncated BPTT, the gradient
#    stops at the batch boundary.
#
# `tinygrad_rnn.stories.char_lm.train` is that loop; the measure is perplexity
# (exp of the mean cross-entropy) on held-out text, against n-gram baselines fitted on the
# same training text. The data ships with the package (standard-library docstrings).

# %%
from IPython.display import SVG

from tinygrad_rnn import data
from tinygrad_rnn.stories import char_lm

result = char_lm.train(data.load_text(), kind="gru", hidden=64, embed=16, epochs=2, batch=32, lr=0.01,
                       max_chars=30_000, num_steps=24, sample_length=160, seed=0)
SVG(char_lm.curve_svg(result))

# %%
best = result["best_ngram"]
print(f"held-out perplexity after {result['seconds']:.0f} s: {result['final_val_ppl']:.2f}")
for n, ppl in result["baselines"].items():
    print(f"  {n}-gram baseline: {ppl:.2f}")
print(f"sample at temperature {result['temperature']}:\n{result['sample']}")

# %% [markdown]
# Two epochs over 30,000 characters beat the unigram and bigram baselines but not yet the
# best n-gram (printed above); longer runs do (`tinygrad-rnn train char-lm --help`, and the
# measured runs in `docs/stories/char-lm-gru/`). To see *why* training works, step through
# one batch's backward pass with `viz.explore(loss)` (chapter 3).


# %% [markdown]
# ## Exercises
#
# **1. Predict, then check.** A model that gives every one of the V characters the same
# probability: what is its perplexity?

# %%
import sys
from pathlib import Path

if not Path("notebooks/solutions").is_dir():  # Jupyter runs a chapter in notebooks/: the root is one up
    sys.path.insert(0, str(Path.cwd().parent))

import numpy as np

import tinygrad_rnn as tr

V = 27
uniform = np.full(V, 1 / V)
print(f"perplexity of the uniform model over {V} characters: {np.exp(-np.log(uniform[0])):.1f}")

# %% [markdown]
# **2. Harder: truncated BPTT**, as a language model trains on long text: the state is
# carried forward but the gradient is cut every k steps. Write
# `rnn_backward_truncated(dhs, caches, k)` (the checker calls it with k = 2): chapter 2's
# BPTT, with the carry dropped at every cut.

# %%
from notebooks.solutions import rnn_backward_truncated  # the reference: replace with yours

print(tr.exercises.check("rnn_backward_truncated", rnn_backward_truncated))
