"""Not a stage: the recipe flags that name one model version, shared by train, remote, predict and submit.

The stages of `make submit` are handed the same flags and each computes the same ``RecipeChoice``,
so predict and submit take the run that train trained or reused, never merely the newest of a name.
train and remote also take the training shortcuts (--batch-size, --lr, --limit); in predict and
submit those are written as --set, since predict's own --batch-size means images per prediction step.
"""

from __future__ import annotations

import argparse

from kagglekit.arguments import non_negative_int, positive_float, positive_int
from kagglekit.exceptions import UsageError
from kagglekit.training.models import get_version
from kagglekit.training.recipes import RecipeChoice

IDENTITY_SHORTCUTS = ("epochs", "seed")
TRAINING_SHORTCUTS = ("batch_size", "lr", "limit")
DEST = "recipe_"  # the shortcuts' namespace: predict's own --batch-size (images per step) is not the recipe's


def add_recipe_arguments(parser: argparse.ArgumentParser, *, required: bool, training: bool) -> None:
    """--model, --epochs, --seed, --set, --all-data (and, with ``training``, --batch-size, --lr, --limit)."""
    group = parser.add_argument_group("the model version (the same flags name it in train, predict, remote and submit)")
    group.add_argument("--model", required=required, metavar="NAME", help="model version (see `kagglekit models`)")
    group.add_argument(
        "--epochs",
        type=positive_int,
        metavar="N",
        dest=DEST + "epochs",
        help="passes over the training split (default: the version's)",
    )
    group.add_argument(
        "--seed",
        type=non_negative_int,
        metavar="N",
        dest=DEST + "seed",
        help="fixes shuffling, augmentation and initialisation (default: 0)",
    )
    if training:
        group.add_argument(
            "--batch-size",
            type=positive_int,
            metavar="N",
            dest=DEST + "batch_size",
            help="images per step per device; multiplied by the number of GPUs/TPU cores (default: the version's)",
        )
        group.add_argument(
            "--lr",
            type=positive_float,
            metavar="X",
            dest=DEST + "lr",
            help="peak learning rate (default: the version's)",
        )
        group.add_argument(
            "--limit",
            type=positive_int,
            metavar="N",
            dest=DEST + "limit",
            help="train on the first N training images (and validate on at most N): quick runs",
        )
    group.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        dest="settings",
        help='override any recipe key, VALUE read as the key\'s type: true/false, 0.1, 15, "cosine" or '
        'cosine, [64,256,256], {"whiten":3} (see `kagglekit models --verbose`)',
    )
    group.add_argument(
        "--all-data",
        action="store_true",
        help="the final run on every labelled image, the validation split too, once the recipe and epochs "
        "are fixed on the split (no validation accuracy; its own version id)",
    )


def recipe_choice(args: argparse.Namespace, default_model: str | None = None) -> RecipeChoice | None:
    """The version the flags name, checked (unknown key, wrong type, out of range: one line); None without a model
    (--model, else ``default_model``)."""
    model = args.model or default_model
    if model is None:
        if (
            args.settings
            or args.all_data
            or any(getattr(args, DEST + key, None) is not None for key in IDENTITY_SHORTCUTS)
        ):
            raise UsageError("--epochs, --seed, --set and --all-data describe a model version: give --model NAME too")
        return None
    version = get_version(model)
    overrides = dict(version.parse_setting(setting) for setting in args.settings)
    for key in (*IDENTITY_SHORTCUTS, *TRAINING_SHORTCUTS):
        if getattr(args, DEST + key, None) is not None:
            overrides[key] = getattr(args, DEST + key)
    choice = RecipeChoice(model, overrides, args.all_data)
    choice.recipe  # noqa: B018 - checks every override before any stage starts work
    return choice
