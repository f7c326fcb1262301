"""`python -m bot ...`: run the bot, chat in the terminal, and the moderators' tools.

argparse (standard library) is enough for a handful of subcommands with flags, and keeps
the start-up fast. Each command is a module in `bot/cli/commands/` (its options and what it
does), the options every command shares are in `bot/cli/options.py`, and this module only
puts them together. The CLI imports the product; nothing in the product imports the CLI.
"""

from __future__ import annotations

import argparse
import sys

from bot import logs
from bot.cli.commands import (
    audit,
    chat,
    check,
    crisis,
    graph,
    keys,
    migrate_db,
    preview,
    purge,
    run,
    scenarios,
    schema,
)
from bot.cli.options import BadSettings, add_common

#: The commands, in the order `--help` lists them.
COMMANDS = (run, chat, check, schema, graph, preview, scenarios, audit, purge, keys, crisis, migrate_db)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Wegwijzer chatbot")
    add_common(parser, top=True)
    parser.set_defaults(func=run.run)
    commands = parser.add_subparsers(title="commands")
    for command in COMMANDS:
        command.register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    logs.configure("INFO")  # until the settings name the level and the secrets (options.settings_of)
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except BadSettings as exc:
        for line in exc.lines:
            print(line, file=sys.stderr)
        return 2
