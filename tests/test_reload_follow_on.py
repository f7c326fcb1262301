"""One misspelt `next` in a real copy of the shipped flows, reloaded from the chat (try-out 37, person 7).

The moderator's `next: hwo` cut off every step after it: the chat answered "44 fouten", 43 of them
`unreachable-step`, each with its fix line, several screens on a phone. Now the chat names the one error to fix
and how many steps follow from it, in the moderator's language; `python -m bot check` still lists every one.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app import build_core
from bot.flows.loader import load_flowset
from bot.flows.problems import FlowSetInvalid
from bot.settings import Settings
from bot.testing import CaptureOutlet
from tests.moderation_kit import PLATFORM, Bot, edit, line_of, shipped_flows, shipped_locales


@pytest.fixture
async def shipped_bot(tmp_path: Path) -> AsyncIterator[Bot]:
    shutil.copytree(shipped_flows(), tmp_path / "flows")
    shutil.copytree(shipped_locales(), tmp_path / "locales")
    settings = Settings(db=tmp_path / "bot.sqlite3", flows_dir=tmp_path / "flows", locales_dir=tmp_path / "locales",
                        moderators=["console:mod"], watch_flows=False)
    core = await build_core(settings)
    outlet = CaptureOutlet(platform=PLATFORM)
    core.register(outlet)
    running = Bot(core, outlet, tmp_path)
    yield running
    await running.close()


async def test_a_typo_in_next_is_one_error_in_the_chat_with_the_steps_it_cut_off_counted(shipped_bot: Bot) -> None:
    bot = shipped_bot
    flow = bot.flows_dir / "inspreken.yaml"
    edit(flow, "    next: how\n", "    next: hwo\n")
    bad_line = line_of(flow, "next: hwo")
    running = bot.core.flows
    with pytest.raises(FlowSetInvalid) as caught:  # what `python -m bot check` lists
        load_flowset(bot.flows_dir, bot.locales_dir, root=bot.root)
    cut_off = [p for p in caught.value.problems if p.kind == "unreachable-step"]
    assert len(cut_off) > 10  # what `check` lists: every step after the typo

    [answer] = await bot.send("mod", "/reload")

    assert answer.startswith("Herladen is niet gelukt: 1 fout. Er is niets veranderd.")
    assert f"flows/inspreken.yaml:{bad_line}:5: error[unknown-next]" in answer and "did you mean `how`?" in answer
    assert (f"\nEn {len(cut_off)} stappen daarna die daardoor niet te bereiken zijn. Verbeter deze ene fout, dan zijn "
            "die stappen weer te bereiken. Alle regels: `python -m bot check`.") in answer
    assert "unreachable-step" not in answer
    assert answer.endswith("\n\nVerbeter de bestanden en typ daarna opnieuw /reload.")
    assert len(answer) < 1500  # was 44 errors with a fix line each, several screens
    assert bot.core.flows is running


async def test_an_english_moderator_is_told_in_english(shipped_bot: Bot) -> None:
    bot = shipped_bot
    await bot.send("mod", "English")  # the moderator's conversation language
    edit(bot.flows_dir / "inspreken.yaml", "    next: how\n", "    next: hwo\n")

    [answer] = await bot.send("mod", "/reload")

    assert answer.startswith("Reload failed: 1 error. Nothing was changed.")
    assert "steps after it that cannot be reached because of it. Fix this one error" in answer
