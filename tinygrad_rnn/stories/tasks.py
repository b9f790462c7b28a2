"""Data for the stories: generated tasks and a character n-gram baseline.

Everything here is NumPy and seeded (pass a ``np.random.Generator``), so the
same seed gives the same data on every machine, with no download. Sequence
arrays are time-major, (T, N, features), as the recurrent layers expect by
default (``batch_first=False``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# ---------------------------------------------------------------------------
# Long-range memory: the adding problem


def adding_problem(n: int, length: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Hochreiter & Schmidhuber's adding problem: remember two numbers across ``length`` steps.

    Each step carries a pair (value, marker): values are uniform on [0, 1];
    exactly two markers are 1, one in the first half of the sequence and one
    in the second. The target is the sum of the two marked values.

    Returns x of shape (length, n, 2) and y of shape (n, 1). Predicting the
    mean (1.0) always scores MSE = Var(u1 + u2) = 2/12 = 0.1667: a model must
    beat that to have remembered anything.
    """
    if length < 2 or n < 1:
        raise ValueError(f"adding_problem: needs length >= 2 and n >= 1, got length={length}, n={n}")
    values = rng.random((length, n))
    half = length // 2
    first = rng.integers(0, half, size=n)
    second = rng.integers(half, length, size=n)
    markers = np.zeros((length, n))
    cols = np.arange(n)
    markers[first, cols] = 1.0
    markers[second, cols] = 1.0
    x = np.stack([values, markers], axis=-1)
    y = (values[first, cols] + values[second, cols])[:, None]
    return x, y


ADDING_BASELINE_MSE = 1.0 / 6.0


# ---------------------------------------------------------------------------
# Sine waves


def sine_series(steps: int, period: float = 25.0, noise: float = 0.0, rng: np.random.Generator | None = None):
    """sin(2 pi t / period) for t = 0..steps-1, plus Gaussian noise of std ``noise``."""
    t = np.arange(steps)
    wave = np.sin(2 * np.pi * t / period)
    if noise:
        if rng is None:
            raise ValueError("sine_series: pass rng= when noise > 0")
        wave = wave + noise * rng.standard_normal(steps)
    return wave


def windows(series: np.ndarray, length: int) -> tuple[np.ndarray, np.ndarray]:
    """Many-to-one pairs: each window of ``length`` values and the value right after it.

    Returns x of shape (length, N, 1) and y of shape (N, 1), N = len(series) - length.
    """
    series = np.asarray(series, dtype=float)
    count = len(series) - length
    if length < 1 or count < 1:
        raise ValueError(f"windows: a series of {len(series)} values has no windows of length {length} + 1")
    idx = np.arange(length)[:, None] + np.arange(count)[None, :]
    return series[idx][..., None], series[length:][:, None]


# ---------------------------------------------------------------------------
# Sequence to sequence on digit strings


class DigitVocab:
    """Tokens of the digit tasks: padding, start <s>, end </s>, the ten digits and '+'."""

    tokens = ("<pad>", "<s>", "</s>", *"0123456789", "+")
    pad, start, end = 0, 1, 2

    def __init__(self) -> None:
        self.index = {tok: i for i, tok in enumerate(self.tokens)}

    def __len__(self) -> int:
        return len(self.tokens)

    def encode(self, text: str) -> list[int]:
        return [self.index[ch] for ch in text]

    def decode(self, ids) -> str:
        """Characters up to (not including) the first </s>; special tokens dropped."""
        out = []
        for i in np.asarray(ids).reshape(-1):
            if i == self.end:
                break
            if i > self.end:
                out.append(self.tokens[i])
        return "".join(out)


@dataclass
class Seq2SeqData:
    """Fixed-length digit pairs as id arrays (time-major).

    source: (S, N) encoder input; decoder_input: (1 + L, N) = <s> then the
    target; decoder_target: (L + 1, N) = the target then </s>. Teacher forcing
    feeds ``decoder_input`` and scores against ``decoder_target``.
    """

    sources: list[str]
    targets: list[str]
    source: np.ndarray
    decoder_input: np.ndarray
    decoder_target: np.ndarray

    def take(self, columns: np.ndarray) -> Seq2SeqData:
        """The pairs at the given positions."""
        cols = np.asarray(columns, dtype=np.int64)
        return Seq2SeqData(
            [self.sources[i] for i in cols], [self.targets[i] for i in cols],
            self.source[:, cols], self.decoder_input[:, cols], self.decoder_target[:, cols],
        )


