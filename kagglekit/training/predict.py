"""predict: every test image through a trained run, into a validated submission.

The test pixels are read from the uint8 cache that `unpack` keeps, in its own
(sequential) order and one batch at a time, so memory stays bounded whatever
the test set's size: at most one batch is ever float32. Each batch's
probabilities are scattered straight to their row in the sample submission's
order, and written in the competition's submission format (its spec's: one
label, one probability or one per class). Outputs are written under
``.partial`` names and moved into place only after the CSV has passed
`validate_csv`.

Beside the test set, predict measures the run's validation split the very way
it predicted the test images (the same TTA views, the same TTA budget, format
and clip) in the competition's metric: prediction.json's ``val_score``, the figure
`compare` sets beside the leaderboard score. An all-data run has no split: its
``val_score`` is null.

The TTA budget (``runs.Run.predict_spending``) is a share of the images fixed
before the first view, so the progress bar's total is known when it starts and
never grows; prediction.json says what the budget bought (``tta_images``,
``tta_views``, ``tta_cutoff``) on the test set and on the validation split.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from kagglekit.data.pipeline import load_cache
from kagglekit.data.unpack import unpack_at_size
from kagglekit.exceptions import DataError, StageNotReadyError
from kagglekit.jsonfiles import read_json_if_present
from kagglekit.paths import CompetitionPaths
from kagglekit.submissions.formats import (
    CSV,
    PREDICTION,
    competition_spec,
    read_sample,
    sample_submission_path,
    sha256_of,
    submission_format_of,
    version_dir,
    write_submission,
)
from kagglekit.training.evaluate import score_validation, submission_clip, validation_split
from kagglekit.training.models import ALL_DATA
from kagglekit.training.runs import DEFAULT_TTA_BUDGET, Run, TtaSpend, budget_for, load_run, planned_views

DEFAULT_BATCH_SIZE = 512  # images per step: 6 MB of float32, big enough to keep BLAS busy
NOT_SCORED = {"val_score": None, "val_accuracy_predicted": None, "val_images": None, "val_tta_images": None}


@dataclass(frozen=True)
class PredictionSummary:
    version_id: str
    csv: Path
    rows: int
    seconds: float
    images_per_second: float
    spend: TtaSpend | None = None  # None for a prediction skipped as already complete
    skipped: bool = False


def test_pixels(paths: CompetitionPaths) -> tuple[np.ndarray, np.ndarray]:
    """The memory-mapped test cache and its ids (at a version's own size, built from raw/ first if need be);
    says which stage to run if absent."""
    unpack_at_size(paths, "test")
    if not paths.unpacked_marker("test").is_file():
        raise StageNotReadyError(
            f"the test images are not unpacked; run `python -m kagglekit unpack --data-dir {paths.data_dir}` first."
        )
    return load_cache(paths, "test")


def rows_in_sample_order(cache_ids: np.ndarray, sample_ids: np.ndarray) -> np.ndarray:
    """For each cache row, its row in the sample submission (both hold the same ids, as strings; unpack checked)."""
    cache_ids, sample_ids = np.asarray(cache_ids).astype(str), np.asarray(sample_ids).astype(str)
    order = np.argsort(sample_ids, kind="stable")
    positions = np.searchsorted(sample_ids, cache_ids, sorter=order)
    positions = order[np.clip(positions, 0, len(order) - 1)]
    if not np.array_equal(sample_ids[positions], cache_ids):
        raise DataError(
            "the test cache and the sample submission hold different ids; run `python -m kagglekit unpack --force`."
        )
    return positions


def predict_probabilities(
    run: Run, pixels: np.ndarray, tta: str, batch_size: int, progress: bool, budget: float
) -> tuple[np.ndarray, TtaSpend]:
    """float16 (N, classes) in cache order, and what the budget bought; the memory map is read one batch at a time.

    The bar's total is every view the budget allows, counted before the first; each view's last batch
    counts only the images it holds, so the bar ends exactly at its total.
    """
    import keras

    total = planned_views(len(pixels), tta, budget)
    bar = tqdm(total=total, unit="img", desc=f"predict {run.version_id}", disable=not progress, mininterval=0.5)
    left_in_view = [0]

    def starting(images: int) -> None:
        left_in_view[0] = images

    class Progress(keras.callbacks.Callback):
        def on_predict_batch_end(self, batch: int, logs: dict | None = None) -> None:
            step = min(batch_size, left_in_view[0])
            left_in_view[0] -= step
            bar.update(step)

    with bar:
        probabilities, spend = run.predict_spending(
            pixels, tta=tta, batch_size=batch_size, callbacks=[Progress()], budget=budget, on_view=starting
        )
    return probabilities.astype(np.float16), spend


def predict_submission(
    run_dir: Path,
    paths: CompetitionPaths,
    submissions_dir: Path,
    tta: str | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: bool = True,
    force: bool = False,
    precision: str = "auto",
    budget: float = DEFAULT_TTA_BUDGET,
    validate: bool = True,
) -> PredictionSummary:
    """``tta`` None = the test-time augmentation the run's recipe was measured with; ``budget`` the share of the
    images that get its views after the first (Run.predict_spending); ``validate=False`` leaves the validation
    split unscored (an offline kernel has only the test images)."""
    started = time.perf_counter()
    run = load_run(run_dir, precision)
    tta = run.tta_or_default(tta)
    budget = budget_for(tta, budget)
    existing = _existing_prediction(version_dir(submissions_dir, run.version_id), run, tta, budget, paths)
    if existing and not force:
        return existing
    spec = competition_spec(paths)
    pixels, cache_ids = test_pixels(paths.at_size(run.image_size))
    sample_ids = read_sample(sample_submission_path(paths)).ids
    targets = rows_in_sample_order(cache_ids, sample_ids)

    probabilities = np.empty((len(sample_ids), len(run.classes)), dtype=np.float16)
    probabilities[targets], spend = predict_probabilities(run, pixels, tta, batch_size, progress, budget)
    seconds = time.perf_counter() - started
    clip = submission_clip(spec, run.classes)
    validation = validation_record(run, paths, tta, budget, clip) if validate else NOT_SCORED
    record = {
        "version": run.version,
        "version_id": run.version_id,
        "run_dir": str(run.dir),
        "competition": paths.slug,
        "tta": recorded_tta(tta),
        **spend_record(spend),
        "precision": run.compute_precision().policy,
        "parameters": int(run.model.count_params()),
        "epochs": run.metrics.get("epochs"),
        "training_seconds": run.metrics.get("training_seconds"),
        "val_accuracy": run.metrics.get("best_val_accuracy"),
        "device": run.metrics.get("device"),
        "data_fingerprint": run.config.get("data", {}).get("fingerprint"),
        **validation,
        "predict_seconds": round(seconds, 2),
        "images_per_second": round(len(sample_ids) / seconds, 1),
    }
    target = version_dir(submissions_dir, run.version_id)
    csv = write_submission(target, probabilities, run.classes, record, paths, clip=clip)
    return PredictionSummary(run.version_id, csv, len(sample_ids), seconds, len(sample_ids) / seconds, spend)


def spend_record(spend: TtaSpend) -> dict[str, float | int | None]:
    """prediction.json's account of the budget: the share allowed, the images and views it bought, the cut-off."""
    cutoff = None if spend.cutoff is None else round(spend.cutoff, 6)
    return {"tta_budget": spend.budget, "tta_images": spend.images, "tta_views": spend.views, "tta_cutoff": cutoff}


def validation_record(
    run: Run, paths: CompetitionPaths, tta: str, budget: float, clip: float
) -> dict[str, float | int | None]:
    """prediction.json's validation fields: the split scored in the competition's metric as the test set was predicted.

    ``val_score`` is the metric, ``val_accuracy_predicted`` plain accuracy, both with predict's own
    TTA views and budget (``val_tta_images`` got the extra views); null for an all-data run (no split).
    """
    if run.config["recipe"].get(ALL_DATA):
        return NOT_SCORED
    measured = score_validation(run, competition_spec(paths), validation_split(run, paths)[1], tta, budget, clip)
    return {
        "val_score": measured.score,
        "val_accuracy_predicted": measured.accuracy,
        "val_images": measured.images,
        "val_tta_images": measured.spend.images,
    }


def recorded_tta(tta: str) -> str | None:
    """How prediction.json names a TTA mode: null for none, as ensembles and older records have it."""
    return None if tta == "none" else tta


def _existing_prediction(
    target: Path, run: Run, tta: str, budget: float, paths: CompetitionPaths
) -> PredictionSummary | None:
    """The finished prediction of this very run, TTA, format and test set, if there is one."""
    spec, sample = competition_spec(paths), sample_submission_path(paths)
    record = read_json_if_present(target / PREDICTION)
    same = (
        record.get("run_dir") == str(run.dir)
        and record.get("tta") == recorded_tta(tta)
        and record.get("tta_budget") == budget
        and record.get("metric", "accuracy") == spec.metric.name  # records from before specs scored accuracy
        and submission_format_of(record).predict == spec.submission.predict
        and sample.is_file()  # else not this test set: the stages below say what to run
        and record.get("sample_submission_sha256") == sha256_of(sample)
        and (target / CSV).is_file()
        and sha256_of(target / CSV) == record.get("csv_sha256")
    )
    return PredictionSummary(run.version_id, target / CSV, record["rows"], 0.0, 0.0, skipped=True) if same else None
