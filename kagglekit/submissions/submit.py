"""submit and scores: send a version's CSV to Kaggle once, then learn what it scored.

A Kaggle competition allows a few uploads a day, so every check that can fail
without Kaggle runs before the first request: the CSV is validated against
sampleSubmission.csv and its hash compared with every earlier upload. The
upload is recorded the moment Kaggle accepts it, before any waiting, so an
interrupted run never forgets a spent submission.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kagglekit.chain import code_competition_refusal
from kagglekit.competitions.metrics import METRICS
from kagglekit.exceptions import (
    AlreadySubmittedError,
    CredentialsError,
    KaggleApiError,
    NoSubmissionsLeftError,
    NotebookOfflineError,
    StillPendingError,
    UsageError,
)
from kagglekit.kaggle import kaggle_api, notebook
from kagglekit.paths import CompetitionPaths, in_kaggle_notebook, kaggle_working
from kagglekit.submissions.formats import CSV, sha256_of, validate_prediction, version_dir
from kagglekit.submissions.records import (
    COMPLETE,
    ERROR,
    PENDING,
    add_submission,
    all_submissions,
    needs_score,
    new_entry,
    refreshed,
    require_readable_record,
    resolve_version,
    save_leaderboard,
    update_submission,
    uploads_of_csv,
)

if TYPE_CHECKING:
    from kaggle.api.kaggle_api_extended import KaggleApi

LEADERBOARD_ROWS = 200
SCORES_AGAIN = "run `python -m kagglekit scores` again later"


@dataclass(frozen=True)
class ScoreReport:
    version_id: str
    entry: dict[str, Any]


# -- submit --------------------------------------------------------------------------


def submit_version(
    paths: CompetitionPaths,
    submissions_dir: Path,
    version: str | None,
    message: str | None = None,
    *,
    force: bool = False,
    skip_if_submitted: bool = False,
    wait: float | None = None,
) -> dict[str, Any] | None:
    """Upload VERSION's CSV and record it; returns the record entry (None when nothing was uploaded)."""
    refuse_code_competition(paths)
    prediction = resolve_version(submissions_dir, version)
    version_id, slug = prediction["version_id"], paths.slug
    if prediction.get("competition", slug) != slug:
        raise UsageError(
            f"{version_id} was predicted for {prediction['competition']}, not {slug}; "
            f"pass --competition {prediction['competition']}."
        )
    csv = version_dir(submissions_dir, version_id) / CSV
    validate_prediction(csv, paths, prediction)
    csv_sha256 = sha256_of(csv)
    require_readable_record(submissions_dir, version_id)  # an upload that could not be recorded is not made
    if _refuse_duplicate(submissions_dir, slug, version_id, csv_sha256, force, skip_if_submitted):
        return None

    message = message or default_message(prediction)
    try:
        api = kaggle_api.authenticate()
        left = _check_submissions_left(slug, api)
        submitted = kaggle_api.submit(slug, csv, message, api)
    except (CredentialsError, NotebookOfflineError, KaggleApiError) as error:
        if not _submit_by_output_instead(error):
            raise
        print(notebook_instructions(_copy_to_kaggle_working(csv), str(error)))
        return None
    entry = new_entry(submitted, slug, message, csv_sha256)
    add_submission(submissions_dir, version_id, entry)
    after = f"; {left - 1} submission{'s' if left != 2 else ''} left today" if left is not None else ""
    print(f"submit: {version_id} -> {slug} as ref {entry['ref']} ({message!r}){after}", flush=True)
    if wait is not None and entry["status"] == PENDING:
        scored = kaggle_api.wait_for_score(
            slug, entry["ref"], timeout=wait, interval=min(5.0, max(wait / 10, 0.1)), api=api
        )
        entry = refreshed(entry, scored)
        update_submission(submissions_dir, version_id, entry)
    if wait is not None or entry["status"] != PENDING:
        note = f"; {SCORES_AGAIN}" if entry["status"] == PENDING else ""
        print(f"submit: {describe(ScoreReport(version_id, entry))}{note}")
    _raise_if_rejected([ScoreReport(version_id, entry)])
    return entry


