"""A simulated Kaggle notebook, driven through kagglekit's CLI as notebook cells (`!python -m kagglekit ...`).

What a notebook provides is set up as Kaggle's image does, with only Kaggle's
services stood in for by kagglekit's local server:

* the variables: KAGGLE_KERNEL_RUN_TYPE, KAGGLE_DATA_PROXY_URL (+ its token),
  KAGGLE_USER_SECRETS_TOKEN, KAGGLE_URL_BASE, KAGGLE_CACHE_MOUNT_FOLDER, and
  KAGGLE_API_V1_TOKEN naming the session-token file;
* a fake /kaggle tree (input/competitions/cifar-10, working, temp) through
  KAGGLE_CACHE_MOUNT_FOLDER and kagglekit's KAGGLEKIT_KAGGLE_WORKING/_TEMP;
* ``kaggle_secrets`` (tests/notebook_stubs) on sys.path, answered by the server;
* the real kagglehub, whose competition_download asks the server to attach;
* internet off: every Kaggle URL pointing at a port nothing listens on.

One tiny model is trained and predicted once, in the notebook (session
fixture, about 30 s: the tests that use it are marked slow); each credentials
case then submits a copy of that output.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

import pytest

from kagglekit.cli import main
from kagglekit.competitions import get_spec
from kagglekit.kaggle import kaggle_api
from kagglekit.standin.server import KaggleServer
from kagglekit.standin.synthetic import CompetitionFiles
from kagglekit.submissions.compare import rank_label

COMPETITION_FILES = get_spec("cifar-10").file_names

SLUG = "cifar-10"
STUBS = Path(__file__).parent / "notebook_stubs"
USER, KEY = "notebook-user", "legacy-key-7f3a9c0e"
API_TOKEN = "api-token-91bc44d2"
SESSION_TOKEN = "session-token-5d1e8a7b"
SECRETS_NEVER_SHOWN = (KEY, API_TOKEN, SESSION_TOKEN)
CLOSED = datetime(2014, 10, 17, 23, 59, tzinfo=timezone.utc)  # a deadline long past, as cifar-10's is
TENSORFLOW_CHATTER = ("absl::InitializeLog", "cudart_stub", "cuInit", "cpu_feature_guard")


def _dead_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


@dataclass
class Notebook:
    root: Path  # stands in for /kaggle
    server: KaggleServer
    dead_url: str

    def env(self, working: Path, *, online: bool = True, session_token: bool = False) -> dict[str, str]:
        """A notebook session's environment; ``online=False`` is the notebook's internet switched off."""
        url = self.server.proxy_url if online else self.dead_url
        env = {
            name: value
            for name, value in os.environ.items()
            if not name.startswith("KAGGLE") and name.lower() not in ("http_proxy", "https_proxy", "no_proxy")
        }
        env.update(
            {
                "PYTHONPATH": str(STUBS),
                "HOME": str(self.root / "home"),
                "KAGGLE_CONFIG_DIR": str(self.root / "home" / ".kaggle"),
                "KAGGLE_API_ENVIRONMENT": "LOCALHOST",
                "HTTP_PROXY": url,
                "http_proxy": url,
                "KAGGLE_KERNEL_RUN_TYPE": "Interactive",
                "KAGGLE_URL_BASE": url,
                "KAGGLE_DATA_PROXY_URL": url,
                "KAGGLE_DATA_PROXY_TOKEN": "data-proxy-token",
                "KAGGLE_USER_SECRETS_TOKEN": "user-secrets-jwt",
                "KAGGLE_CACHE_MOUNT_FOLDER": str(self.root / "input"),
                "KAGGLEKIT_KAGGLE_WORKING": str(working),
                "KAGGLEKIT_KAGGLE_TEMP": str(self.root / "temp"),
                "KAGGLEKIT_API_TRIES": "1",
                "KAGGLEKIT_DOWNLOAD_RETRIES": "0",
            }
        )
        if session_token:
            token_file = self.root / "session" / "token"
            token_file.parent.mkdir(exist_ok=True)
            token_file.write_text(SESSION_TOKEN)
            env["KAGGLE_API_V1_TOKEN"] = str(token_file)
        return env


def cell(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """One `!python -m kagglekit ...` cell, run where a notebook runs, in /kaggle/working."""
    result = subprocess.run(
        [sys.executable, "-m", "kagglekit", *args],
        env=env,
        cwd=env["KAGGLEKIT_KAGGLE_WORKING"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    shown = result.stdout + result.stderr
    assert not any(secret in shown for secret in SECRETS_NEVER_SHOWN), f"a credential was printed:\n{shown}"
    return result


@pytest.fixture(scope="session")
def notebook(competition_files: CompetitionFiles, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Notebook]:
    root = tmp_path_factory.mktemp("kaggle")
    mounted = root / "input" / "competitions" / SLUG
    mounted.mkdir(parents=True)
    for name in COMPETITION_FILES:
        shutil.copy(competition_files.directory / name, mounted / name)
    for folder in ("working", "temp", "home/.kaggle"):
        (root / folder).mkdir(parents=True)
    server = KaggleServer(username=USER, key=KEY).start()
    server.add_competition(
        SLUG, competition_files.directory, competition_files.solution_csv, daily_limit=50, deadline=CLOSED
    )
    server.tokens.update({API_TOKEN: USER, SESSION_TOKEN: USER})
    try:
        yield Notebook(root, server, _dead_url())
    finally:
        server.stop()


@pytest.fixture(scope="session")
def predicted(notebook: Notebook) -> dict[str, subprocess.CompletedProcess[str]]:
    """fetch -> unpack -> folders -> train (1 epoch, 60 images) -> predict, in the notebook, once."""
    env = notebook.env(notebook.root / "working")
    cells = {
        "fetch": ("fetch",),
        "unpack": ("unpack",),
        "folders": ("folders",),
        "train": ("train", "--model", "seed-cifar10-modeling", "--epochs", "1", "--limit", "60"),
        "predict": ("predict", "seed-cifar10-modeling"),
    }
    results = {}
    for name, args in cells.items():
        results[name] = cell(env, *args)
        assert results[name].returncode == 0, results[name].stderr
    return results


@pytest.fixture
def case(notebook: Notebook, predicted: dict, tmp_path: Path) -> Iterator[Path]:
    """A copy of the notebook's /kaggle/working for one case, and a server with no secrets or token limits."""
    working = tmp_path / "working"
    shutil.copytree(notebook.root / "working", working, symlinks=True)
    yield working
    notebook.server.secrets.clear()
    notebook.server.tokens_refused_submitting.clear()


