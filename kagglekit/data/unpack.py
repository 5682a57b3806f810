"""unpack: decode a competition's training and test images straight into uint8 arrays.

What the images are and where they sit comes from the competition's spec
(:mod:`kagglekit.competitions.spec`); how they are stored is one reader per
storage format behind one factory, :func:`open_reader`:

    7z      py7zr's folder decompressor driven directly, one pass over each solid stream
    zip     zipfile, members read one by one in the order they lie in the file
    folder  a tree Kaggle lists file by file (``raw/train/<species>/<name>.png``)
    pixels  a CSV of pixel columns, one image a row (:func:`kagglekit.data.pixels.read_pixel_csv`)

Every reader lists its members first (name, declared size), refusing anything
unsafe before a byte is decompressed (paths that escape, links, encrypted
entries, sizes over the caps), then streams the bytes of the members the spec's
pattern picks; members it does not match are skipped. Each image is decoded
(PNG, JPEG, whatever Pillow reads) in a worker process on another core while
decompression goes on, converted to the spec's channels and, unless the size
is "native", resized to the spec's size; the pixels land in
``cache/<split>_images.npy`` (N, H, W, C uint8, C = 1 or 3) and the ids, as
text, in ``cache/<split>_ids.npy`` (a numpy unicode array).

Writing Kaggle's 300,000 cifar-10 test PNGs to disk is most of what
``extractall`` costs (177 s here, against 32 s for the LZMA2 stream itself),
and prediction only wants the pixels, so only the training images are also
written, to ``images/train/<id>.<ext>`` (the archive's own bytes; PNG-encoded
pixels for a pixel CSV), on a background thread: the class-folder layout is
made of hard links to them. Training labels that are not a CSV in raw/ (read off
the member paths, or a pixel CSV's own column) go to ``cache/train_labels.csv``
(``id,label``, in cache order), which `folders` reads.

A model version that asks for its own image size (recipe key ``image_size``) reads
``cache/<H>x<W>/``: :func:`unpack_at_size` builds it from raw/ the first time train or
predict asks for it, pixels and ids only, with the spec's resize and channels.

Nothing in ``cache/`` counts until its ``.<split>.complete`` marker is written,
after every check has passed; outputs are built under ``.partial`` names and
renamed into place, so a crash leaves nothing that looks finished.
"""

from __future__ import annotations

import csv
import io
import lzma
import math
import multiprocessing
import os
import stat
import sys
import time
import traceback
import zipfile
import zlib
from collections import deque
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Callable, Container, Iterable, Iterator, NamedTuple, Union

import numpy as np
import py7zr
import py7zr.exceptions
from PIL import Image, UnidentifiedImageError
from tqdm import tqdm

from kagglekit.competitions import CompetitionSpec, CsvLabels, GroupLabels, ImagePolicy, MemberImages, PixelImages
from kagglekit.competitions.spec import ImageSource
from kagglekit.data.labels import describe_ids, read_ids
from kagglekit.exceptions import DataError, KagglekitError, StageNotReadyError, UnsafeArchiveError, first_line
from kagglekit.markers import clear_complete, fingerprint, is_complete, mark_complete
from kagglekit.outputs import move_into_place, partial_path, remove
from kagglekit.paths import CompetitionPaths

DEFAULT_MAX_UNPACKED_GIB = 4.0  # Kaggle's cifar-10 test.7z unpacks to ~0.7 GiB; anything far above is a bomb
MAX_MEMBER_BYTES = 64 * 2**20  # no single competition image comes near this (a 4000x3000 JPEG is ~5 MB)
DECODE_CHUNK = 4096  # images per worker task: big enough to amortise pickling, small enough to overlap
PARALLEL_THRESHOLD = 20_000  # below this many small images, starting worker processes costs more than it saves
PARALLEL_BYTES = 32 * 2**20  # ... unless they are this big in all: 12,000 photographs (97 MB) decode for ~10 s
# What py7zr, zipfile and the decompressors they drive raise on bad bytes (EOFError: a stream that ends early).
# Anything else is a bug, and must not send the user to delete a good 700 MB download.
CORRUPT_ARCHIVE_ERRORS = (py7zr.exceptions.ArchiveError, zipfile.BadZipFile, lzma.LZMAError, zlib.error, EOFError)
PY7ZR_PACKAGE = Path(py7zr.__file__).resolve().parent
ZIPFILE_MODULE = Path(zipfile.__file__).resolve()
KAGGLEKIT_PACKAGE = Path(__file__).resolve().parents[1]
PIXELS = "pixels"  # the reader of a pixel CSV, beside the packings of spec.packing_of

Payload = Union[bytes, np.ndarray]  # a member's bytes, or (pixel CSV) its uint8 (H, W, C) pixels


@dataclass(frozen=True)
class SplitSummary:
    split: str
    images: int
    seconds: float
    skipped: bool


# -- the stage -----------------------------------------------------------------------


def unpack_competition(
    paths: CompetitionPaths,
    force: bool = False,
    write_test_files: bool = False,
    max_unpacked_gib: float = DEFAULT_MAX_UNPACKED_GIB,
    workers: int | None = None,
    progress: bool = True,
    splits: tuple[str, ...] = ("train", "test"),
) -> list[SplitSummary]:
    """Unpack the training images (pixels + files) and the test images (pixels; files on request), or only
    ``splits`` of them (an inference kernel needs only the test images)."""
    return [
        unpack_split(paths, split, write_files, force, max_unpacked_gib, workers, progress)
        for split, write_files in (("train", True), ("test", write_test_files))
        if split in splits
    ]


