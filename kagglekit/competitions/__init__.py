"""Competitions as data: one small TOML spec per Kaggle competition (see :mod:`kagglekit.competitions.spec`).

kagglekit ships specs beside this module (``cifar-10.toml``, ...). A spec of
your own goes in ``competitions/SLUG.toml`` under the directory you run
kagglekit from (as ``data/`` and ``runs/`` do); it is found first, so it also
overrides a shipped one. ``python -m kagglekit competitions draft SLUG`` drafts
one from what Kaggle says about the competition.
"""

from __future__ import annotations

from pathlib import Path

from kagglekit.competitions.spec import (
    SLUG_PATTERN,
    CompetitionSpec,
    CsvLabels,
    DataFile,
    GroupLabels,
    ImagePolicy,
    MemberImages,
    PixelImages,
    SubmissionFormat,
    load_spec,
    parse_spec,
)
from kagglekit.exceptions import UsageError

SHIPPED_DIR = Path(__file__).parent
USER_DIR = Path("competitions")  # relative: beside data/, runs/ and submissions/

__all__ = [
    "CompetitionSpec",
    "CsvLabels",
    "DataFile",
    "GroupLabels",
    "ImagePolicy",
    "MemberImages",
    "PixelImages",
    "SubmissionFormat",
    "all_specs",
    "draft_command",
    "get_spec",
    "known_slugs",
    "load_spec",
    "parse_spec",
    "spec_path",
]


def _directories(user_dir: Path | None) -> tuple[Path, ...]:
    return (USER_DIR if user_dir is None else Path(user_dir), SHIPPED_DIR)


def spec_path(slug: str, user_dir: Path | None = None) -> Path | None:
    """Where the spec of ``slug`` is (yours first, then kagglekit's), or None."""
    if not SLUG_PATTERN.fullmatch(slug):
        return None
    return next((d / f"{slug}.toml" for d in _directories(user_dir) if (d / f"{slug}.toml").is_file()), None)


def known_slugs(user_dir: Path | None = None) -> tuple[str, ...]:
    """Every slug with a spec, yours and kagglekit's, sorted."""
    slugs = {p.stem for d in _directories(user_dir) if d.is_dir() for p in d.glob("*.toml")}
    return tuple(sorted(s for s in slugs if SLUG_PATTERN.fullmatch(s)))


def draft_command(slug: str) -> str:
    return f"python -m kagglekit competitions draft {slug} --out {USER_DIR / (slug + '.toml')}"


def get_spec(slug: str, user_dir: Path | None = None) -> CompetitionSpec:
    """The spec of ``slug``; a one-line UsageError naming the known slugs and how to draft one otherwise."""
    path = spec_path(slug, user_dir)
    if path is None:
        raise UsageError(
            f"kagglekit has no spec for competition {slug!r} (it knows {', '.join(known_slugs(user_dir)) or 'none'}); "
            f"draft one with `{draft_command(slug)}`, check its TODOs against the competition's Data and "
            "Evaluation pages, and run again"
        )
    return load_spec(path, slug)


def all_specs(user_dir: Path | None = None) -> tuple[CompetitionSpec, ...]:
    """Every spec there is, by slug (one bad spec stops the listing with its DataError)."""
    return tuple(get_spec(slug, user_dir) for slug in known_slugs(user_dir))
