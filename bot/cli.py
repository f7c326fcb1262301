"""`python -m bot ...`: run the bot, chat in the terminal, and the moderators' tools.

argparse (standard library) is enough for a handful of subcommands with
flags, and keeps the start-up fast. Every subcommand is one `cmd_*` function
registered in SUBCOMMANDS.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
from collections.abc import Callable
from pathlib import Path

from bot import logs
from bot.clock import NL, SYSTEM, Clock, Now, parse_today
from bot.errors import ConfigurationError
from bot.flows.flowset import FlowSet
from bot.flows.problems import FlowSetInvalid
from bot.settings import Settings


class BadSettings(ConfigurationError):
    """Settings that cannot be used; `main` prints the lines and exits 2 instead of a traceback."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


def _settings(args: argparse.Namespace) -> Settings:
    from pydantic import ValidationError
    from pydantic_settings import SettingsError

    from bot.settings import describe_problem

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


def _today_arg(text: str) -> object:
    try:
        return parse_today(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def existing_db(args: argparse.Namespace) -> Path:
    """The database for a command that only reads: a missing file is a typo, not an empty history."""
    db = _settings(args).db
    if not db.is_file():
        raise BadSettings([f"no database at {db}: check --db or WEGWIJZER_DB (this command only reads one)"])
    return db


def load_or_report(args: argparse.Namespace) -> FlowSet | None:
    """The configured flow set for a moderators' tool, or None after printing every problem."""
    from bot.app import load_flows

    try:
        return load_flows(_settings(args), clock_of(args))
    except FlowSetInvalid as exc:
        _print_problems(exc)
        return None


def _print_problems(exc: FlowSetInvalid) -> None:
    for problem in exc.problems:
        print(problem, file=sys.stderr)
    errors = sum(1 for p in exc.problems if p.severity == "error")
    print(f"{errors} error(s); nothing was loaded.", file=sys.stderr)


# ---------------------------------------------------------------- run / chat


def cmd_run(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if not (settings.telegram_enabled or settings.matrix_enabled):
        args.json = False
        args.user = "local"
        args.lang = None
        return cmd_chat(args)
    from bot.adapters.base import DeliveryFailed
    from bot.app import run_platforms

    try:
        asyncio.run(run_platforms(settings, clock_of(args)))
    except FlowSetInvalid as exc:
        _print_problems(exc)
        return 2
    except DeliveryFailed as exc:  # a platform refused at start: unreachable, or the token was rejected
        # One line and not the traceback: python-telegram-bot's InvalidToken, further down, names the token.
        print(f"could not start: {exc}", file=sys.stderr)
        return 1
    return 0


def cmd_chat(args: argparse.Namespace) -> int:
    from bot.adapters.console import run_console
    from bot.app import build_core, live_reload

    settings = _settings(args)
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
        _print_problems(exc)
        return 2
    except KeyboardInterrupt:
        return 130
    finally:
        if hangup:  # not inherited by anything this process runs next
            signal.signal(hangup, before)
    return 0


# ---------------------------------------------------------------- check / schema


def cmd_check(args: argparse.Namespace) -> int:
    from bot.flows.loader import load_flowset
    from bot.settings import ROOT

    settings = _settings(args)
    flows_dir = Path(args.dir) if args.dir else settings.flows_dir
    locales_dir = Path(args.locales) if args.locales else (
        flows_dir.parent / "locales" if (flows_dir.parent / "locales").is_dir() else settings.locales_dir)
    root = Path.cwd() if flows_dir.resolve().is_relative_to(Path.cwd()) else ROOT
    clock = clock_of(args)
    try:
        flowset = load_flowset(flows_dir, locales_dir, root=root, today=clock().astimezone(NL).date(),
                               loaded_at=clock(),
                               directory_max_age_days=args.max_age or settings.directory_max_age_days,
                               entry_flow=settings.entry_flow)
    except FlowSetInvalid as exc:
        _print_problems(exc)
        return 1
    for warning in flowset.warnings:
        print(warning)
    print(f"ok: {len(flowset.flows)} flows, {len(flowset.locales.languages)} languages, "
          f"{len(flowset.cards)} directory entries, version {flowset.version}"
          + (f", {len(flowset.warnings)} warning(s)" if flowset.warnings else ""))
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    from bot.flows.model import json_schema

    text = json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"wrote {args.out}")
    else:
        sys.stdout.write(text)
    return 0


def add_common(parser: argparse.ArgumentParser, *, top: bool = False) -> None:
    """--db/--flows/--locales, before or after the subcommand.

    On a subcommand they default to SUPPRESS: argparse copies a subcommand's
    defaults over the top-level values, so `--db x purge` would act on the
    default database otherwise.
    """
    default = None if top else argparse.SUPPRESS
    parser.add_argument("--db", default=default, help="database file (default: WEGWIJZER_DB)")
    parser.add_argument("--flows", default=default, help="flows directory (default: WEGWIJZER_FLOWS_DIR)")
    parser.add_argument("--locales", default=default, help="locales directory (default: WEGWIJZER_LOCALES_DIR)")
    parser.add_argument("--today", default=default, type=_today_arg, metavar="YYYY-MM-DD",
                        help="act as if it were this day (Dutch date): stale facts, deadlines, retention")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Wegwijzer chatbot")
    add_common(parser, top=True)
    parser.set_defaults(func=cmd_run)
    sub = parser.add_subparsers(title="commands")
    for register in SUBCOMMANDS:
        register(sub)
    return parser


def _reg_run(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("run", help="run on the configured platforms (console if none)")
    add_common(p)
    p.set_defaults(func=cmd_run)


def _reg_chat(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("chat", help="chat in the terminal")
    add_common(p)
    p.add_argument("--json", action="store_true", help="scripted mode: one turn per line in, JSON lines out")
    p.add_argument("--lang", help="language (nl, en)")
    p.add_argument("--user", default="local", help="user id (separate conversations per id)")
    p.set_defaults(func=cmd_chat)


def _reg_check(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("check", help="validate flows, locales and the directory")
    add_common(p)
    p.add_argument("dir", nargs="?", help="flows directory (default: the configured one)")
    p.add_argument("--max-age", type=int, help="warn about directory entries checked longer ago (days)")
    p.set_defaults(func=cmd_check)


def _reg_schema(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("schema", help="write the flow JSON Schema for editors")
    p.add_argument("--out", help="file to write (default: stdout)")
    p.set_defaults(func=cmd_schema)


def _reg_moderators_tools(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from bot import audit, graph, preview, scenarios

    for register in (graph.register_cli, preview.register_cli, scenarios.register_cli, audit.register_cli):
        register(sub)


def _reg_privacy_tools(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from bot import privacy

    privacy.register_cli(sub)  # purge, rotate-keys, new-key


def cmd_crisis_train(args: argparse.Namespace) -> int:
    from bot.crisis_train import cmd_train

    return cmd_train(args)


def _reg_crisis(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("crisis", help="the crisis detector's model")
    crisis = p.add_subparsers(title="crisis commands", required=True)
    t = crisis.add_parser("train", help="rebuild flows/crisis/model.json from the labelled corpus (needs the train extra)")
    add_common(t)
    t.add_argument("--out", help="write the model here instead (the model card is then left alone)")
    t.set_defaults(func=cmd_crisis_train)


#: Subcommand registrars; modules add theirs here.
SUBCOMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [  # type: ignore[type-arg]
    _reg_run, _reg_chat, _reg_check, _reg_schema, _reg_moderators_tools, _reg_privacy_tools,
    _reg_crisis,
]


def main(argv: list[str] | None = None) -> int:
    logs.configure("INFO")  # until the settings name the level and the secrets (_settings)
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except BadSettings as exc:
        for line in exc.lines:
            print(line, file=sys.stderr)
        return 2
