"""folders: the class-folder layout that ``flow_from_directory`` and
``keras.utils.image_dataset_from_directory`` read, plus a seeded, stratified
validation split that every later stage shares.

The labels come from where the competition's spec says: the columns it names
of a CSV in raw/ (cifar-10: trainLabels.csv's id and label), or the
``cache/train_labels.csv`` (id,label) that unpack wrote from the image paths or
a pixel CSV's own column. Ids are text.

Outputs under ``DATA/SLUG/folders/``:

    train/<class>/<id>.<ext>, valid/<class>/<id>.<ext>   hard links into images/train/
    classes.json   {"classes": [...], "counts": {...}, "valid_fraction", "seed"}: the spec's
                   classes when it fixes them (in its order), else the labels found, sorted
    split.csv      id,label,subset in natural id order: what training reads with the pixel cache

Hard links cost one directory entry each (no data copied); a filesystem that
refuses them (another device, some network mounts) gets copies instead.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from kagglekit.competitions import CsvLabels
from kagglekit.data.labels import describe_ids, describe_rows, natural_key, raise_if_problems, read_label_rows
from kagglekit.exceptions import DataError, StageNotReadyError, UsageError
from kagglekit.markers import clear_complete, fingerprint, is_complete, mark_complete
from kagglekit.outputs import fresh_partial_dir, move_into_place
from kagglekit.paths import DEFAULT_SPLIT_SEED, DEFAULT_VALID_FRACTION, CompetitionPaths

if TYPE_CHECKING:  # pandas takes 0.4 s to import; a folders run that is already complete needs none of it
    import pandas as pd
SUBSETS = ("train", "valid")
LINK_FAILURES = {errno.EXDEV, errno.EPERM, errno.EACCES, errno.EMLINK, errno.ENOTSUP}


@dataclass(frozen=True)
class FoldersSummary:
    classes: list[str]
    train: int
    valid: int
    copied: bool
    seconds: float
    skipped: bool


def build_folders(
    paths: CompetitionPaths,
    valid_fraction: float = DEFAULT_VALID_FRACTION,
    seed: int = DEFAULT_SPLIT_SEED,
    force: bool = False,
) -> FoldersSummary:
    """Split the training labels and lay the training images out by class."""
    if not 0.0 <= valid_fraction < 1.0:
        raise UsageError(f"--valid-fraction must be in [0, 1), got {valid_fraction}.")
    unpack_marker = paths.unpacked_marker("train")
    if not unpack_marker.is_file():
        raise StageNotReadyError(
            f"the train images are not unpacked; run `python -m kagglekit unpack --data-dir {paths.data_dir}` first."
        )
    stamp = fingerprint([paths.train_labels, unpack_marker], valid_fraction=valid_fraction, seed=seed)
    if not force and is_complete(paths.folders, stamp):
        return _summary_of_existing(paths)

    started = time.perf_counter()
    labels = read_labels(paths)
    split = stratified_split(labels, valid_fraction, seed)
    copied = _build_tree(paths, split, valid_fraction, seed)
    mark_complete(paths.folders, stamp, images=len(split))
    counts = split["subset"].value_counts()
    classes = class_list(paths, split)
    return FoldersSummary(
        classes,
        int(counts.get("train", 0)),
        int(counts.get("valid", 0)),
        copied,
        time.perf_counter() - started,
        skipped=False,
    )


def read_labels(paths: CompetitionPaths) -> pd.DataFrame:
    """The training labels (``id``, ``label``, text), checked against the spec's classes and the unpacked images.

    Every kind of problem is reported at once, so one fix-and-rerun fixes them all.
    """
    source = paths.spec.train_labels
    if isinstance(source, CsvLabels) and source.id is not None:
        hint = "fix the file or fetch it again with `python -m kagglekit fetch --force`"
        labels, problems = read_label_rows(paths.train_labels, source.id, source.column, hint)
    else:  # written by unpack from the image paths or the pixel CSV
        hint = "unpack again with `python -m kagglekit unpack --force`"
        labels, problems = read_label_rows(paths.train_labels, "id", "label", hint, exact=True)
    allowed = paths.spec.classes
    if allowed is not None:
        problems += _class_problems(labels, allowed, paths.slug)
    problems += _folder_name_problems(labels)
    problems += _id_problems(labels["id"].to_numpy(dtype=str), np.load(paths.cache_ids("train")).astype(str), paths)
    raise_if_problems(paths.train_labels, problems, hint)
    return labels.reset_index(drop=True)


def class_list(paths: CompetitionPaths, labels: pd.DataFrame) -> list[str]:
    """The spec's classes when it fixes them (in its order), else the labels found, sorted."""
    fixed = paths.spec.classes
    return list(fixed) if fixed is not None else sorted(labels["label"].unique())