def refuse_code_competition(paths: CompetitionPaths) -> None:
    """A code competition refuses every uploaded CSV: say so before a request is made, and what submits instead."""
    if paths.spec.code_competition:
        raise UsageError(code_competition_refusal(paths.slug))


def default_message(prediction: dict[str, Any]) -> str:
    """Names the version and its validation accuracy (and score, in another metric), so Kaggle's own list tells versions apart."""
    accuracy = prediction.get("val_accuracy")
    shown = f"val acc {accuracy:.4f}" if isinstance(accuracy, (int, float)) else "val acc n/a"
    metric, score = METRICS.get(str(prediction.get("metric", "accuracy"))), prediction.get("val_score")
    if metric is not None and metric.name != "accuracy" and isinstance(score, (int, float)):
        shown += f", val {metric.title} {score:.4f}"
    tta = f", TTA {prediction['tta']}" if prediction.get("tta") else ""
    return f"kagglekit {prediction['version_id']} ({shown}{tta})"


def _refuse_duplicate(
    submissions_dir: Path, slug: str, version_id: str, csv_sha256: str, force: bool, skip_if_submitted: bool
) -> bool:
    """True to skip quietly; raises to refuse; False to go on and upload."""
    earlier = uploads_of_csv(submissions_dir, slug, csv_sha256)
    if not earlier or force:
        return False
    first_version, first = earlier[0]
    when = str(first.get("date") or "?")[:19].replace("T", " ")
    other = "" if first_version == version_id else f" (version {first_version})"
    where = f"as ref {first['ref']} on {when}{other}"
    if skip_if_submitted:
        print(f"submit: {version_id}'s CSV was already submitted {where}; skipping.")
        return True
    raise AlreadySubmittedError(
        f"this exact CSV of {version_id} was already submitted to {slug} {where}; "
        "it would score the same. Use --force to submit it again."
    )


def _submit_by_output_instead(error: Exception) -> bool:
    """In a notebook the API is only one way to submit: the notebook's output is the other.

    It is the way when there are no credentials, no internet, or a session
    token Kaggle refuses; a refusal of the user's own credentials, or no
    submissions left, would refuse the output too, and is raised.
    """
    if not in_kaggle_notebook() or isinstance(error, NoSubmissionsLeftError):
        return False
    if isinstance(error, KaggleApiError):
        return notebook.uses_session_token()
    return True


def notebook_instructions(csv: Path, reason: str) -> str:
    """One line: why the API is out, and how a notebook submits without it."""
    return (
        f"submit: not through the API ({reason}). The notebook's output {csv} is your submission: click "
        '"Save Version" (Save & Run All), open the saved version, and on its Output tab click "Submit"; '
        "the score then appears on the competition's Submissions page."
    )


def _copy_to_kaggle_working(csv: Path) -> Path:
    """What "Submit to competition" picks up must be the version asked for, not just the newest predicted."""
    if not kaggle_working().is_dir():
        return csv
    target = kaggle_working() / CSV
    shutil.copyfile(csv, target)
    return target


def _check_submissions_left(slug: str, api: KaggleApi) -> int | None:
    limits = kaggle_api.submission_limits(slug, api)
    left = limits.get("remaining_today")
    if left is None:
        return None
    if left <= 0:
        if limits.get("limited_by_total"):
            raise NoSubmissionsLeftError(
                f"{slug} allows no more submissions ({limits.get('total')} made in total); nothing was uploaded."
            )
        raise NoSubmissionsLeftError(
            f"no submissions left today for {slug} ({limits.get('today')} made today); "
            "nothing was uploaded: Kaggle resets the count at 00:00 UTC, submit again then."
        )
    print(f"submit: {left} submission{'s' if left != 1 else ''} left today on {slug}", flush=True)
    return int(left)


