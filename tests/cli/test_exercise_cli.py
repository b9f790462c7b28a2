"""``tinygrad-rnn exercise NAME FILE.py``, run as a student would: exit 0 right, 1 wrong, 2 misuse; no tracebacks."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

WRONG = '''
from notebooks.solutions.lstm import lstm_step_backward as reference


def lstm_step_backward(dh, dc, cache):
    result = reference(dh, dc, cache)
    result["dc_prev"] = result["dc_total"]  # forgot the forget gate
    return result
'''

CRASHES = '''
def helper(da, W):
    return da @ W


def rnn_step_backward(dh, cache):
    da = dh * (1 - cache["h"] ** 2)
    return {"dx": helper(da, cache["Wx"])}
'''


def run(*args):
    return subprocess.run([sys.executable, "-m", "tinygrad_rnn", "exercise", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def test_a_right_file_passes_and_a_wrong_one_is_told_which_gradient(tmp_path):
    right = run("lstm_step_backward", ROOT / "notebooks/solutions/lstm.py")
    assert right.returncode == 0 and "lstm_step_backward: all 12 returned gradients match" in right.stdout
    (tmp_path / "mine.py").write_text(WRONG)
    wrong = run("lstm_step_backward", tmp_path / "mine.py")
    assert wrong.returncode == 1
    assert wrong.stderr.startswith("lstm_step_backward: your dc_prev is wrong; the rule is dL/dc_{t-1} = dL/dc_t ⊙ f_t")
    assert "Traceback" not in wrong.stderr


def test_the_students_own_traceback_lines_are_shown_and_nothing_of_ours(tmp_path):
    (tmp_path / "crash.py").write_text(CRASHES)
    done = run("rnn_step_backward", tmp_path / "crash.py")
    assert done.returncode == 1 and "rnn_step_backward raised ValueError" in done.stderr
    assert f'File "{tmp_path / "crash.py"}", line 8, in rnn_step_backward' in done.stderr
    assert "return da @ W" in done.stderr and "Traceback" not in done.stderr and "tinygrad_rnn" not in done.stderr
    (tmp_path / "broken.py").write_text("import numpy as np\n\nx = np.zeros(3) @ np.zeros(4)\n")
    broken = run("rnn_step_backward", tmp_path / "broken.py")
    assert broken.returncode == 1 and "broken.py raised ValueError while loading" in broken.stderr
    assert "line 3, in <module>" in broken.stderr and "Traceback" not in broken.stderr


def test_misuse_exits_2_and_a_file_without_the_function_exits_1_each_in_one_line(tmp_path):
    unknown = run("lstm_backward", ROOT / "notebooks/solutions/lstm.py")
    assert unknown.returncode == 2 and "invalid choice: 'lstm_backward'" in unknown.stderr
    missing = run("lstm_step_backward", tmp_path / "nope.py")
    assert missing.returncode == 2
    assert missing.stderr.strip() == f"tinygrad-rnn exercise: {tmp_path / 'nope.py'}: no such file"
    (tmp_path / "other.py").write_text("def lstm_backward(dh, dc, cache):\n    return {}\n")
    other = run("lstm_step_backward", tmp_path / "other.py")
    assert other.returncode == 1 and len(other.stderr.strip().splitlines()) == 1
    assert "defines no function lstm_step_backward" in other.stderr and "functions found: lstm_backward" in other.stderr


def test_a_syntax_error_shows_where_python_stopped_reading(tmp_path):
    (tmp_path / "typo.py").write_text("def rnn_step_backward(dh, cache)\n    return {}\n")
    done = run("rnn_step_backward", tmp_path / "typo.py")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert f'File "{tmp_path / "typo.py"}", line 1' in done.stderr and "SyntaxError: expected ':'" in done.stderr


def test_html_writes_the_report_with_the_explorer_on_the_wrong_gradient(tmp_path):
    (tmp_path / "mine.py").write_text(WRONG)
    done = run("lstm_step_backward", tmp_path / "mine.py", "--html", tmp_path / "out" / "report.html")
    assert done.returncode == 1
    page = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "your dc_prev is wrong" in page and 'class="tgr-explorer"' in page
    assert "lstm_step_backward: dc_prev is wrong; the explorer is at step 12, mul at lstm/t1/cell_state" in page
    refused = run("lstm_step_backward", tmp_path / "mine.py", "--html", tmp_path / "report.txt")
    assert refused.returncode == 2 and "does not end in .html" in refused.stderr
