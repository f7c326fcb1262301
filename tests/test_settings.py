"""Settings as an operator writes them in the environment, and what start-up says when one is wrong."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from bot.settings import Settings
from tests.conftest import FIXTURE_FLOWS, FIXTURE_LOCALES, PYTHON, TODAY, bot_env


def settings_from(monkeypatch: pytest.MonkeyPatch, **env: str) -> Settings:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return Settings(_env_file=None)  # type: ignore[call-arg]


@pytest.mark.parametrize("value", [
    "telegram:123,console:local",
    " telegram:123 , console:local ,",
    '["telegram:123", "console:local"]',
], ids=["commas", "commas-with-spaces", "json"])
def test_moderators_are_written_like_desks_or_as_json(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    settings = settings_from(monkeypatch, WEGWIJZER_MODERATORS=value)
    assert settings.moderators == ["telegram:123", "console:local"]


def test_one_moderator_and_none(monkeypatch: pytest.MonkeyPatch) -> None:
    assert settings_from(monkeypatch, WEGWIJZER_MODERATORS="telegram:123").moderators == ["telegram:123"]
    assert settings_from(monkeypatch, WEGWIJZER_MODERATORS="").moderators == []


def start(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """`python -m bot check` on the fixture flows: start-up reads every setting."""
    return subprocess.run(
        [PYTHON, "-m", "bot", "check", str(FIXTURE_FLOWS), "--locales", str(FIXTURE_LOCALES), "--today", TODAY.isoformat()],
        capture_output=True, text=True, env=bot_env(**env), cwd=tmp_path, timeout=60)


def test_comma_separated_moderators_start_the_bot(tmp_path: Path) -> None:
    done = start(tmp_path, WEGWIJZER_MODERATORS="telegram:123,console:local")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1].startswith("ok: "), done.stdout  # warnings about the facts may come first


@pytest.mark.parametrize(("env", "variable", "expected"), [
    ({"WEGWIJZER_MODERATORS": '["telegram:123"'}, "WEGWIJZER_MODERATORS", "not a JSON list"),
    ({"WEGWIJZER_RETENTION_DAYS": "dertig"}, "WEGWIJZER_RETENTION_DAYS", "valid integer"),
    ({"WEGWIJZER_DESKS": "telegram"}, "WEGWIJZER_DESKS", "a desk is written platform:room"),
    ({"WEGWIJZER_DB_SYNCHRONOUS": "sometimes"}, "WEGWIJZER_DB_SYNCHRONOUS", "NORMAL|FULL"),
], ids=["moderators-json", "retention-days", "desks", "db-synchronous"])
def test_a_wrong_setting_is_one_line_naming_the_variable_and_exit_2(tmp_path: Path, env: dict[str, str],
                                                                   variable: str, expected: str) -> None:
    done = start(tmp_path, **env)
    assert done.returncode == 2
    assert done.stdout == ""
    [line] = done.stderr.splitlines()
    assert line.startswith(f"{variable}: ")
    assert expected in line
    assert "(expected: " in line  # what the setting is for, from its description


def test_the_line_about_a_wrong_setting_does_not_repeat_its_value(tmp_path: Path) -> None:
    """The value may be a secret pasted into the wrong variable."""
    done = start(tmp_path, WEGWIJZER_TELEGRAM_WEBHOOK_PORT="123456:AAE-geheim")
    assert done.returncode == 2
    assert done.stderr.startswith("WEGWIJZER_TELEGRAM_WEBHOOK_PORT: ")
    assert "geheim" not in done.stdout + done.stderr
