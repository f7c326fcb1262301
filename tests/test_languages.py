"""A language is data: a folder in locales/ with every text is enough for it to work everywhere.

The case that once broke (issue 15): a moderator copies locales/en to locales/de and adds
`sys.language_name.de`. `check` said ok, but every `show` step failed for German, because
directory cards were built for nl and en only, and the engine turned the KeyError into an
apology and a restart. Here a German copy renders every step of every flow, is offered in the
language menu, shows its cards; and with one text deleted, `check` names the file and key.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from bot.engine import TurnContext
from bot.flows.flowset import FlowSet
from bot.flows.loader import load_flowset
from bot.flows.problems import FlowSetInvalid
from bot.preview import flow_messages
from tests.conftest import NOW, PYTHON, REPO, TODAY, bot_env, load_fixture_flows
from tests.test_engine import Chat, at_menu

#: How every language names German in the language menu.
GERMAN = "Deutsch"


def add_german(project: Path) -> None:
    """locales/de as a copy of locales/en, and German named in every language's menu."""
    shutil.copytree(project / "locales" / "en", project / "locales" / "de")
    for system in sorted((project / "locales").glob("*/system.yaml")):
        text = system.read_text(encoding="utf-8")
        named, count = re.subn(r"(\n  language_name:\n(?:    [a-z]+: .*\n)+)", rf"\1    de: {GERMAN}\n", text)
        assert count == 1, system
        system.write_text(named, encoding="utf-8")


@pytest.fixture
def shipped_with_german(tmp_path: Path) -> Path:
    """A copy of the shipped flows and locales, with German added the way a moderator would."""
    project = tmp_path / "project"
    shutil.copytree(REPO / "flows", project / "flows", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO / "locales", project / "locales")
    add_german(project)
    return project


def load(project: Path) -> FlowSet:
    return load_flowset(project / "flows", project / "locales", root=project, today=TODAY)


def run_check(project: Path) -> tuple[int, str]:
    done = subprocess.run([PYTHON, "-m", "bot", "check", "flows", "--today", TODAY.isoformat()],
                          cwd=project, env=bot_env(), capture_output=True, text=True, timeout=120)
    output = done.stdout + done.stderr
    assert "Traceback" not in output, output
    return done.returncode, output


def test_a_copied_language_renders_every_step_of_every_flow(shipped_with_german: Path) -> None:
    fs = load(shipped_with_german)
    assert fs.locales.languages == ["de", "en", "nl"]
    for flow in sorted(fs.flows):
        german = flow_messages(fs, flow, "de", today=TODAY)
        english = flow_messages(fs, flow, "en", today=TODAY)
        # a copy of English reads as English, step by step, cards included
        assert [(m.flow, m.step, m.text) for m in german] == [(m.flow, m.step, m.text) for m in english], flow
    # a card in German is built from locales/de (its words) and flows/directory (its facts)
    for entry, cards in fs.cards.items():
        assert cards["de"] == cards["en"], entry
        assert fs.directory_views["de"][entry] == fs.directory_views["en"][entry], entry


def test_check_accepts_the_copy_and_says_the_directory_is_not_written_in_it(shipped_with_german: Path) -> None:
    status, output = run_check(shipped_with_german)
    assert status == 0, output
    assert "languages" in output and "3 languages" in output, output
    assert ("locales/de:1:1: warning[directory-language]: the directory (flows/directory) is written in nl and en: "
            "`de` cards show the names and notes of bodies in `en`") in output, output


#: (file in locales/de, the line deleted from it, what `check` then says, the fix it gives)
MISSING = [
    ("main.yaml", r"\n    professional: .*", "error[missing-text-key]: text `main.role.professional` has no `de` version",
     "add `main.role.professional` to locales/de/main.yaml (`en` has it in locales/en/main.yaml)"),
    ("system.yaml", r"\n  language_question: .*", "the code uses text `sys.language_question`, which has no `de` version",
     "add `sys.language_question` to locales/de/system.yaml (`en` has it in locales/en/system.yaml)"),
    ("system.yaml", r"\n  month_names: .*", "the code uses text `sys.month_names`, which has no `de` version",
     "add `sys.month_names` to locales/de/system.yaml (`en` has it in locales/en/system.yaml)"),
    ("directory.yaml", r"\n    not_rechecked: .*",
     "locales/de:1:1: error[missing-text-key]: text `directory.card.not_rechecked` (a word on every directory card) "
     "has no `de` version", "add `directory.card.not_rechecked` to locales/de/directory.yaml"),
]


@pytest.mark.parametrize(("file", "line", "said", "fix"), MISSING,
                         ids=["a text of a flow", "a text of the code", "the months", "a word of the cards"])
def test_check_names_the_file_and_key_a_language_lacks(shipped_with_german: Path, file: str, line: str,
                                                        said: str, fix: str) -> None:
    path = shipped_with_german / "locales" / "de" / file
    without, count = re.subn(line, "", path.read_text(encoding="utf-8"))
    assert count == 1
    path.write_text(without, encoding="utf-8")
    status, output = run_check(shipped_with_german)
    assert status == 1, output
    assert said in output, output
    assert f"fix: {fix}" in output, output
    with pytest.raises(FlowSetInvalid):
        load(shipped_with_german)


def test_months_that_are_not_twelve_are_an_error_at_the_text(shipped_with_german: Path) -> None:
    path = shipped_with_german / "locales" / "de" / "system.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("November, December", "November"), encoding="utf-8")
    status, output = run_check(shipped_with_german)
    assert status == 1, output
    assert "error[locale-shape]: `sys.month_names` in `de` does not name twelve months" in output, output


def test_a_language_must_be_named_in_every_language(shipped_with_german: Path) -> None:
    system = shipped_with_german / "locales" / "nl" / "system.yaml"
    system.write_text(system.read_text(encoding="utf-8").replace(f"    de: {GERMAN}\n", ""), encoding="utf-8")
    status, output = run_check(shipped_with_german)
    assert status == 1, output
    assert "the language menu needs `sys.language_name.de` in `nl`" in output, output
    assert "fix: add it to locales/nl/system.yaml" in output, output


@pytest.fixture
def fixture_with_german(tmp_path: Path) -> FlowSet:
    project = tmp_path / "fixture"
    shutil.copytree(REPO / "tests" / "fixtures" / "flows", project / "flows")
    shutil.copytree(REPO / "tests" / "fixtures" / "locales", project / "locales")
    add_german(project)
    return load_fixture_flows(project / "flows", project / "locales")


def test_a_user_picks_the_new_language_in_the_menu_and_reads_its_cards(fixture_with_german: FlowSet) -> None:
    """Through the engine, as a person: the menu offers German, and a `show` step sends German cards."""
    chat = Chat(fixture_with_german, TurnContext(today=TODAY, now=NOW, default_lang="nl"))
    at_menu(chat)
    chat.say("taal")
    assert [(c.id, c.label) for c in chat.question.choices] == [("de", GERMAN), ("en", "English"), ("nl", "Nederlands")]
    assert chat.press("de")[0] == "We continue in English."  # locales/de is a copy of English
    assert chat.state.lang == "de"
    chat.command("start")
    _, line, court, _ = chat.press("lines")
    assert line.startswith("Test line\n") and "(checked on 1 November 2026)" in line, line
    assert court.startswith("Test court\n"), court
