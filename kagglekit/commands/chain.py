"""The `chain` command: what `make fetch|unpack|folders|train|predict|remote|submit` run."""

from __future__ import annotations

import argparse
import shlex

from kagglekit.cli import add_competition_arguments, add_runs_dir_argument, add_submissions_dir_argument
from kagglekit.commands.recipe import add_recipe_arguments, recipe_choice
from kagglekit.training.runs import TTA_MODES

HELP = "run the stages in order up to one of them, as `make submit` does"
DESCRIPTION = """\
Run the stage chain up to --to, each stage with its own flags, skipping what is
already complete:
  --where local:  fetch -> unpack -> folders -> train -> predict -> submit -> scores -> compare
  --where kaggle: remote -> submit -> scores -> compare
A code competition (its spec's kind = "code") takes a kernel's version, not a CSV:
  --where kaggle: fetch -> unpack -> folders -> train -> predict -> submit-code -> scores -> compare
  (submit-code uploads the run and kagglekit's wheels as private datasets, runs the
  offline inference kernel and submits its version); --where local stops at predict.
Every recipe-taking stage gets the same recipe flags (--model, --epochs, --seed,
--set, --all-data), so predict takes the very run train trained or reused and
submit submits that version. train reuses a finished run of the same version on
the same data. Without --model, the version the competition's spec names
(cifar-10: fast)."""


def configure(parser: argparse.ArgumentParser) -> None:
    from kagglekit.chain import AFTER, CODE, HERE, ON_KAGGLE, WHERE

    every = (*HERE, *ON_KAGGLE, *AFTER, *CODE[len(HERE) :])

    add_competition_arguments(parser)
    add_recipe_arguments(parser, required=False, training=False)
    parser.add_argument(
        "--to",
        required=True,
        choices=every,
        metavar="STAGE",
        help=f"the last stage to run: one of {', '.join(every)}",
    )
    parser.add_argument(
        "--where",
        choices=tuple(WHERE),
        default="local",
        help="train and predict here, or in a Kaggle kernel (`remote`) (default: local)",
    )
    add_runs_dir_argument(parser, "where runs live")
    add_submissions_dir_argument(parser, "where submission folders go")
    parser.add_argument(
        "--tta",
        choices=TTA_MODES,
        default=None,
        help="predict's test-time augmentation (default: what the version was measured with)",
    )
    parser.add_argument(
        "--remote-flags",
        default="",
        metavar="FLAGS",
        help='remote\'s own flags, e.g. "--accelerator tpu --wait 3600" (see `kagglekit remote --help`)',
    )
    parser.add_argument(
        "--scores-flags", default="", metavar="FLAGS", help='scores\' own flags, e.g. "--timeout 60 --interval 1"'
    )


def run(args: argparse.Namespace) -> int:
    from kagglekit.chain import Chain, needs_recipe, run_chain, stages
    from kagglekit.cli import main

    names = stages(args.where, args.to, competition_kind(args.competition), args.competition)
    recipe = []
    if needs_recipe(names):
        recipe = recipe_choice(args, args.model or default_model(args.competition)).flags()
    chain = Chain(
        ["--competition", args.competition, "--data-dir", str(args.data_dir)],
        recipe,
        args.runs_dir,
        args.submissions_dir,
        args.tta,
        shlex.split(args.remote_flags),
        shlex.split(args.scores_flags),
    )
    return run_chain(chain, names, main)


def competition_kind(slug: str) -> str:
    """The spec's kind (code or file); file without a spec, so that fetch can say what a spec needs."""
    from kagglekit.competitions import get_spec
    from kagglekit.exceptions import UsageError

    try:
        return get_spec(slug).kind
    except UsageError:
        return "file"


def default_model(slug: str) -> str:
    """The model version the competition's spec names, for a chain run without --model (`make` without MODEL)."""
    from kagglekit.competitions import get_spec
    from kagglekit.exceptions import UsageError

    model = get_spec(slug).model
    if model is None:
        raise UsageError(
            f"the spec of {slug} names no model version to train: give one with --model NAME "
            "(make ... MODEL=NAME; see `python -m kagglekit models`)"
        )
    return model
