"""The safety desk over Matrix: a real Synapse, the real adapter, core, store and desk.

A professional talks to the bot in a direct chat; the desk is a group room of
the organisation (WEGWIJZER_DESKS=matrix:<room>). Everything is seen from the
people's own matrix-nio clients: a report arriving at the desk and its claim
acknowledged, a talk relayed both ways, and a missed home-visit check-in
alerting the desk after the bot was restarted. Runs on the shipped flows.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from bot.adapters.matrix import MatrixAdapter
from bot.clock import SYSTEM, FixedClock
from bot.settings import ROOT
from tests.synapse import MatrixUser, Registered, Synapse, synapse_server  # noqa: F401 - fixture
from tests.test_matrix_conversation import running_bot as matrix_bot

pytestmark = pytest.mark.asyncio
REF = re.compile(r"WW-\d{4}-\d{4}")


def running_bot(server: Synapse, account: Registered, where: Path, desk: str | None,
                clock: FixedClock) -> AbstractAsyncContextManager[MatrixAdapter]:
    """The bot as bot.app runs it (every extension, the shipped flows), with a clock the test moves.

    `desk` None: an installation where nobody set up a desk (no WEGWIJZER_DESKS).
    """
    return matrix_bot(server, account, where, clock=clock, flows_dir=ROOT / "flows",
                      locales_dir=ROOT / "locales", desks=f"matrix:{desk}" if desk else "", desk_hours="always")


@asynccontextmanager
async def people(synapse: Synapse, tmp_path: Path) -> AsyncIterator[tuple[Registered, MatrixUser, MatrixUser, str]]:
    """The bot's account, a professional and a desk member with the desk room they made."""
    bot, pro, member = synapse.register("bot"), synapse.register("pro"), synapse.register("deskmember")
    async with MatrixUser(synapse, pro, tmp_path / "pro") as professional, \
            MatrixUser(synapse, member, tmp_path / "member") as desk_member:
        created = await desk_member.client.room_create(name="meldpunt", invite=[bot.user_id])
        yield bot, professional, desk_member, created.room_id


async def next_from_bot(user: MatrixUser, room: str, text: str | None = None, count: int = 1,
                        timeout: float = 20.0) -> list[str]:
    """Say `text` (if any) and return the bot's next `count` messages in the room."""
    before = len(user.from_others(room))
    if text is not None:
        await user.say(room, text)
    seen = await user.wait_for(room, before + count, timeout)
    return [s.body for s in seen[before:]]


async def until(user: MatrixUser, room: str, pattern: str, timeout: float = 20.0) -> str:
    """Wait for the bot's message in the room that contains `pattern`."""
    import asyncio

    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        for seen in user.from_others(room):
            if pattern in seen.body:
                return seen.body
        assert asyncio.get_running_loop().time() < deadline, (
            f"never saw {pattern!r}; saw {[s.body for s in user.from_others(room)]}")
        await asyncio.sleep(0.05)


async def start_visit(pro: MatrixUser, dm: str, address: str) -> None:
    await next_from_bot(pro, dm, "/start huisbezoek")
    await next_from_bot(pro, dm, "2")  # about an hour
    await next_from_bot(pro, dm, "1")  # yes, the address
    await next_from_bot(pro, dm, address)
    [said] = await next_from_bot(pro, dm, "2")  # no name or number (Matrix shows a turn as one message)
    assert said.startswith("Afgesproken. Om ")


async def visit_in_new_chat(pro: MatrixUser, bot: Registered, address: str) -> str:
    """The professional opens a direct chat with the bot and starts a check-in; the chat's room id."""
    dm = await pro.open_direct_chat(bot.user_id)
    await pro.wait_for(dm, 1)  # the greeting
    await start_visit(pro, dm, address)
    return dm


