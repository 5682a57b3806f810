"""The `remote` command."""

from __future__ import annotations

import argparse

from kagglekit.cli import add_competition_arguments, add_kernel_arguments
from kagglekit.commands.recipe import add_recipe_arguments, recipe_choice
from kagglekit.training.runs import TTA_MODES

HELP = "train and predict on Kaggle's GPUs/TPUs from here: push a kernel, wait, pull the run"
DESCRIPTION = """\
Run train and predict for the version --model (and its recipe flags) names inside a Kaggle kernel, on Kaggle's accelerators
and your weekly quota, then bring the run back as if it had trained here:
  1. check the quota and say what the run may use of it;
  2. build REMOTE/<kernel>/ (kernel-metadata.json and one script with kagglekit
     inlined, the competition attached) and push it; push.json records it;
  3. wait (bounded by --wait), one line per status change;
  4. pull the output, checking each file's HTTP status and size;
  5. check the device that ran against the one asked for, and the CSV against
     sampleSubmission.csv;
  6. record the run under RUNS/ (plus remote.json and kernel.log) and the
     prediction under SUBMISSIONS/<version-id>/, where `submit` finds it.
Ctrl-C while waiting leaves the kernel running on Kaggle; the same command run
again picks up that version instead of pushing a new one. Kaggle's API cannot
cancel a running kernel: do that on the kernel's page."""


def configure(parser: argparse.ArgumentParser) -> None:
    add_competition_arguments(parser)
    add_recipe_arguments(parser, required=True, training=True)
    add_kernel_arguments(
        parser,
        runs="the training kernel",
        waits_for="the kernel before leaving it running",
        records="kernel folders, push records and pulled output",
    )
    parser.add_argument(
        "--tta", choices=TTA_MODES, default=None, help="test-time augmentation for predict (default: the version's)"
    )


def run(args: argparse.Namespace) -> None:
    from kagglekit.paths import CompetitionPaths
    from kagglekit.remote.kernels import RemoteSpec, run_remote

    choice = recipe_choice(args)  # an unknown name or key, or a bad value, fails here, before anything is pushed
    spec = RemoteSpec(
        args.competition, choice.model, choice.overrides, args.accelerator, args.tta, all_data=choice.all_data
    )
    run_remote(
        spec,
        CompetitionPaths(args.data_dir, args.competition),
        args.runs_dir,
        args.submissions_dir,
        args.remote_dir,
        wait=args.wait,
        interval=args.interval,
        push_again=args.push_again,
    )
