"""Submission folders, the competition's submission format, and the check every CSV passes before upload.

``submissions/<version-id>/`` is what a user commits to remember which model
scored what:

    submission.csv       the sample submission's columns and ids, in its order (validated)
    probabilities.npy    float16 (N, classes) in the same order, for ensembles
    prediction.json      what made it: run, model, format, metric, validation score, TTA, CSV hash
    submission.json      written by `submit` and `scores`: Kaggle refs, dates, scores
    earlier/             superseded predictions that were uploaded, one per CSV hash

What a row holds is the competition spec's ``[submission] predict``
(:class:`~kagglekit.competitions.SubmissionFormat`); the columns and the ids
come from the sample submission itself (:func:`read_sample`):

    label           one value column: the class name (cifar-10's ``id,label``, digit-recognizer's ``ImageId,Label``)
    probability     one value column: P(positive class), in [0, 1] (dogs-vs-cats' ``id,label``)
    probabilities   one column per class, named as the sample's header names them, each in [0, 1]

Probabilities are clipped as the metric needs (:func:`default_clip`). Ids are
strings throughout: "00123" and "123" are different images.

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
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np
import pandas as pd

from kagglekit.competitions import SubmissionFormat, get_spec
from kagglekit.competitions.metrics import LABEL, PROBABILITY, Metric
from kagglekit.competitions.metrics import PROBABILITIES as PREDICT_PROBABILITIES
from kagglekit.data.labels import describe_rows
from kagglekit.exceptions import DataError, StageNotReadyError, first_line
from kagglekit.jsonfiles import read_json, read_json_if_present, write_json
from kagglekit.outputs import fresh_partial_dir, move_into_place
from kagglekit.paths import in_kaggle_notebook, kaggle_working

if TYPE_CHECKING:
    from kagglekit.competitions import CompetitionSpec
    from kagglekit.paths import CompetitionPaths

DEFAULT_SUBMISSIONS_DIR = Path("submissions")
CSV, PROBABILITIES, PREDICTION, RECORD = "submission.csv", "probabilities.npy", "prediction.json", "submission.json"
EARLIER = "earlier"
LABEL_FORMAT = SubmissionFormat("sampleSubmission.csv", LABEL)  # what records from before competition specs hold
PREDICT_HINT = "predict again with `python -m kagglekit predict`"
FLOAT_FORMAT = "%.6g"  # six significant digits: more than float16 probabilities hold, and 1e-06 stays 1e-06

# Log losses: how much of each row's probability the clip may move to the classes predicted absent.
# Kaggle clips at 1e-15, where one confident mistake costs ln(1e15) = 34.5 nats, as much as ~35,000 confident
# right answers earn back at 0.001 each. Flooring every probability at FLOOR_MASS / (columns - 1) caps a
# confident mistake at ln((columns - 1) / FLOOR_MASS): 6.9 nats for a binary column, 9.1 for cifar-10's ten
# classes, 11.7 for 120, while a confident right answer (after Kaggle rescales the row to sum 1) loses at most
# about FLOOR_MASS = 0.001 nats. Dividing by the columns keeps that cost the same for 2 classes or 120 (a flat
# 1e-3 per column would cost 120 breeds 0.11 nats on every image). Measured on dogs-vs-cats' validation split
# (bench/RESULTS.md, "The clip"): a calibrated `photos` run is unmoved by any clip up to 0.003, and from 0.02
# up clipping costs more than it saves, so 1e-3 costs nothing there and still caps a sharper model's mistakes.
FLOOR_MASS = 1e-3
LOG_LOSSES = ("binary-log-loss", "multiclass-log-loss")


# -- the competition's spec, in one place ------------------------------------------------


def competition_spec(paths: CompetitionPaths) -> CompetitionSpec:
    """The spec of ``paths``' competition (becomes ``paths.spec`` once CompetitionPaths carries it)."""
    return get_spec(paths.slug)


def sample_submission_path(paths: CompetitionPaths) -> Path:
    """The competition's sample submission as fetch leaves it (becomes ``paths.sample_submission``)."""
    return paths.raw / competition_spec(paths).submission.sample


