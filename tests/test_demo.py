"""`make demo`'s chain, end to end: generated competition, local server, real client, every stage."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kagglekit.cli import main

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")]


@pytest.fixture
def demo_dir(tmp_path: Path, no_kaggle_credentials: None, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KAGGLEKIT_MAX_RETRY_WAIT", "5")
    return tmp_path / "demo"


def run_demo(demo_dir: Path) -> int:
    return main(["demo", "--dir", str(demo_dir), "--train-images", "1500", "--test-images", "300", "--epochs", "2"])


def test_demo_scores_far_above_chance_and_a_rerun_skips_everything(
    demo_dir: Path, capsys: pytest.CaptureFixture
) -> None:
    assert run_demo(demo_dir) == 0
    out = capsys.readouterr().out

    [version] = [p for p in (demo_dir / "submissions").iterdir() if p.is_dir()]
    [upload] = json.loads((version / "submission.json").read_text())["submissions"]
    assert upload["status"] == "complete"
    assert upload["public_score"] > 0.5 and upload["private_score"] > 0.5  # ten classes: chance is 0.1
    leaderboard = (demo_dir / "submissions" / "leaderboard.md").read_text()
    assert version.name in leaderboard
    assert (demo_dir / "submissions" / "compare.png").read_bytes()[:4] == b"\x89PNG"
    assert "== kagglekit compare" in out and version.name in out.split("== kagglekit compare")[1]

    made = outputs(demo_dir)
    assert run_demo(demo_dir) == 0
    again = capsys.readouterr().out
    assert "already fetched" in again and "already complete" in again
    assert "already predicted" in again
    assert len(json.loads((version / "submission.json").read_text())["submissions"]) == 1  # not uploaded twice
    assert outputs(demo_dir) == made  # nothing generated, downloaded, unpacked, trained or predicted again


def outputs(demo_dir: Path) -> dict[str, int]:
    """Every file the stages up to predict made, with its modification time."""
    made = [p for part in ("competition", "data", "runs") for p in (demo_dir / part).rglob("*")]
    made += [
        p
        for name in ("submission.csv", "probabilities.npy", "prediction.json")
        for p in (demo_dir / "submissions").glob(f"*/{name}")
    ]
    return {str(p.relative_to(demo_dir)): p.stat().st_mtime_ns for p in made if p.is_file()}


def test_demo_of_another_competition_runs_in_its_format(demo_dir: Path) -> None:
    """digit-recognizer: pixel CSVs in, ImageId,Label out, scored by the stand-in in its own format."""
    assert (
        main(
            [
                "demo",
                "--competition",
                "digit-recognizer",
                "--dir",
                str(demo_dir),
                "--train-images",
                "3000",
                "--test-images",
                "300",
                "--epochs",
                "3",
            ]
        )
        == 0
    )
    [version] = [p for p in (demo_dir / "submissions").iterdir() if p.is_dir()]
    assert (version / "submission.csv").read_text().splitlines()[0] == "ImageId,Label"
    [upload] = json.loads((version / "submission.json").read_text())["submissions"]
    assert upload["status"] == "complete" and upload["public_score"] > 0.5  # ten digits: chance is 0.1
    assert sorted(
        p.name for p in (demo_dir / "data" / "digit-recognizer" / "raw").iterdir() if not p.name.startswith(".")
    ) == ["sample_submission.csv", "test.csv", "train.csv"]


def test_demo_of_dogs_vs_cats_photographs_of_every_size_scored_by_log_loss(
    demo_dir: Path, capsys: pytest.CaptureFixture
) -> None:
    """dogs-vs-cats-redux: zips of JPEGs of varying sizes in, id,label probabilities of a dog out, log loss."""
    import io
    import zipfile

    from PIL import Image

    slug = "dogs-vs-cats-redux-kernels-edition"
    argv = ["demo", "--competition", slug, "--dir", str(demo_dir), "--train-images", "200", "--test-images", "50"]
    assert main([*argv, "--epochs", "1"]) == 0
    for archive in ("train.zip", "test.zip"):
        with zipfile.ZipFile(demo_dir / "data" / slug / "raw" / archive) as photos:
            sizes = {Image.open(io.BytesIO(photos.read(name))).size for name in photos.namelist()}
        assert len(sizes) > 10  # photographs, not one size
    [version] = [p for p in (demo_dir / "submissions").iterdir() if p.is_dir()]
    rows = (version / "submission.csv").read_text().splitlines()
    assert rows[0] == "id,label" and len(rows) == 51 and all(0 <= float(r.split(",")[1]) <= 1 for r in rows[1:])
    [upload] = json.loads((version / "submission.json").read_text())["submissions"]
    assert upload["status"] == "complete" and upload["public_score"] < 0.69  # a coin's log loss is ln 2
    compare = capsys.readouterr().out.split("== kagglekit compare")[1]
    assert "val log loss" in compare and version.name in compare
