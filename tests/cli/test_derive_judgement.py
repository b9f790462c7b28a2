"""`derive --check` must not cry wolf, must say what failed, and must refuse what it would ignore (issue 14 §5).

Also: the LaTeX output compiles, the terminal uses one notation, the gated totals
put the additive term first, and a long check says what it is doing.
"""

import re
import shutil
import subprocess

import numpy as np
import pytest

from tinygrad_rnn import cli
from tinygrad_rnn.symbolic import CheckRow, CheckTable, VectorRNN, derive


@pytest.mark.parametrize(
    "argv",
    [
        ["--steps", "50", "--seed", "2"],  # failed with "an error of 4.9e-08 exceeds 1e-08" (FD's error, not ours)
        ["--steps", "100", "--seed", "1", "--nonlinearity", "relu"],
    ],
)
def test_check_passes_when_symbolic_and_autograd_agree(argv, capsys):
    assert cli.main(["derive", *argv, "--check"]) == 0
    assert "FAILED" not in capsys.readouterr().out


def test_each_comparison_is_judged_apart_and_relative_to_the_size():
    fd_off = CheckTable([CheckRow("dL/dw", 1.0, 1.0, 1.0 + 1e-5)], "check: toy")
    assert fd_off.failures() == ["check: toy: symbolic vs finite differences: dL/dw differs by 1.0e-05, over 1e-06 × 1"]
    autograd_off = CheckTable([CheckRow("dL/dw", 1.0, 1.0 + 1e-8, 1.0)], "check: toy")
    assert len(autograd_off.failures()) == 1 and "symbolic vs autograd" in autograd_off.failures()[0]
    # a large gradient: 1e-3 absolute is 1e-7 relative, within what central differences resolve
    assert CheckTable([CheckRow("big", 1e4, 1e4, 1e4 + 1e-3)]).ok()
    # NaN never passes
    assert not CheckTable([CheckRow("nan", 1.0, float("nan"), 1.0)]).ok()


def test_relu_applies_to_the_vector_part_too():
    doc = derive("rnn", steps=4, nonlinearity="relu", check=True, hidden=2)
    vector = doc.parts[-1]
    assert "(relu)" in vector.title and "max(0, W_hh h_{k-1}" in vector.text()
    assert "(relu)" in vector.checks[0].title and vector.ok()
    model = VectorRNN(hidden=2, steps=4, nonlinearity="relu")
    A, B, states = model.step_jacobians()
    s = model.values["weight_hh"] @ states[3] + model.values["weight_ih"] @ model.xs[3] + model.values["bias"]
    np.testing.assert_allclose(B[4], (s > 0)[:, None] * model.values["weight_hh"], atol=1e-15)
    assert np.all(s > 0.1)  # the evaluation point keeps every unit active, away from the kink


@pytest.mark.parametrize(
    "argv, named",
    [
        (["--cell", "lstm", "--nonlinearity", "relu"], "--nonlinearity"),
        (["--cell", "gru", "--hidden", "4"], "--hidden"),
        (["--cell", "jordan", "--hidden", "2"], "--hidden"),
        (["--difference", "--cell", "lstm"], "--cell"),
        (["--markdown", "--standalone"], "--standalone"),
    ],
)
def test_options_that_would_be_ignored_are_refused(argv, named, capsys):
    assert cli.main(["derive", *argv]) == 2
    err = capsys.readouterr().err
    assert named in err and "Traceback" not in err


def test_library_refuses_a_nonlinearity_the_gated_cells_do_not_have():
    with pytest.raises(ValueError, match="nonlinearities are fixed"):
        derive("lstm", steps=3, nonlinearity="relu")


def test_long_check_says_what_it_is_doing(capsys):
    assert cli.main(["derive", "--steps", "200", "--check"]) == 0
    err = capsys.readouterr().err
    assert "--check at T = 200" in err and "vector RNN: finite differences" in err and err.rstrip().endswith("done")


