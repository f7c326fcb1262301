"""`python -m bot` with a Telegram token: the real entry point in a subprocess.

Runs the product exactly as deployed (settings from the environment only),
crashes it with SIGKILL in the middle of a conversation, starts it again,
reloads an edited text on SIGHUP and stops it with SIGTERM: the parent
continues where they were, sees nothing twice, reads the new text, and
neither what they typed nor the bot token appears in the bot's output.
"""

from __future__ import annotations

import asyncio
import shutil
import signal
import socket
import sys
from pathlib import Path

from bot.app import load_flows
from bot.settings import ROOT, Settings
from tests.fakes.telegram_api import TOKEN, FakeTelegram
from tests.telegram_fixtures import Person, bot_process_env, telegram
from tests.test_console import wait_loaded

__all__ = ["telegram"]  # the fixture, used by name below


def copy_of_the_flows(tmp_path: Path) -> dict[str, str]:
    """The shipped flows and texts copied, so the test can edit them like a moderator; as environment."""
    shutil.copytree(ROOT / "flows", tmp_path / "flows")
    shutil.copytree(ROOT / "locales", tmp_path / "locales")
    return {"WEGWIJZER_FLOWS_DIR": str(tmp_path / "flows"), "WEGWIJZER_LOCALES_DIR": str(tmp_path / "locales")}


async def test_python_m_bot_serves_telegram_and_survives_a_crash(telegram: FakeTelegram, tmp_path: Path) -> None:
    tg = telegram
    db = tmp_path / "wegwijzer.sqlite3"
    copied = copy_of_the_flows(tmp_path)
    env = bot_process_env(tg, db) | copied | {"WEGWIJZER_WATCH_FLOWS": "false"}  # only SIGHUP reloads
    flows = load_flows(Settings(_env_file=None, flows_dir=tmp_path / "flows",  # type: ignore[call-arg]
                                locales_dir=tmp_path / "locales"))

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
        (echo,) = await parent.says("gisteren")
        assert echo.text.startswith("Ik lees: ")  # every date is shown back in words first
        result = await parent.presses(text("sys.yes"))
        assert result[0].text.startswith("Zo reken ik de termijn:") and "Laatste dag: " in result[0].text
        assert result[1].text == text("termijn.where")
        assert tg.unanswered_callbacks == []

        # a moderator edits a text on the server and sends SIGHUP instead of restarting the bot
        texts = tmp_path / "locales" / "nl" / "main.yaml"
        texts.write_text(texts.read_text(encoding="utf-8").replace(
            "Welkom bij Wegwijzer.", "Hallo, welkom bij Wegwijzer."), encoding="utf-8")
        process.send_signal(signal.SIGHUP)
        await wait_loaded(db, "sighup")
        (asked,) = await parent.command("start")  # a date was typed: "Opnieuw beginnen?" first
        assert asked.text == text("sys.restart.confirm")
        (welcome,) = await parent.presses(text("sys.restart.yes"))
        assert welcome.text == text("main.role.question").replace("Welkom bij", "Hallo, welkom bij")
        assert process.returncode is None
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        out, err = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 0, err.decode()[-2000:]
    assert b"gisteren" not in out + err  # what users type is never logged
    assert_no_token(out + err)


def assert_no_token(output: bytes) -> None:
    """Neither the token nor its secret half (the part after the colon) is printed or logged."""
    assert TOKEN.encode() not in output
    assert TOKEN.split(":", 1)[1].encode() not in output


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def failing_start(env: dict[str, str], cwd: Path) -> tuple[int, str]:
    """Run `python -m bot` until it gives up; its exit status and everything it printed."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", cwd=cwd, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    finally:
        if process.returncode is None:
            process.kill()
    assert_no_token(out + err)
    return process.returncode or 0, (out + err).decode()


async def test_an_unreachable_bot_api_stops_the_start_in_one_line_without_the_token(
        telegram: FakeTelegram, tmp_path: Path) -> None:
    env = bot_process_env(telegram, tmp_path / "wegwijzer.sqlite3")
    env["WEGWIJZER_TELEGRAM_API_URL"] = f"http://127.0.0.1:{closed_port()}/bot"
    status, output = await failing_start(env, tmp_path)
    assert status == 1
    assert output.splitlines()[-1] == "could not start: telegram: NetworkError"
    assert "Traceback" not in output


async def test_a_rejected_token_stops_the_start_in_one_line_without_the_token(
        telegram: FakeTelegram, tmp_path: Path) -> None:
    """PTB names the rejected token in its error; a revoked token must not end up in a log file."""
    env = bot_process_env(telegram, tmp_path / "wegwijzer.sqlite3")
    rejected = TOKEN.replace("fake", "sham")
    env["WEGWIJZER_TELEGRAM_TOKEN"] = rejected
    status, output = await failing_start(env, tmp_path)
    assert rejected.split(":", 1)[1] not in output
    assert status == 1
    assert output.splitlines()[-1].startswith("could not start: ")
    assert "Traceback" not in output
