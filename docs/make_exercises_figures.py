"""Regenerate the screenshots of docs/exercises.md with headless Chromium (selenium).

    python docs/make_exercises_figures.py        # from the repository root

Each picture is a checker report as a notebook shows it (``report._repr_html_()``): the
message naming the first wrong gradient and its rule, the expected and received numbers, and
the explorer opened on the step that computes that gradient. The three bugs are chapter 11's:

- docs/exercises_forget_gate.png: an LSTM step backward without the forget-gate factor (dc_prev);
- docs/exercises_transpose.png: an RNN step backward without the transpose of W_h (dh_prev);
- docs/exercises_carry.png: BPTT without the carry of dh (dx at t=3).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from selenium.webdriver.common.by import By  # noqa: E402

import tinygrad_rnn as tr  # noqa: E402
from notebooks.solutions import lstm, rnn  # noqa: E402
from tests.chromium import figure_browser as browser  # noqa: E402


def forget_gate(dh, dc, cache):
    result = lstm.lstm_step_backward(dh, dc, cache)
    result["dc_prev"] = result["dc_total"]
    return result


def transpose(dh, cache):
    result = rnn.rnn_step_backward(dh, cache)
    result["dh_prev"] = result["da"] @ cache["Wh"]
    return result


def carry(dhs, caches):
    return {k: v for k, v in rnn.rnn_backward_truncated(dhs, caches, 1).items() if k not in ("dh", "da")}


BUGS = {"forget_gate": ("lstm_step_backward", forget_gate), "transpose": ("rnn_step_backward", transpose),
        "carry": ("rnn_backward", carry)}



def main() -> None:
    folder = Path(tempfile.mkdtemp())
    driver = browser(1300, 1100)
    try:
        for name, (exercise, fn) in BUGS.items():
            report = tr.exercises.check(exercise, fn)
            page = folder / f"{name}.html"
            page.write_text("<!DOCTYPE html><html><head><meta charset='utf-8'><title>report</title></head>"
                            f"<body style='margin:8px'>{report._repr_html_()}</body></html>", encoding="utf-8")
            driver.get(page.as_uri())
            time.sleep(0.5)
            out = ROOT / "docs" / f"exercises_{name}.png"
            driver.find_element(By.CSS_SELECTOR, ".tgr-exercise-report").screenshot(str(out))
            print(f"{out.relative_to(ROOT)}: {report.first_wrong}")
    finally:
        driver.quit()


if __name__ == "__main__":
    main()
