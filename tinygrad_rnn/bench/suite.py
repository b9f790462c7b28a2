"""The benchmark run: every table ``tinygrad-rnn bench`` prints.

Timing rules (the machine is shared and noisy): each figure is the median of
several runs after warm-up, and the implementations being compared run
interleaved in one process (engine, reference, PyTorch, engine, ...), so a
burst of load hits all of them alike; the ratios are the figures to trust.
"""

from __future__ import annotations

import gc
import os
import platform
import statistics
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

import tinygrad_rnn as tr

from .models import LSTM, RNN_CHAR, Engine, Reference, Task, Torch, init_params, make_batch, torch_available

DTYPES = {"float64": np.float64, "float32": np.float32}


@dataclass(frozen=True)
class Settings:
    """How much to run: the full benchmark, or ``quick()`` for a smoke test."""

    repeats: int = 15
    warmup: int = 3
    memory_T: int = 1000
    scaling_T: tuple[int, ...] = (100, 1_000, 10_000)
    scaling_H: tuple[int, ...] = (64, 128, 256, 512)
    use_torch: bool = True
    tasks: tuple[Task, ...] = (RNN_CHAR, LSTM)
    torch_threads: int | None = None  # None: PyTorch's default
    clock: str = "wall"  # or "cpu" (see interleaved)

    @classmethod
    def quick(cls, use_torch: bool = True) -> Settings:
        small = (replace(RNN_CHAR, T=5), replace(LSTM, T=5, B=4, H=32))
        return cls(2, 1, 50, (10, 100), (16, 32), use_torch, small)

    @property
    def full_size(self) -> bool:
        return self.tasks == (RNN_CHAR, LSTM)


CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}


def interleaved(
    fns: dict[str, Callable[[], object]], repeats: int, warmup: int, clock: str = "wall"
) -> dict[str, float]:
    """Median seconds per call of each function, the calls taking turns.

    clock "wall" is elapsed time; "cpu" is this process's CPU time, which other
    processes on a shared machine don't inflate (meaningful with one thread:
    with several, it adds up every thread's time, spinning included).
    """
    now = CLOCKS[clock]
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = now()
            fn()
            times[name].append(now() - start)
    return {name: statistics.median(ts) for name, ts in times.items()}


def _build(task: Task, dtype: str, with_torch: bool) -> dict[str, object]:
    params = init_params(task, DTYPES[dtype])
    x, y = make_batch(task, DTYPES[dtype])
    impls = {"ours": Engine(task, params, x, y), "hand": Reference(task, params, x, y)}
    if with_torch:
        impls["torch"] = Torch(task, params, x, y)
    return impls


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.2f}"


