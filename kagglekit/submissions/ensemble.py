"""ensemble: average the saved class probabilities of several versions.

Averaging probabilities of differently-trained models is the cheapest
leaderboard gain there is, and needs no model: `predict` keeps every version's
probabilities beside its CSV for exactly this. The average is written in the
competition's submission format, as `predict` writes (the most probable label,
or the averaged probabilities clipped as the metric needs).
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import numpy as np

from kagglekit.exceptions import DataError, UsageError
from kagglekit.paths import CompetitionPaths
from kagglekit.submissions.formats import (
    PROBABILITIES,
    read_sample,
    require_prediction,
    sample_submission_path,
    version_dir,
    write_submission,
)


def ensemble_id(version_ids: list[str]) -> str:
    """Order-independent: the same members always make the same version."""
    digest = hashlib.sha256("\n".join(sorted(version_ids)).encode()).hexdigest()[:8]
    return f"ensemble-{digest}"


def build_ensemble(version_ids: list[str], paths: CompetitionPaths, submissions_dir: Path) -> Path:
    """Write ``submissions/ensemble-<hash>/`` from the members' probabilities; returns its CSV."""
    if len(set(version_ids)) < 2:
        raise UsageError("an ensemble needs at least two different versions.")
    records = [require_prediction(submissions_dir, v) for v in version_ids]
    classes = records[0]["classes"]
    for version_id, record in zip(version_ids, records):
        if record.get("competition", paths.slug) != paths.slug:
            raise UsageError(
                f"{version_id} was predicted for {record['competition']}, not {paths.slug}; "
                f"ensemble versions of one competition (--competition {record['competition']})."
            )
        if record["classes"] != classes:
            raise DataError(
                f"{version_id} predicts classes {record['classes']}, {version_ids[0]} predicts {classes}; they cannot be averaged."
            )
    sample_ids = read_sample(sample_submission_path(paths)).ids
    total = np.zeros((len(sample_ids), len(classes)), dtype=np.float32)
    for version_id in version_ids:
        probabilities = np.load(version_dir(submissions_dir, version_id) / PROBABILITIES)
        if probabilities.shape != total.shape:
            raise DataError(
                f"{version_id}'s probabilities have shape {probabilities.shape}, expected {total.shape}; predict it again."
            )
        total += probabilities
    accuracies = [r.get("val_accuracy") for r in records]
    record = {
        "version": "ensemble",
        "version_id": ensemble_id(version_ids),
        "members": version_ids,
        "competition": paths.slug,
        "tta": None,
        "parameters": sum(int(r.get("parameters") or 0) for r in records),
        "epochs": None,
        "training_seconds": sum(float(r.get("training_seconds") or 0) for r in records),
        "val_accuracy": None,
        "member_val_accuracies": accuracies,
        "val_score": None,
        "member_val_scores": [r.get("val_score") for r in records],
        "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    target = version_dir(submissions_dir, record["version_id"])
    return write_submission(target, (total / len(version_ids)).astype(np.float16), classes, record, paths)
