"""Where every stage reads and writes, in one place.

``DATA/SLUG/`` holds one competition:

    raw/        what Kaggle serves (train.7z, test.7z, trainLabels.csv, sampleSubmission.csv)
    images/     train/<id>.png decoded from train.7z (test PNGs only with --write-test-files)
    cache/      <split>_images.npy (N,32,32,3 uint8) + <split>_ids.npy: what training and
                prediction read, because 300,000 small files are slow to write and read
    folders/    train/<class>/<id>.png, valid/<class>/<id>.png (hard links), classes.json,
                split.csv (id,label,subset)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_COMPETITION = "cifar-10"
DEFAULT_DATA_DIR = Path("data")
DEFAULT_REMOTE_DIR = Path("remote")  # `remote`: kernel folders, push records, pulled output
DEFAULT_VALID_FRACTION = 0.1  # share of each class that `folders` holds out for validation
DEFAULT_SPLIT_SEED = 0        # picks which images those are

TRAIN_ARCHIVE = "train.7z"
TEST_ARCHIVE = "test.7z"
TRAIN_LABELS = "trainLabels.csv"
SAMPLE_SUBMISSION = "sampleSubmission.csv"
COMPETITION_FILES = (TRAIN_ARCHIVE, TEST_ARCHIVE, TRAIN_LABELS, SAMPLE_SUBMISSION)


@dataclass(frozen=True)
class CompetitionPaths:
    """The directory tree of one competition under a data directory."""

    data_dir: Path
    slug: str = DEFAULT_COMPETITION

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

    @property
    def train_labels(self) -> Path:
        return self.raw / TRAIN_LABELS

    @property
    def sample_submission(self) -> Path:
        return self.raw / SAMPLE_SUBMISSION

    @property
    def classes_json(self) -> Path:
        return self.folders / "classes.json"

    @property
    def split_csv(self) -> Path:
        return self.folders / "split.csv"

    def cache_images(self, split: str) -> Path:
        return self.cache / f"{split}_images.npy"

    def cache_ids(self, split: str) -> Path:
        return self.cache / f"{split}_ids.npy"

    def unpacked_marker(self, split: str) -> Path:
        """Written last by `unpack`: the cache of ``split`` is complete."""
        return self.cache / f".{split}.complete"


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
