"""The real CIFAR-10 train set from ../shared, through kagglekit's own unpack and folders stages, once."""

from __future__ import annotations

from pathlib import Path

from kagglekit.data.folders import build_folders
from kagglekit.data.unpack import unpack_split
from kagglekit.paths import CompetitionPaths


def prepared_real_train(shared: Path, data_dir: Path) -> CompetitionPaths:
    """train.7z and trainLabels.csv linked into ``data_dir``'s raw/, unpacked and split (skipped when done)."""
    paths = CompetitionPaths(data_dir)
    if not paths.split_csv.exists():
        paths.raw.mkdir(parents=True, exist_ok=True)
        for name in ("train.7z", "trainLabels.csv"):
            if not (paths.raw / name).exists():
                (paths.raw / name).symlink_to((shared / name).resolve())
        unpack_split(paths, "train", True, progress=False)
        build_folders(paths)
    return paths
