"""`kagglekit fetch` end to end: the real kaggle client against the local Kaggle server."""

from __future__ import annotations

import random
import shutil
import time
from pathlib import Path

import pytest

from kagglekit.cli import main
from kagglekit.competitions import get_spec
from kagglekit.markers import MARKER_NAME
from kagglekit.paths import CompetitionPaths

SLUG = "cifar-10"
COMPETITION_FILES = get_spec(SLUG).file_names  # what fetch takes: the files cifar-10's spec lists


def fetch(data_dir: Path, *extra: str) -> int:
    return main(["fetch", "--data-dir", str(data_dir), *extra])


def raw_dir(data_dir: Path, slug: str = SLUG) -> Path:
    return CompetitionPaths(data_dir, slug).raw


def file_gets(server) -> list[str]:
    return [path for method, path in server.requests if method == "GET" and path.startswith("/files/")]


def assert_nothing_looks_complete(raw: Path) -> None:
    assert not (raw / MARKER_NAME).exists()
    for name in COMPETITION_FILES:
        assert not (raw / name).exists(), f"{name} looks complete after a failed fetch"


def error_line(capsys: pytest.CaptureFixture) -> str:
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("kagglekit fetch: error:")]
    assert len(lines) == 1, lines
    return lines[0]


def test_fetch_downloads_the_four_files_through_the_client(kaggle_server, competition_files, tmp_path):
    assert fetch(tmp_path) == 0

    raw = raw_dir(tmp_path)
    for name in COMPETITION_FILES:
        assert (raw / name).read_bytes() == (competition_files.directory / name).read_bytes()
    assert (raw / MARKER_NAME).is_file()
    assert not list(raw.glob("*.part")) and not list(raw.glob("*.zip")) and not list(raw.glob("*.kaggle-partial"))
    assert sorted(file_gets(kaggle_server)) == sorted(
        f"/files/{SLUG}/{name}.zip" if name.endswith(".csv") else f"/files/{SLUG}/{name}" for name in COMPETITION_FILES
    )


def test_rerun_skips_fast_without_the_network(kaggle_server, tmp_path, monkeypatch, capsys):
    assert fetch(tmp_path) == 0
    _network_down(kaggle_server, monkeypatch)
    seen = len(kaggle_server.requests)

    raw = raw_dir(tmp_path)
    fetched = {p.name: p.stat().st_mtime_ns for p in raw.iterdir()}
    assert fetch(tmp_path) == 0
    assert len(kaggle_server.requests) == seen
    assert {p.name: p.stat().st_mtime_ns for p in raw.iterdir()} == fetched
    assert "already fetched" in capsys.readouterr().out


def test_force_downloads_again(kaggle_server, tmp_path):
    assert fetch(tmp_path) == 0
    first = len(file_gets(kaggle_server))
    assert fetch(tmp_path, "--force") == 0
    assert len(file_gets(kaggle_server)) == 2 * first
    assert (raw_dir(tmp_path) / MARKER_NAME).is_file()


def test_changed_file_on_disk_makes_the_marker_stale(kaggle_server, competition_files, tmp_path):
    assert fetch(tmp_path) == 0
    labels = raw_dir(tmp_path) / "trainLabels.csv"
    labels.write_text("id,label\n")  # wrong size: fetched again, the others are kept
    before = len(file_gets(kaggle_server))

    assert fetch(tmp_path) == 0
    assert file_gets(kaggle_server)[before:] == [f"/files/{SLUG}/trainLabels.csv.zip"]
    assert labels.read_bytes() == (competition_files.directory / "trainLabels.csv").read_bytes()


@pytest.fixture
def big_train_archive(kaggle_server, competition_files, tmp_path) -> Path:
    """cifar-10 with a 2.5 MB train.7z: the client reads 1 MiB chunks, so a cut after the
    first MiB leaves bytes on disk to resume from (as with the real 700 MB archive)."""
    directory = tmp_path / "big-competition"
    shutil.copytree(competition_files.directory, directory)
    big = directory / "train.7z"
    big.write_bytes(random.Random(0).randbytes(2_500_000))
    kaggle_server.add_competition(SLUG, directory, directory / "solution.csv", files=COMPETITION_FILES)
    return big


