"""Completion markers: a stage is done only if its ``.complete`` file says so.

The marker is written last, after every output is in place, and records a
fingerprint of the stage's inputs and options. A crash mid-stage therefore
leaves no marker, and changed inputs make the old marker stale: either way the
stage runs again instead of trusting half-written or outdated output.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Iterable

MARKER_NAME = ".complete"
# What the kaggle client's upload_files never uploads from a dataset folder: its metadata and cover image.
UPLOAD_METADATA = frozenset(
    {
        "dataset-metadata.json",
        "datapackage.json",
        *(f"dataset-cover-image{ext}" for ext in (".png", ".jpg", ".jpeg", ".webp")),
    }
)


def file_signature(path: Path) -> dict[str, Any]:
    """Size and mtime: cheap enough to check in well under a second, strong enough
    to notice a re-downloaded or edited input."""
    stat = Path(path).stat()
    return {"path": str(path), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def fingerprint(inputs: Iterable[Path], **options: Any) -> str:
    """A hash of the input files' signatures and the options that shape the output."""
    payload = {
        "inputs": [file_signature(p) for p in inputs],
        "options": options,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def is_complete(directory: Path, expected_fingerprint: str, name: str = MARKER_NAME) -> bool:
    marker = Path(directory) / name
    try:
        recorded = json.loads(marker.read_text())
    except (OSError, ValueError):
        return False
    return recorded.get("fingerprint") == expected_fingerprint


def mark_complete(directory: Path, fingerprint_value: str, name: str = MARKER_NAME, **summary: Any) -> None:
    """Atomically write the marker, so a reader sees either no marker or a whole one."""
    directory = Path(directory)
    tmp = directory / (name + ".tmp")
    tmp.write_text(json.dumps({"fingerprint": fingerprint_value, **summary}, indent=2, default=str))
    os.replace(tmp, directory / name)


def clear_complete(directory: Path, name: str = MARKER_NAME) -> None:
    """Withdraw the marker before touching outputs, so an interrupted redo is not 'done'."""
    (Path(directory) / name).unlink(missing_ok=True)


def dataset_hash(folder: Path) -> str:
    """SHA-256 over every file's path (relative, /-separated) and bytes, in path order, minus UPLOAD_METADATA:
    the same for the same content wherever and whenever it was built, so an unchanged dataset is not uploaded
    again."""
    folder = Path(folder)
    digest = hashlib.sha256()
    files = sorted((p for p in folder.rglob("*") if p.is_file()), key=lambda p: p.relative_to(folder).as_posix())
    for path in files:
        name = path.relative_to(folder).as_posix()
        if name in UPLOAD_METADATA:
            continue
        digest.update(f"{name}\0{path.stat().st_size}\0".encode())
        _digest_file(digest, path)
    return digest.hexdigest()


def _digest_file(digest: Any, path: Path) -> None:
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
