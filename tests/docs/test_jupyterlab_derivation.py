"""A derivation in real JupyterLab: the cell's output is the typeset HTML (MathML), not Markdown source.

Runs on the session's shared JupyterLab (``tests/jupyterlab.py``): one server for every notebook test.
"""

from __future__ import annotations

import pytest

pytest.importorskip("selenium")
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

CELL = '''# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %%
import tinygrad_rnn as tr

tr.symbolic.derive("lstm", 3, check=True)
'''


def test_a_derivation_cell_shows_typeset_maths_in_jupyterlab(jupyterlab, browser, tmp_path):
    script = tmp_path / "derive.py"  # a one-cell jupytext script with the chapters' kernel
    script.write_text(CELL, encoding="utf-8")
    browser.set_window_size(1200, 1000)
    jupyterlab.run_notebook(browser, script)
    outputs = jupyterlab.outputs(browser)
    assert len(outputs) == 1
    output = outputs[0]
    assert output.get_attribute("data-mime-type") == "text/html"  # JupyterLab chose the typeset HTML
    formulas = "return arguments[0].querySelectorAll('math').length;"
    WebDriverWait(browser, 30, poll_frequency=0.3).until(lambda d: d.execute_script(formulas, output) > 20)
    heights = browser.execute_script(
        "return [...arguments[0].querySelectorAll('math')].map(m => m.getBoundingClientRect().height);", output)
    assert min(heights) > 0  # every formula is laid out, none collapsed
    text = output.text
    assert "W_hh by the matrix recurrence" in text and "dL/dW_hh" in text  # the W_hh table
    assert "\\frac" not in text and "$$" not in text and "**" not in text  # no raw TeX or Markdown
