"""Train ``best`` (and ``fast``, the baseline) on a GPU with Keras 3 on JAX, and print their curves side by side.

    KERAS_BACKEND=jax python bench/best_gpu.py --data-dir data --out bench/out/gpu

Why JAX: the GPU machines this project is lent have PyTorch and JAX but no
TensorFlow, and Keras 3 runs on either. Everything that decides accuracy is
kagglekit's own code, run unchanged: the registry's recipe, the architecture
and its layers (whitening, Dirac init, scaled biases), ``models.compile`` (loss,
Nesterov SGD, triangular schedule), ``weight_callbacks`` (lookahead, the
whitening bias frozen after 3 epochs), ``pipeline.load_split`` (the same seeded
45,000 / 5,000 split) and ``runs.TTA_VIEWS``. Only the input pipeline is
rewritten, because ``pipeline.train_dataset`` is tf.data: here numpy draws the
same augmentation per batch (alternating flip, whole-pixel translation with
symmetric reflection as ``augment.RandomAffine`` fills, cutout) on a
background thread. Mixed precision is float16, as ``devices.detect`` picks for
a GPU.

Data: a ``--data-dir`` as ``kagglekit unpack`` and ``folders`` leave it
(``cifar-10/cache`` and ``cifar-10/folders``). Results: one JSON per version
under ``--out``, written after every epoch, so a run cut short still reports.
"""

from __future__ import annotations

import argparse
import os
import queue
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import numpy as np

os.environ.setdefault("KERAS_BACKEND", "jax")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import jax  # noqa: E402  (the backend named above)
import keras  # noqa: E402

from kagglekit.jsonfiles import write_json  # noqa: E402
from kagglekit.models import get_version, version_id  # noqa: E402
from kagglekit.models.compile import compile_model  # noqa: E402
from kagglekit.paths import CompetitionPaths  # noqa: E402
from kagglekit.pipeline import SplitData, load_split, steps_per_epoch  # noqa: E402
from kagglekit.runs import TTA_VIEWS  # noqa: E402
from kagglekit.weight_callbacks import Lookahead, freezes  # noqa: E402

PREFETCH_BATCHES = 6  # augmented batches the background thread keeps ready
EVAL_BATCH = 1000     # images per prediction step


# ---- augmentation: kagglekit.pipeline + augment.RandomAffine, in numpy ----------------------

def augment_batch(images: np.ndarray, mirror: np.ndarray, recipe: dict[str, Any], rng: np.random.Generator) -> np.ndarray:
    """Mirror the chosen images, move each by whole pixels (symmetric reflection at the edges), cut out a square."""
    n, height, width, _ = images.shape
    images = np.where(mirror[:, None, None, None], images[:, :, ::-1], images)
    pad = int(recipe["translate"])
    if pad:
        padded = np.pad(images, ((0, 0), (pad, pad), (pad, pad), (0, 0)), mode="symmetric")
        dy, dx = rng.integers(-pad, pad + 1, size=(2, n))
        rows = np.arange(height)[None, :] + pad + dy[:, None]
        cols = np.arange(width)[None, :] + pad + dx[:, None]
        images = padded[np.arange(n)[:, None, None], rows[:, :, None], cols[:, None, :]]
    side = int(recipe["cutout"])
    if side:
        top, left = rng.integers(0, min(height, width) - side + 1, size=(2, n))
        inside_rows = (np.arange(height)[None, :] >= top[:, None]) & (np.arange(height)[None, :] < top[:, None] + side)
        inside_cols = (np.arange(width)[None, :] >= left[:, None]) & (np.arange(width)[None, :] < left[:, None] + side)
        images = images * ~(inside_rows[:, :, None] & inside_cols[:, None, :])[..., None]
    return images


