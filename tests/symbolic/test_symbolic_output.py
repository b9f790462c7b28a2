"""What people see: Markdown, LaTeX, the REPL, Jupyter, and the derive command."""

import subprocess
import sys
from pathlib import Path

import pytest

import tinygrad_rnn as tr
from tinygrad_rnn import cli
from tinygrad_rnn.symbolic import CheckRow, CheckTable, derive

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def doc():
    return derive("rnn", steps=3, check=True)


def test_markdown_has_prose_and_display_math_blocks(doc):
    md = doc.markdown()
    assert md.startswith("### The BPTT recurrence and its closed form")
    assert md.count("$$") % 2 == 0 and md.count("$$") >= 10
    assert r"\sum_{i=0}^{k - 1} {a}_{i} \prod_{j=i + 1}^{k} {b}_{j}" in md  # the closed form, as in the notes
    assert "| quantity | symbolic | autograd | finite difference | max abs error |" in md


def test_latex_fragment_and_jupyter_repr(doc):
    tex = doc.latex()
    assert r"\subsection*{BPTT for the scalar Elman RNN (tanh), T = 3}" in tex
    assert r"\begin{aligned}" in tex and r"\begin{tabular}{@{}p{0.16\linewidth}" in tex
    jupyter = doc.parts[0]._repr_latex_()
    assert jupyter.startswith("$\\displaystyle \\begin{aligned}") and jupyter.endswith("$")
    assert doc._repr_markdown_() == doc.markdown()


def test_repl_repr_is_readable_text(doc):
    text = repr(doc)
    assert "Induction proof: proved" in text
    assert "expands to 0: they are identical" in text
    assert "dL/dw_h" in text and "$$" not in text


def test_check_table_reports_the_worst_error():
    table = CheckTable([CheckRow("x", 1.0, 1.0 + 2e-9, 1.0 - 3e-9), CheckRow("y", [1.0, 2.0], [1.0, 2.0], [1.0, 2.5])])
    assert table.max_error == pytest.approx(0.5)
    assert not table.ok(1e-8)
    assert CheckTable(table.rows[:1]).ok(1e-8)
    assert "5.0e-01" in table.text() and "[1, 2] 2" in table.text()


def test_cli_derive_check_prints_the_table_and_exits_zero(capsys):
    assert cli.main(["derive", "--cell", "rnn", "--steps", "3", "--check"]) == 0
    out = capsys.readouterr().out
    assert "check: Elman RNN, tanh, T = 3, seed 0" in out
    assert "check: vector Elman RNN (tanh), H = 3, T = 3" in out
    assert "FAILED" not in out


@pytest.mark.parametrize("cell", ["jordan", "lstm", "gru"])
def test_cli_other_cells(cell, capsys):
    assert cli.main(["derive", "--cell", cell, "--steps", "3", "--check", "--markdown"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("### ") and "$$" in out
    first_row = {"jordan": "| dh_1/dw_h |", "lstm": "| dc_2/dc_1 |", "gru": "| dh_1/dh_0 |"}[cell]
    assert first_row in out


def test_cli_exits_nonzero_when_an_error_exceeds_the_tolerance(monkeypatch, capsys):
    from tinygrad_rnn.symbolic import report

    monkeypatch.setattr(report, "FD_RTOL", 1e-20)  # finite differences can't be that exact
    assert cli.main(["derive", "--cell", "gru", "--steps", "2", "--check"]) == 1
    out = capsys.readouterr().out
    assert "FAILED:" in out and "symbolic vs finite differences: dh_1/dh_0 differs by" in out
    assert "symbolic vs autograd" not in out.split("FAILED:")[1]  # the comparison that failed, only


def test_cli_rejects_bad_steps(capsys):
    assert cli.main(["derive", "--cell", "lstm", "--steps", "1"]) == 2
    assert "lstm needs --steps >= 2" in capsys.readouterr().err


def test_cli_latex_output(capsys):
    assert cli.main(["derive", "--cell", "gru", "--latex"]) == 0
    assert capsys.readouterr().out.startswith(r"\subsection*{The GRU's additive path")


def test_importing_the_package_does_not_import_sympy_but_tr_symbolic_works():
    code = (
        "import sys, tinygrad_rnn as tr; assert 'sympy' not in sys.modules; "
        "assert tr.symbolic.derive is not None; assert 'sympy' in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
    assert tr.symbolic.to_sympy is not None
