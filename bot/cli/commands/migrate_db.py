"""`python -m bot migrate-db --from sqlite:///file --to postgresql://...`: move the data to PostgreSQL.

The bot must be stopped while it runs (nothing may write the file meanwhile). The same
WEGWIJZER_ENCRYPTION_KEYS as the bot's must be set: the source is opened (and upgraded) as the
bot would open it; what is encrypted is copied as it is (bot/dbcopy.py). Exit 0 when every table
has as many rows on both sides, 1 naming the tables that do not, 2 when the copy was refused.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from bot.app import SCHEMA, open_store
from bot.cli.options import BadSettings, Subcommands, settings_of
from bot.dbcopy import CannotMigrate, Copied, copy_rows, prepare_target, sqlite_path


def run(args: argparse.Namespace) -> int:
    source = sqlite_path(args.source)
    if not source.is_file():
        raise BadSettings([f"no SQLite database at {source} (--from)"])
    if not args.target.startswith(("postgresql://", "postgres://")):
        raise BadSettings(["--to must be a postgresql:// URL"])
    args.db = str(source)
    settings = settings_of(args)

    async def main() -> Copied:
        store = await open_store(settings)  # brings an older file up to the current schema first
        await store.close()
        await prepare_target(args.target, SCHEMA)
        return await asyncio.to_thread(copy_rows, source, args.target)

    try:
        copied = asyncio.run(main())
    except CannotMigrate as exc:
        print(f"not migrated: {exc}", file=sys.stderr)
        return 2
    for table, n in copied.source.items():
        print(f"{table}: {n} row(s) in SQLite, {copied.target.get(table)} in PostgreSQL")
    if copied.lost:
        print(f"MISMATCH in {', '.join(copied.lost)}: do not switch the bot to PostgreSQL", file=sys.stderr)
        return 1
    print(f"copied {sum(copied.source.values())} row(s) in {len(copied.source)} table(s); every count matches. "
          "Start the bot with WEGWIJZER_DB set to the new database and the same encryption keys.")
    return 0


def register(commands: Subcommands) -> None:
    p = commands.add_parser("migrate-db", help="copy every table from a SQLite file into an empty PostgreSQL database")
    p.add_argument("--from", dest="source", required=True, metavar="sqlite:///FILE",
                   help="the bot's SQLite database (sqlite:///relative or sqlite:////absolute, or a path)")
    p.add_argument("--to", dest="target", required=True, metavar="postgresql://...",
                   help="an empty PostgreSQL database the user may create tables in")
    p.set_defaults(func=run)
