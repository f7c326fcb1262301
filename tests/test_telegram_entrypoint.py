"""`python -m bot` with a Telegram token: the real entry point in a subprocess.

Runs the product exactly as deployed (settings from the environment only),
crashes it with SIGKILL in the middle of a conversation, starts it again and
stops it with SIGTERM: the parent continues where they were, sees nothing
twice, and nothing they typed appears in the bot's output.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

from bot.app import load_flows
from bot.settings import Settings
from tests.fakes.telegram_api import FakeTelegram
from tests.telegram_fixtures import Person, bot_process_env, telegram

__all__ = ["telegram"]  # the fixture, used by name below


async def test_python_m_bot_serves_telegram_and_survives_a_crash(telegram: FakeTelegram, tmp_path: Path) -> None:
    tg = telegram
    env = bot_process_env(tg, tmp_path / "wegwijzer.sqlite3")
    flows = load_flows(Settings(_env_file=None))  # type: ignore[call-arg]

    def text(key: str) -> str:
        return flows.render("nl", key, {})

    async def launch() -> asyncio.subprocess.Process:
        calls_before = tg.calls["getUpdates"]
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            cwd=tmp_path,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        await tg.wait_until(lambda: tg.calls["getUpdates"] > calls_before, timeout=60)
        return process

    process = await launch()
    parent = Person(tg)
    try:
        (welcome,) = await parent.command("start")
        assert welcome.text == text("main.role.question")
        (menu,) = await parent.presses(text("main.role.parent"))
        assert menu.text == text("main.parent.question")

        process.kill()  # a crash: no clean shutdown
        await process.wait()
        pressed = tg.press(parent.user, menu.message_id, label=text("main.parent.deadline"))  # while it is down

        process = await launch()
        await tg.wait_confirmed(pressed, timeout=30)
        assert [(s.method, s.text) for s in parent.transcript] == [
            ("sendMessage", text("main.role.question")),
            ("editMessageText", text("main.parent.question")),
            ("editMessageText", text("termijn.which")),
        ]
        await parent.presses(text("termijn.appeal"))
        result = await parent.says("gisteren")
        assert result[0].text.startswith("De laatste dag is waarschijnlijk")
        assert tg.unanswered_callbacks == []
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        out, err = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 0, err.decode()[-2000:]
    assert b"gisteren" not in out + err  # what users type is never logged
