"""Get a competition's four files into ``DATA/SLUG/raw/``, once.

A finished fetch leaves a ``.complete`` marker over the files' sizes and mtimes,
so a rerun is a few ``stat`` calls and never touches the network. Downloads go
to ``.part`` names and are renamed only when their size matches Kaggle's
listing, so an interrupted or corrupt download never looks complete; the next
run resumes it.

Inside a Kaggle notebook the competition is mounted read-only, found as Kaggle
finds it: ``kagglehub.competition_download`` where kagglehub is installed (it
attaches the competition too), then ``$KAGGLE_CACHE_MOUNT_FOLDER`` (default
``/kaggle/input``) ``/competitions/SLUG`` and, in older notebooks, ``/SLUG``
(tests move the root with that variable too). raw/ then holds
symlinks to the mounted files instead of downloaded copies, which costs no time
or disk and keeps every later stage reading raw/ only.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import threading
from pathlib import Path

from kagglekit import markers
from kagglekit.exceptions import DataError
from kagglekit.paths import COMPETITION_FILES, CompetitionPaths, in_kaggle_notebook

CACHE_MOUNT_ENV = "KAGGLE_CACHE_MOUNT_FOLDER"  # kagglehub's name for the mount root
DEFAULT_KAGGLE_INPUT = Path("/kaggle/input")
KAGGLEHUB_WAIT = 120.0  # seconds kagglehub may take to attach and mount a competition


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
    from kagglekit.kaggle import kaggle_api

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
    """Where the notebook mounts inputs: $KAGGLE_CACHE_MOUNT_FOLDER, as kagglehub reads it, else /kaggle/input."""
    return Path(os.environ.get(CACHE_MOUNT_ENV) or DEFAULT_KAGGLE_INPUT)


def mounted_competition_dir(slug: str) -> Path | None:
    """Where the notebook has ``slug``: kagglehub's answer, else competitions/SLUG (today), else SLUG (older)."""
    attached = _kagglehub_mount(slug)
    if attached is not None:
        return attached
    root = kaggle_input_root()
    for candidate in (root / "competitions" / slug, root / slug):
        if candidate.is_dir():
            return candidate
    return None


def _kagglehub_mount(slug: str) -> Path | None:
    """kagglehub.competition_download(slug) where kagglehub is installed and can attach; else None.

    Kaggle's own client attaches the competition (no *Add Input* needed) and
    returns its mount. It waits for the mount without a limit, so it runs in a
    daemon thread that is given up after KAGGLEHUB_WAIT seconds; any failure of
    it (no data proxy, internet off, an error of kagglehub's own types) falls
    back to the known paths.
    """
    from kagglesdk.kaggle_env import is_in_kaggle_notebook

    if importlib.util.find_spec("kagglehub") is None or not is_in_kaggle_notebook():
        return None  # outside a notebook kagglehub would download: fetch does that itself
    answer: list[Path] = []

    def attach() -> None:
        import kagglehub

        with contextlib.suppress(Exception):  # kagglehub raises its own types; any of them means "not this way"
            answer.append(Path(kagglehub.competition_download(slug)))

    worker = threading.Thread(target=attach, name="kagglehub-attach", daemon=True)
    worker.start()
    worker.join(KAGGLEHUB_WAIT)
    return answer[0] if answer and answer[0].is_dir() else None


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