def digit_task(task: str, n: int, digits: int, rng: np.random.Generator) -> Seq2SeqData:
    """``task`` "reverse": 'd1..dk' -> 'dk..d1' (k = ``digits``); "add": 'aaa+bbb' -> the sum.

    Operands of "add" are zero-padded to ``digits`` and the sum to ``digits + 1``
    digits, so every pair in a set has the same lengths (no padding needed).
    """
    if digits < 1 or n < 1:
        raise ValueError(f"digit_task: needs digits >= 1 and n >= 1, got digits={digits}, n={n}")
    most = {"reverse": 18, "add": 9}.get(task)  # each pair is coded as one int64 (at most 18 digits)
    if most is not None and digits > most:
        raise ValueError(
            f"digit_task: --digits {digits} is too many for {task!r}: at most {most} (each pair is coded "
            f"as one 64-bit integer of {'digits' if task == 'reverse' else '2 x digits'} digits)"
        )
    if task == "reverse":
        numbers = rng.integers(0, 10, size=(n, digits))
        codes = numbers @ 10 ** np.arange(digits - 1, -1, -1)
    elif task == "add":
        a = rng.integers(0, 10**digits, size=n)
        b = rng.integers(0, 10**digits, size=n)
        codes = a * 10**digits + b
    else:
        raise ValueError(f"digit_task: task must be 'reverse' or 'add', got {task!r}")
    return digit_pairs(task, codes, digits)


def distinct_sources(task: str, digits: int) -> int:
    """How many different sources a task has: 10^digits strings to reverse, 10^(2 digits) sums."""
    return 10 ** (digits if task == "reverse" else 2 * digits)


def digit_pairs(task: str, codes: np.ndarray, digits: int) -> Seq2SeqData:
    """The pairs whose sources are numbered by ``codes`` (0 <= code < ``distinct_sources``).

    "reverse": code c is the string of c's ``digits`` digits (zero-padded);
    "add": c = a * 10^digits + b is the sum 'a+b'.
    """
    codes = np.asarray(codes, dtype=np.int64)
    if task == "reverse":
        sources = [f"{c:0{digits}d}" for c in codes]
        targets = [s[::-1] for s in sources]
    elif task == "add":
        a, b = np.divmod(codes, 10**digits)
        sources = [f"{x:0{digits}d}+{y:0{digits}d}" for x, y in zip(a, b)]
        targets = [f"{x + y:0{digits + 1}d}" for x, y in zip(a, b)]
    else:
        raise ValueError(f"digit_pairs: task must be 'reverse' or 'add', got {task!r}")
    n = len(codes)
    vocab = DigitVocab()
    src = np.array([vocab.encode(s) for s in sources]).T
    tgt = np.array([vocab.encode(t) for t in targets]).T
    starts = np.full((1, n), vocab.start)
    ends = np.full((1, n), vocab.end)
    return Seq2SeqData(sources, targets, src, np.concatenate([starts, tgt]), np.concatenate([tgt, ends]))


# ---------------------------------------------------------------------------
# Slot filling: the same word, a different slot, decided by context

CITIES = ("taipei", "tokyo", "boston", "paris", "seoul", "denver", "lima", "oslo", "cairo", "perth")
MONTHS = ("january", "march", "may", "july", "september", "november")
DAYS = ("1st", "2nd", "3rd", "4th", "5th", "12th", "21st", "30th")
SLOTS = ("O", "destination", "departure", "date")

