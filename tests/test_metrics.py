"""kagglekit.competitions.metrics against hand-computed values and the identities each metric must keep."""

from __future__ import annotations

import math

import numpy as np
import pytest

from kagglekit.competitions import metrics
from kagglekit.competitions.metrics import (
    accuracy,
    binary_log_loss,
    get_metric,
    micro_f1,
    multiclass_log_loss,
    roc_auc,
)
from kagglekit.exceptions import DataError, UsageError


def test_accuracy_counts_matches_of_any_label_type():
    assert accuracy(["cat", "dog", "cat", "frog"], ["cat", "cat", "cat", "frog"]) == 0.75
    assert accuracy(np.array([1, 2, 3]), np.array([1, 2, 3])) == 1.0
    assert accuracy(["a"], ["b"]) == 0.0


def test_micro_f1_by_hand_and_equal_to_accuracy_for_one_label_per_image():
    truth = ["a", "a", "b", "c", "c", "c"]
    predicted = ["a", "b", "b", "c", "a", "c"]
    # per class (tp, fp, fn): a (1, 1, 1), b (1, 1, 0), c (2, 0, 1) -> tp 4, fp 2, fn 2 -> 8 / 12
    assert micro_f1(truth, predicted) == pytest.approx(8 / 12)
    rng = np.random.default_rng(0)
    for _ in range(20):
        t, p = rng.integers(0, 5, 50), rng.integers(0, 5, 50)
        assert micro_f1(t, p) == pytest.approx(accuracy(t, p))


def test_binary_log_loss_by_hand():
    assert binary_log_loss([0, 1, 1, 0], [0.5] * 4) == pytest.approx(math.log(2))
    expected = -(math.log(0.9) + math.log(1 - 0.2) + math.log(0.6)) / 3
    assert binary_log_loss([1, 0, 1], [0.9, 0.2, 0.6]) == pytest.approx(expected)


def test_binary_log_loss_clips_as_kaggle_does():
    # one certain mistake costs -ln(1e-15), not infinity; a certain hit costs -ln(1 - 1e-15), not 0 exactly
    assert binary_log_loss([1], [0.0]) == pytest.approx(-math.log(1e-15))
    assert binary_log_loss([0, 1], [0.0, 1.0]) == pytest.approx(-math.log1p(-1e-15))


def test_multiclass_log_loss_by_hand_and_rescaled_rows():
    p = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]])
    assert multiclass_log_loss([0, 2], p) == pytest.approx(-(math.log(0.7) + math.log(0.8)) / 2)
    # rows need not sum to 1: Kaggle rescales them first, so doubling a row changes nothing
    assert multiclass_log_loss([0, 2], p * 0.5) == pytest.approx(multiclass_log_loss([0, 2], p))
    uniform = np.full((4, 120), 1 / 120)
    assert multiclass_log_loss([0, 5, 119, 7], uniform) == pytest.approx(math.log(120))


def test_multiclass_log_loss_clips_before_rescaling():
    # [1, 0] for true class 1: 0 is clipped to 1e-15, the row rescaled by 1 / (1 + 1e-15 - 1e-15 ...)
    p = np.array([[1.0, 0.0]])
    clipped = np.clip(p, 1e-15, 1 - 1e-15)
    expected = -math.log(clipped[0, 1] / clipped.sum())
    assert multiclass_log_loss([1], p) == pytest.approx(expected)
    assert multiclass_log_loss([1], p) == pytest.approx(34.538776, rel=1e-6)


def test_roc_auc_identities():
    truth = [0, 0, 1, 1, 0, 1]
    perfect = [0.1, 0.2, 0.8, 0.9, 0.3, 0.7]
    assert roc_auc(truth, perfect) == 1.0
    assert roc_auc(truth, [1 - s for s in perfect]) == 0.0
    assert roc_auc(truth, [0.5] * 6) == 0.5


def test_roc_auc_by_hand_with_ties():
    # positives score 0.8 and 0.4; negatives 0.4 and 0.2. Pairs (pos, neg): (0.8, 0.4) 1, (0.8, 0.2) 1,
    # (0.4, 0.4) a tie: 1/2, (0.4, 0.2) 1 -> 3.5 / 4
    assert roc_auc([1, 0, 1, 0], [0.8, 0.4, 0.4, 0.2]) == pytest.approx(0.875)
    rng = np.random.default_rng(1)
    truth, score = rng.integers(0, 2, 200), rng.integers(0, 5, 200) / 4  # many ties
    pairs = [(s_p > s_n) + 0.5 * (s_p == s_n) for s_p in score[truth == 1] for s_n in score[truth == 0]]
    assert roc_auc(truth, score) == pytest.approx(np.mean(pairs))


def test_average_ranks():
    assert metrics._average_ranks(np.array([0.3, 0.1, 0.3, 0.2, 0.3])).tolist() == [4.0, 1.0, 4.0, 2.0, 4.0]


@pytest.mark.parametrize(
    "call, fragment",
    [
        (lambda: binary_log_loss([0, 1], [0.5, 1.5]), "outside [0, 1]"),
        (lambda: binary_log_loss([0, 1], [0.5, float("nan")]), "NaN"),
        (lambda: binary_log_loss([0, 2], [0.5, 0.5]), "must be 0 or 1"),
        (lambda: binary_log_loss([0, 1, 1], [0.5, 0.5]), "3 true labels but 2 predictions"),
        (lambda: roc_auc([1, 1], [0.5, 0.6]), "both classes"),
        (lambda: roc_auc([0, 1], [[0.5, 0.5], [0.5, 0.5]]), "1-D"),
        (lambda: multiclass_log_loss([0, 1], [0.5, 0.5]), "2-D"),
        (lambda: multiclass_log_loss([0, 3], [[0.5, 0.5], [0.5, 0.5]]), "class indices 0..1"),
        (lambda: multiclass_log_loss(["a", "b"], [[0.5, 0.5], [0.5, 0.5]]), "class indices"),
        (lambda: multiclass_log_loss([0], [[-0.1, 1.1]]), "outside [0, 1]"),
        (lambda: accuracy([], []), "empty"),
        (lambda: accuracy([[1, 2]], [[1, 2]]), "1-D"),
        (lambda: micro_f1(["a", "b"], ["a"]), "2 true labels but 1 predictions"),
    ],
)
def test_bad_inputs_are_one_line_data_errors(call, fragment):
    with pytest.raises(DataError) as raised:
        call()
    assert fragment in str(raised.value) and "\n" not in str(raised.value)


def test_registry_directions_titles_and_what_each_scores():
    assert get_metric("accuracy").higher_is_better and get_metric("roc-auc").higher_is_better
    assert not get_metric("binary-log-loss").higher_is_better
    assert get_metric("multiclass-log-loss").direction == "lower is better"
    assert get_metric("micro-f1").title == "micro-F1"
    assert {m.predicts for m in metrics.METRICS.values()} == {"label", "probability", "probabilities"}
    assert get_metric("accuracy")(["a", "b"], ["a", "a"]) == 0.5
    with pytest.raises(UsageError, match="kagglekit computes accuracy, micro-f1"):
        get_metric("rmse")
