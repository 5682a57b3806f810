"""folders: class folders and the validation split, from real unpacked archives."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pandas as pd
import pytest

from builders import raw_competition, write_labels
from kagglekit import folders
from kagglekit.cli import main
from kagglekit.exceptions import DataError, StageNotReadyError
from kagglekit.folders import build_folders
from kagglekit.paths import CompetitionPaths
from kagglekit.pipeline import read_classes
from kagglekit.synthetic import CompetitionFiles
from kagglekit.unpack import unpack_competition


@pytest.fixture(scope="module")
def unpacked_template(competition_files: CompetitionFiles, tmp_path_factory: pytest.TempPathFactory) -> CompetitionPaths:
    paths = raw_competition(competition_files, tmp_path_factory.mktemp("template") / "data")
    unpack_competition(paths, progress=False)
    return paths


@pytest.fixture
def paths(unpacked_template: CompetitionPaths, tmp_path: Path) -> CompetitionPaths:
    """A private copy of an unpacked competition, to break at will."""
    import shutil

    target = tmp_path / "data"
    shutil.copytree(unpacked_template.data_dir, target, copy_function=shutil.copy2)
    return CompetitionPaths(target)


def labels_of(paths: CompetitionPaths) -> pd.DataFrame:
    return pd.read_csv(paths.train_labels)


def test_every_class_is_split_in_proportion(paths: CompetitionPaths) -> None:
    summary = build_folders(paths, valid_fraction=0.25, seed=3)

    split = pd.read_csv(paths.split_csv)
    assert summary.train + summary.valid == 60 == len(split)
    for label, group in split.groupby("label"):
        assert (group["subset"] == "valid").sum() == round(len(group) * 0.25), label
    assert read_classes(paths) == sorted(labels_of(paths)["label"].unique())
    # the folder tree says the same as split.csv, by hard link to the unpacked image
    for row in split.itertuples():
        linked = paths.folders / row.subset / row.label / f"{row.id}.png"
        assert os.path.samefile(linked, paths.images / "train" / f"{row.id}.png")
    assert sum(1 for _ in (paths.folders / "valid").rglob("*.png")) == summary.valid


def test_split_is_fixed_by_the_seed(paths: CompetitionPaths) -> None:
    build_folders(paths, seed=1)
    first = pd.read_csv(paths.split_csv)
    build_folders(paths, seed=1, force=True)
    assert pd.read_csv(paths.split_csv).equals(first)
    build_folders(paths, seed=2)  # a new seed is a new fingerprint: rebuilt without --force
    assert not pd.read_csv(paths.split_csv)["subset"].equals(first["subset"])


def test_complete_folders_are_skipped(paths: CompetitionPaths, monkeypatch: pytest.MonkeyPatch) -> None:
    first = build_folders(paths)
    made = {p.name: p.stat().st_mtime_ns for p in paths.folders.iterdir()}
    builds: list[int] = []
    real_build = folders._build_tree
    monkeypatch.setattr(folders, "_build_tree", lambda *args: builds.append(1) or real_build(*args))

    again = build_folders(paths)
    assert again.skipped and (again.classes, again.train, again.valid) == (first.classes, first.train, first.valid)
    assert builds == [] and {p.name: p.stat().st_mtime_ns for p in paths.folders.iterdir()} == made


def test_copies_where_hard_links_are_refused(paths: CompetitionPaths, monkeypatch: pytest.MonkeyPatch) -> None:
    def cross_device(src: str, dst: str) -> None:
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(os, "link", cross_device)  # what a second filesystem answers
    summary = build_folders(paths)
    assert summary.copied
    some = next((paths.folders / "train").rglob("*.png"))
    assert some.read_bytes() == (paths.images / "train" / some.name).read_bytes()
    assert not os.path.samefile(some, paths.images / "train" / some.name)


def test_needs_unpack_first(tmp_path: Path) -> None:
    with pytest.raises(StageNotReadyError, match="run `python -m kagglekit unpack"):
        build_folders(CompetitionPaths(tmp_path))


@pytest.mark.parametrize(
    ("rows", "header", "message"),
    [
        (None, "image,class", "has header 'image,class', expected 'id,label'"),
        ([(1, "cat"), (1, "dog")], "id,label", "1 row with duplicate ids (line 3)"),
        ([(1, "cat"), (2, "")], "id,label", "1 row with an empty label (line 3)"),
        ([(1, "cat"), ("x7", "dog")], "id,label", "1 row whose id is not a positive integer (line 3)"),
        ([(1, "cat"), (2, "kitten"), (3, "cta")], "id,label", "2 rows with a label outside the 10 classes of cifar-10 (cta, kitten) (line 3, 4)"),
    ],
)
def test_bad_labels_file_names_the_rows(paths: CompetitionPaths, rows, header: str, message: str) -> None:
    rows = rows if rows is not None else [(1, "cat")]
    write_labels(paths.train_labels, rows, header=header)
    with pytest.raises(DataError) as error:
        build_folders(paths)
    assert message in str(error.value)
    assert not paths.folders.exists()


def test_ids_without_image_and_images_without_label(paths: CompetitionPaths) -> None:
    labels = labels_of(paths)
    rows = list(labels.itertuples(index=False, name=None))[2:] + [(900, "cat"), (901, "dog")]
    write_labels(paths.train_labels, rows)
    with pytest.raises(DataError) as error:
        build_folders(paths)
    assert "2 ids in trainLabels.csv have no image: 900, 901" in str(error.value)
    assert "2 ids of unpacked images have no label: 1, 2" in str(error.value)


def test_a_failed_rebuild_keeps_no_marker(paths: CompetitionPaths) -> None:
    build_folders(paths)
    (paths.images / "train" / "5.png").unlink()
    with pytest.raises(DataError, match="5.png is missing"):
        build_folders(paths, force=True)
    assert not (paths.folders / ".complete").exists()


def test_cli_builds_and_reports(paths: CompetitionPaths, capsys: pytest.CaptureFixture) -> None:
    assert main(["folders", "--data-dir", str(paths.data_dir), "--valid-fraction", "0.5"]) == 0
    out = capsys.readouterr().out
    assert "10 classes" in out and "train" in out and "valid" in out
    info = json.loads(paths.classes_json.read_text())
    assert info["valid_fraction"] == 0.5 and len(info["classes"]) == 10


def test_cli_bad_fraction_is_a_usage_error(paths: CompetitionPaths, capsys: pytest.CaptureFixture) -> None:
    assert main(["folders", "--data-dir", str(paths.data_dir), "--valid-fraction", "1.5"]) == 2
    assert "--valid-fraction must be in [0, 1)" in capsys.readouterr().err
