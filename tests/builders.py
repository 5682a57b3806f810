"""Builders for the data-stage tests: real archives and CSVs on disk, made small."""

from __future__ import annotations

import io
import shutil
import struct
import zlib
from pathlib import Path

import numpy as np
import py7zr

from kagglekit.paths import CompetitionPaths
from kagglekit.standin.synthetic import CompetitionFiles, png_bytes


def raw_competition(files: CompetitionFiles, data_dir: Path, slug: str | None = None) -> CompetitionPaths:
    """Copy every file of a competition's spec into ``data_dir/slug/raw`` as fetch would leave them."""
    paths = CompetitionPaths(data_dir, slug or files.spec.slug)
    paths.raw.mkdir(parents=True, exist_ok=True)
    for name, source in files.files.items():
        if source.is_dir():
            shutil.copytree(source, paths.raw_file(name))
        else:
            shutil.copyfile(source, paths.raw_file(name))
    return paths


def copy_competition(paths: CompetitionPaths, data_dir: Path) -> CompetitionPaths:
    """A private copy of a session-wide competition, to break at will (the shared one stays as the stages left it)."""
    shutil.copytree(paths.data_dir, data_dir, copy_function=shutil.copy2)
    return CompetitionPaths(data_dir, paths.slug)


def read_archive(path: Path) -> dict[str, bytes]:
    """Every member of a 7z, by name, in archive order."""
    members: dict[str, py7zr.io.Py7zBytesIO] = {}

    class Keep(py7zr.io.WriterFactory):
        def create(self, filename: str) -> py7zr.io.Py7zBytesIO:
            members[filename] = py7zr.io.Py7zBytesIO(filename, limit=1 << 24)
            return members[filename]

    with py7zr.SevenZipFile(path) as seven_zip:
        seven_zip.extractall(factory=Keep())
    return {name: member.read() for name, member in members.items()}


def shuffle_archive(path: Path, seed: int = 0) -> Path:
    """Rewrite a 7z with its members in random order: cache order then differs from id order, as it may at Kaggle."""
    members = read_archive(path)
    order = np.random.default_rng(seed).permutation(sorted(members))
    return write_archive(path, {name: members[name] for name in order})


def write_archive(path: Path, members: dict[str, bytes]) -> Path:
    with py7zr.SevenZipFile(path, "w") as seven_zip:
        for name, data in members.items():
            seven_zip.writestr(data, name)
    return path


def write_archive_with_hostile_name(path: Path, members: dict[str, bytes], hostile_name: str) -> Path:
    """An archive holding ``hostile_name``, which py7zr itself refuses to write.

    Written under a harmless placeholder of the same length in a plain
    (unencoded) header, then the UTF-16 name and both header CRCs are patched,
    exactly as a hand-made malicious archive would look.
    """
    placeholder = "".join("x" if c in "./\\" else c for c in hostile_name)
    with py7zr.SevenZipFile(path, "w") as seven_zip:
        seven_zip.set_encoded_header_mode(False)
        for name, data in {**members, placeholder: b"hostile"}.items():
            seven_zip.writestr(data, name)
    raw = bytearray(path.read_bytes())
    old, new = placeholder.encode("utf-16-le"), hostile_name.encode("utf-16-le")
    assert raw.count(old) == 1, "placeholder must be unique in the archive"
    return _patch_plain_header(path, raw, old, new)


def _patch_plain_header(path: Path, raw: bytearray, old: bytes, new: bytes) -> Path:
    """Replace ``old`` by ``new`` (same length) in a 7z's plain header and fix both header CRCs, as a forger would."""
    raw[raw.index(old) : raw.index(old) + len(old)] = new
    next_offset, next_size = struct.unpack_from("<QQ", raw, 12)
    header_start = 32 + next_offset
    struct.pack_into("<I", raw, 28, zlib.crc32(raw[header_start : header_start + next_size]))
    struct.pack_into("<I", raw, 8, zlib.crc32(raw[12:32]))
    path.write_bytes(bytes(raw))
    return path


def png_members(split: str, ids: range, size: int = 32, seed: int = 0) -> dict[str, bytes]:
    rng = np.random.default_rng(seed)
    return {f"{split}/{i}.png": png_bytes(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)) for i in ids}


def write_labels(path: Path, rows: list[tuple[object, object]], header: str = "id,label") -> Path:
    path.write_text("\n".join([header] + [f"{i},{label}" for i, label in rows]) + "\n")
    return path


def write_encrypted_archive(path: Path, members: dict[str, bytes], encrypt_header: bool) -> Path:
    with py7zr.SevenZipFile(path, "w", password="not-kaggles") as seven_zip:
        seven_zip.set_encrypted_header(encrypt_header)
        for name, data in members.items():
            seven_zip.writestr(data, name)
    return path


def write_archive_understating_its_size(path: Path, members: dict[str, bytes], understate_by: int) -> Path:
    """A single-folder archive whose header claims ``understate_by`` fewer unpacked bytes than it holds.

    The folder's unpack size (and so the last member's implied size) is patched
    in a plain header, with both header CRCs fixed, as a hostile archive would be.
    """
    from py7zr.archiveinfo import write_uint64

    with py7zr.SevenZipFile(path, "w") as seven_zip:
        seven_zip.set_encoded_header_mode(False)
        for name, data in members.items():
            seven_zip.writestr(data, name)
    raw = bytearray(path.read_bytes())
    total = sum(len(data) for data in members.values())

    def field(size: int) -> bytes:  # kUnPackSize, then one size per coder (py7zr writes BCJ + LZMA2: two)
        buffer = io.BytesIO()
        buffer.write(b"\x0c")
        for _ in range(2):
            write_uint64(buffer, size)
        return buffer.getvalue()

    old, new = field(total), field(total - understate_by)
    assert len(old) == len(new) and raw.count(old) == 1, "the unpack size must be unique and keep its length"
    return _patch_plain_header(path, raw, old, new)


def kernel_folder(path: Path, ref: str, code: str, **metadata: object) -> Path:
    """A folder ``kaggle kernels push -p`` takes: a Python script and its kernel-metadata.json (``metadata`` added)."""
    import json

    path.mkdir(parents=True, exist_ok=True)
    (path / "script.py").write_text(code)
    fields = {
        "id": ref,
        "title": ref.split("/")[1].replace("-", " "),  # a title that resolves to the slug, as the client asks
        "code_file": "script.py",
        "language": "python",
        "kernel_type": "script",
        "enable_internet": True,
        **metadata,
    }
    (path / "kernel-metadata.json").write_text(json.dumps(fields))
    return path
