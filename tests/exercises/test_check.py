"""tr.exercises.check names the first wrong gradient, by the key a student returns, with the notes' rule.

The planted bugs below are classic slips; the key each must be located at was decided by hand from
the derivation (not computed by the checker): forgetting the forget gate in dc_prev is wrong at
dc_prev, not earlier; a forgotten carry in BPTT first shows one step before the last.
"""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tinygrad_rnn as tr
from notebooks.solutions import SOLUTIONS, gru, lstm, ops, rnn

ROOT = Path(__file__).resolve().parents[2]
REQUIRED_LSTM = ("dx", "dh_prev", "dc_prev", "dWx", "dWh", "db")


def only(result, keys):
    return {k: result[k] for k in keys}


@pytest.mark.parametrize("name", list(tr.exercises.EXERCISES))
def test_every_exercise_has_a_reference_solution_and_it_passes(name):
    report = tr.exercises.check(name, SOLUTIONS[name])
    assert report.ok, report.message
    assert report.first_wrong is None and "match the engine" in report.message


def test_the_forward_caches_hold_the_pinned_names_and_the_lstm_gate_order_is_i_f_g_o():
    rng = np.random.default_rng(0)
    N, D, H = 2, 3, 4
    x, h, c = rng.standard_normal((N, D)), rng.standard_normal((N, H)), rng.standard_normal((N, H))
    Wx, Wh, b = rng.standard_normal((D, 4 * H)), rng.standard_normal((H, 4 * H)), rng.standard_normal(4 * H)
    h1, c1, cache = tr.exercises.lstm_step_forward(x, h, c, Wx, Wh, b)
    assert set("x h_prev c_prev Wx Wh b i f g o c tanh_c".split()) <= set(cache)
    a = x @ Wx + h @ Wh + b
    sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    np.testing.assert_allclose(cache["f"], sig(a[:, H:2 * H]))
    np.testing.assert_allclose(cache["g"], np.tanh(a[:, 2 * H:3 * H]))
    np.testing.assert_allclose(c1, sig(a[:, H:2 * H]) * c + sig(a[:, :H]) * np.tanh(a[:, 2 * H:3 * H]))
    np.testing.assert_allclose(h1, sig(a[:, 3 * H:]) * np.tanh(c1))
    hs, caches = tr.exercises.rnn_forward(rng.standard_normal((5, N, D)), h, Wx[:, :H], Wh[:, :H], b[:H])
    assert hs.shape == (5, N, H) and len(caches) == 5 and set("x h_prev h Wx Wh b".split()) <= set(caches[2])
    np.testing.assert_allclose(caches[3]["h_prev"], hs[2])
    _, gcache = tr.exercises.gru_step_forward(x, h, Wx[:, :3 * H], Wh[:, :3 * H], b[:3 * H])
    assert {"r", "u", "n"} <= set(gcache) and "z" not in gcache  # the update gate is u in the notation


def forget_gate_factor_missing(dh, dc, cache):
    result = lstm.lstm_step_backward(dh, dc, cache)
    result["dc_prev"] = result["dc_total"]
    return result


def test_a_missing_forget_gate_factor_is_located_at_dc_prev_with_the_rule_in_the_notation():
    report = tr.exercises.check("lstm_step_backward", forget_gate_factor_missing)
    assert not report.ok and report.first_wrong == "dc_prev" and report.problem == "value"
    assert report.rule == "dL/dc_{t-1} = dL/dc_t ⊙ f_t"
    assert "your dc_prev is wrong; the rule is dL/dc_{t-1} = dL/dc_t ⊙ f_t" in report.message
    assert "the factor f_t is missing" in report.message
    assert report.right == ["do", "dc_total", "di", "df", "dg"]
    assert report.expected.shape == report.received.shape == (3, 4)
    assert not np.allclose(report.expected, report.received)
    assert "\n" not in report.message  # one paragraph


def test_the_same_bug_is_found_without_the_intermediates():
    def minimal(dh, dc, cache):
        return only(forget_gate_factor_missing(dh, dc, cache), REQUIRED_LSTM)

    report = tr.exercises.check("lstm_step_backward", minimal)
    assert report.first_wrong == "dc_prev" and report.right == []


