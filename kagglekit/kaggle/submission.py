"""Submission folders and the check every CSV passes before it can be uploaded.

``submissions/<version-id>/`` is what a user commits to remember which model
scored what:

    submission.csv       id,label in sampleSubmission.csv's order (validated)
    probabilities.npy    float16 (N, classes) in the same order, for ensembles
    prediction.json      what made it: run, model, validation accuracy, TTA, CSV hash
    submission.json      written by `submit` and `scores`: Kaggle refs, dates, scores

A daily submission wasted on a malformed CSV costs a day, so `validate_csv`
runs after writing and again right before uploading.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Any

import pandas as pd

from kagglekit.exceptions import DataError, StageNotReadyError
from kagglekit.jsonfiles import read_json_if_present
from kagglekit.data.labels import describe_ids, describe_rows, read_id_label_csv
from kagglekit.outputs import move_into_place

DEFAULT_SUBMISSIONS_DIR = Path("submissions")
CSV, PROBABILITIES, PREDICTION, RECORD = "submission.csv", "probabilities.npy", "prediction.json", "submission.json"


def version_dir(submissions_dir: Path, version_id: str) -> Path:
    return Path(submissions_dir) / version_id


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def validate_csv(csv_path: Path, sample_submission: Path, classes: list[str]) -> int:
    """Raise DataError unless ``csv_path`` is a submission Kaggle will score; returns its rows.

    Checks the header, the row count, every id against sampleSubmission.csv (same
    set, same order) and every label against the class list.
    """
    hint = "predict again with `python -m kagglekit predict`"
    submission = read_id_label_csv(csv_path, fix_hint=hint)
    sample = read_id_label_csv(sample_submission)
    if len(submission) != len(sample):
        raise DataError(f"{csv_path} has {len(submission):,} rows, sampleSubmission.csv has {len(sample):,}; {hint}.")
    missing = set(sample["id"]) - set(submission["id"])
    if missing:
        raise DataError(f"{csv_path}: {describe_ids(missing, 'of sampleSubmission.csv are missing')}; {hint}.")
    if not (submission["id"].to_numpy() == sample["id"].to_numpy()).all():
        raise DataError(f"{csv_path} lists the right ids in another order than sampleSubmission.csv; {hint}.")
    unknown = submission.index[~submission["label"].isin(classes)]
    if len(unknown):
        raise DataError(f"{csv_path}: {describe_rows(unknown, 'with a label that is not a class')}; {hint}.")
    return len(submission)


def write_csv(path: Path, ids: pd.Series | list[int], labels: list[str]) -> None:
    frame = pd.DataFrame({"id": ids, "label": labels})
    frame.to_csv(path, index=False, lineterminator="\n")


def replace_keeping_records(partial: Path, target: Path) -> None:
    """Swap in a new prediction folder but keep the record of past uploads (submission.json)."""
    if (target / RECORD).is_file():
        shutil.copyfile(target / RECORD, partial / RECORD)
    move_into_place(partial, target)


def require_prediction(submissions_dir: Path, version_id: str) -> dict[str, Any]:
    """The prediction record of a version, or a message saying how to make it."""
    record = read_json_if_present(version_dir(submissions_dir, version_id) / PREDICTION)
    if not record:
        known = sorted(p.parent.name for p in Path(submissions_dir).glob(f"*/{PREDICTION}"))
        listing = f" (have: {', '.join(known)})" if known else ""
        raise StageNotReadyError(f"no prediction for {version_id} in {submissions_dir}/{listing}; run `python -m kagglekit predict` first.")
    return record
