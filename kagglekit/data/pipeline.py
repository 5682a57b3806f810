"""Training data: the data stage's uint8 cache in memory, served by tf.data on TensorFlow, numpy batches elsewhere.

Images stay one uint8 array (50,000 CIFAR images = 150 MB); each step gathers a
shuffled batch of indices and augments the whole batch at once, so there is no
per-image Python and no per-image op. The epoch's permutation and every batch's
augmentation come from stateless seeds (run seed, epoch, step): a run resumed at
epoch k sees exactly the batches it would have seen. On JAX, where TensorFlow
may be absent, the images live on the device instead (``device_data``); the
numpy views below serve prediction on any backend.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    import tensorflow as tf

from kagglekit.exceptions import DataError, StageNotReadyError
from kagglekit.paths import CompetitionPaths


@dataclass
class SplitData:
    """The training and validation images of one competition, in split.csv order."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_valid: np.ndarray
    y_valid: np.ndarray
    classes: list[str]
    source: str

    @property
    def n_classes(self) -> int:
        return len(self.classes)


def read_classes(paths: CompetitionPaths) -> list[str]:
    if not paths.classes_json.exists() or not paths.split_csv.exists():
        raise StageNotReadyError(f"no train/valid split in {paths.folders}; run `python -m kagglekit folders` first")
    try:
        return list(json.loads(paths.classes_json.read_text())["classes"])
    except (ValueError, KeyError, TypeError) as error:
        raise DataError(
            f"{paths.classes_json} is not a valid classes file ({error}); rerun `python -m kagglekit folders --force`"
        ) from None


def read_split(paths: CompetitionPaths) -> pd.DataFrame:
    try:
        split = pd.read_csv(paths.split_csv, dtype=str, keep_default_na=False)  # ids and labels are text: "7", not 7
    except (OSError, ValueError) as error:
        raise DataError(f"cannot read {paths.split_csv}: {error}") from None
    missing = {"id", "label", "subset"} - set(split.columns)
    if missing:
        raise DataError(
            f"{paths.split_csv} lacks columns {sorted(missing)}; rerun `python -m kagglekit folders --force`"
        )
    return split


def load_cache(paths: CompetitionPaths, split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """The cached images of ``split`` (memory-mapped) and their ids, checked for shape and agreement; at a
    version's own image size, built from raw/ first if need be."""
    from kagglekit.data.unpack import unpack_at_size

    unpack_at_size(paths, split)
    images_path, ids_path = paths.cache_images(split), paths.cache_ids(split)
    if not images_path.exists() or not ids_path.exists():
        raise StageNotReadyError(f"no image cache in {paths.pixel_cache}; run `python -m kagglekit unpack` first")
    try:
        images = np.load(images_path, mmap_mode="r")
    except (OSError, ValueError) as error:
        raise DataError(
            f"corrupt image cache {images_path}: {error}; rerun `python -m kagglekit unpack --force`"
        ) from None
    try:
        ids = np.load(ids_path)
    except (OSError, ValueError) as error:
        raise DataError(f"corrupt id cache {ids_path}: {error}; rerun `python -m kagglekit unpack --force`") from None
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] not in (1, 3):
        raise DataError(
            f"{images_path} holds {images.dtype}{images.shape}, expected uint8 (N,H,W,C) with C 1 or 3; rerun `python -m kagglekit unpack --force`"
        )
    if len(ids) != len(images):
        raise DataError(
            f"{ids_path} has {len(ids)} ids for {len(images)} images in {images_path}; rerun `python -m kagglekit unpack --force`"
        )
    return images, ids


def load_images(paths: CompetitionPaths, classes: list[str]) -> tuple[np.ndarray, np.ndarray, str]:
    """The cache when the unpack stage left one; else the class folders (slow: one PNG each)."""
    cache_present = paths.cache_images("train").exists() or paths.cache_ids("train").exists()
    if cache_present or paths.own_size or not (paths.folders / "train").is_dir():
        images, ids = load_cache(paths)
        return images, ids, str(paths.cache_images("train"))
    arrays, ids = [], []
    for subset in ("train", "valid"):
        root = paths.folders / subset
        images, _ = read_folder_images(root, classes)
        arrays.append(images)
        ids += [f.stem for name in classes for f in _image_files(root / name)]
    return np.concatenate(arrays), np.asarray(ids, dtype=str), str(paths.folders)


