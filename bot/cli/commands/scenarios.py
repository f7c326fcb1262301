"""`python -m bot test [PATHS]`: play the YAML conversation scenarios through the real bot.

Exit 0 when every scenario passes, 1 when one fails, 2 when the flow set or a scenario file is broken.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from bot.cli.options import Subcommands, add_common, load_or_report, settings_of
from bot.scenarios import DEFAULT_DIR, run_files, scenario_files
from bot.settings import ROOT


def run(args: argparse.Namespace) -> int:
    fs = load_or_report(args)
    if fs is None:
        return 2
    default = DEFAULT_DIR if DEFAULT_DIR.is_dir() else ROOT / DEFAULT_DIR
    files = scenario_files([Path(p) for p in args.paths] or [default])
    if not files:
        print(f"no scenario files found in {', '.join(args.paths) or str(default)}", file=sys.stderr)
        return 2
    report = asyncio.run(run_files(files, fs, settings_of(args)))
    for problem in report.broken:
        print(f"BROKEN {problem}")
    for result in report.results:
        if not result.ok or args.verbose:
            print(result.report())
            print()
    for note in report.notes:
        print(note)
    passed = sum(r.ok for r in report.results)
    failed = len(report.results) - passed
    print(f"{passed} passed, {failed} failed" + (f", {len(report.broken)} problem(s) in scenario files"
                                                  if report.broken else ""))
    if report.broken:
        return 2
    return 0 if failed == 0 else 1


def register(commands: Subcommands) -> None:
    p = commands.add_parser("test", help="run conversation scenarios (YAML) through the real bot")
    add_common(p)
    p.add_argument("paths", nargs="*", help=f"scenario files or directories (default: {DEFAULT_DIR})")
    p.add_argument("-v", "--verbose", action="store_true", help="also list the scenarios that pass")
    p.set_defaults(func=run)
