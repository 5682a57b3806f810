"""submit -> scores -> compare through the CLI, the real kaggle client and the local Kaggle server.

Versions are written with the predict stage's own `write_submission` from
one-hot probabilities built from the competition's answers, so every score
Kaggle (the server) gives back is known exactly, without training a model.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from kagglekit.cli import main
from kagglekit.data.labels import read_id_label_csv
from kagglekit.jsonfiles import read_json_if_present as read_record
from kagglekit.kaggle import kaggle_api
from kagglekit.paths import CompetitionPaths
from kagglekit.standin.synthetic import CIFAR10_CLASSES
from kagglekit.submissions.formats import CSV, PREDICTION, RECORD, read_sample, version_dir, write_submission

SLUG = "cifar-10"
CLASSES = list(CIFAR10_CLASSES)
UPLOADS = ("StartSubmissionUpload", "CreateSubmission")
WRITTEN_BY_WRITE_SUBMISSION = {
    "classes",
    "rows",
    "submission",
    "metric",
    "higher_is_better",
    "probability_clip",
    "csv_sha256",
    "sample_submission_sha256",
    "created",
}


@dataclass
class Workspace:
    paths: CompetitionPaths
    submissions: Path
    answers: dict[int, str]  # the hidden solution, id -> label
    real_record: dict  # prediction.json as the real predict stage wrote it for a trained run

    @property
    def where(self) -> list[str]:
        return ["--data-dir", str(self.paths.data_dir), "--submissions-dir", str(self.submissions)]

    def ids(self) -> np.ndarray:
        return read_sample(self.paths.sample_submission).ids

    def predict(self, name: str, labels: dict[int, str], val_accuracy: float | None = 0.8) -> str:
        """A predicted version whose CSV says ``labels``; returns its version id.

        Its record is the real predict stage's, renamed: only what tells versions
        apart (name, id, validation accuracy, which for cifar-10 is also its
        validation score) is set here, so a change in what predict records reaches these tests.
        """
        ids = self.ids()
        probabilities = np.zeros((len(ids), len(CLASSES)), dtype=np.float16)
        probabilities[np.arange(len(ids)), [CLASSES.index(labels[int(i)]) for i in ids]] = 1
        version_id = f"{name}-{hashlib.sha256(name.encode()).hexdigest()[:8]}"
        record = {key: value for key, value in self.real_record.items() if key not in WRITTEN_BY_WRITE_SUBMISSION}
        write_submission(
            version_dir(self.submissions, version_id),
            probabilities,
            CLASSES,
            {
                **record,
                "version": name,
                "version_id": version_id,
                "val_accuracy": val_accuracy,
                "val_score": val_accuracy,
            },
            self.paths,
        )
        return version_id

    def entries(self, version_id: str) -> list[dict]:
        return read_record(version_dir(self.submissions, version_id) / RECORD).get("submissions", [])


@pytest.fixture
def ws(tmp_path, competition_files, tiny_prediction) -> Workspace:
    paths = CompetitionPaths(tmp_path / "data", SLUG)
    paths.raw.mkdir(parents=True)
    shutil.copyfile(competition_files.sample_submission, paths.sample_submission)
    answers = {int(i): label for i, label in read_id_label_csv(competition_files.solution_csv).to_numpy()}
    return Workspace(paths, tmp_path / "submissions", answers, read_record(tiny_prediction / PREDICTION))


def wrong(labels: dict[int, str]) -> dict[int, str]:
    return {i: CLASSES[(CLASSES.index(label) + 1) % len(CLASSES)] for i, label in labels.items()}


def correct_on(ids: set[int], answers: dict[int, str]) -> dict[int, str]:
    """Right on ``ids``, wrong everywhere else."""
    off = wrong(answers)
    return {i: answers[i] if i in ids else off[i] for i in answers}


def uploads(server) -> list[str]:
    return [path.rsplit("/", 1)[-1] for _, path in server.requests if path.rsplit("/", 1)[-1] in UPLOADS]


def get_submissions(server) -> int:
    return sum(path.endswith("/GetSubmission") for _, path in server.requests)


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err, err
    return err


# -- the round trip -------------------------------------------------------------------


def test_predict_submit_scores_compare_round_trip(kaggle_server, ws, capsys):
    public_ids = sorted(int(i) for i in kaggle_server.competitions[SLUG].public_ids)
    private_ids = sorted(set(ws.answers) - set(public_ids))
    right = set(public_ids[2:]) | set(private_ids[:5])  # all but 2 public answers, only 5 private ones
    expected_public, expected_private = (len(public_ids) - 2) / len(public_ids), 5 / len(private_ids)
    perfect = ws.predict("alpha", ws.answers, val_accuracy=0.91)
    half = ws.predict("beta", correct_on(right, ws.answers), val_accuracy=0.95)
    never = ws.predict("gamma", ws.answers | {1: wrong(ws.answers)[1]}, val_accuracy=0.5)
    kaggle_server.set_pending_polls(SLUG, 2)

    assert main(["submit", "alpha", *ws.where]) == 0
    out = capsys.readouterr().out
    assert "5 submissions left today" in out and "4 submissions left today" in out
    assert main(["submit", half, "-m", "mostly public", *ws.where]) == 0

    [record] = ws.entries(perfect)
    assert record["status"] == "pending" and record["competition"] == SLUG and record["date"]
    assert record["message"] == f"kagglekit {perfect} (val acc 0.9100)"
    assert record["csv_sha256"] == hashlib.sha256((version_dir(ws.submissions, perfect) / CSV).read_bytes()).hexdigest()
    assert ws.entries(half)[0]["message"] == "mostly public"
    assert [s["description"] for s in kaggle_api.list_submissions(SLUG)] == ["mostly public", record["message"]]

    assert main(["scores", *ws.where, "--interval", "0", "--timeout", "10"]) == 0
    out = capsys.readouterr().out
    [alpha] = ws.entries(perfect)
    [beta] = ws.entries(half)
    assert (alpha["status"], alpha["public_score"], alpha["private_score"]) == ("complete", 1.0, 1.0)
    assert (beta["public_score"], beta["private_score"]) == (round(expected_public, 5), round(expected_private, 5))
    assert f"{perfect} ref {alpha['ref']}: public 1.00000  private 1.00000" in out
    snapshot = json.loads((ws.submissions / "leaderboard.json").read_text())
    assert snapshot["competition"] == SLUG and snapshot["fetched"]
    assert [row["team"] for row in snapshot["scores"]] == [kaggle_server.username, "Sample Submission Benchmark"]

    assert main(["compare", *ws.where]) == 0
    out = capsys.readouterr().out
    table = out.splitlines()
    assert table[0].split()[:2] == ["version", "model"]
    assert [line.split()[0] for line in table[2:5]] == [perfect, half, never]
    assert table[2].split()[-3:] == ["1.00000", "1.00000", "1"]
    assert table[3].split()[-3:] == [f"{expected_public:.5f}", f"{expected_private:.5f}", "2"]
    assert "not submitted" in table[4] and table[4].endswith("n/a")
    markdown = (ws.submissions / "leaderboard.md").read_text()
    assert markdown.startswith(f"# {SLUG}: kagglekit versions, ")
    # the real run's size, length, device and data: seed-cifar10-modeling's 7,385,110 parameters, one epoch
    assert re.search(
        rf"\| {perfect} \| alpha \| 7\.39M \| 1 \| [0-9ms ]+ \| [^|]+ \| ([0-9a-f]{{8}}|-) \| 0\.9100 \| "
        r"1\.00000 \| 1\.00000 \| 1 \|",
        markdown,
    )
    assert (ws.submissions / "compare.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_submit_can_wait_for_its_score(kaggle_server, ws, capsys):
    kaggle_server.set_pending_polls(SLUG, 2)
    version = ws.predict("alpha", wrong(ws.answers))

    assert main(["submit", *ws.where, "--wait", "10"]) == 0

    [entry] = ws.entries(version)
    assert (entry["status"], entry["public_score"], entry["private_score"]) == ("complete", 0.0, 0.0)
    assert "public 0.00000  private 0.00000" in capsys.readouterr().out

    kaggle_server.set_pending_polls(SLUG, 10_000)
    assert main(["submit", *ws.where, "--wait", "0.2", "--force"]) == 0  # the upload worked; the score comes later
    assert ws.entries(version)[-1]["status"] == "pending"
    assert "still pending; run `python -m kagglekit scores` again later" in capsys.readouterr().out


# -- nothing wasted ----------------------------------------------------------------------


@pytest.mark.parametrize("damage", ["unknown label", "missing row", "shuffled"])
def test_an_invalid_csv_is_never_uploaded(kaggle_server, ws, capsys, damage):
    version = ws.predict("alpha", ws.answers)
    csv = version_dir(ws.submissions, version) / CSV
    lines = csv.read_text().splitlines()
    if damage == "unknown label":
        lines[3] = lines[3].split(",")[0] + ",dragon"
    elif damage == "missing row":
        del lines[7]
    else:
        lines[1], lines[2] = lines[2], lines[1]
    csv.write_text("\n".join(lines) + "\n")

    assert main(["submit", version, *ws.where]) == 1

    assert str(csv) in one_line_error(capsys)
    assert kaggle_server.requests == []  # validated before any request at all
    assert not (version_dir(ws.submissions, version) / RECORD).exists()


def test_the_same_csv_is_refused_again_unless_forced(kaggle_server, ws, capsys):
    version = ws.predict("alpha", ws.answers)
    assert main(["submit", *ws.where]) == 0
    [first] = ws.entries(version)
    twin = ws.predict("twin", ws.answers)  # another model, the very same CSV
    capsys.readouterr()

    for target in (version, twin):
        assert main(["submit", target, *ws.where]) == 1
        error = one_line_error(capsys)
        assert f"already submitted to {SLUG} as ref {first['ref']}" in error and "--force" in error
    assert uploads(kaggle_server) == list(UPLOADS)

    assert main(["submit", version, *ws.where, "--skip-if-submitted"]) == 0
    assert "already submitted" in capsys.readouterr().out
    assert main(["submit", version, *ws.where, "--force"]) == 0
    assert uploads(kaggle_server) == list(UPLOADS) * 2
    assert [e["csv_sha256"] for e in ws.entries(version)] == [first["csv_sha256"]] * 2


def test_no_submissions_left_today_is_refused_before_uploading(kaggle_server, ws, capsys):
    kaggle_server.competitions[SLUG].daily_limit = 1
    ws.predict("alpha", ws.answers)
    later = ws.predict("beta", wrong(ws.answers))
    assert main(["submit", "alpha", *ws.where]) == 0
    assert "1 submission left today" in capsys.readouterr().out

    assert main(["submit", "beta", *ws.where]) == 1

    error = one_line_error(capsys)
    assert "no submissions left today" in error and "nothing was uploaded" in error
    assert uploads(kaggle_server) == list(UPLOADS)
    assert ws.entries(later) == []


# -- rate limits -----------------------------------------------------------------------------


@pytest.fixture
def rate_limit_at_upload(kaggle_server, monkeypatch):
    """Arm the server's 429s right before the upload, so they hit the upload itself, not the checks."""

    def arm(times: int) -> None:
        real_submit = kaggle_api.submit

        def submit(*args, **kwargs):
            kaggle_server.fail_next(429, times=times, retry_after=0)
            return real_submit(*args, **kwargs)

        monkeypatch.setattr(kaggle_api, "submit", submit)

    return arm


