"""Submission folders and the check every CSV passes before it can be uploaded.

``submissions/<version-id>/`` is what a user commits to remember which model
scored what:

    submission.csv       id,label in sampleSubmission.csv's order (validated)
    probabilities.npy    float16 (N, classes) in the same order, for ensembles
    prediction.json      what made it: run, model, validation accuracy, TTA, CSV hash
    submission.json      written by `submit` and `scores`: Kaggle refs, dates, scores
    earlier/             superseded predictions that were uploaded, one per CSV hash

An upload belongs to the CSV bytes it sent (its ``csv_sha256``), not to the
folder: predicting a version again with a different CSV keeps the old
prediction.json in ``earlier/`` beside its scores and starts the new one
unsubmitted; predicting the very same CSV again keeps its uploads.

A daily submission wasted on a malformed CSV costs a day, so `validate_csv`
runs after writing and again right before uploading.
"""

from __future__ import annotations

import hashlib
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from kagglekit.exceptions import DataError, StageNotReadyError
from kagglekit.jsonfiles import read_json, read_json_if_present, write_json
from kagglekit.data.labels import describe_ids, describe_rows, read_id_label_csv
from kagglekit.outputs import fresh_partial_dir, move_into_place
from kagglekit.paths import in_kaggle_notebook, kaggle_working

if TYPE_CHECKING:
    from kagglekit.paths import CompetitionPaths

DEFAULT_SUBMISSIONS_DIR = Path("submissions")
CSV, PROBABILITIES, PREDICTION, RECORD = "submission.csv", "probabilities.npy", "prediction.json", "submission.json"
EARLIER = "earlier"


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
    """Swap in a new prediction folder, every upload's record still attached to the CSV it uploaded.

    submission.json (each upload with its CSV's hash) and earlier/ move across
    byte for byte, read or not. When the CSV being replaced differs from the new
    one and was uploaded, its prediction.json is kept as earlier/<sha256[:12]>.json,
    so its scores stay with the model that earned them and the new prediction
    starts unsubmitted.
    """
    if target.is_dir():
        if (target / EARLIER).is_dir():
            shutil.copytree(target / EARLIER, partial / EARLIER, dirs_exist_ok=True)
        if (target / RECORD).is_file():
            shutil.copyfile(target / RECORD, partial / RECORD)
            _keep_superseded(target, partial)
    move_into_place(partial, target)


def _keep_superseded(target: Path, partial: Path) -> None:
    old_csv, old_prediction = target / CSV, target / PREDICTION
    if not (old_csv.is_file() and old_prediction.is_file()):
        return
    old_sha256 = sha256_of(old_csv)
    uploaded = old_sha256 in (target / RECORD).read_text(errors="replace")  # as text: a damaged record still counts
    if old_sha256 == sha256_of(partial / CSV) or not uploaded:
        return  # the same CSV keeps its uploads; one never uploaded has no score to keep
    kept = partial / EARLIER / f"{old_sha256[:12]}.json"
    kept.parent.mkdir(exist_ok=True)
    try:
        write_json(kept, {**read_json(old_prediction), "csv_sha256": old_sha256})
    except DataError:
        shutil.copyfile(old_prediction, kept)  # damaged: kept as it is, for compare to name and its owner to fix


def require_prediction(submissions_dir: Path, version_id: str) -> dict[str, Any]:
    """The prediction record of a version, or a message saying how to make it."""
    record = read_json_if_present(version_dir(submissions_dir, version_id) / PREDICTION)
    if not record:
        known = sorted(p.parent.name for p in Path(submissions_dir).glob(f"*/{PREDICTION}"))
        listing = f" (have: {', '.join(known)})" if known else ""
        raise StageNotReadyError(f"no prediction for {version_id} in {submissions_dir}/{listing}; run `python -m kagglekit predict` first.")
    return record


def write_submission(
    target: Path, sample_ids: np.ndarray, probabilities: np.ndarray, classes: list[str],
    record: dict[str, Any], paths: CompetitionPaths,
) -> Path:
    """CSV + probabilities + record into ``target``, validated before they replace anything."""
    partial = fresh_partial_dir(target)
    labels = np.asarray(classes)[probabilities.argmax(axis=1)]
    write_csv(partial / CSV, sample_ids, labels.tolist())
    validate_csv(partial / CSV, paths.sample_submission, classes)
    np.save(partial / PROBABILITIES, probabilities)
    write_json(partial / PREDICTION, {
        **record, "classes": classes, "rows": len(sample_ids), "csv_sha256": sha256_of(partial / CSV),
        "sample_submission_sha256": sha256_of(paths.sample_submission),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
    })
    replace_keeping_records(partial, target)
    if in_kaggle_notebook() and kaggle_working().is_dir():
        shutil.copyfile(target / CSV, kaggle_working() / CSV)  # what "Submit to competition" picks up
    return target / CSV
