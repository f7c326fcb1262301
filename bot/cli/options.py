"""What every command reads from its arguments: the settings, the clock, the flow set, the database.

Why one module: `--db/--flows/--locales/--today` mean the same for every command, so they are
added, read and turned into settings here, once. Commands import this; domain modules never do
(they take a `Settings`, a clock or a `FlowSet`, however the caller got them).
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Sequence
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
from bot.flows.problems import FlowSetInvalid, Problem
from bot.settings import ROOT, Settings, describe_problem

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


def shown_root(flows_dir: Path) -> Path:
    """What file names are shown relative to: the working folder when the flows are in it, else the project.

    So every tool names a file the way the moderator typed its folder: `check /tmp/copy/flows`,
    `graph --flows /tmp/copy/flows` and `preview --flows ...` all say `/tmp/copy/flows/x.yaml:24:8`,
    and a file of the live set is never mistaken for one of a copy."""
    return Path.cwd() if flows_dir.resolve().is_relative_to(Path.cwd().resolve()) else ROOT


def load_or_report(args: argparse.Namespace) -> FlowSet | None:
    """The configured flow set for a moderators' tool, or None after printing its errors.

    Only the errors: the tool cannot run on this set, and `check` is where warnings are read."""
    settings = settings_of(args)
    try:
        return load_flows(settings, clock_of(args), root=shown_root(settings.flows_dir))
    except FlowSetInvalid as exc:
        print_errors(exc.problems)
        return None


def print_errors(problems: Sequence[Problem]) -> None:
    """The errors that keep a tool (or the bot) from starting; warnings are `check`'s to show."""
    print_problems(problems, errors_only=True, show_them="`python -m bot check` shows them")


#: Warnings of these kinds are one line with a count when there are more than MANY of them
#: (`check --list-unchecked` lists them): a hundred facts nobody re-checked yet are one task, not
#: a hundred, and they buried the errors of a moderator's edit (try-out 30).
SUMMARISED = {"not-checked-live": "{count} directory entries were never checked live at their source "
                                  "(their cards say \"not yet re-checked\"); list them with --list-unchecked"}
MANY = 3


def print_problems(problems: Sequence[Problem], *, errors_only: bool = False, list_all: bool = False,
                   show_them: str = "leave out -q to see them") -> None:
    """Errors first, then warnings, then a count line: what must be fixed is what a moderator sees first.

    With `errors_only` the warnings are only counted (`show_them` says how to see them); kinds in
    SUMMARISED are one line each unless `list_all`. A set with errors goes to stderr (nothing was
    loaded); one without, to stdout."""
    errors = [p for p in problems if p.severity == "error"]
    warnings = [p for p in problems if p.severity == "warning"]
    out = sys.stderr if errors else sys.stdout
    for problem in errors:
        print(problem, file=out)
    if not errors_only:
        for line in shown_warnings(warnings, list_all=list_all):
            print(line, file=out)
    if errors:
        also = ("" if not warnings else f" {len(warnings)} warning(s) not shown ({show_them})." if errors_only
                else f" {len(warnings)} warning(s) after the errors.")
        print(f"{len(errors)} error(s); nothing was loaded.{also}", file=out)


def shown_warnings(warnings: Sequence[Problem], *, list_all: bool = False) -> list[str]:
    """Each warning in full, except the kinds in SUMMARISED: one line each when there are many."""
    count = Counter(w.kind for w in warnings)
    folded = set() if list_all else {kind for kind in SUMMARISED if count[kind] > MANY}
    lines = [str(w) for w in warnings if w.kind not in folded]
    for kind in sorted(folded):
        folder = Path(next(w for w in warnings if w.kind == kind).where.file).parent
        lines.append(f"{folder}: warning[{kind}]: {SUMMARISED[kind].format(count=count[kind])}")
    return lines


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
