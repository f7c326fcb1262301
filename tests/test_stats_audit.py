"""/stats for moderators (counts per week, never a person) and the audit log of moderators' actions."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import pytest

from bot import audit
from bot.cli import main as cli_main
from bot.clock import SYSTEM, FixedClock, iso_week
from tests.moderation_kit import Bot, edit, start_bot

#: The moment these tests run at: today, standing still.
NOW = FixedClock(SYSTEM())


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[Bot]:
    running = await start_bot(tmp_path)
    running.core.clock = NOW  # a week boundary cannot fall between a turn and the assertion
    yield running
    await running.close()


def this_week() -> str:
    """The week the bot counts in (the Dutch ISO week of its clock)."""
    return iso_week(NOW())


async def test_stats_count_starts_and_ends_per_flow_and_week_without_ids_or_texts(bot: Bot) -> None:
    await bot.send("anna1987", "/start")
    await bot.send("anna1987", "Iemand anders")  # -> bye: reaches the end
    await bot.send("bram", "/start")
    await bot.send("bram", "Ouder of verzorger")
    await bot.send("bram", "Geheimnaam")  # -> thanks, bye: reaches the end
    await bot.send("carla", "/start")  # stays at the first question

    [answer] = await bot.send("mod", "/stats")

    assert answer.splitlines()[0] == ("Statistiek van de laatste 8 weken. Alleen aantallen: geen gebruikers, "
                                      f"geen teksten. Nu draait versie {bot.core.flows.version}.")
    assert f"\n{this_week()}\n  main (Testmenu): 3 keer begonnen\n    einde bereikt bij main.bye: 2" in answer
    for private in ("anna1987", "bram", "carla", "Geheimnaam", "console"):
        assert private not in answer
    rows = await bot.core.store.stats()
    assert {(week, event) for week, event, _ in rows} == {(this_week(), "start:main"), (this_week(), "end:main:main.bye")}
    [entry] = await audit.actions(bot.core.store)
    assert (entry.who, entry.action, entry.outcome, entry.version, entry.detail) == (
        "console:mod", "stats", "ok", bot.core.flows.version, "weeks=8")


SIDE_FLOW = """\
flow: side
title: kit.side_title
start: sure
steps:
  sure:
    choose: kit.side_sure
    options:
      - id: yes
        label: kit.side_yes
        next: done
  done:
    end: true
