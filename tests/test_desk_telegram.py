"""The safety desk over Telegram: the real adapter and python-telegram-bot against the fake Bot API.

A professional talks to the bot in a private chat; the desk is a Telegram
group of the organisation (WEGWIJZER_DESKS=telegram:<group id>). A report
arriving in the group and its claim acknowledged, a talk relayed both ways
(a reply to the relayed message and /r), and a missed home-visit check-in
alerting the desk after the bot was restarted. Runs on the shipped flows.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from bot.clock import SYSTEM, FixedClock
from bot.settings import ROOT
from tests.fakes.telegram_api import FakeTelegram, Sent
from tests.telegram_fixtures import Person, RunningBot, telegram, telegram_settings

__all__ = ["telegram"]  # fixture used by name below

pytestmark = pytest.mark.asyncio
REF = re.compile(r"WW-\d{4}-\d{4}")
JSON = dict[str, Any]


class Desk:
    """The organisation's desk group and one member in it."""

    def __init__(self, tg: FakeTelegram) -> None:
        self.tg = tg
        self.group = tg.new_group("Meldpunt")
        self.member = tg.new_user("Sanne", language_code="nl")

    @property
    def messages(self) -> list[Sent]:
        return self.tg.transcript(self.group)

    async def wait_for(self, text: str, timeout: float = 10.0) -> Sent:
        await self.tg.wait_until(lambda: any(text in s.text for s in self.messages), timeout)
        return next(s for s in self.messages if text in s.text)

    async def command(self, name: str, args: str = "") -> list[Sent]:
        return await self._do(lambda: self.tg.send_command(self.member, name, args, chat=self.group, addressed=True))

    async def reply(self, to: Sent, text: str) -> list[Sent]:
        return await self._do(lambda: self.tg.send_text(self.member, text, chat=self.group, reply_to=to.message_id))

    async def chat(self, text: str) -> list[Sent]:
        return await self._do(lambda: self.tg.send_text(self.member, text, chat=self.group))

    async def _do(self, inject: Any) -> list[Sent]:
        before = len(self.messages)
        update = inject()
        await self.tg.wait_confirmed(update, timeout=10)
        return self.messages[before:]


@pytest_asyncio.fixture
async def desk(telegram: FakeTelegram) -> Desk:
    return Desk(telegram)


async def start_bot(tg: FakeTelegram, tmp_path: Path, desk: Desk, clock: FixedClock) -> RunningBot:
    settings = telegram_settings(tg, tmp_path / "wegwijzer.sqlite3", flows_dir=ROOT / "flows",
                                 locales_dir=ROOT / "locales", desks=f"telegram:{desk.group['id']}",
                                 desk_hours="always", flood_per_minute=0)
    bot = await RunningBot(settings).start()
    bot.core.clock = clock
    return bot


@pytest_asyncio.fixture
async def clock() -> FixedClock:
    return FixedClock(SYSTEM().replace(microsecond=0))


@pytest_asyncio.fixture
async def bot(telegram: FakeTelegram, tmp_path: Path, desk: Desk, clock: FixedClock) -> AsyncIterator[RunningBot]:
    running = await start_bot(telegram, tmp_path, desk, clock)
    try:
        yield running
    finally:
        await running.stop()


async def until(person: Person, text: str, timeout: float = 10.0) -> str:
    await person.tg.wait_until(lambda: any(text in s.text for s in person.transcript), timeout)
    return next(s.text for s in person.transcript if text in s.text)


async def start_visit(pro: Person, bot: RunningBot, address: str) -> None:
    await pro.command("start", "huisbezoek")
    await pro.presses(bot.label("checkin", "how_long", "m60"))
    await pro.presses(bot.label("checkin", "share_address", "yes"))
    await pro.says(address)
    said = await pro.presses(bot.label("checkin", "share_contact", "no"))
    assert said[0].text.startswith("Afgesproken. Om ")


async def test_a_report_arrives_in_the_desk_group_and_the_claim_is_acknowledged(
        telegram: FakeTelegram, bot: RunningBot, desk: Desk) -> None:
    pro = Person(telegram, "Jeugdbeschermer")
    await start_visit(pro, bot, "Lindelaan 4, Zeist")
    await pro.presses(bot.label("checkin", "during", "help"))
    alerted = await until(pro, "Ik heb het veiligheidsloket gewaarschuwd.")  # the desk says it has the alert ...
    texts = [s.text for s in pro.transcript]
    assert texts.index(alerted) < texts.index(bot.text("checkin.help_stopped"))  # ... before the flow's words
    ref = REF.search(alerted).group(0)
    card = await desk.wait_for(f"Melding {ref}")
    assert card.text.startswith(f"🔴 SPOED Melding {ref}: Huisbezoek: professional vraagt om hulp")
    assert "Adres: Lindelaan 4, Zeist" in card.text
    assert str(pro.user["id"]) not in card.text and "Jeugdbeschermer" not in card.text
    [answer] = await desk.command("claim", ref)
    assert answer.text == f"{ref} is opgepakt. De melder krijgt daarvan bericht."
    assert await until(pro, "opgepakt") == f"Team Wegwijzer heeft je melding {ref} opgepakt."


