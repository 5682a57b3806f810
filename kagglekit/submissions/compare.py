"""compare: which version scored what, from ``submissions/`` alone.

Everything comes from files a user commits (prediction.json, submission.json
and the leaderboard snapshot `scores` saved), so the table can be rebuilt
offline, on another machine, months later. A version's row shows only the
uploads of its current CSV (by hash); a superseded prediction whose CSV was
uploaded has a row of its own, "VERSION (earlier CSV abcd1234)", so an old
score never sits beside a new model. A damaged record is named in one line
and the table shows the rest.

Scores are the competition's metric (its spec's), and so is the validation
column: the split scored as `predict` scored it (its TTA views, unsure
threshold, format and clip), so validation and leaderboard sit side by side in
the same units; records from before that show their plain validation accuracy
for a metric that scores labels, "-" otherwise. Rows and ranks follow the
metric's direction: highest first for accuracy, lowest first for log loss,
where a better team has a lower score. A submission made after the competition's deadline (every one to cifar-10,
which closed in 2014) never appears on the leaderboard: its rank is labelled
"would be N", where it would have placed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from kagglekit.competitions import get_spec
from kagglekit.competitions.metrics import LABEL, METRICS, Metric
from kagglekit.exceptions import StageNotReadyError, UsageError
from kagglekit.submissions.records import (
    COMPLETE,
    PREDICT_HINT,
    current_csv_sha256,
    earlier_predictions,
    is_code_submission,
    load_leaderboard,
    predictions,
    readable_submissions,
    uploads_for,
)

LEADERBOARD_MD = "leaderboard.md"
COMPARE_PNG = "compare.png"
COLUMNS = (
    "version",
    "model",
    "parameters",
    "epochs",
    "train time",
    "trained on",
    "data",
    "val",
    "public",
    "private",
    "rank",
)  # "val" is headed "val <metric>" (columns())
RIGHT_ALIGNED = frozenset(COLUMNS[2:]) - {"trained on", "data"}
VALIDATION = COLUMNS.index("val")
UNREADABLE = "unreadable"  # the status of a version whose submission.json is damaged


@dataclass(frozen=True)
class VersionRow:
    version_id: str
    model: str
    parameters: int | None
    epochs: int | None
    training_seconds: float | None
    trained_on: str  # the device, prefixed "kaggle:" for a run trained in a Kaggle kernel
    data: str  # the first 8 hex of the data fingerprint predict recorded, "-" without one
    val_score: float | None  # the competition's metric on the validation split, as predict measured it
    status: str  # "not submitted", "pending", "error" or "complete": the newest upload's; or "unreadable"
    public: float | None
    private: float | None
    rank: str

    def cells(self) -> tuple[str, ...]:
        return (
            self.version_id,
            self.model,
            _count(self.parameters),
            _plain(self.epochs),
            _duration(self.training_seconds),
            self.trained_on,
            self.data,
            _score(self.val_score, 4),
            _score(self.public, 5) if self.public is not None else self.status,
            _score(self.private, 5),
            self.rank,
        )

    def sort_key(self, higher_is_better: bool = True) -> tuple[tuple[bool, float], tuple[bool, float]]:
        """Best first by the metric's direction: public score, then validation score; unknowns last."""
        sign = -1.0 if higher_is_better else 1.0

        def best_first(value: float | None) -> tuple[bool, float]:
            return (value is None, 0.0 if value is None else sign * value)

        return best_first(self.public), best_first(self.val_score)


@dataclass(frozen=True)
class Comparison:
    competition: str
    rows: list[VersionRow]
    snapshot: dict[str, Any] | None
    created: str
    metric: Metric = METRICS["accuracy"]

    @property
    def columns(self) -> tuple[str, ...]:
        return columns(self.metric)


def columns(metric: Metric) -> tuple[str, ...]:
    """The table's header: the validation column named after the metric."""
    return (*COLUMNS[:VALIDATION], f"val {metric.title}", *COLUMNS[VALIDATION + 1 :])


def competition_metric(competition: str, records: list[dict[str, Any]]) -> Metric:
    """The competition's metric by its spec; without a spec, the one its predictions recorded (else accuracy)."""
    try:
        return get_spec(competition).metric
    except UsageError:
        named = next((r["metric"] for r in records if r.get("metric") in METRICS), "accuracy")
        return METRICS[named]