def test_tanh_c_missing_in_do_is_located_at_do():
    def no_tanh(dh, dc, cache):
        cache = dict(cache, tanh_c=np.tanh(cache["c"]))
        result = lstm.lstm_step_backward(dh, dc, cache)
        do = dh  # the slip: h = o ⊙ tanh(c), but dL/do written as dL/dh
        o = cache["o"]
        result["do"] = do
        result["da"][:, -o.shape[1]:] = do * o * (1 - o)
        return result

    report = tr.exercises.check("lstm_step_backward", no_tanh)
    assert report.first_wrong == "do" and report.rule == "dL/do_t = dL/dh_t ⊙ tanh(c_t)"
    assert "the factor tanh(c_t) is missing" in report.message


def test_a_wrong_operand_in_dWh_is_located_at_dWh():
    def h_instead_of_h_prev(dh, dc, cache):
        result = lstm.lstm_step_backward(dh, dc, cache)
        result["dWh"] = cache["h"].T @ result["da"]
        return result

    report = tr.exercises.check("lstm_step_backward", h_instead_of_h_prev)
    assert report.first_wrong == "dWh" and "dL/dW_h = h_{t-1}ᵀ dL/ds_t" in report.message
    assert "dc_prev" in report.right and "dh_prev" in report.right


def test_a_missing_transpose_on_a_square_weight_is_located_at_dh_prev():
    def no_transpose(dh, cache):
        result = rnn.rnn_step_backward(dh, cache)
        result["dh_prev"] = result["da"] @ cache["Wh"]
        return result

    report = tr.exercises.check("rnn_step_backward", no_transpose)
    assert report.first_wrong == "dh_prev" and "the transpose of W_h is missing" in report.message


def no_carry(dhs, caches):
    """BPTT that forgets to add what step t+1 sends back to h_t: a truncation after every step."""
    return rnn.rnn_backward_truncated(dhs, caches, 1)


def test_a_forgotten_carry_in_bptt_is_located_at_a_time_step():
    report = tr.exercises.check("rnn_backward", lambda dhs, caches: only(no_carry(dhs, caches),
                                                                          ("dx", "dh0", "dWx", "dWh", "db")))
    assert report.first_wrong == "dx at t=3"  # T = 4: step 4 gets no carry anyway, step 3 is the first to miss it
    assert "the gradient carried back from step t+1" in report.message
    with_dh = tr.exercises.check("rnn_backward", no_carry)
    assert with_dh.first_wrong == "dh at t=3" and with_dh.right == ["dh at t=4", "da at t=4", "dx at t=4"]
    assert "dL/dh_t = dhs_t + dL/ds_{t+1} W_hᵀ" in with_dh.message


def test_full_bptt_is_wrong_for_the_truncated_exercise_where_the_first_cut_is():
    report = tr.exercises.check("rnn_backward_truncated", lambda dhs, caches, k: rnn.rnn_backward(dhs, caches))
    assert report.first_wrong == "dh at t=2"  # k = 2: blocks (1, 2) and (3, 4); nothing crosses from 3 to 2


def test_gru_slips_are_located_in_the_notation():
    def flipped_update(dh, cache):
        result = gru.gru_step_backward(dh, cache)
        result["du"] = -result["du"]
        return result

    report = tr.exercises.check("gru_step_backward", flipped_update)
    assert report.first_wrong == "du" and "dL/du_t = dL/dh_t ⊙ (h_{t-1} − n_t)" in report.message
    assert "the sign is flipped" in report.message

    def no_direct_path(dh, cache):
        result = gru.gru_step_backward(dh, cache)
        result["dh_prev"] = result["dah"] @ cache["Wh"].T
        return result

    assert tr.exercises.check("gru_step_backward", no_direct_path).first_wrong == "dh_prev"


def test_a_bug_that_agrees_on_the_first_instance_is_still_found_on_another():
    def no_unbroadcast_for_size_one_axes(g, cache):
        return {"da": g * cache["b"], "db": (g * cache["a"]).sum(axis=0)}  # right only when b is 1-D

    assert ops.mul_backward  # the right rule, for comparison, is in the solutions
    report = tr.exercises.check("mul_backward", no_unbroadcast_for_size_one_axes)
    assert not report.ok and report.first_wrong == "da" and report.problem == "shape"
    assert tr.exercises.check("mul_backward", no_unbroadcast_for_size_one_axes, trials=1).ok