# {to}: destination city, {from}: departure city, {month} {day}: date.
# The last two put the cue word *after* the city: only a model that reads
# ahead (a bidirectional RNN) can label the city when it reaches it.
TEMPLATES = (
    "arrive {to} on {month} {day}",
    "leave {from} on {month} {day}",
    "i want to arrive in {to} on {month} {day}",
    "i want to leave {from} on {month} {day}",
    "fly from {from} to {to} on {month} {day}",
    "on {month} {day} i leave {from}",
    "{to} is where i arrive on {month} {day}",
    "{from} is where i leave on {month} {day}",
)


@dataclass
class SlotData:
    """Tokenised sentences with one slot label per word.

    words/labels: (T, N) id arrays padded with 0 (word "<pad>", label
    ``ignore``); lengths: (N,) true lengths; sentences: the text.
    """

    words: np.ndarray
    labels: np.ndarray
    lengths: np.ndarray
    sentences: list[str]
    ignore: int = -100


class SlotVocab:
    """Every word the templates can produce (fixed, so train and test share ids)."""

    def __init__(self) -> None:
        words = {w for t in TEMPLATES for w in t.split() if not w.startswith("{")}
        self.words = ("<pad>", *sorted(words | set(CITIES) | set(MONTHS) | set(DAYS)))
        self.index = {w: i for i, w in enumerate(self.words)}

    def __len__(self) -> int:
        return len(self.words)


def slot_sentences(n: int, rng: np.random.Generator) -> SlotData:
    """``n`` sentences drawn from ``TEMPLATES``, cities, months and days, with their slot labels."""
    if n < 1:
        raise ValueError(f"slot_sentences: n must be >= 1, got {n}")
    vocab = SlotVocab()
    fill = {"{to}": 1, "{from}": 2, "{month}": 3, "{day}": 3}
    rows, tags, texts = [], [], []
    for template_id in rng.integers(0, len(TEMPLATES), size=n):
        cities = rng.choice(len(CITIES), size=2, replace=False)
        values = {
            "{to}": CITIES[cities[0]],
            "{from}": CITIES[cities[1]],
            "{month}": MONTHS[rng.integers(len(MONTHS))],
            "{day}": DAYS[rng.integers(len(DAYS))],
        }
        words, labels = [], []
        for piece in TEMPLATES[template_id].split():
            words.append(values.get(piece, piece))
            labels.append(fill.get(piece, 0))
        rows.append([vocab.index[w] for w in words])
        tags.append(labels)
        texts.append(" ".join(words))
    lengths = np.array([len(r) for r in rows])
    width = int(lengths.max())
    word_ids = np.zeros((width, n), dtype=np.int64)
    label_ids = np.full((width, n), -100, dtype=np.int64)
    for j, (r, t) in enumerate(zip(rows, tags)):
        word_ids[: len(r), j] = r
        label_ids[: len(t), j] = t
    return SlotData(word_ids, label_ids, lengths, texts)


# ---------------------------------------------------------------------------
# Character n-gram baseline