def load_split(paths: CompetitionPaths, limit: int | None = None) -> SplitData:
    """Train and valid arrays; ``limit`` keeps the first N of each subset (quick runs, tests)."""
    classes = read_classes(paths)
    split = read_split(paths)
    images, ids, source = load_images(paths, classes)
    index = pd.Index(ids.astype(str)).get_indexer(split["id"].to_numpy())  # ids are text (older caches: int64)
    if (index < 0).any():
        absent = split["id"][index < 0].head(3).tolist()
        raise DataError(
            f"{paths.split_csv} names ids missing from the cache (e.g. {absent}); rerun `python -m kagglekit folders --force`"
        )
    label_index = {name: i for i, name in enumerate(classes)}
    labels = split["label"].map(label_index)
    if labels.isna().any():
        bad = split["label"][labels.isna()].iloc[0]
        raise DataError(f"{paths.split_csv} has label {bad!r}, not in {paths.classes_json}")
    arrays = []
    for subset in ("train", "valid"):
        rows = np.flatnonzero(split["subset"].to_numpy() == subset)[:limit]
        if len(rows) == 0:
            raise DataError(f"{paths.split_csv} has no {subset!r} rows; rerun `python -m kagglekit folders --force`")
        arrays += [np.ascontiguousarray(images[index[rows]]), labels.to_numpy()[rows].astype(np.int32)]
    return SplitData(*arrays, classes=classes, source=source)


def data_fingerprint(paths: CompetitionPaths) -> dict[str, str]:
    """What a run trains and validates on, by content, so that a run is reused or resumed only on the same data.

    The split part hashes split.csv and classes.json (which image is in which subset, under which label:
    a new `folders --valid-fraction/--seed` or new labels change it); the images part hashes every
    training image with its id (a new train archive changes it, an identical re-download does not).
    ~0.2 s for cifar-10's 150 MB cache, read through the page cache.
    """
    split = hashlib.sha256(paths.split_csv.read_bytes() + paths.classes_json.read_bytes()).hexdigest()
    images, ids, _ = load_images(paths, read_classes(paths))
    digest = hashlib.sha256(str(images.shape).encode())
    # ids are text; all-digit ones (cifar-10's) are hashed as the int64 they were before ids became text,
    # so an unchanged competition keeps its fingerprint and its runs stay reusable
    numeric = ids.dtype.kind in "iu" or all(str(i).isdigit() and len(str(i)) < 19 for i in ids)
    hashed_ids = ids.astype(np.int64) if numeric else np.char.encode(ids.astype(str), "utf-8")
    for array in (hashed_ids, images):
        digest.update(memoryview(np.ascontiguousarray(array)).cast("B"))
    combined = hashlib.sha256(f"{split}:{digest.hexdigest()}".encode()).hexdigest()
    return {"fingerprint": combined[:16], "split_sha256": split, "images_sha256": digest.hexdigest()}


CPU_PIPELINE_THREADS = 1  # see train_dataset: on a CPU the model needs the cores, not the pipeline


