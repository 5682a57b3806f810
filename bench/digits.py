"""digit-recognizer on the real data: ../shared/digit-recognizer through kagglekit's own unpack and folders, then train.

    .venv/bin/python bench/digits.py --model digits --seeds 0 1 2 3      # the measurement in bench/RESULTS.md
    .venv/bin/python bench/digits.py --model digits --epochs 4 --set lr=0.004 --seeds 0   # a quick probe
    .venv/bin/python bench/digits.py --prepare-only                      # just the data, for `kagglekit train`

Prepare does what `make folders COMPETITION=digit-recognizer` does after fetch: the two CSVs, unzipped
from ../shared as fetch unwraps Kaggle's zips, go to ``--data-dir``/digit-recognizer/raw/ with
sample_submission.csv, and the product's own unpack and folders stages read them as the spec says
(pixel columns, ids the row numbers, labels the ``label`` column; kagglekit's split: stratified, 10 %
held out, seed 0). So the run below is `make train COMPETITION=digit-recognizer` but for the download.

Then each seed trains through ``kagglekit.training.train.train`` (the product's train stage: same run
directories, metrics.json, TTA evaluation) and a table follows: seed, validation accuracy plain and with
the version's TTA, training minutes (metrics.json's: the epochs with their validation), the whole
``train()`` call's minutes (data, model, epochs, the TTA evaluation, pictures; not Python's start), training
images per second. The load average is printed before and after, because these 2-core machines are shared.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kagglekit.paths import CompetitionPaths

ROOT = Path(__file__).resolve().parents[1]
SLUG = "digit-recognizer"


def prepare(shared: Path, data_dir: Path) -> CompetitionPaths:
    """raw/ from ``shared`` (once), then the real unpack and folders stages (each skipped when complete)."""
    import shutil
    import zipfile

    from kagglekit.data.folders import build_folders
    from kagglekit.data.unpack import unpack_competition
    from kagglekit.paths import CompetitionPaths

    paths = CompetitionPaths(data_dir, SLUG)
    paths.raw.mkdir(parents=True, exist_ok=True)
    for name in ("train.csv", "test.csv"):
        if not (paths.raw / name).is_file():
            with zipfile.ZipFile(shared / f"{name}.zip") as archive:
                archive.extract(name, paths.raw)
    if not paths.sample_submission.is_file():
        shutil.copyfile(shared / "sample_submission.csv", paths.sample_submission)
    started = time.perf_counter()
    unpack_competition(paths, progress=False)
    summary = build_folders(paths)
    print(
        f"unpack + folders: {summary.train:,} train / {summary.valid:,} valid in {time.perf_counter() - started:.1f} s"
    )
    return paths


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--shared", type=Path, default=ROOT.parent / "shared" / SLUG, help="the real digit-recognizer files"
    )
    parser.add_argument("--data-dir", type=Path, default=ROOT / "bench" / "out" / "digits" / "data")
    parser.add_argument("--runs-dir", type=Path, default=ROOT / "bench" / "out" / "digits" / "runs")
    parser.add_argument("--model", default="digits")
    parser.add_argument("--epochs", type=int, default=None, help="default: the version's")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="a recipe override, as `train --set`"
    )
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--prepare-only", action="store_true")
    args = parser.parse_args()
    if not (args.shared / "train.csv.zip").is_file():
        raise SystemExit(
            f"{args.shared}/train.csv.zip not found: this benchmark needs the real digit-recognizer files (--shared)."
        )
    paths = prepare(args.shared, args.data_dir)
    if args.prepare_only:
        print(f"data ready: --data-dir {args.data_dir} --competition {SLUG}")
        return

    from kagglekit.training.models import get_version
    from kagglekit.training.train import train

    version = get_version(args.model)
    overrides = dict(version.parse_setting(setting) for setting in args.set)
    if args.epochs is not None:
        overrides["epochs"] = args.epochs
    rows = []
    for seed in args.seeds:
        before, started = load_average(), time.perf_counter()
        run_dir = train(args.model, {**overrides, "seed": seed}, paths, args.runs_dir, precision=args.precision)
        wall = time.perf_counter() - started
        metrics = json.loads((run_dir / "metrics.json").read_text())
        rows.append((seed, metrics, wall, before, load_average(), run_dir))
    print(f"\n{args.model} {' '.join(args.set)} epochs {args.epochs or version.recipe()['epochs']}")
    print("seed | val acc | val acc TTA | training min | train() min | img/s | load before | load after | run")
    for seed, m, wall, before, after, run_dir in rows:
        tta = m.get("val_accuracy_tta")
        print(
            f"{seed:4d} | {m['recomputed_val_accuracy']:.4f} | {'' if tta is None else f'{tta:.4f}':>11} | "
            f"{m['training_seconds'] / 60:12.2f} | {wall / 60:11.2f} | {m['images_per_second']:5.0f} | {before} | {after} | "
            f"{run_dir.name}"
        )


if __name__ == "__main__":
    main()
