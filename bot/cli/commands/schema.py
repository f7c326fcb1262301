"""`python -m bot schema`: the flow format as JSON Schema, for moderators' editors."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from bot.cli.options import Subcommands
from bot.flows.model import json_schema


def run(args: argparse.Namespace) -> int:
    text = json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"wrote {args.out}")
    else:
        sys.stdout.write(text)
    return 0


def register(commands: Subcommands) -> None:
    p = commands.add_parser("schema", help="write the flow JSON Schema for editors")
    p.add_argument("--out", help="file to write (default: stdout)")
    p.set_defaults(func=run)
