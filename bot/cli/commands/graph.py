"""`python -m bot graph`: draw one flow, an overview, or (`--all`) every flow with an index page.

Exit 1 when the flow set does not load, 2 for a usage mistake (unknown flow, PNG to a terminal,
`--all` without `--out`), 3 when the renderer (Graphviz) is missing or fails.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot.cli.options import Subcommands, add_common, load_or_report
from bot.graph import FORMATS, GraphError, flow_graph, overview_graph, render, write_all


def run(args: argparse.Namespace) -> int:
    fs = load_or_report(args)
    if fs is None:
        return 1
    try:
        if args.all:
            if not args.out:
                print("--all writes one file per flow plus an index: give --out DIR", file=sys.stderr)
                return 2
            written = write_all(fs, Path(args.out), args.format)
            index = next(p for p in written if p.stem == "index")
            print(f"wrote {len(written)} files to {args.out}; open {index}")
            return 0
        if args.flow and args.flow not in fs.flows:
            print(f"there is no flow `{args.flow}`; flows: {', '.join(sorted(fs.flows))}", file=sys.stderr)
            return 2
        graph = flow_graph(fs, args.flow) if args.flow else overview_graph(fs)
        data = render(graph, args.format)
    except GraphError as exc:
        print(exc, file=sys.stderr)
        return 3
    if args.out:
        Path(args.out).write_bytes(data)
        print(f"wrote {args.out}")
    elif args.format == "png":
        print("a PNG is not text: give --out FILE.png", file=sys.stderr)
        return 2
    else:
        sys.stdout.write(data.decode())
    return 0


def register(commands: Subcommands) -> None:
    p = commands.add_parser("graph", help="draw a flow (or all flows) as Mermaid, DOT, SVG or PNG")
    add_common(p)
    p.add_argument("flow", nargs="?", help="flow id (default: an overview of all flows)")
    p.add_argument("--format", choices=FORMATS, default="mermaid", help="default: mermaid")
    p.add_argument("--out", help="file to write (a directory with --all; default: stdout)")
    p.add_argument("--all", action="store_true", help="every flow plus an overview and an index page, into --out DIR")
    p.set_defaults(func=run)