def build_comparison(submissions_dir: Path, competition: str) -> Comparison:
    records = predictions(submissions_dir, competition)
    if not records:
        raise StageNotReadyError(f"no predicted versions of {competition} in {submissions_dir}/; {PREDICT_HINT}.")
    snapshot = load_leaderboard(submissions_dir, competition)
    metric = competition_metric(competition, records)
    rows = [row for record in records for row in _rows(submissions_dir, competition, record, snapshot, metric)]
    return Comparison(
        competition,
        sorted(rows, key=lambda row: row.sort_key(metric.higher_is_better)),
        snapshot,
        time.strftime("%Y-%m-%d %H:%M"),
        metric,
    )


def _rows(
    submissions_dir: Path, competition: str, record: dict[str, Any], snapshot: dict[str, Any] | None, metric: Metric
) -> list[VersionRow]:
    """The version's current prediction, then each superseded one whose CSV was uploaded to ``competition``."""
    version_id = record["version_id"]
    entries = readable_submissions(submissions_dir, version_id)
    if entries is None:
        return [_row(version_id, record, None, snapshot, metric)]
    current = current_csv_sha256(submissions_dir, record)
    uploads = uploads_for(entries, competition, current, code=True)
    label = f"{version_id} (code)" if uploads and is_code_submission(uploads[-1]) else version_id
    rows = [_row(label, record, uploads, snapshot, metric)]
    for earlier in earlier_predictions(submissions_dir, version_id):
        sha256 = earlier.get("csv_sha256")
        uploads = uploads_for(entries, competition, sha256)
        if sha256 != current and uploads and earlier.get("competition", competition) == competition:
            rows.append(_row(f"{version_id} (earlier CSV {sha256[:8]})", earlier, uploads, snapshot, metric))
    return rows


def _row(
    label: str,
    record: dict[str, Any],
    uploads: list[dict[str, Any]] | None,
    snapshot: dict[str, Any] | None,
    metric: Metric,
) -> VersionRow:
    """One prediction and the uploads of its CSV (None: its submission.json could not be read)."""
    scored = [e for e in uploads or [] if e.get("status") == COMPLETE and e.get("public_score") is not None]
    latest = scored[-1] if scored else {}
    public = latest.get("public_score")
    status = UNREADABLE if uploads is None else uploads[-1].get("status", "?") if uploads else "not submitted"
    fingerprint = record.get("data_fingerprint")
    return VersionRow(
        version_id=label,
        model=str(record.get("version") or "?"),
        parameters=record.get("parameters"),
        epochs=record.get("epochs"),
        training_seconds=record.get("training_seconds"),
        trained_on=str(record.get("trained_where") or record.get("device") or "-"),
        data=str(fingerprint)[:8] if fingerprint else "-",
        val_score=validation_score(record, metric),
        status=status,
        public=public,
        private=latest.get("private_score"),
        rank=rank_label(leaderboard_rank(public, snapshot, metric.higher_is_better), latest.get("date"), snapshot),
    )


def validation_score(record: dict[str, Any], metric: Metric) -> float | None:
    """The validation score in ``metric`` as predict measured it; an older record's plain accuracy for a label metric.

    Accuracy and micro-F1 are equal for one label per image, so the fallback is in
    the metric's units; no other metric can be read off an accuracy.
    """
    if "val_score" in record:
        return record["val_score"] if record.get("metric", "accuracy") == metric.name else None
    return record.get("val_accuracy") if metric.predicts == LABEL else None


def leaderboard_rank(public: float | None, snapshot: dict[str, Any] | None, higher_is_better: bool = True) -> str:
    """The 1-based place ``public`` takes on the snapshot: one behind every strictly better team.

    Better is higher for accuracy, lower for a loss.
    """
    if public is None or snapshot is None:
        return "n/a"
    scores = [row["score"] for row in snapshot.get("scores", [])]
    place = 1 + sum((score > public) if higher_is_better else (score < public) for score in scores)
    if place > len(scores) and snapshot.get("truncated"):
        return f">{len(scores)}"
    return str(place)


def rank_label(rank: str, submitted: str | None, snapshot: dict[str, Any] | None) -> str:
    """``rank``, or "would be ``rank``" for a late submission, which Kaggle leaves off the leaderboard."""
    if rank == "n/a" or not is_late(submitted, snapshot):
        return rank
    return f"would be {rank}"


def is_late(submitted: str | None, snapshot: dict[str, Any] | None) -> bool:
    """Made after the deadline the snapshot recorded (an unknown date counts as late once it has passed)."""
    deadline = _utc((snapshot or {}).get("deadline"))
    if deadline is None:
        return False
    return (_utc(submitted) or datetime.now(timezone.utc)) > deadline


def closed_note(comparison: Comparison) -> str | None:
    """One sentence under the table when some rank is hypothetical."""
    if not any(row.rank.startswith("would be") for row in comparison.rows):
        return None
    deadline = str((comparison.snapshot or {}).get("deadline", ""))[:10]
    return (
        f"{comparison.competition} closed on {deadline}: late submissions are scored but never appear on "
        "the leaderboard, so 'would be N' is where the public score would have ranked."
    )