def test_terminal_uses_one_notation_and_names_d2l_letters():
    text = derive("rnn", steps=3).text()
    assert "z_k = a_k + b_k⋅z_{k-1}" in text or "z_k = b_k⋅z_{k-1} + a_k" in text
    assert not re.search(r"[a-z]\[[a-z0-9 +-]+\]", text.split("BPTT with matrices")[0])  # no z[k], h[t - 1]
    assert not re.search("[ₐₑₒₓₕₖₗₘₙₚₛₜ]", text)  # no Unicode subscripts beside h_{t-1}
    assert "$" not in text and "\\partial" not in text  # inline TeX became text
    assert "our z, a, b are its a, b, c" in text
    md = derive("rnn", steps=3).markdown()
    assert "our $z$, $a$, $b$ are its $a$, $b$, $c$" in md


def test_gated_totals_put_the_additive_term_first():
    lstm = derive("lstm", steps=3).text()
    line = next(ln for ln in lstm.splitlines() if "dc_t/dc_{t-1} = " in ln)
    assert line.strip() == "dc_t/dc_{t-1} = f_t"  # the forget gate alone, then "+ the path through h_{t-1}"
    gru = derive("gru", steps=3).text()
    line = next(ln for ln in gru.splitlines() if "dh_t/dh_{t-1} = " in ln)
    assert line.strip() == "dh_t/dh_{t-1} = u_t"  # then one "+ term" per line
    assert "**" not in lstm + gru  # no raw Python syntax


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not installed (CI installs a small TeX)")
def test_latex_output_compiles_with_pdflatex(tmp_path):
    parts = []
    for cell, nl in (("rnn", "tanh"), ("jordan", "relu"), ("lstm", "tanh"), ("gru", "tanh")):
        parts += derive(cell, steps=3, nonlinearity=nl, check=True).parts
    from tinygrad_rnn.stories import spectra
    from tinygrad_rnn.symbolic import Document, VectorRNN, difference, rtrl

    parts += difference.document(steps=4, check=True).parts
    parts += [rtrl.derivation(VectorRNN(2, 4), check=True), spectra.derivation(steps=20, hidden=4)]
    doc = Document(parts)
    source = doc.latex_document()
    assert source.isascii(), sorted({ch for ch in source if not ch.isascii()})
    (tmp_path / "derive.tex").write_text(source)
    run = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "derive.tex"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    errors = [ln for ln in run.stdout.splitlines() if ln.startswith("!")]
    assert run.returncode == 0 and not errors, "\n".join(errors) or run.stdout[-2000:]
    assert (tmp_path / "derive.pdf").stat().st_size > 10_000


def test_markdown_tables_keep_their_columns():
    from tinygrad_rnn.stories import spectra
    from tinygrad_rnn.symbolic import Document, VectorRNN, difference, rtrl

    parts = difference.document(steps=3).parts + [rtrl.derivation(VectorRNN(2, 4)), spectra.derivation(20, 4)]
    md = Document(parts).markdown()
    tables = [block for block in md.split("\n\n") if block.startswith("| ")]
    assert len(tables) >= 5
    for block in tables:
        counts = {row.count("|") for row in block.splitlines()}
        assert len(counts) == 1, block  # a "|" inside a cell's math would split the column


def test_long_check_grows_linearly_in_t_not_quadratically():
    """derive --check at T = 2000 took 63 s (a T^2/2 loop of tensordots); linear now: 5x the steps, ~5x the time."""
    import time

    from tinygrad_rnn.symbolic import VectorRNN

    def seconds(steps):  # best of two, so one busy moment on a shared machine does not decide
        best = float("inf")
        for _ in range(2):
            start = time.perf_counter()
            assert VectorRNN(hidden=3, steps=steps, seed=0).check().ok()
            best = min(best, time.perf_counter() - start)
        return best

    short, long = seconds(200), seconds(1000)
    assert long < 12 * short, (short, long)  # quadratic would be ~25x


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_gated_check_at_long_t_checks_both_ends_not_every_step(cell):
    """Each row unrolls the whole cell: every step of T = 200 took 56 s; the first and the last take a second."""
    from tinygrad_rnn.symbolic import GRUCell, LSTMCell

    table = (LSTMCell if cell == "lstm" else GRUCell)(steps=60, seed=1).check()
    first = "dc_2/dc_1" if cell == "lstm" else "dh_1/dh_0"
    last = "dc_60/dc_59" if cell == "lstm" else "dh_60/dh_59"
    assert [r.quantity for r in table.rows] == [first, last] and table.ok()
