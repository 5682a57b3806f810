"""The metrics Kaggle scores image classification with, computed as Kaggle computes them, in numpy.

A competition spec names its metric (``metric = "accuracy"``); :func:`get_metric`
turns the name into a :class:`Metric`: the function, its direction, a short
title for table headers, and what a submission must predict for it (one label,
the probability of one class, or one probability per class). Every function
checks its inputs and reports a problem as one :class:`DataError` line: a NaN
or a probability outside [0, 1] would otherwise give a plausible-looking score.

Kaggle's own conventions, followed here:

* log losses clip each probability to [1e-15, 1 - 1e-15], so one confident
  mistake costs ln(1e15) ≈ 34.5 instead of infinity;
* multi-class log loss then rescales each row to sum to 1, so a submission need
  not be normalised;
* ROC AUC is the Mann-Whitney statistic: the chance that a random positive is
  ranked above a random negative, ties counted as half.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from kagglekit.exceptions import DataError, UsageError

EPSILON = 1e-15  # Kaggle's clip for log losses

# What a metric scores, and so what one submission row must predict.
LABEL = "label"  # one class label per image
PROBABILITY = "probability"  # the probability of one (positive) class per image
PROBABILITIES = "probabilities"  # one probability per class per image


# -- validation ------------------------------------------------------------------


def _one_dimensional(values: Any, what: str) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1:
        raise DataError(f"{what} must be one value per image (1-D), got shape {array.shape}")
    if array.size == 0:
        raise DataError(f"{what} is empty: a metric needs at least one image")
    return array


def _same_length(truth: np.ndarray, predicted: np.ndarray) -> None:
    if len(truth) != len(predicted):
        raise DataError(f"{len(truth)} true labels but {len(predicted)} predictions: they must pair up, one per image")


def _probabilities(values: Any, what: str, ndim: int) -> np.ndarray:
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise DataError(f"{what} must be numbers in [0, 1]") from None
    if array.ndim != ndim:
        shape = "one per image (1-D)" if ndim == 1 else "one row per image, one column per class (2-D)"
        raise DataError(f"{what} must be {shape}, got shape {array.shape}")
    if array.size == 0:
        raise DataError(f"{what} is empty: a metric needs at least one image")
    if np.isnan(array).any():
        raise DataError(f"{what} holds {int(np.isnan(array).sum())} NaN values: every probability must be a number")
    outside = (array < 0) | (array > 1)
    if outside.any():
        first = array[outside].flat[0]
        raise DataError(f"{what} holds {int(outside.sum())} values outside [0, 1] (e.g. {first:g}): probabilities only")
    return array


def _binary_truth(values: Any) -> np.ndarray:
    truth = _one_dimensional(values, "the true labels")
    try:
        as_float = truth.astype(np.float64)
    except (TypeError, ValueError):
        raise DataError("the true labels of a binary metric must be 0 or 1") from None
    if not np.isin(as_float, (0.0, 1.0)).all():
        raise DataError(
            "the true labels of a binary metric must be 0 or 1 "
            f"(found {sorted(set(as_float[~np.isin(as_float, (0.0, 1.0))].tolist()))[:3]})"
        )
    return as_float.astype(np.int8)


# -- the metrics -------------------------------------------------------------------


def accuracy(truth: Sequence[Any], predicted: Sequence[Any]) -> float:
    """The share of images whose predicted label is the true one (Kaggle's "categorization accuracy")."""
    truth, predicted = _one_dimensional(truth, "the true labels"), _one_dimensional(predicted, "the predictions")
    _same_length(truth, predicted)
    return float(np.mean(truth == predicted))


def micro_f1(truth: Sequence[Any], predicted: Sequence[Any]) -> float:
    """F1 of the true and false positives and false negatives summed over every class.

    With one label per image each mistake is one false positive (for the class
    predicted) and one false negative (for the true class), so this equals
    accuracy; it is counted here from its definition all the same.
    """
    truth, predicted = _one_dimensional(truth, "the true labels"), _one_dimensional(predicted, "the predictions")
    _same_length(truth, predicted)
    true_positives = false_positives = false_negatives = 0
    for label in np.union1d(truth, predicted):
        is_true, is_predicted = truth == label, predicted == label
        true_positives += int(np.sum(is_true & is_predicted))
        false_positives += int(np.sum(~is_true & is_predicted))
        false_negatives += int(np.sum(is_true & ~is_predicted))
    return 2 * true_positives / (2 * true_positives + false_positives + false_negatives)


def binary_log_loss(truth: Sequence[Any], probability: Sequence[float]) -> float:
    """Mean of -ln p (for a positive) and -ln(1 - p) (for a negative), p clipped to [1e-15, 1 - 1e-15]."""
    truth = _binary_truth(truth)
    p = np.clip(_probabilities(probability, "the predicted probabilities", ndim=1), EPSILON, 1 - EPSILON)
    _same_length(truth, p)
    return float(-np.mean(np.where(truth == 1, np.log(p), np.log1p(-p))))


def multiclass_log_loss(truth: Sequence[int], probabilities: Any) -> float:
    """Mean -ln of the true class's probability, after clipping to [1e-15, 1 - 1e-15] and rescaling rows to sum 1.

    ``truth`` holds class indices: column ``k`` of ``probabilities`` is class ``k``.
    """
    p = _probabilities(probabilities, "the predicted probabilities", ndim=2)
    index = _one_dimensional(truth, "the true labels")
    _same_length(index, p)
    if not np.issubdtype(index.dtype, np.integer):
        raise DataError(
            f"the true labels of multi-class log loss must be class indices (integers), got {index.dtype} values"
        )
    if index.min() < 0 or index.max() >= p.shape[1]:
        raise DataError(
            f"the true labels must be class indices 0..{p.shape[1] - 1} (one per probability column), "
            f"found {int(index.min())}..{int(index.max())}"
        )
    p = np.clip(p, EPSILON, 1 - EPSILON)
    p = p / p.sum(axis=1, keepdims=True)
    return float(-np.mean(np.log(p[np.arange(len(index)), index])))


def roc_auc(truth: Sequence[Any], score: Sequence[float]) -> float:
    """Area under the ROC curve from ranks: P(a random positive scores above a random negative), ties as half."""
    truth = _binary_truth(truth)
    score = _probabilities(score, "the predicted probabilities", ndim=1)
    _same_length(truth, score)
    positives = int(truth.sum())
    negatives = len(truth) - positives
    if positives == 0 or negatives == 0:
        raise DataError(
            f"ROC AUC needs both classes among the true labels ({positives} positives, {negatives} negatives)"
        )
    ranks = _average_ranks(score)
    return float((ranks[truth == 1].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def _average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks, each run of equal values given the mean of the ranks it spans."""
    order = np.argsort(values, kind="mergesort")
    ordered = values[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    ends = np.r_[starts[1:], len(values)]  # one past each run
    mean_rank = (starts + 1 + ends) / 2  # mean of the 1-based ranks start+1 .. end
    ranks = np.empty(len(values))
    ranks[order] = np.repeat(mean_rank, ends - starts)
    return ranks


# -- the registry --------------------------------------------------------------------


@dataclass(frozen=True)
class Metric:
    """One metric: what a spec calls it, how it is shown, which way is better, and what it scores."""

    name: str  # the spec's word for it
    title: str  # short, for table headers
    higher_is_better: bool
    predicts: str  # LABEL, PROBABILITY or PROBABILITIES: what each submission row holds
    function: Callable[..., float]

    @property
    def direction(self) -> str:
        return "higher is better" if self.higher_is_better else "lower is better"

    def __call__(self, truth: Any, predicted: Any) -> float:
        return self.function(truth, predicted)


METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("accuracy", "accuracy", True, LABEL, accuracy),
        Metric("micro-f1", "micro-F1", True, LABEL, micro_f1),
        Metric("binary-log-loss", "log loss", False, PROBABILITY, binary_log_loss),
        Metric("multiclass-log-loss", "multi-class log loss", False, PROBABILITIES, multiclass_log_loss),
        Metric("roc-auc", "ROC AUC", True, PROBABILITY, roc_auc),
    )
}


def get_metric(name: str) -> Metric:
    """The metric called ``name``, or a UsageError listing the names there are."""
    try:
        return METRICS[name]
    except KeyError:
        raise UsageError(f"unknown metric {name!r}: kagglekit computes {', '.join(METRICS)}") from None