def _folder_name_problems(labels: pd.DataFrame) -> list[str]:
    """A label names a folder: one with a path separator, or "." or "..", cannot."""
    bad = labels.index[labels["label"].str.contains(r"[/\\\x00]", regex=True) | labels["label"].isin([".", ".."])]
    if not len(bad):
        return []
    examples = ", ".join(repr(v) for v in sorted(set(labels.loc[bad, "label"]))[:3])
    return [describe_rows(bad, f"with a label that cannot name a class folder ({examples})")]


def _class_problems(labels: pd.DataFrame, allowed: tuple[str, ...], slug: str) -> list[str]:
    """Labels outside the competition's classes, and classes with no row at all (a cut-off file)."""
    problems = []
    unknown = labels.index[~labels["label"].isin(allowed) & (labels["label"] != "")]
    if len(unknown):
        examples = ", ".join(sorted(set(labels.loc[unknown, "label"]))[:3])
        problems.append(
            describe_rows(unknown, f"with a label outside the {len(allowed)} classes of {slug} ({examples})")
        )
    absent = sorted(set(allowed) - set(labels["label"]))
    if absent:
        problems.append(f"{len(absent)} of the {len(allowed)} classes of {slug} have no row ({', '.join(absent)})")
    return problems


def _id_problems(label_ids: np.ndarray, image_ids: np.ndarray, paths: CompetitionPaths) -> list[str]:
    without_image = np.setdiff1d(label_ids, image_ids)
    without_label = np.setdiff1d(image_ids, label_ids)
    problems = []
    if len(without_image):
        problems.append(describe_ids(without_image.tolist(), f"in {paths.train_labels.name} have no image"))
    if len(without_label):
        problems.append(describe_ids(without_label.tolist(), "of unpacked images have no label"))
    return problems


def stratified_split(labels: pd.DataFrame, valid_fraction: float, seed: int) -> pd.DataFrame:
    """Hold out ``valid_fraction`` of every class, chosen by ``seed``, sorted by id.

    Per class, not overall, so a rare class is never missing from validation.
    """
    rng = np.random.default_rng(seed)
    subset = np.full(len(labels), "train", dtype=object)
    for _, positions in sorted(labels.groupby("label").indices.items()):
        n_valid = int(round(len(positions) * valid_fraction))
        subset[rng.permutation(positions)[:n_valid]] = "valid"
    split = labels.assign(subset=subset)
    order = sorted(range(len(split)), key=lambda row: natural_key(split["id"].iat[row]))
    return split.iloc[order].reset_index(drop=True)


def _build_tree(paths: CompetitionPaths, split: pd.DataFrame, valid_fraction: float, seed: int) -> bool:
    """Build the whole tree under ``folders.partial`` and swap it in, so a crash leaves no half tree."""
    clear_complete(paths.folders)
    partial = fresh_partial_dir(paths.folders)
    classes = class_list(paths, split)
    for subset in SUBSETS:
        for name in classes:
            (partial / subset / name).mkdir(parents=True)
    copied = _link_images(paths.images / "train", partial, split)
    split.to_csv(partial / "split.csv", index=False)
    counts = {
        name: {s: int(n) for s, n in group["subset"].value_counts().items()} for name, group in split.groupby("label")
    }
    (partial / "classes.json").write_text(
        json.dumps({"classes": classes, "counts": counts, "valid_fraction": valid_fraction, "seed": seed}, indent=2)
    )
    move_into_place(partial, paths.folders)
    return copied


def image_files(source: Path) -> dict[str, str]:
    """``{id: file name}`` of images/train/, where unpack wrote ``<id>.<ext>`` (the member's own extension; just
    ``<id>`` when the id ends in it, as ``0050f38b3.png`` does)."""
    if not source.is_dir():
        return {}
    names = [entry.name for entry in os.scandir(source) if not entry.name.startswith(".")]
    files = {Path(name).stem: name for name in names}
    files.update({name: name for name in names})
    return files


def _link_images(source: Path, target: Path, split: pd.DataFrame) -> bool:
    """Hard-link every image into its class folder; True if we had to copy instead."""
    copy = False
    files = image_files(source)
    for image_id, label, subset in split[["id", "label", "subset"]].itertuples(index=False):
        name = files.get(image_id, f"{image_id}.png")  # absent: the error below names the file it wanted
        src = source / name
        dst = target / subset / label / name
        if not copy:
            try:
                os.link(src, dst)
                continue
            except FileNotFoundError:
                raise DataError(f"{src} is missing; unpack again with `python -m kagglekit unpack --force`.") from None
            except OSError as error:
                if error.errno not in LINK_FAILURES:
                    raise
                copy = True
        try:
            shutil.copyfile(src, dst)
        except FileNotFoundError:
            raise DataError(f"{src} is missing; unpack again with `python -m kagglekit unpack --force`.") from None
    return copy


def _summary_of_existing(paths: CompetitionPaths) -> FoldersSummary:
    info = json.loads(paths.classes_json.read_text())
    totals = {subset: sum(c.get(subset, 0) for c in info["counts"].values()) for subset in SUBSETS}
    return FoldersSummary(info["classes"], totals["train"], totals["valid"], False, 0.0, skipped=True)