class CharNGram:
    """An add-k smoothed character n-gram model: the baseline a char-RNN must beat.

    P(c | previous n-1 chars) = (count(context, c) + k) / (count(context) + k V)

    with V the vocabulary size. Counting is done with integer codes of the
    n-gram (base-V digits) and ``np.unique``, so fitting a megabyte is quick.
    """

    def __init__(self, order: int, vocab_size: int, k: float = 0.1):
        if order < 1 or vocab_size < 1 or k <= 0:
            raise ValueError(
                f"CharNGram: needs order >= 1, vocab_size >= 1, k > 0; got {order}, {vocab_size}, {k}"
            )
        if vocab_size**order >= 2**62:
            raise ValueError(f"CharNGram: order {order} is too large for a vocabulary of {vocab_size}")
        self.order, self.vocab_size, self.k = order, vocab_size, k

    def _codes(self, ids: np.ndarray, width: int) -> np.ndarray:
        """Base-V code of every window of ``width`` ids (one per window start)."""
        ids = np.asarray(ids, dtype=np.int64)
        count = len(ids) - width + 1
        codes = np.zeros(max(count, 0), dtype=np.int64)
        for j in range(width):  # loop over the n-gram's positions, not over the text
            codes = codes * self.vocab_size + ids[j : j + count]
        return codes

    def fit(self, ids: np.ndarray) -> CharNGram:
        """Count every n-gram and (n-1)-gram context in the id array ``ids``."""
        if len(ids) < self.order:
            raise ValueError(f"CharNGram.fit: {len(ids)} characters is shorter than the order {self.order}")
        self.grams, self.gram_counts = np.unique(self._codes(ids, self.order), return_counts=True)
        contexts = self._codes(ids[:-1], self.order - 1) if self.order > 1 else np.zeros(len(ids), np.int64)
        self.contexts, self.context_counts = np.unique(contexts, return_counts=True)
        return self

    @staticmethod
    def _lookup(keys: np.ndarray, table: np.ndarray, counts: np.ndarray) -> np.ndarray:
        pos = np.clip(np.searchsorted(table, keys), 0, len(table) - 1)
        return np.where(table[pos] == keys, counts[pos], 0)

    def log_probs(self, ids: np.ndarray, history: np.ndarray | None = None) -> np.ndarray:
        """ln P of each id in ``ids`` given the n-1 before it (``history`` precedes ``ids``)."""
        ids = np.asarray(ids, dtype=np.int64)
        before = self.order - 1
        history = np.asarray(history if history is not None else [], dtype=np.int64)
        if len(history) < before:
            raise ValueError(f"CharNGram.log_probs: pass history= with at least {before} ids")
        full = np.concatenate([history[len(history) - before :], ids])
        grams = self._codes(full, self.order)
        if self.order > 1:
            contexts = self._codes(full[:-1], self.order - 1)
        else:
            contexts = np.zeros(len(ids), np.int64)
        top = self._lookup(grams, self.grams, self.gram_counts) + self.k
        bottom = self._lookup(contexts, self.contexts, self.context_counts) + self.k * self.vocab_size
        return np.log(top / bottom)

    def perplexity(self, ids: np.ndarray, history: np.ndarray | None = None) -> float:
        """exp(mean negative log-likelihood per character) on ``ids``."""
        return float(np.exp(-self.log_probs(ids, history).mean()))


# ---------------------------------------------------------------------------
# Sentiment: a label that depends on word order (negation, contrast)

SUBJECTS = ("the film", "the movie", "the story", "the acting", "the plot", "the music", "the ending", "the cast",
            "the script", "the dialogue")
NOUNS = ("acting", "plot", "music", "story", "ending", "cast", "script", "dialogue")
POSITIVE = ("good", "great", "fun", "moving", "clever", "charming", "funny", "lovely")
NEGATIVE = ("bad", "dull", "boring", "poor", "weak", "silly", "slow", "messy")
SENTIMENT_KINDS = ("plain", "negation", "contrast")

# {s}, {t}: subjects; {m}, {n}: nouns; {a}, {c}: adjectives of one polarity, {b}: of the other.
# The rule names the deciding adjective, flipped by "not": after "but" the second clause decides;
# with "although" the main clause does, wherever it stands. In every contrast the two adjectives have
# opposite polarities, so the bag of words alone cannot tell the label.
SENTIMENT_TEMPLATES = (
    ("plain", "{s} was {a}", "a"),
    ("plain", "{s} was really {a}", "a"),
    ("plain", "{s} was very {a}", "a"),
    ("plain", "{s} was {a} and {c}", "a"),
    ("negation", "{s} was not {a}", "not a"),
    ("negation", "{s} was not {a} at all", "not a"),
    ("negation", "{s} was not really {a}", "not a"),
    ("negation", "{s} was never {a}", "not a"),
    ("negation", "{s} was not {a} or {c}", "not a"),
    ("contrast", "{s} was {a} but {t} was {b}", "b"),
    ("contrast", "{a} {m} but a {b} {n}", "b"),
    ("contrast", "although {s} was {a} , {t} was {b}", "b"),
    ("contrast", "{s} was {a} although {t} was {b}", "a"),
)