def train_dataset(
    x: np.ndarray,
    y: np.ndarray,
    batch_size: int,
    seed: int,
    first_epoch: int,
    epochs: int,
    augment: object | None = None,
    n_classes: int | None = None,
    threads: int | None = None,
    alternating_flip: bool = False,
) -> tf.data.Dataset:
    """Batches for epochs [first_epoch, epochs): shuffled, augmented per batch, prefetched.

    ``augment`` is a RandomAffine (called with a stateless per-batch seed) or None
    (uint8 batches go out as they are, e.g. to a model that augments on the GPU).
    ``n_classes`` one-hot encodes labels, for categorical_crossentropy.
    ``threads`` caps the pipeline's threads. On a CPU that also trains the model,
    1 is right: augmenting a batch costs ~1 % of a training step, and more threads
    only take cores from XLA (measured: 90.7 % -> 101.8 % of the no-augmentation
    training rate, bench/RESULTS.md).
    ``alternating_flip`` mirrors a seeded half of the images in even epochs and
    the other half in odd ones (augment.flip_mode), before ``augment``.
    """
    import tensorflow as tf

    n = len(x)
    images, labels = tf.constant(x), tf.constant(y)
    base = tf.constant(seed, tf.int64)
    mirrored_first = tf.random.stateless_uniform([n], tf.stack([base, tf.constant(-1, tf.int64)])) < 0.5

    def epoch_batches(epoch: tf.Tensor) -> tf.data.Dataset:
        order = tf.random.experimental.stateless_shuffle(tf.range(n), seed=tf.stack([base, epoch]))
        batches = tf.data.Dataset.from_tensor_slices(order).batch(batch_size)
        return batches.enumerate().map(lambda step, idx: (epoch, step, idx))

    def load(epoch: tf.Tensor, step: tf.Tensor, idx: tf.Tensor):
        batch, target = tf.gather(images, idx), tf.gather(labels, idx)
        if alternating_flip:
            mirrored = tf.not_equal(tf.gather(mirrored_first, idx), tf.equal(epoch % 2, 1))
            batch = tf.where(mirrored[:, None, None, None], tf.reverse(batch, axis=[2]), batch)
        if augment is not None:
            batch = augment(batch, training=True, seed=tf.stack([base * 1_000_003 + epoch, step]))
        if n_classes:
            target = tf.one_hot(target, n_classes)
        return batch, target

    dataset = tf.data.Dataset.range(first_epoch, epochs).flat_map(epoch_batches)
    if threads is None:
        return dataset.map(load, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
    options = tf.data.Options()
    options.threading.private_threadpool_size = threads
    options.threading.max_intra_op_parallelism = 1
    return dataset.map(load, num_parallel_calls=threads).prefetch(2).with_options(options)


def eval_dataset(x: np.ndarray, y: np.ndarray | None, batch_size: int, n_classes: int | None = None) -> tf.data.Dataset:
    """Unaugmented batches in order (float32 pixels 0..255)."""
    import tensorflow as tf

    if y is None:
        dataset = tf.data.Dataset.from_tensor_slices(x).batch(batch_size).map(lambda b: tf.cast(b, tf.float32))
    else:
        target = tf.one_hot(y, n_classes).numpy() if n_classes else y
        dataset = tf.data.Dataset.from_tensor_slices((x, target)).batch(batch_size)
        dataset = dataset.map(lambda b, t: (tf.cast(b, tf.float32), t))
    return dataset.prefetch(tf.data.AUTOTUNE)


def view(batch: np.ndarray, flip: bool = False, shift: int = 0) -> np.ndarray:
    """One test-time view of a uint8 batch, as float32: ``flip`` mirrors left-right; ``shift`` moves
    the image by that many pixels down and right (negative: up and left), reflecting at the edges."""
    if flip:
        batch = batch[:, :, ::-1]
    if shift:
        pad = abs(shift)
        height, width = batch.shape[1:3]
        padded = np.pad(batch, ((0, 0), (pad, pad), (pad, pad), (0, 0)), mode="reflect")
        start = pad - shift
        batch = padded[:, start : start + height, start : start + width]
    return batch.astype(np.float32)


def streamed_batches(images: np.ndarray, batch_size: int, flip: bool = False, shift: int = 0) -> Iterator[np.ndarray]:
    """Views of ``images`` (an array or a memory map) read one batch at a time: memory stays one batch."""
    for start in range(0, len(images), batch_size):
        yield view(np.asarray(images[start : start + batch_size]), flip, shift)


def streamed_input(images: np.ndarray, batch_size: int, flip: bool = False, shift: int = 0) -> object:
    """``streamed_batches`` as ``model.predict`` takes them best: a prefetching tf.data pipeline on
    TensorFlow (never one tensor of the whole array: 300,000 test images would be 0.9 GB), the
    generator itself on other backends."""
    import keras

    if keras.backend.backend() != "tensorflow":

        class Views(keras.utils.PyDataset):  # a known length: Keras stops at the last batch without a warning
            def __len__(self) -> int:
                return steps_per_epoch(len(images), batch_size)

            def __getitem__(self, step: int) -> tuple[np.ndarray]:
                return (view(np.asarray(images[step * batch_size : (step + 1) * batch_size]), flip, shift),)

        return Views()
    import tensorflow as tf

    spec = tf.TensorSpec((None, *images.shape[1:]), tf.float32)
    dataset = tf.data.Dataset.from_generator(
        lambda: streamed_batches(images, batch_size, flip, shift), output_signature=spec
    )
    dataset = dataset.apply(tf.data.experimental.assert_cardinality(-(-len(images) // batch_size)))
    return dataset.prefetch(2)


def steps_per_epoch(n: int, batch_size: int) -> int:
    return -(-n // batch_size)


def _image_files(folder: Path) -> list[Path]:
    """The image files of a class folder, in natural id order ("2" before "10")."""
    from kagglekit.data.labels import natural_key

    return sorted(
        (f for f in folder.iterdir() if f.is_file() and not f.name.startswith(".")), key=lambda f: natural_key(f.stem)
    )


def read_folder_images(root: Path, classes: list[str], channels: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Decode ``root/<class>/<id>.<ext>`` (the seeds' layout) as RGB (or grey: ``channels`` 1); a file
    that fails to decode is named."""
    from PIL import Image

    images, labels = [], []
    for label, name in enumerate(classes):
        folder = root / name
        if not folder.is_dir():
            raise StageNotReadyError(f"class folder {folder} is missing; run `python -m kagglekit folders` first")
        for file in _image_files(folder):
            try:
                with Image.open(file) as image:
                    pixels = np.asarray(image.convert("L" if channels == 1 else "RGB"), dtype=np.uint8)
                    images.append(pixels[..., None] if pixels.ndim == 2 else pixels)
            except (OSError, ValueError) as error:
                raise DataError(f"corrupt image {file}: {error}") from None
            labels.append(label)
    return np.stack(images), np.asarray(labels, np.int32)
