"""Get a competition's four files into ``DATA/SLUG/raw/``, once.

A finished fetch leaves a ``.complete`` marker over the files' sizes and mtimes,
so a rerun is a few ``stat`` calls and never touches the network. Downloads go
to ``.part`` names and are renamed only when their size matches Kaggle's
listing, so an interrupted or corrupt download never looks complete; the next
run resumes it.

Inside a Kaggle notebook the competition is already mounted read-only under
``/kaggle/input`` (``KAGGLEKIT_KAGGLE_INPUT`` overrides that root, for tests):
raw/ then holds symlinks to the mounted files instead of downloaded copies,
which costs no time or disk and keeps every later stage reading raw/ only.
"""

from __future__ import annotations

import os
from pathlib import Path

from kagglekit import markers
from kagglekit.exceptions import DataError
from kagglekit.paths import COMPETITION_FILES, CompetitionPaths, in_kaggle_notebook

KAGGLE_INPUT_ENV = "KAGGLEKIT_KAGGLE_INPUT"
DEFAULT_KAGGLE_INPUT = Path("/kaggle/input")


def fetch(paths: CompetitionPaths, force: bool = False, progress: bool = True) -> Path:
    """Make ``paths.raw`` hold the competition files; returns ``paths.raw``."""
    raw = paths.raw
    if not force and is_fetched(paths):
        if progress:
            print(f"{paths.slug}: already fetched into {raw} (use --force to fetch again)")
        return raw
    raw.mkdir(parents=True, exist_ok=True)
    markers.clear_complete(raw)
    if force:
        _remove_partials(raw)
    if in_kaggle_notebook():
        source = link_mounted_data(paths)
    else:
        source = _download_missing(paths, force, progress)
    markers.mark_complete(raw, _fingerprint(paths), source=source, files=list(COMPETITION_FILES))
    return raw


def is_fetched(paths: CompetitionPaths) -> bool:
    """True when the marker matches the files on disk: no network needed."""
    files = [paths.raw / name for name in COMPETITION_FILES]
    return all(f.is_file() for f in files) and markers.is_complete(paths.raw, _fingerprint(paths))


def _fingerprint(paths: CompetitionPaths) -> str:
    return markers.fingerprint([paths.raw / name for name in COMPETITION_FILES], slug=paths.slug)


def _download_missing(paths: CompetitionPaths, force: bool, progress: bool) -> str:
    """Download every file that is absent or the wrong size; returns where they came from."""
    from kagglekit import kaggle_api

    api = kaggle_api.authenticate()
    sizes = kaggle_api.list_files(paths.slug, api)
    missing = [name for name in COMPETITION_FILES if name not in sizes]
    if missing:
        raise DataError(
            f"{paths.slug} does not list {', '.join(missing)} (it lists: {', '.join(sorted(sizes)) or 'nothing'}); "
            "is it an image competition laid out like cifar-10?"
        )
    for name in COMPETITION_FILES:
        target = paths.raw / name
        if not force and target.is_file() and target.stat().st_size == sizes[name]:
            continue
        kaggle_api.download_file(paths.slug, name, paths.raw, progress, expected_size=sizes[name], api=api)
    return "kaggle api"


def _remove_partials(raw: Path) -> None:
    """--force starts over: drop half-downloaded files and their resume markers."""
    for leftover in [*raw.glob("*.part"), *raw.glob("*.kaggle-partial")]:
        leftover.unlink(missing_ok=True)


# -- Kaggle notebooks --------------------------------------------------------------


def kaggle_input_root() -> Path:
    return Path(os.environ.get(KAGGLE_INPUT_ENV) or DEFAULT_KAGGLE_INPUT)


def mounted_competition_dir(slug: str) -> Path | None:
    """Where a notebook mounts ``slug``: newer notebooks use competitions/SLUG, older ones SLUG."""
    root = kaggle_input_root()
    for candidate in (root / "competitions" / slug, root / slug):
        if candidate.is_dir():
            return candidate
    return None


def link_mounted_data(paths: CompetitionPaths) -> str:
    """Symlink the mounted read-only files into raw/; returns the mount they point to."""
    mounted = mounted_competition_dir(paths.slug)
    if mounted is None:
        root = kaggle_input_root()
        raise DataError(
            f"running in a Kaggle notebook but {paths.slug} is not mounted under {root}/competitions/ or {root}/: "
            f"add it with 'Add Input' > Competitions > {paths.slug}"
        )
    absent = [name for name in COMPETITION_FILES if not (mounted / name).is_file()]
    if absent:
        raise DataError(f"{mounted} lacks {', '.join(absent)}; is {paths.slug} laid out like cifar-10?")
    for name in COMPETITION_FILES:
        link = paths.raw / name
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to((mounted / name).resolve())
    return str(mounted)
