"""The shipped test tools talk to a real core the way a person would, and refuse what a person cannot do."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.app import build_core
from bot.settings import Settings
from bot.testing import CaptureOutlet, ChatClient, FixedClock

pytestmark = pytest.mark.asyncio


async def test_a_chat_client_sees_the_welcome_and_can_press_only_what_it_was_offered(tmp_path: Path) -> None:
    core = await build_core(Settings(_env_file=None, db=tmp_path / "t.sqlite3", watch_flows=False))  # type: ignore[call-arg]
    core.clock = FixedClock(datetime(2027, 2, 1, 9, 0, tzinfo=UTC))
    outlet = CaptureOutlet(platform="console")
    core.register(outlet)
    client = ChatClient(core, outlet)
    try:
        shown = await client.say("ann", "hallo")
        assert shown and shown == outlet.texts("ann"), "the client returns what the chat shows"
        offered = [c.label for c in client.question("ann").choices]
        assert offered, "the welcome asks something with buttons"
        after = await client.press("ann", offered[0])
        assert after, "pressing an offered button gets an answer"
        with pytest.raises(AssertionError, match="no button"):
            await client.press("ann", "a button nobody was shown")
        messages, posts = outlet.take()
        assert [m.text for m in messages] == outlet.texts("ann") and posts == []
        assert outlet.take() == ([], []), "take() gives each turn's messages once"
        assert client.updates == 2
    finally:
        await core.stop()
        await core.store.close()
