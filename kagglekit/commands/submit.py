"""The `submit` command."""

from __future__ import annotations

import argparse
from pathlib import Path

from kagglekit.arguments import non_negative_float
from kagglekit.cli import add_competition_arguments, add_submissions_dir_argument
from kagglekit.commands.recipe import add_recipe_arguments, recipe_choice
from kagglekit.exceptions import UsageError

HELP = "upload a predicted version's CSV to Kaggle with the official client and record it"
DESCRIPTION = """\
Validate SUBMISSIONS/<version-id>/submission.csv against the competition's
sample submission (cifar-10: sampleSubmission.csv) in the format it was predicted in,
refuse it if the very same CSV was submitted before (any version; --force to
submit anyway), show how many submissions are left today, upload it, and
record ref, message, date and the CSV's sha256 in
SUBMISSIONS/<version-id>/submission.json at once. Nothing is uploaded when a
check fails or no submission is left today. Which version: --model NAME with
the recipe flags train and predict were given (--epochs, --seed, --set,
--all-data) names exactly that version (what `make submit` does); VERSION
instead is a version id, a model name (its newest prediction), or nothing for
the newest prediction of all, and submit says which it took.
Scores arrive later: run `scores` (or pass --wait SECONDS).
In a Kaggle notebook without API credentials it says how to submit the
notebook's output instead, and exits 0."""


def configure(parser: argparse.ArgumentParser) -> None:
    add_competition_arguments(parser)
    parser.add_argument(
        "version",
        nargs="?",
        metavar="VERSION",
        help="version id or model name (default: the version --model names, else the newest predicted)",
    )
    add_recipe_arguments(parser, required=False, training=False)
    parser.add_argument(
        "-m",
        "--message",
        metavar="TEXT",
        help="submission description (default: the version id and its validation accuracy, "
        "and score where the competition's metric is another)",
    )
    add_submissions_dir_argument(parser, "where submission folders are")
    parser.add_argument("--force", action="store_true", help="submit even if this exact CSV was submitted before")
    parser.add_argument(
        "--skip-if-submitted",
        action="store_true",
        help="exit 0 without uploading if this exact CSV was submitted before (for scripts)",
    )
    parser.add_argument(
        "--wait",
        type=non_negative_float,
        metavar="SECONDS",
        help="wait up to SECONDS for the score after uploading (default: don't wait)",
    )


def run(args: argparse.Namespace) -> None:
    from kagglekit.paths import CompetitionPaths
    from kagglekit.submissions.submit import refuse_code_competition, submit_version

    paths = CompetitionPaths(args.data_dir, args.competition)
    refuse_code_competition(paths)  # before a version is looked for: no version of it could be uploaded
    choice = recipe_choice(args)
    if choice is not None and args.version is not None:
        raise UsageError("give VERSION or --model with its recipe flags, not both")
    version = choice.version_id if choice is not None else chosen_by_name(args.submissions_dir, args.version)
    submit_version(
        paths,
        args.submissions_dir,
        version,
        args.message,
        force=args.force,
        skip_if_submitted=args.skip_if_submitted,
        wait=args.wait,
    )


def chosen_by_name(submissions_dir: Path, version: str | None) -> str:
    """The version id a name (or nothing) stands for, said aloud: "the newest" is a guess a human should see."""
    from kagglekit.submissions.records import resolve_version

    chosen = resolve_version(submissions_dir, version)["version_id"]
    if chosen != version:
        of = f"of {version}" if version else f"in {submissions_dir}/"
        print(
            f"submit: took {chosen}, the newest prediction {of} (give a version id, or the recipe with --model, to choose)"
        )
    return chosen
