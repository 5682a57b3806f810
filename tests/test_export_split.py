"""bench/export_split.py: outside code (airbench's own script) must see exactly kagglekit's split."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from kagglekit.data.pipeline import load_split
from kagglekit.paths import CompetitionPaths

SCRIPT = Path(__file__).resolve().parents[1] / "bench" / "export_split.py"


def export(data_dir: Path, out: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--data-dir", str(data_dir), "--out", str(out), *extra],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_export_holds_the_split_that_training_reads(prepared: CompetitionPaths, tmp_path: Path) -> None:
    paths = prepared
    n_train = int((pd.read_csv(paths.split_csv)["subset"] == "train").sum())
    result = export(paths.data_dir, tmp_path / "split.npz")
    assert result.returncode == 0, result.stderr
    exported, expected = np.load(tmp_path / "split.npz"), load_split(paths)
    for name in ("x_train", "y_train", "x_valid", "y_valid"):
        np.testing.assert_array_equal(exported[name], getattr(expected, name))
    assert exported["x_train"].dtype == np.uint8 and exported["x_train"].shape == (n_train, 32, 32, 3)
    assert list(exported["classes"]) == expected.classes
    assert sorted(p.name for p in tmp_path.iterdir()) == ["split.npz"]  # no partial file left


def test_a_compressed_subset_holds_the_first_images_of_each_subset(prepared: CompetitionPaths, tmp_path: Path) -> None:
    """What bench/device_check.sh carries to the GPU machine."""
    result = export(prepared.data_dir, tmp_path / "real.npz", "--train", "30", "--valid", "7", "--compress")
    assert result.returncode == 0, result.stderr
    exported, expected = np.load(tmp_path / "real.npz"), load_split(prepared)
    np.testing.assert_array_equal(exported["x_train"], expected.x_train[:30])
    np.testing.assert_array_equal(exported["y_valid"], expected.y_valid[:7])
    assert exported["x_valid"].shape == (7, 32, 32, 3)
    assert exported.zip.getinfo("x_train.npy").compress_type == zipfile.ZIP_DEFLATED


def test_export_without_a_split_is_one_line_and_writes_nothing(tmp_path: Path) -> None:
    result = export(tmp_path / "nowhere", tmp_path / "split.npz")
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "kagglekit folders" in result.stderr
    assert not (tmp_path / "split.npz").exists()


def test_an_xz_export_holds_the_same_arrays(prepared: CompetitionPaths, tmp_path: Path) -> None:
    """bench/device_check.sh carries the whole split this way, split in two for the device machine's 64 MiB calls."""
    sys.path.insert(0, str(SCRIPT.parent))
    from export_split import load_npz

    result = export(prepared.data_dir, tmp_path / "real.npz.xz", "--xz")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "real.npz.xz").read_bytes()[:6] == b"\xfd7zXZ\x00"
    exported, expected = load_npz(tmp_path / "real.npz.xz"), load_split(prepared)
    for name in ("x_train", "y_train", "x_valid", "y_valid"):
        np.testing.assert_array_equal(exported[name], getattr(expected, name))