async def test_a_talk_with_the_desk_is_relayed_both_ways(telegram: FakeTelegram, bot: RunningBot, desk: Desk) -> None:
    parent = Person(telegram, "Ouder")
    await parent.command("start")
    said = await parent.says("mens")
    ref = REF.search(" ".join(s.text for s in said)).group(0)
    card = await desk.wait_for(f"({ref})")
    pseudonym = card.text.split(" wil ")[0].split(" ", 1)[1]
    await desk.command("claim", ref)
    assert (await until(parent, "is er nu voor je")).startswith("Team Wegwijzer is er nu voor je.")
    # parent -> desk
    await parent.says("Mijn zoon is weggelopen")
    relayed = await desk.wait_for("weggelopen")
    assert relayed.text == f"{pseudonym} ({ref}): Mijn zoon is weggelopen"
    # desk -> parent: a reply to the relayed message, and /r; talk in the group stays in the group
    assert await desk.reply(relayed, "Sinds wanneer is hij weg?") == []
    assert parent.transcript[-1].text == "Team Wegwijzer: Sinds wanneer is hij weg?"
    await desk.command("r", f"{ref} Heb je de politie al gebeld?")
    assert parent.transcript[-1].text == "Team Wegwijzer: Heb je de politie al gebeld?"
    before = len(parent.transcript)
    await desk.chat("Ik neem deze, jij de volgende")
    assert len(parent.transcript) == before
    assert "Sanne" not in " ".join(s.text for s in parent.transcript)
    # the parent ends it
    said = await parent.says("stop")
    assert said[0].text == "Het gesprek is beëindigd. We gaan verder waar je was."
    assert (await desk.wait_for("beëindigd")).text == f"{pseudonym} heeft het gesprek {ref} beëindigd."


async def test_a_missed_check_in_alerts_the_desk_after_a_restart_of_the_bot(
        telegram: FakeTelegram, tmp_path: Path, desk: Desk, clock: FixedClock) -> None:
    bot = await start_bot(telegram, tmp_path, desk, clock)
    pro = Person(telegram, "Jeugdbeschermer")
    try:
        await start_visit(pro, bot, "Kerkstraat 9, Houten")
    finally:
        await bot.stop()
    clock.advance(minutes=61)  # the bot was down while the visit ran over
    bot = await start_bot(telegram, tmp_path, desk, clock)
    try:
        asked = await until(pro, "Ben je veilig?")
        assert asked.startswith("Je huisbezoek zou nu voorbij zijn.")
    finally:
        await bot.stop()
    clock.advance(minutes=11)  # down again; nobody answered within the grace period
    bot = await start_bot(telegram, tmp_path, desk, clock)
    try:
        alert = await desk.wait_for("geen antwoord op de check-in")
        assert alert.text.startswith("🔴 SPOED Melding WW-") and "Adres: Kerkstraat 9, Houten" in alert.text
        told = await until(pro, "Je gaf geen antwoord")
        assert told.startswith("Je gaf geen antwoord, dus ik heb het veiligheidsloket gewaarschuwd.")
    finally:
        await bot.stop()


async def test_a_channel_post_forwarded_into_the_desk_group_is_not_a_desk_member(
        telegram: FakeTelegram, bot: RunningBot, desk: Desk) -> None:
    """A channel linked to the desk group has its posts copied in by Telegram ("Telegram", id 777000):
    whoever can post in that channel must not claim, answer or end a talk."""
    parent = Person(telegram, "Ouder")
    await parent.command("start")
    said = await parent.says("mens")
    ref = REF.search(" ".join(s.text for s in said)).group(0)
    await desk.wait_for(f"({ref})")
    channel = telegram.new_channel("Nieuws van de organisatie")
    before_desk, before_parent = len(desk.messages), len(parent.transcript)
    for text in (f"/claim {ref}", f"/r {ref} Stuur me je adres", "/queue"):
        update = telegram.channel_post_forwarded(channel, desk.group, text)
        await telegram.wait_confirmed(update, timeout=10)
    assert desk.messages[before_desk:] == [], "the bot answered a channel post in the desk group"
    assert parent.transcript[before_parent:] == [], "a channel post reached the person"
    [answer] = await desk.command("claim", ref)  # the real member still can
    assert answer.text.startswith(f"{ref} is opgepakt. Je praat nu met ")
