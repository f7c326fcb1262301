"""A local folder that follows a lease: the holder keeps a snapshot of it in the shared database,
and the process that takes the lease over restores that snapshot before it uses the folder.

Why: with several processes on one PostgreSQL (each on its own host, with its own data folder),
the Matrix sync moves with its lease (bot/lease.py), but what makes the bot's Matrix *device* is
in a local folder: session.json (access token, device id), nio's crypto store (an SQLite file:
the Olm account with the identity keys, Olm and Megolm sessions, known devices), the
cross-signing keys, the sync token and two small files of the adapter. A process that logged in
afresh would be a new device: new keys every user's client must learn (and distrust), and no
Megolm session for what users already sent. So the folder is handed over instead.

How:
- One row per file in `handover_files` (path = folder name + file name), its bytes compressed
  and passed through the store's codec: encrypted at rest with WEGWIJZER_ENCRYPTION_KEYS
  (re-encrypted by rotate-keys), like every other secret the store keeps. A file that is an
  SQLite database is copied through SQLite (`serialize`), so a transaction in progress is never
  copied half; whether it changed is asked of SQLite (`PRAGMA data_version`), the other files
  (a few KB) are read and hashed each time. Only changed files are written.
- Every save is one transaction with a version number (one higher each save, kept in the
  folder's own row): a restore reads every row of the folder in one transaction, so it gets one
  consistent snapshot. A save first locks the lease's row and checks this process still holds
  it, and that nobody wrote a newer version: a process that lost the lease (it hung, its
  database link broke) can never overwrite the snapshot of the one that took over, and a take
  over waits for a save in progress, so it restores what that save wrote.
- Restore: when the database holds a version this process did not write itself, the folder's
  files are replaced by the snapshot's (and files the snapshot lacks are removed) before the
  caller opens them. With no snapshot yet (the first process of a cluster), the local folder is
  used as it is and becomes the first snapshot.
- On SQLite (one file, one process) there is nobody to hand over to: nothing is read or written.

When the Matrix adapter saves (bot/adapters/matrix/adapter.py): before every /sync request
(strictly: a failed save is retried and the sync waits for it), after the keys kept between
syncs were uploaded, after each delivery, and at a clean stop.

What a SIGKILL between two saves can lose, and why that is acceptable:
- To-device messages (room keys sent to the bot over Olm): none. The homeserver deletes them
  only when the next /sync names a `since` token past them, and that request goes out only after
  a save that holds the keys those messages brought and that token. The next holder syncs from
  the snapshot's token, so it is given again whatever came after it. When a snapshot is ahead of
  its token (a save after a delivery while a sync was being handled), the messages given again
  were already decrypted into the snapshot: decrypting them a second time fails, nio sets up a
  fresh Olm channel to that device (an m.dummy) and asks for the keys again; no room key is lost.
- Room events: given again from the snapshot's token; the core's handled marks (in the shared
  database) make sure each is answered once.
- What the old holder *sent* after its last save: outbound Megolm sessions are never stored by
  nio, so the next holder always starts a new one (no Megolm index is used twice). An Olm message
  sent in that window (a room key shared with a user's device) leaves the restored Olm session a
  step behind: the next message on it cannot be decrypted by that device, whose client then
  sets up a fresh Olm session and asks for the room key again (Element and nio both do), so one
  message may show late. One-time keys uploaded in the window are unknown to the next holder: a
  device that claims one cannot open its first message and sets up a new session the same way.
  The window is one delivery or one key upload long, as each is followed by a save.

Never log a file's contents, a token or a key from here; file names and version numbers only.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import logging
import sqlite3
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bot.errors import StorageError
from bot.private_files import SQLITE_SIDE_FILES, write_private
from bot.schema import EncryptedColumn, Tables, run_script

if TYPE_CHECKING:
    from bot.lease import Leases
    from bot.store import Store

log = logging.getLogger(__name__)

#: The first bytes of every SQLite database file.
SQLITE_HEADER = b"SQLite format 3\x00"

TABLES = Tables("handover", encrypted=[EncryptedColumn("handover_files", "content", "path")])


@TABLES.migration(7, "files a lease holder hands over to the next (the Matrix device), encrypted")
def _m7(db: sqlite3.Connection) -> None:
    """IF NOT EXISTS: a half-finished upgrade (or a file set back to an older version) runs it again."""
    run_script(db,
        """
        CREATE TABLE IF NOT EXISTS handover_files (
            path TEXT PRIMARY KEY,
            folder TEXT NOT NULL,
            content BLOB NOT NULL,
            version INTEGER NOT NULL,
            updated_at INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS handover_files_folder ON handover_files(folder)
        """
    )


class HandoverRefused(StorageError):
    """This process no longer holds the lease (or another wrote a newer snapshot): nothing was saved."""


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One consistent copy of a folder as the database holds it."""

    version: int
    #: file name -> its bytes
    files: dict[str, bytes]


def _pack(data: bytes) -> str:
    return base64.b64encode(zlib.compress(data, 6)).decode("ascii")


def _unpack(text: str) -> bytes:
    return zlib.decompress(base64.b64decode(text))


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class _SqliteWatch:
    """A read-only connection to one SQLite file: whether another connection committed, and a copy."""

    def __init__(self, path: Path) -> None:
        self.inode = path.stat().st_ino
        self.conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        self.seen: int | None = None

    def changed(self) -> bool:
        return self.seen is None or int(self.conn.execute("PRAGMA data_version").fetchone()[0]) != self.seen

    def copy(self) -> bytes:
        self.seen = int(self.conn.execute("PRAGMA data_version").fetchone()[0])
        return self.conn.serialize()

    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self.conn.close()


class FolderHandover:
    """The snapshot of one local folder in the shared database, saved and restored under a lease."""

    def __init__(self, store: Store, folder: Path, name: str, leases: Leases, lease: str) -> None:
        self.store = store
        self.folder = folder
        #: the folder's name in the database (e.g. "matrix/@bot:example.org"): one snapshot per device
        self.name = name
        #: what the log calls it: the name's first part ("matrix"), never an account
        self.kind = name.split("/", 1)[0]
        self.leases = leases
        self.lease = lease
        #: the version this process last wrote or restored (0: none)
        self.version = 0
        self._digests: dict[str, str] = {}
        self._watches: dict[str, _SqliteWatch] = {}
        self._lock = asyncio.Lock()

    @property
    def active(self) -> bool:
        """Only a cluster (PostgreSQL) hands over; on SQLite the local folder is all there is."""
        return self.leases.clustered

    # ------------------------------------------------------------ restore

    async def restore(self, before_write: Callable[[], None] = lambda: None) -> bool:
        """Make the folder the newest snapshot unless this process wrote it; True when files were replaced.

        `before_write` runs just before the first file is replaced: the caller closes what it has open.
        Raises what the database raises: a caller must not go on with a folder that may be stale.
        """
        if not self.active:
            return False
        async with self._lock:
            snapshot = await self.store.execute(self._read, write=False)
            if snapshot is None or snapshot.version == self.version:
                return False
            before_write()
            self._close_watches()
            for path in self._files():
                if path.name not in snapshot.files:
                    path.unlink()
            for name, data in snapshot.files.items():
                for suffix in SQLITE_SIDE_FILES:  # a journal left by an earlier crash would be "rolled back" into it
                    (self.folder / f"{name}{suffix}").unlink(missing_ok=True)
                write_private(self.folder / name, data)
            self.version = snapshot.version
            self._digests = {name: _digest(data) for name, data in snapshot.files.items()}
            log.info("handover: the %s folder restored from the database (version %d, %d files)",
                     self.kind, snapshot.version, len(snapshot.files))
            return True

    def _read(self, db: sqlite3.Connection) -> Snapshot | None:
        rows = db.execute("SELECT path, content, version FROM handover_files WHERE folder = ?",
                          (self.name,)).fetchall()
        if not rows:
            return None
        prefix = f"{self.name}/"
        files = {str(path)[len(prefix):]: _unpack(self.store.codec.decode(content))
                 for path, content, _ in rows if str(path).startswith(prefix) and str(path) != prefix}
        return Snapshot(max(int(version) for _, _, version in rows), files)

    # ------------------------------------------------------------ save

    async def save(self, *, wait: bool = True) -> bool:
        """Write what changed in the folder as the next version; True when something was written.

        Raises HandoverRefused when this process no longer holds the lease. While the database cannot
        be reached it waits for it (`wait`), or raises the store's StoreUnavailable at once.
        """
        if not self.active:
            return False
        async with self._lock:
            changed, gone = self._changes()
            if not changed and not gone:
                return False
            if not self.version and not getattr(self.store.codec, "encrypting", False):
                log.warning("handover: without WEGWIJZER_ENCRYPTION_KEYS the %s device (its access token and "
                            "keys) is stored in the database unencrypted", self.kind)
            rows = {name: self.store.codec.encode(_pack(data)) for name, data in changed.items()}
            version = self.version + 1
            now = int(self.store.clock().timestamp())
            if not await self.store.execute(self._write, rows, sorted(gone), version, now, wait=wait):
                raise HandoverRefused(f"{self.kind}: the lease {self.lease!r} is no longer ours")
            self.version = version
            for name, data in changed.items():
                self._digests[name] = _digest(data)
            for name in gone:
                self._digests.pop(name, None)
            log.debug("handover: the %s folder saved (version %d, %d files changed)", self.kind, version, len(changed))
            return True

    def _write(self, db: sqlite3.Connection, rows: dict[str, bytes], gone: list[str], version: int, now: int) -> bool:
        # Lock the lease's row (an update that changes nothing), so a take-over waits for this save.
        if not db.execute("UPDATE leases SET expires_at = expires_at WHERE name = ? AND holder = ? AND expires_at > ?",
                          (self.lease, self.leases.holder, now)).rowcount:
            return False
        [(newest,)] = db.execute("SELECT MAX(version) FROM handover_files WHERE folder = ?", (self.name,)).fetchall()
        if (newest or 0) != self.version:
            return False
        upsert = ("INSERT INTO handover_files(path, folder, content, version, updated_at) VALUES (?, ?, ?, ?, ?) "
                  "ON CONFLICT(path) DO UPDATE SET content = excluded.content, version = excluded.version, "
                  "updated_at = excluded.updated_at")
        db.execute(upsert, (f"{self.name}/", self.name, self.store.codec.encode(""), version, now))
        for name, content in rows.items():
            db.execute(upsert, (f"{self.name}/{name}", self.name, content, version, now))
        for name in gone:
            db.execute("DELETE FROM handover_files WHERE path = ?", (f"{self.name}/{name}",))
        return True

    def _changes(self) -> tuple[dict[str, bytes], set[str]]:
        """The files whose bytes differ from what this process last wrote or restored, and those gone."""
        changed: dict[str, bytes] = {}
        present = set()
        for path in self._files():
            present.add(path.name)
            data = self._copy(path)
            if data is not None and _digest(data) != self._digests.get(path.name):
                changed[path.name] = data
        for name in set(self._watches) - present:
            self._watches.pop(name).close()
        return changed, set(self._digests) - present

    def _copy(self, path: Path) -> bytes | None:
        """The file's bytes; None for an SQLite file no one changed since its last copy."""
        watch = self._watches.get(path.name)
        if watch is not None and watch.inode != path.stat().st_ino:  # replaced: watch the new file
            self._watches.pop(path.name).close()
            watch = None
        if watch is None:
            with path.open("rb") as handle:
                if handle.read(len(SQLITE_HEADER)) != SQLITE_HEADER:
                    return path.read_bytes()
            watch = self._watches[path.name] = _SqliteWatch(path)
        return watch.copy() if watch.changed() else None

    def _files(self) -> list[Path]:
        """The folder's own files: no temporary files (".name.xyz") and no SQLite journal beside a database."""
        if not self.folder.is_dir():
            return []
        return sorted(p for p in self.folder.iterdir()
                      if p.is_file() and not p.name.startswith(".") and not p.name.endswith(SQLITE_SIDE_FILES))

    def _close_watches(self) -> None:
        for watch in self._watches.values():
            watch.close()
        self._watches.clear()

    def close(self) -> None:
        self._close_watches()
