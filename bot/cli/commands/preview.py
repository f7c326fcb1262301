"""`python -m bot preview FLOW`: every step of a flow as the user sees it, for proofreading.

With `--html DIR` it writes the phone preview site instead (every language; FLOW may be `all`).

Exit 1 when the flow set does not load, 2 for an unknown flow or language or a malformed `--set`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from bot.cli.options import Subcommands, add_common, clock_of, load_or_report
from bot.clock import NL
from bot.preview import preview_flow
from bot.preview_html import write_site


def _parse_value(raw: str) -> Any:
    """`--set name=value`: true/false and whole numbers as such, anything else as the text typed."""
    lowered = raw.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if raw.lstrip("-").isdigit():
        return int(raw)
    return raw


def run(args: argparse.Namespace) -> int:
    fs = load_or_report(args)
    if fs is None:
        return 1
    if args.flow not in fs.flows and not (args.html and args.flow == "all"):
        print(f"there is no flow `{args.flow}`; flows: {', '.join(sorted(fs.flows))}"
              + (" (or `all` with --html)" if args.html else ""), file=sys.stderr)
        return 2
    if args.lang not in fs.locales.languages:
        print(f"there is no language `{args.lang}`; languages: {', '.join(fs.locales.languages)}", file=sys.stderr)
        return 2
    overrides = {}
    for item in args.set or []:
        name, sep, value = item.partition("=")
        if not sep:
            print(f"--set wants name=value, got {item!r}", file=sys.stderr)
            return 2
        overrides[name.strip()] = _parse_value(value.strip())
    today = clock_of(args)().astimezone(NL).date()
    if args.html:
        flows = sorted(fs.flows) if args.flow == "all" else [args.flow]
        written = write_site(fs, Path(args.html), flows, today=today, overrides=overrides)
        print(f"wrote {len(written)} pages to {args.html}; open {Path(args.html) / 'index.html'}")
        return 0
    sys.stdout.write(preview_flow(fs, args.flow, args.lang, today=today, overrides=overrides))
    return 0


def register(commands: Subcommands) -> None:
    p = commands.add_parser("preview", help="print every step of a flow as the user sees it, for proofreading")
    add_common(p)
    p.add_argument("flow", help="flow id, e.g. termijn")
    p.add_argument("--lang", default="nl", help="language (default nl)")
    p.add_argument("--set", action="append", metavar="NAME=VALUE", help="example value for a variable (repeatable)")
    p.add_argument("--html", metavar="DIR", help="write a phone preview site (every language) to DIR; FLOW may be `all`")
    p.set_defaults(func=run)
