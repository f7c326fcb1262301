"""Who may read the files the bot writes: only the account it runs as.

The database holds conversations, reports and (without keys) what people
typed; its `-wal` and `-shm` files hold copies of the same pages. These tests
start the real store on a real file with the usual umask (022, which would
give 0644 files in a 0755 folder) and stat what is on disk.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.app import SCHEMA
from bot.settings import Settings
from bot.store import Store


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def usual_umask() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


async def test_a_new_data_folder_is_0700_and_the_database_its_wal_and_shm_are_0600(tmp_path, usual_umask):
    db_file = tmp_path / "data" / "deeper" / "wegwijzer.sqlite3"
    store = await Store.open(db_file, schema=SCHEMA)
    try:
        await store.set_cursor("test", "1")  # a write: the WAL and its index exist now
        assert mode(tmp_path / "data") == 0o700
        assert mode(tmp_path / "data" / "deeper") == 0o700
        for name in ("wegwijzer.sqlite3", "wegwijzer.sqlite3-wal", "wegwijzer.sqlite3-shm"):
            assert mode(db_file.parent / name) == 0o600, name
    finally:
        await store.close()
    assert mode(db_file) == 0o600


async def test_existing_files_readable_by_others_are_made_0600_and_an_open_folder_is_warned_about(
        tmp_path, usual_umask, caplog):
    folder = tmp_path / "shared"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    db_file = folder / "wegwijzer.sqlite3"
    store = await Store.open(db_file, schema=SCHEMA)
    await store.set_cursor("test", "1")
    await store.close()
    for suffix in ("", "-wal", "-shm"):
        part = Path(f"{db_file}{suffix}")
        if not part.exists():
            part.touch()
        part.chmod(0o644)
    with caplog.at_level(logging.WARNING):
        store = await Store.open(db_file, schema=SCHEMA)
    try:
        await store.set_cursor("test", "2")
        for suffix in ("", "-wal", "-shm"):
            assert mode(Path(f"{db_file}{suffix}")) == 0o600, suffix
        assert mode(folder) == 0o755  # not ours to change: the operator is told instead
        warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert any("readable by other accounts" in m and str(folder) in m for m in warned), warned
    finally:
        await store.close()


async def test_a_private_folder_gives_no_warning(tmp_path, usual_umask, caplog):
    with caplog.at_level(logging.WARNING):
        store = await Store.open(tmp_path / "data" / "wegwijzer.sqlite3", schema=SCHEMA)
        await store.close()
    assert not [r for r in caplog.records if "readable by other accounts" in r.getMessage()]


def test_the_matrix_store_next_to_the_database_is_0700_and_so_is_the_data_folder_it_creates(
        tmp_path, usual_umask):
    from bot.adapters.matrix.adapter import MatrixAdapter

    settings = Settings(_env_file=None, db=tmp_path / "data" / "wegwijzer.sqlite3",
                        matrix_homeserver="http://127.0.0.1:1", matrix_user="@bot:localhost",
                        matrix_password="x")
    adapter = MatrixAdapter(settings, core=None)  # type: ignore[arg-type]  # only its files are looked at
    assert adapter.config.store == tmp_path / "data" / "matrix-store"
    assert mode(tmp_path / "data") == 0o700
    assert mode(tmp_path / "data" / "matrix-store") == 0o700
