"""The `unpack` command."""

from __future__ import annotations

import argparse

from kagglekit.arguments import positive_float, process_count
from kagglekit.cli import add_competition_arguments
from kagglekit.exceptions import MissingPackageError
from kagglekit.paths import CompetitionPaths

SPLITS = ("train", "test")

HELP = "decode the competition's training and test images into a pixel cache (and the training files)"
DESCRIPTION = """\
Decode the training and test images where the competition's spec says they are
(cifar-10: DATA/SLUG/raw/train.7z and test.7z; also zips, folder trees and pixel
CSVs; PNG, JPEG), converted to the spec's channels and size, straight into
  DATA/SLUG/cache/{train,test}_images.npy   uint8 (N, H, W, C), what train and predict read
  DATA/SLUG/cache/{train,test}_ids.npy      the image id (text) of each row
  DATA/SLUG/cache/train_labels.csv          id,label, when the labels are in the image paths
  DATA/SLUG/images/train/<id>.<ext>         the training images, for the class folders
The image ids are checked against the labels CSV (cifar-10: trainLabels.csv) and
the sample submission (sampleSubmission.csv). Archives with entries that escape
their folder, links, encrypted entries, or an unpacked size over the cap are
refused. Already-unpacked splits are skipped unless --force."""


def configure(parser: argparse.ArgumentParser) -> None:
    add_competition_arguments(parser)
    parser.add_argument("--force", action="store_true", help="unpack again even if complete")
    parser.add_argument(
        "--split",
        choices=SPLITS,
        action="append",
        help="unpack only this split (repeatable; default: both): `--split test` is all predicting needs",
    )
    parser.add_argument(
        "--write-test-files",
        action="store_true",
        help="also write the test images to DATA/SLUG/images/test/ (cifar-10: 300,000 files; slow, not needed to predict)",
    )
    parser.add_argument(
        "--max-unpacked-gib",
        type=positive_float,
        default=4.0,
        metavar="GIB",
        help="refuse an archive that would unpack to more than this, in GiB (default: 4)",
    )
    parser.add_argument(
        "--workers",
        type=process_count,
        default=None,
        metavar="N",
        help="image-decoding processes, 0 (decode inline) up to the cores here (default: cores - 1 for big archives, else 0)",
    )


PY7ZR_MISSING = (
    "py7zr is not installed, and unpack needs it to read .7z archives (cifar-10's): pip install py7zr "
    "(offline, e.g. in a Kaggle notebook with the internet off: pip install --no-index --find-links WHEELHOUSE py7zr, "
    "WHEELHOUSE being the folder `make wheelhouse` builds, attached as a dataset)"
)


def run(args: argparse.Namespace) -> None:
    try:
        import py7zr  # noqa: F401 - Kaggle's image ships the 7z binary but not this
    except ImportError:
        raise MissingPackageError(PY7ZR_MISSING) from None
    from kagglekit.data.unpack import summaries_table, unpack_competition

    paths = CompetitionPaths(args.data_dir, args.competition)
    summaries = unpack_competition(
        paths,
        force=args.force,
        write_test_files=args.write_test_files,
        max_unpacked_gib=args.max_unpacked_gib,
        workers=args.workers,
        splits=tuple(args.split or SPLITS),
    )
    print(f"unpack: {paths.cache}")
    print(summaries_table(summaries))
