"""Recompute a saved run's validation accuracy and confusion matrix from its best model."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np

from kagglekit.exceptions import UsageError
from kagglekit.training import plots, runs
from kagglekit.training.models import ALL_DATA
from kagglekit.paths import CompetitionPaths
from kagglekit.data.pipeline import load_split


def evaluate_run(run_dir: Path, fallback: CompetitionPaths, tta: str | None = None, log: Callable[[str], None] = print,
                 precision: str = "auto", unsure_below: float | None = None) -> dict[str, Any]:
    """The run's recorded data directory is the truth (same split); ``fallback`` if it moved.

    ``tta`` None = the test-time augmentation the run's recipe names; ``precision``
    and ``unsure_below`` as predict's, so that what predict will score can be checked here.
    """
    run = runs.load_run(run_dir, precision)
    if run.config["recipe"].get(ALL_DATA):
        raise UsageError(f"{run.dir} trained on every labelled image (--all-data): nothing was held out to evaluate it on; "
                         "evaluate the run of the same recipe on the split instead")
    tta = run.tta_or_default(tta)
    shown = "" if tta == "none" else f" with {tta} TTA"
    data_info = run.config["data"]
    paths = CompetitionPaths(Path(data_info["root"]).parent, data_info["competition"])
    if not paths.split_csv.exists():
        paths = fallback
    data = load_split(paths, run.config["recipe"].get("limit"))
    if data.classes != run.classes:
        log(f"warning: {paths.classes_json} lists other classes than the run was trained on")
    probabilities = run.predict_proba(data.x_valid, tta=tta, unsure_below=unsure_below)
    predicted = probabilities.argmax(axis=1)
    matrix = plots.confusion_matrix(data.y_valid.astype(np.int64), predicted, data.n_classes)
    accuracy = float(np.trace(matrix) / matrix.sum())
    plots.confusion(matrix, data.classes, run.dir / runs.CONFUSION, run.version_id + shown)
    recorded = run.metrics.get("val_accuracy_tta" if tta != "none" and tta == run.tta else "best_val_accuracy")
    log(f"{run.version_id} | {run.dir}")
    note = f" (recorded at training: {recorded:.4f})" if recorded is not None else ""
    log(f"validation accuracy {accuracy:.4f} on {len(predicted)} images{shown}{note} | {run.compute_precision().policy}")
    totals = matrix.sum(axis=1)
    for i, name in enumerate(data.classes):
        log(f"  {name:<12} {matrix[i, i] / max(1, totals[i]):7.2%}  ({matrix[i, i]}/{totals[i]})")
    log(f"wrote {run.dir / runs.CONFUSION}")
    return {"accuracy": accuracy, "confusion": matrix.tolist(), "recorded": recorded}
