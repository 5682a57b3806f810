"""unpack: decode train.7z and test.7z straight into uint8 arrays.

Writing Kaggle's 300,000 test PNGs to disk is most of what ``extractall`` costs
(177 s here, against 32 s for the LZMA2 stream itself), and prediction only
wants the pixels. So each archive's solid stream is decompressed once with
py7zr's decompressor, each member's PNG is decoded in a worker process on
another core while decompression goes on, and the pixels land in
``cache/<split>_images.npy``. Train PNGs are also written to ``images/train/``
(on a background thread) because the class-folder layout, for users and for
``flow_from_directory``, is made of hard links to them.

Nothing in ``cache/`` counts until its ``.<split>.complete`` marker is written,
after every check has passed; outputs are built under ``.partial`` names and
renamed into place, so a crash leaves nothing that looks finished.
"""

from __future__ import annotations

import io
import lzma
import multiprocessing
import os
import re
import sys
import time
import traceback
from collections import deque
import zlib
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Iterable, Iterator

import numpy as np
import py7zr
import py7zr.exceptions
from PIL import Image, UnidentifiedImageError
from tqdm import tqdm

from kagglekit.exceptions import DataError, KagglekitError, StageNotReadyError, UnsafeArchiveError, first_line
from kagglekit.data.labels import describe_ids, read_id_label_csv
from kagglekit.markers import clear_complete, fingerprint, is_complete, mark_complete
from kagglekit.outputs import move_into_place, partial_path, remove
from kagglekit.paths import TEST_ARCHIVE, TRAIN_ARCHIVE, CompetitionPaths

IMAGE_SHAPE = (32, 32, 3)  # cifar-10; every image must match, the cache is one dense array
DEFAULT_MAX_UNPACKED_GIB = 4.0  # Kaggle's test.7z unpacks to ~0.7 GiB; anything far above is a bomb
MAX_MEMBER_BYTES = 16 * 2**20  # no single image of a 32x32 competition comes near this
DECODE_CHUNK = 4096  # images per worker task: big enough to amortise pickling, small enough to overlap
PARALLEL_THRESHOLD = 20_000  # below this, starting worker processes costs more than it saves
# What py7zr and the decompressors it drives raise on bad bytes (EOFError: a stream that ends early, here or there).
# Anything else is a bug, and must not send the user to delete a good 700 MB download.
CORRUPT_ARCHIVE_ERRORS = (py7zr.exceptions.ArchiveError, lzma.LZMAError, zlib.error, EOFError)
PY7ZR_PACKAGE = Path(py7zr.__file__).resolve().parent
KAGGLEKIT_PACKAGE = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class SplitSummary:
    split: str
    images: int
    seconds: float
    skipped: bool


def unpack_competition(
    paths: CompetitionPaths,
    force: bool = False,
    write_test_files: bool = False,
    max_unpacked_gib: float = DEFAULT_MAX_UNPACKED_GIB,
    workers: int | None = None,
    progress: bool = True,
) -> list[SplitSummary]:
    """Unpack train.7z (pixels + PNG files) and test.7z (pixels; files on request)."""
    jobs = (
        ("train", paths.raw / TRAIN_ARCHIVE, paths.train_labels, True),
        ("test", paths.raw / TEST_ARCHIVE, paths.sample_submission, write_test_files),
    )
    return [
        unpack_split(paths, split, archive, id_csv, write_files, force, max_unpacked_gib, workers, progress)
        for split, archive, id_csv, write_files in jobs
    ]


