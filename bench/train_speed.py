"""Training input speed: the seeds' way (ImageDataGenerator) vs kagglekit's tf.data pipeline.

    python bench/train_speed.py [--data-dir data] [--steps 100] [--models seed-task5,seed-cifar10-modeling]

Part 1, the input pipeline alone (no model): augmented images/s delivered by
ImageDataGenerator.flow_from_directory, ImageDataGenerator.flow (in memory),
the stock Keras layers (RandomRotation/Zoom/Translation) in tf.data, and
kagglekit's fused RandomAffine in tf.data. Target: >= 20,000 images/s.

Part 2, training images/s of each model fed (a) the seeds' way, (b) from the
in-memory uint8 array without augmentation, (c) kagglekit's augmented pipeline,
with XLA off and on. Target: (c) >= 95% of (b).

Uses DATA/cifar-10's cache and class folders when the data stages have run,
else a generated set of the same shape (speed does not depend on content).
Short on purpose (a few hundred steps in all): the machine is shared.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from PIL import Image  # noqa: E402

from kagglekit.data.pipeline import CPU_PIPELINE_THREADS, train_dataset  # noqa: E402
from kagglekit.paths import CompetitionPaths  # noqa: E402
from kagglekit.standin.synthetic import CIFAR10_CLASSES, class_images  # noqa: E402
from kagglekit.training.augment import from_recipe, keras_layers  # noqa: E402
from kagglekit.training.models import get_version  # noqa: E402

ImageDataGenerator = tf.keras.preprocessing.image.ImageDataGenerator  # Keras 3: keras.src.legacy.preprocessing.image


def generated_set(root: Path, n: int) -> tuple[np.ndarray, np.ndarray, Path]:
    rng = np.random.default_rng(0)
    labels = np.arange(n) % 10
    images = class_images(labels, rng)
    for i, (image, label) in enumerate(zip(images, labels)):
        folder = root / CIFAR10_CLASSES[label]
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(folder / f"{i}.png")
    return images, labels.astype(np.int32), root


def real_set(paths: CompetitionPaths, n: int) -> tuple[np.ndarray, np.ndarray, Path] | None:
    from kagglekit.data.pipeline import load_split

    if not (paths.folders / "train").is_dir() or not paths.cache_images("train").exists():
        return None
    data = load_split(paths, limit=n)
    return data.x_train, data.y_train, paths.folders / "train"


def idg(recipe: dict) -> ImageDataGenerator:
    """The seeds' generator for a recipe's ranges."""
    return ImageDataGenerator(
        rotation_range=recipe["rotation"],
        zoom_range=recipe["zoom"],
        width_shift_range=recipe["shift"],
        height_shift_range=recipe["shift"],
        horizontal_flip=recipe["flip"],
        fill_mode=recipe["fill_mode"],
    )


def rate(iterator, steps: int, warmup: int = 3) -> float:
    for _ in range(warmup):
        next(iterator)
    start, images = time.perf_counter(), 0
    for _ in range(steps):
        images += len(next(iterator)[0])
    return images / (time.perf_counter() - start)


def stock_layers_dataset(x: np.ndarray, y: np.ndarray, recipe: dict, batch: int) -> tf.data.Dataset:
    stack = keras.Sequential(keras_layers(recipe, seed=0))
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).repeat().shuffle(4096, seed=0).batch(batch)
    dataset = dataset.map(
        lambda a, b: (stack(tf.cast(a, tf.float32), training=True), b), num_parallel_calls=tf.data.AUTOTUNE
    )
    return dataset.prefetch(tf.data.AUTOTUNE)


def ours(
    x: np.ndarray, y: np.ndarray, recipe: dict, batch: int, augmented: bool = True, threads: int | None = None
) -> tf.data.Dataset:
    """kagglekit's training input; ``threads`` as train() sets it (CPU_PIPELINE_THREADS on a CPU)."""
    one_hot = 10 if recipe["loss"] == "categorical_crossentropy" else None
    augment = from_recipe(recipe, 0) if augmented else None
    dataset = train_dataset(
        x, y, batch, seed=0, first_epoch=0, epochs=10_000, augment=augment, n_classes=one_hot, threads=threads
    )
    return dataset if augmented else dataset.map(lambda a, b: (tf.cast(a, tf.float32), b))


def pipeline_rates(x, y, folder: Path, recipe: dict, steps: int, batch: int) -> dict[str, float]:
    class_mode = "categorical" if recipe["loss"] == "categorical_crossentropy" else "sparse"
    return {
        "ImageDataGenerator.flow_from_directory": rate(
            idg(recipe).flow_from_directory(
                folder, target_size=x.shape[1:3], batch_size=batch, class_mode=class_mode, seed=0
            ),
            steps,
        ),
        "ImageDataGenerator.flow (in memory)": rate(idg(recipe).flow(x, y, batch_size=batch, seed=0), steps),
        "Keras layers in tf.data (one pass each)": rate(iter(stock_layers_dataset(x, y, recipe, batch)), steps),
        "kagglekit RandomAffine in tf.data": rate(iter(ours(x, y, recipe, batch)), steps),
    }


