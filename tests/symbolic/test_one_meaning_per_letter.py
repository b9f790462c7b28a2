"""No letter means two things on one screen (issue 22, docs/notation.md).

`derive --cell rnn` proves the closed form by induction with a residual. It used to be r_k, while r_t is
the GRU's reset gate everywhere else; now it is ε_k in every form a person reads: the terminal, LaTeX, and
the MathML of the tour's page and of notebooks. `derive --difference` (chapter 7's screen) wrote L for the
Lucas numbers beside the loss L, and P for W's eigenvectors beside the summation factor P_k."""

import re

import pytest

from tinygrad_rnn import cli
from tinygrad_rnn.symbolic import derive

OLD_RESIDUAL = re.compile(r"(?<![A-Za-z\\])r_\{?k")  # r_k, r_{k}: the letter of the GRU's reset gate


@pytest.fixture(scope="module")
def doc():
    return derive("rnn", steps=3, check=True)


def test_terminal_derive_rnn_check_writes_the_residual_as_epsilon(capsys):
    assert cli.main(["derive", "--cell", "rnn", "--steps", "3", "--check"]) == 0
    out = capsys.readouterr().out
    assert "so the residual ε_k below must vanish" in out
    assert re.search(r"^ +ε_k = 0$", out, re.M), "the induction's last line should read ε_k = 0"
    assert out.count("ε_k =") == 4  # the residual, two rewritings, and its simplified value
    assert not OLD_RESIDUAL.search(out), OLD_RESIDUAL.search(out)


def test_latex_writes_the_residual_as_varepsilon(doc):
    tex = doc.latex()
    assert r"the residual $\varepsilon_k$ below must vanish" in tex
    assert tex.count(r"\varepsilon_k &=") == 3 and r"\varepsilon_k = 0" in tex
    assert not OLD_RESIDUAL.search(tex)


def test_mathml_writes_the_residual_as_epsilon(doc):
    html = doc._repr_html_()
    epsilon = "<msub><mi>ε</mi><mi>k</mi></msub>"
    assert html.count(epsilon) >= 4  # in the prose and on the left of every step of the proof
    assert "<msub><mi>r</mi><mi>k</mi></msub>" not in html and not OLD_RESIDUAL.search(html)


def test_derive_difference_keeps_l_for_the_loss_and_p_for_the_summation_factor(capsys):
    # one screen held L the Lucas numbers beside L the loss, and P the eigenvectors beside P_k the summation factor
    assert cli.main(["derive", "--difference"]) == 0
    out = capsys.readouterr().out
    assert "P_k = b₁ b₂ … b_k" in out and "W = Q Λ Q^{-1}" in out and "Q Λ Q^{-1} = W: yes" in out
    assert not re.search(r"\bP\b", out), "P without a subscript is back (the summation factor is P_k)"
    assert "∂L/∂w = (2/T)" in out and "Lucas number minus 2" in out
    assert not re.search(r"\bL_", out), "L with a subscript is back (L is the loss)"
