"""What prediction costs and what TTA buys: precision and views spent only where the first view is unsure.

    .venv/bin/python bench/predict_cost.py RUN_DIR [--thresholds 0 0.5 0.7 0.8 0.9 0.95 1] [--test-images 300000]

Part 1, on the run's own validation split (the data directory in its
config.json), through ``Run.predict_proba``: accuracy and seconds for each
precision, with the flip-translate views spent on the images whose first-view
top probability is below each threshold (0: the plain view alone; 1: all six
views on every image, the version's full TTA). The seconds scale linearly with
the image count, so the last column is the 300,000-image test set's time.

Part 2: `kagglekit predict` (``predict_submission``, the product's own stage)
over a test set of ``--test-images`` images, the validation images repeated
(real photographs, so as unsure as the real test set's real images), with the
default threshold and precision: the stage's own wall time at full size.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from kagglekit.data.pipeline import load_split  # noqa: E402
from kagglekit.jsonfiles import write_json  # noqa: E402
from kagglekit.paths import CompetitionPaths  # noqa: E402
from kagglekit.training.precision import cpu_flags, cpu_model  # noqa: E402
from kagglekit.training.runs import DEFAULT_UNSURE_BELOW, load_run  # noqa: E402

KAGGLE_TEST_IMAGES = 300_000


def curve(run_dir: Path, x: np.ndarray, y: np.ndarray, policy: str, thresholds: list[float], batch: int) -> None:
    run = load_run(run_dir, policy)
    run.predict_proba(x[:batch], "none", batch)  # load and compile outside the clock
    for threshold in thresholds:
        counted: list[int] = []
        start = time.perf_counter()
        probabilities = run.predict_proba(x, run.tta, batch, unsure_below=threshold, on_view=counted.append)
        seconds = time.perf_counter() - start
        accuracy = float((probabilities.argmax(1) == y).mean())
        unsure = counted[1] / len(x) if len(counted) > 1 else 0.0
        print(
            f"| {run.compute_precision().policy} | {threshold:.2f} | {unsure:6.1%} | {sum(counted) / len(x):.2f} | "
            f"{accuracy:.4f} | {seconds:6.1f} | {seconds * KAGGLE_TEST_IMAGES / len(x) / 60:5.1f} |",
            flush=True,
        )


def full_size_predict(run_dir: Path, x: np.ndarray, n: int, precision: str, threshold: float, batch: int) -> None:
    from kagglekit.training.predict import predict_submission

    with tempfile.TemporaryDirectory(dir=Path(__file__).parent / "out") as scratch:
        paths = CompetitionPaths(Path(scratch) / "data")
        paths.cache.mkdir(parents=True)
        paths.raw.mkdir(parents=True)
        ids = np.arange(1, n + 1)
        np.save(paths.cache_images("test"), np.resize(x, (n, *x.shape[1:])))
        np.save(paths.cache_ids("test"), ids.astype(str))  # ids are text, as unpack writes them
        pd.DataFrame({"id": ids, "label": "cat"}).to_csv(paths.sample_submission, index=False)
        write_json(paths.unpacked_marker("test"), {"built_by": "bench/predict_cost.py", "images": n})
        summary = predict_submission(
            run_dir,
            paths,
            Path(scratch) / "submissions",
            batch_size=batch,
            progress=False,
            precision=precision,
            unsure_below=threshold,
        )
    print(
        f"\nkagglekit predict, {n:,} test images, precision {precision}, TTA views below {threshold}, batch {batch}: "
        f"{summary.seconds:.1f} s ({summary.seconds / 60:.1f} min, {summary.images_per_second:,.0f} img/s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", type=Path, help="a finished run directory with a TTA recipe (e.g. fast)")
    parser.add_argument(
        "--thresholds",
        type=float,
        nargs="+",
        default=[0, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0],
        help="top-probability thresholds below which the extra views run (0..1)",
    )
    parser.add_argument("--precisions", nargs="+", default=["bfloat16", "float32"], help="as predict --precision")
    parser.add_argument("--batch-size", type=int, default=512, help="images per predict step")
    parser.add_argument(
        "--test-images", type=int, default=KAGGLE_TEST_IMAGES, help="part 2's test set size; 0 skips it"
    )
    parser.add_argument("--default-threshold", type=float, default=DEFAULT_UNSURE_BELOW, help="part 2's threshold")
    args = parser.parse_args()
    run = load_run(args.run)
    data = load_split(CompetitionPaths(Path(run.config["data"]["root"]).parent, run.config["data"]["competition"]))
    print(f"CPU: {cpu_model()} | {' '.join(sorted(cpu_flags())) or 'no AVX-512/AMX'} | {os.cpu_count()} cores")
    print(f"{run.version_id} ({run.dir}), {len(data.x_valid):,} validation images, batch {args.batch_size}\n")
    print("| precision | unsure below | images unsure | views per image | accuracy | seconds | min for 300,000 |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for policy in args.precisions:
        curve(args.run, data.x_valid, data.y_valid, policy, args.thresholds, args.batch_size)
    if args.test_images:
        full_size_predict(args.run, data.x_valid, args.test_images, "auto", args.default_threshold, args.batch_size)


if __name__ == "__main__":
    main()
