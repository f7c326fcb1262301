"""`python -m bot chat`: talk to the bot in the terminal, as a person or (`--json`) as a script."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal

from bot.adapters.console import run_console
from bot.app import build_core, live_reload
from bot.cli.options import Subcommands, add_common, clock_of, print_errors, settings_of
from bot.flows.problems import FlowSetInvalid


def run(args: argparse.Namespace) -> int:
    settings = settings_of(args)
    if not args.json:
        # A person chatting in the terminal needs no deployment warnings (no desk, no key)
        # between the messages; errors still show.
        logging.getLogger().setLevel(logging.ERROR)

    hangup = getattr(signal, "SIGHUP", None)  # none on Windows
    before = signal.getsignal(hangup) if hangup else None

    async def main() -> None:
        core = await build_core(settings, clock=clock_of(args))
        try:
            async with live_reload(core):
                await run_console(core, user=args.user, lang=args.lang, as_json=args.json)
        finally:
            if hangup:  # a closing terminal ends the input and sends SIGHUP at once: finish closing the store
                signal.signal(hangup, signal.SIG_IGN)
            await core.store.close()

    try:
        asyncio.run(main())
    except FlowSetInvalid as exc:
        print_errors(exc.problems)
        return 2
    except KeyboardInterrupt:
        return 130
    finally:
        if hangup:  # not inherited by anything this process runs next
            signal.signal(hangup, before)
    return 0


def register(commands: Subcommands) -> None:
    p = commands.add_parser("chat", help="chat in the terminal")
    add_common(p)
    p.add_argument("--json", action="store_true", help="scripted mode: one turn per line in, JSON lines out")
    p.add_argument("--lang", help="language (nl, en)")
    p.add_argument("--user", default="local", help="user id (separate conversations per id)")
    p.set_defaults(func=run)