def unpack_stamp(paths: CompetitionPaths, split: str, write_files: bool) -> str:
    """What a split's cache was made from: the archive and its id CSV (sizes, times), the spec's say on them."""
    spec = paths.spec
    source = split_source(spec, split)
    id_csv, _ = id_source(paths, split)
    return fingerprint(
        [paths.raw_file(source.file)] + ([id_csv] if id_csv else []),
        split=split,
        write_files=write_files,
        source=repr(source),
        labels=repr(spec.train_labels) if split == "train" else None,
        images=repr(image_policy(paths)),
    )


def unpack_at_size(paths: CompetitionPaths, split: str, log: Callable[[str], None] = print) -> None:
    """A model version's own image size: its cache, built from raw/ the first time it is asked for (and again
    when raw/ changed), so train and predict read what the version wants and no other stage needs to know.

    Only the pixels and ids: the training files and labels are the spec-size unpack's, whatever the size.
    """
    if not paths.own_size:
        return
    if is_complete(paths.pixel_cache, unpack_stamp(paths, split, False), paths.unpacked_marker(split).name):
        return
    height, width = paths.image_size
    log(f"unpack: the {split} images at this version's {height}x{width} into {paths.pixel_cache}")
    unpack_split(paths, split, write_files=False, progress=False)


def image_policy(paths: CompetitionPaths) -> ImagePolicy:
    """The spec's image policy at the paths' size: a version's own size keeps the spec's resize and channels
    (a native spec's images, all one size already, are squeezed)."""
    policy = paths.spec.images
    if not paths.own_size:
        return policy
    return replace(policy, size=paths.image_size, resize=policy.resize or "squeeze")


def split_source(spec: CompetitionSpec, split: str) -> ImageSource:
    return spec.train_images if split == "train" else spec.test_images


def id_source(paths: CompetitionPaths, split: str) -> tuple[Path | None, str | None]:
    """The CSV (and its column; None: the first) whose ids the split's images must have exactly.

    Test images: the sample submission's first column. Training images: the labels CSV's id column;
    none when the labels come with the images (their paths, or the pixel CSV's own column).
    """
    spec = paths.spec
    if split != "train":
        return paths.sample_submission, None
    labels = spec.train_labels
    if isinstance(labels, CsvLabels) and labels.id is not None:
        return paths.raw_file(labels.file), labels.id
    return None, None


def label_column(spec: CompetitionSpec, split: str) -> str | None:
    """The label column a training pixel CSV carries itself (CsvLabels without an id column), else None."""
    labels = spec.train_labels
    if split == "train" and isinstance(labels, CsvLabels) and labels.id is None:
        return labels.column
    return None


def writes_labels(spec: CompetitionSpec, split: str) -> bool:
    """Whether unpack writes cache/train_labels.csv: labels read off the paths, or a pixel CSV's own."""
    return split == "train" and (isinstance(spec.train_labels, GroupLabels) or label_column(spec, split) is not None)


def unpack_split(
    paths: CompetitionPaths,
    split: str,
    write_files: bool,
    force: bool = False,
    max_unpacked_gib: float = DEFAULT_MAX_UNPACKED_GIB,
    workers: int | None = None,
    progress: bool = True,
) -> SplitSummary:
    """Decode one split's images into the cache, checking their ids against the CSV that lists them."""
    spec = paths.spec
    data = paths.raw_file(split_source(spec, split).file)
    if not data.exists():
        raise StageNotReadyError(f"{data} is missing; run `python -m kagglekit fetch` first.")
    id_csv, id_column = id_source(paths, split)
    marker, stamp = paths.unpacked_marker(split).name, unpack_stamp(paths, split, write_files)
    if not force and is_complete(paths.pixel_cache, stamp, marker):
        return SplitSummary(split, len(np.load(paths.cache_ids(split), mmap_mode="r")), 0.0, skipped=True)

    started = time.perf_counter()
    paths.pixel_cache.mkdir(parents=True, exist_ok=True)
    clear_complete(paths.pixel_cache, marker)
    expected_ids = read_ids(id_csv, id_column) if id_csv else None
    files_dir = paths.images / split if write_files else None
    max_bytes = int(max_unpacked_gib * 2**30)
    ids = _decode_archive(data, split, expected_ids, id_csv, paths, files_dir, max_bytes, workers, progress)
    mark_complete(paths.pixel_cache, stamp, marker, images=len(ids), archive=str(data))
    return SplitSummary(split, len(ids), time.perf_counter() - started, skipped=False)


class Chosen(NamedTuple):  # a tuple: 300,000 of them are made per test archive
    """A member the spec picks: its name, the image id (text) and, for labels read off paths, its label."""

    name: str
    id: str
    label: str | None