def default_clip(metric: Metric | str, columns: int = 1) -> float:
    """How far probabilities are kept from 0 and 1 for ``metric`` with ``columns`` probability columns.

    Log losses: FLOOR_MASS spread over the other columns (see above); every other
    metric: 0, no clip (ROC AUC only ranks, and clipping could only add ties).
    """
    name = metric if isinstance(metric, str) else metric.name
    if name not in LOG_LOSSES:
        return 0.0
    return FLOOR_MASS / max(1, columns - 1) if name == "multiclass-log-loss" else FLOOR_MASS


# -- the sample submission ---------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    """The sample submission: the columns Kaggle wants, in order, and every test id in order, as strings."""

    path: Path
    header: tuple[str, ...]
    ids: np.ndarray  # str

    @property
    def id_column(self) -> str:
        return self.header[0]

    @property
    def value_columns(self) -> tuple[str, ...]:
        return self.header[1:]

    def __len__(self) -> int:
        return len(self.ids)


def read_sample(path: Path) -> Sample:
    """The sample submission's header and ids; a one-line error for one kagglekit cannot write a submission from."""
    path = Path(path)
    hint = "download it again with `python -m kagglekit fetch --force`"
    frame = _read_csv(path, hint)
    header = tuple(str(c).strip() for c in frame.columns)
    if len(header) < 2:
        raise DataError(
            f"{path} has header {','.join(header)!r}: a sample submission has an id column and at least "
            f"one value column; {hint}."
        )
    ids = frame.iloc[:, 0].str.strip()
    empty = frame.index[ids == ""]
    if len(empty):
        raise DataError(f"{path}: {describe_rows(empty, 'with an empty id')}; {hint}.")
    duplicated = frame.index[ids.duplicated(keep="first")]
    if len(duplicated):
        raise DataError(f"{path}: {describe_rows(duplicated, 'with duplicate ids')}; {hint}.")
    return Sample(path, header, ids.to_numpy(dtype=str))


def _read_csv(path: Path, hint: str) -> pd.DataFrame:
    """Every cell as text (no NaN for empty cells), indexed by CSV line number."""
    if not path.is_file():
        raise StageNotReadyError(f"{path} is missing; run `python -m kagglekit fetch` first.")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise DataError(f"{path} is not a readable CSV ({first_line(error)}); {hint}.") from None
    frame.index = frame.index + 2  # CSV line numbers: line 1 is the header
    return frame


# -- what a submission holds -------------------------------------------------------------


def format_columns(submission: SubmissionFormat, sample: Sample, classes: Sequence[str]) -> list[str]:
    """The classes behind each value column of the sample (label and probability: the one column's).

    A one-line DataError when the sample's columns cannot be filled from ``classes``.
    """
    columns = sample.value_columns
    if submission.predict in (LABEL, PROBABILITY):
        if len(columns) != 1:
            raise DataError(
                f"{sample.path} has {len(columns)} value columns ({', '.join(columns)}), but the "
                f"competition's submission holds one {submission.predict} per image: one column after "
                f"{sample.id_column!r}; check the spec's [submission] predict"
            )
        if submission.predict == PROBABILITY and submission.positive not in classes:
            raise DataError(
                f"the submission holds the probability of {submission.positive!r}, which is not one of "
                f"the classes predicted ({', '.join(classes)}); check the spec's submission.positive"
            )
        return list(columns)
    if sorted(columns) != sorted(classes):
        missing, extra = sorted(set(classes) - set(columns)), sorted(set(columns) - set(classes))
        raise DataError(
            f"{sample.path}'s columns name the classes {', '.join(columns)}, but the model predicts "
            f"{', '.join(classes)} ({_difference(missing, extra)}); the classes must be the columns"
        )
    return list(columns)


def _difference(missing: list[str], extra: list[str]) -> str:
    parts = ([f"no column for {', '.join(missing[:5])}"] if missing else []) + (
        [f"no class for {', '.join(extra[:5])}"] if extra else []
    )
    return "; ".join(parts)


def clipped(values: np.ndarray, clip: float) -> np.ndarray:
    """float64 probabilities kept within [clip, 1 - clip]."""
    values = np.asarray(values, dtype=np.float64)
    return np.clip(values, clip, 1.0 - clip) if clip > 0 else values


def predicted_values(
    probabilities: np.ndarray, classes: Sequence[str], submission: SubmissionFormat, clip: float = 0.0
) -> np.ndarray:
    """What the submission says of each image, in class terms, exactly as written to the CSV.

    label: the class name (N,); probability: P(positive) (N,), clipped;
    probabilities: (N, classes) in ``classes``' order, clipped.
    """
    probabilities = np.asarray(probabilities)
    if submission.predict == LABEL:
        return np.asarray(classes)[probabilities.argmax(axis=1)]
    if submission.predict == PROBABILITY:
        return clipped(probabilities[:, list(classes).index(submission.positive)], clip)
    return clipped(probabilities, clip)