def test_connection_cut_mid_file_leaves_a_part_that_the_next_run_resumes(
    kaggle_server, big_train_archive, tmp_path, capsys
):
    kaggle_server.cut_next_download("train.7z", after_bytes=1_800_000)

    assert fetch(tmp_path) != 0
    assert "lost the connection to Kaggle" in error_line(capsys)
    raw = raw_dir(tmp_path)
    assert_nothing_looks_complete(raw)  # train.7z is fetched first
    kept = (raw / "train.7z.part").stat().st_size
    assert 0 < kept < big_train_archive.stat().st_size

    assert fetch(tmp_path) == 0
    assert kaggle_server.ranges == [(f"/files/{SLUG}/train.7z", f"bytes={kept}-")]
    assert (raw / "train.7z").read_bytes() == big_train_archive.read_bytes()
    assert not list(raw.glob("*.part")) and not list(raw.glob("*.kaggle-partial"))


def test_connection_cut_is_resumed_within_the_same_run(kaggle_server, big_train_archive, tmp_path, monkeypatch):
    """The client's own retry (it sleeps 2-3 s first) resumes with a Range request."""
    monkeypatch.setenv("KAGGLEKIT_DOWNLOAD_RETRIES", "1")
    kaggle_server.cut_next_download("train.7z", after_bytes=1_800_000)

    assert fetch(tmp_path) == 0
    assert [path for path, _ in kaggle_server.ranges] == [f"/files/{SLUG}/train.7z"]
    assert (raw_dir(tmp_path) / "train.7z").read_bytes() == big_train_archive.read_bytes()


@pytest.mark.parametrize(("cuts", "code"), [(5, 0), (6, 1)])
def test_the_default_download_retries_users_get(kaggle_server, big_train_archive, tmp_path, monkeypatch, cuts, code):
    """conftest turns in-process resumes off; a user gets 5: five cuts in a row are survived, a sixth is not."""
    monkeypatch.delenv("KAGGLEKIT_DOWNLOAD_RETRIES")
    waits: list[float] = []

    def wait_then_cut_again(seconds: float) -> None:  # the client waits before each resume: cut that one too
        waits.append(seconds)
        if len(waits) < cuts:
            kaggle_server.cut_next_download("train.7z", after_bytes=100_000)

    monkeypatch.setattr(time, "sleep", wait_then_cut_again)
    kaggle_server.cut_next_download("train.7z", after_bytes=1_800_000)

    assert fetch(tmp_path) == code
    assert len(waits) == min(cuts, 5)
    done = (raw_dir(tmp_path) / "train.7z").is_file()
    assert done == (code == 0) and (
        not done or (raw_dir(tmp_path) / "train.7z").read_bytes() == big_train_archive.read_bytes()
    )


def test_size_mismatch_with_the_listing_fails_and_keeps_nothing(kaggle_server, competition_files, tmp_path, capsys):
    real = (competition_files.directory / "trainLabels.csv").stat().st_size
    kaggle_server.misreport_size(SLUG, "trainLabels.csv", real + 7)

    assert fetch(tmp_path) != 0
    line = error_line(capsys)
    assert f"has {real} bytes but {SLUG} lists {real + 7}" in line and "rerun" in line
    raw = raw_dir(tmp_path)
    assert not (raw / "trainLabels.csv").exists() and not list(raw.glob("trainLabels*"))
    assert not (raw / MARKER_NAME).exists()


def _wrong_key(server, monkeypatch):
    monkeypatch.setenv("KAGGLE_KEY", "not-the-key")


def _rules(server, monkeypatch):
    server.require_rules(SLUG)


def _rate_limited(server, monkeypatch):
    server.fail_next(429, times=50, retry_after=0)


def _network_down(server, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")


@pytest.mark.parametrize(
    ("arrange", "slug", "expected", "exit_code"),
    [
        (
            _wrong_key,
            SLUG,
            "rejected your credentials (HTTP 401): create a new API token at https://www.kaggle.com/settings",
            1,
        ),
        (_rules, SLUG, "accept the competition rules at https://www.kaggle.com/competitions/cifar-10/rules", 1),
        (
            None,
            "no-such-competition",
            "unknown competition 'no-such-competition' (HTTP 404): check the slug at https://www.kaggle.com/competitions",
            1,
        ),
        (_rate_limited, SLUG, "rate-limiting requests (HTTP 429) after 5 tries", 1),
        (_network_down, SLUG, "lost the connection to Kaggle", 1),
    ],
    ids=["401", "403", "404", "429-exhausted", "network"],
)
def test_kaggle_errors_give_one_actionable_line(
    kaggle_server, tmp_path, capsys, monkeypatch, arrange, slug, expected, exit_code
):
    if arrange:
        arrange(kaggle_server, monkeypatch)

    assert main(["fetch", "--data-dir", str(tmp_path), "--competition", slug]) == exit_code

    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if line.startswith("kagglekit fetch: error:")]
    assert len(lines) == 1 and expected in lines[0], captured.err
    assert "Traceback" not in captured.err
    assert kaggle_server.key not in captured.out + captured.err
    assert_nothing_looks_complete(raw_dir(tmp_path, slug))