def unpack_split(
    paths: CompetitionPaths,
    split: str,
    archive: Path,
    id_csv: Path,
    write_files: bool,
    force: bool = False,
    max_unpacked_gib: float = DEFAULT_MAX_UNPACKED_GIB,
    workers: int | None = None,
    progress: bool = True,
) -> SplitSummary:
    """Decode one archive into the cache, checking its ids against ``id_csv``."""
    if not archive.is_file():
        raise StageNotReadyError(f"{archive} is missing; run `python -m kagglekit fetch` first.")
    marker = paths.unpacked_marker(split).name
    stamp = fingerprint([archive, id_csv], split=split, write_files=write_files, shape=IMAGE_SHAPE)
    if not force and is_complete(paths.cache, stamp, marker):
        return SplitSummary(split, len(np.load(paths.cache_ids(split), mmap_mode="r")), 0.0, skipped=True)

    started = time.perf_counter()
    paths.cache.mkdir(parents=True, exist_ok=True)
    clear_complete(paths.cache, marker)
    expected_ids = read_id_label_csv(id_csv)["id"].to_numpy()
    files_dir = paths.images / split if write_files else None
    ids = _decode_archive(archive, split, expected_ids, id_csv, paths, files_dir, max_unpacked_gib, workers, progress)
    mark_complete(paths.cache, stamp, marker, images=len(ids), archive=str(archive))
    return SplitSummary(split, len(ids), time.perf_counter() - started, skipped=False)


def _decode_archive(
    archive: Path, split: str, expected_ids: np.ndarray, id_csv: Path, paths: CompetitionPaths,
    files_dir: Path | None, max_unpacked_gib: float, workers: int | None, progress: bool,
) -> np.ndarray:
    """Decode into ``.partial`` outputs, then move them into place; on any failure remove them."""
    max_bytes = int(max_unpacked_gib * 2**30)
    images_partial = partial_path(paths.cache_images(split))
    ids_partial = partial_path(paths.cache_ids(split))
    files_partial = partial_path(files_dir) if files_dir else None
    try:
        with _open_archive(archive, max_bytes) as seven_zip:
            members = image_members(seven_zip, archive, split, max_bytes)
            ids = np.fromiter(members.values(), dtype=np.int64, count=len(members))
            check_ids(ids, expected_ids, archive, id_csv)
            remove(files_partial)
            if files_partial:
                files_partial.mkdir(parents=True)
            with NpyRowWriter(images_partial, (len(ids), *IMAGE_SHAPE)) as pixels, _decoder_pool(workers, len(ids)) as pool:
                decoded = _decode_members(seven_zip, members, pixels, files_partial, pool, archive, max_bytes, progress)
            if decoded != len(ids):
                raise DataError(f"{archive} ended after {decoded} of {len(ids)} images; it is truncated, fetch it again.")
        with open(ids_partial, "wb") as handle:  # np.save(path) would append ".npy" to the name
            np.save(handle, ids)
        move_into_place(images_partial, paths.cache_images(split))
        move_into_place(ids_partial, paths.cache_ids(split))
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
        for leftover in (images_partial, ids_partial, files_partial):
            remove(leftover)


def _decode_members(
    seven_zip: py7zr.SevenZipFile, members: dict[str, int], pixels: NpyRowWriter, files_dir: Path | None,
    pool: Executor | None, archive: Path, max_bytes: int, progress: bool,
) -> int:
    index_of = {name: index for index, name in enumerate(members)}
    decoder = ChunkedDecoder(pixels, pool, archive, progress)
    writer = BackgroundFileWriter(files_dir)
    try:
        for name, data in iter_member_bytes(seven_zip, max_bytes):
            index = index_of.get(name.replace("\\", "/"))
            if index is not None:
                writer.write(name, data)
                decoder.add(index, name, data)
        return decoder.finish()
    finally:  # on an error too: a bar left open would swallow the start of the error's line, then redraw after it
        decoder.close()
        writer.close()


def _open_archive(archive: Path, max_bytes: int) -> py7zr.SevenZipFile:
    try:
        seven_zip = py7zr.SevenZipFile(archive, mode="r", max_extract_size=max_bytes)
    except py7zr.exceptions.PasswordRequired:  # its header is encrypted too
        raise DataError(f"{archive} is encrypted; Kaggle's archives are not, so fetch it again.") from None
    except Exception as error:
        if not is_archive_fault(error):
            raise
        raise DataError(
            f"{archive} is not a readable 7z archive ({first_line(error)}); "
            "delete it and run `python -m kagglekit fetch` again."
        ) from None
    if seven_zip.needs_password():
        seven_zip.close()
        raise DataError(f"{archive} is encrypted; Kaggle's archives are not, so fetch it again.")
    return seven_zip


