"""Code competitions: a CSV refused, and submit-code's flow through the real kaggle client and the stand-in.

A code competition here is cifar-10's spec with kind = "code", put where a user's own spec goes
(competitions/ under the directory the stages run in), so the session's tiny run and prediction of cifar-10
serve as the run to submit. The server serves it as Kaggle serves a code competition (kernels only).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kagglekit.cli import main
from kagglekit.competitions import spec_path

SLUG = "cifar-10"
MODEL = "seed-cifar10-modeling"


@pytest.fixture
def code_competition(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """cifar-10 made a code competition by a spec of the user's own, in ./competitions/ of a fresh directory."""
    text = spec_path(SLUG).read_text(encoding="utf-8")  # type: ignore[union-attr]
    (tmp_path / "competitions").mkdir()
    (tmp_path / "competitions" / f"{SLUG}.toml").write_text(text.replace('kind = "file"', 'kind = "code"', 1))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def one_error_line(capsys: pytest.CaptureFixture[str], stage: str) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith(f"kagglekit {stage}: error: ")
    return err[0]


def test_a_csv_is_refused_for_a_code_competition_before_any_request(
    code_competition: Path, kaggle_server, tiny_prediction: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    subs = code_competition / "subs"
    shutil.copytree(tiny_prediction, subs / tiny_prediction.name)
    assert main(["submit", tiny_prediction.name, "--submissions-dir", str(subs), "--data-dir", "data"]) == 2
    line = one_error_line(capsys, "submit")
    assert "code competition" in line and f"make submit WHERE=kaggle COMPETITION={SLUG}" in line
    assert kaggle_server.requests == []
    assert not (subs / tiny_prediction.name / "submission.json").exists()


def test_the_local_chain_of_a_code_competition_stops_before_anything_runs(
    code_competition: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["chain", "--to", "compare", "--data-dir", "data"]) == 2
    assert "make submit WHERE=kaggle" in one_error_line(capsys, "chain")
    assert not (code_competition / "data").exists()


def test_the_kaggle_chain_of_a_code_competition_submits_a_kernel_not_a_csv() -> None:
    from kagglekit.chain import stages

    assert stages("kaggle", "compare", "code", SLUG) == (
        "fetch",
        "unpack",
        "folders",
        "train",
        "predict",
        "submit-code",
        "scores",
        "compare",
    )
    assert stages("local", "predict", "code", SLUG)[-1] == "predict"
    assert "submit" not in stages("kaggle", "compare", "code", SLUG)
