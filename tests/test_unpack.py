"""unpack: real 7z archives built with py7zr, decoded through the real code path."""

from __future__ import annotations

import os
import re
import struct
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from builders import (
    png_members,
    raw_competition,
    write_archive,
    write_archive_understating_its_size,
    write_archive_with_hostile_name,
    write_encrypted_archive,
    write_labels,
)
from PIL import Image

from kagglekit.cli import main
from kagglekit.data import unpack
from kagglekit.data.unpack import unpack_competition, unpack_split
from kagglekit.exceptions import DataError, StageNotReadyError, UnsafeArchiveError
from kagglekit.paths import CompetitionPaths
from kagglekit.standin.synthetic import CompetitionFiles

SHARED = Path(__file__).resolve().parents[2] / "shared" / "cifar10"


@pytest.fixture
def paths(competition_files: CompetitionFiles, tmp_path: Path) -> CompetitionPaths:
    return raw_competition(competition_files, tmp_path / "data")


def decoded_png(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def leftovers(paths: CompetitionPaths) -> list[str]:
    """Anything in cache/ a later stage could mistake for output."""
    return sorted(p.name for p in paths.cache.iterdir()) if paths.cache.exists() else []


def test_unpack_decodes_every_image_into_the_cache(paths: CompetitionPaths) -> None:
    summaries = unpack_competition(paths, progress=False)

    assert [(s.split, s.images, s.skipped) for s in summaries] == [("train", 60, False), ("test", 40, False)]
    train = np.load(paths.cache_images("train"))
    ids = np.load(paths.cache_ids("train"))
    assert train.shape == (60, 32, 32, 3) and train.dtype == np.uint8
    assert ids.dtype.kind == "U" and sorted(ids.tolist(), key=int) == [str(i) for i in range(1, 61)]  # ids are text
    for row in (0, 17, 59):  # pixels equal what PIL reads from the PNG written beside them
        np.testing.assert_array_equal(train[row], decoded_png(paths.images / "train" / f"{ids[row]}.png"))
    assert np.load(paths.cache_images("test")).shape == (40, 32, 32, 3)
    assert not (paths.images / "test").exists()  # 300,000 files are opt-in


def test_worker_processes_give_the_same_pixels_as_inline_decoding(paths: CompetitionPaths, tmp_path: Path) -> None:
    unpack_split(paths, "train", False, workers=0, progress=False)
    inline = np.load(paths.cache_images("train"))
    unpack_split(paths, "train", False, force=True, workers=2, progress=False)
    np.testing.assert_array_equal(np.load(paths.cache_images("train")), inline)


def test_complete_stage_is_skipped_and_force_redoes_it(
    paths: CompetitionPaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    unpack_competition(paths, progress=False)
    made = {p.name: p.stat().st_mtime_ns for p in paths.cache.iterdir()}
    decodes: list[str] = []
    real_decode = unpack._decode_archive
    monkeypatch.setattr(
        unpack,
        "_decode_archive",
        lambda archive, split, *rest: decodes.append(split) or real_decode(archive, split, *rest),
    )

    again = unpack_competition(paths, progress=False)
    assert all(s.skipped for s in again) and [s.images for s in again] == [60, 40]
    assert decodes == [] and {p.name: p.stat().st_mtime_ns for p in paths.cache.iterdir()} == made
    assert not any(s.skipped for s in unpack_competition(paths, force=True, progress=False))
    assert decodes == ["train", "test"]


def test_a_changed_archive_makes_the_marker_stale(paths: CompetitionPaths) -> None:
    unpack_competition(paths, progress=False)
    archive = paths.raw / "test.7z"
    os.utime(archive, ns=(time.time_ns(), time.time_ns() + 10**9))
    assert [s.skipped for s in unpack_competition(paths, progress=False)] == [True, False]


def test_missing_archive_says_to_fetch(tmp_path: Path) -> None:
    with pytest.raises(StageNotReadyError, match="run `python -m kagglekit fetch`"):
        unpack_competition(CompetitionPaths(tmp_path), progress=False)


@pytest.mark.parametrize("name", ["../evil.png", "/etc/evil.png", "train/../../evil.png"])
def test_entries_escaping_the_target_are_refused(paths: CompetitionPaths, name: str) -> None:
    write_archive_with_hostile_name(paths.raw / "train.7z", png_members("train", range(1, 61)), name)
    with pytest.raises(UnsafeArchiveError, match="escapes its folder"):
        unpack_competition(paths, progress=False)
    assert leftovers(paths) == []
    assert not (paths.root / "evil.png").exists()


def test_links_are_refused(paths: CompetitionPaths, tmp_path: Path) -> None:
    import py7zr

    target = tmp_path / "secret"
    target.write_text("secret")
    (tmp_path / "link.png").symlink_to(target)
    with py7zr.SevenZipFile(paths.raw / "train.7z", "w", dereference=False) as seven_zip:
        seven_zip.write(tmp_path / "link.png", "train/61.png")  # first: py7zr looks links up among written files
        for name, data in png_members("train", range(1, 61)).items():
            seven_zip.writestr(data, name)
    with pytest.raises(UnsafeArchiveError, match="link"):
        unpack_competition(paths, progress=False)


def test_size_cap_guards_against_bombs(paths: CompetitionPaths) -> None:
    with pytest.raises(UnsafeArchiveError, match="over the 0.0 GiB cap"):
        unpack_competition(paths, max_unpacked_gib=1e-5, progress=False)
    assert leftovers(paths) == []


def test_truncated_archive_is_a_clear_error_and_leaves_nothing_complete(paths: CompetitionPaths) -> None:
    archive = paths.raw / "train.7z"
    archive.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    with pytest.raises(DataError, match="train.7z .*(corrupt|truncated|not a readable).*fetch"):
        unpack_competition(paths, progress=False)
    assert leftovers(paths) == []
    assert not (paths.images / "train").exists()


def test_corrupt_bytes_fail_the_crc_check(paths: CompetitionPaths) -> None:
    archive = paths.raw / "train.7z"
    data = bytearray(archive.read_bytes())
    data[len(data) // 3] ^= 0xFF
    archive.write_bytes(bytes(data))
    with pytest.raises(DataError, match="corrupt or truncated"):
        unpack_competition(paths, progress=False)
    assert leftovers(paths) == []


def test_ids_must_match_the_labels_file(paths: CompetitionPaths) -> None:
    write_archive(paths.raw / "train.7z", png_members("train", [*range(1, 59), 100, 101]))
    with pytest.raises(DataError) as error:
        unpack_competition(paths, progress=False)
    message = str(error.value)
    assert "2 ids in trainLabels.csv have no image in train.7z: 59, 60" in message
    assert "2 ids in train.7z are not in trainLabels.csv: 100, 101" in message


def test_test_ids_are_checked_against_the_sample_submission(paths: CompetitionPaths) -> None:
    write_archive(paths.raw / "test.7z", png_members("test", range(1, 40)))
    with pytest.raises(DataError, match="1 ids in sampleSubmission.csv have no image in test.7z: 40"):
        unpack_competition(paths, progress=False)


@pytest.mark.parametrize("workers", [0, 2], ids=["inline", "in-a-worker"])
def test_a_member_that_is_not_a_png_is_named(paths: CompetitionPaths, workers: int) -> None:
    members = png_members("train", range(1, 61))
    members["train/7.png"] = b"this is not an image"
    write_archive(paths.raw / "train.7z", members)
    with pytest.raises(DataError, match="train/7.png is not a readable image"):
        unpack_split(paths, "train", True, workers=workers, progress=False)
    assert leftovers(paths) == [] and not (paths.images / "train").exists()


@pytest.mark.parametrize("workers", [0, 2], ids=["inline", "in-a-worker"])
def test_an_image_of_the_wrong_size_is_named(paths: CompetitionPaths, workers: int) -> None:
    members = png_members("train", range(1, 61))
    members.update(png_members("train", [9], size=64))
    write_archive(paths.raw / "train.7z", members)
    with pytest.raises(DataError, match="train/9.png is 64x64, expected 32x32 as train/1.png is"):
        unpack_split(paths, "train", True, workers=workers, progress=False)
    assert leftovers(paths) == []


@pytest.mark.parametrize("encrypt_header", [False, True], ids=["encrypted-data", "encrypted-header"])
def test_an_encrypted_archive_is_one_line(
    paths: CompetitionPaths, encrypt_header: bool, capsys: pytest.CaptureFixture
) -> None:
    write_encrypted_archive(paths.raw / "train.7z", png_members("train", range(1, 61)), encrypt_header)
    assert main(["unpack", "--data-dir", str(paths.data_dir)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "train.7z is encrypted; Kaggle's archives are not, so fetch it again." in err
    assert leftovers(paths) == []


def test_an_image_over_the_per_image_cap_is_refused_before_it_is_read(paths: CompetitionPaths) -> None:
    members = png_members("train", range(1, 61))
    members["train/8.png"] = bytes(unpack.MAX_MEMBER_BYTES + 1)  # packs to a few kB, as a bomb would
    write_archive(paths.raw / "train.7z", members)
    with pytest.raises(UnsafeArchiveError, match=f"train/8.png declares {unpack.MAX_MEMBER_BYTES + 1} bytes, over the"):
        unpack_competition(paths, progress=False)
    assert leftovers(paths) == []


def test_a_header_that_understates_the_unpacked_size_is_caught(paths: CompetitionPaths) -> None:
    """The size checks trust the header; a lying one still ends in a clear error, and nothing is kept."""
    members = png_members("train", range(1, 61))
    write_archive_understating_its_size(paths.raw / "train.7z", members, understate_by=1)
    with pytest.raises(DataError, match="train.7z is corrupt or truncated"):
        unpack_competition(paths, progress=False)
    assert leftovers(paths) == [] and not (paths.images / "train").exists()


def test_a_forged_header_that_py7zr_cannot_parse_is_the_archives_fault(paths: CompetitionPaths) -> None:
    """Its CRCs fixed, so py7zr parses it and trips on its own type check (a TypeError, not one of its errors)."""
    import py7zr

    archive = paths.raw / "train.7z"
    with py7zr.SevenZipFile(archive, "w") as seven_zip:
        seven_zip.set_encoded_header_mode(False)
        for name, data in png_members("train", range(1, 61)).items():
            seven_zip.writestr(data, name)
    raw = bytearray(archive.read_bytes())
    next_offset, next_size = struct.unpack_from("<QQ", raw, 12)
    header = 32 + next_offset
    raw[header] = 0x02  # neither kHeader (0x01) nor kEncodedHeader (0x17)
    struct.pack_into("<I", raw, 28, zlib.crc32(raw[header : header + next_size]))
    struct.pack_into("<I", raw, 8, zlib.crc32(raw[12:32]))
    archive.write_bytes(bytes(raw))
    with pytest.raises(DataError, match=r"train.7z is not a readable 7z archive \(Unknown field"):
        unpack_competition(paths, progress=False)


def test_a_value_error_that_is_not_the_archives_is_not_called_corruption(paths: CompetitionPaths) -> None:
    """A bad worker count is the caller's: the ValueError goes up as it is, not as "delete your download"."""
    with pytest.raises(ValueError, match="max_workers must be greater than 0"):
        unpack_split(paths, "train", True, workers=-1, progress=False)
    assert leftovers(paths) == [] and not (paths.images / "train").exists()


def test_a_bug_while_decoding_is_an_internal_error_not_a_corrupt_archive(
    paths: CompetitionPaths,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
    tmp_path: Path,
) -> None:
    import tempfile

    def broken_write(self: unpack.NpyRowWriter, indices: list[int], rows: np.ndarray) -> None:
        raise ValueError("rows of the wrong shape")

    monkeypatch.setattr(unpack.NpyRowWriter, "write", broken_write)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.delenv("KAGGLEKIT_DEBUG", raising=False)
    assert main(["unpack", "--data-dir", str(paths.data_dir), "--workers", "0"]) == 1
    progress, error = capsys.readouterr().err.rstrip("\n").split("\n")  # the bar, closed before the error's own line
    assert progress.strip().startswith("unpack train.7z:"), progress
    assert error.startswith("kagglekit unpack: internal error: ValueError: rows of the wrong shape; full traceback in ")
    assert "corrupt" not in error and "fetch" not in error
    assert leftovers(paths) == [] and not (paths.images / "train").exists()
    assert len(list(tmp_path.glob("kagglekit-unpack-*.traceback"))) == 1


def test_members_the_pattern_does_not_match_are_skipped(paths: CompetitionPaths) -> None:
    write_archive(paths.raw / "train.7z", {**png_members("train", range(1, 61)), "train/notes.txt": b"hi"})
    unpack_competition(paths, progress=False)
    assert len(np.load(paths.cache_ids("train"))) == 60 and not (paths.images / "train" / "notes.txt").exists()


def test_an_archive_with_no_matching_member_says_what_the_spec_wants(paths: CompetitionPaths) -> None:
    write_archive(paths.raw / "train.7z", png_members("training", range(1, 61)))
    with pytest.raises(DataError, match=r"train.7z holds no image: expected a member matching train.images.members"):
        unpack_competition(paths, progress=False)


def test_cli_reports_one_line_and_exits_non_zero(paths: CompetitionPaths, capsys: pytest.CaptureFixture) -> None:
    (paths.raw / "train.7z").write_bytes(b"not a 7z file at all")
    code = main(["unpack", "--data-dir", str(paths.data_dir)])
    err = capsys.readouterr().err.strip()
    assert code == 1
    assert len(err.splitlines()) == 1
    assert err.startswith("kagglekit unpack: error:") and "train.7z is not a readable 7z archive" in err


def test_cli_unpacks_and_reports(paths: CompetitionPaths, capsys: pytest.CaptureFixture) -> None:
    assert main(["unpack", "--data-dir", str(paths.data_dir)]) == 0
    out = capsys.readouterr().out
    assert re.search(r"train +60 images", out) and re.search(r"test +40 images", out)


@pytest.mark.skipif(
    not (SHARED / "kaggle-original-200").is_dir(), reason="needs ../shared/cifar10 (not in a user's clone)"
)
def test_kaggle_original_pngs_decode_exactly(tmp_path: Path) -> None:
    """Kaggle's own PNGs, repacked as train.7z, decode to the pixels PIL reads from the files."""
    originals = sorted((SHARED / "kaggle-original-200").glob("*.png"), key=lambda p: int(p.stem))
    paths = CompetitionPaths(tmp_path / "data")
    paths.raw.mkdir(parents=True)
    write_archive(paths.raw / "train.7z", {f"train/{p.name}": p.read_bytes() for p in originals})
    labels = (SHARED / "trainLabels.csv").read_text().splitlines()[: len(originals) + 1]
    (paths.raw / "trainLabels.csv").write_text("\n".join(labels) + "\n")
    write_archive(paths.raw / "test.7z", {"test/1.png": originals[0].read_bytes()})
    write_labels(paths.raw / "sampleSubmission.csv", [(1, "cat")])

    unpack_competition(paths, progress=False)

    pixels, ids = np.load(paths.cache_images("train")), np.load(paths.cache_ids("train"))
    for row, image_id in enumerate(ids):
        np.testing.assert_array_equal(pixels[row], decoded_png(SHARED / "kaggle-original-200" / f"{image_id}.png"))
