"""The local Kaggle server speaks HTTP as Kaggle does: checked with plain requests and the real client."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import zipfile

import pytest
import requests

from kagglekit.standin.server import KaggleServer, kaggle_env

SLUG = "cifar-10"
API = "http://localhost/api/v1/competitions.CompetitionApiService"


def post(server: KaggleServer, method: str, body: dict, auth=None) -> requests.Response:
    return requests.post(
        f"{API}/{method}",
        json=body,
        auth=auth or (server.username, server.key),
        proxies={"http": server.proxy_url},
        allow_redirects=False,
        timeout=5,
    )


def get(server: KaggleServer, url: str, **headers: str) -> requests.Response:
    return requests.get(url, headers=headers, proxies={"http": server.proxy_url}, timeout=5)


def test_download_redirects_to_a_file_url_with_validators(kaggle_server, competition_files):
    redirect = post(kaggle_server, "DownloadDataFile", {"competitionName": SLUG, "fileName": "train.7z"})
    assert redirect.status_code == 302
    file = get(kaggle_server, redirect.headers["Location"])
    assert file.status_code == 200
    assert file.content == competition_files.train_archive.read_bytes()
    for header in ("ETag", "Last-Modified", "Content-Length"):
        assert file.headers[header]
    assert file.headers["Accept-Ranges"] == "bytes"


def test_file_url_serves_ranges_and_honours_if_range(kaggle_server, competition_files):
    url = f"http://localhost/files/{SLUG}/train.7z"
    etag = get(kaggle_server, url).headers["ETag"]
    data = competition_files.train_archive.read_bytes()

    partial = get(kaggle_server, url, Range="bytes=100-", **{"If-Range": etag})
    assert partial.status_code == 206 and partial.content == data[100:]
    stale = get(kaggle_server, url, Range="bytes=100-", **{"If-Range": '"some-other-version"'})
    assert stale.status_code == 200 and stale.content == data


def test_csv_files_are_served_inside_a_zip(kaggle_server, competition_files):
    redirect = post(kaggle_server, "DownloadDataFile", {"competitionName": SLUG, "fileName": "trainLabels.csv"})
    assert redirect.headers["Location"].endswith("/trainLabels.csv.zip")
    archive = zipfile.ZipFile(io.BytesIO(get(kaggle_server, redirect.headers["Location"]).content))
    assert archive.namelist() == ["trainLabels.csv"]
    assert archive.read("trainLabels.csv") == competition_files.train_labels.read_bytes()


def test_errors_are_kaggle_json_with_the_right_status(kaggle_server):
    unknown = post(kaggle_server, "ListDataFiles", {"competitionName": "nope"})
    assert unknown.status_code == 404 and unknown.json()["code"] == 404
    assert post(kaggle_server, "ListDataFiles", {"competitionName": SLUG}, auth=("x", "y")).status_code == 401

    kaggle_server.require_rules(SLUG)
    refused = post(kaggle_server, "DownloadDataFile", {"competitionName": SLUG, "fileName": "train.7z"})
    assert refused.status_code == 403

    kaggle_server.fail_next(429, times=2, retry_after=7)
    for _ in range(2):
        limited = post(kaggle_server, "ListDataFiles", {"competitionName": SLUG})
        assert limited.status_code == 429 and limited.headers["Retry-After"] == "7"
    assert post(kaggle_server, "ListDataFiles", {"competitionName": SLUG}).status_code == 200


def test_a_cut_download_sends_part_of_the_body_then_closes(kaggle_server):
    kaggle_server.cut_next_download("train.7z", after_bytes=10)
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        get(kaggle_server, f"http://localhost/files/{SLUG}/train.7z")
    assert get(kaggle_server, f"http://localhost/files/{SLUG}/train.7z").status_code == 200  # once only


def test_unknown_methods_are_404(kaggle_server):
    assert post(kaggle_server, "LaunchCompetition", {}).status_code == 404


def test_kaggle_env_points_the_client_here_and_restores_the_environment(competition_files, monkeypatch):
    monkeypatch.setenv("NO_PROXY", "localhost,example.com")
    for name in ("KAGGLE_KEY", "KAGGLE_API_TOKEN", "HTTP_PROXY", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    with KaggleServer() as server, kaggle_env(server):
        assert os.environ["HTTP_PROXY"] == os.environ["http_proxy"] == server.proxy_url
        assert os.environ["NO_PROXY"] == "example.com"
        assert os.environ["KAGGLE_KEY"] == server.key
        server.add_competition(SLUG, competition_files.directory, competition_files.solution_csv)
        from kagglekit.kaggle import kaggle_api

        assert "train.7z" in kaggle_api.list_files(SLUG)
    assert os.environ["NO_PROXY"] == "localhost,example.com"
    assert "KAGGLE_KEY" not in os.environ


def test_command_line_entry_prints_the_environment_and_serves(competition_files):
    command = [
        sys.executable,
        "-m",
        "kagglekit.standin.server",
        "--competition-dir",
        str(competition_files.directory),
        "--solution",
        str(competition_files.solution_csv),
    ]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True) as process:
        try:
            lines = [process.stdout.readline().strip() for _ in range(4)]
            env = dict(line.removeprefix("export ").split("=", 1) for line in lines)
            assert env["KAGGLE_API_ENVIRONMENT"] == "LOCALHOST"
            listed = requests.post(
                f"{API}/ListDataFiles",
                json={"competitionName": SLUG},
                auth=("any-user", "any-key"),
                proxies={"http": env["HTTP_PROXY"]},
                timeout=5,
            )
            assert {f["name"] for f in listed.json()["files"]} == {
                "train.7z",
                "test.7z",
                "trainLabels.csv",
                "sampleSubmission.csv",
            }  # not the solution
        finally:
            process.terminate()


# -- scoring each metric, refusing what Kaggle refuses ------------------------------------

import math  # noqa: E402

import numpy as np  # noqa: E402
from competition_specs import BREEDS, dogs_vs_cats  # noqa: E402

from kagglekit.competitions import parse_spec  # noqa: E402
from kagglekit.competitions.metrics import EPSILON, METRICS  # noqa: E402

DOGS = "dogs-vs-cats-redux-kernels-edition"
BREED_COLUMNS = ["pug", "beagle", "collie"]
N = 20


def contest(directory, header: str, answers: list[str], sample_value: str):
    """sample_submission.csv and solution.csv (the server's format: id column, then the answer) for ids 1..N."""
    directory.mkdir(parents=True, exist_ok=True)
    sample = directory / "sample_submission.csv"
    sample.write_text(
        header + "\n" + "".join(f"{i}{f',{sample_value}' * header.count(',')}\n" for i in range(1, N + 1))
    )
    solution = directory / "solution.csv"
    answer_column = header.split(",")[1] if header.count(",") == 1 else "label"
    solution.write_text(
        f"{header.split(',')[0]},{answer_column}\n" + "".join(f"{i},{a}\n" for i, a in enumerate(answers, start=1))
    )
    return directory, solution


def submitted(server, slug: str, tmp_path, text: str) -> dict:
    csv = tmp_path / f"submission-{len(server.requests)}.csv"
    csv.write_text(text)
    from kagglekit.kaggle import kaggle_api

    return kaggle_api.get_submission(slug, kaggle_api.submit(slug, csv, "test")["ref"])


def split(server, slug: str) -> tuple[list[int], list[int]]:
    public = server.competitions[slug].public_ids
    return sorted(int(i) - 1 for i in public), sorted(int(i) - 1 for i in set(map(str, range(1, N + 1))) - public)


@pytest.fixture
def dogs(kaggle_server, tmp_path):
    """dogs-vs-cats scored in binary log loss: P(dog) per id, solution 1 for a dog."""
    truth = [i % 2 for i in range(N)]
    directory, solution = contest(tmp_path / DOGS, "id,label", [str(t) for t in truth], "0.5")
    kaggle_server.add_competition(DOGS, directory, solution, spec=parse_spec(dogs_vs_cats(), DOGS, "test"))
    return np.array(truth)


def probability_csv(values) -> str:
    return "id,label\n" + "".join(f"{i},{v}\n" for i, v in enumerate(values, start=1))


@pytest.mark.parametrize("metric", ["binary-log-loss", "roc-auc"])
def test_one_probability_is_scored_in_the_competitions_metric(kaggle_server, tmp_path, metric):
    truth = np.array([i % 2 for i in range(N)])
    directory, solution = contest(tmp_path / DOGS, "id,label", [str(t) for t in truth], "0.5")
    competition = kaggle_server.add_competition(
        DOGS, directory, solution, spec=parse_spec(dogs_vs_cats(metric), DOGS, "test")
    )
    assert (
        competition.evaluation_metric
        == {"binary-log-loss": "Log Loss", "roc-auc": "Area Under Receiver Operating Characteristic Curve"}[metric]
    )
    p = np.round(np.where(truth == 1, 0.7, 0.2) + np.linspace(-0.15, 0.25, N), 3)
    public, private = split(kaggle_server, DOGS)
    scored = submitted(kaggle_server, DOGS, tmp_path, probability_csv(p))
    assert scored["status"] == "complete", scored
    assert scored["publicScore"] == pytest.approx(METRICS[metric](truth[public], p[public]), abs=1e-5)
    assert scored["privateScore"] == pytest.approx(METRICS[metric](truth[private], p[private]), abs=1e-5)


def test_log_loss_is_clipped_at_1e_15_as_kaggle_clips_it(kaggle_server, dogs, tmp_path):
    p = np.where(dogs == 1, 1.0, 0.0)
    p[0] = 1.0  # a cat called a dog, certainly: costs ln(1e15) = 34.5, not infinity
    public, private = split(kaggle_server, DOGS)
    scored = submitted(kaggle_server, DOGS, tmp_path, probability_csv(p))
    cost = -math.log(EPSILON)
    where = public if 0 in public else private
    expected = (cost + (len(where) - 1) * -math.log1p(-EPSILON)) / len(where)
    key = "publicScore" if 0 in public else "privateScore"
    assert scored[key] == pytest.approx(expected, rel=1e-4) and expected > 1  # (1 - 1e-15 is inexact in float64)


def test_one_probability_per_class_is_scored_in_multiclass_log_loss(kaggle_server, tmp_path):
    truth = np.array([i % 3 for i in range(N)])  # index into BREED_COLUMNS
    directory, solution = contest(
        tmp_path / "breeds", "id," + ",".join(BREED_COLUMNS), [BREED_COLUMNS[t] for t in truth], "0.333333"
    )
    kaggle_server.add_competition("breeds", directory, solution, spec=parse_spec(BREEDS, "breeds", "test"))
    p = np.full((N, 3), 0.1)
    p[np.arange(N), truth] = 0.8
    p[1] = [0.5, 0.2, 0.6]  # rows need not sum to 1: Kaggle rescales them
    order = [2, 0, 1]  # the columns in another order than the sample's: Kaggle matches them by name
    header = "id," + ",".join(BREED_COLUMNS[k] for k in order)
    text = header + "\n" + "".join(f"{i + 1}," + ",".join(str(p[i, k]) for k in order) + "\n" for i in range(N))
    public, private = split(kaggle_server, "breeds")
    scored = submitted(kaggle_server, "breeds", tmp_path, text)
    assert scored["status"] == "complete", scored
    assert scored["publicScore"] == pytest.approx(METRICS["multiclass-log-loss"](truth[public], p[public]), abs=1e-5)
    assert scored["privateScore"] == pytest.approx(METRICS["multiclass-log-loss"](truth[private], p[private]), abs=1e-5)


def test_ignored_solution_rows_must_be_submitted_but_count_in_no_score(kaggle_server, tmp_path):
    """Kaggle's solution files mark rows Usage=Ignored, as cifar-10 scores 10,000 of its 300,000 test ids."""
    truth = ["cat", "dog"] * (N // 2)
    directory, solution = contest(tmp_path / "farm", "id,label", truth, "cat")
    usage = ["Ignored" if i % 4 == 0 else "" for i in range(1, N + 1)]  # ids 4, 8, ...: junk, not scored
    rows = solution.read_text().splitlines()
    solution.write_text(
        rows[0]
        + ",Usage\n"
        + "".join(f"{i},{'not-a-class' if u else a},{u}\n" for i, a, u in zip(range(1, N + 1), truth, usage))
    )
    kaggle_server.add_competition("farm", directory, solution, metric="accuracy", sample="sample_submission.csv")
    wrong_on_ignored = [("dog" if t == "cat" else "cat") if u else t for t, u in zip(truth, usage)]
    scored = submitted(kaggle_server, "farm", tmp_path, probability_csv(wrong_on_ignored))
    assert scored["status"] == "complete" and scored["publicScore"] == 1.0 and scored["privateScore"] == 1.0
    without_an_ignored_id = probability_csv(truth).replace("\n4,dog\n", "\n")
    refused = submitted(kaggle_server, "farm", tmp_path, without_an_ignored_id)
    assert refused["status"] == "error" and "missing 1 ids" in refused["errorDescription"]


@pytest.mark.parametrize("metric", ["accuracy", "micro-f1"])
def test_labels_are_scored_in_accuracy_or_micro_f1(kaggle_server, tmp_path, metric):
    truth = np.array(["cat", "dog", "cow", "dog"] * (N // 4))
    directory, solution = contest(tmp_path / "farm", "ImageId,Label", list(truth), "cat")
    kaggle_server.add_competition("farm", directory, solution, metric=metric, sample="sample_submission.csv")
    predicted = truth.copy()
    predicted[::3] = "cow"
    public, private = split(kaggle_server, "farm")
    scored = submitted(
        kaggle_server,
        "farm",
        tmp_path,
        "ImageId,Label\n" + "".join(f"{i},{v}\n" for i, v in enumerate(predicted, start=1)),
    )
    assert scored["publicScore"] == pytest.approx(METRICS[metric](truth[public], predicted[public]), abs=1e-5)
    assert scored["privateScore"] == pytest.approx(METRICS[metric](truth[private], predicted[private]), abs=1e-5)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda lines: lines.__setitem__(3, "3,1.5"),
            "ERROR: Value '1.5' in column 'label' is outside the allowed range [0, 1] (Line 4, Column 2)",
        ),
        (
            lambda lines: lines.__setitem__(3, "3,-0.01"),
            "ERROR: Value '-0.01' in column 'label' is outside the allowed range [0, 1] (Line 4, Column 2)",
        ),
        (
            lambda lines: lines.__setitem__(3, "3,dog"),
            "ERROR: Could not parse 'dog' into expected type of Double (Line 4, Column 2)",
        ),
        (
            lambda lines: lines.__setitem__(3, "3,nan"),
            "ERROR: Value 'nan' in column 'label' is not a finite number (Line 4, Column 2)",
        ),
        (lambda lines: lines.__setitem__(0, "id,probability"), "ERROR: Required column 'label' could not be found"),
        (lambda lines: lines.__setitem__(0, "id,label,extra"), "ERROR: Unexpected column 'extra' (Line 1, Column 3)"),
        (
            lambda lines: lines.__setitem__(3, "2,0.5"),
            "ERROR: Duplicate value '2' found in column 'id' (Line 4, Column 1)",
        ),
        (lambda lines: lines.pop(), "ERROR: Submission is missing 1 ids in column 'id' (e.g. '20')"),
        (lambda lines: lines.append("21,0.5"), "ERROR: Submission has 1 unexpected ids in column 'id' (e.g. '21')"),
        (lambda lines: lines.__setitem__(3, "3,0.5,0.5"), "ERROR: Record 3 had 3 columns but expected 2"),
    ],
)
def test_what_kaggle_refuses_is_a_scoring_error(kaggle_server, dogs, tmp_path, change, message):
    lines = probability_csv([0.5] * N).splitlines()
    change(lines)
    scored = submitted(kaggle_server, DOGS, tmp_path, "\n".join(lines) + "\n")
    assert scored["status"] == "error" and scored["publicScore"] is None
    assert scored["errorDescription"] == message or scored["errorDescription"].startswith(message)


def test_a_label_that_is_not_a_class_is_refused(kaggle_server, competition_files, tmp_path):
    lines = competition_files.sample_submission.read_text().splitlines()
    lines[5] = "5,kitten"
    scored = submitted(kaggle_server, "cifar-10", tmp_path, "\n".join(lines) + "\n")
    assert scored["status"] == "error"
    assert scored["errorDescription"].startswith(
        "ERROR: Unexpected value 'kitten' found in column 'label' (Line 6, Column 2)"
    )


def test_the_leaderboard_of_a_loss_ranks_lowest_first(kaggle_server, dogs, tmp_path):
    from kagglekit.kaggle import kaggle_api

    good = submitted(kaggle_server, DOGS, tmp_path, probability_csv(np.where(dogs == 1, 0.9, 0.1)))
    submitted(kaggle_server, DOGS, tmp_path, probability_csv(np.where(dogs == 1, 0.1, 0.9)))  # worse: not our best
    board = kaggle_api.leaderboard(DOGS)
    assert [team for team, _ in board] == [kaggle_server.username, "Sample Submission Benchmark"]
    assert board[0][1] == pytest.approx(good["publicScore"]) and board[1][1] == pytest.approx(math.log(2), abs=1e-5)


def test_a_solution_the_metric_cannot_score_is_refused_when_added(kaggle_server, tmp_path):
    directory, solution = contest(tmp_path / DOGS, "id,label", ["wolf"] * N, "0.5")  # neither 1/0 nor a class
    with pytest.raises(ValueError, match="answers 'wolf', which binary-log-loss cannot score: expected one of 0, 1"):
        kaggle_server.add_competition(DOGS, directory, solution, spec=parse_spec(dogs_vs_cats(), DOGS, "test"))


def test_a_one_probability_solution_may_name_the_classes(kaggle_server, tmp_path):
    truth = np.array([i % 2 for i in range(N)])
    directory, solution = contest(tmp_path / DOGS, "id,label", ["dog" if t else "cat" for t in truth], "0.5")
    kaggle_server.add_competition(DOGS, directory, solution, spec=parse_spec(dogs_vs_cats(), DOGS, "test"))
    assert sorted(set(kaggle_server.competitions[DOGS].solution.values())) == ["0", "1"]
    p = np.where(truth == 1, 0.8, 0.3)
    public, _ = split(kaggle_server, DOGS)
    scored = submitted(kaggle_server, DOGS, tmp_path, probability_csv(p))
    assert scored["publicScore"] == pytest.approx(METRICS["binary-log-loss"](truth[public], p[public]), abs=1e-5)


def test_every_list_call_pages_by_offset_tokens_and_the_last_page_has_none() -> None:
    from kagglekit.standin.responses import one_page

    items, token, pages = list(range(45)), None, []
    while True:
        shown, token = one_page(items, token, None)
        pages.append(list(shown))
        if token is None:
            break
    assert [len(p) for p in pages] == [20, 20, 5] and sum(pages, []) == items
    assert list(one_page(items, None, 10, page=2)[0]) == list(range(10, 20))  # the older 1-based page number
    assert one_page(items, "40", 5) == (items[40:45], None)
