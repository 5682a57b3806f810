"""The `train` command."""

from __future__ import annotations

import argparse
import json
from typing import Any

from kagglekit.cli import add_competition_arguments, add_precision_argument, add_runs_dir_argument
from kagglekit.exceptions import UsageError

HELP = "train a model version into runs/<version>-<hash>-<time>/ (rerun to resume)"
DESCRIPTION = """\
Train one model version (see `python -m kagglekit models`) on the train/valid
split of the folders stage, reading the unpack stage's pixel cache (tf.data on
TensorFlow; on JAX the images are held on the device and each step batches,
flips and augments them inside the compiled step). Keras' backend:
KERAS_BACKEND=tensorflow|jax; unset, TensorFlow where it is installed, JAX on a
TPU machine or where TensorFlow is absent.
Writes RUNS/<version>-<hash>-<time>/: config.json (the exact recipe, data and
git commit), best.keras (saved on every improvement), history.csv, curves.png,
confusion.png, samples.png and, last, metrics.json. Prints one line per epoch.
Ctrl-C or a killed process loses at most the current epoch: rerunning the same
command resumes the unfinished run from its last saved epoch.

Any recipe key can be overridden with --set KEY=VALUE (e.g. --set rotation=15
--set flip=true); the shortcuts below cover the usual ones."""


def configure(parser: argparse.ArgumentParser) -> None:
    add_competition_arguments(parser)
    parser.add_argument("--model", required=True, metavar="NAME", help="model version to train (see `kagglekit models`)")
    parser.add_argument("--epochs", type=int, metavar="N", help="passes over the training split (default: the version's)")
    parser.add_argument("--batch-size", type=int, metavar="N",
                        help="images per step per device; multiplied by the number of GPUs/TPU cores (default: the version's)")
    parser.add_argument("--lr", type=float, metavar="X", help="peak learning rate (default: the version's)")
    parser.add_argument("--seed", type=int, metavar="N", help="fixes shuffling, augmentation and initialisation (default: 0)")
    parser.add_argument("--limit", type=int, metavar="N",
                        help="train on the first N training images (and validate on at most N): quick runs")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="settings",
                        help="override any recipe key; VALUE is JSON (true, 0.1, \"cosine\") or a bare string")
    add_runs_dir_argument(parser, "where run directories go")
    parser.add_argument("--reuse", action="store_true",
                        help="if a finished run of the same version id on the same data exists, use it instead of training")
    parser.add_argument("--all-data", action="store_true",
                        help="train on every labelled image, the validation split too: the final submission's run, once "
                             "the recipe and epochs are fixed on the split (no validation accuracy; its own version id)")
    add_precision_argument(parser)


def parse_settings(settings: list[str]) -> dict[str, Any]:
    overrides: dict[str, Any] = {}
    for setting in settings:
        key, sep, text = setting.partition("=")
        if not sep or not key:
            raise UsageError(f"--set expects KEY=VALUE, got {setting!r}")
        try:
            overrides[key.strip().replace("-", "_")] = json.loads(text)
        except ValueError:
            overrides[key.strip().replace("-", "_")] = text
    return overrides


def run(args: argparse.Namespace) -> None:
    from kagglekit.training.models import get_version

    version = get_version(args.model)  # an unknown name fails before TensorFlow loads
    overrides = parse_settings(args.settings)
    for key in ("epochs", "batch_size", "lr", "seed", "limit"):
        if getattr(args, key) is not None:
            overrides[key] = getattr(args, key)
    version.recipe(overrides)  # unknown --set keys fail early too

    from kagglekit.paths import CompetitionPaths
    from kagglekit.training.train import train

    train(args.model, overrides, CompetitionPaths(args.data_dir, args.competition), args.runs_dir,
          precision=args.precision, reuse=args.reuse, all_data=args.all_data)