def score_predictions(
    metric: Metric,
    submission: SubmissionFormat,
    classes: Sequence[str],
    truth: np.ndarray,
    probabilities: np.ndarray,
    clip: float = 0.0,
) -> float:
    """``metric`` of the images whose class indices are ``truth``, predicted as the submission predicts them."""
    truth = np.asarray(truth).astype(np.int64)
    values = predicted_values(probabilities, classes, submission, clip)
    if submission.predict == LABEL:
        return metric(np.asarray(classes)[truth], values)
    if submission.predict == PROBABILITY:
        return metric((truth == list(classes).index(submission.positive)).astype(np.int8), values)
    return metric(truth, values)


def write_csv(
    path: Path,
    sample: Sample,
    submission: SubmissionFormat,
    probabilities: np.ndarray,
    classes: Sequence[str],
    clip: float = 0.0,
) -> None:
    """The submission CSV: ``probabilities`` (N, classes), rows in the sample's order, in the spec's format."""
    columns = format_columns(submission, sample, classes)
    if len(probabilities) != len(sample):
        raise DataError(
            f"{len(probabilities):,} predictions for the {len(sample):,} ids of {sample.path}: {PREDICT_HINT} --force"
        )
    values = predicted_values(probabilities, classes, submission, clip)
    frame = pd.DataFrame({sample.id_column: sample.ids})
    if submission.predict == PREDICT_PROBABILITIES:
        for column in columns:
            frame[column] = values[:, list(classes).index(column)]
    else:
        frame[columns[0]] = values
    frame.to_csv(path, index=False, lineterminator="\n", float_format=FLOAT_FORMAT)


# -- the check before every upload -------------------------------------------------------


def validate_csv(
    csv_path: Path, sample_submission: Path | Sample, classes: Sequence[str], submission: SubmissionFormat | None = None
) -> int:
    """Raise DataError unless ``csv_path`` is a submission Kaggle will score; returns its rows.

    Checks the header (the sample's, in order), the row count, every id against
    the sample (same set, same order, once each) and every value: a label among
    ``classes``; a probability a finite number in [0, 1]. ``submission`` None is
    the label format. Each problem is one line naming the rows and a value.
    """
    submission = submission or LABEL_FORMAT
    sample = sample_submission if isinstance(sample_submission, Sample) else read_sample(sample_submission)
    frame = _read_csv(Path(csv_path), PREDICT_HINT)
    name = sample.path.name
    header = tuple(str(c).strip() for c in frame.columns)
    if header != sample.header:
        raise DataError(
            f"{csv_path} has header {','.join(header)!r}, expected {','.join(sample.header)!r} "
            f"(as {name}); {PREDICT_HINT}."
        )
    if len(frame) != len(sample):
        raise DataError(f"{csv_path} has {len(frame):,} rows, {name} has {len(sample):,}; {PREDICT_HINT}.")
    ids = frame.iloc[:, 0].str.strip()
    duplicated = frame.index[ids.duplicated(keep="first")]
    if len(duplicated):
        raise DataError(f"{csv_path}: {describe_rows(duplicated, 'with duplicate ids')}; {PREDICT_HINT}.")
    missing = pd.Index(sample.ids).difference(pd.Index(ids.to_numpy(dtype=str)))
    if len(missing):
        raise DataError(f"{csv_path}: {describe_ids(missing, f'of {name} are missing')}; {PREDICT_HINT}.")
    if not (ids.to_numpy(dtype=str) == sample.ids).all():
        raise DataError(f"{csv_path} lists the right ids in another order than {name}; {PREDICT_HINT}.")
    columns = format_columns(submission, sample, classes)
    for column in columns:
        problem = _value_problem(frame[column], column, submission.predict, classes)
        if problem:
            raise DataError(f"{csv_path}: {problem}; {PREDICT_HINT}.")
    return len(frame)


