"""Text in, integer batches out: a corpus, a vocabulary, padding, and batches for truncated BPTT.

    text = tr.data.load_text()                       # ~390 KB of English docstrings, no download
    vocab = tr.data.Vocab.from_text(text, level="char")
    ids = vocab.encode(text)                          # int64 array, one id per character
    train, val = tr.data.train_val_split(ids, 0.1)    # the last 10% is held out
    for X, Y in tr.data.sequential_batches(train, batch_size=32, num_steps=35, seed=0):
        ...                                           # X, Y: (32, 35); Y is X shifted by one token

Everything random takes a seed or a ``np.random.Generator``, so a run can
be repeated exactly. The same seed gives the same batches; for a new
arrangement every epoch pass ``seed=epoch``, or one Generator for the whole run.
"""

from __future__ import annotations

import ast
import functools
import os
import re
import sysconfig
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "STDLIB_MODULES",
    "Vocab",
    "load_text",
    "num_batches",
    "pad_sequences",
    "random_batches",
    "sequential_batches",
    "tokenize",
    "train_val_split",
]

# Standard-library modules whose docstrings make the default corpus (in this order).
STDLIB_MODULES = (
    "inspect", "logging/__init__", "doctest", "difflib", "statistics", "threading", "subprocess",
    "collections/__init__", "unittest/case", "textwrap", "random", "json/__init__", "pathlib",
    "configparser", "email/message", "smtplib", "datetime", "os", "shutil", "tarfile", "pdb",
    "codecs", "traceback", "functools", "tempfile", "contextlib", "enum", "fractions", "heapq",
    "queue", "socket", "calendar", "argparse",
)  # fmt: skip

Generator = np.random.Generator


def _rng(seed: int | Generator | None) -> Generator:
    return seed if isinstance(seed, Generator) else np.random.default_rng(seed)


# --- corpus -------------------------------------------------------------------


def load_text(path: str | os.PathLike | None = None) -> str:
    """Return the text of ``path`` (UTF-8), or with no path a real English corpus.

    The default corpus is every docstring (module, class, function, in source
    order, separated by blank lines) of the standard-library modules listed in
    ``STDLIB_MODULES``, read from the ``.py`` files of the running Python
    (``sysconfig.get_paths()["stdlib"]``): prose written by many people, about
    390 KB, already on every machine, no network. It is the same text on
    every machine with the same Python version (docstrings change a little
    between versions). Parsing takes about a second; the result is cached.
    """
    if path is None:
        return _stdlib_docstrings()
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"load_text: no text file at {str(path)!r}")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise ValueError(f"load_text: {str(path)!r} is not UTF-8 text ({error})") from None
    if not text:
        raise ValueError(f"load_text: {str(path)!r} is empty")
    return text


@functools.lru_cache(maxsize=1)
def _stdlib_docstrings() -> str:
    root = Path(sysconfig.get_paths()["stdlib"])
    docs: list[str] = []
    for name in STDLIB_MODULES:
        file = next((f for f in (root / f"{name}.py", root / name / "__init__.py") if f.is_file()), None)
        if file is None:
            continue
        tree = ast.parse(file.read_text(encoding="utf-8"))
        found = []
        for node in ast.walk(tree):
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                doc = ast.get_docstring(node)
                if doc:
                    found.append((getattr(node, "lineno", 0), doc))
        docs.extend(doc for _, doc in sorted(found, key=lambda item: item[0]))
    text = "\n\n".join(docs)
    if len(text) < 10_000:
        raise FileNotFoundError(
            f"load_text: this Python's standard library sources were not found under {str(root)!r} "
            f"(some installations ship only compiled files); pass a text file: load_text('my.txt')"
        )
    return text + "\n"


# --- vocabulary -----------------------------------------------------------------


def tokenize(text: str, level: str = "char") -> list[str]:
    """Split text into tokens: characters (``"char"``), or words and punctuation marks (``"word"``)."""
    if level == "char":
        return list(text)
    if level == "word":
        return re.findall(r"\w+|[^\w\s]", text)
    raise ValueError(f"tokenize: level must be 'char' or 'word', got {level!r}")