def test_a_429_during_the_upload_is_retried(kaggle_server, ws, rate_limit_at_upload, capsys):
    version = ws.predict("alpha", ws.answers)
    rate_limit_at_upload(2)

    assert main(["submit", *ws.where]) == 0

    assert uploads(kaggle_server).count("StartSubmissionUpload") == 3  # two answered 429
    assert uploads(kaggle_server).count("CreateSubmission") == 1
    assert len(ws.entries(version)) == 1


def test_a_429_that_never_clears_says_so_and_records_nothing(kaggle_server, ws, rate_limit_at_upload, capsys):
    version = ws.predict("alpha", ws.answers)
    rate_limit_at_upload(100)

    assert main(["submit", *ws.where]) == 1

    assert "rate-limiting" in one_line_error(capsys)
    assert "CreateSubmission" not in uploads(kaggle_server)
    assert ws.entries(version) == []


# -- scores -----------------------------------------------------------------------------------


def test_a_pending_score_is_polled_until_complete(kaggle_server, ws, capsys):
    version = ws.predict("alpha", ws.answers)
    kaggle_server.set_pending_polls(SLUG, 4)
    assert main(["submit", *ws.where]) == 0
    assert ws.entries(version)[0]["status"] == "pending"

    assert main(["scores", *ws.where, "--interval", "0.01", "--timeout", "10"]) == 0

    [entry] = ws.entries(version)
    assert (entry["status"], entry["public_score"], entry["private_score"], entry["error"]) == (
        "complete",
        1.0,
        1.0,
        None,
    )
    assert get_submissions(kaggle_server) >= 4
    assert main(["scores", *ws.where]) == 0  # nothing left to wait for
    assert "nothing pending" in capsys.readouterr().out


