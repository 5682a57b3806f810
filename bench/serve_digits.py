"""Serve ../shared/digit-recognizer's real digits as Kaggle serves the competition, for `make submit` end to end.

Kaggle's test labels are not in ../shared (nor anywhere public), so the stand-in cannot score the real
test.csv. It serves instead, in Kaggle's exact format (train.csv and test.csv, which it hands out
zipped as Kaggle's API does, sample_submission.csv with ImageId 1..N), the real 42,000 labelled digits re-split:
the first 35,000 rows as train.csv, the last 7,000 as test.csv without their labels (kept as the
solution the stand-in scores against). Every image is a real MNIST digit; the score is a real
held-out accuracy, on 7,000 digits rather than Kaggle's 28,000.

    .venv/bin/python bench/serve_digits.py /tmp/digits-standin      # prints export lines, serves until Ctrl-C
    # in another shell, after pasting them:
    make submit COMPETITION=digit-recognizer DATA=/tmp/digits-data RUNS=/tmp/digits-runs SUBS=/tmp/digits-subs
"""

from __future__ import annotations

import argparse
import io
import zipfile
from pathlib import Path

import pandas as pd

SHARED = Path(__file__).resolve().parents[2] / "shared" / "digit-recognizer"
N_TRAIN = 35_000


def build(target: Path) -> Path:
    """The stand-in's files under ``target`` (once), with solution.csv beside them."""
    if (target / "solution.csv").is_file():
        return target
    target.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(SHARED / "train.csv.zip") as archive:
        rows = pd.read_csv(io.BytesIO(archive.read("train.csv")))
    train, test = rows.iloc[:N_TRAIN], rows.iloc[N_TRAIN:]
    ids = range(1, len(test) + 1)
    train.to_csv(target / "train.csv", index=False)  # the stand-in serves a .csv zipped, as Kaggle's API does
    test.drop(columns="label").to_csv(target / "test.csv", index=False)
    pd.DataFrame({"ImageId": ids, "Label": 0}).to_csv(target / "sample_submission.csv", index=False)
    pd.DataFrame({"ImageId": ids, "Label": test["label"].to_numpy()}).to_csv(target / "solution.csv", index=False)
    return target


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path, help="where the stand-in's files go")
    args = parser.parse_args()
    directory = build(args.directory)
    from kagglekit.standin.server import main as serve

    return serve(
        [
            "--competition-dir",
            str(directory),
            "--solution",
            str(directory / "solution.csv"),
            "--slug",
            "digit-recognizer",
        ]
    )


if __name__ == "__main__":
    raise SystemExit(main())