class Vocab:
    """A two-way map between tokens (characters or words) and integer ids.

    Ids are assigned in a fixed order: the reserved tokens first (by default
    ``<pad>`` = 0, ``<bos>`` = 1, ``<eos>`` = 2), then the unknown token
    ``<unk>``, then the corpus tokens from most to least frequent (ties in
    sorted order), so the same text always gives the same ids. Tokens seen
    fewer than ``min_freq`` times, or beyond ``max_size``, map to ``<unk>``.
    With ``unk=None`` there is no unknown token and encoding an unseen token
    raises ``KeyError``.

    ``level`` only says how ``encode`` splits a string and how ``decode``
    joins tokens: ``"char"`` joins with "" (exact round trip), ``"word"`` with
    spaces.
    """

    def __init__(
        self,
        tokens: Iterable[str] = (),
        level: str = "char",
        min_freq: int = 1,
        max_size: int | None = None,
        reserved: Sequence[str] = ("<pad>", "<bos>", "<eos>"),
        unk: str | None = "<unk>",
    ):
        if level not in ("char", "word"):
            raise ValueError(f"Vocab: level must be 'char' or 'word', got {level!r}")
        specials = list(reserved) + ([unk] if unk is not None else [])
        if len(set(specials)) != len(specials):
            raise ValueError(f"Vocab: reserved tokens and unk must be distinct, got {specials}")
        counts = Counter(tokens)
        ranked = sorted(
            (t for t, c in counts.items() if c >= min_freq and t not in specials),
            key=lambda t: (-counts[t], t),
        )
        if max_size is not None:
            if max_size < len(specials):
                raise ValueError(f"Vocab: max_size {max_size} cannot even hold the special tokens {specials}")
            ranked = ranked[: max_size - len(specials)]
        self.level = level
        self.unk = unk
        self.reserved = tuple(reserved)
        self.id_to_token: list[str] = specials + ranked
        self.token_to_id: dict[str, int] = {t: i for i, t in enumerate(self.id_to_token)}

    @classmethod
    def from_text(cls, text: str, level: str = "char", **options: Any) -> Vocab:
        """Build a vocabulary from the tokens of ``text`` (see ``tokenize``)."""
        return cls(tokenize(text, level), level=level, **options)

    def state_dict(self, prefix: str = "vocab.") -> dict[str, np.ndarray]:
        """The vocabulary as string arrays, to save next to a model's weights with ``tr.save``.

        ``tr.save({**model.state_dict(), **vocab.state_dict()}, "lm.npz")`` keeps
        everything needed to sample from the model later in one file.
        """
        if any(t.endswith("\x00") for t in self.id_to_token):
            raise ValueError("Vocab.state_dict: NumPy string arrays cannot store tokens ending in '\\x00'")
        return {
            f"{prefix}tokens": np.array(self.id_to_token, dtype=str),
            f"{prefix}level": np.array(self.level),
            f"{prefix}reserved": np.array(len(self.reserved)),
            f"{prefix}has_unk": np.array(self.unk is not None),
        }

    @classmethod
    def from_state_dict(cls, state: dict[str, np.ndarray], prefix: str = "vocab.") -> Vocab:
        """Rebuild the vocabulary saved by ``state_dict`` (the same ids for the same tokens)."""
        try:
            tokens = [str(t) for t in np.asarray(state[f"{prefix}tokens"]).reshape(-1)]
            level = str(state[f"{prefix}level"])
            n_reserved = int(state[f"{prefix}reserved"])
            has_unk = bool(state[f"{prefix}has_unk"])
        except KeyError as missing:
            raise KeyError(
                f"Vocab.from_state_dict: no {missing} (was the vocab saved with this prefix?)"
            ) from None
        vocab = cls(level=level, reserved=tokens[:n_reserved], unk=tokens[n_reserved] if has_unk else None)
        vocab.id_to_token = tokens
        vocab.token_to_id = {t: i for i, t in enumerate(tokens)}
        return vocab

    def __len__(self) -> int:
        return len(self.id_to_token)

    def __contains__(self, token: str) -> bool:
        return token in self.token_to_id

    def __getitem__(self, token: str) -> int:
        """The id of one token (the unknown id if unseen)."""
        found = self.token_to_id.get(token)
        if found is not None:
            return found
        if self.unk is None:
            raise KeyError(f"Vocab: token {token!r} is not in the vocabulary and there is no unk token")
        return self.token_to_id[self.unk]

    def _special(self, token: str) -> int:
        if token not in self.token_to_id:
            raise KeyError(f"Vocab: {token!r} is not among the reserved tokens {self.reserved}")
        return self.token_to_id[token]

    @property
    def pad_id(self) -> int:
        return self._special("<pad>")

    @property
    def bos_id(self) -> int:
        return self._special("<bos>")

    @property
    def eos_id(self) -> int:
        return self._special("<eos>")

    @property
    def unk_id(self) -> int:
        if self.unk is None:
            raise KeyError("Vocab: this vocabulary has no unk token")
        return self.token_to_id[self.unk]

    def encode(self, text: str | Sequence[str]) -> np.ndarray:
        """Token ids (int64) of a string (split by ``level``) or of a list of tokens."""
        tokens = tokenize(text, self.level) if isinstance(text, str) else list(text)
        return np.array([self[t] for t in tokens], dtype=np.int64)

    def decode(self, ids: Iterable[int], skip: Sequence[str] = ()) -> str:
        """The text of a sequence of ids; tokens listed in ``skip`` (e.g. "<pad>") are left out."""
        ids = np.asarray(getattr(ids, "data", ids)).reshape(-1)
        if ids.size and (ids.min() < 0 or ids.max() >= len(self)):
            raise IndexError(f"Vocab.decode: ids must be in [0, {len(self)}), got {ids.min()}..{ids.max()}")
        tokens = [self.id_to_token[i] for i in ids.tolist()]
        joiner = "" if self.level == "char" else " "
        return joiner.join(t for t in tokens if t not in skip)

    def __repr__(self) -> str:
        shown = ", ".join(repr(t) for t in self.id_to_token[:8])
        return f"Vocab({len(self)} {self.level} tokens: {shown}, ...)"


