"""Summarise training runs of one version over seeds: per-epoch table, then mean and spread.

    .venv/bin/python bench/accuracy.py bench/out/fast/runs/fast-*/

Reads each run's history.csv and metrics.json (written by `kagglekit train`);
trains nothing. The seed runs themselves are the measurement, made one at a
time on an otherwise idle machine (see bench/RESULTS.md for the commands).
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

import pandas as pd


def describe(run_dir: Path) -> dict:
    config = json.loads((run_dir / "config.json").read_text())
    metrics = json.loads((run_dir / "metrics.json").read_text())
    history = pd.read_csv(run_dir / "history.csv")
    print(f"\n{config['version_id']}  seed {config['recipe']['seed']}  {metrics['device']}  ({run_dir})")
    print("epoch | val acc | img/s | epoch s | cumulative min")
    for row, elapsed in zip(history.itertuples(), history["seconds"].cumsum()):
        print(
            f"{row.epoch + 1:5d} | {row.val_accuracy:7.4f} | {row.images_per_second:5.0f} | {row.seconds:7.1f} | {elapsed / 60:6.1f}"
        )
    return {
        "seed": config["recipe"]["seed"],
        "val": metrics["best_val_accuracy"],
        "tta": metrics.get("val_accuracy_tta"),
        "minutes": metrics["training_seconds"] / 60,
        "images_per_second": metrics["images_per_second"],
    }


def spread(values: list[float]) -> str:
    if len(values) < 2:
        return f"{values[0]:.4f}"
    return (
        f"{statistics.mean(values):.4f} ± {statistics.stdev(values):.4f} (min {min(values):.4f}, max {max(values):.4f})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path, help="finished run directories (one per seed)")
    rows = [describe(run) for run in parser.parse_args().runs]
    print("\nseed | val acc | val acc with TTA | training min | img/s")
    for r in rows:
        tta = "" if r["tta"] is None else f"{r['tta']:.4f}"
        print(f"{r['seed']:4d} | {r['val']:.4f} | {tta:>16} | {r['minutes']:12.1f} | {r['images_per_second']:5.0f}")
    print(f"\nval acc: {spread([r['val'] for r in rows])}")
    if all(r["tta"] is not None for r in rows):
        print(f"val acc with TTA: {spread([r['tta'] for r in rows])}")
    print(f"training minutes: {spread([r['minutes'] for r in rows])}")


if __name__ == "__main__":
    main()