@dataclass
class SentimentData:
    """Sentences as word ids with one label each (many-to-one).

    words: (T, N) ids padded with 0 ("<pad>"); lengths: (N,); labels: (N,)
    1 = positive, 0 = negative; kinds: "plain", "negation" or "contrast" per
    sentence; sentences: the text.
    """

    words: np.ndarray
    lengths: np.ndarray
    labels: np.ndarray
    kinds: list[str]
    sentences: list[str]

    def take(self, columns: np.ndarray) -> SentimentData:
        cols = np.asarray(columns, dtype=np.int64)
        width = int(self.lengths[cols].max())
        return SentimentData(self.words[:width, cols], self.lengths[cols], self.labels[cols],
                             [self.kinds[i] for i in cols], [self.sentences[i] for i in cols])


class SentimentVocab:
    """Every word the sentiment grammar can produce (fixed, so train and test share ids)."""

    def __init__(self) -> None:
        words = {w for _, t, _ in SENTIMENT_TEMPLATES for w in t.split() if not w.startswith("{")}
        words |= {w for s in SUBJECTS for w in s.split()} | set(NOUNS) | set(POSITIVE) | set(NEGATIVE)
        self.words = ("<pad>", *sorted(words))
        self.index = {w: i for i, w in enumerate(self.words)}

    def __len__(self) -> int:
        return len(self.words)

    def encode(self, sentences: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Sentences -> (T, N) padded ids and (N,) lengths."""
        rows = [[self.index[w] for w in s.split()] for s in sentences]
        lengths = np.array([len(r) for r in rows])
        ids = np.zeros((int(lengths.max()), len(rows)), dtype=np.int64)
        for j, r in enumerate(rows):
            ids[: len(r), j] = r
        return ids, lengths


def sentiment_sentences(n: int, rng: np.random.Generator, exclude: set[str] | frozenset[str] = frozenset()
                        ) -> SentimentData:
    """``n`` distinct sentences from ``SENTIMENT_TEMPLATES`` (none of them in ``exclude``), with labels.

    The three kinds (plain, negation, contrast) come in equal numbers (the
    next sentence is of the kind with fewest so far); templates, subjects and
    adjectives are drawn uniformly. Whether the sentence is positive is
    decided by its template's rule in ``SENTIMENT_TEMPLATES``.
    """
    if n < 1:
        raise ValueError(f"sentiment_sentences: n must be >= 1, got {n}")
    by_kind = {k: [t for t in SENTIMENT_TEMPLATES if t[0] == k] for k in SENTIMENT_KINDS}
    seen, texts, labels, kinds = set(exclude), [], [], []
    counts = dict.fromkeys(SENTIMENT_KINDS, 0)
    misses = 0  # draws in a row that gave a sentence already taken: many mean the kind is used up
    while len(texts) < n and misses < 5_000:
        kind = min(SENTIMENT_KINDS, key=counts.get)
        _, template, rule = by_kind[kind][rng.integers(len(by_kind[kind]))]
        a_positive = bool(rng.integers(2))
        same = POSITIVE if a_positive else NEGATIVE
        other = NEGATIVE if a_positive else POSITIVE  # contrasts always oppose the two adjectives
        a, c = (same[i] for i in rng.choice(len(same), size=2, replace=False))
        b = other[rng.integers(len(other))]
        s, t = (SUBJECTS[i] for i in rng.choice(len(SUBJECTS), size=2, replace=False))
        m, noun = (NOUNS[i] for i in rng.choice(len(NOUNS), size=2, replace=False))
        text = template.format(s=s, t=t, a=a, b=b, c=c, m=m, n=noun)
        if text in seen:
            misses += 1
            continue
        misses = 0
        seen.add(text)
        positive = {"a": a_positive, "not a": not a_positive, "b": not a_positive}[rule]
        texts.append(text)
        labels.append(int(positive))
        kinds.append(kind)
        counts[kind] += 1
    if len(texts) < n:
        raise ValueError(f"sentiment_sentences: the grammar ran out of new {kind} sentences after {len(texts)}")
    ids, lengths = SentimentVocab().encode(texts)
    return SentimentData(ids, lengths, np.array(labels), kinds, texts)
