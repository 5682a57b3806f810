"""TensorFlow's CPU input pipeline with the augmentation before and after issue 13, in the same process.

    .venv/bin/python bench/augment_speed.py [--data-dir bench/out/agreement-data] [--before 3a65d1d]

Issue 13 rewrote ``augment.RandomAffine`` in ``keras.ops`` (so it runs on JAX)
and moves images by whole pixels with a gather instead of a resampling. The
CPU path keeps tf.data, so its augmentation must not get slower: this times
``pipeline.train_dataset`` (one thread, as ``train`` runs it on a CPU) with the
old layer, read from git at ``--before``, and the new one, alternately, twice.
Images/s of augmented batches, no model.
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kagglekit.data.pipeline import CPU_PIPELINE_THREADS, load_split, train_dataset  # noqa: E402
from kagglekit.paths import CompetitionPaths  # noqa: E402
from kagglekit.training import augment  # noqa: E402
from kagglekit.training.models import get_version  # noqa: E402

CASES = (("seed-task5", 32), ("seed-task5", 256), ("seed-cifar10-modeling", 256), ("fast", 1024), ("best", 1024))


def old_augment(commit: str) -> object:
    """augment.py as it was at ``commit``, registered under another package name so both can load."""
    source = subprocess.run(
        ["git", "show", f"{commit}:kagglekit/training/augment.py"], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout
    source = source.replace(
        'register_keras_serializable(package="kagglekit")', 'register_keras_serializable(package="kagglekit_before")'
    )
    path = Path(tempfile.mkdtemp()) / "augment_before.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("augment_before", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def rate(dataset: object, batches: int, warmup: int = 5) -> float:
    iterator = iter(dataset)
    for _ in range(warmup):
        next(iterator)
    start, images = time.perf_counter(), 0
    for _ in range(batches):
        images += len(next(iterator)[0])
    return images / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=ROOT / "bench" / "out" / "agreement-data",
        help="a data directory the data stages filled (bench/backend_agreement.py makes one)",
    )
    parser.add_argument("--before", default="3a65d1d", help="the commit whose augment.py is the baseline")
    parser.add_argument("--images", type=int, default=4096, help="training images to draw batches from")
    args = parser.parse_args()
    data = load_split(CompetitionPaths(args.data_dir), args.images)
    ways = {"before": old_augment(args.before), "after": augment}
    print("recipe                | batch | before img/s | after img/s (two rounds, alternating)")
    for name, batch in CASES:
        recipe = get_version(name).recipe()
        batches = 60 if batch <= 256 else 15
        rates: dict[str, list[float]] = {way: [] for way in ways}
        for _ in range(2):
            for way, module in ways.items():
                dataset = train_dataset(
                    data.x_train,
                    data.y_train,
                    batch,
                    0,
                    0,
                    10_000,
                    module.from_recipe(recipe, 0),
                    None,
                    CPU_PIPELINE_THREADS,
                    alternating_flip=recipe["flip"] == "alternating",
                )
                rates[way].append(rate(dataset, batches))
        print(
            f"{name:21s} | {batch:5d} | {' / '.join(f'{r:6.0f}' for r in rates['before'])} | "
            f"{' / '.join(f'{r:6.0f}' for r in rates['after'])}"
        )


if __name__ == "__main__":
    main()
