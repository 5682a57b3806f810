"""Pixel-column CSVs: one image a row, its grey (or colour) values as columns, as Kaggle serves MNIST-like data.

digit-recognizer's ``train.csv`` is ``label,pixel0,...,pixel783`` (a 28x28 grey digit, row-major) and its
``test.csv`` the same without ``label``; both come zipped. ``read_pixel_csv`` turns either into the uint8
(N, H, W, C) array the image cache holds, in one chunked pandas pass (C parser; train.csv.zip, 42,000 x 785,
in 2.1-2.3 s and 230 MB peak on this 2-core EPYC, test.csv.zip in 0.8 s), and checks what a damaged or
different file would break: the header, every row's column count, every value a whole number in 0..255.
A problem is one line naming the file and the row (and, for a value, its column), as the other readers do;
only then is the file read again, slowly, with the csv module, to find that row.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterator

import numpy as np

from kagglekit.exceptions import DataError, StageNotReadyError, first_line

NUMBER = re.compile(r"\s*\d+\s*")  # a pixel: a non-negative whole number (its range is checked after parsing)
CHUNK_ROWS = 4096  # rows parsed at a time: 25 MB of int64 for 28x28 images


@contextmanager
def open_csv_text(path: Path) -> Iterator[IO[str]]:
    """The CSV's text: the file itself, or the one ``.csv`` member of a ``.zip`` (Kaggle zips large CSVs)."""
    path = Path(path)
    if not path.is_file():
        raise StageNotReadyError(f"{path} is missing; run `python -m kagglekit fetch` first.")
    if path.suffix.lower() != ".zip":
        with open(path, newline="", encoding="utf-8") as handle:
            yield handle
        return
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as error:
        raise DataError(f"{path} is not a readable zip ({first_line(error)}); fetch it again.") from None
    with archive:
        members = [
            info for info in archive.infolist() if not info.is_dir() and not info.filename.startswith("__MACOSX/")
        ]
        csvs = [info for info in members if info.filename.lower().endswith(".csv")]
        if len(csvs) != 1 or len(members) != 1:
            names = ", ".join(info.filename for info in members[:5]) or "nothing"
            raise DataError(f"{path} should hold one CSV file, but holds {names}; fetch it again.")
        with archive.open(csvs[0]) as raw:
            yield io.TextIOWrapper(raw, encoding="utf-8", newline="")


def expected_columns(prefix: str, shape: tuple[int, ...], label_column: str | None) -> list[str]:
    return ([label_column] if label_column else []) + [f"{prefix}{i}" for i in range(int(np.prod(shape)))]


def read_pixel_csv(
    path: Path,
    prefix: str = "pixel",
    shape: tuple[int, int, int] = (28, 28, 1),
    label_column: str | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """(uint8 images (N, *shape), labels as text (N,) or None) from a pixel-column CSV or a zip holding one.

    The header must be ``label_column`` (when given) then ``{prefix}0 .. {prefix}{H*W*C - 1}``, the
    pixels row-major with the channel last (what ``reshape(N, H, W, C)`` undoes). Labels stay text,
    as every kagglekit label does (class names; ``"7"`` for a digit). Any problem is a one-line
    DataError naming the row: line 1 is the header, so data row r is on line r + 1.
    """
    import pandas as pd

    path = Path(path)
    wanted = expected_columns(prefix, shape, label_column)
    # int64, not uint8: pandas wraps a value that overflows a narrower column (256 -> 0 as uint8, 2**32 + 5 -> 5
    # as int32) without a word; in int64 every value up to 2**63 stays what the file says, to be range-checked
    # here, and a longer one is an OverflowError. Read in chunks, each range-checked and narrowed to uint8 at
    # once, so memory stays the uint8 images plus one chunk (not 8 bytes a pixel: 264 MB for train.csv).
    dtypes: dict[str, object] = {name: np.int64 for name in wanted}
    if label_column:
        dtypes[label_column] = str
    images, labels, done = [], [], 0
    with open_csv_text(path) as text:
        header = check_header(path, text.readline(), wanted)
        try:
            for chunk in pd.read_csv(
                text, header=None, names=header, dtype=dtypes, na_filter=False, engine="c", chunksize=CHUNK_ROWS
            ):
                pixels = chunk.iloc[:, 1:] if label_column else chunk
                values = pixels.to_numpy()
                outside = (values < 0) | (values > 255)
                if outside.any():
                    row, column = np.argwhere(outside)[0]
                    raise DataError(
                        f"{path}: {where(done + row)} has {pixels.columns[column]} = {values[row, column]}, "
                        "outside 0-255; fix the file or fetch it again."
                    )
                images.append(values.astype(np.uint8).reshape(len(values), *shape))
                if label_column:
                    labels.append(chunk[label_column].str.strip().to_numpy(dtype=object))
                done += len(chunk)
        except (ValueError, OverflowError, pd.errors.ParserError, UnicodeDecodeError) as error:
            if isinstance(error, DataError):
                raise
            failure = first_line(error)
        else:
            failure = None
    if failure is not None:  # the fast pass failed: find the row, slowly, only now
        raise DataError(
            f"{path}: {find_bad_row(path, len(wanted), label_column) or failure}; fix the file or fetch it again."
        )
    if done == 0:
        raise DataError(f"{path} has a header but no rows; fetch it again.")
    if not label_column:
        return np.concatenate(images), None
    names = np.concatenate(labels)
    if (names == "").any():
        raise DataError(
            f"{path}: {where(int(np.flatnonzero(names == '')[0]))} has an empty {label_column}; "
            "fix the file or fetch it again."
        )
    return np.concatenate(images), names


def where(row: int) -> str:
    """Data row ``row`` (0-based) as a message names it: line 1 is the header."""
    return f"row {row + 1} (line {row + 2})"


def check_header(path: Path, line: str, wanted: list[str]) -> list[str]:
    """The header's column names, or a one-line DataError saying how they differ from ``wanted``."""
    if not line.strip():
        raise DataError(f"{path} is empty: no header line; fetch it again.")
    header = [name.strip() for name in next(csv.reader([line]))]
    if len(header) != len(wanted):
        raise DataError(
            f"{path} has {len(header)} columns in its header, expected {len(wanted)} "
            f"({wanted[0]},...,{wanted[-1]}); is it the right file?"
        )
    if header != wanted:
        column = next(i for i, (found, expected) in enumerate(zip(header, wanted)) if found != expected)
        raise DataError(
            f"{path} has header column {column + 1} {header[column]!r}, expected {wanted[column]!r} "
            f"(header {wanted[0]},...,{wanted[-1]}); is it the right file?"
        )
    return header


def find_bad_row(path: Path, n_columns: int, label_column: str | None) -> str | None:
    """What is wrong with the first bad row, in words naming it; None if every row looks right."""
    first_pixel = 1 if label_column else 0
    with open_csv_text(path) as text:
        reader = csv.reader(text)
        header = next(reader)
        row_number = 0
        for row in reader:
            if not row:  # a blank line, which pandas skips too
                continue
            row_number += 1
            here = f"row {row_number} (line {reader.line_num})"
            if len(row) != n_columns:
                return f"{here} has {len(row)} columns, expected {n_columns}"
            for column in range(first_pixel, n_columns):
                if not NUMBER.fullmatch(row[column]):
                    return f"{here} has {header[column].strip()} = {row[column]!r}, not a whole number 0-255"
                if int(row[column]) > 255:
                    return f"{here} has {header[column].strip()} = {row[column].strip()}, outside 0-255"
    return None
