"""unpack and folders on every storage format a spec can name: zips of JPEGs, folder trees, pixel CSVs.

Each competition is generated from a spec (kagglekit.standin.synthetic.make_from_spec) in that spec's
exact format, then run through the real unpack and folders stages.
"""

from __future__ import annotations

import io
import shutil
import stat
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from builders import raw_competition
from competition_specs import dogs_vs_cats
from PIL import Image

from kagglekit.competitions import get_spec
from kagglekit.data import unpack
from kagglekit.data.folders import build_folders
from kagglekit.data.pipeline import load_cache, load_split
from kagglekit.data.unpack import unpack_competition
from kagglekit.exceptions import DataError, UnsafeArchiveError
from kagglekit.paths import CompetitionPaths
from kagglekit.standin.synthetic import encoded, make_digit_recognizer, make_from_spec

SEEDLINGS = """
kind = "file"
files = ["train/", "test/", "sample_submission.csv"]
metric = "micro-f1"
[train]
images = { file = "train/", members = 'train/(?P<label>[^/]+)/(?P<id>[^/]+\\.png)' }
labels = { group = "label" }
[test]
images = { file = "test/", members = 'test/(?P<id>[^/]+\\.png)' }
[images]
size = [20, 20]
resize = "squeeze"
channels = 3
[submission]
sample = "sample_submission.csv"
predict = "label"
"""


@pytest.fixture
def specs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Write competitions/SLUG.toml beside the data, where get_spec looks first."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "competitions").mkdir()

    def write(slug: str, text: str):
        (tmp_path / "competitions" / f"{slug}.toml").write_text(text)
        return get_spec(slug)

    return write


def cats_spec(specs, images: str = 'size = [24, 24]\nresize = "shorter-side-centre-crop"\nchannels = 3'):
    return specs("cats", dogs_vs_cats(images=images))


def generated(spec, tmp_path: Path, n_train: int = 40, n_test: int = 10) -> CompetitionPaths:
    files = make_from_spec(spec, tmp_path / "generated", n_train=n_train, n_test=n_test, seed=0)
    return raw_competition(files, tmp_path / "data")


def rewrite_zip(path: Path, change) -> None:
    """Rewrite a zip's members through ``change(dict name -> bytes)``."""
    with zipfile.ZipFile(path) as archive:
        members = {info.filename: archive.read(info) for info in archive.infolist()}
    change(members)
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)


@pytest.mark.parametrize(
    "images",
    [
        'size = [24, 24]\nresize = "shorter-side-centre-crop"\nchannels = 3',
        'size = [16, 24]\nresize = "squeeze"\nchannels = 1',
    ],
    ids=["centre-crop-rgb", "squeeze-grey"],
)
def test_a_zip_of_jpegs_of_varying_sizes_with_labels_in_the_file_names(specs, tmp_path: Path, images: str) -> None:
    spec = cats_spec(specs, images)
    paths = generated(spec, tmp_path)
    with zipfile.ZipFile(paths.raw / "train.zip") as archive:
        sizes = {Image.open(io.BytesIO(archive.read(n))).size for n in archive.namelist()}
    assert len(sizes) > 5  # the generator varies them

    assert [s.images for s in unpack_competition(paths, progress=False)] == [40, 10]
    images_, ids = load_cache(paths, "train")
    height, width = spec.images.size
    assert images_.shape == (40, height, width, spec.images.channels)
    assert ids.dtype.kind == "U" and all(i.startswith(("cat.", "dog.")) for i in ids)
    labels = pd.read_csv(paths.normalised_labels, dtype=str)
    assert list(labels.columns) == ["id", "label"] and labels["id"].tolist() == ids.tolist()
    assert (labels["label"] == [i.split(".")[0] for i in ids]).all()
    assert (paths.images / "train" / f"{ids[0]}.jpg").is_file()  # the archive's own bytes

    summary = build_folders(paths, valid_fraction=0.25)
    assert summary.classes == ["cat", "dog"] and summary.train + summary.valid == 40
    assert (paths.folders / "train" / "cat").is_dir() and list((paths.folders / "valid" / "dog").glob("dog.*.jpg"))
    data = load_split(paths)
    assert data.x_train.shape[1:] == (height, width, spec.images.channels) and data.n_classes == 2
    assert pd.read_csv(paths.sample_submission).columns.tolist() == ["id", "label"]


