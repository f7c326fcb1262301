"""`python -m bot check [DIR]`: validate flows, locales and the directory the way a load would, and say so.

Exit 1 with every problem as `file:line:col` when the set would not load; warnings (stale facts)
are printed but do not fail it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from bot.cli.options import Subcommands, add_common, clock_of, print_problems, settings_of
from bot.clock import NL
from bot.flows.loader import load_flowset
from bot.flows.problems import FlowSetInvalid
from bot.settings import ROOT


def run(args: argparse.Namespace) -> int:
    settings = settings_of(args)
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
        print_problems(exc)
        return 1
    for warning in flowset.warnings:
        print(warning)
    print(f"ok: {len(flowset.flows)} flows, {len(flowset.locales.languages)} languages, "
          f"{len(flowset.cards)} directory entries, version {flowset.version}"
          + (f", {len(flowset.warnings)} warning(s)" if flowset.warnings else ""))
    return 0


def register(commands: Subcommands) -> None:
    p = commands.add_parser("check", help="validate flows, locales and the directory")
    add_common(p)
    p.add_argument("dir", nargs="?", help="flows directory (default: the configured one)")
    p.add_argument("--max-age", type=int, help="warn about directory entries checked longer ago (days)")
    p.set_defaults(func=run)
