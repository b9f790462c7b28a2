"""The derivations as a person reads them: typeset in a browser, Unicode in the terminal, LaTeX that fits."""

import re
import shutil
import subprocess

import pytest

from tinygrad_rnn import cli
from tinygrad_rnn.symbolic import derive
from tinygrad_rnn.symbolic.mathml import TexError, tex_to_mathml


def test_tour_derivation_page_shows_typeset_formulas_and_no_markup(tmp_path, browser):
    from tinygrad_rnn.cli import tour

    part = tour.part_derivation(tmp_path, 5)
    page = tmp_path / "derivation.html"
    assert ("derivation (typeset)", page) in part.files
    assert 'href="derivation.html"' in "".join(part.body) and "<pre>" not in "".join(part.body)
    browser.set_window_size(1000, 900)
    browser.get(page.as_uri())
    sizes = browser.execute_script(
        "return [...document.querySelectorAll('math')].map(m => {const r = m.getBoundingClientRect();"
        " return [r.width, r.height];});"
    )
    assert len(sizes) > 40, "the derivation's formulas are not MathML"
    assert all(w > 0 and h > 0 for w, h in sizes), "a formula renders with no size"
    # a displayed fraction is taller than a line of text: the maths is laid out, not printed as source
    tallest = max(h for _, h in sizes)
    line = browser.execute_script("return parseFloat(getComputedStyle(document.body).fontSize);")
    assert tallest > 2 * line
    text = browser.execute_script("return document.body.innerText;")
    for raw in (r"\frac", "$$", "**", r"\partial", r"\sum", "`"):
        assert raw not in text, f"raw markup {raw!r} is visible on derivation.html"
    assert "Proof by induction." in text and "BPTT with matrices" in text
    headings = browser.execute_script("return [...document.querySelectorAll('h3')].map(h => h.innerText);")
    assert any("closed form" in h for h in headings)
    cells = browser.execute_script("return [...document.querySelectorAll('th')].map(h => h.innerText);")
    assert "finite difference" in cells and "autograd" in cells  # the check table is an HTML table
    # nothing is cut off: no formula sticks out of the page's text column
    overflow = browser.execute_script(
        "return [...document.querySelectorAll('.tgr-eq')].filter(e => e.scrollWidth > e.clientWidth + 1).length;"
    )
    assert overflow == 0


def test_notebook_html_of_a_derivation_is_mathml():
    doc = derive("gru", steps=3, check=True)
    html = doc._repr_html_()
    assert html.count("<math") > 5 and "$" not in html and "**" not in html
    assert "<table" in html and "<h3>" in html


def test_unknown_tex_is_refused_by_name():
    with pytest.raises(TexError, match=r"\\foo"):
        tex_to_mathml(r"a + \foo{b}")
    assert "<mfrac>" in tex_to_mathml(r"\frac{\partial L}{\partial w_h}")


@pytest.mark.parametrize("args", [["--cell", "rnn", "--check"], ["--cell", "lstm"], ["--cell", "gru"],
                                  ["--difference"], ["--rtrl"]])
def test_terminal_derive_has_no_markdown_and_reads_t_minus_i(args, capsys):
    assert cli.main(["derive", *args]) == 0
    out = capsys.readouterr().out
    assert "**" not in out and "`" not in out
    assert "-i + t" not in out and "- i + t" not in out
    if args == ["--difference"]:
        assert "t - i" in out
    if args == ["--rtrl"]:
        assert "theta" not in out and "ell_" not in out and "ℓ₁" in out and "∂h_t/∂θ" in out


def test_gru_update_gate_is_u_not_z():
    text = derive("gru", steps=3).text()
    assert "u_t" in text and not re.search(r"\bz_t\b", text)


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not installed (texlive-latex-base)")
@pytest.mark.parametrize("steps", [5, 8])
def test_standalone_latex_fits_the_page(steps, tmp_path, capsys):
    assert cli.main(["derive", "--cell", "rnn", "--steps", str(steps), "--latex", "--standalone"]) == 0
    (tmp_path / "d.tex").write_text(capsys.readouterr().out)
    run = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "d.tex"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    log = (tmp_path / "d.log").read_text(errors="replace")
    assert run.returncode == 0, log[-2000:]
    overfull = [float(w) for w in re.findall(r"Overfull \\hbox \(([0-9.]+)pt too wide\)", log)]
    assert all(w <= 10 for w in overfull), f"Overfull \\hbox of {max(overfull)} pt at T = {steps}"


def test_every_derivation_typesets_without_raw_tex():
    """The converter knows every piece of LaTeX the derivations write (it refuses unknown commands)."""
    from tinygrad_rnn.stories import spectra
    from tinygrad_rnn.symbolic import Document, VectorRNN, difference, rtrl

    docs = [derive("rnn", 3, "relu"), derive("jordan", 3), derive("lstm", 3), difference.document(steps=4),
            Document([rtrl.derivation(VectorRNN(2, 3))]), Document([spectra.derivation(5, 3)])]
    for doc in docs:
        html = doc.html()
        visible = re.sub(r"<[^>]+>", "", html)
        assert html.count("<math") >= 5 and "$" not in visible and "\\" not in visible, doc.parts[0].title


def test_gated_cells_are_written_in_the_notes_order_and_equal_what_is_differentiated():
    import sympy as sp

    from tinygrad_rnn.symbolic import GRUCell, LSTMCell
    from tinygrad_rnn.symbolic.report import WrittenProduct, WrittenSum

    def plain(e):  # the written form as ordinary SymPy, so equal expressions cancel
        return e.replace(lambda x: isinstance(x, (WrittenSum, WrittenProduct)),
                         lambda x: (sp.Add if isinstance(x, WrittenSum) else sp.Mul)(*x.args))

    lstm, gru = LSTMCell(steps=2), GRUCell(steps=2)
    def arguments_shown(cell, e):  # a gate with its argument in the notes' symbols (the gate itself would be i_t)
        return e.func(*map(cell._display, e.args))

    shown = {**{g: arguments_shown(lstm, e) for g, e in lstm.gates.items()}, "c": lstm._display(lstm.c_next)}
    for g, e in lstm.written().items():
        assert sp.expand(plain(e) - shown[g]) == 0, g
    shown = {**{g: arguments_shown(gru, e) for g, e in gru.gates.items()}, "h": gru._display(gru.h_next)}
    for g, e in gru.written().items():
        assert sp.expand(plain(e) - shown[g]) == 0, g
    text = derive("gru", steps=2).text()
    assert "u_t = σ(w_iu⋅x_t + w_hu⋅h_{t-1} + b_u)" in text  # weight before state, bias last
    assert "h_t = (1 - u_t)⋅n_t + u_t⋅h_{t-1}" in text
