"""digit-recognizer on the real data: prepare ../shared/digit-recognizer as kagglekit's stages would, then train.

    .venv/bin/python bench/digits.py --model digits --seeds 0 1 2 3      # the measurement in bench/RESULTS.md
    .venv/bin/python bench/digits.py --model digits --epochs 4 --set lr=0.004 --seeds 0   # a quick probe
    .venv/bin/python bench/digits.py --prepare-only                      # just the data, for `kagglekit train`

Prepare writes what `unpack` and `folders` would leave for training, under ``--data-dir`` (default
bench/out/digits/data):

    digit-recognizer/cache/train_images.npy   (42,000, 28, 28, 1) uint8, from train.csv.zip, file order
    digit-recognizer/cache/train_ids.npy      1 .. 42,000 (Kaggle's train.csv has no ids: the row number)
    digit-recognizer/cache/test_images.npy    (28,000, 28, 28, 1) uint8 and test_ids.npy 1 .. 28,000 (= ImageId)
    digit-recognizer/cache/.train.complete, .test.complete   markers as unpack writes them
    digit-recognizer/cache/train_labels.csv   id,label: the bench's own, what the split is made from
    digit-recognizer/folders/split.csv, classes.json, .complete   kagglekit's split: stratified, 10 % held
                                              out, seed 0 (``folders.stratified_split``), labels "0" .. "9"

No PNGs and no class folders are written (training reads the cache). Until the lead engineer wires the
pixel-CSV layout into the unpack and folders stages themselves, this prepare step is the bench's own,
built from the same pieces they will use (``data.pixels.read_pixel_csv``, ``folders.stratified_split``);
after that, `make train COMPETITION=digit-recognizer MODEL=digits` is the same measurement.

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

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from kagglekit.paths import CompetitionPaths

ROOT = Path(__file__).resolve().parents[1]
SLUG = "digit-recognizer"


def prepare(shared: Path, data_dir: Path) -> CompetitionPaths:
    """The cache and split for ``SLUG`` under ``data_dir`` (skipped when its markers say it is done)."""
    from kagglekit.data.folders import stratified_split
    from kagglekit.data.pixels import read_pixel_csv
    from kagglekit.markers import fingerprint, is_complete, mark_complete
    from kagglekit.paths import DEFAULT_SPLIT_SEED, DEFAULT_VALID_FRACTION, CompetitionPaths

    paths = CompetitionPaths(data_dir, SLUG)
    paths.cache.mkdir(parents=True, exist_ok=True)
    for split, source, label_column in (("train", shared / "train.csv.zip", "label"), ("test", shared / "test.csv.zip", None)):
        marker = paths.unpacked_marker(split).name
        stamp = fingerprint([source], split=split, shape=(28, 28, 1))
        if is_complete(paths.cache, stamp, marker):
            continue
        started = time.perf_counter()
        images, labels = read_pixel_csv(source, shape=(28, 28, 1), label_column=label_column)
        ids = np.arange(1, len(images) + 1, dtype=np.int64)
        np.save(paths.cache_images(split), images)
        np.save(paths.cache_ids(split), ids)
        if labels is not None:
            pd.DataFrame({"id": ids, "label": labels}).to_csv(paths.cache / "train_labels.csv", index=False)
        mark_complete(paths.cache, stamp, marker, images=len(ids), archive=str(source))
        print(f"prepared {split}: {images.shape} from {source} in {time.perf_counter() - started:.1f} s")

    labels_csv = paths.cache / "train_labels.csv"
    stamp = fingerprint([labels_csv, paths.unpacked_marker("train")], valid_fraction=DEFAULT_VALID_FRACTION,
                        seed=DEFAULT_SPLIT_SEED)
    if not is_complete(paths.folders, stamp):
        labels = pd.read_csv(labels_csv, dtype={"label": str})
        split = stratified_split(labels, DEFAULT_VALID_FRACTION, DEFAULT_SPLIT_SEED)
        paths.folders.mkdir(parents=True, exist_ok=True)
        split.to_csv(paths.split_csv, index=False)
        classes = sorted(split["label"].unique())
        counts = {name: {s: int(n) for s, n in group["subset"].value_counts().items()} for name, group in split.groupby("label")}
        paths.classes_json.write_text(json.dumps({"classes": classes, "counts": counts,
                                                  "valid_fraction": DEFAULT_VALID_FRACTION, "seed": DEFAULT_SPLIT_SEED}, indent=2))
        mark_complete(paths.folders, stamp, images=len(split))
        subsets = split["subset"].value_counts()
        print(f"split: {subsets['train']} train / {subsets['valid']} valid, classes {classes}")
    return paths


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / SLUG, help="the real digit-recognizer files")
    parser.add_argument("--data-dir", type=Path, default=ROOT / "bench" / "out" / "digits" / "data")
    parser.add_argument("--runs-dir", type=Path, default=ROOT / "bench" / "out" / "digits" / "runs")
    parser.add_argument("--model", default="digits")
    parser.add_argument("--epochs", type=int, default=None, help="default: the version's")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a recipe override, as `train --set`")
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--prepare-only", action="store_true")
    args = parser.parse_args()
    if not (args.shared / "train.csv.zip").is_file():
        raise SystemExit(f"{args.shared}/train.csv.zip not found: this benchmark needs the real digit-recognizer files (--shared).")
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
        print(f"{seed:4d} | {m['recomputed_val_accuracy']:.4f} | {'' if tta is None else f'{tta:.4f}':>11} | "
              f"{m['training_seconds'] / 60:12.2f} | {wall / 60:11.2f} | {m['images_per_second']:5.0f} | {before} | {after} | "
              f"{run_dir.name}")


if __name__ == "__main__":
    main()