def test_the_wait_for_scores_is_bounded(kaggle_server, ws, capsys, monkeypatch):
    """The polls are counted, not timed: the waits asked for are recorded, never slept, so no clock is involved."""
    version = ws.predict("alpha", ws.answers)
    kaggle_server.set_pending_polls(SLUG, 10_000)
    assert main(["submit", *ws.where]) == 0
    waits: list[float] = []
    monkeypatch.setattr(time, "sleep", waits.append)
    before = get_submissions(kaggle_server)

    assert main(["scores", *ws.where, "--interval", "0.05", "--timeout", "0.3"]) == 1

    assert waits == [0.05] * 6 and get_submissions(kaggle_server) - before == 7  # a first poll, then one per wait
    error = one_line_error(capsys)
    assert (
        f"{version} (ref " in error
        and "still pending after 0.3 s" in error
        and "kagglekit scores` again later" in error
    )
    assert ws.entries(version)[0]["status"] == "pending"
    assert (ws.submissions / "leaderboard.json").is_file()  # saved even though it failed


@pytest.mark.parametrize(
    "timeout, interval, expected_waits",
    [
        ("0", "5", []),  # no time at all still polls once
        ("0.25", "0.1", [0.1, 0.1, 0.05]),  # the last wait is cut to what is left
        ("0.02", "0", [0.01, 0.01]),  # a 0 s interval counts as 0.01 s, so the polls still end
    ],
)
def test_scores_always_polls_once_then_once_per_wait(
    kaggle_server, ws, capsys, monkeypatch, timeout, interval, expected_waits
):
    ws.predict("alpha", ws.answers)
    kaggle_server.set_pending_polls(SLUG, 10_000)
    assert main(["submit", *ws.where]) == 0
    waits: list[float] = []
    monkeypatch.setattr(time, "sleep", waits.append)
    before = get_submissions(kaggle_server)

    assert main(["scores", *ws.where, "--interval", interval, "--timeout", timeout]) == 1

    assert waits == expected_waits and get_submissions(kaggle_server) - before == 1 + len(expected_waits)
    assert "still pending" in one_line_error(capsys)


