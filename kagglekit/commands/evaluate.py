"""The `evaluate` command."""

from __future__ import annotations

import argparse

from kagglekit.cli import (
    add_competition_arguments,
    add_precision_argument,
    add_runs_dir_argument,
    add_tta_budget_argument,
)
from kagglekit.training.runs import TTA_MODES

HELP = "recompute a saved run's validation score (the competition's metric), accuracy and confusion matrix"
DESCRIPTION = """\
Load RUN's best.keras, predict the validation split it was trained against
(the data directory recorded in its config.json, unless that is gone and
--data-dir says where it is now) with the TTA views and the TTA budget predict
uses (the same share of the validation images gets the extra views), and print
the score in the competition's metric (as its submission would be scored:
cifar-10's is accuracy, a log loss's is clipped as predict clips), the
accuracy, per-class accuracy and the recorded figure beside it. Rewrites
RUN/confusion.png. RUN is a run directory, or a version name / id meaning its
newest complete run."""


def configure(parser: argparse.ArgumentParser) -> None:
    add_competition_arguments(parser)
    parser.add_argument("run_dir", metavar="RUN", help="run directory, or a model version name/id (its newest run)")
    add_runs_dir_argument(parser, "where to look up a version name")
    parser.add_argument(
        "--tta",
        choices=TTA_MODES,
        default=None,
        help="test-time augmentation (see predict --help); default: what the run's recipe was measured with",
    )
    add_tta_budget_argument(parser)
    add_precision_argument(parser)


def run(args: argparse.Namespace) -> None:
    from kagglekit.paths import CompetitionPaths
    from kagglekit.training.evaluate import evaluate_run
    from kagglekit.training.runs import resolve_run

    evaluate_run(
        resolve_run(args.run_dir, args.runs_dir),
        CompetitionPaths(args.data_dir, args.competition),
        tta=args.tta,
        precision=args.precision,
        budget=args.tta_budget,
    )
