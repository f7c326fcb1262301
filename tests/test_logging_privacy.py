"""No text in logs: whole conversations with every logger at DEBUG, and not one typed word in the log.

Covers the console chat (run_console over the real core), the core with the
desk, timers and privacy extensions (a report, a relayed talk both ways, a
home-visit check-in with an address, my data, forget me), and the library
loggers underneath (aiosqlite logs every call it runs at DEBUG). The
deployment's own secrets (the Matrix password or access token) stay out of
the running program's output too, also while it cannot reach its server.
"""

from __future__ import annotations

import asyncio
import io
import logging
import signal

import pytest

from bot.adapters.console import run_console
from bot.crypto import new_key
from tests.conftest import PYTHON, bot_env
from tests.desk_harness import World
from tests.fakes.telegram_api import TOKEN
from tests.test_telegram_entrypoint import closed_port

TYPED = [
    "Iemand bekraste mijn auto op de parkeerplaats",
    "06-31415926",
    "Zonnebloemstraat 17, Utrecht",
    "Mijn buurman weet waar ik woon",
    "Ik heb een vraag over mijn dossier",
    "ik wil niet meer leven",
    "Jansen-geheim",
]
DESK_WROTE = ["Dag, ik ben Sanne van het meldpunt", "Bel je me op 030-2718281?"]
USER = "user-58008"


@pytest.fixture
def everything_at_debug(caplog):
    """Root and every logger that exists at DEBUG, propagating to pytest's capture."""
    caplog.set_level(logging.DEBUG)
    touched = []
    for name in list(logging.root.manager.loggerDict):
        logger = logging.getLogger(name)
        touched.append((logger, logger.level, logger.propagate, logger.disabled))
        logger.setLevel(logging.DEBUG)
        logger.propagate = True
        logger.disabled = False
    yield caplog
    for logger, level, propagate, disabled in touched:
        logger.setLevel(level)
        logger.propagate = propagate
        logger.disabled = disabled


def assert_clean(caplog: pytest.LogCaptureFixture, secrets: list[str]) -> None:
    assert caplog.records, "nothing was logged at all: the capture is not working"
    everything = "\n".join(
        f"{r.name} {r.getMessage()} {r.exc_text or ''} {r.stack_info or ''}" for r in caplog.records)
    for secret in secrets:
        assert secret not in everything, f"{secret!r} appears in the log"


async def test_core_desk_and_check_in_conversations_log_no_text(tmp_path, everything_at_debug):
    world = await World(tmp_path).start()
    try:
        # a report
        await world.command(USER, "start", "meldtest")
        await world.say(USER, TYPED[0])
        await world.press(USER, "bad")
        await world.say(USER, TYPED[1])
        await world.press(USER, "send")
        await world.post_desk()
        await world.desk_says("m1", "/claim WW-2026-0001")
        # a home-visit check-in with an address, missed
        await world.start_over(USER, "huisbezoek")
        await world.press(USER, "m30")
        await world.press(USER, "yes")
        await world.say(USER, TYPED[2])
        await world.press(USER, "yes")
        await world.say(USER, TYPED[6])
        world.clock.advance(minutes=30)
        await world.fire_timers()
        world.clock.advance(minutes=10)
        await world.fire_timers()
        await world.post_desk()
        # a talk with the desk, both ways, with a crisis text in it
        await world.say(USER, "mens")
        await world.say(USER, TYPED[4])
        await world.desk_says("m1", "/claim WW-2026-0003")
        await world.say(USER, TYPED[3])
        await world.say(USER, TYPED[5])
        await world.desk_says("m1", f"/r WW-2026-0003 {DESK_WROTE[0]}")
        await world.post_desk()
        relayed = world.outlet.posts[-1].message_id
        await world.desk_says("m2", DESK_WROTE[1], reply_to=relayed)
        await world.desk_says("m1", "/queue")
        await world.say(USER, "stop")
        # my data, then forget me
        await world.command(USER, "mijngegevens")
        await world.say(USER, "vergeet mij")
        await world.press(USER, "yes")
        from bot.privacy import purge_core

        await purge_core(world.c)
        # the conversation really happened and carried the texts
        seen = " ".join([*world.outlet.texts(USER), *world.outlet.texts("desk"), *(p.text for p in world.outlet.posts)])
        for secret in [*TYPED, *DESK_WROTE]:
            assert secret in seen, f"{secret!r} never reached anyone: the test proves nothing about it"
    finally:
        await world.close()
    assert_clean(everything_at_debug, [*TYPED, *DESK_WROTE, USER])