def _submitted_by_output(result: subprocess.CompletedProcess[str], working: Path) -> str:
    """The notebook fallback: exit 0, one line saying how to submit, the CSV in /kaggle/working."""
    assert result.returncode == 0 and result.stderr == "", result.stderr
    [line] = [line for line in result.stdout.splitlines() if "Save Version" in line]
    assert "Save Version" in line and "Output" in line and str(working / "submission.csv") in line
    newest = max((working / "submissions").glob("*/submission.csv"), key=lambda p: p.stat().st_mtime)
    assert (working / "submission.csv").read_bytes() == newest.read_bytes()
    assert not list((working / "submissions").glob("*/submission.json"))  # nothing recorded as uploaded
    return line


# -- the pipeline in the notebook --------------------------------------------------------


@pytest.mark.slow
def test_the_pipeline_runs_in_a_notebook_with_scratch_in_temp_and_results_in_working(notebook, predicted):
    assert notebook.server.attached == [SLUG]  # kagglehub attached the competition through the data proxy
    raw = notebook.root / "temp" / "data" / SLUG / "raw"
    mounted = notebook.root / "input" / "competitions" / SLUG
    assert all((raw / name).resolve() == (mounted / name).resolve() for name in COMPETITION_FILES)
    working = notebook.root / "working"
    assert sorted(p.name for p in working.iterdir()) == ["runs", "submission.csv", "submissions"]
    scratch = notebook.root / "temp" / "data" / SLUG
    assert len(list((scratch / "images" / "train").glob("*.png"))) == 60 and scratch.joinpath("cache").is_dir()
    assert {p.relative_to(working).parts[0] for p in working.rglob("*.png")} == {"runs"}  # the run's plots only
    assert {p.relative_to(working).parts[0] for p in working.rglob("*.npy")} == {"submissions"}  # probabilities


@pytest.mark.slow
def test_tensorflow_chatter_is_not_shown(predicted):
    for name in ("train", "predict"):
        assert not any(noise in predicted[name].stderr for noise in TENSORFLOW_CHATTER), predicted[name].stderr


@pytest.mark.slow
def test_with_the_internet_off_fetch_finds_the_mount_without_kagglehub(notebook, case):
    env = notebook.env(case, online=False)
    data_dir = case / "offline-data"
    result = cell(env, "fetch", "--data-dir", str(data_dir))
    assert result.returncode == 0, result.stderr
    mounted = notebook.root / "input" / "competitions" / SLUG
    assert all((data_dir / SLUG / "raw" / n).resolve() == (mounted / n).resolve() for n in COMPETITION_FILES)


