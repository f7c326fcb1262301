"""The console's scripted mode: `python -m bot chat --json`, one user turn per line.

These run the real program in a subprocess on the fixture flow set, the way
a moderator's script or CI would, and read its JSON lines.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import pty
import shutil
import signal
import sqlite3
import subprocess
from pathlib import Path

import pytest

from tests.conftest import FIXTURE_FLOWS, FIXTURE_LOCALES, PYTHON, bot_env

WELCOME = "Welkom bij de testbot."
MENU = "Waarmee kan ik helpen?"
MORE = "Kan ik nog iets doen?"


class Transcript:
    """What the program printed for a list of input lines, split into turns."""

    def __init__(self, lines: list[str], stdout: str, stderr: str, status: int) -> None:
        self.lines = lines
        self.status = status
        self.stderr = stderr
        self.records = [json.loads(line) for line in stdout.splitlines()]
        self.turns: list[list[dict]] = [[]]
        for record in self.records:
            if record == {"type": "waiting"}:
                self.turns.append([])
            else:
                self.turns[-1].append(record)
        self.turns.pop()  # nothing follows the last waiting line

    def texts(self, turn: int) -> list[str]:
        return [m["text"] for m in self.turns[turn]]

    def choices(self, turn: int) -> list[tuple[str, str]]:
        return [(c["id"], c["label"]) for m in self.turns[turn] for c in m["choices"]]

    @property
    def documents(self) -> list[dict]:
        return [m["document"] for m in self.records if "document" in m]


def chat(db: Path, lines: list[str], *extra: str) -> Transcript:
    """Run one scripted chat; the input ends after `lines` (end of file)."""
    done = subprocess.run(
        [PYTHON, "-m", "bot", "chat", "--json", "--db", str(db),
         "--flows", str(FIXTURE_FLOWS), "--locales", str(FIXTURE_LOCALES), *extra],
        input="".join(line + "\n" for line in lines), capture_output=True, text=True,
        cwd=db.parent, env=bot_env(), timeout=60,
    )
    assert "Traceback" not in done.stderr, done.stderr
    transcript = Transcript(lines, done.stdout, done.stderr, done.returncode)
    for record in transcript.records:
        assert record["type"] in ("message", "waiting"), record
        if record["type"] == "message":
            assert isinstance(record["text"], str) and record["text"]
            assert all(set(c) == {"id", "label"} for c in record["choices"])
    return transcript


LETTER_BY_NUMBER = ["/start", "1", "Anna", "16", "Utrecht", "1-10-2026", "2"]
LETTER_BY_LABEL = ["hallo", "Een brief schrijven", "Anna", "16", "utrecht", "1 oktober 2026", "Ik ben klaar"]


@pytest.mark.parametrize("lines", [LETTER_BY_NUMBER, LETTER_BY_LABEL], ids=["by-number", "by-label"])
def test_a_whole_conversation_with_a_letter(db_path, lines):
    t = chat(db_path, lines)
    assert t.status == 0, t.stderr
    assert len(t.turns) == len(lines)
    assert t.texts(0) == [WELCOME, MENU]
    assert t.choices(0)[:2] == [("letter", "Een brief schrijven"), ("deadline", "Een termijn uitrekenen")]
    assert t.texts(1) == ["Hoe heet je?"]
    assert t.texts(2) == ["Hoe oud ben je?"]
    assert t.texts(3) == ["In welke gemeente woon je?"]
    assert t.texts(4) == ["Wanneer was het besluit?"]
    assert t.texts(5) == ["Je bent jonger dan 18.", "Hier is je brief.", MORE]
    assert t.texts(6) == ["Tot ziens."]
    assert t.documents == [{
        "filename": "brief.txt",
        "title": "Brief van Anna",
        "content": "Ik, Anna (16), uit Utrecht,\nmaak bezwaar tegen het besluit van 1 oktober 2026.\n"
                   "Antwoord graag voor 12 november 2026. Beroep kan tot 1 januari 2027.\n",
    }]
    # the document travels with the message that introduces it
    [with_document] = [m for m in t.turns[5] if "document" in m]
    assert with_document["text"] == "Hier is je brief."


def test_slash_commands_work_as_lines(db_path):
    t = chat(db_path, ["/start", "/taal en", "1", "/terug", "/help", "/opnieuw", "/vergeet", "ja", "/start deadline"])
    assert t.status == 0
    assert t.texts(0) == [WELCOME, MENU]
    assert t.texts(1) == ["We continue in English.", "What can I help with?"]
    assert t.texts(2) == ["What is your name?"]
    assert t.texts(3) == ["What can I help with?"]
    assert t.texts(4) == ["Help: type back, start over, language, person, my data or stop.", "What can I help with?"]
    assert t.texts(5) == ["Welcome to the test bot.", "What can I help with?"]
    assert t.texts(6) == ["Shall I delete everything?"]
    assert t.choices(6) == [("yes", "Yes, delete everything"), ("no", "No, continue")]
    assert t.texts(7) == ["Everything is deleted."]
    # forgotten: a new conversation starts in the default language again
    assert t.texts(8) == ["Welke termijn?"]


def test_exactly_one_waiting_line_per_input_line(db_path):
    lines = ["/start", "", "banaan", "   ", "/onbekend", "3", "iets ergs", "misschien", "ja", "x" * 5000, "2"]
    t = chat(db_path, lines)
    assert t.status == 0
    assert sum(1 for r in t.records if r == {"type": "waiting"}) == len(lines)
    assert t.records[-1] == {"type": "waiting"}
    assert t.turns[1] == []  # an empty line gets no message, but still its waiting line
    assert t.texts(2)[0] == "Kies een knop of typ het nummer."  # then the question again, with its buttons
    assert t.texts(4) == ["Dat commando ken ik niet.", MENU]
    assert t.texts(7) == ["Typ ja of nee."]
    # bot/desk: no desk configured (and no desk texts here), said where the report was sent
    assert t.texts(8) == ["[desk.user.no_desk]", "Je melding is doorgestuurd.", MORE]
    assert t.texts(9) == ["Dat is te lang (meer dan 4000 tekens).", MORE]
    assert t.texts(10) == ["Tot ziens."]


def test_end_of_input_exits_zero_even_mid_conversation(db_path):
    t = chat(db_path, ["/start", "1"])
    assert t.status == 0
    assert t.texts(1) == ["Hoe heet je?"]
    t = chat(db_path, [])
    assert t.status == 0
    assert t.records == []


def test_lang_en_starts_in_english(db_path):
    t = chat(db_path, ["hello", "2"], "--lang", "en")
    assert t.status == 0
    assert t.texts(0) == ["Welcome to the test bot.", "What can I help with?"]
    assert t.texts(1) == ["Which deadline?"]


def test_each_user_id_has_its_own_conversation(db_path):
    anna = chat(db_path, ["/start", "1"], "--user", "anna")
    assert anna.texts(1) == ["Hoe heet je?"]
    # bob's first line is not an answer to anna's question
    bob = chat(db_path, ["Bob"], "--user", "bob")
    assert bob.texts(0) == [WELCOME, MENU]
    anna = chat(db_path, ["Anna"], "--user", "anna")
    assert anna.texts(0) == ["Hoe oud ben je?"]
    with sqlite3.connect(db_path) as db:
        rows = dict(db.execute("SELECT key, state FROM conversations").fetchall())
    assert sorted(tuple(key.split("\x1f")) for key in rows) == [("console", "anna", "anna"), ("console", "bob", "bob")]
    states = {key.split("\x1f")[2]: json.loads(value) for key, value in rows.items()}
    assert (states["anna"]["s"], states["anna"]["x"]["name"]) == ("age", "Anna")
    assert states["bob"]["s"] == "menu"


def test_what_a_user_typed_is_not_logged(db_path):
    t = chat(db_path, ["/start", "3", "mijn geheim 4711", "ja"])
    assert t.status == 0
    assert "4711" not in t.stderr


# ---------------------------------------------------------------- live reload in the console


def loaded(db: Path) -> list[str]:
    """How each flow set a bot ran got loaded, oldest first (what `python -m bot audit --versions` lists)."""
    with contextlib.closing(sqlite3.connect(db, timeout=10)) as conn:
        return [trigger for (trigger,) in conn.execute("SELECT trigger FROM flow_versions ORDER BY id")]


async def wait_loaded(db: Path, trigger: str) -> None:
    """Until a running bot (another process) has loaded a flow set by `trigger` (start, sighup, watcher)."""
    for _ in range(400):
        if trigger in loaded(db):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"no flow set loaded by {trigger}: {loaded(db)}")


class LiveChat:
    """`python -m bot chat --json` kept running, so a test can edit its flows and signal it between turns."""

    def __init__(self, process: asyncio.subprocess.Process, db: Path) -> None:
        self.process = process
        self.db = db

    @classmethod
    async def start(cls, tmp_path: Path, **env: str) -> tuple[LiveChat, Path]:
        """The chat on a copy of the fixture flow set; returns it and the copy's locales directory."""
        flows, locales = tmp_path / "flows", tmp_path / "locales"
        shutil.copytree(FIXTURE_FLOWS, flows)
        shutil.copytree(FIXTURE_LOCALES, locales)
        db = tmp_path / "wegwijzer.sqlite3"
        process = await asyncio.create_subprocess_exec(
            PYTHON, "-m", "bot", "chat", "--json", "--db", str(db), "--flows", str(flows),
            "--locales", str(locales), cwd=tmp_path, env=bot_env(**env),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        return cls(process, db), locales

    async def say(self, line: str) -> list[str]:
        """The texts of the bot's answer to one line."""
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(line.encode() + b"\n")
        await self.process.stdin.drain()
        texts = []
        while True:
            raw = await asyncio.wait_for(self.process.stdout.readline(), timeout=30)
            assert raw, "the chat ended"
            record = json.loads(raw)
            if record == {"type": "waiting"}:
                return texts
            texts.append(record["text"])

    async def close(self) -> tuple[int, str]:
        assert self.process.stdin is not None
        self.process.stdin.close()
        _, err = await asyncio.wait_for(self.process.communicate(), timeout=30)
        return self.process.returncode or 0, err.decode()


async def test_sighup_reloads_the_texts_of_a_running_chat(tmp_path: Path) -> None:
    live, locales = await LiveChat.start(tmp_path, WEGWIJZER_WATCH_FLOWS="false")  # only SIGHUP can reload
    assert (await live.say("hallo"))[0] == WELCOME
    main = locales / "nl" / "main.yaml"
    main.write_text(main.read_text(encoding="utf-8").replace(WELCOME, "Welkom terug bij de testbot."),
                    encoding="utf-8")

    live.process.send_signal(signal.SIGHUP)
    await wait_loaded(live.db, "sighup")

    assert live.process.returncode is None  # SIGHUP no longer ends the chat ("Hangup")
    assert await live.say("/start") == ["Welkom terug bij de testbot.", MENU]
    status, err = await live.close()
    assert status == 0, err
    assert loaded(live.db) == ["start", "sighup"]  # the watcher was off, as configured
    assert "Traceback" not in err


async def test_the_chat_picks_up_an_edited_text_by_itself(tmp_path: Path) -> None:
    live, locales = await LiveChat.start(tmp_path)
    assert (await live.say("hallo"))[0] == WELCOME
    await asyncio.sleep(1)  # let the watcher take its first look before the edit
    main = locales / "nl" / "main.yaml"
    main.write_text(main.read_text(encoding="utf-8").replace(WELCOME, "Welkom terug bij de testbot."),
                    encoding="utf-8")

    await wait_loaded(live.db, "watcher")

    assert await live.say("/start") == ["Welkom terug bij de testbot.", MENU]
    status, err = await live.close()
    assert status == 0, err
    assert "Traceback" not in err


def test_closing_the_terminal_ends_the_chat_quietly(db_path: Path) -> None:
    """A closed terminal sends SIGHUP (now a reload) and fails every read: that is the end of the input."""
    terminal, typing_end = pty.openpty()
    process = subprocess.Popen(
        [PYTHON, "-m", "bot", "chat", "--db", str(db_path), "--flows", str(FIXTURE_FLOWS),
         "--locales", str(FIXTURE_LOCALES)],
        stdin=typing_end, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=db_path.parent, env=bot_env(),
        start_new_session=True)  # the pty is not its controlling terminal: the test sends the SIGHUP itself
    os.close(typing_end)
    try:
        assert process.stdout is not None
        os.write(terminal, b"hallo\n")
        seen = b""
        while not seen.endswith(b"\n> "):  # answered, and reading the next line from the terminal
            chunk = os.read(process.stdout.fileno(), 4096)
            assert chunk, f"the chat ended before it answered: {seen!r}"
            seen += chunk
        assert WELCOME.encode() in seen
    finally:
        os.close(terminal)
        process.send_signal(signal.SIGHUP)
    _, err = process.communicate(timeout=30)
    assert process.returncode == 0, err.decode()
    assert "Traceback" not in err.decode()
