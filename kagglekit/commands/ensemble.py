"""The `ensemble` command."""

from __future__ import annotations

import argparse

from kagglekit.cli import add_competition_arguments, add_submissions_dir_argument

HELP = "average the saved probabilities of several predicted versions into a new version"
DESCRIPTION = """\
Average SUBMISSIONS/<version-id>/probabilities.npy of two or more predicted
versions of one competition and write a new version SUBMISSIONS/ensemble-<hash>/
with its own validated submission.csv in the competition's format (cifar-10:
the most probable label; a log-loss competition: the averaged probabilities,
clipped as predict clips), probabilities and prediction.json (listing its
members). Submit it like any other version."""


def configure(parser: argparse.ArgumentParser) -> None:
    add_competition_arguments(parser)
    parser.add_argument("versions", nargs="+", metavar="VERSION", help="version ids, as in submissions/<version-id>/")
    add_submissions_dir_argument(parser, "where submission folders are")


def run(args: argparse.Namespace) -> None:
    from kagglekit.paths import CompetitionPaths
    from kagglekit.submissions.ensemble import build_ensemble

    csv = build_ensemble(args.versions, CompetitionPaths(args.data_dir, args.competition), args.submissions_dir)
    print(f"ensemble: {csv}  (average of {len(args.versions)} versions)")
