"""Time tr.bptt_loop beside backward() on the same graph (LSTM, input 8, hidden 16, batch 4).

    python docs/measure_bptt_loop.py

Prints, per T, the best of 5 runs of: writing the loop (trace + fold + text), running
the text (loop.run()), and loss.backward() on the same recorded graph, and the ratios
to backward() (the machine is shared and noisy: read the ratios, not the milliseconds).
"""

import time

import numpy as np

import tinygrad_rnn as tr


def once(T: int) -> tuple[float, float, float, int]:
    model = tr.nn.LSTM(8, 16, rng=0)
    x = tr.Tensor(np.random.default_rng(1).normal(size=(T, 4, 8)))
    out, _ = model(x)
    loss = tr.F.mse_loss(out, np.zeros(out.shape))
    start = time.perf_counter()
    loop = tr.bptt_loop(loss)
    written = time.perf_counter()
    loop.run()
    ran = time.perf_counter()
    loss.backward()
    done = time.perf_counter()
    return written - start, ran - written, done - ran, len(loop.lines)


for T in (10, 100, 1000):
    runs = [once(T) for _ in range(5)]
    write, run, backward = (min(r[k] for r in runs) for k in range(3))
    print(f"T = {T:4d}: bptt_loop {write * 1e3:7.1f} ms ({write / backward:4.1f}x backward), "
          f"run() {run * 1e3:7.1f} ms ({run / backward:4.1f}x), backward() {backward * 1e3:7.1f} ms, "
          f"{runs[0][3]} lines")
