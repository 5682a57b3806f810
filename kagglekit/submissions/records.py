"""What was sent to Kaggle and what it scored, kept beside each version in ``submissions/``.

``submissions/<version-id>/submission.json``::

    {"version_id": "...",
     "submissions": [{"ref", "competition", "message", "date", "csv_sha256",
                      "status", "public_score", "private_score", "error"}, ...]}   newest last

Every upload made from the folder, never dropped. An upload belongs to the CSV
whose hash it records: the folder's current prediction owns those with its
submission.csv's hash, and a superseded prediction kept in
``<version-id>/earlier/<sha256[:12]>.json`` (see ``submission.replace_keeping_records``)
owns those with its own.

``submissions/leaderboard.json`` is the last public leaderboard `scores` saw, so
`compare` can rank versions without a network. All are plain JSON a user
commits (and merges, and edits): they are the memory of which version scored
what, written atomically after every change, so a crash or Ctrl-C never loses
an upload. A listing names a damaged one in one line (file:line) and shows the
rest; nothing adds to a record it cannot read.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Iterator

from kagglekit.exceptions import DataError, StageNotReadyError, UsageError
from kagglekit.jsonfiles import read_json, read_json_if_present, read_json_or_skip, warn, write_json
from kagglekit.submissions.formats import CSV, EARLIER, PREDICTION, RECORD, sha256_of, version_dir

SNAPSHOT = "leaderboard.json"
PENDING, COMPLETE, ERROR = "pending", "complete", "error"
CODE_KIND = "code"  # an entry's "kind": a kernel version submitted to a code competition (submit-code)
PREDICT_HINT = "run `python -m kagglekit predict` first"


# -- predicted versions ----------------------------------------------------------


def predictions(submissions_dir: Path, competition: str | None = None) -> list[dict[str, Any]]:
    """Every predicted version's prediction.json, oldest first (half-written folders skipped, damaged ones named)."""
    found = []
    for path in Path(submissions_dir).glob(f"*/{PREDICTION}"):
        if path.parent.name.endswith(".partial"):
            continue
        payload = read_json_or_skip(path)
        if payload is None:
            continue
        record = {**payload, "version_id": path.parent.name}  # the folder is what every path is built from
        if competition is None or record.get("competition", competition) == competition:
            found.append((str(record.get("created", "")), path.stat().st_mtime_ns, record))
    return [record for *_, record in sorted(found, key=lambda item: item[:2])]


def resolve_version(submissions_dir: Path, version: str | None) -> dict[str, Any]:
    """The prediction record VERSION names: a version id, a model name (its newest), or the newest of all.

    A version id is read on its own, so a damaged prediction.json of the very
    version asked for is a DataError naming it, not a listing that skips it.
    """
    named = version_dir(submissions_dir, version) / PREDICTION if version else None
    if named is not None and named.is_file() and not named.parent.name.endswith(".partial"):
        return {**read_json(named), "version_id": named.parent.name}
    known = predictions(submissions_dir)
    if not known:
        raise StageNotReadyError(f"no predicted versions in {submissions_dir}/; {PREDICT_HINT}.")
    if version is None:
        return known[-1]
    matches = [r for r in known if r["version_id"] == version] or [r for r in known if r.get("version") == version]
    if not matches:
        ids = ", ".join(r["version_id"] for r in known)
        raise UsageError(
            f"no predicted version {version!r} in {submissions_dir}/ (have: {ids}); "
            "give a version id, a model name, or nothing for the newest."
        )
    return matches[-1]


def current_csv_sha256(submissions_dir: Path, prediction: dict[str, Any]) -> str | None:
    """The hash a version's uploads are matched against: its submission.csv's, else the one its record noted."""
    csv = version_dir(submissions_dir, prediction["version_id"]) / CSV
    return sha256_of(csv) if csv.is_file() else prediction.get("csv_sha256")


def earlier_predictions(submissions_dir: Path, version_id: str) -> list[dict[str, Any]]:
    """The superseded predictions kept in ``<version-id>/earlier/``, each with its CSV's csv_sha256; damaged ones named."""
    found = []
    for path in sorted((version_dir(submissions_dir, version_id) / EARLIER).glob("*.json")):
        record = read_json_or_skip(path)
        if record is not None:
            found.append({**record, "version_id": version_id})
    return found


# -- submission.json -------------------------------------------------------------


def submissions_of(submissions_dir: Path, version_id: str) -> list[dict[str, Any]]:
    """The version's uploads, [] before the first; a DataError naming the file when it cannot be read."""
    path = version_dir(submissions_dir, version_id) / RECORD
    return _uploads(path, read_json_if_present(path))


def readable_submissions(submissions_dir: Path, version_id: str) -> list[dict[str, Any]] | None:
    """For listings: the version's uploads, or None after one line naming its damaged record."""
    path = version_dir(submissions_dir, version_id) / RECORD
    if not path.is_file():
        return []
    try:
        return _uploads(path, read_json(path))
    except DataError as error:
        warn(f"kagglekit: skipping {error}")
        return None


