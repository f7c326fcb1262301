"""`python -m bot purge`: apply the retention periods now (the running bot does it every few hours).

With `--today` it deletes what retention would delete on that day.
"""

from __future__ import annotations

import argparse
import asyncio

from bot.app import open_store
from bot.cli.options import Subcommands, add_common, clock_of, settings_of
from bot.privacy import Purged, purge_store


def run(args: argparse.Namespace) -> int:
    settings = settings_of(args)

    async def main() -> Purged:
        store = await open_store(settings, clock_of(args))
        try:
            return await purge_store(store, settings)
        finally:
            await store.close()

    done = asyncio.run(main())
    print(f"purged (conversations older than {settings.retention_days} days, talks older than "
          f"{settings.relay_retention_days} days): {done.summary()}")
    return 0


def register(commands: Subcommands) -> None:
    p = commands.add_parser("purge", help="delete conversations and desk talks older than the retention periods")
    add_common(p)
    p.set_defaults(func=run)
