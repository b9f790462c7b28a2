"""The tour end to end on small settings: one folder, every part present, every link alive."""

import re

import pytest

from tinygrad_rnn import cli


def test_tour_writes_a_folder_whose_index_links_everything(tmp_path, capsys):
    out = tmp_path / "tour"
    assert cli.main(["tour", "--out", str(out), "--quick", "--quiet"]) == 0
    printed = capsys.readouterr().out
    index = out / "index.html"
    page = index.read_text()
    links = set(re.findall(r'(?:href|src)="([^"#]+)"', page))
    assert links, "index.html links nothing"
    for link in links:
        assert (out / link).is_file(), f"index.html links a missing file: {link}"
    expected = ["graphs/rnn_ops.svg", "graphs/rnn_cells.svg", "graphs/lstm_ops.svg", "graphs/lstm_cells.svg",
                "graphs/gru_ops.svg", "graphs/gru_cells.svg", "backward.html", "derivation.html",
                "char_lm_perplexity.svg", "char_lm_sample.txt", "gradient-flow/gradient_norms.svg",
                "gradient-flow/closed_form_lstm.svg", "gradient-flow/exploding_loss.svg", "toy-lstm/toy_lstm_cells.svg",
                "error-surface/error_surface.svg", "connectivity/connectivity_text.html",
                "connectivity/contributions_heatmaps.html"]
    assert set(expected) <= links
    assert page.count('class="tgr-explorer"') == 1 and 'class="tgr-data"' in page  # the explorer, inline
    assert "max |symbolic − autograd|" in (out / "derivation.txt").read_text()
    assert "<svg" in (out / "graphs" / "lstm_cells.svg").read_text()
    assert "not available" not in printed and "FAILED" not in printed
    assert f"open {index}" in printed
    assert "held-out perplexity" in printed and "n-gram" in printed
    assert "memory 0, 0, 3, 3, 7, 7, 7, 0, 6; outputs 0, 0, 0, 0, 0, 7, 0, 0, 6" in page
    assert "How far back does each model" in page and "at initialisation: RNN" in page
    # the rolled picture comes first; tables are tables; the sample wraps; graphs are shown at a size that reads
    first = re.search(r'<h2 id="part0">([^<]*)</h2>', page).group(1)
    assert first.startswith("The recurrence, rolled") and {"graphs/lstm_rolled.svg", "graphs/gru_rolled.svg"} <= links
    assert "\u00d7 3" in (out / "graphs" / "lstm_rolled.svg").read_text()
    assert '<table class="numbers">' in page and "| t | x1" not in page and "<th>memory after</th>" in page
    assert 'pre class="text"' in page and "pre.text { white-space: pre-wrap" in page
    assert page.count('figure class="graph"') == 6 and "figure.graph img, figure.rolled img { max-width: none" in page


def test_tour_refuses_a_long_unroll(tmp_path, capsys):
    with pytest.raises(SystemExit) as refused:  # argparse refuses it now, with the cost (issue 28)
        cli.main(["tour", "--out", str(tmp_path), "--steps", "500"])
    assert refused.value.code == 2
    assert "--steps is at most 20" in capsys.readouterr().err


def test_tour_reports_a_missing_part_plainly(tmp_path, capsys, monkeypatch):
    from tinygrad_rnn.cli import tour

    def missing(*_args, **_kwargs):
        raise tour.Unavailable("the module viz does not provide backward_player yet")

    names = ("part_graphs", "part_player", "part_derivation", "part_char_lm", "part_gradient_flow", "part_toy_lstm",
             "part_error_surface", "part_connectivity")
    for name in names:
        monkeypatch.setattr(tour, name, missing)
    assert cli.main(["tour", "--out", str(tmp_path), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert printed.count("not available yet: the module viz does not provide backward_player yet") == len(names)
    assert "(unavailable)" in (tmp_path / "index.html").read_text()