def test_submit_wait_polls_by_count_too(kaggle_server, ws, capsys, monkeypatch):
    version = ws.predict("alpha", ws.answers)
    kaggle_server.set_pending_polls(SLUG, 10_000)
    waits: list[float] = []
    monkeypatch.setattr(time, "sleep", waits.append)

    assert main(["submit", *ws.where, "--wait", "0.3"]) == 0

    # the interval is a tenth of --wait, 0.1 s at least; the upload's own view of it is one GetSubmission more
    assert waits == [0.1] * 3 and get_submissions(kaggle_server) == 1 + 4
    assert ws.entries(version)[0]["status"] == "pending"


def test_a_submission_kaggle_cannot_score_is_recorded_and_reported(
    kaggle_server, ws, competition_files, tmp_path, capsys
):
    short_solution = tmp_path / "solution.csv"
    short_solution.write_text("\n".join(competition_files.solution_csv.read_text().splitlines()[:-1]) + "\n")
    kaggle_server.add_competition(SLUG, competition_files.directory, short_solution, pending_polls=1)  # one id fewer
    version = ws.predict("alpha", ws.answers)
    assert main(["submit", *ws.where]) == 0

    assert main(["scores", *ws.where, "--interval", "0"]) == 1

    error = one_line_error(capsys)
    assert "Kaggle could not score" in error and "1 unexpected ids" in error
    [entry] = ws.entries(version)
    assert entry["status"] == "error" and "unexpected ids" in entry["error"] and entry["public_score"] is None
    assert main(["scores", *ws.where]) == 0  # reported once, not on every run


