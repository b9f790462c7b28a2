"""``tinygrad-rnn derive --loop``: print the BPTT loop of a small recorded RNN, LSTM or GRU.

A model of the chosen cell runs on a random sequence and a mean-squared-error
loss; ``tr.bptt_loop`` writes the recorded graph back as the loop (the forward
over t, then the same loop reversed). ``--check`` also runs that text and
compares its gradients with ``loss.backward()``'s (exit 1 beyond 1e-12).
"""

from __future__ import annotations

import argparse

import numpy as np

from . import UsageError

INPUT_SIZE, BATCH = 3, 2


def refuse_unused(args: argparse.Namespace) -> None:
    """--loop takes --cell (rnn, lstm, gru), --steps, --hidden, --seed, --check, --markdown; nothing else."""
    if args.cell == "jordan":
        raise UsageError("--loop writes the loop of --cell rnn, lstm or gru (jordan has no loop writer yet)")
    if args.nonlinearity is not None and args.cell in ("lstm", "gru"):
        raise UsageError(f"--nonlinearity would be ignored: --cell {args.cell} has fixed nonlinearities. Leave it out.")
    if args.measure or args.out is not None:
        raise UsageError("--measure goes with --rtrl and --out with --spectra, not with --loop")
    if args.latex or args.standalone:
        raise UsageError("--loop prints Python; use --markdown for a fenced code block, not --latex")
    for name, value in {"cell": "rnn", "steps": 5, "hidden": 3, "seed": 0, "nonlinearity": "tanh"}.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    if args.steps < 1 or args.hidden < 1:
        raise UsageError("--steps and --hidden must be positive")


def run(args: argparse.Namespace) -> int:
    refuse_unused(args)
    import tinygrad_rnn as tr

    rng = np.random.default_rng(args.seed)
    if args.cell == "rnn":
        model = tr.nn.RNN(INPUT_SIZE, args.hidden, nonlinearity=args.nonlinearity, rng=args.seed)
    else:
        model = {"lstm": tr.nn.LSTM, "gru": tr.nn.GRU}[args.cell](INPUT_SIZE, args.hidden, rng=args.seed)
    x = tr.Tensor(rng.normal(size=(args.steps, BATCH, INPUT_SIZE)))
    output, _ = model(x)
    loss = tr.F.mse_loss(output, rng.normal(size=output.shape))
    loop = tr.bptt_loop(loss)
    title = (f"# tinygrad-rnn derive --loop --cell {args.cell} --steps {args.steps} --hidden {args.hidden}: "
             f"the training step of tr.nn.{type(model).__name__}, as the loop")
    print(f"{title}\n\n```python\n{loop.source}```" if args.markdown else f"{title}\n\n{loop.source}", end="")
    if not args.check:
        return 0
    grads = loop.run()
    loss.backward()
    worst = max(float(np.abs(grads[name] - p.grad).max()) for name, p in model.named_parameters())
    print(f"\ncheck: the loop's gradients minus backward()'s, largest |difference| = {worst:.1e} "
          f"({'equal' if worst <= 1e-12 else 'DIFFERENT'} to 1e-12)")
    return 0 if worst <= 1e-12 else 1
