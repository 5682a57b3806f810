"""The `predict` command."""

from __future__ import annotations

import argparse

from kagglekit.arguments import positive_int
from kagglekit.cli import (
    add_competition_arguments,
    add_precision_argument,
    add_runs_dir_argument,
    add_submissions_dir_argument,
    add_tta_budget_argument,
)
from kagglekit.commands.recipe import add_recipe_arguments, recipe_choice
from kagglekit.exceptions import UsageError
from kagglekit.training.runs import TTA_MODES

HELP = "predict every test image with a trained run and write a validated submission CSV"
DESCRIPTION = """\
Run RUN's best model over every test image in the unpack stage's pixel cache,
in batches (memory stays bounded whatever the test set's size), and write
  SUBMISSIONS/<version-id>/submission.csv     the competition's format, in its sample submission's
                                              columns and id order (cifar-10: id,label, one class name each)
  SUBMISSIONS/<version-id>/probabilities.npy  float16 class probabilities (for `ensemble`)
  SUBMISSIONS/<version-id>/prediction.json    the run, model size, format, metric, TTA, and the
                                              validation split scored in the competition's metric
                                              with these very TTA views (what `compare` shows)
Every image gets the plain view; TTA's other views go to the --tta-budget
share of the images the plain view is least sure of, so the views in all
(the progress bar's total) are fixed before the first: images + budgeted
images x (views - 1). prediction.json records the budget and what it bought
(tta_images, tta_views, tta_cutoff: the highest top probability that got the
views), and the validation split is predicted with the same budget.
The format is the competition spec's: one label, the probability of one class,
or one probability per class; probabilities are clipped for a log loss. The
CSV is checked against the sample submission (header, rows, ids, order,
values) before it replaces anything. In a Kaggle notebook it is also copied to
/kaggle/working/submission.csv.
Which run: --model NAME with the recipe flags train was given (--epochs,
--seed, --set, --all-data) takes exactly the run `train` trained or reused:
that version, finished, on the data in DATA today (what `make predict` does).
RUN instead is a run directory, or a model version name or id meaning its
newest complete run (default: the newest run of all); predict then says which
run it took."""


def configure(parser: argparse.ArgumentParser) -> None:
    add_competition_arguments(parser)
    parser.add_argument(
        "run",
        nargs="?",
        metavar="RUN",
        help="run directory, or a model version name/id (its newest run); default: the run --model names, "
        "else the newest run",
    )
    add_recipe_arguments(parser, required=False, training=False)
    add_runs_dir_argument(parser, "where runs live")
    add_submissions_dir_argument(parser, "where submission folders go")
    parser.add_argument(
        "--tta",
        choices=TTA_MODES,
        default=None,
        help="test-time augmentation: 'flip' averages with the mirrored view (2x the time), 'flip-translate' "
        "also with both moved a pixel (6x); default: what the run's recipe was measured with",
    )
    add_tta_budget_argument(parser)
    add_precision_argument(parser)
    parser.add_argument(
        "--batch-size", type=positive_int, default=512, metavar="N", help="images per model step (default: 512)"
    )
    parser.add_argument("--force", action="store_true", help="predict again even if this run's prediction is complete")
    parser.add_argument(
        "--no-validation",
        dest="validate",
        action="store_false",
        help="do not score the validation split (prediction.json's val_score stays null): for a run brought "
        "without its data, as in a code competition's offline kernel",
    )


def run(args: argparse.Namespace) -> None:
    from kagglekit.paths import CompetitionPaths
    from kagglekit.training.predict import predict_submission
    from kagglekit.training.runs import resolve_run, run_of_choice

    choice = recipe_choice(args)
    paths = CompetitionPaths(args.data_dir, args.competition)
    if choice is not None and args.run is not None:
        raise UsageError("give RUN or --model with its recipe flags, not both")
    run_dir = (
        run_of_choice(choice, paths, args.runs_dir)
        if choice is not None
        else resolve_run(args.run, args.runs_dir, say=lambda line: print(f"predict: {line}"))
    )
    summary = predict_submission(
        run_dir,
        paths,
        args.submissions_dir,
        tta=args.tta,
        batch_size=args.batch_size,
        force=args.force,
        precision=args.precision,
        budget=args.tta_budget,
        validate=args.validate,
    )
    if summary.skipped:
        print(f"predict: {summary.csv}  already predicted by this run ({summary.rows:,} rows); --force to redo")
        return
    print(
        f"predict: {summary.csv}  {summary.rows:,} rows, validated | TTA's extra views on "
        f"{summary.spend.described()} | {summary.seconds:.1f} s ({summary.images_per_second:,.0f} img/s)"
    )