def _decode_archive(
    archive: Path,
    split: str,
    expected_ids: np.ndarray | None,
    id_csv: Path | None,
    paths: CompetitionPaths,
    files_dir: Path | None,
    max_bytes: int,
    workers: int | None,
    progress: bool,
) -> np.ndarray:
    """Decode into ``.partial`` outputs, then move them into place; on any failure remove them."""
    spec = paths.spec
    source = split_source(spec, split)
    labels_out = paths.normalised_labels if writes_labels(spec, split) and not paths.own_size else None
    images_partial = partial_path(paths.cache_images(split))
    ids_partial = partial_path(paths.cache_ids(split))
    files_partial = partial_path(files_dir) if files_dir else None
    labels_partial = partial_path(labels_out) if labels_out else None
    try:
        with open_reader(archive, source, max_bytes, label_column(spec, split)) as reader:
            group = spec.train_labels.group if split == "train" and isinstance(spec.train_labels, GroupLabels) else None
            members = reader.members()
            chosen = choose_members(members, source, group, archive, split)
            ids = np.array([c.id for c in chosen], dtype=str)
            if expected_ids is not None and id_csv is not None:
                check_ids(ids, expected_ids, archive, id_csv)
            remove(files_partial)
            if files_partial:
                files_partial.mkdir(parents=True)
            declared = sum(m.size for m in members)
            with _decoder_pool(workers, len(ids), declared) as pool:
                decoded = _decode_members(
                    reader, chosen, images_partial, files_partial, pool, archive, image_policy(paths), progress
                )
            if decoded != len(ids):
                raise DataError(
                    f"{archive} ended after {decoded} of {len(ids)} images; it is truncated, fetch it again."
                )
        with open(ids_partial, "wb") as handle:  # np.save(path) would append ".npy" to the name
            np.save(handle, ids)
        if labels_out and labels_partial:
            write_id_label_csv(labels_partial, chosen)
        move_into_place(images_partial, paths.cache_images(split))
        move_into_place(ids_partial, paths.cache_ids(split))
        if labels_out and labels_partial:
            move_into_place(labels_partial, labels_out)
        if files_dir and files_partial:
            move_into_place(files_partial, files_dir)
        return ids
    except Exception as error:
        if not is_archive_fault(error):
            raise
        raise DataError(
            f"{archive} is corrupt or truncated ({type(error).__name__}: {first_line(error)}); "
            "delete it and run `python -m kagglekit fetch` again."
        ) from None
    finally:
        for leftover in (images_partial, ids_partial, files_partial, labels_partial):
            remove(leftover)


def choose_members(
    members: Iterable[Member], source: ImageSource, group: str | None, archive: Path, split: str
) -> list[Chosen]:
    """The members that are the split's images, in stream order, with their ids (and labels read off paths).

    A member the pattern does not match is not one of these images and is skipped; an id that is empty,
    holds a ``/`` or repeats another member's, or a label group that matched nothing, is one line naming it.
    """
    chosen: list[Chosen] = []
    seen: dict[str, str] = {}
    key = f"{split}.images.members"
    fullmatch = source.regex.fullmatch if isinstance(source, MemberImages) else None
    for member in members:
        if member.id is not None:
            image_id, label = member.id, member.label
        else:
            match = fullmatch(member.name)  # a MemberImages: only pixel rows come with their ids
            if match is None:
                continue
            image_id = match.group("id")
            label = match.group(group) if group else None
            if group and not label:
                raise DataError(
                    f"{archive}: {member.name} has no label: the group {group!r} of {key} "
                    f"({source.members!r}) matched nothing in it; fix the spec's pattern."
                )
        if not image_id or image_id in (".", "..") or "/" in image_id or "\\" in image_id:
            raise DataError(
                f"{archive}: {member.name} has the id {image_id!r}, which cannot name a file; "
                f"fix the (?P<id>...) group of {key}."
            )
        if image_id in seen:
            raise DataError(
                f"{archive}: {member.name} and {seen[image_id]} both have the id {image_id!r}; "
                f"every image needs its own: fix the (?P<id>...) group of {key}."
            )
        seen[image_id] = member.name
        chosen.append(Chosen(member.name, image_id, label))
    if not chosen:
        wanted = f"a member matching {key} = {source.members!r}" if isinstance(source, MemberImages) else "a row"
        raise DataError(f"{archive} holds no image: expected {wanted}; is it the right file, or is the spec wrong?")
    return chosen


def check_ids(found: np.ndarray, expected: np.ndarray, archive: Path, id_csv: Path) -> None:
    """The images must have exactly the ids the CSV lists: no more, no fewer."""
    if len(found) == len(expected) and np.array_equal(np.sort(found), np.sort(expected)):
        return
    missing = set(np.setdiff1d(expected, found).tolist())
    extra = set(np.setdiff1d(found, expected).tolist())
    problems = []
    if missing:
        problems.append(describe_ids(missing, f"in {id_csv.name} have no image in {archive.name}"))
    if extra:
        problems.append(describe_ids(extra, f"in {archive.name} are not in {id_csv.name}"))
    if not problems:
        problems.append(f"{archive.name} holds {len(found)} images for {len(expected)} ids")
    raise DataError(f"{'; '.join(problems)}; fetch both files again with `python -m kagglekit fetch --force`.")


def write_id_label_csv(path: Path, chosen: list[Chosen]) -> None:
    """cache/train_labels.csv: ``id,label`` in cache order, quoted where a label needs it."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["id", "label"])
        writer.writerows((c.id, c.label) for c in chosen)


def file_name(chosen: Chosen) -> str:
    """``<id>.<ext>`` under images/<split>/: the member's own extension (not repeated when the id ends in it)."""
    suffix = PurePosixPath(chosen.name).suffix.lower()
    return chosen.id if chosen.id.lower().endswith(suffix) else f"{chosen.id}{suffix}"


