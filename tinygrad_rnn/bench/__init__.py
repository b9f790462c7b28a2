"""Speed and memory of tinygrad_rnn, side by side with references.

``references``: forward + BPTT written by hand in NumPy (no graph), the speed
limit for a NumPy engine. ``models``: the benchmark tasks in tinygrad_rnn, by
hand, and in PyTorch, sharing weights. ``suite``: the timed tables. Run with
``tinygrad-rnn bench`` (``--quick`` for a smoke run). The repository's
``benchmarks/`` folder holds scripts that time other parts of the project
(pictures, derivations); they are not installed.
"""