# -- scores --------------------------------------------------------------------------


def collect_scores(
    paths: CompetitionPaths, submissions_dir: Path, timeout: float = 600.0, interval: float = 5.0
) -> list[ScoreReport]:
    """Poll every unscored upload until Kaggle scores it or ``timeout`` runs out, then save the leaderboard.

    Raises StillPendingError (after saving everything) when the wait ran out,
    and KaggleApiError when Kaggle rejected an upload while we watched.
    """
    slug = paths.slug
    try:
        api = kaggle_api.authenticate()
    except (CredentialsError, NotebookOfflineError) as error:
        if not in_kaggle_notebook():
            raise
        print(
            f"scores: not through the API ({error}); after submitting the notebook's output, "
            f"its score appears on https://www.kaggle.com/competitions/{slug}/submissions."
        )
        return []
    open_entries = [(v, e) for v, e in all_submissions(submissions_dir, slug) if needs_score(e)]
    if not open_entries:
        print(f"scores: nothing pending for {slug}.")
    reports = _poll(slug, submissions_dir, open_entries, api, timeout, interval)
    rows = kaggle_api.leaderboard(slug, api, max_rows=LEADERBOARD_ROWS)
    deadline = kaggle_api.competition_deadline(slug, api)
    snapshot = save_leaderboard(
        submissions_dir, slug, rows, LEADERBOARD_ROWS, deadline=deadline.isoformat() if deadline else None
    )
    for report in reports:
        print(f"scores: {describe(report)}")
    print(f"scores: public leaderboard ({len(rows)} teams) saved to {snapshot}")
    _raise_for_unfinished(reports, timeout)
    return reports


def _poll(
    slug: str,
    submissions_dir: Path,
    entries: list[tuple[str, dict[str, Any]]],
    api: KaggleApi,
    timeout: float,
    interval: float,
) -> list[ScoreReport]:
    """One pass over all pending uploads, then one after each wait of ``poll_waits``: N pending cost one wait, not N.

    The passes are counted, not timed, so there is always a first one, however small ``timeout``.
    """
    latest = {entry["ref"]: ScoreReport(version_id, entry) for version_id, entry in entries}
    waits = kaggle_api.poll_waits(timeout, interval)
    while True:
        for ref, report in list(latest.items()):
            if not needs_score(report.entry):
                continue
            entry = refreshed(report.entry, kaggle_api.get_submission(slug, ref, api))
            update_submission(submissions_dir, report.version_id, entry)
            latest[ref] = ScoreReport(report.version_id, entry)
        wait = next(waits, None)
        if wait is None or not any(r.entry["status"] == PENDING for r in latest.values()):
            return list(latest.values())
        time.sleep(wait)


def _raise_for_unfinished(reports: list[ScoreReport], timeout: float) -> None:
    pending = [r for r in reports if r.entry["status"] == PENDING]
    if pending:
        names = ", ".join(f"{r.version_id} (ref {r.entry['ref']})" for r in pending)
        raise StillPendingError(f"{names} still pending after {timeout:g} s; {SCORES_AGAIN}.")
    _raise_if_rejected(reports)


def _raise_if_rejected(reports: list[ScoreReport]) -> None:
    rejected = [r for r in reports if r.entry["status"] == ERROR]
    if rejected:
        first = rejected[0]
        raise KaggleApiError(
            f"Kaggle could not score {first.version_id} (ref {first.entry['ref']}): "
            f"{first.entry.get('error') or 'no reason given'}; predict it again and resubmit."
        )


def describe(report: ScoreReport) -> str:
    entry = report.entry
    head = f"{report.version_id} ref {entry['ref']}"
    if entry["status"] == ERROR:
        return f"{head}: error: {entry.get('error') or 'no reason given'}"
    if entry["status"] == COMPLETE:
        return f"{head}: public {_score(entry.get('public_score'))}  private {_score(entry.get('private_score'))}"
    return f"{head}: still pending"


def _score(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.5f}"