def _decode_members(
    reader: ImageReader,
    chosen: list[Chosen],
    images_path: Path,
    files_dir: Path | None,
    pool: Executor | None,
    archive: Path,
    policy: ImagePolicy,
    progress: bool,
) -> int:
    index_of = {c.name: index for index, c in enumerate(chosen)}
    if files_dir is None:
        names = [""] * len(chosen)  # nothing is written
    else:
        names = [file_name(c) if not isinstance(reader, PixelCsvReader) else f"{c.id}.png" for c in chosen]
    decoder = ChunkedDecoder(images_path, len(chosen), pool, archive, policy, progress)
    writer = BackgroundFileWriter(files_dir)
    try:
        for name, data in reader.stream(index_of):
            index = index_of.get(name)
            if index is not None:
                writer.write(names[index], data)
                decoder.add(index, name, data)
        return decoder.finish()
    finally:  # on an error too: a bar left open would swallow the start of the error's line, then redraw after it
        decoder.close()
        writer.close()


def is_archive_fault(error: BaseException) -> bool:
    """Whether the archive's bytes are to blame: the readers' and codecs' own errors, or one raised from their code.

    A header well formed enough to pass its CRC but not to parse (a forged one) trips
    py7zr's asserts, type checks and UTF-16 decoding; those are about the archive too. So
    the innermost frame of py7zr, zipfile or kagglekit decides: below py7zr or zipfile, the
    bytes; below us, a bug. An OSError with an errno is the disk's, not the archive's (bz2
    reports bad data as an OSError without one).
    """
    if isinstance(error, KagglekitError):
        return False
    if isinstance(error, CORRUPT_ARCHIVE_ERRORS):
        return True
    if isinstance(error, OSError) and error.errno is not None:
        return False
    for frame in reversed(traceback.extract_tb(error.__traceback__)):
        source = Path(frame.filename).resolve()
        if source.is_relative_to(PY7ZR_PACKAGE) or source == ZIPFILE_MODULE:
            return True
        if source.is_relative_to(KAGGLEKIT_PACKAGE):
            return False
    return False


# -- readers: one per storage format, behind one factory -----------------------------


class Member(NamedTuple):  # a tuple: cheap to make 300,000 of
    """One candidate image of a reader: its path ("/"-separated; for a folder tree, relative to raw/, as
    Kaggle lists it), its declared size, and for pixel rows the id (and label) they come with."""

    name: str
    size: int = 0
    id: str | None = None
    label: str | None = None


class ImageReader:
    """One storage format: ``members()`` lists every entry that could be an image, checked safe, in the
    order ``stream(wanted)`` then yields ``(name, payload)`` for those whose names are in ``wanted``."""

    def __init__(self, path: Path, max_bytes: int) -> None:
        self.path = Path(path)
        self.max_bytes = max_bytes

    def members(self) -> list[Member]:
        raise NotImplementedError

    def stream(self, wanted: Container[str]) -> Iterator[tuple[str, Payload]]:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def __enter__(self) -> ImageReader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # shared checks --------------------------------------------------------------

    def check_name(self, name: str) -> None:
        if name.startswith("/") or ".." in name.split("/") or (len(name) > 1 and name[1] == ":"):
            raise UnsafeArchiveError(
                f"{self.path} has an entry that escapes its folder ({name!r}); refusing to unpack it."
            )

    def check_member_size(self, name: str, size: int) -> None:
        if size > MAX_MEMBER_BYTES:
            raise UnsafeArchiveError(f"{name} declares {size} bytes, over the {MAX_MEMBER_BYTES}-byte cap per image")

    def check_total(self, declared: int) -> None:
        if declared > self.max_bytes:
            raise UnsafeArchiveError(
                f"{self.path} would unpack to {declared / 2**30:.1f} GiB, over the {self.max_bytes / 2**30:.1f} GiB "
                "cap; if it is genuine, raise --max-unpacked-gib."
            )


def open_reader(path: Path, source: ImageSource, max_bytes: int, label_column: str | None = None) -> ImageReader:
    """The reader for ``source``'s file: by its packing (7z, zip, a folder tree), or a pixel CSV."""
    from kagglekit.competitions.spec import packing_of

    if isinstance(source, PixelImages):
        return PixelCsvReader(path, max_bytes, source, label_column)
    kind = packing_of(source.file)
    reader = READERS.get(kind)
    if reader is None:
        raise DataError(f"{path}: member images need a .7z, a .zip or a folder tree, not a {kind} file; fix the spec.")
    return reader(path, max_bytes)


