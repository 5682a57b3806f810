"""The local Kaggle server speaks HTTP as Kaggle does: checked with plain requests and the real client."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
import io

import pytest
import requests

from kagglekit.standin.server import KaggleServer, kaggle_env

SLUG = "cifar-10"
API = "http://localhost/api/v1/competitions.CompetitionApiService"


def post(server: KaggleServer, method: str, body: dict, auth=None) -> requests.Response:
    return requests.post(f"{API}/{method}", json=body, auth=auth or (server.username, server.key),
                         proxies={"http": server.proxy_url}, allow_redirects=False, timeout=5)


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
    command = [sys.executable, "-m", "kagglekit.standin.server", "--competition-dir", str(competition_files.directory),
               "--solution", str(competition_files.solution_csv)]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True) as process:
        try:
            lines = [process.stdout.readline().strip() for _ in range(4)]
            env = dict(line.removeprefix("export ").split("=", 1) for line in lines)
            assert env["KAGGLE_API_ENVIRONMENT"] == "LOCALHOST"
            listed = requests.post(f"{API}/ListDataFiles", json={"competitionName": SLUG},
                                   auth=("any-user", "any-key"), proxies={"http": env["HTTP_PROXY"]}, timeout=5)
            assert {f["name"] for f in listed.json()["files"]} == {
                "train.7z", "test.7z", "trainLabels.csv", "sampleSubmission.csv"}  # not the solution
        finally:
            process.terminate()
