"""Outputs built beside their final place and swapped in whole.

A stage writes under ``<name>.partial`` and only then replaces ``<name>``, so a
crash leaves an obviously unfinished ``.partial`` (cleared by the next run),
never a half-written output under the name a later stage reads.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path


def partial_path(path: Path) -> Path:
    return path.with_name(path.name + ".partial")


def fresh_partial_dir(path: Path) -> Path:
    """An empty ``<path>.partial`` directory to build ``path`` in."""
    partial = partial_path(path)
    remove(partial)
    partial.mkdir(parents=True)
    return partial


def move_into_place(partial: Path, final: Path) -> None:
    remove(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    os.replace(partial, final)


def remove(path: Path | None) -> None:
    """Delete a file, link or directory tree if it is there."""
    if path is None or not (path.exists() or path.is_symlink()):
        return
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()