class SevenZipReader(ImageReader):
    """A 7z: py7zr's header for the listing, its folder decompressor driven directly for the bytes."""

    def __init__(self, path: Path, max_bytes: int) -> None:
        super().__init__(path, max_bytes)
        try:
            self.archive = py7zr.SevenZipFile(path, mode="r", max_extract_size=max_bytes)
        except py7zr.exceptions.PasswordRequired:  # its header is encrypted too
            raise DataError(f"{path} is encrypted; Kaggle's archives are not, so fetch it again.") from None
        except Exception as error:
            if not is_archive_fault(error):
                raise
            raise DataError(
                f"{path} is not a readable 7z archive ({first_line(error)}); "
                "delete it and run `python -m kagglekit fetch` again."
            ) from None
        if self.archive.needs_password():
            self.archive.close()
            raise DataError(f"{path} is encrypted; Kaggle's archives are not, so fetch it again.")

    def close(self) -> None:
        self.archive.close()

    def members(self) -> list[Member]:
        """Checked from the header before a byte is decompressed, so a hostile archive is refused before it
        can write anything."""
        members, declared = [], 0
        for entry in self.archive.files:
            name = entry.filename.replace("\\", "/")
            self.check_name(name)
            if entry.is_symlink or entry.is_junction or entry.is_socket:
                raise UnsafeArchiveError(f"{self.path} has a link or special file ({name!r}); refusing to unpack it.")
            if entry.is_directory:
                continue
            declared += entry.uncompressed or 0
            members.append(Member(name, entry.uncompressed or 0))
        self.check_total(declared)
        return members

    def stream(self, wanted: Container[str]) -> Iterator[tuple[str, bytes]]:
        for name, data in iter_member_bytes(self.archive, self.max_bytes):
            yield name.replace("\\", "/"), data


def iter_member_bytes(seven_zip: py7zr.SevenZipFile, max_bytes: int) -> Iterator[tuple[str, bytes]]:
    """Yield ``(name, bytes)`` for every non-empty member, streaming each solid folder once.

    py7zr's ``extract`` pays a ``psutil.virtual_memory()`` call and several
    ``lstat``s per member to guard paths on disk; with nothing written to disk
    here, that is most of the time for 300,000 tiny members (measured: ~250 µs
    each on this sandbox). So we drive py7zr's own folder decompressor
    directly, still checking every member's CRC and the total size cap.
    """
    streams = seven_zip.header.main_streams
    if streams is None:
        return
    positions = streams.packinfo.packpositions
    unpacked = 0
    for index, folder in enumerate(streams.unpackinfo.folders):
        seven_zip.fp.seek(seven_zip.afterheader + positions[index])
        stream = FolderStream(
            seven_zip.fp, folder.get_decompressor(positions[index + 1] - positions[index], reset=True)
        )
        for member in folder.files:
            if member.emptystream:
                continue
            data = stream.read(member.uncompressed, member.filename)
            unpacked += len(data)
            if unpacked > max_bytes:
                raise UnsafeArchiveError(f"decompressed data passed the {max_bytes / 2**30:.1f} GiB cap; refusing it")
            if member.crc32 is not None and zlib.crc32(data) != member.crc32:
                raise py7zr.exceptions.CrcError(zlib.crc32(data), member.crc32, member.filename)
            yield member.filename, data


class ZipReader(ImageReader):
    """A zip: the central directory for the listing; members read one at a time in file order.

    zipfile stops every member at its declared size and checks its CRC, so the
    declared sizes (capped per member and in total before anything is read) bound
    what a bomb can unpack; a lying header ends in a CRC or size error.
    """

    def __init__(self, path: Path, max_bytes: int) -> None:
        super().__init__(path, max_bytes)
        try:
            self.archive = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as error:
            raise DataError(
                f"{path} is not a readable zip archive ({first_line(error)}); "
                "delete it and run `python -m kagglekit fetch` again."
            ) from None
        self.infos: dict[str, zipfile.ZipInfo] = {}

    def close(self) -> None:
        self.archive.close()

    def members(self) -> list[Member]:
        members, declared = [], 0
        for info in sorted(self.archive.infolist(), key=lambda i: i.header_offset):
            name = info.filename.replace("\\", "/")
            self.check_name(name)
            kind = stat.S_IFMT(info.external_attr >> 16)  # Unix file type bits, where the zip tool kept them
            if kind and kind not in (stat.S_IFREG, stat.S_IFDIR):
                raise UnsafeArchiveError(f"{self.path} has a link or special file ({name!r}); refusing to unpack it.")
            if info.is_dir():
                continue
            if info.flag_bits & 0x1:
                raise DataError(f"{self.path} is encrypted ({name}); Kaggle's archives are not, so fetch it again.")
            if name.startswith("__MACOSX/"):
                continue
            self.check_member_size(name, info.file_size)
            declared += info.file_size
            self.infos[name] = info
            members.append(Member(name, info.file_size))
        self.check_total(declared)
        return members

    def stream(self, wanted: Container[str]) -> Iterator[tuple[str, bytes]]:
        unpacked = 0
        for name, info in self.infos.items():
            if name not in wanted:
                continue  # a zip's members stand alone: skipping one costs nothing
            with self.archive.open(info) as handle:
                data = handle.read(info.file_size + 1)
            if len(data) != info.file_size:
                raise zipfile.BadZipFile(f"{name} holds {len(data)} bytes, its header says {info.file_size}")
            unpacked += len(data)
            if unpacked > self.max_bytes:
                raise UnsafeArchiveError(
                    f"decompressed data passed the {self.max_bytes / 2**30:.1f} GiB cap; refusing it"
                )
            yield name, data