def test_a_transposed_gradient_gets_a_message_naming_the_expected_shape():
    def transposed(dh, dc, cache):
        result = lstm.lstm_step_backward(dh, dc, cache)
        result["dWh"] = result["da"].T @ cache["h_prev"]
        return result

    report = tr.exercises.check("lstm_step_backward", transposed)
    assert report.first_wrong == "dWh" and report.problem == "shape"
    assert "your dWh has shape (16, 4), expected (4, 16), the shape of W_h" in report.message
    assert "transposed" in report.message


def test_a_wrongly_shaped_stacked_gradient_names_the_time_axis():
    def per_step_only(dhs, caches):
        result = rnn.rnn_backward(dhs, caches)
        result["dx"] = result["dx"][-1]
        return result

    report = tr.exercises.check("rnn_backward", per_step_only)
    assert report.first_wrong == "dx" and "expected (4, 2, 3)" in report.message
    assert "x₁ … x_T stacked over time" in report.message


def test_a_missing_key_and_a_missing_return_get_clear_messages():
    report = tr.exercises.check("lstm_step_backward", lambda dh, dc, cache: only(
        lstm.lstm_step_backward(dh, dc, cache), ("dx", "dh_prev", "dc_prev", "dWx", "db")))
    assert report.problem == "missing" and report.first_wrong == "dWh"
    assert "your result has no 'dWh'. It must hold dc_prev, dx, dh_prev, dWx, dWh, db" in report.message
    nothing = tr.exercises.check("rnn_step_backward", lambda dh, cache: None)
    assert nothing.problem == "returned" and "forget the return statement" in nothing.message


def test_an_exception_in_the_students_code_shows_their_lines_and_no_checker_frames():
    def crashes(dh, cache):
        da = dh * (1 - cache["h"] ** 2)
        return {"dx": da @ cache["Wx"]}  # (N, H) @ (D, H): the transpose is missing

    report = tr.exercises.check("rnn_step_backward", crashes)
    assert report.problem == "raised" and report.message.startswith("rnn_step_backward raised ValueError")
    assert 'return {"dx": da @ cache["Wx"]}' in report.traceback and "in crashes" in report.traceback
    assert "tinygrad_rnn" not in report.traceback


def test_bad_arguments_to_check_are_refused_clearly():
    with pytest.raises(ValueError, match="no exercise named 'lstm_backward'; the exercises are"):
        tr.exercises.check("lstm_backward", lstm.lstm_step_backward)
    with pytest.raises(TypeError, match="fn must be your function lstm_step_backward"):
        tr.exercises.check("lstm_step_backward", "not a function")


def test_the_stepper_is_positioned_on_the_op_that_computes_the_wrong_gradient():
    stepper = tr.exercises.check("lstm_step_backward", forget_gate_factor_missing).stepper()
    event = stepper.events[-1]  # the step just taken: it sends dL/dc₀ and completes c₀.grad
    assert event.op == "mul" and event.scope == "lstm/t1/cell_state"
    assert [s.to for s in event.sent] == ["f₁", "c₀"]
    bptt = tr.exercises.check("rnn_backward", no_carry).stepper()
    event = bptt.events[-1]  # h₃'s producer: its upstream is the whole dL/dh₃
    assert event.op == "tanh" and event.scope == "rnn/t3/hidden" and event.outputs == ("h₃",)


def test_importing_the_package_does_not_load_the_exercises():
    code = ("import sys, tinygrad_rnn as tr; assert 'tinygrad_rnn.exercises' not in sys.modules; "
            "print(tr.exercises.check.__name__)")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "check"


