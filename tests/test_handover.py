"""The hand-over of a local folder with a lease (bot/handover.py): what one process saves, the next restores.

Two stores on one real PostgreSQL database stand for two processes on two hosts, each with its own
folder; one FixedClock is their time and lease rounds run by hand (as in tests/test_lease.py). The
folder is shaped like the Matrix store: a session file with an access token, a sync token and an
SQLite crypto store that is open (and written) while it is copied.
"""

from __future__ import annotations

import json
import sqlite3
import zlib
from collections.abc import AsyncIterator
from contextlib import closing
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from bot.app import SCHEMA
from bot.clock import FixedClock
from bot.crypto import FernetCodec, codec_from_settings, rotate_store
from bot.handover import FolderHandover, HandoverRefused
from bot.lease import TTL_S, Leases
from bot.settings import Settings
from bot.store import Store
from tests.conftest import NOW
from tests.postgres import Cluster, read

LEASE = "matrix"
NAME = "matrix/@wegwijzer:example.org"
TOKEN = "syt_d2Vnd2lqemVy_SecretAccessToken_1a2b3c"
KEY = Fernet.generate_key().decode()


class Host:
    """One process: its store, its leases and its own folder."""

    def __init__(self, store: Store, leases: Leases, folder: Path) -> None:
        self.store, self.leases, self.folder = store, leases, folder
        folder.mkdir(mode=0o700)
        self.handover = FolderHandover(store, folder, NAME, leases, LEASE)


@pytest.fixture
async def hosts(pg_cluster: Cluster, tmp_path: Path) -> AsyncIterator[tuple[Host, Host, FixedClock, str]]:
    url = pg_cluster.new_database()
    clock = FixedClock(NOW)
    codec = codec_from_settings(Settings(_env_file=None, encryption_keys=KEY))  # type: ignore[call-arg]
    stores = [await Store.open(url, codec, schema=SCHEMA, clock=clock) for _ in range(2)]
    made = []
    for n, store in enumerate(stores):
        leases = Leases(store, f"host{n}")
        leases.want(LEASE)
        made.append(Host(store, leases, tmp_path / f"host{n}"))
    try:
        yield made[0], made[1], clock, url
    finally:
        for host in made:
            host.handover.close()
            await host.store.close()


def a_device(folder: Path) -> sqlite3.Connection:
    """The files of a logged-in device; the crypto store stays open, as nio keeps it."""
    (folder / "session.json").write_text(json.dumps({"user_id": "@wegwijzer:example.org", "device_id": "WWDEVICE",
                                                      "access_token": TOKEN}))
    (folder / "sync_token").write_text("s1_1")
    crypto = sqlite3.connect(folder / "@wegwijzer:example.org_WWDEVICE.db")
    crypto.execute("CREATE TABLE olmsessions (sender_key TEXT, session BLOB)")
    crypto.execute("INSERT INTO olmsessions VALUES ('curve-of-a-parent', 'ratchet-0')")
    crypto.commit()
    return crypto


def sessions(folder: Path) -> list[tuple[str, str]]:
    with closing(sqlite3.connect(folder / "@wegwijzer:example.org_WWDEVICE.db")) as db:
        return db.execute("SELECT sender_key, session FROM olmsessions").fetchall()


