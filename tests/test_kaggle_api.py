"""kagglekit.kaggle.kaggle_api through the real kaggle client, against the local Kaggle server."""

from __future__ import annotations

import json
import logging
import time
import zipfile
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest

from kagglekit.competitions import get_spec
from kagglekit.exceptions import CredentialsError, DataError, KaggleApiError, NetworkError, RateLimitedError
from kagglekit.kaggle import kaggle_api

COMPETITION_FILES = get_spec("cifar-10").file_names

SLUG = "cifar-10"


def test_missing_credentials_raise_one_line_and_print_nothing(no_kaggle_credentials, capsys):
    with pytest.raises(CredentialsError) as raised:
        kaggle_api.authenticate()
    message = str(raised.value)
    assert "\n" not in message and "~/.kaggle/kaggle.json" in message and "KAGGLE_API_TOKEN" in message
    assert capsys.readouterr().out == ""  # the client's help page is swallowed


def test_credentials_from_kaggle_json(kaggle_server, kaggle_config_dir, monkeypatch):
    monkeypatch.delenv("KAGGLE_USERNAME")
    monkeypatch.delenv("KAGGLE_KEY")
    config = kaggle_config_dir / "kaggle.json"
    config.write_text(json.dumps({"username": kaggle_server.username, "key": kaggle_server.key}))
    config.chmod(0o600)

    assert set(kaggle_api.list_files(SLUG)) == set(COMPETITION_FILES)


def test_credentials_from_an_access_token(kaggle_server, monkeypatch):
    monkeypatch.delenv("KAGGLE_USERNAME")
    monkeypatch.delenv("KAGGLE_KEY")
    kaggle_server.tokens["test-access-token"] = "token-user"
    monkeypatch.setenv("KAGGLE_API_TOKEN", "test-access-token")

    assert set(kaggle_api.list_files(SLUG)) == set(COMPETITION_FILES)


def test_the_key_never_appears_in_output_or_logs(kaggle_server, tmp_path, monkeypatch, capsys, caplog):
    caplog.set_level(logging.DEBUG)
    kaggle_api.download_file(SLUG, "trainLabels.csv", tmp_path)
    kaggle_server.fail_next(429, times=1, retry_after=0)
    kaggle_api.list_files(SLUG)
    monkeypatch.setenv("KAGGLE_KEY", "a-wrong-key-also-secret")
    with pytest.raises(CredentialsError) as raised:
        kaggle_api.list_files(SLUG)

    captured = capsys.readouterr()
    everything = captured.out + captured.err + caplog.text + str(raised.value)
    assert kaggle_server.key not in everything and "a-wrong-key-also-secret" not in everything


def test_list_files_reports_names_and_unwrapped_sizes(kaggle_server, competition_files):
    sizes = kaggle_api.list_files(SLUG)
    assert sizes == {name: (competition_files.directory / name).stat().st_size for name in COMPETITION_FILES}


def test_download_unwraps_the_zip_kaggle_puts_around_a_csv(kaggle_server, competition_files, tmp_path, capsys):
    path = kaggle_api.download_file(SLUG, "sampleSubmission.csv", tmp_path)

    assert path == tmp_path / "sampleSubmission.csv"
    assert path.read_bytes() == (competition_files.directory / "sampleSubmission.csv").read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sampleSubmission.csv"]
    assert ("GET", f"/files/{SLUG}/sampleSubmission.csv.zip") in kaggle_server.requests
    assert "Downloading cifar-10/sampleSubmission.csv" in capsys.readouterr().out


