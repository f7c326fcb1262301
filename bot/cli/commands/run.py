"""`python -m bot [run]`: the bot on every configured platform, or a chat in the terminal when none is."""

from __future__ import annotations

import argparse
import asyncio
import sys

from bot.adapters.base import DeliveryFailed
from bot.app import run_platforms
from bot.cli.commands import chat
from bot.cli.options import Subcommands, add_common, clock_of, print_errors, settings_of
from bot.flows.problems import FlowSetInvalid
from bot.store_thread import StoreUnavailable


def run(args: argparse.Namespace) -> int:
    settings = settings_of(args)
    if not (settings.telegram_enabled or settings.matrix_enabled):
        args.json = False
        args.user = "local"
        args.lang = None
        return chat.run(args)
    try:
        asyncio.run(run_platforms(settings, clock_of(args)))
    except FlowSetInvalid as exc:
        print_errors(exc.problems)
        return 2
    except DeliveryFailed as exc:  # a platform refused at start: unreachable, or the token was rejected
        # One line and not the traceback: python-telegram-bot's InvalidToken, further down, names the token.
        print(f"could not start: {exc}", file=sys.stderr)
        return 1
    except StoreUnavailable as exc:  # PostgreSQL not there at start: one line, no URL (it may hold a password)
        print(f"could not start: {exc}", file=sys.stderr)
        return 1
    return 0


def register(commands: Subcommands) -> None:
    p = commands.add_parser("run", help="run on the configured platforms (console if none)")
    add_common(p)
    p.set_defaults(func=run)
