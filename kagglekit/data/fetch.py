"""Get a competition's files (those its spec lists) into ``DATA/SLUG/raw/``, once.

A file is downloaded as Kaggle lists it; a folder tree (``NAME/`` in the spec)
is every file Kaggle lists under it, kept at its path (``raw/NAME/...``). A slug
kagglekit has no spec for is refused, after Kaggle's listing of its files and
what a spec must say (``kagglekit.competitions.draft.describe_unknown``).

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
from kagglekit.competitions import get_spec, spec_path
from kagglekit.exceptions import DataError, KaggleApiError, KagglekitError, UsageError
from kagglekit.paths import CompetitionPaths, in_kaggle_notebook

CACHE_MOUNT_ENV = "KAGGLE_CACHE_MOUNT_FOLDER"  # kagglehub's name for the mount root
DEFAULT_KAGGLE_INPUT = Path("/kaggle/input")
KAGGLEHUB_WAIT = 120.0  # seconds kagglehub may take to attach and mount a competition


def fetch(paths: CompetitionPaths, force: bool = False, progress: bool = True, attach: bool = True) -> Path:
    """Make ``paths.raw`` hold the competition files; returns ``paths.raw``. ``attach=False``: in a notebook,
    no kagglehub (which reaches out to Kaggle's data proxy), only the mounts."""
    require_spec(paths, progress)
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
        source = link_mounted_data(paths, attach)
    else:
        source = _download_missing(paths, force, progress)
    markers.mark_complete(raw, _fingerprint(paths), source=source, files=list(paths.spec.file_names))
    return raw


def require_spec(paths: CompetitionPaths, progress: bool = True) -> None:
    """A slug without a spec: print Kaggle's listing of its files and what a spec needs, then one line."""
    if spec_path(paths.slug) is not None:
        return
    from kagglekit.competitions.draft import describe_unknown

    try:
        description = describe_unknown(paths.slug)
    except KaggleApiError:
        raise  # Kaggle answered (no such competition, rules not accepted...): that comes first
    except KagglekitError:
        description = None  # no credentials or no network: get_spec's line still says what to do
    if description:
        print(description, flush=True)
    get_spec(paths.slug)  # raises its one-line UsageError: the known slugs and the draft command
    raise UsageError(f"kagglekit has no spec for competition {paths.slug!r}")  # pragma: no cover - spec appeared


def is_fetched(paths: CompetitionPaths) -> bool:
    """True when the marker matches the files on disk: no network needed."""
    present = all(
        p.is_dir() if n.endswith("/") else p.is_file() for n, p in zip(paths.spec.file_names, paths.competition_files)
    )
    return present and markers.is_complete(paths.raw, _fingerprint(paths))


def _fingerprint(paths: CompetitionPaths) -> str:
    inputs = [file for name in paths.spec.file_names for file in _files_of(paths, name)]
    return markers.fingerprint(inputs, slug=paths.slug)


def _files_of(paths: CompetitionPaths, name: str) -> list[Path]:
    """The file ``name``, or every file of the folder tree ``name/`` (sorted)."""
    target = paths.raw_file(name)
    if not name.endswith("/"):
        return [target]
    return sorted(p for p in target.rglob("*") if p.is_file() or p.is_symlink()) if target.is_dir() else [target]


def listed_names(name: str, sizes: dict[str, int]) -> list[str]:
    """What Kaggle lists for the spec's ``name``: the file itself, or every file under a folder tree's ``name/``."""
    if name.endswith("/"):
        return sorted(listed for listed in sizes if listed.startswith(name) and not listed.endswith("/"))
    return [name] if name in sizes else []


def _download_missing(paths: CompetitionPaths, force: bool, progress: bool) -> str:
    """Download every file that is absent or the wrong size; returns where they came from."""
    from kagglekit.kaggle import kaggle_api

    api = kaggle_api.authenticate()
    sizes = kaggle_api.list_files(paths.slug, api)
    wanted = {name: listed_names(name, sizes) for name in paths.spec.file_names}
    missing = [name for name, listed in wanted.items() if not listed]
    if missing:
        raise DataError(
            f"{paths.slug} does not list {', '.join(missing)} (it lists: {', '.join(sorted(sizes)[:20]) or 'nothing'}"
            f"{', ...' if len(sizes) > 20 else ''}); the spec's files = [...] does not match Kaggle's: fix the spec."
        )
    for name in [listed for names in wanted.values() for listed in names]:
        target = paths.raw / name
        if not force and target.is_file() and target.stat().st_size == sizes[name]:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
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


def mounted_competition_dir(slug: str, attach: bool = True) -> Path | None:
    """Where the notebook has ``slug``: kagglehub's answer (if ``attach``), else competitions/SLUG (today), else
    SLUG (older)."""
    attached = _kagglehub_mount(slug) if attach else None
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


def link_mounted_data(paths: CompetitionPaths, attach: bool = True) -> str:
    """Symlink the mounted read-only files into raw/; returns the mount they point to."""
    mounted = mounted_competition_dir(paths.slug, attach)
    if mounted is None:
        root = kaggle_input_root()
        raise DataError(
            f"running in a Kaggle notebook but {paths.slug} is not mounted under {root}/competitions/ or {root}/: "
            f"add it with 'Add Input' > Competitions > {paths.slug}"
        )
    names = paths.spec.file_names
    absent = [
        name for name in names if not ((mounted / name).is_dir() if name.endswith("/") else (mounted / name).is_file())
    ]
    if absent:
        raise DataError(
            f"{mounted} lacks {', '.join(absent)}, which the spec of {paths.slug} lists; "
            "is the right competition attached, or is the spec wrong?"
        )
    for name in names:  # a folder tree is one link to the mounted folder
        link = paths.raw_file(name)
        if link.is_symlink() or link.is_file():
            link.unlink()
        elif link.is_dir():
            import shutil

            shutil.rmtree(link)
        link.symlink_to((mounted / name.rstrip("/")).resolve())
    return str(mounted)
