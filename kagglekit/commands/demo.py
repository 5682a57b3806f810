"""The `demo` command."""

from __future__ import annotations

import argparse
from pathlib import Path

from kagglekit.arguments import competition_slug, int_at_least, positive_int
from kagglekit.standin.demo import DEFAULT_DIR, DemoConfig

# Fewer can leave a class with no image, which folders refuses; the demo's seed 0 draws all ten within its first 100.
MIN_TRAIN_IMAGES = 100

HELP = "the whole pipeline against a local Kaggle API server: no account, no network"
DESCRIPTION = """\
Generate a small, learnable competition in the exact format of --competition's
spec (cifar-10's by default; `kagglekit competitions` lists them), serve it
with kagglekit's local Kaggle API server on 127.0.0.1, and run
fetch -> unpack -> folders -> train -> predict -> submit -> scores -> compare
through the official kaggle client, as `make submit` does against Kaggle.
With --where kaggle, train and predict run in a kernel pushed to the local
server (which runs it here, on this CPU): remote -> submit -> scores -> compare,
as `make submit WHERE=kaggle` does.
Everything is written under DIR (default: demo/, or demo/SLUG/ for another
competition): the competition, data/,
runs/ and submissions/ (with leaderboard.md and compare.png). Rerunning skips
the stages already complete.
With --code-competition, a generated code competition (cifar-10's layout, kind
= "code") instead, as `make submit WHERE=kaggle` submits one: train and predict
here, upload kagglekit's wheels and the run as private datasets, push the
offline inference kernel (the server runs it with no network), submit its
version, scores, compare (under demo/code/, or DIR)."""


def configure(parser: argparse.ArgumentParser) -> None:
    defaults = DemoConfig()
    parser.add_argument(
        "--competition",
        type=competition_slug,
        default=defaults.competition,
        metavar="SLUG",
        help=f"whose format the generated competition takes (default: {defaults.competition})",
    )
    parser.add_argument(
        "--dir",
        type=Path,
        metavar="DIR",
        help=f"where the demo writes (default: {DEFAULT_DIR}/, or {DEFAULT_DIR}/kaggle/ with --where kaggle)",
    )
    parser.add_argument(
        "--model", default=defaults.model, metavar="NAME", help=f"model version (default: {defaults.model})"
    )
    parser.add_argument(
        "--epochs",
        type=positive_int,
        default=defaults.epochs,
        metavar="N",
        help=f"training epochs (default: {defaults.epochs})",
    )
    parser.add_argument(
        "--train-images",
        type=int_at_least(MIN_TRAIN_IMAGES),
        default=defaults.train_images,
        metavar="N",
        help=f"generated training images, {MIN_TRAIN_IMAGES} or more so that every class has some "
        f"(default: {defaults.train_images:,})",
    )
    parser.add_argument(
        "--where",
        choices=("local", "kaggle"),
        default="local",
        help="train and predict here, or in a kernel pushed to the local server as "
        "`make submit WHERE=kaggle` pushes one to Kaggle (default: local)",
    )
    parser.add_argument(
        "--code-competition",
        action="store_true",
        help="a generated code competition instead, through submit-code (writes demo/code/)",
    )
    parser.add_argument(
        "--test-images",
        type=positive_int,
        default=defaults.test_images,
        metavar="N",
        help=f"generated test images (default: {defaults.test_images:,})",
    )


def run(args: argparse.Namespace) -> int:
    from kagglekit.cli import main

    if args.code_competition:
        return run_code(args)
    from kagglekit.standin.demo import run_demo
    from kagglekit.training.models import get_version

    get_version(args.model)  # an unknown name is refused here, not after fetch, unpack and folders have written DIR
    from kagglekit.competitions import get_spec
    from kagglekit.standin.demo import default_directory

    get_spec(args.competition)  # a competition without a spec is refused before DIR is written
    directory = args.dir or default_directory(args.competition, args.where)
    config = DemoConfig(
        directory, args.competition, args.model, args.epochs, args.train_images, args.test_images, where=args.where
    )
    return run_demo(config, main)


def run_code(args: argparse.Namespace) -> int:
    """The code-competition demo: its own tiny defaults, changed only by the flags given."""
    from dataclasses import replace

    from kagglekit.cli import main
    from kagglekit.standin.demo import CODE_DIR, code_demo_config, run_code_demo

    config = code_demo_config(args.dir or CODE_DIR)
    given = {
        "model": args.model,
        "epochs": args.epochs,
        "train_images": args.train_images,
        "test_images": args.test_images,
    }
    defaults = DemoConfig()
    changed = {key: value for key, value in given.items() if value != getattr(defaults, key)}
    return run_code_demo(replace(config, **changed), main)
