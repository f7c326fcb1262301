"""A crash never loses a conversation: SIGKILL the bot mid-conversation, start it again.

The bot runs as a real process (`python -m bot chat --json`) on a database
in a temporary directory; the test talks to it line by line, kills it with
SIGKILL (no shutdown code runs), starts a new process on the same database
and checks that the user goes on at the same question, with their answers,
and what the database holds.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import sqlite3
import subprocess
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import FIXTURE_FLOWS, FIXTURE_LOCALES, PYTHON, bot_env

KEY = "console\x1flocal\x1flocal"


class Bot:
    """The chat program as a process: send a line, read its messages up to the waiting line."""

    def __init__(self, db: Path) -> None:
        self.proc = subprocess.Popen(
            [PYTHON, "-m", "bot", "chat", "--json", "--db", str(db),
             "--flows", str(FIXTURE_FLOWS), "--locales", str(FIXTURE_LOCALES)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, bufsize=1, cwd=db.parent, env=bot_env(),
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def write(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def turn(self, line: str, timeout: float = 30.0) -> list[str]:
        """Send one line; return the texts of the messages before its waiting line."""
        self.write(line)
        texts: list[str] = []
        deadline = time.monotonic() + timeout
        while True:
            raw = self.lines.get(timeout=max(0.1, deadline - time.monotonic()))
            assert raw is not None, f"the bot exited: {self.stderr()}"
            record = json.loads(raw)
            if record == {"type": "waiting"}:
                return texts
            texts.append(record["text"])

    def kill(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        assert self.proc.wait(timeout=30) == -signal.SIGKILL

    def close(self) -> int:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        return self.proc.wait(timeout=30)

    def stderr(self) -> str:
        if self.proc.poll() is None:
            return ""
        assert self.proc.stderr is not None
        return self.proc.stderr.read()


@pytest.fixture
def started(db_path):
    bots: list[Bot] = []

    def start() -> Bot:
        bot = Bot(db_path)
        bots.append(bot)
        return bot

    yield start
    for bot in bots:
        if bot.proc.poll() is None:
            bot.proc.kill()
            bot.proc.wait(timeout=30)
        for stream in (bot.proc.stdin, bot.proc.stdout, bot.proc.stderr):
            if stream is not None:
                stream.close()


def rows(db: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


def test_after_sigkill_the_user_goes_on_at_the_same_question(db_path, started):
    bot = started()
    assert bot.turn("/start") == ["Welkom bij de testbot.", "Waarmee kan ik helpen?"]
    assert bot.turn("1") == ["Hoe heet je?"]
    assert bot.turn("Anna") == ["Hoe oud ben je?"]
    bot.kill()

    # what survived the kill, read straight from the SQLite file
    [(key, who, state)] = rows(db_path, "SELECT key, who, state FROM conversations")
    assert key == KEY
    assert who == "console\x1flocal"
    state = json.loads(state)
    assert (state["f"], state["s"]) == ("main", "age")
    assert state["x"] == {"topic": "letter", "name": "Anna"}
    assert rows(db_path, "SELECT count(*) FROM outbox") == [(0,)]  # everything shown was delivered
    assert rows(db_path, "SELECT event, n FROM stats") == [("start:main", 1)]
    assert rows(db_path, "PRAGMA integrity_check") == [("ok",)]
    assert rows(db_path, "PRAGMA user_version")[0][0] >= 1

    bot = started()
    assert bot.turn("16") == ["In welke gemeente woon je?"]
    assert bot.turn("Utrecht") == ["Wanneer was het besluit?"]
    assert bot.turn("1-10-2026") == ["Je bent jonger dan 18.", "Hier is je brief.", "Kan ik nog iets doen?"]
    assert bot.turn("2") == ["Tot ziens."]
    assert bot.close() == 0
    assert rows(db_path, "SELECT count(*) FROM conversations") == [(0,)]  # ended: the answers are dropped


def test_after_sigkill_back_still_knows_the_earlier_questions(db_path, started):
    bot = started()
    bot.turn("/start")
    bot.turn("2")
    assert bot.turn("Bezwaar") == ["Op welke datum was de uitspraak?"]
    bot.kill()
    bot = started()
    # inside a called flow: the call stack and the history survived too
    assert bot.turn("terug") == ["Welke termijn?"]
    assert bot.turn("terug") == ["Waarmee kan ik helpen?"]
    assert bot.turn("2") == ["Welke termijn?"]
    assert bot.turn("1") == ["Op welke datum was de uitspraak?"]
    assert bot.turn("1-10-2026") == ["De laatste dag is 1 januari 2027.", "Kan ik nog iets doen?"]


@pytest.mark.parametrize("pause", [0.0, 0.01, 0.05])
def test_a_kill_during_a_turn_leaves_the_user_before_or_after_it_never_in_between(db_path, started, pause):
    bot = started()
    bot.turn("/start")
    bot.turn("1")
    bot.turn("Anna")
    bot.write("16")  # the answer to "how old are you?" ... and the process dies at some point of its turn
    time.sleep(pause)
    bot.kill()
    assert rows(db_path, "PRAGMA integrity_check") == [("ok",)]
    [(state,)] = rows(db_path, "SELECT state FROM conversations")
    state = json.loads(state)
    assert state["s"] in ("age", "town")
    assert state["x"].get("age") == (16 if state["s"] == "town" else None)
    assert state["x"]["name"] == "Anna"

    bot = started()
    if state["s"] == "age":  # the turn was lost as a whole: the user answers again
        assert bot.turn("16") == ["In welke gemeente woon je?"]
    assert bot.turn("Zeist") == ["Wanneer was het besluit?"]


def test_messages_a_killed_process_did_not_print_are_printed_by_the_next_one(db_path, started):
    # the turn committed its messages to the outbox before printing them: simulate a death in
    # between by leaving a queued message in the outbox, as a killed process would
    bot = started()
    bot.turn("/start")
    bot.kill()
    payload = json.dumps([{"t": "send", "text": "Hoe heet je?", "token": "name"}])
    with sqlite3.connect(db_path) as conn:
        conn.execute("INSERT INTO outbox(key, who, addr, payload, created_at) VALUES (?, ?, ?, ?, 0)",
                     (KEY, "console\x1flocal", json.dumps(KEY).encode(), payload.encode()))
    bot = started()
    first = json.loads(bot.lines.get(timeout=30))
    assert first["text"] == "Hoe heet je?"
    assert bot.turn("1") == ["Hoe heet je?"]
    assert rows(db_path, "SELECT count(*) FROM outbox") == [(0,)]
