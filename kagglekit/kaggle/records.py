"""What was sent to Kaggle and what it scored, kept beside each version in ``submissions/``.

``submissions/<version-id>/submission.json``::

    {"version_id": "...",
     "submissions": [{"ref", "competition", "message", "date", "csv_sha256",
                      "status", "public_score", "private_score", "error"}, ...]}   newest last

``submissions/leaderboard.json`` is the last public leaderboard `scores` saw, so
`compare` can rank versions without a network. Both are plain JSON a user
commits: they are the memory of which version scored what, and they are written
atomically, after every change, so a crash or Ctrl-C never loses an upload.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Iterator

from kagglekit.exceptions import StageNotReadyError, UsageError
from kagglekit.jsonfiles import read_json_if_present, write_json
from kagglekit.kaggle.submission import PREDICTION, RECORD, version_dir

SNAPSHOT = "leaderboard.json"
PENDING, COMPLETE, ERROR = "pending", "complete", "error"
PREDICT_HINT = "run `python -m kagglekit predict` first"


# -- predicted versions ----------------------------------------------------------


def predictions(submissions_dir: Path, competition: str | None = None) -> list[dict[str, Any]]:
    """Every predicted version's prediction.json, oldest first (half-written folders skipped)."""
    found = []
    for path in Path(submissions_dir).glob(f"*/{PREDICTION}"):
        if path.parent.name.endswith(".partial"):
            continue
        record = {**read_json_if_present(path), "version_id": path.parent.name}  # the folder is what every path is built from
        if competition is None or record.get("competition", competition) == competition:
            found.append((str(record.get("created", "")), path.stat().st_mtime_ns, record))
    return [record for *_, record in sorted(found, key=lambda item: item[:2])]


def resolve_version(submissions_dir: Path, version: str | None) -> dict[str, Any]:
    """The prediction record VERSION names: a version id, a model name (its newest), or the newest of all."""
    known = predictions(submissions_dir)
    if not known:
        raise StageNotReadyError(f"no predicted versions in {submissions_dir}/; {PREDICT_HINT}.")
    if version is None:
        return known[-1]
    matches = [r for r in known if r["version_id"] == version] or [r for r in known if r.get("version") == version]
    if not matches:
        ids = ", ".join(r["version_id"] for r in known)
        raise UsageError(f"no predicted version {version!r} in {submissions_dir}/ (have: {ids}); "
                         "give a version id, a model name, or nothing for the newest.")
    return matches[-1]


# -- submission.json -------------------------------------------------------------


def submissions_of(submissions_dir: Path, version_id: str) -> list[dict[str, Any]]:
    return list(read_json_if_present(version_dir(submissions_dir, version_id) / RECORD).get("submissions", []))


def save_submissions(submissions_dir: Path, version_id: str, entries: list[dict[str, Any]]) -> None:
    write_json(version_dir(submissions_dir, version_id) / RECORD, {"version_id": version_id, "submissions": entries})


def add_submission(submissions_dir: Path, version_id: str, entry: dict[str, Any]) -> None:
    save_submissions(submissions_dir, version_id, [*submissions_of(submissions_dir, version_id), entry])


def update_submission(submissions_dir: Path, version_id: str, entry: dict[str, Any]) -> None:
    """Replace the entry with the same ref (Kaggle refs are unique)."""
    entries = [entry if e["ref"] == entry["ref"] else e for e in submissions_of(submissions_dir, version_id)]
    save_submissions(submissions_dir, version_id, entries)


def all_submissions(submissions_dir: Path, competition: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """(version id, entry) for every upload to ``competition`` recorded under ``submissions_dir``."""
    for path in sorted(Path(submissions_dir).glob(f"*/{RECORD}")):
        if path.parent.name.endswith(".partial"):
            continue
        for entry in read_json_if_present(path).get("submissions", []):
            if entry.get("competition") == competition:
                yield path.parent.name, entry


def uploads_of_csv(submissions_dir: Path, competition: str, csv_sha256: str) -> list[tuple[str, dict[str, Any]]]:
    """Earlier uploads of the very same bytes, under any version: a second one wastes a daily slot."""
    return [(v, e) for v, e in all_submissions(submissions_dir, competition) if e.get("csv_sha256") == csv_sha256]


def new_entry(kaggle: dict[str, Any], competition: str, message: str, csv_sha256: str) -> dict[str, Any]:
    """The record of an upload, from what Kaggle answered right after it."""
    entry = {"ref": kaggle["ref"], "competition": competition, "message": message,
             "date": kaggle.get("date") or time.strftime("%Y-%m-%dT%H:%M:%S"), "csv_sha256": csv_sha256}
    return refreshed(entry, kaggle)


def refreshed(entry: dict[str, Any], kaggle: dict[str, Any]) -> dict[str, Any]:
    """``entry`` with Kaggle's current status, scores and error."""
    return {**entry, "status": kaggle["status"], "public_score": kaggle.get("publicScore"),
            "private_score": kaggle.get("privateScore"), "error": kaggle.get("errorDescription") or None}


def needs_score(entry: dict[str, Any]) -> bool:
    """Still worth asking Kaggle about: pending, or complete without scores (recorded mid-scoring)."""
    return entry.get("status") == PENDING or (entry.get("status") == COMPLETE and entry.get("public_score") is None)


# -- leaderboard snapshot ----------------------------------------------------------


def save_leaderboard(submissions_dir: Path, competition: str, rows: list[tuple[str, float]], max_rows: int,
                     deadline: str | None = None) -> Path:
    """Keep the public leaderboard's top, and the competition's deadline, so that `compare` can rank offline later."""
    path = Path(submissions_dir) / SNAPSHOT
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json(path, {
        "competition": competition, "fetched": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "deadline": deadline,
        "truncated": len(rows) >= max_rows,
        "scores": [{"team": team, "score": score} for team, score in rows],
    })
    return path


def load_leaderboard(submissions_dir: Path, competition: str) -> dict[str, Any] | None:
    """The saved snapshot of ``competition``'s leaderboard, or None (never fetched, or another competition's)."""
    snapshot = read_json_if_present(Path(submissions_dir) / SNAPSHOT)
    return snapshot if snapshot.get("competition") == competition else None
