"""folders: class folders and the validation split, from real unpacked archives."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pandas as pd
import pytest
from builders import raw_competition, write_labels

from kagglekit.cli import main
from kagglekit.data import folders
from kagglekit.data.folders import build_folders
from kagglekit.data.pipeline import read_classes
from kagglekit.data.unpack import unpack_competition
from kagglekit.exceptions import DataError, StageNotReadyError
from kagglekit.paths import CompetitionPaths
from kagglekit.standin.synthetic import CompetitionFiles


@pytest.fixture(scope="module")
def unpacked_template(
    competition_files: CompetitionFiles, tmp_path_factory: pytest.TempPathFactory
) -> CompetitionPaths:
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
        (None, "image,class", "has header 'image,class', expected columns 'id' and 'label'"),
        ([(1, "cat"), (1, "dog")], "id,label", "1 row with duplicate ids (line 3)"),
        ([(1, "cat"), (2, "")], "id,label", "1 row with an empty label (line 3)"),
        ([(1, "cat"), ("", "dog")], "id,label", "1 row with an empty id (line 3)"),
        ([(1, "cat"), ("x7", "dog")], "id,label", "1 ids in trainLabels.csv have no image: x7"),  # ids are text
        (
            [(1, "cat"), (2, "kitten"), (3, "cta")],
            "id,label",
            "2 rows with a label outside the 10 classes of cifar-10 (cta, kitten) (line 3, 4)",
        ),
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
    assert "argument --valid-fraction: '1.5' must be more than 0 and less than 1" in capsys.readouterr().err


def folders_error(paths: CompetitionPaths, capsys: pytest.CaptureFixture) -> str:
    """What `kagglekit folders` says: exactly one line, exit 1, no split written."""
    assert main(["folders", "--data-dir", str(paths.data_dir)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("kagglekit folders: error:"), err
    assert not paths.folders.exists()
    return err


def test_every_kind_of_bad_label_is_reported_at_once(paths: CompetitionPaths, capsys: pytest.CaptureFixture) -> None:
    rows = list(labels_of(paths).itertuples(index=False, name=None))
    rows[3] = (rows[3][0], "kitten")
    rows[9] = (rows[9][0], "cta")
    rows[20] = (rows[2][0], rows[20][1])  # id 21 is lost under a second id 3
    rows[30] = ("x", rows[30][1])
    del rows[40:43]  # ids 41-43 lose their label
    write_labels(paths.train_labels, rows)

    err = folders_error(paths, capsys)

    assert "2 rows with a label outside the 10 classes of cifar-10 (cta, kitten) (line 5, 11)" in err
    assert "1 row with duplicate ids (line 22)" in err
    assert "1 ids in trainLabels.csv have no image: x" in err
    assert "5 ids of unpacked images have no label: 21, 31, 41, 42, 43;" in err


def test_a_class_with_no_row_is_named(paths: CompetitionPaths, capsys: pytest.CaptureFixture) -> None:
    labels = labels_of(paths)
    labels["label"] = labels["label"].replace("frog", "toad").replace("toad", "cat")  # every frog relabelled a cat
    assert "frog" in set(labels_of(paths)["label"])
    write_labels(paths.train_labels, list(labels.itertuples(index=False, name=None)))
    assert "1 of the 10 classes of cifar-10 have no row (frog)" in folders_error(paths, capsys)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is not a readable CSV (No columns to parse from file)"),
        (b"id,label\n", "60 ids of unpacked images have no label: 1, 2, 3, 4, 5, \u2026 55 more"),
        (b"id,label\n1,caf\xe9\n", "is not a readable CSV ('utf-8' codec can't decode byte 0xe9"),
    ],
    ids=["empty", "header-only", "latin-1"],
)
def test_an_empty_or_undecodable_labels_file_is_one_line(
    paths: CompetitionPaths, capsys: pytest.CaptureFixture, content: bytes, message: str
) -> None:
    paths.train_labels.write_bytes(content)
    assert message in folders_error(paths, capsys)


def test_a_labels_file_with_a_byte_order_mark_is_read(paths: CompetitionPaths) -> None:
    """Saved from Excel or Notepad, the file starts with a UTF-8 BOM; the header is still 'id,label'."""
    plain = paths.train_labels.read_bytes()
    paths.train_labels.write_bytes(b"\xef\xbb\xbf" + plain)
    summary = build_folders(paths)
    assert summary.train + summary.valid == 60
    paths.train_labels.write_bytes(plain)
    assert pd.read_csv(paths.split_csv)[["id", "label"]].equals(labels_of(paths).sort_values("id", ignore_index=True))