def test_the_report_opens_the_explorer_on_the_wrong_gradient_in_a_browser(tmp_path, browser):
    from selenium.webdriver.common.by import By

    report = tr.exercises.check("lstm_step_backward", forget_gate_factor_missing)
    page = tmp_path / "report.html"
    page.write_text(f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>report</title></head><body>"
                    f"{report._repr_html_()}</body></html>", encoding="utf-8")
    browser.set_window_size(1300, 900)
    browser.get(page.as_uri())
    message = browser.find_element(By.CSS_SELECTOR, ".tgr-exercise-message").text
    assert message.startswith("lstm_step_backward: your dc_prev is wrong; the rule is dL/dc_{t-1} = dL/dc_t ⊙ f_t")
    rule = browser.find_element(By.CSS_SELECTOR, ".tgr-exercise-rule")
    assert rule.text == "the rule: dL/dct-1 = dL/dct ⊙ ft"  # typeset: the t's are subscripts
    assert [sub.text for sub in rule.find_elements(By.TAG_NAME, "sub")] == ["t-1", "t", "t"]
    root = browser.find_element(By.CSS_SELECTOR, ".tgr-explorer")
    assert "dc_prev is wrong" in root.find_element(By.CSS_SELECTOR, ".tgr-title").text
    event = root.find_element(By.CSS_SELECTOR, ".tgr-event").text
    assert "mul at lstm/t1/cell_state" in event and "c₀.grad is now" in event  # the step that completes dL/dc₀
    current = root.find_element(By.CSS_SELECTOR, "g.node.current")
    assert current.get_attribute("data-id") == "op" + root.get_attribute("data-current")
    box = browser.execute_script("var r = arguments[0].getBoundingClientRect(), v = arguments[1]"
                                 ".getBoundingClientRect(); return [r.left, r.right, r.top, r.bottom, v.left, "
                                 "v.right, v.top, v.bottom];", current, root.find_element(By.CSS_SELECTOR,
                                                                                          ".tgr-viewport"))
    assert box[4] <= box[0] and box[1] <= box[5] and box[6] <= box[2] and box[3] <= box[7]  # the node is in view


def test_a_forgotten_carry_in_gru_bptt_is_located_at_a_time_step():
    def no_carry_gru(dhs, caches):
        steps = [gru.gru_step_backward(dhs[t], caches[t]) for t in range(len(caches))]  # each step alone
        return {"dx": np.stack([s["dx"] for s in steps]), "dh0": steps[0]["dh_prev"],
                **{k: sum(s[k] for s in steps) for k in ("dWx", "dWh", "db")}}

    report = tr.exercises.check("gru_backward", no_carry_gru)
    assert report.first_wrong == "dx at t=3" and "the gradient carried back from step t+1 is missing" in report.message
    assert report.stepper().events[-1].scope == "gru/t3"  # the matmul that completes x₃'s gradient


def numerical_gradient(f, array, eps=1e-6):
    """Central differences of the scalar f() with respect to every entry of ``array`` (changed in place)."""
    grad = np.zeros_like(array)
    for index in np.ndindex(array.shape):
        old = array[index]
        array[index] = old + eps
        up = f()
        array[index] = old - eps
        grad[index] = (up - f()) / (2 * eps)
        array[index] = old
    return grad


@pytest.mark.parametrize("name, outputs", [("lstm_step_backward", ("dh", "dc")), ("gru_step_backward", ("dh",)),
                                           ("rnn_backward", ("dhs",))])
def test_the_oracle_agrees_with_finite_differences_of_the_numpy_forward(name, outputs):
    """The engine's expected gradients are those of the very forward the student is given."""
    from tinygrad_rnn.exercises import catalog

    exercise = catalog.EXERCISES[name]
    trial = exercise.make(np.random.default_rng(5), exercise.sizes[1])
    forward = {"lstm_step_backward": tr.exercises.lstm_step_forward, "gru_step_backward": tr.exercises.gru_step_forward,
               "rnn_backward": tr.exercises.rnn_forward}[name]

    def loss():
        result = forward(**trial.inputs)
        return sum(float(np.sum(value * trial.upstream[key])) for value, key in zip(result, outputs))

    graph_loss, slots = exercise.graph(trial)
    graph_loss.backward()
    expected = {slot.key: slot.expected for slot in slots}
    assert abs(graph_loss.item() - loss()) < 1e-12
    for key, argument in (("dWh", "Wh"), ("dWx", "Wx"), ("db", "b")):
        np.testing.assert_allclose(expected[key], numerical_gradient(loss, trial.inputs[argument]), atol=1e-7)
