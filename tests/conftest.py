"""Shared fixtures: a local Kaggle API server the real ``kaggle`` client talks to.

The client reads KAGGLE_API_ENVIRONMENT and its config directory once, when it is
first imported, so both are set here, before any test can import it: no test can
reach the real Kaggle or read the developer's real ~/.kaggle/kaggle.json.
"""

from __future__ import annotations

import os
import socket
import tempfile

os.environ["KAGGLE_API_ENVIRONMENT"] = "LOCALHOST"
os.environ["KAGGLE_CONFIG_DIR"] = tempfile.mkdtemp(prefix="kagglekit-test-kaggle-config-")

from pathlib import Path  # noqa: E402
from typing import Iterator  # noqa: E402

import pytest  # noqa: E402
from builders import raw_competition, shuffle_archive  # noqa: E402

from kagglekit.paths import CompetitionPaths  # noqa: E402
from kagglekit.standin.server import KaggleServer  # noqa: E402
from kagglekit.standin.synthetic import CompetitionFiles, make_competition  # noqa: E402

SLUG = "cifar-10"
CREDENTIAL_VARS = ("KAGGLE_USERNAME", "KAGGLE_KEY", "KAGGLE_API_TOKEN", "KAGGLE_KERNEL_RUN_TYPE")


def pytest_configure(config: pytest.Config) -> None:
    # Keras' model.save under numpy 2; session fixtures train from whichever module asks first
    config.addinivalue_line("filterwarnings", "ignore:__array__ implementation:DeprecationWarning")


@pytest.fixture(scope="session")
def competition_files(tmp_path_factory: pytest.TempPathFactory) -> CompetitionFiles:
    """A tiny cifar-10-shaped competition, made once per session (read-only: copy before changing)."""
    return make_competition(tmp_path_factory.mktemp("competition"), n_train=60, n_test=40, seed=0)


@pytest.fixture(scope="session")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> CompetitionPaths:
    """What the real unpack and folders stages leave for training: 200 generated images (160 train, 40 valid).

    The archives list their images in shuffled order, so cache order is not id
    order. Its 40 test images have competition_files' ids and sampleSubmission.csv.
    Read-only: copy it (builders.copy_competition) before changing anything.
    """
    from kagglekit.data.folders import build_folders
    from kagglekit.data.unpack import unpack_competition

    files = make_competition(tmp_path_factory.mktemp("prepared-competition"), n_train=200, n_test=40, seed=0)
    shuffle_archive(files.train_archive, seed=1)
    shuffle_archive(files.test_archive, seed=2)
    paths = raw_competition(files, tmp_path_factory.mktemp("prepared") / "data")
    unpack_competition(paths, progress=False)
    build_folders(paths, valid_fraction=0.2)
    return paths


@pytest.fixture(scope="session")
def tiny_run(prepared: CompetitionPaths, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real, finished one-epoch training run of seed-cifar10-modeling on ``prepared`` (read-only)."""
    from kagglekit.training.train import train

    return train(
        "seed-cifar10-modeling", {"epochs": 1}, prepared, tmp_path_factory.mktemp("runs"), log=lambda line: None
    )


@pytest.fixture(scope="session")
def tiny_prediction(tiny_run: Path, prepared: CompetitionPaths, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real predict stage's folder (submission.csv, probabilities.npy, prediction.json) for ``tiny_run``."""
    from kagglekit.training.predict import predict_submission

    return predict_submission(tiny_run, prepared, tmp_path_factory.mktemp("submissions"), progress=False).csv.parent


@pytest.fixture
def kaggle_config_dir() -> Iterator[Path]:
    """The client's config directory (fixed at import); kaggle.json written here is removed after."""
    directory = Path(os.environ["KAGGLE_CONFIG_DIR"])
    yield directory
    (directory / "kaggle.json").unlink(missing_ok=True)


@pytest.fixture
def no_kaggle_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No credentials anywhere the client looks: env vars, ~/.kaggle, the config dir."""
    for name in CREDENTIAL_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (Path(os.environ["KAGGLE_CONFIG_DIR"]) / "kaggle.json").unlink(missing_ok=True)


@pytest.fixture
def kaggle_server(
    competition_files: CompetitionFiles, no_kaggle_credentials: None, monkeypatch: pytest.MonkeyPatch
) -> Iterator[KaggleServer]:
    """A fresh server serving ``cifar-10``, with this process's client pointed at it.

    Retries are made fast: no in-process download retries (a cut fails at once
    and the next run resumes) and at most 5 seconds of Retry-After waiting.
    """
    server = KaggleServer().start()
    server.add_competition(SLUG, competition_files.directory, competition_files.solution_csv)
    for name, value in server.environment().items():
        monkeypatch.setenv(name, value)
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KAGGLEKIT_DOWNLOAD_RETRIES", "0")
    monkeypatch.setenv("KAGGLEKIT_API_TRIES", "5")
    monkeypatch.setenv("KAGGLEKIT_MAX_RETRY_WAIT", "5")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def unreachable_proxy(monkeypatch: pytest.MonkeyPatch) -> str:
    """Point the client at a port nothing listens on: the network is down."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("HTTP_PROXY", url)
    monkeypatch.setenv("http_proxy", url)
    return url