def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |"

    return "\n".join([line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|"] + [line(r) for r in rows])


def machine() -> str:
    """nproc, CPU model, Python, NumPy (and its BLAS), PyTorch: what the figures were measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    try:
        blas = np.__config__.CONFIG["Build Dependencies"]["blas"]["name"]
    except (AttributeError, KeyError, TypeError):
        blas = "unknown BLAS"
    parts = [
        f"{os.cpu_count()} CPUs ({cpu})",
        f"Python {platform.python_version()}",
        f"NumPy {np.__version__} ({blas})",
    ]
    if torch_available():
        import torch

        parts.append(f"PyTorch {torch.__version__} ({torch.get_num_threads()} threads)")
    else:
        parts.append("PyTorch not installed")
    blas_threads = os.environ.get("OPENBLAS_NUM_THREADS")
    if blas_threads:
        parts.append(f"OPENBLAS_NUM_THREADS={blas_threads}")
    return "; ".join(parts)


def speed(settings: Settings, out: Callable[[str], None]) -> list[str]:
    """Forward + backward per batch, ours vs by hand vs PyTorch; returns the target verdicts."""
    with_torch = settings.use_torch and torch_available()
    rows, verdicts = [], []
    for task in settings.tasks:
        for dtype in DTYPES:
            impls = _build(task, dtype, with_torch)
            t = interleaved({n: m.fwd_bwd for n, m in impls.items()}, settings.repeats, settings.warmup, settings.clock)
            vs_hand = t["ours"] / t["hand"]
            vs_torch = t["ours"] / t["torch"] if with_torch else None
            rows.append(
                [
                    task.label(),
                    dtype,
                    _ms(t["ours"]),
                    _ms(t["hand"]),
                    _ms(t["torch"]) if with_torch else "-",
                    f"{vs_hand:.2f}",
                    f"{vs_torch:.2f}" if with_torch else "-",
                ]
            )
            if task.kind == "lstm" and dtype == "float32":
                verdicts.append(_verdict("LSTM float32, ours/by hand", vs_hand, 1.3))
                if with_torch:
                    verdicts.append(_verdict("LSTM float32, ours/PyTorch", vs_torch, 2.0))
            if task.kind == "rnn":
                verdicts.append(_verdict(f"char RNN {dtype}, ours/by hand", vs_hand, 2.0))
    out("## Forward + backward per batch (ms, median)\n")
    header = ["config", "dtype", "ours", "by hand", "PyTorch", "ours/hand", "ours/PyTorch"]
    out(_table(header, rows))
    if not with_torch:
        out("\nPyTorch: not installed (or --no-torch), its columns are empty.")
    return verdicts


def _verdict(what: str, ratio: float, target: float) -> str:
    return f"{what}: {ratio:.2f}x (target <= {target}x): {'met' if ratio <= target else 'NOT met'}"


def recording(settings: Settings, out: Callable[[str], None]) -> None:
    """The price of the graph: the same forward under no_grad and recorded."""
    rows = []
    for task in settings.tasks:
        for dtype in DTYPES:
            engine = _build(task, dtype, False)["ours"]
            nodes = len(tr.trace(engine.forward()))
            t = interleaved(
                {"off": engine.forward_no_grad, "on": lambda e=engine: e.forward().item()},
                settings.repeats,
                settings.warmup,
                settings.clock,
            )
            rows.append(
                [task.label(), dtype, str(nodes), _ms(t["off"]), _ms(t["on"]), f"{t['on'] / t['off']:.2f}"]
            )
    out("\n## Cost of recording the graph: forward only (ms, median)\n")
    out(_table(["config", "dtype", "nodes", "no_grad", "recorded", "recorded/no_grad"], rows))
    fwd, bwd, raw = per_node_overhead(settings)
    out(
        f"\nPython overhead per node (a chain of 200 tanh on a 1x4 array): forward {fwd:.1f} us, "
        f"backward {bwd:.1f} us; one bare np.tanh call: {raw:.1f} us"
    )


def per_node_overhead(settings: Settings, n: int = 200) -> tuple[float, float, float]:
    """Microseconds per node of a graph whose arithmetic is negligible: what each op costs in Python."""
    x = tr.Tensor(np.full((1, 4), 0.1), requires_grad=True)

    def chain() -> tr.Tensor:
        h = x
        for _ in range(n):
            h = h.tanh()
        return h

    def bare() -> np.ndarray:
        h = x.data
        for _ in range(n):
            h = np.tanh(h)
        return h

    now = CLOCKS[settings.clock]
    fwd, bwd, raw = [], [], []
    for i in range(settings.warmup + settings.repeats):
        start = now()
        y = chain()
        middle = now()
        y.backward(np.ones((1, 4)), retain_grads=False)
        end = now()
        bare()
        if i >= settings.warmup:
            fwd.append(middle - start)
            bwd.append(end - middle)
            raw.append(now() - end)
    return tuple(statistics.median(ts) / n * 1e6 for ts in (fwd, bwd, raw))


def peak_bytes(fn: Callable[[], object]) -> int:
    """Peak bytes allocated (NumPy arrays included) while ``fn`` runs, by tracemalloc."""
    gc.collect()
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def memory(settings: Settings, out: Callable[[str], None]) -> None:
    """Peak memory of one forward + backward over a long sequence."""
    rows = []
    for base in settings.tasks:
        task = replace(base, T=settings.memory_T)
        impls = _build(task, "float32", False)
        peaks = {name: peak_bytes(m.fwd_bwd) for name, m in impls.items()}
        rows.append(
            [
                task.label(),
                f"{peaks['ours'] / 2**20:.1f}",
                f"{peaks['hand'] / 2**20:.1f}",
                f"{peaks['ours'] / peaks['hand']:.2f}",
                f"{peaks['ours'] / task.T / 1024:.1f}",
            ]
        )
    out(f"\n## Peak memory, forward + backward, T = {settings.memory_T}, float32 (MiB, tracemalloc)\n")
    out(_table(["config", "ours", "by hand", "ours/hand", "ours KiB per step"], rows))


def scaling(settings: Settings, out: Callable[[str], None]) -> None:
    """Time against sequence length (must be linear) and against hidden size."""
    rows = []
    small_lstm = Task("lstm", T=0, B=8, I=32, H=64)
    for base in (RNN_CHAR, small_lstm):
        for T in settings.scaling_T:
            task = replace(base, T=T)
            impls = _build(task, "float32", False)
            reps = max(1, settings.repeats // 5) if T >= 10_000 else max(1, settings.repeats // 3)
            fns = {**{n: m.fwd_bwd for n, m in impls.items()}, "no gc": _without_gc(impls["ours"].fwd_bwd)}
            t = interleaved(fns, reps, 1, settings.clock)
            rows.append(
                [
                    task.label(),
                    _ms(t["ours"]),
                    _ms(t["hand"]),
                    f"{t['ours'] / T * 1e6:.1f}",
                    f"{t['no gc'] / T * 1e6:.1f}",
                    f"{t['hand'] / T * 1e6:.1f}",
                    f"{t['ours'] / t['hand']:.2f}",
                ]
            )
    out("\n## Scaling with sequence length T, float32 (ms per forward + backward)\n")
    header = ["config", "ours", "by hand", "ours us/step", "ours, GC off, us/step", "hand us/step", "ours/hand"]
    out(_table(header, rows))
    out(
        "\n(GC off: the same run with Python's cyclic garbage collector paused, which shows how much "
        "of the growth per step comes from the collector re-traversing a growing graph.)"
    )

    with_torch = settings.use_torch and torch_available()
    rows = []
    for H in settings.scaling_H:
        task = replace(settings.tasks[-1], H=H)
        impls = _build(task, "float32", with_torch)
        t = interleaved({n: m.fwd_bwd for n, m in impls.items()}, max(1, settings.repeats // 3), 1, settings.clock)
        rows.append(
            [
                task.label(),
                _ms(t["ours"]),
                _ms(t["hand"]),
                _ms(t["torch"]) if with_torch else "-",
                f"{t['ours'] / t['hand']:.2f}",
                f"{t['ours'] / t['torch']:.2f}" if with_torch else "-",
            ]
        )
    out("\n## Scaling with hidden size, LSTM float32 (ms per forward + backward)\n")
    out(_table(["config", "ours", "by hand", "PyTorch", "ours/hand", "ours/PyTorch"], rows))


def _without_gc(fn: Callable[[], object]) -> Callable[[], object]:
    def run() -> object:
        gc.disable()
        try:
            return fn()
        finally:
            gc.enable()

    return run


SECTIONS = ("speed", "recording", "memory", "scaling")


def run_all(settings: Settings, sections: tuple[str, ...] = SECTIONS, out: Callable[[str], None] = print) -> None:
    """Print the chosen sections of the benchmark, then the targets met or not."""
    if settings.torch_threads is not None and settings.use_torch and torch_available():
        import torch

        torch.set_num_threads(settings.torch_threads)
    out(f"machine: {machine()}")
    out(f"clock: {'process CPU time' if settings.clock == 'cpu' else 'wall-clock'}")
    out("ours: tr.nn.RNN / tr.nn.LSTM (+ tr.nn.Linear read-out), cells written from the engine's primitives\n")
    verdicts = speed(settings, out) if "speed" in sections else []
    if "recording" in sections:
        recording(settings, out)
    if "memory" in sections:
        memory(settings, out)
    if "scaling" in sections:
        scaling(settings, out)
    if verdicts:
        out("\n## Targets\n")
        if not settings.full_size:
            out("quick run: sizes reduced, so the targets (set for the full sizes) are not judged")
            return
        for v in verdicts:
            out(f"- {v}")