def test_rate_limit_is_retried_after_retry_after(kaggle_server, tmp_path, monkeypatch):
    waits: list[float] = []
    monkeypatch.setattr(time, "sleep", waits.append)
    kaggle_server.fail_next(429, times=2, retry_after=0.2)
    assert fetch(tmp_path) == 0
    assert waits == [0.2, 0.2]
    assert (raw_dir(tmp_path) / MARKER_NAME).is_file()


def test_missing_credentials_say_where_to_put_them(no_kaggle_credentials, tmp_path, capsys):
    assert fetch(tmp_path) == 1
    line = error_line(capsys)
    assert "~/.kaggle/kaggle.json" in line and "KAGGLE_USERNAME" in line
    assert_nothing_looks_complete(raw_dir(tmp_path))


# -- Kaggle notebooks ---------------------------------------------------------------


@pytest.fixture
def notebook(monkeypatch, tmp_path, unreachable_proxy) -> Path:
    """A notebook session whose /kaggle/input lives under tmp_path and with no network."""
    monkeypatch.setenv("KAGGLE_KERNEL_RUN_TYPE", "Interactive")
    root = tmp_path / "kaggle-input"
    root.mkdir()
    monkeypatch.setenv("KAGGLE_CACHE_MOUNT_FOLDER", str(root))
    return root


@pytest.mark.parametrize("layout", ["competitions/cifar-10", "cifar-10"])
def test_notebook_uses_the_mounted_files_without_downloading(notebook, competition_files, tmp_path, layout):
    mounted = notebook / layout
    mounted.mkdir(parents=True)
    for name in COMPETITION_FILES:
        shutil.copy(competition_files.directory / name, mounted / name)

    data_dir = tmp_path / "data"
    assert fetch(data_dir) == 0

    raw = raw_dir(data_dir)
    for name in COMPETITION_FILES:
        assert (raw / name).is_symlink() and (raw / name).resolve() == (mounted / name).resolve()
    assert (raw / MARKER_NAME).is_file()
    assert fetch(data_dir) == 0  # and it is complete: the rerun skips


def test_notebook_without_the_mount_says_how_to_add_it(notebook, tmp_path, capsys):
    assert fetch(tmp_path / "data") == 1
    assert "Add Input" in error_line(capsys)


def test_another_spec_fetches_its_own_files(kaggle_server, tmp_path):
    from kagglekit.standin.synthetic import make_digit_recognizer

    files = make_digit_recognizer(tmp_path / "digits", n_train=20, n_test=5)
    kaggle_server.add_competition("digit-recognizer", files.directory, files.solution_csv, files=list(files.files))
    assert fetch(tmp_path / "data", "--competition", "digit-recognizer") == 0
    raw = raw_dir(tmp_path / "data", "digit-recognizer")
    assert sorted(p.name for p in raw.iterdir() if not p.name.startswith(".")) == sorted(
        ["train.csv", "test.csv", "sample_submission.csv"]
    )
    assert (raw / "train.csv").read_bytes() == files.train_csv.read_bytes()


def test_a_slug_without_a_spec_lists_kaggles_files_then_says_so_in_one_line(
    kaggle_server, competition_files, tmp_path, capsys, monkeypatch
):
    monkeypatch.chdir(tmp_path)  # no competitions/ of the user's here
    kaggle_server.add_competition(
        "new-contest", competition_files.directory, competition_files.solution_csv, files=COMPETITION_FILES
    )
    assert fetch(tmp_path / "data", "--competition", "new-contest") == 2
    captured = capsys.readouterr()
    assert "kagglekit has no spec for new-contest; Kaggle lists 4 files:" in captured.out
    assert "train.7z" in captured.out and "competitions draft new-contest" in captured.out
    errors = captured.err.strip().splitlines()
    assert len(errors) == 1 and errors[0].startswith(
        "kagglekit fetch: error: kagglekit has no spec for competition 'new-contest'"
    )
    assert not (tmp_path / "data" / "new-contest").exists()  # nothing fetched
