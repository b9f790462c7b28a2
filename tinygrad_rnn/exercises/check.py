"""The checker: run a student's backward on random instances and name the first wrong gradient.

The expected gradients come from the engine: each exercise builds the same
computation with ``tr.Tensor`` ops (under scopes, with the notes' names) and
calls ``backward`` on L = Σ ⟨output, upstream⟩. The student's gradients are
compared slot by slot in backward order, nearest the loss first, on several
random instances of different sizes (a bug that happens to agree at one point,
or for one shape, is still found). The first wrong slot is where the
student's derivation first went astray; the report names it, gives the rule
that produces it, recognises a few classic mistakes, and opens the explorer on
the node that computes it.
"""

from __future__ import annotations

import copy
import html
import os
import re
import sysconfig
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .catalog import EXERCISES, Exercise, Slot, Trial

TOLERANCE = 1e-6  # relative error; float64 rounding in a correct backward is ~1e-15
TRIALS = 3
TRANSPOSED = " (the shape is transposed: a transpose is missing, or the factors are swapped)"
_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_LIBRARY_DIRS = tuple({sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib", "purelib", "platlib")})


def relative_error(received: np.ndarray, expected: np.ndarray) -> float:
    """max |received − expected| / max(|expected|, |received|): 0 for equal arrays, ~1 for unrelated ones."""
    if not np.all(np.isfinite(received)):
        return float("inf")
    scale = max(float(np.max(np.abs(expected), initial=0.0)), float(np.max(np.abs(received), initial=0.0)), 1e-12)
    return float(np.max(np.abs(received - expected), initial=0.0)) / scale


def _preview(array: np.ndarray, count: int = 4) -> str:
    flat = np.asarray(array, dtype=float).ravel()
    shown = ", ".join(f"{v:.4g}" for v in flat[:count])
    return f"[{shown}{', …' if flat.size > count else ''}]"


def typeset(rule: str) -> str:
    """A rule as HTML with real subscripts: ``dL/dc_{t-1}`` -> dL/dc<sub>t-1</sub>, ``W_h`` -> W<sub>h</sub>."""
    text = html.escape(rule)
    text = re.sub(r"_\{([^}]*)\}", r"<sub>\1</sub>", text)
    return re.sub(r"_([A-Za-z0-9])(?![A-Za-z0-9_])", r"<sub>\1</sub>", text)


def student_traceback(error: BaseException) -> str:
    """The traceback lines from the student's own files: not this package's, not NumPy's or the stdlib's."""
    frames = [f for f in traceback.extract_tb(error.__traceback__)
              if not os.path.abspath(f.filename).startswith(_PACKAGE_DIR)
              and not os.path.abspath(f.filename).startswith(_LIBRARY_DIRS)]
    return "".join(traceback.format_list(frames)).rstrip()


@dataclass
class Report:
    """What ``check`` found. ``print(report)`` shows the message; in Jupyter it shows the explorer too.

    ``first_wrong`` is the key of the first wrong gradient in backward order (``"dc_prev"``,
    ``"dx at t=3"``), or None when everything matches or the function could not be run.
    ``problem`` says what kind of mistake: "value", "shape", "missing", "returned" (not a dict)
    or "raised" (the function raised; ``traceback`` holds the lines from the student's file).
    """

    exercise: str
    ok: bool
    message: str
    first_wrong: str | None = None
    problem: str | None = None
    expected: np.ndarray | None = None
    received: np.ndarray | None = None
    rule: str | None = None
    hint: str | None = None
    error: float | None = None
    right: list[str] = field(default_factory=list)
    traceback: str = ""
    trial: Trial | None = field(default=None, repr=False)

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        state = "ok" if self.ok else f"{self.problem} wrong at {self.first_wrong}" if self.first_wrong else self.problem
        return f"<exercise report {self.exercise}: {state}>"

    def stepper(self) -> Any:
        """A ``BackwardStepper`` over the engine's computation of the instance where the mistake showed,
        positioned on the wrong gradient: for a tensor an op produced (h₃, c₁, o₁) the step just taken
        is that op, whose upstream is the whole gradient; for a leaf (c₀, W_h) it is the last op that
        adds to its ``.grad``. None when there is no such node (all right, or nothing to compare)."""
        if self.ok or self.first_wrong is None or self.trial is None:
            return None
        from ..stepper import BackwardStepper

        loss, slots = EXERCISES[self.exercise].graph(self.trial)
        slot = next(s for s in slots if s.key == self.first_wrong or s.returned == self.first_wrong)
        stepper = BackwardStepper(loss)
        record = stepper.graph.tensors[id(slot.tensor)]
        node = record.producer if record.producer is not None else min(record.consumers)
        stepper.go_to(stepper.steps - node)
        return stepper

    def _repr_html_(self) -> str:
        colour = "#2e7d32" if self.ok else "#b00020"
        parts = [f'<div class="tgr-exercise-report" style="border-left:4px solid {colour};padding:4px 10px;'
                 f'margin:4px 0;font-family:Helvetica,Arial,sans-serif;font-size:13px">',
                 '<p class="tgr-exercise-message" style="max-width:70em;line-height:1.45">'
                 f"{html.escape(self.message)}</p>"]
        if self.rule:
            parts.append(f'<p class="tgr-exercise-rule">the rule: <i>{typeset(self.rule)}</i></p>')
        if self.traceback:
            parts.append(f"<pre>{html.escape(self.traceback)}</pre>")
        if self.expected is not None and self.received is not None and self.problem == "value":
            from ..stepper import format_array

            parts.append('<table class="tgr-exercise-values"><tr><th>expected (the engine)</th><th>yours</th></tr>'
                         f"<tr><td><pre>{html.escape(format_array(self.expected))}</pre></td>"
                         f"<td><pre>{html.escape(format_array(self.received))}</pre></td></tr></table>")
        stepper = self.stepper()
        if stepper is not None:
            import viz

            event = stepper.events[-1]
            parts.append(viz.explorer_html(stepper, title=f"{self.exercise}: {self.first_wrong} is wrong; the explorer "
                                           f"is at step {event.step}, {event.op} at {event.scope} (← and → step)"))
        parts.append("</div>")
        return "\n".join(parts)


def _as_result(exercise: Exercise, result: Any) -> Mapping | str:
    """The student's returned dict, or the message saying why it is not one."""
    if exercise.single and isinstance(result, np.ndarray):
        return {exercise.single: result}
    if isinstance(result, Mapping):
        return result
    wanted = ", ".join(k for k, required in exercise.fields.items() if required)
    return (f"{exercise.name} must return a dict of gradients with the keys {wanted}; it returned "
            f"{type(result).__name__}{' (did you forget the return statement?)' if result is None else ''}")


def _field_owner(slots: list[Slot], name: str) -> str:
    slot = next(s for s in slots if s.returned == name)
    if slot.index is None:
        return str(slot.tensor.name)
    symbol = re.sub(r"[₀-₉]+$", "", str(slot.tensor.name))
    return f"{symbol}₁ … {symbol}_T stacked over time"


def _validate(exercise: Exercise, trial: Trial, result: Mapping, slots: list[Slot]) -> Report | None:
    """A report for a missing key or a wrong shape (the first in backward order), else None."""
    required = [k for k, need in exercise.fields.items() if need]
    optional = [k for k, need in exercise.fields.items() if not need]
    shapes = exercise.shapes(trial)
    for name in [s.returned for s in slots if s.returned in exercise.fields]:
        if name not in result and exercise.fields[name]:
            holds = ", ".join(map(str, result)) or "nothing"
            return Report(exercise.name, False, problem="missing", first_wrong=name, trial=trial, message=(
                f"{exercise.name}: your result has no {name!r}. It must hold {', '.join(required)} "
                f"(and may hold {', '.join(optional)} to help locate a mistake); yours holds {holds}."))
        if name not in result:
            continue
        try:
            value = np.asarray(result[name], dtype=float)
        except (TypeError, ValueError):
            return Report(exercise.name, False, problem="shape", first_wrong=name, trial=trial, message=(
                f"{exercise.name}: your {name} is not an array of numbers (got {type(result[name]).__name__}); "
                f"it should be an array of shape {shapes[name]}."))
        if value.shape != tuple(shapes[name]):
            transposed = value.shape == tuple(shapes[name])[::-1] and value.ndim == 2
            return Report(exercise.name, False, problem="shape", first_wrong=name, trial=trial, message=(
                f"{exercise.name}: your {name} has shape {value.shape}, expected {tuple(shapes[name])}, the shape of "
                f"{_field_owner(slots, name)}: a gradient always has the shape of the tensor it differentiates"
                f"{TRANSPOSED if transposed else ''}"
                f" ({trial.describe()})."))
    return None


def _value(result: Mapping, slot: Slot) -> np.ndarray:
    value = np.asarray(result[slot.returned], dtype=float)
    return value if slot.index is None else value[slot.index]


def _raised(exercise: Exercise, error: Exception, trial: Trial) -> Report:
    lines = student_traceback(error)
    where = "" if not lines else " (your traceback below)"
    return Report(exercise.name, False, problem="raised", traceback=lines, trial=trial, message=(
        f"{exercise.name} raised {type(error).__name__}: {error}{where}. Called as "
        f"{exercise.signature.split(' ->')[0]} with {trial.describe()}."))


def check(name: str, fn: Callable, trials: int = TRIALS, seed: int = 0) -> Report:
    """Check the student's backward ``fn`` for the exercise ``name`` (see ``EXERCISES``).

    Runs ``fn`` on ``trials`` random instances (different seeds and sizes), compares every
    returned gradient with the engine's in backward order, and returns a ``Report``:
    ``.ok``, ``.first_wrong`` (e.g. ``"dc_prev"`` or ``"dx at t=3"``), ``.expected``,
    ``.received``, ``.rule`` (in the notes' notation) and ``.message``.
    """
    if name not in EXERCISES:
        raise ValueError(f"check: no exercise named {name!r}; the exercises are {', '.join(EXERCISES)}")
    if not callable(fn):
        raise TypeError(f"check({name!r}, fn): fn must be your function {EXERCISES[name].signature}, "
                        f"got {type(fn).__name__}")
    exercise = EXERCISES[name]
    if not 1 <= trials <= len(exercise.sizes):
        raise ValueError(f"check: trials must be between 1 and {len(exercise.sizes)}, got {trials}")
    found: tuple[int, int, Slot, np.ndarray, float, Trial, list[Slot], set[str]] | None = None
    worst, compared = 0.0, set()
    for number, sizes in enumerate(exercise.sizes[:trials]):
        trial = exercise.make(np.random.default_rng(seed + number), sizes)
        cache = exercise.forward(trial)
        try:
            result = exercise.call(fn, trial, copy.deepcopy(cache))
        except Exception as error:  # the student's code: any exception is theirs to see
            return _raised(exercise, error, trial)
        result = _as_result(exercise, result)
        if isinstance(result, str):
            return Report(exercise.name, False, problem="returned", message=result, trial=trial)
        loss, slots = exercise.graph(trial)
        problem = _validate(exercise, trial, result, slots)
        if problem is not None:
            return problem
        loss.backward()
        for position, slot in enumerate(slots):
            if slot.returned not in result:
                continue
            received = _value(result, slot)
            error = relative_error(received, slot.expected)
            compared.add(slot.returned)
            if error > TOLERANCE:
                if found is None or position < found[0]:
                    found = (position, number, slot, received, error, trial, slots, set(result))
                break
            worst = max(worst, error)
    if found is None:
        skipped = [k for k in exercise.fields if k not in compared]
        note = f" Not returned, so not checked: {', '.join(skipped)}." if skipped else ""
        return Report(exercise.name, True, message=(
            f"{exercise.name}: all {len(compared)} returned gradients match the engine's on {trials} random "
            f"instances (largest relative error {worst:.1e}).{note}"))
    return _wrong(exercise, trials, *found)


def _wrong(exercise: Exercise, trials: int, position: int, number: int, slot: Slot, received: np.ndarray,
           error: float, trial: Trial, slots: list[Slot], returned: set[str]) -> Report:
    expected = slot.expected
    hint = next((text for text, make in slot.hints if np.shape(candidate := make()) == received.shape
                 and relative_error(received, candidate) <= TOLERANCE), None)
    right = [s.key for s in slots[:position] if s.returned in returned]
    yours = f"; yours is {hint}" if hint else ""
    skipped = [s.returned for s in slots[:position] if s.returned not in returned and s.index in (None, slot.index)]
    if right:
        before = f"It is the first wrong gradient: everything before it, counting back from the loss, is right " \
                 f"({', '.join(right)})."
    elif skipped:
        before = (f"It is the first one you return, counting back from the loss; return {', '.join(skipped)} too "
                  "to locate a mistake more closely.")
    else:
        before = "It is the first gradient counting back from the loss."
    message = (f"{exercise.name}: your {slot.key} is wrong; the rule is {slot.rule}{yours}. "
               f"{before} Expected {_preview(expected)}, yours "
               f"{_preview(received)} (relative error {error:.1e}, instance {number + 1} of {trials}: "
               f"{trial.describe()}).")
    return Report(exercise.name, False, problem="value", first_wrong=slot.key, expected=expected, received=received,
                  rule=slot.rule, hint=hint, error=error, right=right, trial=trial, message=message)


__all__ = ["Report", "check", "relative_error", "student_traceback"]
