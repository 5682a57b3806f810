"""``kagglekit fetch``: the competition's files from Kaggle (or the notebook's mount)."""

from __future__ import annotations

import argparse

from kagglekit.cli import add_competition_arguments
from kagglekit.paths import CompetitionPaths

HELP = "download the competition files from Kaggle into DATA/SLUG/raw/"
DESCRIPTION = """\
Download the files the competition's spec lists into DATA/SLUG/raw/ (cifar-10:
train.7z, test.7z, trainLabels.csv, sampleSubmission.csv; a folder tree such as
train/ arrives file by file under raw/train/). For a competition kagglekit has
no spec for, it lists Kaggle's files and says what a spec needs; draft one with
`python -m kagglekit competitions draft SLUG`.

Needs Kaggle credentials (~/.kaggle/kaggle.json, or KAGGLE_USERNAME and KAGGLE_KEY)
and the competition's rules accepted on kaggle.com. Downloads resume after an
interruption: rerun the same command. A finished fetch writes raw/.complete and
later runs return at once without the network; --force downloads everything again.

In a Kaggle notebook nothing is downloaded: raw/ gets symlinks to the mounted
read-only files, found where kagglehub.competition_download(SLUG) attaches them
(when kagglehub is installed), else under /kaggle/input/competitions/SLUG/ or
/kaggle/input/SLUG/ ($KAGGLE_CACHE_MOUNT_FOLDER replaces /kaggle/input);
--no-attach looks only there, for a kernel with no network at all (a code
competition's offline kernel, which has the competition attached already).
"""


def configure(parser: argparse.ArgumentParser) -> None:
    add_competition_arguments(parser)
    parser.add_argument("--force", action="store_true", help="download again even if raw/ is complete")
    parser.add_argument(
        "--no-attach",
        dest="attach",
        action="store_false",
        help="in a Kaggle notebook, do not ask kagglehub to attach the competition: only look where it is mounted",
    )


def run(args: argparse.Namespace) -> int:
    from kagglekit.data.fetch import fetch

    paths = CompetitionPaths(args.data_dir, args.competition)
    raw = fetch(paths, force=args.force, attach=args.attach)
    print(f"{args.competition}: {len(paths.spec.file_names)} files in {raw}")
    return 0
