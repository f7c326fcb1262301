"""The scenario runner: every file in tests/scenarios/ as its own test, and the runner's own behaviour."""

from __future__ import annotations

import functools
import subprocess
import sys
from pathlib import Path

import pytest

from bot.app import load_flows
from bot.cli import main as cli_main
from bot.flows.flowset import FlowSet
from bot.flows.loader import load_flowset
from bot.scenarios import run_files, scenario_files
from bot.settings import ROOT, Settings
from tests.conftest import FIXTURE_FLOWS, FIXTURE_LOCALES, bot_env, load_fixture_flows
from tests.moderation_kit import edit, line_of, write_flowset

SCENARIOS = ROOT / "tests" / "scenarios"


def shipped_scenarios() -> list[Path]:
    files = scenario_files([SCENARIOS])
    assert files, f"no scenario files in {SCENARIOS}"
    return files


@functools.cache
def shipped() -> FlowSet:
    """Loaded once per run: the shipped set takes most of a second to load and check."""
    return load_flows(Settings())


@pytest.mark.parametrize("path", shipped_scenarios(), ids=lambda p: p.stem)
async def test_scenario(path: Path) -> None:
    report = await run_files([path], shipped(), root=ROOT)
    assert not report.broken, "\n".join(report.broken)
    [result] = report.results
    assert result.ok, "\n" + result.report()


KIT_SCENARIO = """\
name: Ouder vult naam in
lang: nl
turns:
  - user: /start
    expect: ["Wie ben jij?"]
    choices: ["Ouder of verzorger", "Iemand anders"]
  - press: Ouder of verzorger
    expect: ["Hoe heet je?"]
  - user: Sanne
    expect: ["Dank je, Sanne.", "Tot ziens."]
    not: ["Hoe heet je?"]
"""


def kit(tmp_path: Path) -> tuple[Path, Path, Path]:
    flows, locales = write_flowset(tmp_path)
    scenario = tmp_path / "scenarios" / "naam.yaml"
    scenario.parent.mkdir()
    scenario.write_text(KIT_SCENARIO, encoding="utf-8")
    return flows, locales, scenario


async def test_the_runner_catches_a_changed_text_and_shows_the_conversation_diff(tmp_path: Path) -> None:
    flows, locales, scenario = kit(tmp_path)
    settings = Settings(flows_dir=flows, locales_dir=locales)
    passing = await run_files([scenario], load_flowset(flows, locales), settings, root=tmp_path)
    assert passing.ok, passing.results[0].report()

    edit(locales / "nl" / "kit.yaml", "role: Wie ben jij?", "role: Wie bent u?")
    edit(locales / "nl" / "kit.yaml", "thanks: Dank je, {{ name }}.", "thanks: Bedankt, {{ name }}.")
    failing = await run_files([scenario], load_flowset(flows, locales), settings, root=tmp_path)

    assert not failing.ok
    [result] = failing.results
    assert result.failures == [
        "scenarios/naam.yaml:4: turn 1 (> /start): expected 'Wie ben jij?'",
        "scenarios/naam.yaml:9: turn 3 (> Sanne): expected 'Dank je, Sanne.'",
    ]
    diff = result.diff().splitlines()
    assert diff[:2] == ["--- expected (scenarios/naam.yaml)", "+++ got"]
    assert "-Wie ben jij?" in diff and "+Wie bent u?" in diff
    assert "-Dank je, Sanne." in diff and "+Bedankt, Sanne." in diff
    assert " ## turn 3 (line 9) > Sanne" in diff
    report = result.report()
    assert report.startswith("FAIL  scenarios/naam.yaml: Ouder vult naam in\n  - scenarios/naam.yaml:4: turn 1")


async def test_choices_not_and_buttons_are_checked(tmp_path: Path) -> None:
    flows, locales, scenario = kit(tmp_path)
    scenario.write_text(KIT_SCENARIO.replace('"Iemand anders"', '"Grootouder"')
                        .replace('not: ["Hoe heet je?"]', 'not: ["Sanne"]'), encoding="utf-8")
    report = await run_files([scenario], load_flowset(flows, locales), Settings(), root=tmp_path)
    [result] = report.results
    assert result.failures == [
        "scenarios/naam.yaml:4: turn 1 (> /start): expected a choice 'Grootouder'; "
        "offered: ['Ouder of verzorger', 'Iemand anders']",
        "scenarios/naam.yaml:9: turn 3 (> Sanne): 'Sanne' must not appear",
    ]
    diff = result.diff().splitlines()
    assert "-  ?. Grootouder" in diff
    assert "-Dank je, [not: Sanne]." in diff and "+Dank je, Sanne." in diff

    scenario.write_text(KIT_SCENARIO.replace("press: Ouder of verzorger", "press: Opa"), encoding="utf-8")
    [result] = (await run_files([scenario], load_flowset(flows, locales), Settings(), root=tmp_path)).results
    assert result.failures[0] == ("scenarios/naam.yaml:7: turn 2 (> [Opa]): no button 'Opa' in the question before "
                                  "(its buttons: 'Ouder of verzorger', 'Iemand anders')")

    scenario.write_text(KIT_SCENARIO.replace("press: Ouder of verzorger", "press: Ouder of verzorgster"), encoding="utf-8")
    [result] = (await run_files([scenario], load_flowset(flows, locales), Settings(), root=tmp_path)).results
    assert result.failures[0] == ("scenarios/naam.yaml:7: turn 2 (> [Ouder of verzorgster]): no button 'Ouder of verzorgster' "
                                  "in the question before; did you mean 'Ouder of verzorger'? "
                                  "(its buttons: 'Ouder of verzorger', 'Iemand anders')")


