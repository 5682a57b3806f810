"""``python -m kagglekit STAGE``: one sub-command per module in ``kagglekit.commands``.

Each command module exposes ``HELP`` (one line), ``DESCRIPTION`` (what it does
and what it writes where), ``configure(parser)`` and ``run(args)``. Modules keep
their top level free of TensorFlow so that ``--help`` and the data stages start
instantly; heavy imports happen inside ``run``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from pathlib import Path
from typing import Sequence

from kagglekit.exceptions import KagglekitError
from kagglekit.paths import DEFAULT_COMPETITION, default_data_dir, default_runs_dir, default_submissions_dir
from kagglekit.training.tf_noise import filtered_stderr

# Order is the pipeline's order; it is also the order `--help` lists them in.
COMMANDS = (
    "fetch",
    "unpack",
    "folders",
    "models",
    "train",
    "evaluate",
    "predict",
    "ensemble",
    "remote",
    "submit",
    "scores",
    "compare",
    "demo",
    "competitions",
)
# The commands that import TensorFlow, and so print its C++ start-up chatter.
TENSORFLOW_COMMANDS = frozenset({"train", "evaluate", "predict", "demo"})


def add_competition_arguments(parser: argparse.ArgumentParser) -> None:
    """The two flags every stage shares."""
    parser.add_argument(
        "--competition", default=DEFAULT_COMPETITION, metavar="SLUG",
        help=f"Kaggle competition slug (default: {DEFAULT_COMPETITION})",
    )
    parser.add_argument(
        "--data-dir", type=Path, default=default_data_dir(), metavar="DIR",
        help=f"where competition data lives, one folder per slug (default: {_shown(default_data_dir())})",
    )


def add_runs_dir_argument(parser: argparse.ArgumentParser, purpose: str) -> None:
    """--runs-dir; in a Kaggle notebook it defaults to the kept output, /kaggle/working/runs."""
    parser.add_argument("--runs-dir", type=Path, default=default_runs_dir(), metavar="DIR",
                        help=f"{purpose} (default: {_shown(default_runs_dir())})")


def add_precision_argument(parser: argparse.ArgumentParser) -> None:
    """--precision (``kagglekit.training.precision`` imports no Keras, so --help stays instant)."""
    from kagglekit.training.precision import CHOICES

    parser.add_argument("--precision", choices=CHOICES, default="auto",
                        help="compute precision: auto = bfloat16 on CPUs with AVX512_BF16 or AMX, float32 on other "
                             "CPUs, float16 on GPUs with tensor cores, bfloat16 on TPUs (default: auto)")


def add_unsure_argument(parser: argparse.ArgumentParser) -> None:
    """--tta-unsure-below: TTA's extra views only where the first view is unsure (predict's default, measured)."""
    from kagglekit.training.runs import DEFAULT_UNSURE_BELOW

    parser.add_argument("--tta-unsure-below", type=float, default=DEFAULT_UNSURE_BELOW, metavar="P",
                        help="spend the TTA views after the first only on images whose first-view top probability is "
                             f"below P (0-1); 1 = every view on every image (default: {DEFAULT_UNSURE_BELOW})")


def add_submissions_dir_argument(parser: argparse.ArgumentParser, purpose: str) -> None:
    """--submissions-dir; in a Kaggle notebook it defaults to /kaggle/working/submissions."""
    parser.add_argument("--submissions-dir", type=Path, default=default_submissions_dir(), metavar="DIR",
                        help=f"{purpose} (default: {_shown(default_submissions_dir())})")


def _shown(directory: Path) -> str:
    return f"{directory}/" + ("" if directory.is_absolute() else ", or under /kaggle/ in a Kaggle notebook")


def _command_modules() -> dict[str, object]:
    return {name: importlib.import_module(f"kagglekit.commands.{name}") for name in COMMANDS}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kagglekit",
        description="From a Kaggle image competition to a scored submission.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="STAGE", required=True)
    for name, module in _command_modules().items():
        sub = subparsers.add_parser(
            name, help=module.HELP, description=module.DESCRIPTION,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.configure(sub)
        sub.set_defaults(handler=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command not in TENSORFLOW_COMMANDS:
            return int(args.handler(args) or 0)
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow is imported; the user's own value wins
        with filtered_stderr():
            return int(args.handler(args) or 0)
    except KagglekitError as error:
        print(f"kagglekit {args.command}: error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print(f"kagglekit {args.command}: interrupted; rerun the same command to resume.", file=sys.stderr)
        return 130
