"""`python -m bot check [DIR]`: validate flows, locales and the directory the way a load would, and say so.

Exit 1 with every problem as `file:line:col` when the set would not load; warnings (stale facts)
are printed but do not fail it. Errors come first, then warnings, then a count: a moderator's one
typo must not hide between a hundred notes about facts nobody re-checked yet (try-out 30), so
those are one line with a count (`--list-unchecked` lists them) and `-q` leaves warnings out.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from bot.cli.options import Subcommands, add_common, clock_of, print_problems, settings_of, shown_root
from bot.clock import NL
from bot.flows.loader import load_flowset
from bot.flows.problems import FlowSetInvalid


def run(args: argparse.Namespace) -> int:
    settings = settings_of(args)
    flows_dir = Path(args.dir) if args.dir else settings.flows_dir
    locales_dir = Path(args.locales) if args.locales else (
        flows_dir.parent / "locales" if (flows_dir.parent / "locales").is_dir() else settings.locales_dir)
    clock = clock_of(args)
    try:
        flowset = load_flowset(flows_dir, locales_dir, root=shown_root(flows_dir),
                               today=clock().astimezone(NL).date(), loaded_at=clock(),
                               directory_max_age_days=args.max_age or settings.directory_max_age_days,
                               entry_flow=settings.entry_flow)
    except FlowSetInvalid as exc:
        print_problems(exc.problems, errors_only=args.errors_only, list_all=args.list_unchecked)
        return 1
    print_problems(flowset.warnings, errors_only=args.errors_only, list_all=args.list_unchecked)
    print(f"ok: {len(flowset.flows)} flows, {len(flowset.locales.languages)} languages, "
          f"{len(flowset.cards)} directory entries, version {flowset.version}"
          + (f", {len(flowset.warnings)} warning(s)" if flowset.warnings else "")
          + (" (not shown: -q)" if flowset.warnings and args.errors_only else ""))
    return 0


def register(commands: Subcommands) -> None:
    p = commands.add_parser("check", help="validate flows, locales and the directory")
    add_common(p)
    p.add_argument("dir", nargs="?", help="flows directory (default: the configured one)")
    p.add_argument("--max-age", type=int, help="warn about directory entries checked longer ago (days)")
    p.add_argument("-q", "--errors-only", action="store_true", help="show only the errors, not the warnings")
    p.add_argument("--list-unchecked", action="store_true",
                   help="list every directory entry never checked live at its source (default: one line with a count)")
    p.set_defaults(func=run)