def test_a_jpeg_of_another_size_under_native_is_one_line_naming_it(specs, tmp_path: Path) -> None:
    spec = cats_spec(specs, 'size = "native"\nchannels = 3')
    paths = generated(spec, tmp_path)
    first = sorted(zipfile.ZipFile(paths.raw / "train.zip").namelist())[0]
    odd = "train/dog.7.jpg"

    def same_size_but_one(members: dict[str, bytes]) -> None:
        for name in members:
            members[name] = encoded(np.full((30, 20, 3), 99, np.uint8), ".jpg")
        members[odd] = encoded(np.full((31, 45, 3), 99, np.uint8), ".jpg")

    rewrite_zip(paths.raw / "train.zip", same_size_but_one)
    assert odd in zipfile.ZipFile(paths.raw / "train.zip").namelist() and first != odd
    with pytest.raises(DataError) as error:
        unpack_competition(paths, progress=False)
    message = str(error.value)
    assert "\n" not in message and f"{odd} is 45x31, expected 20x30 as" in message and '"native"' in message


@pytest.mark.parametrize("workers", [0, 2], ids=["inline", "in-a-worker"])
def test_a_member_that_is_not_an_image_is_one_line_naming_it(specs, tmp_path: Path, workers: int) -> None:
    paths = generated(cats_spec(specs), tmp_path)
    rewrite_zip(paths.raw / "train.zip", lambda members: members.update({"train/cat.3.jpg": b"<html>not a jpeg"}))
    with pytest.raises(DataError, match=r"train.zip: train/cat.3.jpg is not a readable image") as error:
        unpack.unpack_split(paths, "train", True, workers=workers, progress=False)
    assert "\n" not in str(error.value)
    assert not paths.cache_images("train").exists() and not (paths.images / "train").exists()


def test_a_label_group_that_matches_nothing_is_named(specs, tmp_path: Path) -> None:
    text = dogs_vs_cats(images='size = "native"\nchannels = 3').replace(
        "(?P<id>(?P<label>cat|dog)\\.\\d+)", "(?P<id>(?P<label>cat|dog)?x?\\.\\d+)"
    )
    assert "x?" in text
    spec = specs("cats", text)
    paths = generated(spec, tmp_path)
    rewrite_zip(paths.raw / "train.zip", lambda members: members.update({"train/x.99.jpg": members.popitem()[1]}))
    with pytest.raises(DataError, match=r"train/x.99.jpg has no label: the group 'label'"):
        unpack_competition(paths, progress=False)


