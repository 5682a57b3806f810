"""Recompute a saved run's validation score and confusion matrix from its best model.

The score is the competition's own metric (its spec's), measured as `predict`
measures it: the same test-time views, the same TTA budget, the
submission's format and clip; plain accuracy sits beside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from kagglekit.competitions import get_spec
from kagglekit.competitions.spec import CompetitionSpec
from kagglekit.data.pipeline import SplitData, load_split
from kagglekit.exceptions import UsageError
from kagglekit.paths import CompetitionPaths
from kagglekit.submissions.formats import default_clip, score_predictions
from kagglekit.training import plots, runs
from kagglekit.training.models import ALL_DATA


@dataclass(frozen=True)
class ValidationScore:
    """The validation split predicted one way, scored in the competition's metric and in accuracy."""

    metric: str
    score: float
    accuracy: float
    images: int
    tta: str
    spend: runs.TtaSpend  # the budget and what it bought on this split
    clip: float
    predicted: np.ndarray  # class index per image, in the run's class order
    truth: np.ndarray  # class index per image, in the run's class order


def validation_split(run: runs.Run, fallback: CompetitionPaths) -> tuple[CompetitionPaths, SplitData]:
    """The split the run was trained against: its recorded data directory, else ``fallback`` (it moved)."""
    data_info = run.config["data"]
    paths = CompetitionPaths(Path(data_info["root"]).parent, data_info["competition"])
    if not paths.split_csv.exists():
        paths = fallback
    paths = paths.at_size(run.image_size)
    return paths, load_split(paths, run.config["recipe"].get("limit"))


def submission_clip(spec: CompetitionSpec, classes: list[str]) -> float:
    """The clip the submission's probabilities get (one column, or one per class)."""
    return default_clip(spec.metric, len(classes) if spec.submission.predict == "probabilities" else 1)


def score_validation(
    run: runs.Run,
    spec: CompetitionSpec,
    data: SplitData,
    tta: str,
    budget: float,
    clip: float | None = None,
) -> ValidationScore:
    """``run`` on ``data``'s validation images with predict's views, scored as the submission will be."""
    classes = list(run.classes)
    missing = sorted(set(data.classes) - set(classes))
    if missing:
        raise UsageError(
            f"the validation split has classes the run never learnt ({', '.join(missing[:5])}); "
            "evaluate it on the data it was trained on"
        )
    truth = np.asarray([classes.index(data.classes[k]) for k in data.y_valid.astype(np.int64)], dtype=np.int64)
    probabilities, spend = run.predict_spending(data.x_valid, tta=tta, budget=budget)
    clip = submission_clip(spec, classes) if clip is None else clip
    score = score_predictions(spec.metric, spec.submission, classes, truth, probabilities, clip)
    predicted = probabilities.argmax(axis=1)
    return ValidationScore(
        spec.metric.name,
        float(score),
        float(np.mean(predicted == truth)),
        len(truth),
        tta,
        spend,
        clip,
        predicted,
        truth,
    )


def evaluate_run(
    run_dir: Path,
    fallback: CompetitionPaths,
    tta: str | None = None,
    log: Callable[[str], None] = print,
    precision: str = "auto",
    budget: float = 1.0,
) -> dict[str, Any]:
    """The run's recorded data directory is the truth (same split); ``fallback`` if it moved.

    ``tta`` None = the test-time augmentation the run's recipe names; ``precision``
    and ``budget`` as predict's, so that what predict will score can be checked here.
    """
    run = runs.load_run(run_dir, precision)
    if run.config["recipe"].get(ALL_DATA):
        raise UsageError(
            f"{run.dir} trained on every labelled image (--all-data): nothing was held out to evaluate it on; "
            "evaluate the run of the same recipe on the split instead"
        )
    tta = run.tta_or_default(tta)
    paths, data = validation_split(run, fallback)
    spec = get_spec(paths.slug)
    if data.classes != run.classes:
        log(f"warning: {paths.classes_json} lists other classes than the run was trained on")
    measured = score_validation(run, spec, data, tta, budget)
    shown = "" if tta == "none" else f" with {tta} TTA"
    matrix = plots.confusion_matrix(measured.truth, measured.predicted, len(run.classes))
    plots.confusion(matrix, list(run.classes), run.dir / runs.CONFUSION, run.version_id + shown)
    recorded = run.metrics.get("val_accuracy_tta" if tta != "none" and tta == run.tta else "best_val_accuracy")
    log(f"{run.version_id} | {run.dir}")
    if tta != "none":
        log(f"{tta} TTA's views after the first on {measured.spend.described()} of {measured.images:,}")
    note = f" (recorded at training: {recorded:.4f})" if recorded is not None else ""
    metric = spec.metric
    if metric.name != "accuracy":
        clip = f", probabilities clipped to [{measured.clip:g}, 1 - {measured.clip:g}]" if measured.clip else ""
        log(
            f"validation {metric.title} {measured.score:.5f} ({metric.direction}) on {measured.images} images"
            f"{shown}{clip}: what {paths.slug} scores"
        )
    log(
        f"validation accuracy {measured.accuracy:.4f} on {measured.images} images{shown}{note} | "
        f"{run.compute_precision().policy}"
    )
    totals = matrix.sum(axis=1)
    for i, name in enumerate(run.classes):
        log(f"  {name:<12} {matrix[i, i] / max(1, totals[i]):7.2%}  ({matrix[i, i]}/{totals[i]})")
    log(f"wrote {run.dir / runs.CONFUSION}")
    return {
        "accuracy": measured.accuracy,
        "metric": metric.name,
        "score": measured.score,
        "higher_is_better": metric.higher_is_better,
        "tta": tta,
        "tta_budget": measured.spend.budget,
        "tta_images": measured.spend.images,
        "tta_views": measured.spend.views,
        "tta_cutoff": measured.spend.cutoff,
        "clip": measured.clip,
        "images": measured.images,
        "confusion": matrix.tolist(),
        "recorded": recorded,
    }