async def test_a_report_arrives_at_the_desk_room_and_the_claim_is_acknowledged(synapse: Synapse, tmp_path: Path) -> None:
    clock = FixedClock(SYSTEM().replace(microsecond=0))
    async with people(synapse, tmp_path) as (bot, pro, member, desk), \
            running_bot(synapse, bot, tmp_path / "bot", desk, clock):
        dm = await visit_in_new_chat(pro, bot, "Lindelaan 4, Zeist")
        [said] = await next_from_bot(pro, dm, "hulp")
        # the flow stops the check-in; the desk says what it did, once the alert is stored for it
        # one Matrix message per turn: the desk's confirmation first, then the flow's own words
        assert said.startswith("Ik heb het veiligheidsloket gewaarschuwd. Het kenmerk is WW-") and "Bel nu 112." in said
        assert said.rstrip().endswith("De check-in is gestopt.")
        ref = REF.search(said).group(0)
        card = await until(member, desk, f"Melding {ref}")
        assert card.startswith(f"🔴 SPOED Melding {ref}: Huisbezoek: professional vraagt om hulp")
        assert "Adres: Lindelaan 4, Zeist" in card
        assert pro.user_id not in card
        answer = await next_from_bot(member, desk, f"!claim {ref}")
        assert answer == [f"{ref} is opgepakt. De melder krijgt daarvan bericht."]
        assert await until(pro, dm, "opgepakt") == f"Team Wegwijzer heeft je melding {ref} opgepakt."


async def test_a_talk_with_the_desk_is_relayed_both_ways(synapse: Synapse, tmp_path: Path) -> None:
    clock = FixedClock(SYSTEM().replace(microsecond=0))
    async with people(synapse, tmp_path) as (bot, pro, member, desk), \
            running_bot(synapse, bot, tmp_path / "bot", desk, clock):
        dm = await pro.open_direct_chat(bot.user_id)
        await pro.wait_for(dm, 1)
        [said] = await next_from_bot(pro, dm, "mens")
        ref = REF.search(said).group(0)
        card = await until(member, desk, f"({ref})")
        pseudonym = card.split(" wil ")[0].split(" ", 1)[1]
        assert pro.user_id not in card
        await next_from_bot(member, desk, f"/claim {ref}", count=1)
        assert (await until(pro, dm, "is er nu voor je")).startswith("Team Wegwijzer is er nu voor je.")
        # professional -> desk
        await pro.say(dm, "Er staat iemand voor mijn deur")
        relayed = await until(member, desk, "voor mijn deur")
        assert relayed == f"{pseudonym} ({ref}): Er staat iemand voor mijn deur"
        relayed_id = next(e for e in await _events(member, desk) if e["body"] == relayed)["event_id"]
        # desk -> professional: an Element reply to the relayed message, and a command
        await member.client.room_send(desk, "m.room.message", {
            "msgtype": "m.text",
            "body": f"> <{bot.user_id}> {relayed}\n\nBlijf binnen, ik bel de politie.",
            "m.relates_to": {"m.in_reply_to": {"event_id": relayed_id}},
        })
        assert await until(pro, dm, "Blijf binnen") == "Team Wegwijzer: Blijf binnen, ik bel de politie."
        await member.say(desk, f"!r {ref} Ze zijn onderweg.")
        assert await until(pro, dm, "onderweg") == "Team Wegwijzer: Ze zijn onderweg."
        assert member.user_id not in " ".join(s.body for s in pro.from_others(dm))
        # the professional ends it
        await pro.say(dm, "stop")
        await until(pro, dm, "Het gesprek is beëindigd. We gaan verder waar je was.")
        assert await until(member, desk, "beëindigd") == f"{pseudonym} heeft het gesprek {ref} beëindigd."


async def test_a_relayed_at_room_or_name_pings_no_desk_member(synapse: Synapse, tmp_path: Path) -> None:
    """A user's "@room" or a member's name, relayed into the desk room, is text: no mention, no highlight."""
    clock = FixedClock(SYSTEM().replace(microsecond=0))
    async with people(synapse, tmp_path) as (bot, pro, member, desk), \
            running_bot(synapse, bot, tmp_path / "bot", desk, clock):
        dm = await pro.open_direct_chat(bot.user_id)
        await pro.wait_for(dm, 1)
        [said] = await next_from_bot(pro, dm, "mens")
        ref = REF.search(said).group(0)
        await until(member, desk, f"({ref})")
        await next_from_bot(member, desk, f"/claim {ref}", count=1)
        await until(pro, dm, "is er nu voor je")
        await pro.say(dm, f"@room {member.account.localpart} {member.user_id} kom snel")
        relayed = await until(member, desk, "kom snel")
        from nio import RoomMessagesResponse

        resp = await member.client.room_messages(desk, start="", limit=100)
        assert isinstance(resp, RoomMessagesResponse), resp
        [event] = [e for e in resp.chunk if getattr(e, "body", "") == relayed]
        assert event.source["content"]["m.mentions"] == {}
        # what the member's phone does with it: Synapse's push rules, as its notification list shows them
        listed = synapse.request("GET", "/_matrix/client/v3/notifications", token=member.account.access_token)
        [notice] = [n for n in listed["notifications"] if n["event"]["event_id"] == event.event_id]
        assert not any(isinstance(a, dict) and a.get("set_tweak") == "highlight" and a.get("value", True)
                       for a in notice["actions"]), notice["actions"]