class StepTimer(keras.callbacks.Callback):
    def __init__(self, warmup: int) -> None:
        super().__init__()
        self.warmup, self.start, self.end = warmup, 0.0, 0.0

    def on_train_batch_end(self, batch: int, logs=None) -> None:
        if batch == self.warmup - 1:
            self.start = time.perf_counter()
        self.end = time.perf_counter()


def train_rate(name: str, data, recipe: dict, steps: int, jit: bool, warmup: int = 5) -> float:
    keras.utils.set_random_seed(0)
    model = get_version(name).build(recipe, steps_per_epoch=steps, jit_compile=jit)
    timer = StepTimer(warmup)
    model.fit(data, steps_per_epoch=warmup + steps, epochs=1, verbose=0, callbacks=[timer])
    return steps * recipe["batch_size"] / (timer.end - timer.start)


def training_rates(name: str, x, y, folder: Path, steps: int) -> dict[str, float]:
    recipe = get_version(name).recipe()
    batch = recipe["batch_size"]
    class_mode = "categorical" if recipe["loss"] == "categorical_crossentropy" else "sparse"
    cpu = CPU_PIPELINE_THREADS  # as train() runs on a CPU, for the baseline and ours alike

    def flow():
        return idg(recipe).flow_from_directory(
            folder, target_size=x.shape[1:3], batch_size=batch, class_mode=class_mode, seed=0
        )

    return {
        "seeds' way: ImageDataGenerator.flow_from_directory": train_rate(name, flow(), recipe, steps, jit=False),
        "in memory uint8, no augmentation, XLA off": train_rate(
            name, ours(x, y, recipe, batch, False, cpu), recipe, steps, jit=False
        ),
        "in memory uint8, no augmentation, XLA on": train_rate(
            name, ours(x, y, recipe, batch, False, cpu), recipe, steps, jit=True
        ),
        "kagglekit augmented tf.data, XLA off": train_rate(
            name, ours(x, y, recipe, batch, True, cpu), recipe, steps, jit=False
        ),
        "kagglekit augmented tf.data, XLA on": train_rate(
            name, ours(x, y, recipe, batch, True, cpu), recipe, steps, jit=True
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data-dir", type=Path, default=Path("data"), help="where the data stages wrote cifar-10 (default: data/)"
    )
    parser.add_argument("--images", type=int, default=4096, help="images to draw from (default: 4096)")
    parser.add_argument("--steps", type=int, default=100, help="timed training steps per measurement (default: 100)")
    parser.add_argument(
        "--pipeline-steps", type=int, default=200, help="timed batches per pipeline measurement (default: 200)"
    )
    parser.add_argument("--models", default="seed-task5,seed-cifar10-modeling", help="comma-separated versions")
    parser.add_argument("--json", type=Path, help="also write the numbers here")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        found = real_set(CompetitionPaths(args.data_dir), args.images)
        x, y, folder = found or generated_set(Path(tmp) / "train", args.images)
        source = (
            f"{args.data_dir}/cifar-10 (first {len(x)} training images)" if found else f"{len(x)} generated 32x32 PNGs"
        )
        cores = len(os.sched_getaffinity(0))
        print(
            f"# train_speed | {platform.processor() or platform.machine()}, {cores} cores | TF {tf.__version__}, Keras {keras.__version__} | {source}"
        )
        results: dict = {"pipeline": {}, "training": {}, "cores": cores, "source": source}
        for name in args.models.split(","):
            recipe = get_version(name).recipe()
            for batch in (recipe["batch_size"], 256):
                key = f"{name} augmentation, batch {batch}"
                print(f"\n## input pipeline alone: {key} (images/s)")
                numbers = pipeline_rates(
                    x, y, folder, recipe, args.pipeline_steps if batch < 256 else args.pipeline_steps // 4, batch
                )
                results["pipeline"][key] = numbers
                for label, value in numbers.items():
                    print(f"  {label:<48} {value:9.0f}")
        for name in args.models.split(","):
            print(f"\n## training {name}, batch {get_version(name).recipe()['batch_size']} (images/s)")
            numbers = training_rates(name, x, y, folder, args.steps)
            results["training"][name] = numbers
            for label, value in numbers.items():
                print(f"  {label:<52} {value:7.0f}")
            best_plain = max(v for k, v in numbers.items() if "no augmentation" in k)
            for jit in ("off", "on"):
                ratio = (
                    numbers[f"kagglekit augmented tf.data, XLA {jit}"]
                    / numbers[f"in memory uint8, no augmentation, XLA {jit}"]
                )
                print(f"  augmented / no augmentation, XLA {jit}: {ratio:.1%}")
            print(
                f"  best augmented / best no augmentation: {max(numbers[f'kagglekit augmented tf.data, XLA {j}'] for j in ('off', 'on')) / best_plain:.1%}"
            )
        if args.json:
            args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