def training_batches(data: SplitData, recipe: dict[str, Any], batch_size: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Every epoch's batches in order, seeded by (seed, epoch, step), as ``pipeline.train_dataset`` serves them."""
    seed, n = int(recipe["seed"]), len(data.x_train)
    targets = np.eye(data.n_classes, dtype=np.float32)[data.y_train]
    flip = recipe["flip"]
    mirrored_first = np.random.default_rng([seed, 1]).random(n) < 0.5
    for epoch in range(int(recipe["epochs"])):
        order = np.random.default_rng([seed, 2, epoch]).permutation(n)
        for step, start in enumerate(range(0, n, batch_size)):
            index = order[start:start + batch_size]
            rng = np.random.default_rng([seed, 3, epoch, step])
            if flip == "alternating":
                mirror = mirrored_first[index] ^ bool(epoch % 2)
            else:
                mirror = (rng.random(len(index)) < 0.5) if flip else np.zeros(len(index), bool)
            yield augment_batch(data.x_train[index], mirror, recipe, rng).astype(np.float32), targets[index]


def prefetched(batches: Iterator[Any], depth: int = PREFETCH_BATCHES) -> Iterator[Any]:
    """Run ``batches`` on a background thread so augmentation overlaps the GPU's step."""
    ready: queue.Queue = queue.Queue(depth)
    done = object()

    def fill() -> None:
        for item in batches:
            ready.put(item)
        ready.put(done)

    threading.Thread(target=fill, daemon=True).start()
    while (item := ready.get()) is not done:
        yield item


# ---- evaluation: runs.TTA_VIEWS over numpy views, as pipeline.streamed_dataset makes them -----

def view(images: np.ndarray, flip: bool, shift: int) -> np.ndarray:
    if flip:
        images = images[:, :, ::-1]
    if shift:
        pad = abs(shift)
        padded = np.pad(images, ((0, 0), (pad, pad), (pad, pad), (0, 0)), mode="reflect")
        start = pad - shift
        images = padded[:, start:start + images.shape[1], start:start + images.shape[2]]
    return images.astype(np.float32)


def accuracy(model: keras.Model, data: SplitData, tta: str) -> float:
    logits = sum(weight * model.predict(view(data.x_valid, flip, shift), batch_size=EVAL_BATCH, verbose=0)
                 for weight, flip, shift in TTA_VIEWS[tta])
    return float((np.argmax(logits, axis=1) == data.y_valid).mean())


# ---- one version ------------------------------------------------------------------------------

class EpochTable(keras.callbacks.Callback):
    """One printed row and one saved JSON per epoch: losses, accuracies, training-only seconds and images/s."""

    def __init__(self, result: dict[str, Any], path: Path, n_train: int) -> None:
        super().__init__()
        self.result, self.path, self.n_train = result, path, n_train

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self.started = time.perf_counter()

    def on_test_begin(self, logs: dict | None = None) -> None:
        self.trained = time.perf_counter() - self.started

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = logs or {}
        row = {"epoch": epoch + 1, "loss": logs.get("loss"), "accuracy": logs.get("accuracy"),
               "val_loss": logs.get("val_loss"), "val_accuracy": logs.get("val_accuracy"),
               "train_seconds": self.trained, "seconds": time.perf_counter() - self.started,
               "images_per_second": self.n_train / self.trained}
        self.result["epochs"].append(row)
        print(f"{row['epoch']:5d} | {row['loss']:10.4f} | {row['accuracy']:9.4f} | {row['val_loss']:8.4f} | "
              f"{row['val_accuracy']:7.4f} | {row['images_per_second']:7.0f} | {row['seconds']:6.1f}", flush=True)
        write_json(self.path, self.result)


def train_version(name: str, data: SplitData, args: argparse.Namespace) -> dict[str, Any]:
    version = get_version(name)
    recipe = version.recipe({"seed": args.seed, "epochs": args.epochs, "limit": args.limit})
    batch_size = int(recipe["batch_size"])
    steps = steps_per_epoch(len(data.x_train), batch_size)
    keras.utils.set_random_seed(int(recipe["seed"]))
    keras.mixed_precision.set_global_policy(args.mixed_precision)
    model = version.architecture(recipe, data.x_train.shape[1:], data.n_classes)
    compile_model(model, recipe, steps, jit_compile=True)
    model.optimizer.build(model.trainable_variables)
    version.prepare(model, data.x_train, int(recipe["seed"]))
    keras.mixed_precision.set_global_policy("float32")

    result = {"version_id": version_id(recipe), "recipe": recipe, "device": device_name(), "keras": keras.__version__,
              "backend": f"{keras.backend.backend()} {jax.__version__}", "mixed_precision": args.mixed_precision,
              "n_train": len(data.x_train), "n_valid": len(data.x_valid), "parameters": model.count_params(),
              "epochs": []}
    path = args.out / f"{name}-seed{recipe['seed']}.json"
    print(f"\n# {result['version_id']} seed {recipe['seed']} | {result['parameters']:,} parameters | batch {batch_size} | "
          f"{recipe['epochs']} epochs x {steps} steps | {result['device']} | keras {result['keras']} on {result['backend']} | "
          f"{args.mixed_precision}")
    print("epoch | train loss | train acc | val loss | val acc |   img/s |   time", flush=True)
    callbacks = [EpochTable(result, path, len(data.x_train)),
                 *([Lookahead(int(recipe["epochs"]) * steps)] if recipe["lookahead"] else []), *freezes(recipe, model)]
    started = time.perf_counter()
    model.fit(prefetched(training_batches(data, recipe, batch_size)), steps_per_epoch=steps, epochs=int(recipe["epochs"]),
              validation_data=(data.x_valid.astype(np.float32), np.eye(data.n_classes, dtype=np.float32)[data.y_valid]),
              validation_batch_size=EVAL_BATCH, callbacks=callbacks, shuffle=False, verbose=0)
    result["wall_seconds"] = time.perf_counter() - started
    result["train_seconds"] = sum(row["train_seconds"] for row in result["epochs"])
    result["val_accuracy"] = accuracy(model, data, "none")
    result["tta"] = recipe["tta"]
    result["val_accuracy_tta"] = accuracy(model, data, recipe["tta"])
    write_json(path, result)
    print(f"# {name}: validation accuracy {result['val_accuracy']:.4f}, {result['val_accuracy_tta']:.4f} with {recipe['tta']} TTA; "
          f"{result['train_seconds']:.0f} s training ({result['wall_seconds']:.0f} s with validation and compilation)", flush=True)
    return result


def device_name() -> str:
    device = jax.devices()[0]
    return f"{device.platform.upper()} {getattr(device, 'device_kind', '')}".strip()


def summary(results: list[dict[str, Any]]) -> None:
    print("\nversion         | params | epochs | val acc | TTA acc | train s | steady img/s | device")
    for result in results:
        steady = statistics.median(row["images_per_second"] for row in result["epochs"][1:] or result["epochs"])
        print(f"{result['version_id']:15s} | {result['parameters'] / 1e6:5.1f}M | {len(result['epochs']):6d} | "
              f"{result['val_accuracy']:7.4f} | {result['val_accuracy_tta']:7.4f} | {result['train_seconds']:7.0f} | "
              f"{steady:12.0f} | {result['device']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path("data"), help="holds COMPETITION/cache and COMPETITION/folders")
    parser.add_argument("--competition", default="cifar-10", help="Kaggle slug under --data-dir")
    parser.add_argument("--models", nargs="+", default=["fast", "best"], help="versions to train, in order (the first is the baseline)")
    parser.add_argument("--seed", type=int, default=0, help="recipe seed: augmentation, initialisation, whitening sample")
    parser.add_argument("--epochs", type=int, default=None, help="override every version's epochs (smoke runs)")
    parser.add_argument("--limit", type=int, default=None, help="first N train and valid images only (smoke runs)")
    parser.add_argument("--mixed-precision", default="mixed_float16", choices=["mixed_float16", "mixed_bfloat16", "float32"],
                        help="Keras dtype policy while building (kagglekit uses mixed_float16 on GPUs)")
    parser.add_argument("--out", type=Path, default=Path("bench/out/gpu"), help="one JSON per version, rewritten each epoch")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    data = load_split(CompetitionPaths(args.data_dir, args.competition), args.limit)
    summary([train_version(name, data, args) for name in args.models])


if __name__ == "__main__":
    main()
