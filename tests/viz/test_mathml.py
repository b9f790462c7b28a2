"""The filled-in rules as presentation MathML: well-formed, the notes' symbols as sub/superscripts, text escaped."""

import xml.etree.ElementTree as ET

import numpy as np

import tinygrad_rnn as tr
from tinygrad_rnn.cli.step import builtin_model
from viz import mathml


def test_symbols_become_scripts_and_gradients_fractions():
    row = ET.fromstring(mathml.expression("dL/dsᶠ⁽²⁾₃"))
    frac = row.find("mfrac")
    assert frac is not None and "".join(frac[0].itertext()) == "∂L"
    (script,) = frac[1].iter("msubsup")
    assert [e.text for e in script.iter() if e.text] == ["s", "3", "f", "(2)"]
    call = ET.fromstring(mathml.expression("dL/dtanh(c₃)"))
    assert "".join(call.find("mfrac")[1].itertext()) == "∂tanh(c3)"  # the whole call under the bar
    arrow = ET.fromstring(mathml.expression("←h₂"))
    assert arrow.find("mover/mo").text == "←"


def test_every_rule_of_an_lstm_pass_is_well_formed_and_user_text_is_escaped():
    events = tr.BackwardStepper(builtin_model("lstm", 2)).run()
    rules = [s.rule.to_dict() for e in events for s in e.sent if s.rule is not None]
    assert len(rules) > 20
    for rule in rules:
        math = ET.fromstring(mathml.rule(rule))  # parses: every tag closed, every & < > escaped
        assert math.find("math/mtable") is not None and len(math.findall("math/mtable/mtr")) == 2
    evil = tr.Tensor(np.ones(2), requires_grad=True, name="<b>x</b>")
    (event,) = [e for e in tr.BackwardStepper((evil * 2.0).sum()).run() if e.op == "mul"]
    text = mathml.rule(event.sent[0].rule.to_dict())
    assert "<b>" not in text and "&lt;" in text  # shown literally, never markup
    assert "<b>x</b>" in "".join(ET.fromstring(text).itertext())
