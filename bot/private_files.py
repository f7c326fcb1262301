"""Files only the bot's own account may read: the database and the Matrix store.

Why: the database (and its `-wal` and `-shm` files, which hold copies of its
pages) keeps conversations, reports and, without encryption keys, what people
typed; the Matrix store keeps the device's keys. With the usual umask (022)
they would be created 0644 in a 0755 folder, readable by every account on
the host. So folders the bot creates are 0700 and these files 0600.

A folder the bot did not create (the operator chose it, e.g. the working
directory) is not changed: the bot warns once at start when other accounts
can look into it, and still makes its own files 0600.

Never log a file's contents from here; paths only.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)

#: Files SQLite keeps next to a database (they get the database's mode when SQLite creates them).
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


def private_folder(folder: Path, *, ours: bool = False) -> None:
    """Create `folder` (and every missing parent) 0700; warn when an existing one is open to others.

    `ours`: the folder belongs to the bot alone (the Matrix store), so an existing one is made 0700 too.
    """
    missing = []
    for part in (folder, *folder.parents):
        if part.exists():
            break
        missing.append(part)
    for part in reversed(missing):
        with contextlib.suppress(FileExistsError):  # made by someone else meanwhile: checked below
            part.mkdir(mode=0o700)
        part.chmod(0o700)  # mkdir's mode passes through the umask
    if ours:
        folder.chmod(0o700)
    elif not missing:
        warn_if_open(folder)


def warn_if_open(folder: Path) -> None:
    if stat.S_IMODE(folder.stat().st_mode) & 0o077:
        log.warning("the folder %s is readable by other accounts on this machine; the bot's files in it are "
                    "0600, but make the folder private (chmod 700) or move WEGWIJZER_DB to one that is",
                    folder)


def private_database(path: Path) -> None:
    """Create the database file 0600 if it is new, and make it and its side files 0600 if they exist.

    SQLite creates the `-wal` and `-shm` files with the mode of the database file, so a
    0600 database keeps its copies private too. The file is created here rather than
    under a changed umask: the umask is per process and other threads create files too.
    """
    private_folder(path.parent)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    for candidate in (path, *(Path(f"{path}{suffix}") for suffix in SQLITE_SIDE_FILES)):
        with contextlib.suppress(FileNotFoundError):
            if stat.S_IMODE(candidate.stat().st_mode) != 0o600:
                candidate.chmod(0o600)
                log.info("made %s readable by the bot's account only (0600)", candidate.name)


def write_private(path: Path, data: str | bytes, *, durable: bool = True) -> None:
    """Atomic 0600 write: a crash leaves the old file or the new one, never half."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data.encode() if isinstance(data, str) else data)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
