"""The `models` command."""

from __future__ import annotations

import argparse

HELP = "list the model versions `train --model` accepts"
DESCRIPTION = """\
One line per registered model version: its name, default epochs, batch size,
learning rate, and what it is. `--verbose` prints each version's full recipe."""


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--verbose", action="store_true", help="print every recipe key of every version")


def run(args: argparse.Namespace) -> None:
    from kagglekit.training.models import MODEL_VERSIONS, version_id

    width = max(len(name) for name in MODEL_VERSIONS)
    for name, version in MODEL_VERSIONS.items():
        recipe = version.recipe()
        print(
            f"{name:<{width}}  {recipe['epochs']:>3} ep  batch {recipe['batch_size']:<4} lr {recipe['lr']:<7g} {version.summary}"
        )
        if args.verbose:
            print(f"{'':<{width}}  id {version_id(recipe)}")
            for key, value in recipe.items():
                print(f"{'':<{width}}    {key} = {value!r}")