def test_zip_safety_checks(specs, tmp_path: Path) -> None:
    paths = generated(cats_spec(specs), tmp_path)
    archive = paths.raw / "train.zip"
    original = archive.read_bytes()

    rewrite_zip(archive, lambda members: members.update({"../evil.jpg": b"x"}))
    with pytest.raises(UnsafeArchiveError, match="escapes its folder"):
        unpack_competition(paths, progress=False)

    archive.write_bytes(original)
    with zipfile.ZipFile(archive, "a") as handle:
        link = zipfile.ZipInfo("train/cat.999.jpg")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        handle.writestr(link, "/etc/passwd")
    with pytest.raises(UnsafeArchiveError, match="link"):
        unpack_competition(paths, progress=False)

    archive.write_bytes(original)
    with zipfile.ZipFile(archive, "a") as handle:  # a bomb: tiny packed, far over the cap unpacked
        handle.writestr(
            zipfile.ZipInfo("train/dog.999.jpg"), bytes(unpack.MAX_MEMBER_BYTES + 1), compress_type=zipfile.ZIP_DEFLATED
        )
    with pytest.raises(UnsafeArchiveError, match=f"declares {unpack.MAX_MEMBER_BYTES + 1} bytes"):
        unpack_competition(paths, progress=False)

    archive.write_bytes(original)
    with pytest.raises(UnsafeArchiveError, match="over the 0.0 GiB cap"):
        unpack_competition(paths, max_unpacked_gib=1e-6, progress=False)

    archive.write_bytes(original[: len(original) // 2])
    with pytest.raises(DataError, match="train.zip is not a readable zip archive"):
        unpack_competition(paths, progress=False)
    assert not paths.cache_images("train").exists()


def test_an_encrypted_zip_member_is_refused(specs, tmp_path: Path) -> None:
    paths = generated(cats_spec(specs), tmp_path)
    raw = bytearray((paths.raw / "train.zip").read_bytes())
    # set the "encrypted" flag bit of every entry, local and central, as an encrypting zip tool does
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        start = 0
        while (start := raw.find(signature, start)) >= 0:
            raw[start + offset] |= 0x1
            start += 4
    (paths.raw / "train.zip").write_bytes(bytes(raw))
    with pytest.raises(DataError, match="train.zip is encrypted"):
        unpack_competition(paths, progress=False)


def test_pixel_csvs_digit_recognizer(tmp_path: Path) -> None:
    files = make_digit_recognizer(tmp_path / "generated", n_train=50, n_test=20, seed=0)
    paths = raw_competition(files, tmp_path / "data")
    assert [s.images for s in unpack_competition(paths, progress=False)] == [50, 20]
    images, ids = load_cache(paths, "train")
    assert images.shape == (50, 28, 28, 1) and ids.tolist() == [str(i) for i in range(1, 51)]
    train = pd.read_csv(files.train_csv)
    np.testing.assert_array_equal(images.reshape(50, -1), train.iloc[:, 1:].to_numpy())
    labels = pd.read_csv(paths.normalised_labels, dtype=str)
    assert labels["label"].tolist() == train["label"].astype(str).tolist()
    _, test_ids = load_cache(paths, "test")
    assert test_ids.tolist() == pd.read_csv(paths.sample_submission, dtype=str)["ImageId"].tolist()
    png = np.asarray(Image.open(paths.images / "train" / "7.png"))
    np.testing.assert_array_equal(png, images[6, ..., 0])

    summary = build_folders(paths, valid_fraction=0.2)
    assert summary.classes == [str(d) for d in range(10)]
    assert load_split(paths).x_train.shape[1:] == (28, 28, 1)
    assert files.solution_csv.read_text().startswith("ImageId,Label\n1,")


def test_a_pixel_csv_row_with_a_bad_value_is_named(tmp_path: Path) -> None:
    files = make_digit_recognizer(tmp_path / "generated", n_train=20, n_test=5, seed=0)
    paths = raw_competition(files, tmp_path / "data")
    lines = (paths.raw / "train.csv").read_text().splitlines()
    cells = lines[3].split(",")
    cells[5] = "300"
    lines[3] = ",".join(cells)
    (paths.raw / "train.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"train.csv: row 3 \(line 4\) has pixel4 = 300, outside 0-255"):
        unpack_competition(paths, progress=False)


def test_a_folder_tree_with_labels_in_folder_names(specs, tmp_path: Path) -> None:
    spec = specs("seedlings", SEEDLINGS)
    files = make_from_spec(spec, tmp_path / "generated", n_train=30, n_test=8, seed=0)
    paths = raw_competition(files, tmp_path / "data")
    assert sorted(p.name for p in (paths.raw / "train").iterdir()) == ["alpha", "beta", "gamma"]

    assert [s.images for s in unpack_competition(paths, progress=False)] == [30, 8]
    images, ids = load_cache(paths, "train")
    assert images.shape == (30, 20, 20, 3) and all(i.endswith(".png") for i in ids)
    _, test_ids = load_cache(paths, "test")
    assert sorted(test_ids.tolist()) == sorted(pd.read_csv(paths.sample_submission, dtype=str)["id"])
    summary = build_folders(paths, valid_fraction=0.2)
    assert summary.classes == ["alpha", "beta", "gamma"]  # no fixed classes: the labels found, sorted
    linked = sorted(p.name for p in (paths.folders / "train").rglob("*.png"))
    assert linked and all(name.count(".png") == 1 for name in linked)

    (paths.raw / "train" / "alpha" / "link.png").symlink_to(paths.raw / "sample_submission.csv")
    with pytest.raises(UnsafeArchiveError, match="link"):
        unpack_competition(paths, force=True, progress=False)


def test_an_unreadable_folder_tree_member_is_named(specs, tmp_path: Path) -> None:
    spec = specs("seedlings", SEEDLINGS)
    paths = raw_competition(make_from_spec(spec, tmp_path / "generated", n_train=12, n_test=4), tmp_path / "data")
    victim = sorted((paths.raw / "train" / "beta").iterdir())[0]
    victim.write_bytes(b"GIF89a broken")
    with pytest.raises(DataError, match=f"train/beta/{victim.name} is not a readable image"):
        unpack_competition(paths, progress=False)


def test_the_generator_follows_each_shipped_spec(tmp_path: Path) -> None:
    for slug in ("cifar-10", "digit-recognizer"):
        files = make_from_spec(get_spec(slug), tmp_path / slug, n_train=20, n_test=5)
        assert sorted(p.name for p in files.files.values()) == sorted(get_spec(slug).file_names)
        shutil.rmtree(tmp_path / slug)


@pytest.mark.parametrize("resize", ["squeeze", "shorter-side-centre-crop"])
@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_every_size_resizes_to_the_spec_size(resize: str, suffix: str) -> None:
    """Up, down, thin and float-awkward sizes (24 -> 32 once left a crop box a hair outside the image)."""
    sizes = [(24, 31), (33, 17), (7, 100), (32, 32), (640, 480), (1, 1)]
    blobs = [encoded(np.full((h, w, 3), 120, np.uint8), suffix) for h, w in sizes]
    out, error = unpack.decode_images(blobs, [f"m{i}{suffix}" for i in range(len(blobs))], ((32, 32), resize, 3))
    assert error is None and out.shape == (len(sizes), 32, 32, 3)
    assert np.abs(out.astype(int) - 120).max() <= 3  # a flat image stays flat (JPEG's rounding aside)


SHIPPED_DOGS = "dogs-vs-cats-redux-kernels-edition"


def shipped_dogs(tmp_path: Path, n_train: int = 20, n_test: int = 10) -> CompetitionPaths:
    """The shipped spec's competition, generated: train.zip and test.zip of JPEGs of varying sizes."""
    return raw_competition(
        make_from_spec(get_spec(SHIPPED_DOGS), tmp_path / "generated", n_train, n_test), tmp_path / "data"
    )


def test_jpegs_of_odd_sizes_land_in_the_spec_size_cache(tmp_path: Path) -> None:
    """A 333x17 sliver and a 1x1 dot among the test photographs: squeezed to the spec's 64x64 like the rest."""
    paths = shipped_dogs(tmp_path)
    odd = {"test/1.jpg": (17, 333), "test/2.jpg": (1, 1)}  # (height, width)

    def odd_sizes(members: dict[str, bytes]) -> None:
        members.update({name: encoded(np.full((*shape, 3), 200, np.uint8), ".jpg") for name, shape in odd.items()})

    rewrite_zip(paths.raw / "test.zip", odd_sizes)
    unpack_competition(paths, progress=False)
    images, ids = load_cache(paths, "test")
    assert images.shape == (10, 64, 64, 3)
    for name in odd:
        row = images[ids.tolist().index(name.removeprefix("test/").removesuffix(".jpg"))]
        assert np.abs(row.astype(int) - 200).max() <= 3  # flat stays flat, whatever the aspect


def test_a_test_member_that_is_not_an_image_stops_unpack_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Garbage bytes named test/7.jpg: one line naming member and archive, exit 1, no test cache that looks done,
    on a first unpack and on one over a cache that was complete."""
    from kagglekit.cli import main

    paths = shipped_dogs(tmp_path)
    command = ["unpack", "--competition", SHIPPED_DOGS, "--data-dir", str(paths.data_dir), "--force"]
    good = (paths.raw / "test.zip").read_bytes()
    for first in (True, False):
        if not first:
            (paths.raw / "test.zip").write_bytes(good)
            assert main(command) == 0 and paths.unpacked_marker("test").is_file()
        rewrite_zip(paths.raw / "test.zip", lambda members: members.update({"test/7.jpg": b"\x00garbage, not a JPEG"}))
        capsys.readouterr()
        assert main(command) == 1
        err = capsys.readouterr().err.strip().splitlines()  # above the last line: unpack's progress bars
        assert err[-1].startswith("kagglekit unpack: error: ") and sum("error" in line for line in err) == 1
        assert f"{paths.raw / 'test.zip'}: test/7.jpg is not a readable image (no image format Pillow knows)" in err[-1]
        assert not paths.unpacked_marker("test").exists()
        assert not list(paths.cache.glob("*partial*"))
        assert paths.unpacked_marker("train").is_file()  # train was fine, and stays done


def test_reduced_scale_jpeg_decoding_keeps_what_the_model_sees() -> None:
    """draft() decodes a 500x375 photograph at 1/4 scale for a 64x64 cache: close to a full decode then resize."""
    rows, columns = np.mgrid[0:375, 0:500]
    photograph = np.stack([rows * 255 // 374, columns * 255 // 499, (rows + columns) % 256], axis=-1).astype(np.uint8)
    photograph[100:250, 150:350] = (200, 40, 90)  # an edge for the resampling to get right
    blob = encoded(photograph, ".jpg")
    for resize in ("squeeze", "shorter-side-centre-crop"):
        out, error = unpack.decode_images([blob], ["p.jpg"], ((64, 64), resize, 3))
        full = unpack._pixels(Image.open(io.BytesIO(blob)).convert("RGB"), (64, 64), resize)
        # 0.57 here; decoding at 1/8 (63x47, below the target) would be 2.4
        assert error is None and np.abs(out[0].astype(int) - full.astype(int)).mean() < 1.5  # of 255


def test_photographs_decode_in_workers_by_their_bytes_as_well_as_their_count() -> None:
    """12,000 photographs (97 MB) are worth worker processes; 12,000 tiny PNGs (30 MB) are not."""
    assert unpack.decoder_workers(12_000, 97 * 2**20) >= 1
    assert unpack.decoder_workers(12_000, 30 * 2**20) == 0
    assert unpack.decoder_workers(300_000, 600 * 2**20) >= 1
