"""The `submit-code` command: a code competition's submission."""

from __future__ import annotations

import argparse

from kagglekit.cli import add_competition_arguments, add_kernel_arguments
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
    add_competition_arguments(parser)
    add_recipe_arguments(parser, required=True, training=False)
    add_kernel_arguments(
        parser,
        runs="the inference kernel",
        waits_for="the datasets and the kernel before leaving them",
        records="dataset records, kernel folders and push records",
    )
    parser.add_argument(
        "--tta", choices=TTA_MODES, default=None, help="test-time augmentation in the kernel (default: the version's)"
    )


def run(args: argparse.Namespace) -> None:
    from kagglekit.paths import CompetitionPaths
    from kagglekit.remote.code_submission import CodeSubmission, submit_code

    choice = recipe_choice(args)
    request = CodeSubmission(choice.version_id, args.accelerator, args.wait, args.interval, args.push_again, args.tta)
    submit_code(request, CompetitionPaths(args.data_dir, args.competition), args.submissions_dir, args.remote_dir)