def test_download_checks_the_listed_size(kaggle_server, tmp_path):
    with pytest.raises(DataError, match="lists 5; deleted it"):
        kaggle_api.download_file(SLUG, "test.7z", tmp_path, expected_size=5, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_download_of_an_unlisted_file_names_what_is_listed(kaggle_server, tmp_path):
    with pytest.raises(DataError, match="no file 'nope.csv'.*trainLabels.csv"):
        kaggle_api.download_file(SLUG, "nope.csv", tmp_path)


@pytest.mark.parametrize(
    ("status", "error_type", "expected"),
    [
        (401, CredentialsError, "https://www.kaggle.com/settings"),
        (403, KaggleApiError, "https://www.kaggle.com/competitions/cifar-10/rules"),
        (404, KaggleApiError, "check the slug at https://www.kaggle.com/competitions"),
        (500, KaggleApiError, "Kaggle answered HTTP 500 for cifar-10: Server error"),
    ],
)
def test_http_errors_become_actionable_errors(kaggle_server, status, error_type, expected):
    kaggle_server.fail_next(status)
    with pytest.raises(error_type) as raised:
        kaggle_api.list_files(SLUG)
    assert expected in str(raised.value) and "\n" not in str(raised.value)


@pytest.fixture
def sleeps(monkeypatch) -> list[float]:
    """Every wait kagglekit asks for, recorded instead of slept: retries are checked by what they wait, not by a clock."""
    asked: list[float] = []
    monkeypatch.setattr(time, "sleep", asked.append)
    return asked


LIST_FILES = ("POST", "/api/v1/competitions.CompetitionApiService/ListDataFiles")


def test_rate_limit_honours_retry_after_then_succeeds(kaggle_server, sleeps):
    kaggle_server.fail_next(429, times=2, retry_after=0.25)
    assert set(kaggle_api.list_files(SLUG)) == set(COMPETITION_FILES)
    assert sleeps == [0.25, 0.25]
    assert kaggle_server.requests.count(LIST_FILES) == 3


def test_rate_limit_retry_after_as_http_date_counts_from_the_answers_date(kaggle_server, sleeps, monkeypatch):
    """RFC 9110: an HTTP-date Retry-After is relative to the answer's Date, the server's clock, not ours.

    The server's clock is set years back, so a wait measured against this machine's
    clock would come out as 0, and a misread date as the 1 s backoff: only 60 is right.
    """
    monkeypatch.setenv("KAGGLEKIT_MAX_RETRY_WAIT", "120")
    answered = datetime(2021, 3, 4, 5, 6, 7, tzinfo=timezone.utc)
    retry_at = format_datetime(answered + timedelta(seconds=60), usegmt=True)
    kaggle_server.fail_next(429, retry_after=retry_at, date=answered)
    assert set(kaggle_api.list_files(SLUG)) == set(COMPETITION_FILES)
    assert sleeps == [60.0]


def test_an_unreadable_retry_after_date_backs_off(kaggle_server, sleeps):
    kaggle_server.fail_next(429, retry_after="next Tuesday", date=datetime(2021, 3, 4, tzinfo=timezone.utc))
    assert set(kaggle_api.list_files(SLUG)) == set(COMPETITION_FILES)
    assert sleeps == [1.0]


def test_rate_limit_without_retry_after_backs_off_exponentially(kaggle_server, sleeps):
    kaggle_server.fail_next(429, times=2)
    assert set(kaggle_api.list_files(SLUG)) == set(COMPETITION_FILES)
    assert sleeps == [1.0, 2.0]


def test_rate_limit_gives_up_after_the_configured_tries(kaggle_server, sleeps, monkeypatch):
    monkeypatch.setenv("KAGGLEKIT_API_TRIES", "3")
    kaggle_server.fail_next(429, times=10, retry_after=0)
    with pytest.raises(RateLimitedError, match=r"after 3 tries: wait a few minutes"):
        kaggle_api.list_files(SLUG)
    assert len(kaggle_server.requests) == 3


def test_rate_limit_asking_for_too_long_a_wait_gives_up_at_once(kaggle_server, sleeps):
    kaggle_server.fail_next(429, times=1, retry_after=3600)
    with pytest.raises(RateLimitedError, match="asks to wait 3600s"):
        kaggle_api.list_files(SLUG)
    assert sleeps == [] and kaggle_server.requests.count(LIST_FILES) == 1


def test_the_default_tries_users_get(kaggle_server, sleeps, monkeypatch):
    """conftest shortens the retry settings; a user sets none: 5 tries, waits of 1, 2, 4, 8 s, then the 429 is reported."""
    monkeypatch.delenv("KAGGLEKIT_API_TRIES")
    monkeypatch.delenv("KAGGLEKIT_MAX_RETRY_WAIT")
    kaggle_server.fail_next(429, times=5)
    with pytest.raises(RateLimitedError, match="after 5 tries"):
        kaggle_api.list_files(SLUG)
    assert sleeps == [1.0, 2.0, 4.0, 8.0] and kaggle_server.requests.count(LIST_FILES) == 5


def test_the_default_total_wait_users_get(kaggle_server, sleeps, monkeypatch):
    """120 s of waiting in all: a 100 s wait is made, a second one would pass the total and is refused."""
    monkeypatch.delenv("KAGGLEKIT_MAX_RETRY_WAIT")
    kaggle_server.fail_next(429, times=2, retry_after=100)
    with pytest.raises(RateLimitedError, match=r"asks to wait 100s, longer than kagglekit waits \(120s in all\)"):
        kaggle_api.list_files(SLUG)
    assert sleeps == [100.0]


def test_unreachable_kaggle_is_a_network_error(kaggle_server, unreachable_proxy):
    with pytest.raises(NetworkError, match="lost the connection to Kaggle"):
        kaggle_api.list_files(SLUG)


def test_submit_then_scores_appear_after_pending(kaggle_server, competition_files):
    kaggle_server.set_pending_polls(SLUG, 2)

    submitted = kaggle_api.submit(SLUG, competition_files.solution_csv, "perfect answers")
    assert submitted["status"] == "pending" and submitted["ref"] and submitted["date"]
    pending = kaggle_api.list_submissions(SLUG)
    assert [(s["ref"], s["status"], s["publicScore"]) for s in pending] == [(submitted["ref"], "pending", None)]

    scored = kaggle_api.wait_for_score(SLUG, submitted["ref"], interval=0)
    assert scored["status"] == "complete"
    assert scored["publicScore"] == 1.0 and scored["privateScore"] == 1.0
    [listed] = kaggle_api.list_submissions(SLUG)
    assert listed["fileName"] == "solution.csv" and listed["description"] == "perfect answers"
    assert listed["publicScore"] == 1.0


def test_sample_submission_scores_its_accuracy_on_the_public_and_private_split(kaggle_server, competition_files):
    solution = dict(line.split(",") for line in competition_files.solution_csv.read_text().split()[1:])
    competition = kaggle_server.competitions[SLUG]
    expected_public = sum(solution[i] == "cat" for i in competition.public_ids) / len(competition.public_ids)
    private_ids = solution.keys() - competition.public_ids
    expected_private = sum(solution[i] == "cat" for i in private_ids) / len(private_ids)

    ref = kaggle_api.submit(SLUG, competition_files.sample_submission, "all cats")["ref"]
    scored = kaggle_api.get_submission(SLUG, ref)
    assert scored["publicScore"] == pytest.approx(expected_public, abs=1e-5)
    assert scored["privateScore"] == pytest.approx(expected_private, abs=1e-5)


def test_a_malformed_submission_is_an_error_status(kaggle_server, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("id,label\n1,cat\n")
    ref = kaggle_api.submit(SLUG, bad, "too short")["ref"]
    scored = kaggle_api.get_submission(SLUG, ref)
    assert scored["status"] == "error" and "missing" in scored["errorDescription"]


def test_leaderboard_and_limits(kaggle_server, competition_files):
    assert kaggle_api.submission_limits(SLUG)["remaining_today"] == 5
    kaggle_api.submit(SLUG, competition_files.solution_csv, "best")

    board = kaggle_api.leaderboard(SLUG)
    assert board[0] == (kaggle_server.username, 1.0)
    assert [team for team, _ in board] == [kaggle_server.username, "Sample Submission Benchmark"]
    limits = kaggle_api.submission_limits(SLUG)
    assert (limits["today"], limits["total"], limits["remaining_today"]) == (1, 1, 4)


def test_submitting_past_the_daily_limit_is_refused(kaggle_server, competition_files):
    kaggle_server.competitions[SLUG].daily_limit = 1
    kaggle_api.submit(SLUG, competition_files.solution_csv, "one")
    with pytest.raises(KaggleApiError, match="daily submission limit"):
        kaggle_api.submit(SLUG, competition_files.solution_csv, "two")


def test_submit_to_a_competition_whose_rules_are_not_accepted(kaggle_server, competition_files):
    kaggle_server.require_rules(SLUG)
    with pytest.raises(KaggleApiError, match="accept the competition rules"):
        kaggle_api.submit(SLUG, competition_files.solution_csv, "no")


def test_environment_set_after_import_is_refused(kaggle_server, monkeypatch):
    """The client fixes its endpoint at import; kagglekit notices instead of calling real Kaggle."""
    from kaggle.api.kaggle_api_extended import KaggleApi

    monkeypatch.setattr(KaggleApi, "args", [])  # what an import before LOCALHOST was set leaves
    with pytest.raises(KaggleApiError, match="set it before Python starts"):
        kaggle_api.list_files(SLUG)
    assert kaggle_server.requests == []  # HTTP_PROXY points here: a request to any Kaggle would have shown up


def test_a_corrupt_zip_around_a_csv_is_deleted_with_one_line(kaggle_server, tmp_path):
    served = kaggle_server.competitions[SLUG].files["trainLabels.csv"].payload
    served.write_bytes(b"PK\x03\x04 this is not a zip at all" * 10)
    with pytest.raises(DataError, match="the .zip Kaggle sent for trainLabels.csv is corrupt; deleted it: rerun"):
        kaggle_api.download_file(SLUG, "trainLabels.csv", tmp_path, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_a_zip_bomb_around_a_csv_stops_one_byte_past_the_listed_size(kaggle_server, competition_files, tmp_path):
    listed = (competition_files.directory / "trainLabels.csv").stat().st_size
    served = kaggle_server.competitions[SLUG].files["trainLabels.csv"].payload
    with zipfile.ZipFile(served, "w", zipfile.ZIP_DEFLATED) as bomb:
        bomb.writestr("trainLabels.csv", bytes(200 * 2**20))  # 200 MiB of zeros in a 200 kB zip
    assert served.stat().st_size < 2**20
    with pytest.raises(
        DataError, match=f"trainLabels.csv from Kaggle has {listed + 1} bytes but {SLUG} lists {listed}; deleted it"
    ):
        kaggle_api.download_file(SLUG, "trainLabels.csv", tmp_path, progress=False)
    assert list(tmp_path.iterdir()) == []