def is_archive_fault(error: BaseException) -> bool:
    """Whether the archive's bytes are to blame: py7zr's and the codecs' own errors, or one raised from py7zr's code.

    A header well formed enough to pass its CRC but not to parse (a forged one) trips
    py7zr's asserts, type checks and UTF-16 decoding; those are about the archive too. So
    the innermost frame of py7zr or kagglekit decides: below py7zr, the bytes; below us, a
    bug. An OSError with an errno is the disk's, not the archive's (bz2 reports bad data
    as an OSError without one).
    """
    if isinstance(error, KagglekitError):
        return False
    if isinstance(error, CORRUPT_ARCHIVE_ERRORS):
        return True
    if isinstance(error, OSError) and error.errno is not None:
        return False
    for frame in reversed(traceback.extract_tb(error.__traceback__)):
        source = Path(frame.filename).resolve()
        if source.is_relative_to(PY7ZR_PACKAGE):
            return True
        if source.is_relative_to(KAGGLEKIT_PACKAGE):
            return False
    return False


def image_members(seven_zip: py7zr.SevenZipFile, archive: Path, split: str, max_bytes: int) -> dict[str, int]:
    """``{member name: image id}`` in archive order, refusing anything unsafe or unexpected.

    Checked from the header before a byte is decompressed, so a hostile archive
    is refused before it can write anything.
    """
    pattern = re.compile(rf"{re.escape(split)}/(\d+)\.png")
    members: dict[str, int] = {}
    declared_bytes = 0
    for entry in seven_zip.files:
        name = entry.filename.replace("\\", "/")
        if name.startswith("/") or ".." in name.split("/") or (len(name) > 1 and name[1] == ":"):
            raise UnsafeArchiveError(f"{archive} has an entry that escapes its folder ({name!r}); refusing to unpack it.")
        if entry.is_symlink or entry.is_junction or entry.is_socket:
            raise UnsafeArchiveError(f"{archive} has a link or special file ({name!r}); refusing to unpack it.")
        if entry.is_directory:
            continue
        match = pattern.fullmatch(name)
        if not match:
            raise DataError(f"{archive} has an unexpected entry {name!r}; expected only {split}/<id>.png files.")
        declared_bytes += entry.uncompressed or 0
        members[name] = int(match.group(1))
    if declared_bytes > max_bytes:
        raise UnsafeArchiveError(
            f"{archive} would unpack to {declared_bytes / 2**30:.1f} GiB, over the {max_bytes / 2**30:.1f} GiB cap; "
            "if it is genuine, raise --max-unpacked-gib."
        )
    return members


def check_ids(found: np.ndarray, expected: np.ndarray, archive: Path, id_csv: Path) -> None:
    """The archive must hold exactly the ids the CSV lists: no more, no fewer."""
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
        stream = FolderStream(seven_zip.fp, folder.get_decompressor(positions[index + 1] - positions[index], reset=True))
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
        data = bytes(self.buffer[self.position:self.position + size])
        self.position += size
        return data

    def _refill(self, name: str) -> None:
        before = self.fp.tell()
        block = self.decompressor.decompress(self.fp, self.BLOCK)
        if not block and self.fp.tell() == before:
            raise EOFError(f"the stream ends inside {name}")
        del self.buffer[:self.position]
        self.position = 0
        self.buffer += block


class ChunkedDecoder:
    """Decodes PNGs in chunks on a process pool while the caller keeps decompressing.

    At most two chunks per worker are in flight, so memory stays bounded
    whatever the archive's size.
    """

    def __init__(self, pixels: NpyRowWriter, pool: Executor | None, archive: Path, progress: bool) -> None:
        self.pixels = pixels
        self.pool = pool
        self.archive = archive
        self.chunk: list[tuple[int, str, bytes]] = []
        self.in_flight: deque[tuple[list[int], Future | tuple]] = deque()
        self.max_in_flight = 2 * (getattr(pool, "_max_workers", 1) or 1)
        self.decoded = 0
        self.bar = tqdm(total=len(pixels), unit="img", desc=f"unpack {archive.name}", disable=not progress, mininterval=0.5)

    def add(self, index: int, name: str, data: bytes) -> None:
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

    def _submit_chunk(self) -> None:
        if not self.chunk:
            return
        indices, names, blobs = (list(column) for column in zip(*self.chunk))
        self.chunk = []
        result = self.pool.submit(decode_pngs, blobs, names) if self.pool else decode_pngs(blobs, names)
        self.in_flight.append((indices, result))
        while len(self.in_flight) > self.max_in_flight or (self.pool is None and self.in_flight):
            self._collect_oldest()

    def _collect_oldest(self) -> None:
        indices, result = self.in_flight.popleft()
        images, error = result.result() if isinstance(result, Future) else result
        if error:
            raise DataError(f"{self.archive}: {error}; the archive is damaged, fetch it again.")
        self.pixels.write(indices, images)
        self.decoded += len(indices)
        self.bar.update(len(indices))


