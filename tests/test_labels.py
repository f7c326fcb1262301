"""Buttons a phone shows whole: every option label of the shipped flows, in every language.

Why: Telegram cuts a button label that does not fit on one line with "…". On a phone
about 360 px wide that is roughly 30 characters (bot/phone.py). A label cut at
"A written instruction (schriftelijke aanwij…" loses the part that tells two options
apart, so each label must fit, and the labels of one question must already differ in
what a phone shows of them. Where an option needs more words, the question's text says
them in full (issue 19).
"""

from __future__ import annotations

import functools
import subprocess

import pytest

from bot.app import load_flows
from bot.flows.flowset import FlowSet
from bot.phone import BUTTON_WIDTH, label_width
from bot.settings import Settings
from tests.conftest import PYTHON, REPO, bot_env

#: What a phone shows of a label, in characters (bot/phone.py's BUTTON_WIDTH as a plain count).
SHOWN = 30


@functools.cache
def shipped() -> FlowSet:
    return load_flows(Settings())


def questions() -> list[tuple[str, str, list[str]]]:
    """(flow, step, option label keys) of every question with buttons in the shipped flows."""
    fs = shipped()
    return [(flow_id, step_id, [option.label for option in step.options])
            for flow_id, flow in sorted(fs.flows.items())
            for step_id, step in flow.steps.items() if step.kind == "choose"]


def test_the_moderators_check_names_no_label_a_phone_would_cut_off():
    done = subprocess.run([PYTHON, "-m", "bot", "check", "flows"], cwd=REPO, env=bot_env(),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "label-too-wide" not in done.stdout + done.stderr


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_every_option_label_fits_a_phone_button(lang):
    fs = shipped()
    assert lang in fs.locales.languages
    assert not [w for w in fs.warnings if w.kind == "label-too-wide"]
    too_wide = sorted({f"{key}: {fs.locales.texts[lang][key].source!r}"
                       for _, _, keys in questions() for key in keys
                       if label_width(fs.locales.texts[lang][key].source) > BUTTON_WIDTH})
    assert too_wide == []


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_the_labels_of_each_question_differ_in_what_a_phone_shows(lang):
    fs = shipped()
    alike: list[str] = []
    for flow_id, step_id, keys in questions():
        shown = [fs.locales.texts[lang][key].source[:SHOWN].strip().casefold() for key in keys]
        alike += [f"{flow_id}.{step_id}: {label!r}" for label in sorted(set(shown)) if shown.count(label) > 1]
    assert alike == []


def test_the_check_counts_every_question():
    """The tests above look at something: the main menu and the deadline question are among them."""
    found = {(flow, step): keys for flow, step, keys in questions()}
    assert "main.pro.threat" in found[("main", "pro_menu")]
    assert "termijn.aanwijzing" in found[("termijn", "which")]


def test_a_label_longer_than_30_characters_is_too_wide_whatever_its_letters():
    """The weights guess Roboto; a plain cap of 30 holds for any phone font and text size."""
    assert label_width("a" * 30) <= BUTTON_WIDTH < label_width("a" * 31)
    assert label_width("i" * 31) > BUTTON_WIDTH  # narrow letters alone do not earn a longer label
    assert label_width("W" * 26) > BUTTON_WIDTH  # wide capitals are over sooner