async def test_the_next_holder_gets_the_same_device_files_the_last_holder_saved(
        hosts: tuple[Host, Host, FixedClock, str]) -> None:
    one, two, clock, _ = hosts
    assert await one.leases.renew() == [LEASE]
    crypto = a_device(one.folder)
    assert await one.handover.save()
    assert not await one.handover.save(), "nothing changed, nothing written"
    # a sync: the ratchet moves on and the token with it, both saved together
    crypto.execute("UPDATE olmsessions SET session = 'ratchet-1'")
    crypto.commit()
    (one.folder / "sync_token").write_text("s2_7")
    assert await one.handover.save()
    crypto.close()

    clock.advance(seconds=TTL_S + 1)  # the holder died (no clean stop)
    assert await two.leases.renew() == [LEASE]
    (two.folder / "stale_file.json").write_text("{}")
    assert await two.handover.restore()
    assert sorted(p.name for p in two.folder.iterdir()) == sorted(
        ["session.json", "sync_token", "@wegwijzer:example.org_WWDEVICE.db"])
    assert json.loads((two.folder / "session.json").read_text())["device_id"] == "WWDEVICE"
    assert (two.folder / "sync_token").read_text() == "s2_7"
    assert sessions(two.folder) == [("curve-of-a-parent", "ratchet-1")]
    assert {oct(p.stat().st_mode & 0o777) for p in two.folder.iterdir()} == {"0o600"}
    assert not await two.handover.restore(), "what it restored is what it has"

    # the old holder wakes up: it may not overwrite what the new one saves from now on
    (one.folder / "sync_token").write_text("s3_old")
    with pytest.raises(HandoverRefused):
        await one.handover.save()
    (two.folder / "sync_token").write_text("s3_9")
    assert await two.handover.save()


async def test_the_snapshot_is_encrypted_at_rest(hosts: tuple[Host, Host, FixedClock, str]) -> None:
    one, _, _, url = hosts
    await one.leases.renew()
    a_device(one.folder).close()
    await one.handover.save()
    rows = read(url, "SELECT path, content FROM handover_files")
    assert {path for path, _ in rows} >= {f"{NAME}/session.json", f"{NAME}/sync_token"}
    everything = b"".join(bytes(content) for _, content in rows)
    assert TOKEN.encode() not in everything
    assert b"ratchet-0" not in everything and b"SQLite format 3" not in everything
    for _, content in rows:  # not merely compressed: Fernet tokens, not zlib streams
        assert bytes(content).startswith(b"gAAAAA")
        with pytest.raises(zlib.error):
            zlib.decompress(bytes(content))


async def test_rotate_keys_re_encrypts_the_copy_and_the_new_key_alone_restores_it(
        hosts: tuple[Host, Host, FixedClock, str], tmp_path: Path) -> None:
    one, _, clock, url = hosts
    await one.leases.renew()
    a_device(one.folder).close()
    await one.handover.save()
    new = Fernet.generate_key().decode()
    rotating = await Store.open(url, FernetCodec([new, KEY]), schema=SCHEMA, clock=clock)
    try:
        assert await rotate_store(rotating, FernetCodec([new, KEY])) >= 3
    finally:
        await rotating.close()
    store = await Store.open(url, FernetCodec([new]), schema=SCHEMA, clock=clock)
    try:
        later = Host(store, Leases(store, "later"), tmp_path / "later")
        assert await later.handover.restore()
        assert json.loads((later.folder / "session.json").read_text())["access_token"] == TOKEN
        assert sessions(later.folder) == [("curve-of-a-parent", "ratchet-0")]
        later.handover.close()
    finally:
        await store.close()


async def test_a_standby_saves_nothing_and_without_a_snapshot_keeps_its_own_folder(
        hosts: tuple[Host, Host, FixedClock, str]) -> None:
    one, two, _, url = hosts
    assert await one.leases.renew() == [LEASE]
    assert await two.leases.renew() == []
    assert not await two.handover.restore()  # nothing saved yet: the folder stays as it is
    a_device(two.folder).close()
    with pytest.raises(HandoverRefused):
        await two.handover.save()
    assert read(url, "SELECT count(*) FROM handover_files") == [(0,)]


async def test_on_sqlite_nothing_is_handed_over(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "one.sqlite3", schema=SCHEMA)
    try:
        leases = Leases(store)
        handover = FolderHandover(store, tmp_path / "matrix", NAME, leases, LEASE)
        (tmp_path / "matrix").mkdir()
        a_device(tmp_path / "matrix").close()
        assert not await handover.save()
        assert not await handover.restore()
        assert await store.execute(lambda db: db.execute("SELECT count(*) FROM handover_files").fetchall(),
                                   write=False) == [(0,)]
    finally:
        await store.close()
