"""Does ``fast`` learn the same on Keras' JAX backend as on TensorFlow? Short runs on the real data, same seeds.

    .venv/bin/python bench/backend_agreement.py [--limit 4000] [--epochs 3] [--seeds 0 1]

Trains ``fast`` through the real CLI (``python -m kagglekit train``) once per
backend and seed, on the first ``--limit`` images of each subset of
kagglekit's seeded split of ../shared/cifar10, then prints each run's best
validation accuracy (with and without the recipe's TTA) and the gap between
the backends' means beside the spread between seeds. The runs differ in
their random streams (shuffling, augmentation: tf.data's stateless
generators vs numpy and keras.random), not in the recipe, so the bar is the
seed spread. CPU only and short on purpose: the machine is shared.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BACKENDS = ("tensorflow", "jax")


def prepared_data(shared: Path, out: Path) -> Path:
    """The real train set unpacked and split once, as the data stages leave it (cached under ``out``)."""
    from shared_data import prepared_real_train

    return prepared_real_train(shared, out / "agreement-data").data_dir


def train(backend: str, seed: int, args: argparse.Namespace, data_dir: Path) -> dict:
    runs_dir = args.out / "agreement-runs" / f"{backend}-seed{seed}"
    command = [
        sys.executable,
        "-m",
        "kagglekit",
        "train",
        "--model",
        "fast",
        "--data-dir",
        str(data_dir),
        "--runs-dir",
        str(runs_dir),
        "--limit",
        str(args.limit),
        "--epochs",
        str(args.epochs),
        "--seed",
        str(seed),
        "--reuse",
    ]
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
    subprocess.run(command, cwd=ROOT, env=env, check=True)
    (run_dir,) = [d for d in runs_dir.iterdir() if (d / "metrics.json").exists()]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    return {
        "backend": backend,
        "seed": seed,
        "val": metrics["best_val_accuracy"],
        "tta": metrics.get("val_accuracy_tta"),
        "seconds": metrics["training_seconds"],
        "images_per_second": metrics["images_per_second"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--shared", type=Path, default=ROOT.parent / "shared" / "cifar10", help="the real CIFAR-10 files"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out", help="data and runs go here")
    parser.add_argument("--limit", type=int, default=4000, help="images of each subset (train and validation)")
    parser.add_argument("--epochs", type=int, default=3, help="passes over the training images")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1], help="recipe seeds, one run per backend each")
    args = parser.parse_args()
    if not (args.shared / "train.7z").is_file():
        raise SystemExit(f"{args.shared}/train.7z not found: this benchmark needs the real CIFAR-10 files (--shared).")
    data_dir = prepared_data(args.shared, args.out)
    rows = [train(backend, seed, args, data_dir) for seed in args.seeds for backend in BACKENDS]
    print(f"\nfast, {args.limit} train / {args.limit} validation images, {args.epochs} epochs, CPU")
    print("backend    | seed | val acc | with TTA | training s | img/s")
    for r in rows:
        print(
            f"{r['backend']:10s} | {r['seed']:4d} | {r['val']:.4f} | {r['tta']:.4f}   | {r['seconds']:10.1f} | {r['images_per_second']:5.0f}"
        )
    for key in ("val", "tta"):
        means = {b: statistics.mean(r[key] for r in rows if r["backend"] == b) for b in BACKENDS}
        spreads = {
            b: max(r[key] for r in rows if r["backend"] == b) - min(r[key] for r in rows if r["backend"] == b)
            for b in BACKENDS
        }
        print(
            f"{key}: mean tensorflow {means['tensorflow']:.4f}, jax {means['jax']:.4f}, gap {means['jax'] - means['tensorflow']:+.4f}; "
            f"seed range tensorflow {spreads['tensorflow']:.4f}, jax {spreads['jax']:.4f}"
        )


if __name__ == "__main__":
    main()
