"""`python -m bot new-key` and `rotate-keys`: the keys that encrypt saved answers, reports and relay text.

See docs/KEY-ROTATION.md. Never print a key except the new one asked for.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from bot.app import open_store
from bot.cli.options import Subcommands, add_common, settings_of
from bot.crypto import FernetCodec, KeyProblem, new_key, rotate_store
from bot.privacy import WAL_WAIT_S


def rotate(args: argparse.Namespace) -> int:
    """Exit 2 without keys to encrypt with, 1 when a value cannot be read with any key given."""
    settings = settings_of(args)

    async def main() -> int:
        store = await open_store(settings)
        try:
            if not isinstance(store.codec, FernetCodec):
                print("no WEGWIJZER_ENCRYPTION_KEYS set: nothing to encrypt with", file=sys.stderr)
                return 2
            changed = await rotate_store(store, store.codec)
            await store.truncate_wal(WAL_WAIT_S)
            print(f"re-encrypted {changed} value(s) with the current key; "
                  "the other keys can now be removed from WEGWIJZER_ENCRYPTION_KEYS")
            return 0
        except KeyProblem as exc:
            print(f"stopped: {exc}", file=sys.stderr)
            return 1
        finally:
            await store.close()

    return asyncio.run(main())


def make(args: argparse.Namespace) -> int:
    print(new_key())
    return 0


def register(commands: Subcommands) -> None:
    p = commands.add_parser("rotate-keys", help="re-encrypt stored data with the first key of WEGWIJZER_ENCRYPTION_KEYS")
    add_common(p)
    p.set_defaults(func=rotate)
    p = commands.add_parser("new-key", help="print a new encryption key for WEGWIJZER_ENCRYPTION_KEYS")
    p.set_defaults(func=make)
