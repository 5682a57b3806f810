"""The `compare` command."""

from __future__ import annotations

import argparse

from kagglekit.cli import add_competition_arguments, add_submissions_dir_argument

HELP = "table of every version, best first: model, size, training, validation and Kaggle scores"
DESCRIPTION = """\
Read SUBMISSIONS/ only (no network): every predicted version's model,
parameters, epochs, training time and validation accuracy, with the public
and private score of its newest scored submission and the rank that public
score takes on the leaderboard `scores` last saved. Prints the table best
first (public score, then validation accuracy) and writes
  SUBMISSIONS/leaderboard.md   the same table, to commit
  SUBMISSIONS/compare.png      validation accuracy vs public score, one point per version
(compare.png only once some version has a public score)."""


def configure(parser: argparse.ArgumentParser) -> None:
    add_competition_arguments(parser)
    add_submissions_dir_argument(parser, "where submission folders are")


def run(args: argparse.Namespace) -> None:
    from kagglekit.kaggle.compare import build_comparison, text_table, write_reports

    comparison = build_comparison(args.submissions_dir, args.competition)
    print(text_table(comparison))
    markdown_path, png_path = write_reports(comparison, args.submissions_dir)
    plotted = (f"{png_path}" if png_path else
               "no compare.png yet: no version has a public score (run `python -m kagglekit scores`)")
    print(f"\ncompare: wrote {markdown_path}; {plotted}")
