"""Input no keyboard should produce, yet people (and their apps) send: each gets a clear answer, nothing is lost.

"፩" (Ethiopic digit one) passes `str.isdigit()` but not `int()` ("٢", Arabic-Indic two, passes both). A lone
surrogate (JSON "\\ud800" from a Telegram client, or invalid UTF-8 bytes read by
the console with surrogateescape) cannot be written to SQLite as UTF-8. Before,
each raised outside the engine's catch: the console ended with a traceback,
Telegram retried the update for 15 s and then skipped it, Matrix dropped it.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from bot.events import Command, ConversationKey, Incoming, Text
from tests.conftest import FIXTURE_FLOWS, FIXTURE_LOCALES, PYTHON, bot_env
from tests.fakes.telegram_api import FakeTelegram
from tests.telegram_fixtures import Person, RunningBot

#: "which option do you mean?" in the shipped texts and in the fixture flows' texts
#: at a menu, text that names no option and no route (bot/engine/typed.py)
WHICH_CHOICE = "Ik weet niet zeker wat je bedoelt. Kies hieronder wat het beste past."
WHICH_CHOICE_FIXTURE = "Kies een knop of typ het nummer."


# ---------------------------------------------------------------- console


def console(db: Path, stdin: bytes, encoding: str) -> tuple[list[list[str]], str, int]:
    """The scripted console fed raw bytes, with the terminal encoding `encoding`; (turns, stderr, status)."""
    done = subprocess.run(
        [PYTHON, "-m", "bot", "chat", "--json", "--db", str(db),
         "--flows", str(FIXTURE_FLOWS), "--locales", str(FIXTURE_LOCALES)],
        input=stdin, capture_output=True, cwd=db.parent, timeout=60,
        env=bot_env(PYTHONIOENCODING=encoding, LC_ALL="C.UTF-8"),
    )
    turns: list[list[str]] = [[]]
    for line in done.stdout.decode("utf-8", "replace").splitlines():
        record = json.loads(line)
        if record["type"] == "waiting":
            turns.append([])
        else:
            turns[-1].append(record["text"])
    return turns[:-1], done.stderr.decode("utf-8", "replace"), done.returncode


def test_the_console_answers_an_ethiopic_digit_and_reads_invalid_utf8(db_path: Path) -> None:
    for encoding in ("utf-8", "utf-8:surrogateescape"):
        db = db_path.with_name(f"{encoding.replace(':', '-')}.sqlite3")
        lines = [b"/start", "\u1369".encode(), "\u0662".encode(), b"/start", b"1", b"An\xffna", b"16"]
        turns, stderr, status = console(db, b"".join(line + b"\n" for line in lines), encoding)
        assert "Traceback" not in stderr, stderr
        assert status == 0
        assert len(turns) == len(lines), f"{encoding}: a line got no turn: {turns}"
        assert turns[1][0] == WHICH_CHOICE_FIXTURE, encoding
        assert turns[2] == ["Welke termijn?"], "option 2, typed in Arabic-Indic digits"
        assert turns[4] == ["Hoe heet je?"]
        assert turns[5] == ["Hoe oud ben je?"], f"{encoding}: the name with a broken byte was not taken"


# ---------------------------------------------------------------- the core (every adapter goes through it)


async def test_lone_surrogates_in_a_saved_answer_are_replaced_not_fatal(tmp_path: Path) -> None:
    """What the Matrix adapter hands the core too: the turn happens, the answer is kept with U+FFFD."""
    from bot.app import build_core
    from bot.settings import Settings
    from bot.testing import CaptureOutlet

    core = await build_core(Settings(_env_file=None, db=tmp_path / "db.sqlite3",  # type: ignore[call-arg]
                                     flows_dir=FIXTURE_FLOWS, locales_dir=FIXTURE_LOCALES))
    outlet = CaptureOutlet(platform="telegram")
    core.register(outlet)
    key = ConversationKey("telegram", "7", "7")
    try:
        for n, event in enumerate([Command("start", "\ud800"), Text("1"), Text("An\udcffna"), Text("1\ud83d6")]):
            assert await core.handle(Incoming(key, event, f"tg:{n}", "nl")) is not None
        assert outlet.texts("7")[-1] != "Hoe oud ben je?", "the age with a broken character was taken as a number"
        assert "Hoe oud ben je?" in outlet.texts("7")
        raw = await core.store.execute(lambda db: db.execute("SELECT state FROM conversations").fetchone()[0])
        assert "An\ufffdna" in bytes(raw).decode()
    finally:
        await core.store.close()


# ---------------------------------------------------------------- Telegram


async def test_telegram_answers_at_once_and_retries_nothing(tmp_path: Path, caplog) -> None:
    async with FakeTelegram() as tg:
        from tests.telegram_fixtures import telegram_settings

        bot = await RunningBot(telegram_settings(tg, tmp_path / "db.sqlite3")).start()
        try:
            broken, clean = Person(tg, "A"), Person(tg, "B")
            await broken.command("start")
            said = [sent.text for sent in await broken.says("\u1369")]
            assert said[0] == WHICH_CHOICE and len(said) == 2, "told so, then the menu again below it"
            seen = {}
            for person, topic in ((broken, "jeugd\ud800zorg in de wijk"), (clean, "jeugd\ufffdzorg in de wijk")):
                await person.command("start", "inspreken")
                await person.says("Utrecht")
                await person.presses(bot.label("inspreken", "how", "on"))
                seen[person.user["id"]] = [sent.text for sent in await person.says(topic)]
            assert seen[broken.user["id"]] == seen[clean.user["id"]], "a broken character changed the answer"
            assert bot.adapter.skipped == 0
            assert "failed" not in caplog.text, "an update was tried again: its first try failed"
        finally:
            await bot.stop()
