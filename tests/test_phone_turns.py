"""A turn a person reads on a phone: a short answer first, the rest behind "Meer uitleg".

Why: speaking at the council (inspreken) answered the municipality with eight messages in a
row, and the e-mail with five more; on a phone that is a wall nobody reads to the end. Each
turn now sends at most three messages (two cards and the question under them). A letter's copy
to paste, cut into as few messages as fit, is not counted: it is one text, meant to be copied.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.app import build_core
from bot.events import Edit, Send
from bot.settings import Settings
from bot.testing import CaptureOutlet, ChatClient, FixedClock

MOST_PER_TURN = 3

#: (what the person does, as the scenarios write it: "!" presses a button), per language
COUNCIL = {
    "nl": ["/start inspreken", "Utrecht", "!Meer uitleg", "!Meer uitleg", "!Meer uitleg", "wachtlijsten in de jeugdzorg",
           "!Nee, nog niet", "!Voor mezelf", "Gezinnen wachten maanden op hulp nadat de rechter een maatregel oplegt.",
           "Spreek met de aanbieders af dat hulp binnen een vaste tijd begint.", "!Liever niet", "!Ja, laat zien"],
    "en": ["/start inspreken", "Utrecht", "!More explanation", "!More explanation", "!More explanation",
           "waiting lists in youth care", "!No, not yet", "!For myself",
           "Families wait for months for help after the judge orders a measure.",
           "Agree with the providers that help starts within a fixed time.", "!I would rather not", "!Yes, show them"],
}


def counted(messages: list[Send | Edit]) -> int:
    """Messages a person scrolls through, without a letter's copy (after the document, up to the question)."""
    count, in_copy = 0, False
    for message in messages:
        if isinstance(message, Send) and message.document is not None:
            count, in_copy = count + 1, True
        elif in_copy and not message.choices:
            continue
        else:
            count, in_copy = count + 1, False
    return count


@pytest.mark.parametrize("lang", ["nl", "en"])
async def test_speaking_at_the_council_comes_in_short_turns(tmp_path: Path, lang: str) -> None:
    core = await build_core(Settings(_env_file=None, db=tmp_path / "t.sqlite3", watch_flows=False))  # type: ignore[call-arg]
    core.clock = FixedClock(datetime(2026, 12, 9, 10, 0, tzinfo=UTC))
    outlet = CaptureOutlet(platform="console")
    core.register(outlet)
    client = ChatClient(core, outlet)
    try:
        await client.say("ann", "/language en" if lang == "en" else "/language nl")
        outlet.take()
        turns = []
        for step in COUNCIL[lang]:
            await (client.press("ann", step[1:]) if step.startswith("!") else client.say("ann", step))
            messages, _posts = outlet.take()
            turns.append((step, counted(messages)))
        assert all(n >= 1 for _, n in turns), turns
        assert max(n for _, n in turns) <= MOST_PER_TURN, turns
        assert any(m.document is not None for m in outlet.sent["ann"] if isinstance(m, Send)), "the e-mail came"
    finally:
        await core.stop()
        await core.store.close()