async def test_documents_reports_and_a_fixed_date_through_the_fixture_flows(tmp_path: Path) -> None:
    scenario = tmp_path / "brief.yaml"
    scenario.write_text("""\
name: Brief en melding
lang: nl
today: 2026-11-29
turns:
  - user: hallo
    choices: [Een brief schrijven, Iets melden]
  - press: Een brief schrijven
    expect: [Hoe heet je?]
  - user: Sanne
  - user: "15"
  - user: Utrecht
  - user: gisteren
    expect: [Je bent jonger dan 18., Hier is je brief.]
    document: [Ik, Sanne (15), uit Utrecht, besluit van 28 november 2026, Beroep kan tot 28 februari 2027]
  - user: menu
  - press: Opnieuw beginnen
  - press: Iets melden
  - user: Er stond iemand voor de deur
  - press: Ja
    expect: [Je melding is doorgestuurd.]
    report: [Melding uit de testbot, "Wat er gebeurde: Er stond iemand voor de deur"]
""", encoding="utf-8")
    report = await run_files([scenario], load_fixture_flows(), Settings(), root=tmp_path)
    [result] = report.results
    assert result.ok, result.report()

    scenario.write_text(scenario.read_text().replace("28 februari 2027", "1 maart 2027")
                        .replace("Melding uit de testbot", "Melding uit de echte bot"))
    [result] = (await run_files([scenario], load_fixture_flows(), Settings(), root=tmp_path)).results
    assert result.failures == [
        "brief.yaml:12: turn 6 (> gisteren): expected 'Beroep kan tot 1 maart 2027' in the document",
        "brief.yaml:19: turn 11 (> [Ja]): expected 'Melding uit de echte bot' in a report to the safety desk",
    ]
    assert "-| Antwoord graag voor 9 januari 2027. Beroep kan tot 1 maart 2027." in result.diff().splitlines()


async def test_a_broken_scenario_file_is_reported_with_file_and_line(tmp_path: Path) -> None:
    flows, locales, scenario = kit(tmp_path)
    scenario.write_text(KIT_SCENARIO.replace("  - user: Sanne\n", "  - usr: Sanne\n"), encoding="utf-8")
    report = await run_files([scenario], load_flowset(flows, locales), Settings(), root=tmp_path)
    assert not report.ok and report.results == []
    assert report.broken[0].startswith(f"scenarios/naam.yaml:{line_of(scenario, 'usr: Sanne')}:")
    assert "usr" in "\n".join(report.broken)


def test_python_m_bot_test_exit_status_and_output(tmp_path: Path) -> None:
    flows, locales, scenario = kit(tmp_path)
    command = [sys.executable, "-m", "bot", "test", str(scenario), "--flows", str(flows), "--locales", str(locales)]

    ok = subprocess.run(command, capture_output=True, text=True, env=bot_env(), cwd=tmp_path, timeout=120)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout.strip().endswith("1 passed, 0 failed")

    edit(locales / "nl" / "kit.yaml", "role: Wie ben jij?", "role: Wie bent u?")
    failed = subprocess.run(command, capture_output=True, text=True, env=bot_env(), cwd=tmp_path, timeout=120)
    assert failed.returncode == 1
    assert "FAIL  scenarios/naam.yaml: Ouder vult naam in" in failed.stdout
    assert "\n-Wie ben jij?\n+Wie bent u?\n" in failed.stdout
    assert failed.stdout.strip().endswith("0 passed, 1 failed")

    scenario.write_text("name: x\nturns: []\n", encoding="utf-8")
    broken = subprocess.run(command, capture_output=True, text=True, env=bot_env(), cwd=tmp_path, timeout=120)
    assert broken.returncode == 2
    assert "BROKEN scenarios/naam.yaml:2:1: turns:" in broken.stdout


def test_no_scenario_files_is_an_error_not_a_pass(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "none"
    empty.mkdir()
    assert cli_main(["test", str(empty), "--flows", str(FIXTURE_FLOWS), "--locales", str(FIXTURE_LOCALES)]) == 2
    assert f"no scenario files found in {empty}" in capsys.readouterr().err