class NpyRowWriter:
    """A ``.npy`` file filled row by row with positional writes.

    A memory map would do the same, but every page written through it stays
    resident and counts as the process's memory: 0.9 GB for Kaggle's test set.
    """

    def __init__(self, path: Path, shape: tuple[int, ...], dtype: np.dtype = np.dtype(np.uint8)) -> None:
        self.shape = shape
        self.handle = open(path, "wb")
        np.lib.format.write_array_header_1_0(
            self.handle, {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False, "shape": shape})
        self.data_offset = self.handle.tell()
        self.row_bytes = int(np.prod(shape[1:])) * dtype.itemsize
        self.handle.truncate(self.data_offset + shape[0] * self.row_bytes)

    def __len__(self) -> int:
        return self.shape[0]

    def write(self, indices: list[int], rows: np.ndarray) -> None:
        """Rows for consecutive indices (the usual case) go out in one write."""
        if indices == list(range(indices[0], indices[0] + len(indices))):
            os.pwrite(self.handle.fileno(), np.ascontiguousarray(rows).tobytes(), self.data_offset + indices[0] * self.row_bytes)
            return
        for index, row in zip(indices, rows):
            os.pwrite(self.handle.fileno(), np.ascontiguousarray(row).tobytes(), self.data_offset + index * self.row_bytes)

    def __enter__(self) -> "NpyRowWriter":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.handle.close()


class BackgroundFileWriter:
    """Writes files on a thread: creating 50,000 files is syscall-bound, and the
    GIL is free during those syscalls, so they overlap with decompression."""

    BATCH = 2048

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory
        self.pool = ThreadPoolExecutor(1) if directory else None
        self.batch: list[tuple[str, bytes]] = []
        self.pending: deque[Future] = deque()

    def write(self, name: str, data: bytes) -> None:
        if self.pool is None:
            return
        self.batch.append((PurePosixPath(name).name, data))
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


def _write_files(directory: Path, batch: list[tuple[str, bytes]]) -> None:
    for name, data in batch:
        with open(directory / name, "wb") as handle:
            handle.write(data)


def decode_pngs(blobs: list[bytes], names: list[str]) -> tuple[np.ndarray, str | None]:
    """Decode a chunk into (N, 32, 32, 3) uint8; on a bad image return its name and why.

    Runs in worker processes, so it returns errors instead of raising: the
    caller turns them into one-line messages.
    """
    out = np.empty((len(blobs), *IMAGE_SHAPE), dtype=np.uint8)
    for position, (blob, name) in enumerate(zip(blobs, names)):
        try:
            image = Image.open(io.BytesIO(blob))
            if image.mode != "RGB":
                image = image.convert("RGB")
            pixels = np.asarray(image)
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as error:
            return out, f"{name} is not a readable PNG ({first_line(error)})"
        if pixels.shape != IMAGE_SHAPE:
            return out, f"{name} is {pixels.shape[1]}x{pixels.shape[0]}, expected {IMAGE_SHAPE[1]}x{IMAGE_SHAPE[0]}"
        out[position] = pixels
    return out, None


class _decoder_pool:
    """A process pool when the archive is big enough to pay for it, else inline decoding."""

    def __init__(self, workers: int | None, images: int) -> None:
        if workers is None:
            workers = max(1, (os.cpu_count() or 2) - 1) if images >= PARALLEL_THRESHOLD else 0
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
    rows = [f"  {s.split:<5} {s.images:>8,} images  " + ("already complete" if s.skipped else f"{s.seconds:6.1f} s") for s in summaries]
    return "\n".join(rows)
