"""The `scores` command."""

from __future__ import annotations

import argparse

from kagglekit.arguments import non_negative_float
from kagglekit.cli import add_competition_arguments, add_submissions_dir_argument

HELP = "wait for Kaggle to score pending submissions and record public and private scores"
DESCRIPTION = """\
Poll Kaggle for every recorded submission still pending, every --interval
seconds until all are scored or --timeout runs out, and store status, public
and private score (or Kaggle's error) in SUBMISSIONS/<version-id>/submission.json.
Then save the public leaderboard to SUBMISSIONS/leaderboard.json, so that
`compare` can rank versions offline. Exits non-zero when something is still
pending at the timeout (rerun later) or Kaggle rejected a submission."""


def configure(parser: argparse.ArgumentParser) -> None:
    add_competition_arguments(parser)
    add_submissions_dir_argument(parser, "where submission folders are")
    parser.add_argument(
        "--timeout",
        type=non_negative_float,
        default=600.0,
        metavar="SECONDS",
        help="stop waiting after SECONDS (default: 600)",
    )
    parser.add_argument(
        "--interval", type=non_negative_float, default=5.0, metavar="SECONDS", help="seconds between polls (default: 5)"
    )


def run(args: argparse.Namespace) -> None:
    from kagglekit.paths import CompetitionPaths
    from kagglekit.submissions.submit import collect_scores

    collect_scores(
        CompetitionPaths(args.data_dir, args.competition),
        args.submissions_dir,
        timeout=args.timeout,
        interval=args.interval,
    )