# --- padding ------------------------------------------------------------------


def pad_sequences(
    seqs: Sequence[Sequence[int]],
    pad_id: int,
    max_len: int | None = None,
    truncate: str = "post",
) -> tuple[np.ndarray, np.ndarray]:
    """Stack sequences of unequal length into one (N, L) int64 array, plus their lengths.

    L is ``max_len`` or the longest sequence. Shorter sequences are filled with
    ``pad_id`` at the end; longer ones are cut to L, keeping the start
    (``truncate="post"``) or the end (``"pre"``). ``lengths[n]`` counts the
    real tokens of row n: pass it as ``lengths=`` to the recurrent modules so
    padding never reaches h_n, and use ``ignore_index=pad_id`` in the loss.
    The modules read time-major (T, N) input unless ``batch_first=True``:
    transpose with ``padded.T`` if needed.
    """
    if truncate not in ("post", "pre"):
        raise ValueError(f"pad_sequences: truncate must be 'post' or 'pre', got {truncate!r}")
    arrays = [np.asarray(s, dtype=np.int64).reshape(-1) for s in seqs]
    if not arrays:
        raise ValueError("pad_sequences: got no sequences")
    longest = max(a.size for a in arrays)
    width = longest if max_len is None else int(max_len)
    if width < 1:
        raise ValueError(f"pad_sequences: max_len must be >= 1, got {max_len}")
    kept = [a[:width] if truncate == "post" else a[max(a.size - width, 0) :] for a in arrays]
    lengths = np.array([a.size for a in kept], dtype=np.int64)
    padded = np.full((len(kept), width), pad_id, dtype=np.int64)
    padded[np.arange(width) < lengths[:, None]] = np.concatenate(kept)
    return padded, lengths


# --- batches for truncated BPTT -------------------------------------------------