async def test_the_console_chat_logs_no_text(tmp_path, everything_at_debug):
    world = World(tmp_path)
    await world.start()
    lines = ["/start meldtest", TYPED[0], "1", TYPED[1], "1", "/start huisbezoek", "1", "1", TYPED[2],
             "2", "mens", TYPED[3], "stop", "mijn gegevens", "/vergeet", "1"]
    out = io.StringIO()
    try:
        await run_console(world.c, user=USER, as_json=True, stdin=io.StringIO("\n".join(lines) + "\n"), stdout=out)
    finally:
        await world.close()
    assert TYPED[2] in out.getvalue()  # "my data" showed the saved address to the user ...
    assert_clean(everything_at_debug, [*TYPED, USER])  # ... the log never shows anything typed


# ---------------------------------------------------------------- secrets of the deployment


@pytest.mark.parametrize("secret_setting", ["WEGWIJZER_MATRIX_PASSWORD", "WEGWIJZER_MATRIX_ACCESS_TOKEN"])
async def test_python_m_bot_never_prints_the_matrix_password_or_token(tmp_path, secret_setting):
    """The homeserver cannot be reached: the bot keeps trying and logs why, never with the secret."""
    secret = "syt_geheim_" + secret_setting[-8:].lower() + "_4711"
    env = bot_env(WEGWIJZER_MATRIX_HOMESERVER=f"http://127.0.0.1:{closed_port()}", WEGWIJZER_MATRIX_USER="@bot:example.org",
                  WEGWIJZER_MATRIX_DEVICE_ID="TESTDEVICE", WEGWIJZER_DB=str(tmp_path / "wegwijzer.sqlite3"),
                  WEGWIJZER_ENCRYPTION_KEYS=new_key(), WEGWIJZER_DESKS="matrix:!desk:example.org",
                  **{secret_setting: secret})
    process = await asyncio.create_subprocess_exec(PYTHON, "-m", "bot", cwd=tmp_path, env=env,
                                                   stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    err = b""
    try:
        assert process.stderr is not None
        while b"homeserver unreachable" not in err:
            line = await asyncio.wait_for(process.stderr.readline(), timeout=60)
            assert line, f"the bot ended: {err.decode()[-2000:]}"
            err += line
    finally:
        process.send_signal(signal.SIGTERM)
        out, rest = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 0, (err + rest).decode()[-2000:]
    assert secret.encode() not in out + err + rest


# ---------------------------------------------------------------- WEGWIJZER_LOG_LEVEL=DEBUG on Telegram


@pytest.fixture
def debug_log():
    """Logging as `python -m bot` sets it up with WEGWIJZER_LOG_LEVEL=DEBUG, into a buffer; restored after."""
    from bot import logs

    root = logging.getLogger()
    saved = (root.level, list(root.handlers), {name: logging.getLogger(name).level for name in logging.root.manager.loggerDict})
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logging.Formatter(logs.FORMAT))
    root.handlers = [handler]
    logs.configure("DEBUG", secrets=[TOKEN])
    yield buffer
    root.setLevel(saved[0])
    root.handlers = saved[1]
    for name, level in saved[2].items():
        logging.getLogger(name).setLevel(level)
    handler.filters.clear()


async def test_at_debug_telegram_logs_no_text_no_user_id_and_no_token(tmp_path, debug_log):
    from tests.fakes.telegram_api import FakeTelegram
    from tests.telegram_fixtures import Person, RunningBot, telegram_settings

    async with FakeTelegram() as tg:
        bot = await RunningBot(telegram_settings(tg, tmp_path / "db.sqlite3")).start()
        try:
            person = Person(tg, "Ouder")
            await person.command("start")
            await person.presses(bot.label("main", "role", "parent"))
            for typed in TYPED[:3]:
                await person.says(typed)
            tg.throttle("sendMessage", retry_after=1)  # a 429: PTB and our retry log it
            await person.says(TYPED[3])
        finally:
            await bot.stop()
    log = debug_log.getvalue()
    assert "DEBUG" in log, "nothing was logged at DEBUG: the test proves nothing"
    for secret in [*TYPED[:4], str(person.user["id"]), TOKEN, TOKEN.split(":")[1]]:
        assert secret not in log, f"{secret!r} appears in the log"


def test_a_token_in_any_log_record_is_redacted(debug_log):
    """Whoever sets a library's logger to DEBUG by hand still gets no token: the handler redacts it."""
    logging.getLogger("httpx").setLevel(logging.DEBUG)
    logging.getLogger("httpx").debug("HTTP Request: POST https://api.telegram.org/bot%s/getMe", TOKEN)
    logging.getLogger("bot.x").info("other bot: bot987654321:AAE-some_other_secret_of_35_chars_xx")
    try:
        raise ValueError(f"https://api.telegram.org/bot{TOKEN}/sendMessage")
    except ValueError:
        logging.getLogger("bot.y").exception("failed")
    log = debug_log.getvalue()
    assert "getMe" in log and "failed" in log
    assert TOKEN.split(":")[1] not in log and "AAE-some_other_secret" not in log