def _value_problem(cells: pd.Series, column: str, predict: str, classes: Sequence[str]) -> str | None:
    """One kind of bad value in a column, with its rows and the first value, or None."""
    text = cells.str.strip()
    if predict == LABEL:
        unknown = text.index[~text.isin(list(classes))]
        return _rows(unknown, text, "with a label that is not a class") if len(unknown) else None
    numbers = pd.to_numeric(text, errors="coerce")
    not_numbers = text.index[numbers.isna() | ~np.isfinite(numbers.to_numpy(dtype=np.float64))]
    if len(not_numbers):
        return _rows(not_numbers, text, f"whose {column!r} is not a finite number")
    outside = text.index[(numbers < 0) | (numbers > 1)]
    if len(outside):
        return _rows(outside, text, f"whose {column!r} is outside [0, 1]")
    return None


def _rows(lines: pd.Index, text: pd.Series, what: str) -> str:
    return f"{describe_rows(lines, what)}, e.g. {text[lines[0]]!r}"


def describe_ids(ids: Sequence[str] | pd.Index, what: str) -> str:
    """'2 ids of sampleSubmission.csv are missing: 7, 12': ids as text, in natural order."""
    ordered = sorted((str(i) for i in ids), key=natural_key)
    shown = ", ".join(ordered[:5])
    more = f", … {len(ordered) - 5} more" if len(ordered) > 5 else ""
    return f"{len(ordered)} ids {what}: {shown}{more}"


def natural_key(value: str) -> tuple[int, int, str]:
    """Numbers by value, then every other id as text."""
    return (0, int(value), "") if value.isdigit() else (1, 0, value)


def submission_format_of(record: dict[str, Any], paths: CompetitionPaths | None = None) -> SubmissionFormat:
    """The format a prediction.json was written in (records from before specs: the spec's, else label)."""
    saved = record.get("submission")
    if isinstance(saved, dict) and saved.get("predict"):
        return SubmissionFormat(str(saved.get("sample") or ""), str(saved["predict"]), saved.get("positive"))
    return competition_spec(paths).submission if paths is not None else LABEL_FORMAT


def validate_prediction(csv_path: Path, paths: CompetitionPaths, prediction: dict[str, Any]) -> int:
    """validate_csv against the sample of ``paths`` in the format and classes ``prediction`` recorded."""
    if not prediction.get("classes"):
        raise DataError(
            f"{prediction.get('version_id', csv_path.parent.name)}/prediction.json lists no classes; predict it again."
        )
    return validate_csv(
        csv_path, sample_submission_path(paths), prediction["classes"], submission_format_of(prediction, paths)
    )


def version_dir(submissions_dir: Path, version_id: str) -> Path:
    return Path(submissions_dir) / version_id


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


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
        raise StageNotReadyError(
            f"no prediction for {version_id} in {submissions_dir}/{listing}; run `python -m kagglekit predict` first."
        )
    return record


def write_submission(
    target: Path,
    probabilities: np.ndarray,
    classes: list[str],
    record: dict[str, Any],
    paths: CompetitionPaths,
    clip: float | None = None,
) -> Path:
    """CSV (the spec's format) + probabilities + record into ``target``, validated before they replace anything.

    ``probabilities`` (N, classes) are in the sample submission's row order;
    ``clip`` None is the metric's :func:`default_clip`.
    """
    spec = competition_spec(paths)
    sample = read_sample(sample_submission_path(paths))
    submission = spec.submission
    columns = format_columns(submission, sample, classes)
    clip = default_clip(spec.metric, len(columns)) if clip is None else clip
    partial = fresh_partial_dir(target)
    write_csv(partial / CSV, sample, submission, probabilities, classes, clip)
    validate_csv(partial / CSV, sample, classes, submission)
    np.save(partial / PROBABILITIES, probabilities)
    write_json(
        partial / PREDICTION,
        {
            **record,
            "classes": list(classes),
            "rows": len(sample),
            "submission": {
                "sample": sample.path.name,
                "predict": submission.predict,
                "positive": submission.positive,
                "columns": list(sample.header),
            },
            "metric": spec.metric.name,
            "higher_is_better": spec.metric.higher_is_better,
            "probability_clip": clip or None,
            "csv_sha256": sha256_of(partial / CSV),
            "sample_submission_sha256": sha256_of(sample.path),
            "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
        },
    )
    replace_keeping_records(partial, target)
    if in_kaggle_notebook() and kaggle_working().is_dir():
        shutil.copyfile(target / CSV, kaggle_working() / CSV)  # what "Submit to competition" picks up
    return target / CSV
