"""The `folders` command."""

from __future__ import annotations

import argparse

from kagglekit.arguments import non_negative_int, open_fraction
from kagglekit.cli import add_competition_arguments
from kagglekit.paths import DEFAULT_SPLIT_SEED, DEFAULT_VALID_FRACTION, CompetitionPaths

HELP = "lay train images out in class folders with a stratified validation split"
DESCRIPTION = """\
From the training labels where the competition's spec says they are (cifar-10:
DATA/SLUG/raw/trainLabels.csv; labels in file or folder names come from
DATA/SLUG/cache/train_labels.csv, which unpack writes) and the unpacked
training images, build
  DATA/SLUG/folders/train/<class>/<id>.<ext>   (hard links; copies where links fail)
  DATA/SLUG/folders/valid/<class>/<id>.<ext>   a stratified, seeded hold-out
  DATA/SLUG/folders/classes.json               the class list later stages index by
  DATA/SLUG/folders/split.csv                  id,label,subset
the layout flow_from_directory and keras.utils.image_dataset_from_directory read.
A bad labels file (missing columns, duplicate ids, ids without image, images
without label, empty labels, labels outside the spec's classes) is reported with
its line numbers."""


def configure(parser: argparse.ArgumentParser) -> None:
    add_competition_arguments(parser)
    parser.add_argument(
        "--valid-fraction",
        type=open_fraction,
        default=DEFAULT_VALID_FRACTION,
        metavar="F",
        help=f"fraction of each class held out for validation (default: {DEFAULT_VALID_FRACTION})",
    )
    parser.add_argument(
        "--seed",
        type=non_negative_int,
        default=DEFAULT_SPLIT_SEED,
        metavar="N",
        help=f"seed that picks the validation images (default: {DEFAULT_SPLIT_SEED})",
    )
    parser.add_argument("--force", action="store_true", help="rebuild even if complete")


def run(args: argparse.Namespace) -> None:
    from kagglekit.data.folders import build_folders

    paths = CompetitionPaths(args.data_dir, args.competition)
    summary = build_folders(paths, args.valid_fraction, args.seed, force=args.force)
    state = (
        "already complete"
        if summary.skipped
        else f"{summary.seconds:.1f} s" + (" (copied: hard links refused)" if summary.copied else "")
    )
    print(
        f"folders: {paths.folders}  {len(summary.classes)} classes, "
        f"{summary.train:,} train + {summary.valid:,} valid images, {state}"
    )
