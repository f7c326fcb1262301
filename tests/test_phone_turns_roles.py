"""Every button of the separation and role flows, pressed: no turn sends more than a phone shows.

Why: the scenarios walk the paths a person usually takes; these flows offer many "Meer: ..."
buttons, and a card seen before adds a message of its own ("Eerder in dit gesprek zag je
al ..."). A card moved to the wrong step would make one button's turn a wall again without any
scenario noticing. So each question of these flows is reached, and each of its buttons pressed,
in a fresh conversation (the way there replayed), and every turn is counted as a phone shows it.
The letter (typed answers) and the complaint route a foster parent is sent to are walked by
their scenarios; here the walk stops where typing starts or the flow is left.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.app import build_core
from bot.events import Send
from bot.flows.loader import load_flows
from bot.settings import Settings
from bot.testing import CaptureOutlet, ChatClient, FixedClock
from tests.test_phone_turns import MOST_PER_TURN, counted

FLOWS = ["scheiding", "jongere", "familie", "pleegouder"]
#: buttons that leave the flow: the conversation's end, and the parents' complaint route
LEAVES = {"done", "route"}


@pytest.mark.parametrize("lang", ["nl", "en"])
@pytest.mark.parametrize("flow", FLOWS)
async def test_every_button_of_the_flow_fits_on_a_phone(tmp_path: Path, flow: str, lang: str) -> None:
    steps = set(load_flows(Settings()).flows[flow].steps)
    core = await build_core(Settings(_env_file=None, db=tmp_path / "t.sqlite3", watch_flows=False))  # type: ignore[call-arg]
    core.clock = FixedClock(datetime(2026, 12, 9, 10, 0, tzinfo=UTC))
    outlet = CaptureOutlet(platform="console")
    core.register(outlet)
    client = ChatClient(core, outlet)
    people = iter(range(10_000))
    turns: list[tuple[tuple[str, ...], int]] = []

    async def walk(path: tuple[str, ...]) -> Send | None:
        """A new person presses `path` from the flow's start; the question they see at the end, if any."""
        person = f"p{next(people)}"
        await client.say(person, f"/language {lang}")
        outlet.take()
        await client.say(person, f"/start {flow}")
        for label in path:
            outlet.take()
            await client.press(person, label)
        messages, _posts = outlet.take()
        turns.append((path, counted(messages)))
        last = messages[-1] if messages else None
        return last if isinstance(last, Send) and last.choices and last.token in steps else None

    try:
        first = await walk(())
        assert first is not None, "the flow starts with a question"
        seen = {first.token}
        todo: list[tuple[tuple[str, ...], Send]] = [((), first)]
        while todo:
            path, question = todo.pop()
            for choice in question.choices:
                if choice.id in LEAVES:
                    continue
                nxt = await walk((*path, choice.label))
                if nxt is not None and nxt.token not in seen:
                    seen.add(nxt.token)
                    todo.append(((*path, choice.label), nxt))
        assert len(turns) > 10, turns
        too_long = [(path, n) for path, n in turns if n > MOST_PER_TURN]
        assert too_long == [], "a turn sends more messages than a phone shows: put the rest behind a button"
    finally:
        await core.stop()
        await core.store.close()