def _utc(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(str(text))
    except ValueError:
        return None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment


# -- rendering -------------------------------------------------------------------------


def text_table(comparison: Comparison) -> str:
    """Fixed-width columns for a terminal."""
    header = comparison.columns
    lines = [header, *(row.cells() for row in comparison.rows)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]

    def fmt(cells: tuple[str, ...]) -> str:
        return "  ".join(
            c.rjust(w) if name in RIGHT_ALIGNED else c.ljust(w) for c, w, name in zip(cells, widths, COLUMNS)
        ).rstrip()

    note = closed_note(comparison)
    table = [fmt(header), "  ".join("-" * w for w in widths), *(fmt(c) for c in lines[1:])]
    return "\n".join(table + ([note] if note else []))


def markdown(comparison: Comparison) -> str:
    """leaderboard.md: what a user commits to remember which version scored what."""
    snapshot = comparison.snapshot
    source = (
        (
            f"ranks against the public leaderboard fetched {snapshot.get('fetched')} "
            f"({len(snapshot.get('scores', []))} teams)"
        )
        if snapshot
        else "no leaderboard snapshot yet (run `scores`)"
    )
    metric = comparison.metric
    align = ["---:" if name in RIGHT_ALIGNED else ":---" for name in COLUMNS]
    lines = [
        f"# {comparison.competition}: kagglekit versions, {comparison.created}",
        "",
        f"Scores are {metric.title} ({metric.direction}); best first (public score, then validation {metric.title} "
        f"as predicted); {source}.",
        "",
        _md_row(comparison.columns),
        _md_row(tuple(align)),
        *(_md_row(row.cells()) for row in comparison.rows),
    ]
    note = closed_note(comparison)
    if note:
        lines += ["", note]
    return "\n".join(lines) + "\n"


def _md_row(cells: tuple[str, ...]) -> str:
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"


def plot(comparison: Comparison, path: Path) -> int:
    """Validation score against public score, in the metric's units, one labelled point per scored version.

    Returns the points.

    Writes nothing when no version has both: an empty plot would only hide that `scores` has not run.
    """
    from matplotlib.figure import Figure

    points = [r for r in comparison.rows if r.public is not None and r.val_score is not None]
    if not points:
        return 0
    fig = Figure(figsize=(7, 6), layout="constrained")
    ax = fig.subplots()
    xs, ys = [r.val_score for r in points], [r.public for r in points]
    low, high = min(xs + ys), max(xs + ys)
    pad = max(0.01, (high - low) * 0.1)
    ax.plot([low - pad, high + pad], [low - pad, high + pad], "--", color="grey", lw=1, label="public = validation")
    ax.scatter(xs, ys, zorder=3)
    middle = (low + high) / 2
    for row in points:  # labels point inwards, so long version ids stay inside the figure
        right_half = row.val_score > middle
        ax.annotate(
            row.version_id,
            (row.val_score, row.public),
            textcoords="offset points",
            fontsize=8,
            xytext=(-5 if right_half else 5, 4),
            ha="right" if right_half else "left",
        )
    ax.set_xlim(low - pad, high + pad)
    ax.set_ylim(low - pad, high + pad)
    metric = comparison.metric
    ax.set_xlabel(f"validation {metric.title} (as predicted)")
    ax.set_ylabel(f"public leaderboard {metric.title}")
    ax.set_title(
        f"{comparison.competition}: validation vs public {metric.title}, {metric.direction} ({comparison.created})"
    )
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right" if metric.higher_is_better else "upper left")
    fig.savefig(path, dpi=110)
    return len(points)


# -- cell formats ------------------------------------------------------------------------


def _count(value: int | None) -> str:
    if value is None:
        return "-"
    for size, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if value >= size:
            return f"{value / size:.2f}{suffix}"
    return str(value)


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m {seconds % 60:02d}s"
    return f"{seconds // 3600}h {seconds % 3600 // 60:02d}m"


def _score(value: float | None, digits: int) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _plain(value: Any) -> str:
    return "-" if value is None else str(value)


def write_reports(comparison: Comparison, submissions_dir: Path) -> tuple[Path, Path | None]:
    """leaderboard.md always; compare.png only when some version has a public score."""
    markdown_path = Path(submissions_dir) / LEADERBOARD_MD
    markdown_path.write_text(markdown(comparison))
    png_path = Path(submissions_dir) / COMPARE_PNG
    return markdown_path, png_path if plot(comparison, png_path) else None
