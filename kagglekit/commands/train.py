"""The `train` command."""

from __future__ import annotations

import argparse

from kagglekit.cli import add_competition_arguments, add_precision_argument, add_runs_dir_argument
from kagglekit.commands.recipe import add_recipe_arguments, recipe_choice

HELP = "train a model version into runs/<version>-<hash>-<time>/ (rerun to resume)"
DESCRIPTION = """\
Train one model version (see `python -m kagglekit models`) on the train/valid
split of the folders stage, reading the unpack stage's pixel cache (tf.data on
TensorFlow; on JAX the images are held on the device and each step batches,
flips and augments them inside the compiled step). Keras' backend:
KERAS_BACKEND=tensorflow|jax; unset, TensorFlow where it is installed, JAX on a
TPU machine or where TensorFlow is absent.
Writes RUNS/<version>-<hash>-<time>/: config.json (the exact recipe, the data's
fingerprint, git commit, and the command that reruns it), best.keras (saved on
every improvement), history.csv, curves.png, confusion.png, samples.png and,
last, metrics.json. Prints one line per epoch.
Ctrl-C or a killed process loses at most the current epoch: rerunning the same
command resumes the unfinished run of the same version on the same data from
its last saved epoch (an unfinished run on other data is refused, saying what
changed).

Any recipe key can be overridden with --set KEY=VALUE (e.g. --set rotation=15
--set flip=true), read as the key's type; the shortcuts below cover the usual
ones. predict and submit take the same --model/--epochs/--seed/--set/--all-data
flags and so find this very run."""


def configure(parser: argparse.ArgumentParser) -> None:
    add_competition_arguments(parser)
    add_recipe_arguments(parser, required=True, training=True)
    add_runs_dir_argument(parser, "where run directories go")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="if a finished run of the same version on the same data exists, use it instead of training",
    )
    add_precision_argument(parser)


def run(args: argparse.Namespace) -> None:
    choice = recipe_choice(args)  # an unknown name or key, or a bad value, fails before TensorFlow loads

    from kagglekit.paths import CompetitionPaths
    from kagglekit.training.train import train

    train(
        choice.model,
        choice.overrides,
        CompetitionPaths(args.data_dir, args.competition),
        args.runs_dir,
        precision=args.precision,
        reuse=args.reuse,
        all_data=choice.all_data,
    )
