"""How far to keep a log-loss submission's probabilities from 0 and 1: the curve on a run's validation split.

A log loss punishes one confident mistake more than many right answers earn, so a submission clips
its probabilities to [c, 1 - c]. Too small a c lets a few confident mistakes dominate; too large a c
taxes every right answer. This predicts the run's validation images once (plain, and with the
version's TTA), through the product's own ``predict_proba`` and ``score_predictions`` (what
``evaluate`` and ``submit`` use), and scores each clip, calibrated by the run's temperature as
predict is, and uncalibrated (the TTA probabilities with the temperature undone) beside them:

    .venv/bin/python bench/clip_curve.py RUN_DIR [--data-dir DIR] [--clips 0 1e-15 1e-4 1e-3 ...]

The table: clip, validation log loss plain and with TTA, and how many images the clip moved. The
product's default (submissions.formats.default_clip) is marked.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np

CLIPS = (0.0, 1e-15, 1e-6, 1e-4, 1e-3, 3e-3, 1e-2, 2e-2, 3e-2, 5e-2, 0.1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="a finished run folder of a log-loss competition")
    parser.add_argument("--data-dir", type=Path, default=Path("data"), help="where its split is, if it moved")
    parser.add_argument("--clips", type=float, nargs="+", default=CLIPS)
    args = parser.parse_args()

    from kagglekit.paths import CompetitionPaths
    from kagglekit.submissions.formats import score_predictions
    from kagglekit.training import runs
    from kagglekit.training.calibrate import logits_of, with_temperature
    from kagglekit.training.evaluate import submission_clip, validation_split

    run = runs.load_run(args.run)
    paths, data = validation_split(run, CompetitionPaths(args.data_dir, run.config["data"]["competition"]))
    spec = paths.spec
    classes = list(run.classes)
    truth = np.asarray([classes.index(data.classes[k]) for k in data.y_valid.astype(np.int64)])
    views = {"plain": run.predict_proba(data.x_valid, tta="none")}
    if run.tta != "none":
        views[run.tta] = run.predict_proba(data.x_valid, tta=run.tta)
    if run.temperature != 1.0:
        last = list(views.values())[-1]
        views["uncalibrated"] = with_temperature(logits_of(last) * run.temperature, 1.0)
    default = submission_clip(spec, classes)
    print(
        f"{run.version_id} | {len(truth):,} validation images | {spec.metric.name} | temperature {run.temperature:g}"
        f" | load {os.getloadavg()[0]:.2f}"
    )
    for name, probabilities in views.items():
        accuracy = float(np.mean(probabilities.argmax(axis=1) == truth))
        print(f"{name}: accuracy {accuracy:.4f}")
    print(
        "clip | "
        + " | ".join(f"{name} {spec.metric.title}" for name in views)
        + " | images moved (calibrated, predict's views)"
    )
    for clip in args.clips:
        scores = [score_predictions(spec.metric, spec.submission, classes, truth, p, clip) for p in views.values()]
        moved = int(np.sum(views[run.tta if run.tta != "none" else "plain"].min(axis=1) < clip))
        mark = "  <- default" if clip == default else ""
        print(f"{clip:g} | " + " | ".join(f"{score:.5f}" for score in scores) + f" | {moved}{mark}")


if __name__ == "__main__":
    main()
