"""Where every stage reads and writes, in one place.

``DATA/SLUG/`` holds one competition:

    raw/        what Kaggle serves, the files the competition's spec lists (cifar-10: train.7z,
                test.7z, trainLabels.csv, sampleSubmission.csv; a folder tree as raw/NAME/...)
    images/     train/<id>.<ext>: each training image as the archive holds it (PNG-encoded
                pixels for a pixel CSV); test images only with --write-test-files
    cache/      <split>_images.npy (N,H,W,C uint8, C = 1 or 3) + <split>_ids.npy (the ids as
                text, a numpy unicode array): what training and prediction read, because
                300,000 small files are slow to write and read; train_labels.csv (id,label)
                when the labels are not a CSV of raw/ (read off the paths, or a pixel CSV's own)
      <H>x<W>/  the same two arrays per split at a model version's own size (recipe key
                image_size), when it differs from the spec's: built from raw/ when first asked for
    folders/    train/<class>/<id>.<ext>, valid/<class>/<id>.<ext> (hard links), classes.json,
                split.csv (id,label,subset)

File names come from the competition's spec (kagglekit/competitions/SLUG.toml), read
the first time ``paths.spec`` is asked for, so making a CompetitionPaths costs nothing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from kagglekit.exceptions import UsageError

if TYPE_CHECKING:
    from kagglekit.competitions import CompetitionSpec

DEFAULT_COMPETITION = "cifar-10"
DEFAULT_DATA_DIR = Path("data")
DEFAULT_REMOTE_DIR = Path("remote")  # `remote`: kernel folders, push records, pulled output
DEFAULT_VALID_FRACTION = 0.1  # share of each class that `folders` holds out for validation
DEFAULT_SPLIT_SEED = 0  # picks which images those are

NORMALISED_LABELS = "train_labels.csv"  # cache/: id,label, written by unpack when labels are not a raw CSV
MAX_IMAGE_SIZE = 4096  # a side of a version's image_size: far past any photograph a CPU or GPU trains on here


@dataclass(frozen=True)
class CompetitionPaths:
    """The directory tree of one competition under a data directory.

    ``image_size`` is the (height, width) a model version asks its images at (recipe key image_size);
    None, or the spec's own size, reads the spec-size cache every other stage makes.
    """

    data_dir: Path
    slug: str = DEFAULT_COMPETITION
    image_size: tuple[int, int] | None = None

    def at_size(self, size: Sequence[int] | None) -> CompetitionPaths:
        """These paths with the pixel cache at ``size`` ([height, width]; None: the spec's)."""
        return replace(self, image_size=checked_image_size(size))

    @property
    def own_size(self) -> bool:
        """Whether the pixel cache is a version's own size, not the spec's (so it lives in cache/<H>x<W>/)."""
        return self.image_size is not None and self.image_size != self.spec.images.size

    @property
    def root(self) -> Path:
        return Path(self.data_dir) / self.slug

    @property
    def raw(self) -> Path:
        return self.root / "raw"

    @property
    def images(self) -> Path:
        return self.root / "images"

    @property
    def cache(self) -> Path:
        return self.root / "cache"

    @property
    def folders(self) -> Path:
        return self.root / "folders"

    @cached_property
    def spec(self) -> CompetitionSpec:
        """The competition's spec (yours in competitions/SLUG.toml first, else kagglekit's), read once."""
        from kagglekit.competitions import get_spec

        return get_spec(self.slug)

    def raw_file(self, name: str) -> Path:
        """Where fetch puts the spec's file ``name`` (a folder tree "NAME/" is the folder raw/NAME)."""
        return self.raw / name.rstrip("/")

    @property
    def competition_files(self) -> tuple[Path, ...]:
        """Every file (or folder tree) the spec lists, under raw/."""
        return tuple(self.raw_file(name) for name in self.spec.file_names)

    @property
    def train_labels(self) -> Path:
        """The CSV that `folders` reads labels from: the spec's CSV in raw/ when it has an id column; else
        (labels read off the image paths, or a pixel CSV's own column) the id,label file unpack writes."""
        from kagglekit.competitions import CsvLabels

        labels = self.spec.train_labels
        if isinstance(labels, CsvLabels) and labels.id is not None:
            return self.raw_file(labels.file)
        return self.normalised_labels

    @property
    def normalised_labels(self) -> Path:
        return self.cache / NORMALISED_LABELS

    @property
    def sample_submission(self) -> Path:
        return self.raw_file(self.spec.submission.sample)

    @property
    def classes_json(self) -> Path:
        return self.folders / "classes.json"

    @property
    def split_csv(self) -> Path:
        return self.folders / "split.csv"

    @property
    def pixel_cache(self) -> Path:
        """Where the pixel arrays at this size lie: cache/ at the spec's size, cache/<H>x<W>/ at a version's own."""
        if not self.own_size:
            return self.cache
        height, width = self.image_size
        return self.cache / f"{height}x{width}"

    def cache_images(self, split: str) -> Path:
        return self.pixel_cache / f"{split}_images.npy"

    def cache_ids(self, split: str) -> Path:
        return self.pixel_cache / f"{split}_ids.npy"

    def unpacked_marker(self, split: str) -> Path:
        """Written last by `unpack`: the cache of ``split`` is complete."""
        return self.pixel_cache / f".{split}.complete"


def checked_image_size(size: Sequence[int] | None) -> tuple[int, int] | None:
    """A recipe's image_size as (height, width), or one line saying what it must be."""
    if size is None:
        return None
    if (
        not isinstance(size, (list, tuple))
        or len(size) != 2
        or not all(
            isinstance(side, int) and not isinstance(side, bool) and 1 <= side <= MAX_IMAGE_SIZE for side in size
        )
    ):
        raise UsageError(
            f"recipe key image_size wants [height, width], two whole numbers from 1 to {MAX_IMAGE_SIZE}, "
            f"or null for the competition spec's size; got {size!r}"
        )
    return int(size[0]), int(size[1])


def in_kaggle_notebook() -> bool:
    """Kaggle sets KAGGLE_KERNEL_RUN_TYPE in every notebook session."""
    return bool(os.environ.get("KAGGLE_KERNEL_RUN_TYPE"))


# -- Kaggle notebooks: what is kept and what is scratch ------------------------------
# /kaggle/working becomes the notebook's output (20 GB, listings stop at 500 files), so
# only runs and submission records go there; ~100,000 PNGs, their links and ~1 GB of
# .npy go to /kaggle/temp, which is not kept. Both roots can be moved, for tests.
KAGGLE_WORKING_ENV = "KAGGLEKIT_KAGGLE_WORKING"
KAGGLE_TEMP_ENV = "KAGGLEKIT_KAGGLE_TEMP"


def kaggle_working() -> Path:
    """Where a Kaggle notebook's kept output goes."""
    return Path(os.environ.get(KAGGLE_WORKING_ENV) or "/kaggle/working")


def kaggle_temp() -> Path:
    """A Kaggle notebook's scratch space."""
    return Path(os.environ.get(KAGGLE_TEMP_ENV) or "/kaggle/temp")


def default_data_dir() -> Path:
    return kaggle_temp() / "data" if in_kaggle_notebook() else DEFAULT_DATA_DIR


def default_runs_dir() -> Path:
    return kaggle_working() / "runs" if in_kaggle_notebook() else Path("runs")


def default_submissions_dir() -> Path:
    return kaggle_working() / "submissions" if in_kaggle_notebook() else Path("submissions")