# -- submitting from the notebook: each credentials case ----------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    "secrets",
    [{"KAGGLE_USERNAME": USER, "KAGGLE_KEY": KEY}, {"KAGGLE_API_TOKEN": API_TOKEN}],
    ids=["legacy-key", "api-token"],
)
def test_credentials_from_notebook_secrets_submit_and_win_over_the_session_token(notebook, case, secrets):
    notebook.server.secrets.update(secrets)
    notebook.server.tokens_refused_submitting.add(SESSION_TOKEN)  # were it used, the upload would be refused
    env = notebook.env(case, session_token=True)

    result = cell(env, "submit")
    assert result.returncode == 0, result.stderr
    assert f"-> {SLUG} as ref" in result.stdout
    assert len(list((case / "submissions").glob("*/submission.json"))) == 1

    scores = cell(env, "scores", "--timeout", "10", "--interval", "0.1")
    assert scores.returncode == 0, scores.stderr
    compare = cell(env, "compare")
    assert compare.returncode == 0, compare.stderr
    assert "would be 1" in compare.stdout or "would be 2" in compare.stdout
    assert "closed on 2014-10-17" in (case / "submissions" / "leaderboard.md").read_text()


@pytest.mark.slow
def test_the_session_token_submits_when_kaggle_lets_it(notebook, case):
    result = cell(notebook.env(case, session_token=True), "submit")
    assert result.returncode == 0, result.stderr
    assert f"-> {SLUG} as ref" in result.stdout


@pytest.mark.slow
def test_a_session_token_kaggle_refuses_ends_in_one_line_on_submitting_the_output(notebook, case):
    notebook.server.tokens_refused_submitting.add(SESSION_TOKEN)
    line = _submitted_by_output(cell(notebook.env(case, session_token=True), "submit"), case)
    assert "this token may not create submissions" in line  # the server's own reason, quoted


@pytest.mark.slow
def test_no_credentials_at_all_ends_in_one_line_on_submitting_the_output(notebook, case):
    line = _submitted_by_output(cell(notebook.env(case), "submit"), case)
    assert "KAGGLE_API_TOKEN" in line  # and how to submit from the notebook instead


@pytest.mark.slow
def test_with_the_internet_off_submit_says_to_submit_the_output(notebook, case):
    notebook.server.secrets.update({"KAGGLE_USERNAME": USER, "KAGGLE_KEY": KEY})  # unreachable anyway
    env = notebook.env(case, online=False, session_token=True)
    line = _submitted_by_output(cell(env, "submit"), case)
    assert "internet is off" in line
    scores = cell(env, "scores")
    assert scores.returncode == 0 and scores.stderr == "", scores.stderr
    assert "internet is off" in scores.stdout and "/competitions/cifar-10/submissions" in scores.stdout


# -- messages -----------------------------------------------------------------------------


def test_a_403_quotes_kaggles_reason_beside_the_likely_fixes(kaggle_server, tmp_path, capsys):
    kaggle_server.require_rules(SLUG)
    assert main(["fetch", "--data-dir", str(tmp_path / "data")]) == 1
    line = capsys.readouterr().err.strip()
    assert "\n" not in line
    assert "You must accept this competition's rules" in line  # Kaggle's reason
    assert "/competitions/cifar-10/rules" in line and "phone" in line


def test_the_local_server_serves_the_competitions_deadline_to_the_real_client(kaggle_server):
    api = kaggle_api.authenticate()
    listed = api.competitions_list(search="cifar").competitions
    assert [c.url for c in listed] == ["http://localhost/competitions/cifar-10"]
    served = kaggle_server.competitions[SLUG].deadline
    assert abs((listed[0].deadline.replace(tzinfo=timezone.utc) - served).total_seconds()) < 1
    assert abs((kaggle_api.competition_deadline(SLUG, api) - served).total_seconds()) < 1


def test_a_rank_is_hypothetical_only_for_a_submission_after_the_deadline():
    closed = {"deadline": CLOSED.isoformat(), "scores": []}
    assert rank_label("3", "2026-01-05T10:00:00", closed) == "would be 3"
    assert rank_label("3", "2014-10-01T10:00:00", closed) == "3"
    assert rank_label("3", "2026-01-05T10:00:00", {"scores": []}) == "3"  # deadline unknown: a plain rank
    assert rank_label("n/a", "2026-01-05T10:00:00", closed) == "n/a"


def test_unpack_without_py7zr_says_in_one_line_how_to_install_it(tmp_path):
    """Kaggle's image has the 7z binary but not py7zr: the CLI run as if py7zr were not installed."""
    no_py7zr = "import sys; sys.modules['py7zr'] = None; from kagglekit.cli import main; sys.exit(main(sys.argv[1:]))"
    result = subprocess.run(
        [sys.executable, "-c", no_py7zr, "unpack", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1 and result.stdout == ""
    [line] = result.stderr.splitlines()
    assert "py7zr is not installed" in line and "pip install py7zr" in line and "--no-index --find-links" in line
