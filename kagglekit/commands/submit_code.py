"""The `submit-code` command: a code competition's submission."""

from __future__ import annotations

import argparse
from pathlib import Path

from kagglekit.arguments import non_negative_float, positive_float
from kagglekit.cli import add_competition_arguments, add_runs_dir_argument, add_submissions_dir_argument
from kagglekit.commands.recipe import add_recipe_arguments, recipe_choice
from kagglekit.training.runs import TTA_MODES

HELP = "code competitions: upload the run and wheels, run the offline inference kernel, submit its version"
DESCRIPTION = """\
For a code competition (its spec's kind = "code"), which takes a kernel's
version instead of a CSV, submit the version --model (and its recipe flags)
names, trained and predicted here:
  1. upload kagglekit's wheels and the run (best.keras and its config) as
     private datasets, each only when its content hash changed (or Kaggle no
     longer has it), and wait until Kaggle has processed them;
  2. push the inference kernel: internet off, the two datasets and the
     competition attached; it installs kagglekit from the wheels with no
     index and writes /kaggle/working/submission.csv;
  3. wait for that version (bounded by --wait), then refuse it if it failed or
     wrote no submission.csv, and check that CSV against the sample submission;
  4. submit the version with its output file (CreateCodeSubmission) and record
     it in SUBMISSIONS/<version-id>/submission.json, where `scores` polls its
     score and `compare` shows it, marked "code".
Rerunning skips every finished step: an interrupted wait picks up the pushed
version (REMOTE/<kernel>/push.json) instead of pushing a new one."""


def configure(parser: argparse.ArgumentParser) -> None:
    from kagglekit.paths import DEFAULT_REMOTE_DIR
    from kagglekit.remote.accelerators import ACCELERATORS

    add_competition_arguments(parser)
    add_recipe_arguments(parser, required=True, training=False)
    parser.add_argument(
        "--accelerator",
        choices=sorted(ACCELERATORS),
        default="t4x2",
        help="what the inference kernel runs on: t4x2, p100, tpu or cpu (default: t4x2)",
    )
    parser.add_argument(
        "--wait",
        type=non_negative_float,
        default=6 * 3600,
        metavar="SECONDS",
        help="how long to wait for the datasets and the kernel before leaving them (default: 21600 = 6 h)",
    )
    parser.add_argument(
        "--interval", type=positive_float, default=30.0, metavar="SECONDS", help="seconds between polls (default: 30)"
    )
    parser.add_argument(
        "--tta", choices=TTA_MODES, default=None, help="test-time augmentation in the kernel (default: the version's)"
    )
    parser.add_argument("--push-again", action="store_true", help="push a new kernel version even if one was pushed")
    add_runs_dir_argument(parser, "where runs live")
    add_submissions_dir_argument(parser, "where submission folders are")
    parser.add_argument(
        "--remote-dir",
        type=Path,
        default=DEFAULT_REMOTE_DIR,
        metavar="DIR",
        help=f"dataset records, kernel folders and push records (default: {DEFAULT_REMOTE_DIR}/)",
    )


def run(args: argparse.Namespace) -> None:
    from kagglekit.paths import CompetitionPaths
    from kagglekit.remote.code_submission import CodeSubmission, submit_code

    choice = recipe_choice(args)
    request = CodeSubmission(choice.version_id, args.accelerator, args.wait, args.interval, args.push_again, args.tta)
    submit_code(request, CompetitionPaths(args.data_dir, args.competition), args.submissions_dir, args.remote_dir)