def test_submit_reports_a_submission_kaggle_rejects_at_once(kaggle_server, ws, competition_files, tmp_path, capsys):
    short_solution = tmp_path / "solution.csv"
    short_solution.write_text("\n".join(competition_files.solution_csv.read_text().splitlines()[:-1]) + "\n")
    kaggle_server.add_competition(SLUG, competition_files.directory, short_solution)
    version = ws.predict("alpha", ws.answers)

    assert main(["submit", *ws.where]) == 1

    assert "Kaggle could not score" in one_line_error(capsys)
    assert ws.entries(version)[0]["status"] == "error"  # recorded all the same


# -- which version, which credentials --------------------------------------------------------------


def test_version_by_model_name_or_newest_and_unknown_ones_listed(kaggle_server, ws, capsys):
    older = ws.predict("alpha", ws.answers)
    newer = ws.predict("beta", wrong(ws.answers))

    assert main(["submit", "nope", *ws.where]) == 2
    error = one_line_error(capsys)
    assert "'nope'" in error and older in error and newer in error
    assert main(["submit", *ws.where]) == 0
    assert len(ws.entries(newer)) == 1 and ws.entries(older) == []


def test_no_predictions_says_to_predict(kaggle_server, ws, capsys):
    assert main(["submit", *ws.where]) == 1
    assert "kagglekit predict" in one_line_error(capsys)


def test_in_a_notebook_without_credentials_it_explains_how_to_submit(
    no_kaggle_credentials, ws, tmp_path, monkeypatch, capsys
):
    version = ws.predict("alpha", ws.answers)
    working = tmp_path / "kaggle-working"
    working.mkdir()
    monkeypatch.setenv("KAGGLEKIT_KAGGLE_WORKING", str(working))
    monkeypatch.setenv("KAGGLE_KERNEL_RUN_TYPE", "Interactive")

    assert main(["submit", *ws.where]) == 0

    captured = capsys.readouterr()
    assert captured.err == ""
    assert "Save Version" in captured.out and "Output" in captured.out and str(working / CSV) in captured.out
    assert (working / CSV).read_bytes() == (version_dir(ws.submissions, version) / CSV).read_bytes()
    assert ws.entries(version) == []
    assert main(["scores", *ws.where]) == 0


