"""`python -m bot audit`: moderators' actions (reloads, statistics requests) and the flow versions loaded.

Only reads: a database that is not there is a mistake in `--db` (exit 2), never created.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from dataclasses import asdict

from bot.app import SCHEMA
from bot.audit import AuditEntry, LoadedVersion, actions, format_action, versions
from bot.cli.options import Subcommands, add_common, existing_db
from bot.store import Store


def run(args: argparse.Namespace) -> int:
    db = existing_db(args)

    async def read() -> tuple[list[AuditEntry], list[LoadedVersion]]:
        store = await Store.open(db, schema=SCHEMA)
        try:
            return await actions(store, args.limit), await versions(store, args.limit)
        finally:
            await store.close()

    entries, loaded = asyncio.run(read())
    if args.json:
        print(json.dumps({"actions": [asdict(e) for e in entries], "versions": [asdict(v) for v in loaded]},
                         ensure_ascii=False, indent=2))
        return 0
    if args.versions:
        for v in loaded:
            print(f"{v.loaded_at}  version {v.version}  {v.flows} flows  ({v.trigger})")
        if not loaded:
            print("no flow set was recorded yet")
        return 0
    for entry in entries:
        print(format_action(entry, full=args.full))
    if not entries:
        print("no moderator actions were recorded yet")
    return 0


def register(commands: Subcommands) -> None:
    p = commands.add_parser("audit", help="show moderators' actions (reloads, statistics requests) and loaded versions")
    add_common(p)
    p.add_argument("--limit", type=int, default=50, help="newest entries to show (default 50)")
    p.add_argument("--versions", action="store_true", help="show the flow versions the bot loaded instead")
    p.add_argument("--full", action="store_true", help="show every line of each entry's detail (all errors)")
    p.add_argument("--json", action="store_true", help="both lists as JSON")
    p.set_defaults(func=run)
