"""Adding a competition is one spec file: a throwaway one, through every stage, against the stand-in server.

The spec is nothing kagglekit ships (tests/competition_specs.py's dogs-vs-cats): a zip of JPEGs of
varying sizes, labels only in the file names, the probability of one class per row, scored by binary
log loss (lower is better). Written to ./competitions/pets.toml, where kagglekit looks for a user's own
specs, it is all the chain needs from fetch to compare.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from competition_specs import dogs_vs_cats, write_spec

from kagglekit.cli import main
from kagglekit.competitions import get_spec
from kagglekit.standin.synthetic import make_from_spec

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")]


def chain(tmp_path: Path, epochs: int) -> int:
    return main(
        [
            "chain",
            "--to",
            "compare",
            "--competition",
            "pets",
            "--data-dir",
            str(tmp_path / "data"),
            "--model",
            "seed-cifar10-modeling",
            "--epochs",
            str(epochs),
            "--runs-dir",
            str(tmp_path / "runs"),
            "--submissions-dir",
            str(tmp_path / "subs"),
            "--scores-flags",
            "--interval 0.1 --timeout 60",
        ]
    )


def test_a_new_spec_file_is_all_a_new_competition_needs(
    kaggle_server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    write_spec(tmp_path, "pets", dogs_vs_cats())  # the spec tests/competition_specs.py keeps for such tests
    files = make_from_spec(get_spec("pets"), tmp_path / "competition", n_train=400, n_test=120, seed=0)
    kaggle_server.add_competition("pets", files.directory, files.solution_csv)

    assert chain(tmp_path, epochs=1) == 0
    out = capsys.readouterr().out

    [folder] = [p.parent for p in (tmp_path / "subs").glob("*/prediction.json")]
    csv = pd.read_csv(folder / "submission.csv", dtype={"id": str})
    sample = pd.read_csv(tmp_path / "data" / "pets" / "raw" / "sample_submission.csv", dtype={"id": str})
    assert list(csv.columns) == ["id", "label"] and list(csv["id"]) == list(sample["id"])
    assert csv["label"].between(0, 1).all() and csv["label"].nunique() > 1  # P(dog), not a class name
    record = json.loads((folder / "prediction.json").read_text())
    assert record["metric"] == "binary-log-loss" and record["higher_is_better"] is False
    assert record["val_score"] is not None and record["val_score"] < 0.69  # better than a coin's ln 2
    [metrics_json] = (tmp_path / "runs").glob("*/metrics.json")
    metrics = json.loads(metrics_json.read_text())  # train scores the validation split as the submission is scored
    assert metrics["metric"] == "binary-log-loss" and 0 < metrics["val_score"] < 0.69
    assert metrics["temperature"] > 0 and metrics["val_score"] <= metrics["val_score_uncalibrated"] + 1e-6
    assert record["val_score"] == pytest.approx(metrics["val_score"], abs=0.02)  # predict applies the temperature
    [upload] = json.loads((folder / "submission.json").read_text())["submissions"]
    assert upload["status"] == "complete" and upload["public_score"] < 0.69

    header = next(line for line in out.split("== kagglekit compare")[1].splitlines() if line.startswith("version"))
    assert "val log loss" in header
    assert "lower is better" in (tmp_path / "subs" / "leaderboard.md").read_text()