def num_batches(num_tokens: int, batch_size: int, num_steps: int) -> int:
    """How many (X, Y) batches ``sequential_batches``/``random_batches`` yield per epoch.

    Each of the ``batch_size`` rows needs ``num_steps`` inputs plus one more
    token for the last target, and a random offset of up to ``num_steps - 1``
    tokens is dropped at the start; the count is the same for every offset.
    """
    if batch_size < 1 or num_steps < 1:
        raise ValueError(f"batch_size and num_steps must be >= 1, got {batch_size} and {num_steps}")
    usable = num_tokens - (num_steps - 1) - 1  # after the largest offset, minus one token for Y
    return max(usable // (batch_size * num_steps), 0)


def _check_stream(tokens: Any, batch_size: int, num_steps: int, where: str) -> tuple[np.ndarray, int]:
    tokens = np.asarray(getattr(tokens, "data", tokens)).reshape(-1)
    count = num_batches(tokens.size, batch_size, num_steps)
    if count == 0:
        need = batch_size * num_steps + num_steps
        raise ValueError(
            f"{where}: {tokens.size} tokens are too few for one batch of {batch_size} rows x {num_steps} "
            f"steps (need at least {need}); use a smaller batch_size or num_steps"
        )
    return tokens, count


def sequential_batches(
    tokens: Any,
    batch_size: int,
    num_steps: int,
    seed: int | Generator | None = 0,
    batch_first: bool = True,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Consecutive windows of a token stream, for truncated BPTT with a carried hidden state.

    The stream (after dropping a random offset of 0..num_steps-1 tokens) is
    cut into ``batch_size``
    equal contiguous rows, and each row is read left to right ``num_steps``
    tokens at a time. So row b of batch k+1 starts exactly where row b of
    batch k ended: the hidden state at the end of batch k is the right
    initial state for batch k+1. Carry it over, but detach it (``h =
    h.detach()``) so that backpropagation stops at the batch boundary: that
    is truncated BPTT. Yields (X, Y) int64 arrays of shape
    (batch_size, num_steps), or (num_steps, batch_size) with
    ``batch_first=False``; Y[:, t] is the token after X[:, t].
    """
    tokens, count = _check_stream(tokens, batch_size, num_steps, "sequential_batches")
    offset = int(_rng(seed).integers(num_steps))
    width = count * num_steps
    X = tokens[offset : offset + batch_size * width].reshape(batch_size, width)
    Y = tokens[offset + 1 : offset + 1 + batch_size * width].reshape(batch_size, width)
    for k in range(count):
        x, y = X[:, k * num_steps : (k + 1) * num_steps], Y[:, k * num_steps : (k + 1) * num_steps]
        yield (x.copy(), y.copy()) if batch_first else (x.T.copy(), y.T.copy())


def random_batches(
    tokens: Any,
    batch_size: int,
    num_steps: int,
    seed: int | Generator | None = 0,
    batch_first: bool = True,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Windows of a token stream in random order, each an independent example.

    After a random offset of 0..num_steps-1 tokens, the stream is cut into
    non-overlapping windows of ``num_steps`` tokens; the windows are shuffled
    and dealt out ``batch_size`` at a time. Neighbouring rows of one batch,
    and the same row in consecutive batches, are unrelated, so the hidden
    state must start fresh (zeros) for every batch. Yields (X, Y) as
    ``sequential_batches`` does.
    """
    tokens, count = _check_stream(tokens, batch_size, num_steps, "random_batches")
    rng = _rng(seed)
    offset = int(rng.integers(num_steps))
    starts = offset + num_steps * rng.permutation((tokens.size - offset - 1) // num_steps)
    steps = np.arange(num_steps)
    for k in range(count):
        index = starts[k * batch_size : (k + 1) * batch_size, None] + steps
        x, y = tokens[index], tokens[index + 1]
        yield (x, y) if batch_first else (x.T.copy(), y.T.copy())


def train_val_split(
    data: Any, val_fraction: float = 0.1, shuffle: bool = False, seed: int | Generator | None = 0
) -> tuple[Any, Any]:
    """Split ``data`` into (train, validation), the validation part holding ``val_fraction`` of it.

    Without shuffling the split is contiguous: the last part is held out.
    That is the right split for one long text (a language model must not be
    scored on windows that overlap its training windows). With
    ``shuffle=True`` the items (e.g. independent (source, target) pairs) are
    permuted first with the seeded RNG. Strings (contiguous only), lists and
    arrays come back as the same type.
    """
    if not 0 < val_fraction < 1:
        raise ValueError(f"train_val_split: val_fraction must be between 0 and 1, got {val_fraction}")
    n = len(data)
    n_val = int(round(n * val_fraction))
    if n_val == 0 or n_val == n:
        raise ValueError(f"train_val_split: {n} items with val_fraction={val_fraction} leave one side empty")
    if not shuffle:
        return data[: n - n_val], data[n - n_val :]
    if isinstance(data, str):
        raise ValueError("train_val_split: shuffling the characters of a text destroys it; use shuffle=False")
    order = _rng(seed).permutation(n)
    if isinstance(data, np.ndarray):
        return data[order[: n - n_val]], data[order[n - n_val :]]
    items = list(data)
    return [items[i] for i in order[: n - n_val]], [items[i] for i in order[n - n_val :]]
