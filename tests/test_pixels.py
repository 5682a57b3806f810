"""read_pixel_csv: digit-recognizer's pixel-column CSVs (plain or zipped) into uint8 images, strictly."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest

from kagglekit.data.pixels import read_pixel_csv
from kagglekit.exceptions import DataError, StageNotReadyError

SHAPE = (2, 3, 1)  # six pixel columns keep every file readable at a glance


def header(label: bool = True, n: int = 6) -> str:
    return ",".join((["label"] if label else []) + [f"pixel{i}" for i in range(n)])


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


def test_reads_labels_and_row_major_pixels(tmp_path: Path) -> None:
    csv = write(tmp_path / "train.csv", [header(), "7,0,1,2,3,4,255", "0,9,8,7,6,5,4"])
    images, labels = read_pixel_csv(csv, shape=SHAPE, label_column="label")
    assert images.dtype == np.uint8 and images.shape == (2, 2, 3, 1)
    assert images[0, :, :, 0].tolist() == [[0, 1, 2], [3, 4, 255]]
    assert labels.tolist() == ["7", "0"]  # class names, as every kagglekit label


def test_reads_a_test_csv_without_labels_from_a_zip(tmp_path: Path) -> None:
    csv = write(tmp_path / "test.csv", [header(label=False), "0,1,2,3,4,5", "5,4,3,2,1,0", "1,1,1,1,1,1"])
    with zipfile.ZipFile(tmp_path / "test.csv.zip", "w") as archive:
        archive.write(csv, "test.csv")
    images, labels = read_pixel_csv(tmp_path / "test.csv.zip", shape=SHAPE)
    assert labels is None
    assert images.shape == (3, 2, 3, 1) and images[1].ravel().tolist() == [5, 4, 3, 2, 1, 0]


def test_default_shape_is_digit_recognizers(tmp_path: Path) -> None:
    pixels = np.arange(784) % 256
    csv = write(tmp_path / "train.csv", [header(n=784), "3," + ",".join(map(str, pixels))])
    images, labels = read_pixel_csv(csv, label_column="label")
    assert images.shape == (1, 28, 28, 1) and labels.tolist() == ["3"]
    assert np.array_equal(images[0, :, :, 0], pixels.reshape(28, 28))


@pytest.mark.parametrize(
    "lines, message",
    [
        ([header().replace("pixel3", "pixel9"), "1,0,0,0,0,0,0"], r"header column 5 'pixel9', expected 'pixel3'"),
        ([header(label=False), "0,0,0,0,0,0"], r"has 6 columns in its header, expected 7"),
        ([header(), "1,0,0,0,0,0,0", "2,0,0,0,0,0"], r"row 2 \(line 3\) has 6 columns, expected 7"),
        ([header(), "1,0,0,0,0,0,0", "2,0,0,0,0,0,0,0"], r"row 2 \(line 3\) has 8 columns, expected 7"),
        ([header(), "1,0,0,0,0,0,0", "2,0,0,256,0,0,0"], r"row 2 \(line 3\) has pixel2 = 256, outside 0-255"),
        ([header(), "1,0,0,0,0,-1,0"], r"row 1 \(line 2\) has pixel4 = -1, outside 0-255"),
        (
            [header(), "1,0,0,0,0,0,0", "1,0,0,0,0,0,0", "3,0,x,0,0,0,0"],
            r"row 3 \(line 4\) has pixel1 = 'x', not a whole number",
        ),
        ([header(), "1,0,0,0,0,0,0.5"], r"row 1 \(line 2\) has pixel5 = '0.5', not a whole number"),
        ([header(), "1,0,0,,0,0,0"], r"row 1 \(line 2\) has pixel2 = '', not a whole number"),
        ([header(), "1,0,0,0,0,0,65541"], r"row 1 \(line 2\) has pixel5 = 65541, outside 0-255"),  # never wrapped to 5
        ([header(), "1,0,0,0,0,0,4294967301"], r"row 1 \(line 2\) has pixel5 = 4294967301, outside 0-255"),
        (
            [header(), "1,0,0,0,0,0,0", "1," + "9" * 30 + ",0,0,0,0,0"],
            r"row 2 \(line 3\) has pixel0 = 9{30}, outside 0-255",
        ),
        ([header(), ",0,0,0,0,0,0"], r"row 1 \(line 2\) has an empty label"),
        ([header()], r"has a header but no rows"),
    ],
)
def test_a_damaged_file_is_one_line_naming_the_row(tmp_path: Path, lines: list[str], message: str) -> None:
    csv = write(tmp_path / "train.csv", lines)
    with pytest.raises(DataError, match=message) as caught:
        read_pixel_csv(csv, shape=SHAPE, label_column="label")
    assert "\n" not in str(caught.value) and str(csv) in str(caught.value)


def test_a_zip_must_hold_exactly_one_csv(tmp_path: Path) -> None:
    with zipfile.ZipFile(tmp_path / "two.zip", "w") as archive:
        archive.writestr("train.csv", header() + "\n")
        archive.writestr("notes.txt", "hello")
    with pytest.raises(DataError, match="should hold one CSV file, but holds train.csv, notes.txt"):
        read_pixel_csv(tmp_path / "two.zip", shape=SHAPE, label_column="label")
    (tmp_path / "broken.zip").write_bytes(b"not a zip")
    with pytest.raises(DataError, match="not a readable zip"):
        read_pixel_csv(tmp_path / "broken.zip", shape=SHAPE)


def test_a_missing_file_names_the_fetch_stage(tmp_path: Path) -> None:
    with pytest.raises(StageNotReadyError, match="kagglekit fetch"):
        read_pixel_csv(tmp_path / "train.csv.zip")