def require_readable_record(submissions_dir: Path, version_id: str) -> None:
    """Raise DataError when the record an upload would be added to cannot be read: before uploading, not after."""
    submissions_of(submissions_dir, version_id)


def _uploads(path: Path, payload: dict[str, Any]) -> list[dict[str, Any]]:
    entries = payload.get("submissions", [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) and "ref" in e for e in entries):
        raise DataError(f'{path}: "submissions" is not a list of uploads, each with its ref; fix or remove that file')
    return list(entries)


def save_submissions(submissions_dir: Path, version_id: str, entries: list[dict[str, Any]]) -> None:
    write_json(version_dir(submissions_dir, version_id) / RECORD, {"version_id": version_id, "submissions": entries})


def add_submission(submissions_dir: Path, version_id: str, entry: dict[str, Any]) -> None:
    save_submissions(submissions_dir, version_id, [*submissions_of(submissions_dir, version_id), entry])


def update_submission(submissions_dir: Path, version_id: str, entry: dict[str, Any]) -> None:
    """Replace the entry with the same ref (Kaggle refs are unique)."""
    entries = [entry if e["ref"] == entry["ref"] else e for e in submissions_of(submissions_dir, version_id)]
    save_submissions(submissions_dir, version_id, entries)


def uploads_for(
    entries: list[dict[str, Any]], competition: str, csv_sha256: str | None, *, code: bool = False
) -> list[dict[str, Any]]:
    """The uploads that belong to the CSV with hash ``csv_sha256``, oldest first; with ``code``, the version's
    code submissions too: Kaggle scores a kernel's rerun on its hidden test set, so those belong to the run."""
    return [
        e
        for e in entries
        if e.get("competition") == competition
        and ((csv_sha256 and e.get("csv_sha256") == csv_sha256) or (code and is_code_submission(e)))
    ]


def is_code_submission(entry: dict[str, Any]) -> bool:
    """A kernel version submitted to a code competition (submit-code), not an uploaded CSV."""
    return entry.get("kind") == CODE_KIND


def all_submissions(submissions_dir: Path, competition: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """(version id, entry) for every upload to ``competition`` recorded under ``submissions_dir``; damaged records named."""
    for path in sorted(Path(submissions_dir).glob(f"*/{RECORD}")):
        if path.parent.name.endswith(".partial"):
            continue
        for entry in readable_submissions(submissions_dir, path.parent.name) or []:
            if entry.get("competition") == competition:
                yield path.parent.name, entry


def uploads_of_csv(submissions_dir: Path, competition: str, csv_sha256: str) -> list[tuple[str, dict[str, Any]]]:
    """Earlier uploads of the very same bytes, under any version: a second one wastes a daily slot."""
    return [(v, e) for v, e in all_submissions(submissions_dir, competition) if e.get("csv_sha256") == csv_sha256]


def new_entry(kaggle: dict[str, Any], competition: str, message: str, csv_sha256: str) -> dict[str, Any]:
    """The record of an upload, from what Kaggle answered right after it."""
    entry = {
        "ref": kaggle["ref"],
        "competition": competition,
        "message": message,
        "date": kaggle.get("date") or time.strftime("%Y-%m-%dT%H:%M:%S"),
        "csv_sha256": csv_sha256,
    }
    return refreshed(entry, kaggle)


def refreshed(entry: dict[str, Any], kaggle: dict[str, Any]) -> dict[str, Any]:
    """``entry`` with Kaggle's current status, scores and error."""
    return {
        **entry,
        "status": kaggle["status"],
        "public_score": kaggle.get("publicScore"),
        "private_score": kaggle.get("privateScore"),
        "error": kaggle.get("errorDescription") or None,
    }


def needs_score(entry: dict[str, Any]) -> bool:
    """Still worth asking Kaggle about: pending, or complete without scores (recorded mid-scoring)."""
    return entry.get("status") == PENDING or (entry.get("status") == COMPLETE and entry.get("public_score") is None)


# -- leaderboard snapshot ----------------------------------------------------------


def save_leaderboard(
    submissions_dir: Path, competition: str, rows: list[tuple[str, float]], max_rows: int, deadline: str | None = None
) -> Path:
    """Keep the public leaderboard's top, and the competition's deadline, so that `compare` can rank offline later."""
    path = Path(submissions_dir) / SNAPSHOT
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json(
        path,
        {
            "competition": competition,
            "fetched": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "deadline": deadline,
            "truncated": len(rows) >= max_rows,
            "scores": [{"team": team, "score": score} for team, score in rows],
        },
    )
    return path


def load_leaderboard(submissions_dir: Path, competition: str) -> dict[str, Any] | None:
    """The saved snapshot of ``competition``'s leaderboard, or None: never fetched, another competition's, or damaged.

    A damaged one is named in one line; `scores` writes it anew, whole, from
    Kaggle, so rewriting it loses nothing of the user's.
    """
    path = Path(submissions_dir) / SNAPSHOT
    snapshot = read_json_or_skip(path) if path.is_file() else None
    return snapshot if snapshot is not None and snapshot.get("competition") == competition else None
