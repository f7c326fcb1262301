"""`python -m bot migrate-db`: a bot's SQLite file moved to a real PostgreSQL, and the bot going on there.

The file has everything a bot writes (tests/test_privacy.py's user: reports, a check-in with its
timer, a relayed talk, statistics), encrypted with keys; after the copy the same bot, opened on
PostgreSQL with the same keys, continues the same conversation and fires the same timer.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from pathlib import Path
from typing import Any

import psycopg
import pytest
from cryptography.fernet import Fernet

from bot.cli import main
from tests.desk_harness import World
from tests.postgres import Cluster, read
from tests.test_privacy import ADDRESS, REPORT_TITLE, USER, a_user_with_everything, exported


def sqlite_rows(path: Path, sql: str) -> list[tuple[Any, ...]]:
    with contextlib.closing(sqlite3.connect(path)) as db:
        return db.execute(sql).fetchall()


async def test_a_bots_sqlite_file_moves_to_postgresql_and_the_bot_goes_on_there(
        pg_cluster: Cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    keys = Fernet.generate_key().decode()
    world = await World(tmp_path, encryption_keys=keys, db=tmp_path / "wegwijzer.sqlite3").start()
    try:
        await a_user_with_everything(world)
        stats = await world.c.store.stats()
    finally:
        await world.close()
    source = Path(world.settings.db)
    assert stats and sqlite_rows(source, "SELECT count(*) FROM timers") == [(1,)]
    url = pg_cluster.new_database()
    monkeypatch.setenv("WEGWIJZER_ENCRYPTION_KEYS", keys)

    assert await asyncio.to_thread(main, ["migrate-db", "--from", f"sqlite:///{source}", "--to", url]) == 0
    said = capsys.readouterr().out
    assert "timers: 1 row(s) in SQLite, 1 in PostgreSQL" in said and "every count matches" in said
    # the answers were not decrypted and encrypted again: the very same bytes
    assert read(url, "SELECT key, state FROM conversations ORDER BY key") == [
        (key, bytes(state)) for key, state in sqlite_rows(source, "SELECT key, state FROM conversations ORDER BY key")]

    world.settings = world.settings.model_copy(update={"db": url})
    await world.start()  # the same people, their update ids already handled on SQLite
    try:
        assert await world.c.store.stats() == stats
        await world.command(USER, "mijngegevens")
        text = exported(world, USER).content
        assert f"        {ADDRESS}\n" in text and f"WW-2026-0001 · {REPORT_TITLE}" in text
        assert REPORT_TITLE in (await world.desk_says("m1", "/queue"))[0]
        world.clock.advance(minutes=61)
        assert await world.fire_timers() == 1  # the check-in set on SQLite
        assert any("veilig" in t.lower() for t in world.outlet.texts(USER)[-2:])
        await world.start_over(USER, "meldtest")  # new rows continue after the copied ids
    finally:
        await world.close()


def test_migrate_db_refuses_a_target_that_is_not_empty(pg_cluster: Cluster, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    url = pg_cluster.new_database()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE something (id INTEGER)")
    source = tmp_path / "wegwijzer.sqlite3"
    sqlite3.connect(source).close()
    assert main(["migrate-db", "--from", str(source), "--to", url]) == 2
    assert "the target database is not empty" in capsys.readouterr().err
    assert read(url, "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public'") == [
        ("something",)]