async def test_a_missed_check_in_alerts_the_desk_after_a_restart_of_the_bot(synapse: Synapse, tmp_path: Path) -> None:
    clock = FixedClock(SYSTEM().replace(microsecond=0))
    async with people(synapse, tmp_path) as (bot, pro, member, desk):
        async with running_bot(synapse, bot, tmp_path / "bot", desk, clock):
            dm = await visit_in_new_chat(pro, bot, "Kerkstraat 9, Houten")
        # the bot is down while the visit runs over; it comes back an hour later
        clock.advance(minutes=61)
        async with running_bot(synapse, bot, tmp_path / "bot", desk, clock):
            asked = await until(pro, dm, "Ben je veilig?")
            assert asked.startswith("Je huisbezoek zou nu voorbij zijn.")
        clock.advance(minutes=11)  # down again; no answer within the grace period
        async with running_bot(synapse, bot, tmp_path / "bot", desk, clock):
            alert = await until(member, desk, "geen antwoord op de check-in")
            assert "Adres: Kerkstraat 9, Houten" in alert and alert.startswith("🔴 SPOED Melding WW-")
            ref = REF.search(alert).group(0)
            told = await until(pro, dm, "Je gaf geen antwoord")
            assert f"Je gaf geen antwoord, dus ik heb het veiligheidsloket gewaarschuwd. Het kenmerk is {ref}." in told
            assert "Is er direct gevaar? Bel 112." in told


async def test_without_a_desk_the_check_in_never_says_it_alerted_anyone(synapse: Synapse, tmp_path: Path) -> None:
    """No WEGWIJZER_DESKS: a missed check-in and a call for help both say plainly that nobody was alerted."""
    clock = FixedClock(SYSTEM().replace(microsecond=0))
    async with people(synapse, tmp_path) as (bot, pro, member, room), \
            running_bot(synapse, bot, tmp_path / "bot", None, clock):
        dm = await pro.open_direct_chat(bot.user_id)
        await pro.wait_for(dm, 1)
        [intro] = await next_from_bot(pro, dm, "/start huisbezoek")
        assert "er is hier geen veiligheidsloket ingesteld. Ik kan dus niemand waarschuwen" in intro  # said up front
        await next_from_bot(pro, dm, "1")  # yes, just a reminder
        [said] = await next_from_bot(pro, dm, "2")  # about an hour; no address is asked
        assert said.startswith("Afgesproken. Om ")
        clock.advance(minutes=61)
        await until(pro, dm, "Ben je veilig?")
        clock.advance(minutes=11)  # no answer within the grace period
        told = await until(pro, dm, "Je gaf geen antwoord")
        assert "Je gaf geen antwoord. Er is hier geen veiligheidsloket ingesteld, dus ik heb niemand gewaarschuwd." in told
        assert "Is er direct gevaar? Bel 112." in told
        [said] = await next_from_bot(pro, dm, "hulp")  # the question stays; now they ask for help
        assert ("Er is hier geen veiligheidsloket ingesteld. Ik heb niemand gewaarschuwd.\n"
                "Is er direct gevaar? Bel nu 112.") in said
        everything = " ".join(s.body for s in pro.from_others(dm))
        assert "ik heb het veiligheidsloket gewaarschuwd" not in everything.lower() and not REF.search(everything)
        assert not any("Melding" in s.body for s in member.from_others(room))  # nothing reached the room


async def _events(user: MatrixUser, room: str) -> list[dict[str, Any]]:
    """The room's text events as the member's client has them (event id and body)."""
    from nio import RoomMessagesResponse

    resp = await user.client.room_messages(room, start="", limit=100)
    assert isinstance(resp, RoomMessagesResponse), resp
    return [{"event_id": e.event_id, "body": getattr(e, "body", "")} for e in resp.chunk]