"""


async def test_stats_count_a_called_flow_its_own_start_and_end(bot: Bot) -> None:
    """A flow used through `call` (the menu's deadline or safety route) is counted, not only main."""
    (bot.flows_dir / "side.yaml").write_text(SIDE_FLOW, encoding="utf-8")
    edit(bot.flows_dir / "main.yaml", "set: {role: other}\n        next: bye", "set: {role: other}\n        next: side")
    edit(bot.flows_dir / "main.yaml", "  bye:\n", "  side:\n    call: side\n    next: bye\n  bye:\n")
    for lang, title in (("nl", "Zijpad"), ("en", "Side path")):
        with (bot.locales_dir / lang / "kit.yaml").open("a", encoding="utf-8") as texts:
            texts.write(f"  side_title: {title}\n  side_sure: Zeker?\n  side_yes: Ja zeker\n")
    await bot.send("mod", "/reload")
    assert "side" in bot.core.flows.flows

    await bot.send("anna", "/start")
    assert await bot.send("anna", "Iemand anders") == ["Zeker?", "[Ja zeker]"]
    assert await bot.send("anna", "Ja zeker") == ["Tot ziens."]  # side's end, then back in main at bye
    [answer] = await bot.send("mod", "/stats")

    assert ("\n  main (Testmenu): 1 keer begonnen\n    einde bereikt bij main.bye: 1"
            "\n  side (Zijpad): 1 keer begonnen\n    einde bereikt bij side.done: 1") in answer


async def test_stats_show_crisis_and_forget_counts_and_respect_the_number_of_weeks(bot: Bot) -> None:
    def fill(db: sqlite3.Connection) -> None:
        db.executemany("INSERT INTO stats(week, event, n) VALUES (?, ?, ?)", [
            (this_week(), "crisis:suicide", 2), (this_week(), "forget:main", 1),
            ("2001-W01", "start:main", 40), (this_week(), "start:gone_flow", 1)])

    await bot.core.store.execute(fill)

    [answer] = await bot.send("mod", "/stats 3")

    assert answer.startswith("Statistiek van de laatste 3 weken.")
    assert "\n  crisis herkend: suicide 2\n" in answer
    assert answer.endswith("\n  verzoeken om alles te vergeten: 1")
    assert "\n  gone_flow: 1 keer begonnen\n" in answer  # a flow removed since still counts, without a title
    # the old week's 40 starts are not counted (the flow-set version hash may hold "40", so a line is checked)
    assert "2001-W01" not in answer and "40 keer begonnen" not in answer and "main (Testmenu)" not in answer


async def test_stats_in_the_moderators_language_and_for_nothing_counted(bot: Bot) -> None:
    assert await bot.send("mod", "/stats 1") == [
        "Statistiek van de laatste 1 week. Alleen aantallen: geen gebruikers, geen teksten. "
        f"Nu draait versie {bot.core.flows.version}.\n\nIn deze weken is niets geteld."]
    await bot.send("mod", "/start")  # counted: start:main
    await bot.send("mod", "english")

    [answer] = await bot.send("mod", "/stats")

    assert answer == ("Statistics for the last 8 weeks. Counts only: no users, no texts. "
                      f"Running version {bot.core.flows.version}.\n\n{this_week()}\n"
                      "  main (Test menu): 1 started")


async def test_stats_for_a_non_moderator_is_an_unknown_command(bot: Bot) -> None:
    answer = await bot.send("parent", "/stats")
    assert answer[0] == bot.text("sys.unknown_command")
    assert await audit.actions(bot.core.store) == []


async def test_every_moderator_action_is_in_the_audit_log_and_readable_from_the_cli(
        bot: Bot, capsys: pytest.CaptureFixture[str]) -> None:
    """The CLI runs in a thread because it starts its own event loop, as it does from a shell."""
    first = bot.core.flows.version
    (bot.locales_dir / "nl" / "kit.yaml").write_text(
        (bot.locales_dir / "nl" / "kit.yaml").read_text().replace("Tot ziens.", "Dag!"))
    await bot.send("mod", "/reload")
    second = bot.core.flows.version
    (bot.flows_dir / "main.yaml").write_text("flow: main\nsteps: [")
    await bot.send("mod", "/reload")
    await bot.send("mod", "/stats")
    db = str(bot.core.store.path)

    assert await asyncio.to_thread(cli_main, ["audit", "--db", db]) == 0
    lines = capsys.readouterr().out.splitlines()
    logged = [line for line in lines if not line.startswith("    ")]
    assert len(logged) == 3
    assert logged[0].split()[1:] == ["console:mod", "reload", "ok", "version", second]
    assert logged[1].split()[1:] == ["console:mod", "reload", "failed", "version", second]
    assert logged[2].split()[1:] == ["console:mod", "stats", "ok", "version", second]
    assert f"    from {first}; 1 text(s) changed, added or removed" in lines
    assert any(line.startswith("    flows/main.yaml:") for line in lines)
    for line in logged:
        datetime.fromisoformat(line.split()[0])  # when, as an ISO timestamp

    assert await asyncio.to_thread(cli_main, ["audit", "--db", db, "--versions"]) == 0
    versions = capsys.readouterr().out.splitlines()
    assert [line.split()[2] for line in versions] == [first, second]
    assert [line.split()[-1] for line in versions] == ["(start)", "(chat)"]

    assert await asyncio.to_thread(cli_main, ["audit", "--db", db, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [a["outcome"] for a in data["actions"]] == ["ok", "failed", "ok"]
    assert [v["version"] for v in data["versions"]] == [first, second]
