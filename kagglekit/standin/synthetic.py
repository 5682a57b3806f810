"""A small competition in cifar-10's exact format, made on the spot.

Tests and ``make demo`` need a competition without an account or a network,
and one a short training run can learn, so that a score "far above chance"
means the pipeline works. Each class gets its own colour and stripe direction,
drawn at a random phase under heavy noise: trivial for a CNN, impossible to
score on without reading the pixels.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import py7zr
from PIL import Image

from kagglekit.kaggle.competitions import CIFAR10_CLASSES
from kagglekit.paths import SAMPLE_SUBMISSION, TEST_ARCHIVE, TRAIN_ARCHIVE, TRAIN_LABELS

IMAGE_SIZE = 32
NOISE_SIGMA = 48.0  # on 0..255: enough that one pixel does not give the class away


@dataclass(frozen=True)
class CompetitionFiles:
    """The four files Kaggle serves, plus the hidden answers for the local server."""

    directory: Path
    train_archive: Path
    test_archive: Path
    train_labels: Path
    sample_submission: Path
    solution_csv: Path
    classes: tuple[str, ...]


def class_images(labels: np.ndarray, rng: np.random.Generator, size: int = IMAGE_SIZE) -> np.ndarray:
    """uint8 images (N, size, size, 3) whose colour and stripe angle encode the label."""
    n_classes = len(CIFAR10_CLASSES)
    palette = np.stack([_hue_to_rgb(k / n_classes) for k in range(n_classes)])  # (10, 3) in 0..1
    angles = np.pi * np.arange(n_classes) / n_classes
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    direction = np.cos(angles[labels])[:, None, None] * xx + np.sin(angles[labels])[:, None, None] * yy
    phase = rng.uniform(0, 2 * np.pi, size=(len(labels), 1, 1))
    stripes = 0.5 + 0.5 * np.sin(direction * (2 * np.pi / 8) + phase)  # (N, size, size)
    colour = palette[labels][:, None, None, :] * 200 + 25
    images = stripes[..., None] * colour + rng.normal(0, NOISE_SIGMA, size=(len(labels), size, size, 3))
    return np.clip(images, 0, 255).astype(np.uint8)


def png_bytes(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def write_png_archive(archive: Path, folder: str, ids: np.ndarray, images: np.ndarray) -> None:
    """A solid 7z of ``folder/<id>.png``, laid out as Kaggle's train.7z and test.7z are."""
    with py7zr.SevenZipFile(archive, "w") as seven_zip:
        for image_id, image in zip(ids, images):
            seven_zip.writestr(png_bytes(image), f"{folder}/{image_id}.png")


def make_competition(directory: Path, n_train: int = 1000, n_test: int = 500, seed: int = 0) -> CompetitionFiles:
    """Write train.7z, test.7z, trainLabels.csv, sampleSubmission.csv and solution.csv."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    n_classes = len(CIFAR10_CLASSES)
    train_labels = rng.integers(0, n_classes, size=n_train)
    test_labels = rng.integers(0, n_classes, size=n_test)
    train_ids = np.arange(1, n_train + 1)
    test_ids = np.arange(1, n_test + 1)

    files = CompetitionFiles(
        directory=directory,
        train_archive=directory / TRAIN_ARCHIVE,
        test_archive=directory / TEST_ARCHIVE,
        train_labels=directory / TRAIN_LABELS,
        sample_submission=directory / SAMPLE_SUBMISSION,
        solution_csv=directory / "solution.csv",
        classes=CIFAR10_CLASSES,
    )
    write_png_archive(files.train_archive, "train", train_ids, class_images(train_labels, rng))
    write_png_archive(files.test_archive, "test", test_ids, class_images(test_labels, rng))
    _write_id_label_csv(files.train_labels, train_ids, [CIFAR10_CLASSES[k] for k in train_labels])
    _write_id_label_csv(files.sample_submission, test_ids, ["cat"] * n_test)  # as Kaggle ships it
    _write_id_label_csv(files.solution_csv, test_ids, [CIFAR10_CLASSES[k] for k in test_labels])
    return files


def _write_id_label_csv(path: Path, ids: np.ndarray, labels: list[str]) -> None:
    lines = ["id,label"] + [f"{i},{label}" for i, label in zip(ids, labels)]
    path.write_text("\n".join(lines) + "\n")


def _hue_to_rgb(hue: float) -> np.ndarray:
    import colorsys

    return np.array(colorsys.hsv_to_rgb(hue, 0.9, 1.0))


# -- digit-recognizer ------------------------------------------------------------------

DIGIT_SIZE = 28
DIGIT_CLASSES = tuple(str(digit) for digit in range(10))


@dataclass(frozen=True)
class DigitRecognizerFiles:
    """digit-recognizer's three files, plus the hidden answers for the local server."""

    directory: Path
    train_csv: Path
    test_csv: Path
    sample_submission: Path
    solution_csv: Path
    classes: tuple[str, ...] = DIGIT_CLASSES


def make_digit_recognizer(directory: Path, n_train: int = 200, n_test: int = 100,
                          seed: int = 0) -> DigitRecognizerFiles:
    """Write train.csv, test.csv, sample_submission.csv and solution.csv in digit-recognizer's exact format.

    train.csv: ``label,pixel0..pixel783``, one 28x28 grey image per row (pixel<x>
    at row x // 28, column x % 28); test.csv: ``pixel0..pixel783``;
    sample_submission.csv: ``ImageId,Label`` with ImageId 1..n_test (test.csv's
    row number) and every Label 0, as Kaggle ships it. The images are
    :func:`class_images` in grey (the stripe angle still gives the digit away).
    solution.csv is ``id,label`` (ImageId, digit), the header the local server
    reads answers with. Every digit appears in train.csv when n_train >= 10.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    n_classes = len(DIGIT_CLASSES)
    train_labels = np.concatenate([np.arange(min(n_train, n_classes)),
                                   rng.integers(0, n_classes, size=max(0, n_train - n_classes))])
    rng.shuffle(train_labels)
    test_labels = rng.integers(0, n_classes, size=n_test)
    files = DigitRecognizerFiles(
        directory=directory,
        train_csv=directory / "train.csv",
        test_csv=directory / "test.csv",
        sample_submission=directory / "sample_submission.csv",
        solution_csv=directory / "solution.csv",
    )
    pixels = [f"pixel{i}" for i in range(DIGIT_SIZE * DIGIT_SIZE)]
    _write_pixel_csv(files.train_csv, ["label", *pixels], _grey_digits(train_labels, rng), train_labels)
    _write_pixel_csv(files.test_csv, pixels, _grey_digits(test_labels, rng))
    test_ids = np.arange(1, n_test + 1)
    files.sample_submission.write_text("ImageId,Label\n" + "".join(f"{i},0\n" for i in test_ids))
    _write_id_label_csv(files.solution_csv, test_ids, [DIGIT_CLASSES[k] for k in test_labels])
    return files


def _grey_digits(labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(N, 784) uint8: class_images at 28x28, averaged over colour, flattened row-major."""
    grey = class_images(labels, rng, size=DIGIT_SIZE).mean(axis=-1).round().astype(np.uint8)
    return grey.reshape(len(labels), -1)


def _write_pixel_csv(path: Path, header: list[str], pixels: np.ndarray, labels: np.ndarray | None = None) -> None:
    rows = pixels.astype(str)
    if labels is not None:
        rows = np.column_stack([labels.astype(str), rows])
    path.write_text(",".join(header) + "\n" + "".join(",".join(row) + "\n" for row in rows))