class FolderReader(ImageReader):
    """A folder tree Kaggle lists file by file, fetched into raw/NAME/; names are paths relative to raw/."""

    def __init__(self, path: Path, max_bytes: int) -> None:
        super().__init__(path, max_bytes)
        if not self.path.is_dir():
            raise DataError(f"{path} is not a folder; the spec lists it as a folder tree: fetch it again.")
        self.files: dict[str, Path] = {}

    def members(self) -> list[Member]:
        base = self.path.parent  # raw/: names as Kaggle lists them, "train/<species>/<name>.png"
        members, declared = [], 0
        for directory, subdirectories, names in os.walk(self.path):  # links to folders are not followed
            subdirectories.sort()
            for link in [d for d in subdirectories if os.path.islink(os.path.join(directory, d))]:
                raise UnsafeArchiveError(f"{self.path} has a link ({Path(directory, link)}); refusing to unpack it.")
            for file in sorted(names):
                full = Path(directory, file)
                name = full.relative_to(base).as_posix()
                info = full.lstat()
                if not stat.S_ISREG(info.st_mode):
                    raise UnsafeArchiveError(
                        f"{self.path} has a link or special file ({name!r}); refusing to unpack it."
                    )
                self.check_member_size(name, info.st_size)
                declared += info.st_size
                self.files[name] = full
                members.append(Member(name, info.st_size))
        self.check_total(declared)
        return members

    def stream(self, wanted: Container[str]) -> Iterator[tuple[str, bytes]]:
        for name, full in self.files.items():
            if name in wanted:
                with open(full, "rb") as handle:
                    data = handle.read(MAX_MEMBER_BYTES + 1)
                self.check_member_size(name, len(data))
                yield name, data


class PixelCsvReader(ImageReader):
    """A CSV (or a zip holding one) of pixel columns, one image a row: members are its rows, named
    ``<file> row <n>``, with ids "1".."N" (the row numbers, as Kaggle numbers them) or the spec's id
    column, and labels when the CSV carries the training labels itself."""

    def __init__(self, path: Path, max_bytes: int, source: PixelImages, label_column: str | None) -> None:
        super().__init__(path, max_bytes)
        self.source = source
        self.label_column = label_column
        self.images: np.ndarray | None = None

    def members(self) -> list[Member]:
        from kagglekit.data.pixels import read_pixel_csv

        source = self.source
        if source.id is not None and self.label_column is not None:
            raise DataError(
                f"{self.path}: a pixel CSV with both an id column ({source.id!r}) and its own labels "
                f"({self.label_column!r}) is not supported yet; give the labels' id column in the spec "
                "(train.labels.id) so folders reads them from the CSV."
            )
        text_column = source.id or self.label_column
        self.images, text = read_pixel_csv(self.path, source.pixels, source.shape, text_column)
        rows = range(1, len(self.images) + 1)
        if source.id is not None:
            return [Member(self.row_name(row), 0, str(image_id)) for row, image_id in zip(rows, text)]
        labels = text if self.label_column else [None] * len(self.images)
        return [Member(self.row_name(row), 0, str(row), label) for row, label in zip(rows, labels)]

    def row_name(self, row: int) -> str:
        return f"{self.path.name} row {row}"

    def stream(self, wanted: Container[str]) -> Iterator[tuple[str, np.ndarray]]:
        assert self.images is not None, "members() reads the CSV"
        for row, pixels in enumerate(self.images, start=1):
            yield self.row_name(row), pixels


READERS: dict[str, type[ImageReader]] = {"7z": SevenZipReader, "zip": ZipReader, "folder": FolderReader}


class FolderStream:
    """A solid folder's decompressed bytes, pulled in large blocks and cut into members.

    py7zr's decompressor reads another 1 MB of packed input on every call, and
    lzma keeps whatever it has not yet consumed. Asked for one 2 KB PNG at a
    time, it ends up holding the whole packed archive in memory (that is the
    ~1 GB peak of ``extractall`` on test.7z). Asking for 8 MB at a time keeps
    consumption level with reading, so memory stays at a few blocks.
    """

    BLOCK = 8 << 20

    def __init__(self, fp: BinaryIO, decompressor: object) -> None:
        self.fp = fp
        self.decompressor = decompressor
        self.buffer = bytearray()
        self.position = 0

    def read(self, size: int, name: str) -> bytes:
        if size > MAX_MEMBER_BYTES:
            raise UnsafeArchiveError(f"{name} declares {size} bytes, over the {MAX_MEMBER_BYTES}-byte cap per image")
        while len(self.buffer) - self.position < size:
            self._refill(name)
        data = bytes(self.buffer[self.position : self.position + size])
        self.position += size
        return data

    def _refill(self, name: str) -> None:
        before = self.fp.tell()
        block = self.decompressor.decompress(self.fp, self.BLOCK)
        if not block and self.fp.tell() == before:
            raise EOFError(f"the stream ends inside {name}")
        del self.buffer[: self.position]
        self.position = 0
        self.buffer += block


# -- decoding ------------------------------------------------------------------------


