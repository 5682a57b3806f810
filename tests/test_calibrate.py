"""Temperature scaling: the fitted temperature undoes a known distortion and never moves a prediction."""

from __future__ import annotations

import numpy as np
import pytest

from kagglekit.training.calibrate import fit_temperature, log_loss_at, logits_of, with_temperature


def calibrated_sample(n: int = 20_000, classes: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Logits and labels drawn from those very logits' softmax: calibrated at temperature 1 by construction."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 2.5, size=(n, classes))
    probabilities = with_temperature(logits, 1.0).astype(np.float64)
    truth = (rng.random(n)[:, None] > probabilities.cumsum(axis=1)).sum(axis=1)
    return logits, np.minimum(truth, classes - 1)


@pytest.mark.parametrize("distortion", [0.3, 1.0, 4.0])
def test_the_fit_recovers_the_factor_the_logits_were_scaled_by(distortion: float) -> None:
    logits, truth = calibrated_sample()
    fitted = fit_temperature(logits * distortion, truth)
    assert fitted == pytest.approx(distortion, rel=0.06)
    assert log_loss_at(logits * distortion, truth, fitted) <= log_loss_at(logits * distortion, truth, 1.0)


def test_label_smoothings_capped_confidence_is_sharpened_without_moving_any_argmax() -> None:
    logits, truth = calibrated_sample(classes=2)
    timid = with_temperature(logits, 3.0)  # what a smoothed model says: right, but never sure
    temperature = fit_temperature(logits_of(timid), truth)
    sharpened = with_temperature(logits_of(timid), temperature)
    assert temperature < 1
    assert (sharpened.argmax(axis=1) == timid.argmax(axis=1)).all()
    assert log_loss_at(logits_of(sharpened), truth, 1.0) < log_loss_at(logits_of(timid), truth, 1.0) - 0.05


def test_an_empty_split_leaves_the_logits_as_they_are() -> None:
    assert fit_temperature(np.zeros((0, 2)), np.zeros(0, dtype=np.int64)) == 1.0
