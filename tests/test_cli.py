"""`python -m bot ...` as an operator types it: where the options go, read-only commands, quiet runs.

The commands run in this process through `bot.cli.main` (the same parser and
functions as `python -m bot`), in an empty working directory, so the default
database (data/wegwijzer.sqlite3) would appear there if an option were lost.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import subprocess
from pathlib import Path

import pytest

from bot import audit
from bot.app import SCHEMA
from bot.cli import main
from bot.crypto import new_key
from bot.store import Store
from tests.conftest import FIXTURE_FLOWS, FIXTURE_LOCALES, PYTHON, TODAY, bot_env, load_fixture_flows

DEFAULT_DB = Path("data/wegwijzer.sqlite3")

SCENARIO = """\
name: {name}
lang: nl
turns:
  - user: hallo
    expect: ["Welkom bij de testbot."]
    choices: [Een brief schrijven, Iets melden]
  - press: Iets melden
  - user: Er stond iemand voor de deur
  - press: Ja
    expect: [Je melding is doorgestuurd.]
"""


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working directory and no WEGWIJZER_* from the machine running the tests."""
    for name in [n for n in os.environ if n.startswith("WEGWIJZER_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def placed(options: list[str], command: list[str], where: str) -> list[str]:
    """`--db x purge` (top) or `purge --db x` (sub)."""
    return [*options, *command] if where == "top" else [*command, *options]


def record_reload(db: Path) -> None:
    async def write() -> None:
        store = await Store.open(db, schema=SCHEMA)
        try:
            await audit.record_action(store, audit.AuditEntry("2026-11-29T10:00:00+00:00", "telegram:42",
                                                              "reload", "ok", "abc123"))
        finally:
            await store.close()

    asyncio.run(write())


WHERE = pytest.mark.parametrize("where", ["top", "sub"])


@WHERE
def test_audit_reads_the_database_given_before_or_after_the_command(workdir: Path, where: str,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    other = workdir / "other.sqlite3"
    record_reload(other)
    assert main(placed(["--db", str(other)], ["audit"], where)) == 0
    out = capsys.readouterr().out
    assert "telegram:42" in out and "reload" in out and "version abc123" in out
    assert not DEFAULT_DB.exists()


@WHERE
@pytest.mark.parametrize(("command", "says"), [
    ("purge", "purged (conversations older than 30 days"),
    ("rotate-keys", "re-encrypted 0 value(s) with the current key"),
])
def test_writing_commands_work_on_the_database_given_before_or_after_them(
        workdir: Path, where: str, command: str, says: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("WEGWIJZER_ENCRYPTION_KEYS", new_key())  # rotate-keys needs one, purge does not mind
    other = workdir / "other.sqlite3"
    assert main(placed(["--db", str(other)], [command], where)) == 0
    assert capsys.readouterr().out.startswith(says)
    assert other.is_file()
    assert not DEFAULT_DB.exists()


@WHERE
def test_chat_keeps_the_conversation_in_the_database_given_before_or_after_the_command(
        workdir: Path, where: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    other = workdir / "other.sqlite3"
    flowset = ["--flows", str(FIXTURE_FLOWS), "--locales", str(FIXTURE_LOCALES)]
    monkeypatch.setattr("sys.stdin", io.StringIO("hallo\n"))
    assert main(placed(["--db", str(other), *flowset], ["chat", "--json"], where)) == 0
    first = json.loads(capsys.readouterr().out.splitlines()[0])
    assert first["text"] == "Welkom bij de testbot."  # the fixture flows: --flows/--locales arrived too
    assert other.is_file()
    assert not DEFAULT_DB.exists()


@WHERE
def test_check_and_test_use_the_flows_given_before_or_after_the_command(
        workdir: Path, where: str, capsys: pytest.CaptureFixture[str]) -> None:
    scenario = workdir / "melding.yaml"
    scenario.write_text(SCENARIO.format(name="Melding"), encoding="utf-8")
    flowset = ["--flows", str(FIXTURE_FLOWS), "--locales", str(FIXTURE_LOCALES), "--today", TODAY.isoformat()]

    assert main(placed(flowset, ["check"], where)) == 0
    fixture = load_fixture_flows()
    assert capsys.readouterr().out.splitlines()[-1].startswith(
        f"ok: {len(fixture.flows)} flows, 2 languages, {len(fixture.cards)} directory entries")  # not the shipped set

    assert main(placed(flowset, ["test", str(scenario)], where)) == 0
    assert capsys.readouterr().out.strip().endswith("1 passed, 0 failed")


@WHERE
def test_audit_of_a_database_that_does_not_exist_is_an_error_and_creates_nothing(
        workdir: Path, where: str, capsys: pytest.CaptureFixture[str]) -> None:
    typo = workdir / "wegwijzr.sqlite3"
    assert main(placed(["--db", str(typo)], ["audit"], where)) == 2
    seen = capsys.readouterr()
    assert seen.out == ""
    assert seen.err == f"no database at {typo}: check --db or WEGWIJZER_DB (this command only reads one)\n"
    assert list(workdir.iterdir()) == []  # no database, no -wal/-shm, no data/


def test_audit_without_any_database_names_the_default_one(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "--versions"]) == 2
    assert capsys.readouterr().err.startswith(f"no database at {DEFAULT_DB}:")
    assert list(workdir.iterdir()) == []


def test_a_scenario_run_says_each_start_up_warning_once(tmp_path: Path) -> None:
    for number in range(4):
        (tmp_path / f"melding-{number}.yaml").write_text(SCENARIO.format(name=f"Melding {number}"), encoding="utf-8")
    done = subprocess.run(
        [PYTHON, "-m", "bot", "test", str(tmp_path), "--flows", str(FIXTURE_FLOWS), "--locales", str(FIXTURE_LOCALES),
         "--db", str(tmp_path / "unused.sqlite3")],
        capture_output=True, text=True, env=bot_env(), cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip().endswith("4 passed, 0 failed")
    lines = [line.split(" ", 2)[2] for line in done.stderr.splitlines()]  # without the time stamp
    assert sum("no WEGWIJZER_DESKS" in line for line in lines) == 1, done.stderr
    assert len(lines) == len(set(lines)), done.stderr  # nothing repeated per scenario
