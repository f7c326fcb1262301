"""Flood: 200 messages from one user in one second. That user is slowed down politely;
everybody else is answered as if nothing happened.

The limit is the settings' `flood_per_minute` (30): a burst of 30, then one message
every two seconds. Messages over the limit are claimed (marked handled, never run
later, not even when Telegram delivers them again) but not run; the first one in a
window gets `sys.flood`, the others nothing. Telegram's polling applies the limit when
updates arrive instead (tests/test_telegram_hostile.py has its head-of-line tests). The limiter's clock is a fake one the
tests move by hand, so nothing here depends on how fast the machine is.
"""

from __future__ import annotations

import asyncio
import functools
from collections import Counter
from pathlib import Path

import pytest

from bot.app import SCHEMA, load_flows
from bot.core import Core
from bot.engine import Turn
from bot.events import Command, ConversationKey, Incoming, Text, Timer
from bot.features import Hooks
from bot.flood import FloodLimiter, Verdict
from bot.flows.flowset import FlowSet
from bot.settings import Settings
from bot.store import Store
from bot.testing import CaptureOutlet
from tests.fakes.telegram_api import FakeTelegram
from tests.telegram_fixtures import Person, RunningBot, telegram_settings


@functools.cache
def shipped() -> FlowSet:
    return load_flows(Settings(_env_file=None))  # type: ignore[call-arg]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now




def flood_text(lang: str = "nl") -> str:
    return shipped().render(lang, "sys.flood", {})


# ---------------------------------------------------------------- the limiter alone


def test_a_burst_up_to_the_limit_passes_then_one_notice_then_silence() -> None:
    clock = Clock()
    limiter = FloodLimiter(30, clock=clock)
    verdicts = [limiter.check("telegram\x1f1") for _ in range(40)]
    assert verdicts == [Verdict.PASS] * 30 + [Verdict.NOTICE] + [Verdict.DROP] * 9
    assert limiter.check("telegram\x1f2") is Verdict.PASS  # somebody else: their own bucket


def test_the_bucket_leaks_one_message_per_interval_and_tells_again_next_window() -> None:
    clock = Clock()
    limiter = FloodLimiter(30, clock=clock)
    for _ in range(31):
        limiter.check("u")
    clock.now += 2.0  # 60 s / 30: room for exactly one more
    assert limiter.check("u") is Verdict.PASS
    assert limiter.check("u") is Verdict.DROP  # told less than a window ago
    clock.now += 60.0
    assert [limiter.check("u") for _ in range(31)][-1] is Verdict.NOTICE  # a new window: told again


def test_users_idle_for_a_window_are_forgotten() -> None:
    clock = Clock()
    limiter = FloodLimiter(30, clock=clock)
    for user in range(100):
        limiter.check(f"telegram\x1f{user}")
    assert len(limiter) == 100
    clock.now += 61.0
    limiter.check("telegram\x1fsomeone")
    assert len(limiter) == 1


def test_zero_turns_the_limit_off() -> None:
    limiter = FloodLimiter(0, clock=Clock())
    assert {limiter.check("u") for _ in range(1000)} == {Verdict.PASS}


def test_the_flood_text_exists_in_every_language() -> None:
    for lang in shipped().locales.languages:
        assert shipped().locales.has(lang, "sys.flood")


# ---------------------------------------------------------------- through the core


async def make_core(tmp_path: Path, clock: Clock) -> tuple[Core, CaptureOutlet, Counter[str]]:
    db = tmp_path / "wegwijzer.sqlite3"
    core = Core(Settings(_env_file=None, db=db), await Store.open(db, schema=SCHEMA), shipped())  # type: ignore[call-arg]
    core.flood = FloodLimiter(core.settings.flood_per_minute, clock=clock)
    outlet = CaptureOutlet(platform="telegram")
    core.register(outlet)
    turns: Counter[str] = Counter()

    def count(incoming: Incoming, turn: Turn) -> None:
        turns[incoming.key.user] += 1

    core.add(Hooks(watch=count))
    return core, outlet, turns


def key(user: str) -> ConversationKey:
    return ConversationKey("telegram", user, user)