class ChunkedDecoder:
    """Decodes images in chunks on a process pool while the caller keeps decompressing.

    At most two chunks per worker are in flight, so memory stays bounded
    whatever the archive's size. The cache file is opened when the first chunk
    comes back: under size = "native" that chunk's first image fixes the size
    every other image must have.
    """

    def __init__(
        self, path: Path, count: int, pool: Executor | None, archive: Path, policy: ImagePolicy, progress: bool
    ) -> None:
        self.path = path
        self.count = count
        self.pixels: NpyRowWriter | None = None
        self.first = ""
        self.pool = pool
        self.archive = archive
        self.policy = (policy.size, policy.resize, policy.channels)
        self.chunk: list[tuple[int, str, Payload]] = []
        self.in_flight: deque[tuple[list[int], list[str], Future | tuple]] = deque()
        self.max_in_flight = 2 * (getattr(pool, "_max_workers", 1) or 1)
        self.decoded = 0
        self.bar = tqdm(total=count, unit="img", desc=f"unpack {archive.name}", disable=not progress, mininterval=0.5)

    def add(self, index: int, name: str, data: Payload) -> None:
        self.chunk.append((index, name, data))
        if len(self.chunk) >= DECODE_CHUNK:
            self._submit_chunk()

    def finish(self) -> int:
        self._submit_chunk()
        while self.in_flight:
            self._collect_oldest()
        return self.decoded

    def close(self) -> None:
        self.bar.close()
        if self.pixels is not None:
            self.pixels.close()

    def _submit_chunk(self) -> None:
        if not self.chunk:
            return
        indices, names, blobs = (list(column) for column in zip(*self.chunk))
        self.chunk = []
        if self.pool:
            result = self.pool.submit(decode_images, blobs, names, self.policy)
        else:
            result = decode_images(blobs, names, self.policy)
        self.in_flight.append((indices, names, result))
        while len(self.in_flight) > self.max_in_flight or (self.pool is None and self.in_flight):
            self._collect_oldest()

    def _collect_oldest(self) -> None:
        indices, names, result = self.in_flight.popleft()
        images, error = result.result() if isinstance(result, Future) else result
        if error:
            raise DataError(f"{self.archive}: {error}")
        if self.pixels is None:
            self.pixels = NpyRowWriter(self.path, (self.count, *images.shape[1:]))
            self.first = names[0]
        elif images.shape[1:] != self.pixels.shape[1:]:  # only under "native": a size is a size
            raise DataError(
                f"{self.archive}: {odd_size(names[0], images.shape[1:], self.pixels.shape[1:], self.first)}"
            )
        self.pixels.write(indices, images)
        self.decoded += len(indices)
        self.bar.update(len(indices))


def odd_size(name: str, shape: tuple[int, ...], expected: tuple[int, ...], first: str) -> str:
    return (
        f"{name} is {shape[1]}x{shape[0]}, expected {expected[1]}x{expected[0]} as {first} is "
        '(images.size = "native" wants every image one size; give the spec a size and a resize otherwise)'
    )


class NpyRowWriter:
    """A ``.npy`` file filled row by row with positional writes.

    A memory map would do the same, but every page written through it stays
    resident and counts as the process's memory: 0.9 GB for Kaggle's test set.
    """

    def __init__(self, path: Path, shape: tuple[int, ...], dtype: np.dtype = np.dtype(np.uint8)) -> None:
        self.shape = shape
        self.handle = open(path, "wb")
        np.lib.format.write_array_header_1_0(
            self.handle, {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False, "shape": shape}
        )
        self.data_offset = self.handle.tell()
        self.row_bytes = int(np.prod(shape[1:])) * dtype.itemsize
        self.handle.truncate(self.data_offset + shape[0] * self.row_bytes)

    def __len__(self) -> int:
        return self.shape[0]

    def write(self, indices: list[int], rows: np.ndarray) -> None:
        """Rows for consecutive indices (the usual case) go out in one write."""
        if indices == list(range(indices[0], indices[0] + len(indices))):
            os.pwrite(
                self.handle.fileno(),
                np.ascontiguousarray(rows).tobytes(),
                self.data_offset + indices[0] * self.row_bytes,
            )
            return
        for index, row in zip(indices, rows):
            os.pwrite(
                self.handle.fileno(), np.ascontiguousarray(row).tobytes(), self.data_offset + index * self.row_bytes
            )

    def __enter__(self) -> NpyRowWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self.handle.close()


class BackgroundFileWriter:
    """Writes files on a thread: creating 50,000 files is syscall-bound, and the
    GIL is free during those syscalls, so they overlap with decompression.
    Pixels (a pixel CSV's rows) are written as PNGs."""

    BATCH = 2048

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory
        self.pool = ThreadPoolExecutor(1) if directory else None
        self.batch: list[tuple[str, Payload]] = []
        self.pending: deque[Future] = deque()

    def write(self, name: str, data: Payload) -> None:
        if self.pool is None:
            return
        self.batch.append((name, data))
        if len(self.batch) >= self.BATCH:
            self._flush()

    def close(self) -> None:
        if self.pool is None:
            return
        self._flush()
        while self.pending:
            self.pending.popleft().result()
        self.pool.shutdown()

    def _flush(self) -> None:
        if self.batch:
            self.pending.append(self.pool.submit(_write_files, self.directory, self.batch))
            self.batch = []
        while len(self.pending) > 4:
            self.pending.popleft().result()


def _write_files(directory: Path, batch: list[tuple[str, Payload]]) -> None:
    for name, data in batch:
        with open(directory / name, "wb") as handle:
            handle.write(data if isinstance(data, bytes) else png_bytes(data))


def png_bytes(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels[..., 0] if pixels.shape[-1] == 1 else pixels).save(buffer, format="PNG")
    return buffer.getvalue()


