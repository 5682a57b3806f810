"""How the local server reads a competition's answers and scores a submission, as Kaggle does.

A competition is scored in one metric of :mod:`kagglekit.competitions.metrics`,
on the submission format that metric implies (one label, the probability of one
class, or one probability per class). A submission must have the sample
submission's columns (by name; Kaggle does not mind their order) and every
solution id exactly once; anything else is refused with an ``ERROR: ...`` line
in Kaggle's words, which the server shows as the submission's error.

solution.csv, the answers (see the server's docstring): two columns, read by
position, header ``<sample's id column>,<answer>``, one row per test id::

    label          id,label          the true class name          (cifar-10: 1,frog)
    probability    id,label          1 for the positive class, 0  (dogs-vs-cats: 1,1)
                                     otherwise; or the true class (dogs-vs-cats: 1,dog)
                                     name, 1 where it is the
                                     spec's positive class
    probabilities  id,label          the true class name, one of   (dog breeds: 000bec1,beagle)
                                     the sample's value columns

The answer column's name is the sample's value column for label and
probability, and ``label`` for probabilities (any name is accepted: only the
position counts). A third column, ``Usage`` as in Kaggle's own solution files,
may mark rows ``Ignored``: ids a submission must still hold but that count in
neither score, as Kaggle's cifar-10 scores 10,000 of its 300,000 test images.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import math
from typing import Sequence

import numpy as np

from kagglekit.competitions.metrics import LABEL, PROBABILITIES, PROBABILITY, Metric
from kagglekit.exceptions import DataError

# What GetCompetition calls each metric (Kaggle's display names, as the spec drafter reads them).
KAGGLE_METRIC_NAMES = {
    "accuracy": "Categorization Accuracy",
    "micro-f1": "Mean F-Score",
    "binary-log-loss": "Log Loss",
    "multiclass-log-loss": "Multi Class Log Loss",
    "roc-auc": "Area Under Receiver Operating Characteristic Curve",
}
MAX_VALUES_SHOWN = 5
IGNORED = "Ignored"  # a solution row's Usage when the id is submitted but not scored


class SubmissionRefused(Exception):
    """A submission Kaggle would not score; ``str()`` is the error Kaggle shows."""


@dataclasses.dataclass(frozen=True)
class Scoring:
    """What a submission must look like and how it is scored."""

    metric: Metric
    header: tuple[str, ...]  # the sample submission's columns, id first
    classes: tuple[str, ...] | None  # label: the labels allowed (None: any); probabilities: header[1:]
    answers: dict[str, str]  # id -> the solution's answer (see the module docstring)
    ignored: frozenset[str] = frozenset()  # ids a submission must hold that no score counts

    @property
    def predict(self) -> str:
        return self.metric.predicts

    @property
    def id_column(self) -> str:
        return self.header[0]

    @property
    def value_columns(self) -> tuple[str, ...]:
        return self.header[1:]


def read_solution(data: bytes, where: str = "solution.csv") -> tuple[tuple[str, ...], dict[str, str], frozenset[str]]:
    """The solution's header, its answers by id and its ignored ids; ValueError for one that cannot be a solution."""
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    header = tuple(h.strip() for h in (rows[0] if rows else []))
    if len(header) == 3 and header[2] == "Usage":
        header = header[:2]
    elif len(header) != 2:
        raise ValueError(
            f"{where} has header {','.join(header)!r}: expected two columns, the id and the answer (and Usage)"
        )
    answers: dict[str, str] = {}
    ignored: set[str] = set()
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(rows[0]):
            raise ValueError(f"{where} line {line} has {len(row)} columns, expected {len(rows[0])}")
        image_id, answer = row[0].strip(), row[1].strip()
        if image_id in answers or image_id in ignored:
            raise ValueError(f"{where} line {line} repeats id {image_id!r}")
        if len(row) == 3 and row[2].strip() == IGNORED:
            ignored.add(image_id)
        else:
            answers[image_id] = answer
    if not answers:
        raise ValueError(f"{where} holds no answers")
    return header, answers, frozenset(ignored)


def make_scoring(
    metric: Metric,
    solution: bytes,
    sample: bytes | None,
    classes: Sequence[str] | None,
    where: str = "solution.csv",
    positive: str | None = None,
) -> Scoring:
    """Scoring for ``metric``: the columns from the sample (else the solution's), answers checked against them.

    ``positive``: for one probability column, the class it is the probability of,
    so that a solution may name each image's class instead of giving 1 or 0.
    """
    solution_header, answers, ignored = read_solution(solution, where)
    if metric.predicts == PROBABILITY and positive is not None:
        named = classes if classes else None
        answers = {
            i: "1" if a == positive else a if a in ("0", "1") or (named is not None and a not in named) else "0"
            for i, a in answers.items()
        }
    if sample is not None:
        header = tuple(h.strip() for h in next(csv.reader(io.StringIO(sample.decode("utf-8-sig"))), []))
    elif metric.predicts == PROBABILITIES:
        raise ValueError(
            "a competition scored on one probability per class needs its sample submission, "
            "whose header names the classes"
        )
    else:
        header = solution_header
    if len(header) < 2 or (metric.predicts != PROBABILITIES and len(header) != 2):
        raise ValueError(
            f"the sample submission's header {','.join(header)!r} does not fit {metric.name}, "
            f"which scores {metric.predicts}"
        )
    allowed: tuple[str, ...] | None
    if metric.predicts == PROBABILITIES:
        allowed = header[1:]
    elif metric.predicts == PROBABILITY:
        allowed = ("0", "1")
    else:
        allowed = tuple(classes) if classes else None
    if allowed is not None:
        wrong = sorted({a for a in answers.values() if a not in allowed})
        if wrong:
            raise ValueError(
                f"{where} answers {', '.join(map(repr, wrong[:MAX_VALUES_SHOWN]))}, which "
                f"{metric.name} cannot score: expected one of {', '.join(allowed[:12])}"
            )
    kept = allowed if metric.predicts != PROBABILITY else None
    return Scoring(metric, header, kept, answers, ignored)