async def test_200_messages_in_a_second_are_slowed_down_politely_and_others_are_not(tmp_path: Path) -> None:
    clock = Clock()
    core, outlet, turns = await make_core(tmp_path, clock)
    others = ["anna", "bram", "cem"]
    sent_by = Counter[str]()
    try:
        for batch in range(20):  # 200 flood messages over one second, others talking in between
            jobs = []
            for n in range(batch * 10, batch * 10 + 10):
                clock.now = 1000.0 + n * 0.005
                jobs.append(core.handle(Incoming(key("flood"), Text(f"hallo {n}"), f"tg:f{n}", "nl")))
            for user in others:
                event = Command("start") if batch == 0 else Text("hulp")
                jobs.append(core.handle(Incoming(key(user), event, f"tg:{user}{batch}", "nl")))
                sent_by[user] += 1
            await asyncio.gather(*jobs)

        assert turns["flood"] == 30, "the burst the limit allows, and not one message more"
        assert outlet.texts("flood").count(flood_text()) == 1, "told exactly once"
        for user in others:
            assert turns[user] == sent_by[user] == 20, f"{user} was slowed down too"
            assert outlet.texts(user) and flood_text() not in outlet.texts(user)

        # every flooded update was claimed: Telegram delivering one again changes nothing
        assert await core.handle(Incoming(key("flood"), Text("hallo 150"), "tg:f150", "nl")) is None
        assert await core.handle(Incoming(key("flood"), Text("hallo 5"), "tg:f5", "nl")) is None
        assert await core.store.pending_outbox() == []

        # a minute later the user simply goes on, without another notice
        clock.now += 61.0
        before = len(outlet.texts("flood"))
        assert await core.handle(Incoming(key("flood"), Text("hulp"), "tg:later", "nl"))
        assert turns["flood"] == 31
        assert flood_text() not in outlet.texts("flood")[before:]
    finally:
        await core.store.close()


async def test_timers_and_the_console_are_never_limited(tmp_path: Path) -> None:
    clock = Clock()
    core, _outlet, turns = await make_core(tmp_path, clock)
    try:
        console = ConversationKey("console", "local", "local")
        for n in range(40):
            await core.handle(Incoming(console, Text("hulp"), f"c:{n}"))
        assert turns["local"] == 40
        await core.handle(Incoming(key("eva"), Command("start"), "tg:e0", "nl"))
        for n in range(40):
            await core.handle(Incoming(key("eva"), Timer("unknown"), f"timer:{n}"))
        assert turns["eva"] == 41
    finally:
        await core.store.close()


# ---------------------------------------------------------------- through Telegram


async def test_a_flood_through_telegram_is_confirmed_and_others_get_every_answer(tmp_path: Path) -> None:
    async with FakeTelegram() as tg:
        bot = await RunningBot(telegram_settings(tg, tmp_path / "db.sqlite3")).start()
        try:
            clock = Clock()  # frozen: the whole flood falls in one instant of the limiter's time
            bot.core.flood = FloodLimiter(bot.settings.flood_per_minute, clock=clock)
            turns: Counter[str] = Counter()
            bot.core.add(Hooks(watch=lambda incoming, turn: turns.update([incoming.key.user])))
            flooder, calm = Person(tg, "Spammer"), [Person(tg, f"Ouder {i}") for i in range(3)]
            for person in calm:
                await person.command("start")
            flood = [tg.send_text(flooder.user, f"hallo {n}") for n in range(200)]
            asked = [await person.says("hulp") for person in calm]  # while the flood is queued
            for update in flood:
                await tg.wait_confirmed(update, timeout=60)

            # Telegram applies the limit on arrival (bot/adapters/lanes.py): once the flooder is over
            # it, what still waited in their chat is dropped too, so the flood holds up nobody
            # a bound, not a count: how many of the admitted ones ran before the first refusal dropped
            # the rest of their chat depends on the lanes' timing; never more than the limit
            assert 1 <= turns[str(flooder.user["id"])] <= bot.settings.flood_per_minute
            assert [sent.text for sent in flooder.transcript].count(flood_text()) == 1
            for person, answer in zip(calm, asked, strict=True):
                assert turns[str(person.user["id"])] == 2
                assert answer, "a calm user got no answer during the flood"
                assert flood_text() not in [sent.text for sent in person.transcript]
            assert tg.pending_updates == []
        finally:
            await bot.stop()


@pytest.mark.parametrize("lang", ["en"])
async def test_the_notice_speaks_the_users_language(tmp_path: Path, lang: str) -> None:
    clock = Clock()
    core, outlet, _ = await make_core(tmp_path, clock)
    try:
        for n in range(31):
            await core.handle(Incoming(key("zoe"), Text("help"), f"tg:z{n}", lang))
        assert outlet.texts("zoe")[-1] == flood_text(lang)
    finally:
        await core.store.close()
