"""Benchmark: test.7z to a submission CSV, the seeds' way against kagglekit's, same model.

    .venv/bin/python bench/predict_speed.py [--shared ../shared/cifar10] [--out bench/out]

Uses the full-size test.7z stand-in that bench/unpack_speed.py builds (300,000
real CIFAR-10 PNGs) and one seed-cifar10-modeling run trained briefly on the
real training set (speed does not depend on how well it is trained). Each way
runs in a fresh child process; the peak RSS of its process tree is sampled:

  seeds: py7zr extractall -> ImageDataGenerator.flow_from_directory -> model.predict -> CSV
  ours:  kagglekit unpack (pixel cache) -> kagglekit predict (validated CSV)

Absolute times on these shared machines are noisy: read the ratio.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from measure import measure, parse_arguments  # noqa: E402
from unpack_speed import build_test_standin  # noqa: E402


def benchmark_run(shared: Path, out: Path) -> Path:
    """A seed-cifar10-modeling run on the real train set (1 epoch on 2,000 images); cached."""
    from shared_data import prepared_real_train

    from kagglekit.training.runs import latest_run
    from kagglekit.training.train import train

    runs_dir = out / "predict-runs"
    try:
        return latest_run(runs_dir, "seed-cifar10-modeling")
    except Exception:
        pass
    paths = prepared_real_train(shared, out / "predict-data")
    return train("seed-cifar10-modeling", {"epochs": 1, "limit": 2000}, paths, runs_dir, log=lambda line: None)


def seeds_predict(run_dir: Path, work: Path) -> None:
    """The write-ups' way: every PNG to disk, then a generator reads them back one by one."""
    import numpy as np
    import pandas as pd
    import py7zr
    import tensorflow as tf

    from kagglekit.training.runs import load_run

    standin = Path(os.environ["BENCH_STANDIN"])
    with py7zr.SevenZipFile(standin) as seven_zip:
        seven_zip.extractall(work / "temp")
    run = load_run(run_dir)
    generator = tf.keras.preprocessing.image.ImageDataGenerator().flow_from_directory(
        work / "temp", classes=["test"], class_mode=None, shuffle=False, batch_size=256, target_size=(32, 32)
    )
    probabilities = run.model.predict(generator, verbose=0)
    ids = [int(Path(name).stem) for name in generator.filenames]
    labels = np.asarray(run.classes)[probabilities.argmax(axis=1)]
    pd.DataFrame({"id": ids, "label": labels}).sort_values("id").to_csv(work / "submission.csv", index=False)


def ours_predict(run_dir: Path, work: Path) -> None:
    from kagglekit.data.unpack import unpack_split
    from kagglekit.paths import CompetitionPaths
    from kagglekit.training.predict import predict_submission

    standin = Path(os.environ["BENCH_STANDIN"])
    paths = CompetitionPaths(work / "data")
    paths.raw.mkdir(parents=True)
    (paths.raw / "test.7z").symlink_to(standin)
    (paths.raw / "sampleSubmission.csv").symlink_to(standin.parent / "sampleSubmission.csv")
    started = time.perf_counter()
    unpack_split(paths, "test", False, progress=False)
    unpacked = time.perf_counter()
    summary = predict_submission(run_dir, paths, work / "submissions", progress=False)
    print(
        f"  ours: unpack {unpacked - started:.1f} s, predict {summary.seconds:.1f} s "
        f"({summary.images_per_second:,.0f} img/s)",
        flush=True,
    )


VARIANTS = {"seeds-predict": seeds_predict, "ours-predict": ours_predict}


def main() -> None:
    args = parse_arguments(__doc__, list(VARIANTS), VARIANTS)
    if args is None:
        return
    standin = build_test_standin(args.shared, args.out).resolve()
    os.environ["BENCH_STANDIN"] = str(standin)
    run_dir = benchmark_run(args.shared, args.out).resolve()
    print(f"# predict benchmark  {platform.node()}  {os.cpu_count()} cores  python {platform.python_version()}")
    print(f"# model: {run_dir.name}; test.7z stand-in: {standin} (300,000 PNGs)")
    rows = [
        (variant, measure(__file__, variant, run_dir, args.out / "work"))
        for variant in VARIANTS
        if args.only in (None, variant)
    ]
    print("\n| way | test.7z (300,000) -> submission CSV | seconds | peak memory (GB) |\n|---|---|---:|---:|")
    for variant, result in rows:
        print(
            f"| {variant} | {'extractall + flow_from_directory' if variant.startswith('seeds') else 'unpack cache + predict'} "
            f"| {result['seconds']:.1f} | {result['peak_gb']:.2f} |"
        )
    print("\n" + json.dumps(dict(rows)))


if __name__ == "__main__":
    sys.exit(main())
