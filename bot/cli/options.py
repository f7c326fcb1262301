"""What every command reads from its arguments: the settings, the clock, the flow set, the database.

Why one module: `--db/--flows/--locales/--today` mean the same for every command, so they are
added, read and turned into settings here, once. Commands import this; domain modules never do
(they take a `Settings`, a clock or a `FlowSet`, however the caller got them).
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path
from typing import TypeAlias

from pydantic import ValidationError
from pydantic_settings import SettingsError

from bot import logs
from bot.clock import SYSTEM, Clock, Now, parse_today
from bot.errors import ConfigurationError
from bot.flows.flowset import FlowSet
from bot.flows.loader import load_flows
from bot.flows.problems import FlowSetInvalid
from bot.settings import Settings, describe_problem

#: What each command module's `register` receives: argparse's collection of subcommands.
Subcommands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


class BadSettings(ConfigurationError):
    """Settings that cannot be used; `main` prints the lines and exits 2 instead of a traceback."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


def settings_of(args: argparse.Namespace) -> Settings:
    """The settings from the environment, with `--db/--flows/--locales` over them; logging set up to match.

    Raises BadSettings with one line per problem, naming the variable and never its value."""
    overrides = {}
    if getattr(args, "db", None):
        overrides["db"] = Path(args.db)
    if getattr(args, "flows", None):
        overrides["flows_dir"] = Path(args.flows)
    if getattr(args, "locales", None):
        overrides["locales_dir"] = Path(args.locales)
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
    except (ValidationError, SettingsError) as exc:
        raise BadSettings(describe_problem(exc)) from None
    logs.configure(settings.log_level, settings.secrets())
    return settings


def clock_of(args: argparse.Namespace) -> Now:
    """The product's clock for this command: the real one, or the day `--today` asks for.

    Why a whole running clock and not just a date: `chat --today 2027-03-01` lets a
    moderator see what a parent is told on that day, with time still passing."""
    day = getattr(args, "today", None)
    return Clock.on(day) if day is not None else SYSTEM


def today_arg(text: str) -> date:
    """argparse's type for `--today`: a wrong date is a usage error (exit 2) naming what is expected."""
    try:
        return parse_today(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def existing_db(args: argparse.Namespace) -> Path | str:
    """The database for a command that only reads: a missing file is a typo, not an empty history."""
    db = settings_of(args).db
    if isinstance(db, Path) and not db.is_file():
        raise BadSettings([f"no database at {db}: check --db or WEGWIJZER_DB (this command only reads one)"])
    return db


def load_or_report(args: argparse.Namespace) -> FlowSet | None:
    """The configured flow set for a moderators' tool, or None after printing every problem."""
    try:
        return load_flows(settings_of(args), clock_of(args))
    except FlowSetInvalid as exc:
        print_problems(exc)
        return None


def print_problems(exc: FlowSetInvalid) -> None:
    """Every problem as `file:line:col`, then how many errors kept the flow set from loading."""
    for problem in exc.problems:
        print(problem, file=sys.stderr)
    errors = sum(1 for p in exc.problems if p.severity == "error")
    print(f"{errors} error(s); nothing was loaded.", file=sys.stderr)


def add_common(parser: argparse.ArgumentParser, *, top: bool = False) -> None:
    """--db/--flows/--locales/--today, before or after the subcommand.

    On a subcommand they default to SUPPRESS: argparse copies a subcommand's
    defaults over the top-level values, so `--db x purge` would act on the
    default database otherwise.
    """
    default = None if top else argparse.SUPPRESS
    parser.add_argument("--db", default=default, help="database file (default: WEGWIJZER_DB)")
    parser.add_argument("--flows", default=default, help="flows directory (default: WEGWIJZER_FLOWS_DIR)")
    parser.add_argument("--locales", default=default, help="locales directory (default: WEGWIJZER_LOCALES_DIR)")
    parser.add_argument("--today", default=default, type=today_arg, metavar="YYYY-MM-DD",
                        help="act as if it were this day (Dutch date): stale facts, deadlines, retention")