def score(data: bytes, scoring: Scoring, public_ids: frozenset[str]) -> tuple[float, float]:
    """(public, private) scores of a submission; SubmissionRefused with Kaggle's message otherwise."""
    predicted = read_submission(data, scoring)
    private_ids = scoring.answers.keys() - public_ids
    return _score_on(sorted(public_ids), predicted, scoring), _score_on(sorted(private_ids), predicted, scoring)


def _score_on(ids: list[str], predicted: dict[str, tuple], scoring: Scoring) -> float:
    if not ids:
        return 0.0
    answers = [scoring.answers[i] for i in ids]
    if scoring.predict == LABEL:
        truth, values = np.asarray(answers), np.asarray([predicted[i][0] for i in ids])
    elif scoring.predict == PROBABILITY:
        truth = np.asarray([int(a) for a in answers])
        values = np.asarray([predicted[i][0] for i in ids], dtype=np.float64)
    else:
        classes = list(scoring.value_columns)
        truth = np.asarray([classes.index(a) for a in answers], dtype=np.int64)
        values = np.asarray([predicted[i] for i in ids], dtype=np.float64)
    try:
        return float(scoring.metric(truth, values))
    except DataError as error:
        raise SubmissionRefused(f"ERROR: {error}") from None


def read_submission(data: bytes, scoring: Scoring) -> dict[str, tuple]:
    """id -> its values (labels as text; probabilities as floats, in the sample's value-column order)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SubmissionRefused("ERROR: The submission file is not valid UTF-8 text") from None
    try:
        rows = csv.reader(io.StringIO(text))
        header = [h.strip() for h in next(rows, [])]
        positions = _column_positions(header, scoring)
        predicted: dict[str, tuple] = {}
        id_position = positions[0]
        for line, row in enumerate(rows, start=2):
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                raise SubmissionRefused(f"ERROR: Record {line - 1} had {len(row)} columns but expected {len(header)}")
            image_id = row[id_position].strip()
            if image_id in predicted:
                raise SubmissionRefused(
                    f"ERROR: Duplicate value '{image_id}' found in column '{scoring.id_column}' "
                    f"(Line {line}, Column {id_position + 1})"
                )
            predicted[image_id] = tuple(_value(row[p].strip(), scoring, header[p], line, p + 1) for p in positions[1:])
    except csv.Error as error:
        raise SubmissionRefused(f"ERROR: The submission is not a valid CSV file ({error})") from None
    _check_ids(predicted, scoring)
    return predicted


def _column_positions(header: list[str], scoring: Scoring) -> list[int]:
    """Where each expected column is in ``header``; Kaggle's error for a missing, unexpected or repeated one."""
    for position, name in enumerate(header):
        if header.index(name) != position:
            raise SubmissionRefused(f"ERROR: Duplicate column '{name}' (Line 1, Column {position + 1})")
    for name in scoring.header:
        if name not in header:
            raise SubmissionRefused(
                f"ERROR: Required column '{name}' could not be found; the submission's header "
                f"must be {','.join(scoring.header)}"
            )
    for position, name in enumerate(header):
        if name not in scoring.header:
            raise SubmissionRefused(f"ERROR: Unexpected column '{name}' (Line 1, Column {position + 1})")
    return [header.index(name) for name in scoring.header]


def _value(cell: str, scoring: Scoring, column: str, line: int, position: int) -> str | float:
    where = f"(Line {line}, Column {position})"
    if scoring.predict == LABEL:
        if scoring.classes is not None and cell not in scoring.classes:
            raise SubmissionRefused(
                f"ERROR: Unexpected value '{cell}' found in column '{column}' {where}: expected "
                f"one of {', '.join(scoring.classes[:12])}"
            )
        return cell
    try:
        number = float(cell)
    except ValueError:
        raise SubmissionRefused(f"ERROR: Could not parse '{cell}' into expected type of Double {where}") from None
    if not math.isfinite(number):
        raise SubmissionRefused(f"ERROR: Value '{cell}' in column '{column}' is not a finite number {where}")
    if not 0.0 <= number <= 1.0:
        raise SubmissionRefused(
            f"ERROR: Value '{cell}' in column '{column}' is outside the allowed range [0, 1] "
            f"{where}: submit probabilities"
        )
    return number


def _check_ids(predicted: dict[str, tuple], scoring: Scoring) -> None:
    missing = (scoring.answers.keys() | scoring.ignored) - predicted.keys()
    if missing:
        raise SubmissionRefused(
            f"ERROR: Submission is missing {len(missing)} ids in column '{scoring.id_column}' "
            f"(e.g. '{min(missing, key=_natural_key)}')"
        )
    extra = predicted.keys() - scoring.answers.keys() - scoring.ignored
    if extra:
        raise SubmissionRefused(
            f"ERROR: Submission has {len(extra)} unexpected ids in column '{scoring.id_column}' "
            f"(e.g. '{min(extra, key=_natural_key)}')"
        )


def _natural_key(value: str) -> tuple[int, int, str]:
    return (0, int(value), "") if value.isdigit() else (1, 0, value)


def better(a: float, b: float, metric: Metric) -> bool:
    """Whether score ``a`` beats ``b`` in ``metric``'s direction."""
    return a > b if metric.higher_is_better else a < b
