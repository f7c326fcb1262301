"""One clock for the whole product (bot/clock.py): nothing else reads the wall clock.

Why these tests: two tests once broke on unchanged code because the store stamped rows
with the real time while the core ran on a test's clock. The grep below keeps every
new reading of "now" going through the one clock; the others show that moving that one
clock moves the whole product.
"""

from __future__ import annotations

import ast
import json
import re
import sqlite3
import subprocess
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from bot.clock import NL, SYSTEM, Clock, FixedClock, iso_week, parse_today
from tests.conftest import PYTHON, REPO, bot_env

BOT = REPO / "bot"

#: Calls that read the wall clock. time.monotonic (durations) and time.sleep are not readings of the date.
WALL_CLOCK = re.compile(
    r"\b(datetime\.(now|utcnow|today)|date\.today|time\.(time|time_ns|localtime|gmtime|ctime|asctime|strftime)"
    r"|from time import .*\b(time|time_ns|localtime|gmtime)\b)"
)
#: SQLite reading the clock itself bypasses the product's clock just the same.
SQL_CLOCK = re.compile(r"'now'|CURRENT_(TIMESTAMP|DATE|TIME)|unixepoch\(\s*\)", re.IGNORECASE)


def _code_lines(path: Path) -> list[tuple[int, str]]:
    """Source lines without comments and docstrings (a docstring may name datetime.now)."""
    text = path.read_text(encoding="utf-8")
    docstrings: set[int] = set()
    for node in ast.walk(ast.parse(text)):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) \
                and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
            docstrings.update(range(body[0].lineno, (body[0].end_lineno or body[0].lineno) + 1))
    lines = []
    for number, line in enumerate(text.splitlines(), start=1):
        if number in docstrings:
            continue
        lines.append((number, line.split("#", 1)[0]))
    return lines


def test_no_module_outside_the_clock_reads_the_wall_clock():
    found = []
    for path in sorted(BOT.rglob("*.py")):
        if path == BOT / "clock.py":
            continue
        for number, line in _code_lines(path):
            if WALL_CLOCK.search(line) or SQL_CLOCK.search(line):
                found.append(f"{path.relative_to(REPO)}:{number}: {line.strip()}")
    assert not found, "read the time from the product's clock (bot/clock.py) instead:\n" + "\n".join(found)


def test_the_grep_would_find_a_direct_call(tmp_path):
    """The guard above must be able to fail: it recognises each way of reading the clock."""
    for line in ("x = datetime.now(UTC)", "d = date.today()", "t = int(time.time())", "from time import sleep, time",
                 "db.execute(\"INSERT INTO t VALUES (strftime('%s','now'))\")", "SELECT CURRENT_TIMESTAMP"):
        assert WALL_CLOCK.search(line) or SQL_CLOCK.search(line), line
    for line in ("start = time.monotonic()", "time.sleep(0.01)", "moment = self.clock()", "def now(self) -> int:",
                 "from time import monotonic"):
        assert not (WALL_CLOCK.search(line) or SQL_CLOCK.search(line)), line


def test_a_clock_moved_to_a_day_shows_that_day_and_keeps_running():
    day = SYSTEM.today() + timedelta(days=100)
    moved = Clock.on(day)
    assert moved.today() == day
    first = moved()
    assert moved() >= first  # time still passes
    assert moved().tzinfo is not None


def test_a_fixed_clock_stands_still_until_moved_and_refuses_a_naive_time():
    clock = FixedClock(datetime(2027, 3, 28, 0, 59, 30, tzinfo=UTC))
    assert clock() == clock()
    assert clock.today() == date(2027, 3, 28)
    clock.advance(minutes=1)  # the Dutch clocks go from 02:00 to 03:00 here
    assert clock().astimezone(NL).hour == 3
    with pytest.raises(ValueError, match="aware"):
        FixedClock(datetime(2027, 1, 1))


def test_the_dutch_day_and_week_are_used_not_utc():
    """At 23:30 UTC on New Year's Eve it is already 1 January in the Netherlands."""
    clock = FixedClock(datetime(2026, 12, 31, 23, 30, tzinfo=UTC))
    assert clock.today() == date(2027, 1, 1)
    monday_early = datetime(2026, 11, 29, 23, 30, tzinfo=UTC)  # Monday 00:30 in Amsterdam
    assert iso_week(monday_early) == "2026-W49"


def test_parse_today_names_the_expected_form():
    assert parse_today("2028-02-29") == date(2028, 2, 29)
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        parse_today("29-02-2028")


def test_purge_today_acts_on_the_given_day(tmp_path):
    """`python -m bot purge --today` asks "what would retention delete on that day?" with the real rule."""
    db_file = tmp_path / "bot.sqlite3"
    chat = subprocess.run([PYTHON, "-m", "bot", "chat", "--json", "--db", str(db_file), "--user", "anna"],
                          input='{"text": "hallo"}\n', capture_output=True, text=True, env=bot_env(), timeout=120,
                          cwd=REPO)
    assert chat.returncode == 0, chat.stderr
    stamped = _updated_at(db_file)
    written = datetime.fromtimestamp(stamped, UTC).astimezone(NL).date()

    def purge(day: date) -> str:
        done = subprocess.run([PYTHON, "-m", "bot", "purge", "--db", str(db_file), "--today", day.isoformat()],
                              capture_output=True, text=True, env=bot_env(), timeout=120, cwd=REPO)
        assert done.returncode == 0, done.stderr
        return done.stdout

    purge(written + timedelta(days=29))
    assert _updated_at(db_file) == stamped  # kept: not yet 30 days quiet
    purge(written + timedelta(days=32))
    with sqlite3.connect(db_file) as db:
        assert db.execute("SELECT COUNT(*) FROM conversations").fetchone() == (0,)


def _updated_at(db_file: Path) -> int:
    with sqlite3.connect(db_file) as db:
        [(stamp,)] = db.execute("SELECT updated_at FROM conversations").fetchall()
    return int(stamp)


def test_chat_today_shows_a_parent_what_they_would_read_on_that_day(tmp_path):
    """`chat --today`: "gisteren" is the day before the given day, whatever the real date is."""
    day = SYSTEM.today() + timedelta(days=400)
    done = subprocess.run([PYTHON, "-m", "bot", "chat", "--json", "--db", str(tmp_path / "bot.sqlite3"),
                           "--today", day.isoformat()],
                          input="hallo\n1\n2\n1\ngisteren\n", capture_output=True, text=True, env=bot_env(),
                          timeout=120, cwd=REPO)
    assert done.returncode == 0, done.stderr
    from bot.dates import format_date

    shown = [json.loads(line)["text"] for line in done.stdout.splitlines() if '"message"' in line]
    # "Ik lees: <weekday> <date>. Klopt dat?"
    assert shown[-1].startswith("Ik lees: "), shown[-3:]
    assert shown[-1].endswith(f" {format_date(day - timedelta(days=1), 'nl')}. Klopt dat?"), shown[-3:]