MODES = {1: "L", 3: "RGB"}
DECODE_ERRORS = (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError)


def decode_images(
    blobs: list[Payload], names: list[str], policy: tuple[tuple[int, int] | None, str | None, int]
) -> tuple[np.ndarray | None, str | None]:
    """Decode a chunk into (N, H, W, C) uint8 under the spec's image policy; on a bad image return its name and why.

    ``policy`` is (size, resize, channels) of :class:`~kagglekit.competitions.ImagePolicy`. Runs in worker
    processes, so it returns errors instead of raising: the caller turns them into one-line messages.
    Under size "native" every image of the chunk must have the first one's size.
    """
    size, resize, channels = policy
    mode = MODES[channels]
    out: np.ndarray | None = None
    for position, (blob, name) in enumerate(zip(blobs, names)):
        if isinstance(blob, np.ndarray):
            if size is None and blob.shape[-1] == channels:
                pixels = blob
            else:
                pixels = _pixels(
                    Image.fromarray(blob[..., 0] if blob.shape[-1] == 1 else blob).convert(mode), size, resize
                )
        else:
            try:  # the file's own faults: only decoding and converting it
                image = Image.open(io.BytesIO(blob))
                if size is not None and image.format == "JPEG":
                    image.draft(
                        mode, _draft_size(image.size, size, resize)
                    )  # decode at 1/2, 1/4, 1/8 where that suffices
                image = image.convert(mode) if image.mode != mode else _loaded(image)
            except DECODE_ERRORS as error:
                # Pillow names the BytesIO it was handed ("cannot identify image file <_io.BytesIO ...>"): say what it means
                unknown = isinstance(error, UnidentifiedImageError)
                why = "no image format Pillow knows" if unknown else first_line(error) or type(error).__name__
                return None, f"{name} is not a readable image ({why}); if the file is damaged, fetch it again"
            pixels = _pixels(image, size, resize)
        if out is None:
            out = np.empty((len(blobs), *pixels.shape), dtype=np.uint8)
        elif pixels.shape != out.shape[1:]:
            return None, odd_size(name, pixels.shape, out.shape[1:], names[0])
        out[position] = pixels
    return out, None


def _loaded(image: Image.Image) -> Image.Image:
    image.load()
    return image


def _pixels(image: Image.Image, size: tuple[int, int] | None, resize: str | None) -> np.ndarray:
    """A decoded image, of the wanted mode, resized when the policy has a size, as (H, W, C) uint8."""
    if size is not None:
        image = _resized(image, size, resize)
    pixels = np.asarray(image)
    return pixels[..., None] if pixels.ndim == 2 else pixels


def _resized(image: Image.Image, size: tuple[int, int], resize: str | None) -> Image.Image:
    """``squeeze``: the whole image to (height, width), aspect lost; ``shorter-side-centre-crop``: scaled so
    its shorter side fits, the middle cut out (one resampling step over the crop box)."""
    height, width = size
    w, h = image.size
    if (w, h) == (width, height):
        return image
    if resize == "squeeze":
        return image.resize((width, height), Image.Resampling.BILINEAR)
    scale = max(width / w, height / h)
    crop_w, crop_h = min(w, width / scale), min(h, height / scale)  # min: float rounding must not leave the image
    box = (max(0.0, (w - crop_w) / 2), max(0.0, (h - crop_h) / 2), min(w, (w + crop_w) / 2), min(h, (h + crop_h) / 2))
    return image.resize((width, height), Image.Resampling.BILINEAR, box=box)


def _draft_size(current: tuple[int, int], size: tuple[int, int], resize: str | None) -> tuple[int, int]:
    """The smallest (width, height) a JPEG may be decoded at and still cover the target after resizing."""
    height, width = size
    w, h = current
    if resize == "squeeze":
        return width, height
    scale = max(width / w, height / h)
    return math.ceil(w * scale), math.ceil(h * scale)


def decoder_workers(images: int, declared_bytes: int) -> int:
    """How many processes decode beside the one reading the archive: none for a small archive (starting
    them costs more than they save), else every other core."""
    if images < PARALLEL_THRESHOLD and declared_bytes < PARALLEL_BYTES:
        return 0
    return max(1, (os.cpu_count() or 2) - 1)


class _decoder_pool:
    """A process pool when the archive is big enough to pay for it, else inline decoding."""

    def __init__(self, workers: int | None, images: int, declared_bytes: int = 0) -> None:
        if workers is None:
            workers = decoder_workers(images, declared_bytes)
        self.pool = ProcessPoolExecutor(workers, mp_context=_safe_context()) if workers else None

    def __enter__(self) -> Executor | None:
        return self.pool

    def __exit__(self, *exc_info: object) -> None:
        if self.pool:
            self.pool.shutdown(wait=True, cancel_futures=True)


def _safe_context() -> multiprocessing.context.BaseContext:
    """fork is fast and needs no ``__main__`` guard, but forking a process that
    runs TensorFlow's threads can deadlock the child: spawn then."""
    return multiprocessing.get_context("spawn" if "tensorflow" in sys.modules else "fork")


def summaries_table(summaries: Iterable[SplitSummary]) -> str:
    rows = [
        f"  {s.split:<5} {s.images:>8,} images  " + ("already complete" if s.skipped else f"{s.seconds:6.1f} s")
        for s in summaries
    ]
    return "\n".join(rows)
