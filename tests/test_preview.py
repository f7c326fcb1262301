"""The preview: a whole flow as the user would read it, so a moderator proofreads without clicking."""

from __future__ import annotations

import functools
from datetime import date

import pytest

from bot.app import load_flows
from bot.cli import main as cli_main
from bot.flows.flowset import FlowSet
from bot.flows.problems import FlowSetInvalid
from bot.preview import flow_messages, preview_flow, reading_order
from bot.settings import Settings
from tests.conftest import FIXTURE_FLOWS, FIXTURE_LOCALES, TODAY, load_fixture_flows


@functools.cache
def shipped() -> FlowSet:
    """Loaded once per run: the shipped set takes most of a second to load and check."""
    return load_flows(Settings())


def shipped_cases() -> list[tuple[str, str]]:
    try:
        fs = shipped()
    except FlowSetInvalid as exc:  # fail visibly rather than test nothing
        return [(f"<the shipped flows do not load: {exc}>", "nl")]
    return [(flow, lang) for flow in sorted(fs.flows) for lang in fs.locales.languages]


@pytest.mark.parametrize(("flow_id", "lang"), shipped_cases())
def test_every_shipped_flow_previews_in_every_language(flow_id: str, lang: str) -> None:
    fs = shipped()
    page = preview_flow(fs, flow_id, lang, today=TODAY)

    assert "[cannot render" not in page
    assert page.startswith(f"{flow_id} · {fs.render(lang, fs.flows[flow_id].title, {})} · {lang} · version {fs.version}")
    for step_id, step in fs.flows[flow_id].steps.items():
        assert f"── {step_id} ({step.kind}" in page
        for number, option in enumerate(getattr(step, "options", []), start=1):
            assert f"  {number}. {fs.render(lang, option.label, {})}" in page


def test_a_flows_word_tables_are_read_by_name_not_shown_as_examples() -> None:
    """The safety flow's platforms and who-did-it phrases are tables (`tables:`): an expression reading them
    gets its example as the engine would (None for no first message), not «told_platform»."""
    page = preview_flow(shipped(), "safety", "nl", today=TODAY)
    assert "told_platform = said_in(_typed_before, platforms)   (example: None)" in page
    assert "«told_platform»" not in page and "platforms =" not in page and "who_phrases =" not in page


def test_a_flow_reads_in_path_order_with_every_kind_of_step_rendered() -> None:
    fs = load_fixture_flows()
    page = preview_flow(fs, "main", "nl", today=date(2026, 11, 29))
    headings = [line.split(" ")[1] for line in page.splitlines() if line.startswith("── ")]

    assert headings == reading_order(fs.flows["main"])
    assert headings[:6] == ["welcome", "menu", "name", "age", "town", "when"]
    # a question with its choices numbered, as the console and Matrix show them
    assert "Waarmee kan ik helpen?\n  1. Een brief schrijven      → name\n  2. Een termijn uitrekenen   → deadline\n" in page
    # yes/no questions get their buttons
    assert "Mag ik dit doorsturen naar het meldpunt?\n  1. Ja\n  2. Nee\n" in page
    # the document in full, with example values: typed text as «name», dates written out
    assert "Hier is je brief.\n" in page
    assert "Brief van «name» (brief.txt)" in page
    assert "maak bezwaar tegen het besluit van 30 oktober 2026.\n" in page
    assert "Antwoord graag voor 11 december 2026. Beroep kan tot 30 januari 2027." in page
    # directory cards exactly as the engine shows them
    assert f"Deze hulplijn kan helpen (bel 0800-1234):\n\n{fs.cards['fixture_line']['nl']}" in page
    # what the user never sees, said plainly
    assert "── minor (branch: not shown, decides where to go)" in page
    assert "  if age < 18 → young\n  else → letter" in page
    assert "  reply_by = add(decision_date, weeks=6)   (example: 2026-12-11)" in page
    assert "── send_report (report: sent to the safety desk, not shown to the user)" in page
    assert "  Wat er gebeurde: «what»" in page
    assert "── deadline (call: runs flow termijn)" in page
    assert "Tot ziens.\n  (end of this flow: the conversation ends)" in page


def test_a_called_flow_ends_back_in_its_caller_and_renders_in_english() -> None:
    page = preview_flow(load_fixture_flows(), "termijn", "en", today=date(2026, 11, 29))
    assert "  (end of this flow: back to the calling flow)" in page
    assert "· en ·" in page.splitlines()[0]
    assert "  1. Appeal      → start_date" in page


def test_cli_preview_with_example_values(capsys: pytest.CaptureFixture[str]) -> None:
    common = ["--flows", str(FIXTURE_FLOWS), "--locales", str(FIXTURE_LOCALES), "--today", "2026-11-29"]
    assert cli_main(["preview", "main", "--lang", "nl", "--set", "name=Sanne", "--set", "age=15", *common]) == 0
    page = capsys.readouterr().out
    assert "Brief van Sanne (brief.txt)" in page
    assert "Ik, Sanne (15), uit Utrecht," in page

    assert cli_main(["preview", "nosuch", *common]) == 2
    assert "there is no flow `nosuch`" in capsys.readouterr().err
    assert cli_main(["preview", "main", "--lang", "fr", *common]) == 2
    assert "there is no language `fr`" in capsys.readouterr().err


def test_each_message_carries_the_buttons_the_engine_puts_under_it() -> None:
    """The phone preview draws buttons from flow_messages: a question's options, yes and no, nothing elsewhere."""
    fs = load_fixture_flows()
    messages = {(m.step, m.text.splitlines()[0]): m.buttons for m in flow_messages(fs, "main", "nl", today=TODAY)}

    assert messages[("menu", "Waarmee kan ik helpen?")][:2] == ("Een brief schrijven", "Een termijn uitrekenen")
    assert ("Ja", "Nee") in messages.values()  # the yes/no question
    assert messages[("welcome", next(text for step, text in messages if step == "welcome"))] == ()
