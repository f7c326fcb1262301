"""`python -m bot crisis train`: rebuild the crisis model from the labelled corpus (docs/CRISIS.md).

Training needs the `train` extra (scikit-learn); without it this says how to install it (exit 2).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot.cli.options import Subcommands, add_common
from bot.crisis_model import MODEL_PATH
from bot.settings import ROOT


def train(args: argparse.Namespace) -> int:
    flows_dir = Path(args.flows) if getattr(args, "flows", None) else ROOT / "flows"
    out = Path(args.out) if args.out else flows_dir / MODEL_PATH
    try:
        # Imported here: training needs scikit-learn (the optional `train` extra), which every other
        # command and the running bot do without.
        import sklearn  # noqa: F401

        from bot.crisis_train import train as fit
    except ImportError:
        print("training needs scikit-learn: pip install -e '.[train]'", file=sys.stderr)
        return 2
    fit(ROOT, flows_dir, out, card=not args.out)
    return 0


def register(commands: Subcommands) -> None:
    p = commands.add_parser("crisis", help="the crisis detector's model")
    crisis = p.add_subparsers(title="crisis commands", required=True)
    t = crisis.add_parser("train", help="rebuild flows/crisis/model.json from the labelled corpus (needs the train extra)")
    add_common(t)
    t.add_argument("--out", help="write the model here instead (the model card is then left alone)")
    t.set_defaults(func=train)
