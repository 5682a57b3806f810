"""The `compare` command."""

from __future__ import annotations

import argparse

from kagglekit.cli import add_competition_arguments, add_submissions_dir_argument

HELP = "table of every version, best first in the competition's metric: model, size, training, validation and Kaggle scores"
DESCRIPTION = """\
Read SUBMISSIONS/ only (no network): every predicted version's model,
parameters, epochs, training time, where it trained, the data it trained on
(the first 8 hex of its data fingerprint: two runs of one version on different
splits differ here) and validation score, in the competition's metric as
predict measured it (same TTA views: cifar-10's accuracy), with the public and private score
of its current CSV's newest scored upload and the rank that public score takes
on the leaderboard `scores` last saved. An upload belongs to the CSV it sent: a
version predicted again shows its new CSV as not submitted, and each earlier
CSV that was uploaded keeps its own row ("VERSION (earlier CSV abcd1234)").
Prints the table best first in the metric's direction (public score, then
validation score; lowest first for a log loss) and writes
  SUBMISSIONS/leaderboard.md   the same table, to commit
  SUBMISSIONS/compare.png      validation vs public score in the metric's units, one point per version
(compare.png only once some version has a public score)."""


def configure(parser: argparse.ArgumentParser) -> None:
    add_competition_arguments(parser)
    add_submissions_dir_argument(parser, "where submission folders are")


def run(args: argparse.Namespace) -> None:
    from kagglekit.submissions.compare import build_comparison, text_table, write_reports

    comparison = build_comparison(args.submissions_dir, args.competition)
    print(text_table(comparison))
    markdown_path, png_path = write_reports(comparison, args.submissions_dir)
    plotted = (
        f"{png_path}"
        if png_path
        else "no compare.png yet: no version has a public score (run `python -m kagglekit scores`)"
    )
    print(f"\ncompare: wrote {markdown_path}; {plotted}")