def test_outside_a_notebook_missing_credentials_are_an_error(no_kaggle_credentials, ws, capsys):
    ws.predict("alpha", ws.answers)
    assert main(["submit", *ws.where]) == 1
    assert "~/.kaggle/kaggle.json" in one_line_error(capsys)


def test_no_submissions_left_in_total_is_refused_before_uploading(kaggle_server, ws, capsys):
    kaggle_server.competitions[SLUG].total_limit = 1
    ws.predict("alpha", ws.answers)
    later = ws.predict("beta", wrong(ws.answers))
    assert main(["submit", "alpha", *ws.where]) == 0
    capsys.readouterr()

    assert main(["submit", "beta", *ws.where]) == 1

    error = one_line_error(capsys)
    assert f"{SLUG} allows no more submissions (1 made in total); nothing was uploaded" in error
    assert uploads(kaggle_server) == list(UPLOADS)
    assert ws.entries(later) == []


@pytest.mark.parametrize("step", ["/CreateSubmission", "/upload/"])
def test_a_429_at_a_later_step_of_the_upload_is_retried(kaggle_server, ws, capsys, monkeypatch, step):
    """Rate limits on CreateSubmission, or on the PUT of the file itself, end in one submission all the same."""
    waits: list[float] = []
    monkeypatch.setattr(time, "sleep", waits.append)
    version = ws.predict("alpha", ws.answers)
    kaggle_server.set_pending_polls(SLUG, 0)
    kaggle_server.fail_next(429, times=2, retry_after=2, path_part=step)

    assert main(["submit", *ws.where]) == 0, capsys.readouterr().err

    assert waits == [2.0, 2.0]
    [entry] = ws.entries(version)
    [kaggles] = kaggle_api.list_submissions(SLUG)
    assert kaggles["ref"] == entry["ref"] and kaggles["publicScore"] == 1.0  # the whole file arrived, once


def test_an_upload_that_stays_rate_limited_is_one_line_and_records_nothing(kaggle_server, ws, capsys, monkeypatch):
    monkeypatch.setattr(time, "sleep", lambda seconds: None)
    version = ws.predict("alpha", ws.answers)
    kaggle_server.fail_next(429, times=100, retry_after=1, path_part="/upload/")

    assert main(["submit", *ws.where]) == 1

    assert "upload of submission.csv to Kaggle failed" in one_line_error(capsys)
    assert "CreateSubmission" not in uploads(kaggle_server) and ws.entries(version) == []


def test_a_429_while_polling_scores_is_waited_out(kaggle_server, ws, capsys, monkeypatch):
    version = ws.predict("alpha", ws.answers)
    kaggle_server.set_pending_polls(SLUG, 2)
    assert main(["submit", *ws.where]) == 0
    waits: list[float] = []
    monkeypatch.setattr(time, "sleep", waits.append)
    kaggle_server.fail_next(429, times=2, retry_after=1.5, path_part="/GetSubmission")

    assert main(["scores", *ws.where, "--interval", "0", "--timeout", "10"]) == 0

    assert waits.count(1.5) == 2
    [entry] = ws.entries(version)
    assert (entry["status"], entry["public_score"]) == ("complete", 1.0)


def test_a_429_that_outlasts_the_retries_while_polling_keeps_the_upload_pending(kaggle_server, ws, capsys, monkeypatch):
    version = ws.predict("alpha", ws.answers)
    kaggle_server.set_pending_polls(SLUG, 2)
    assert main(["submit", *ws.where]) == 0
    capsys.readouterr()
    monkeypatch.setattr(time, "sleep", lambda seconds: None)
    kaggle_server.fail_next(429, times=100, retry_after=0, path_part="/GetSubmission")

    assert main(["scores", *ws.where, "--interval", "0", "--timeout", "10"]) == 1

    assert "rate-limiting requests (HTTP 429) after 5 tries" in one_line_error(capsys)
    [entry] = ws.entries(version)
    assert entry["status"] == "pending"  # still there to be scored by the next run
