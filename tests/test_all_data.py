"""`train --all-data`: the final submission's run on every labelled image, with nothing held out claimed as measured."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kagglekit.cli import main
from kagglekit.paths import CompetitionPaths
from kagglekit.submissions.formats import PREDICTION


@pytest.fixture(scope="module")
def final_run(prepared: CompetitionPaths, tmp_path_factory: pytest.TempPathFactory) -> Path:
    runs = tmp_path_factory.mktemp("final-runs")
    assert (
        main(
            [
                "train",
                "--model",
                "seed-cifar10-modeling",
                "--epochs",
                "1",
                "--all-data",
                "--data-dir",
                str(prepared.data_dir),
                "--runs-dir",
                str(runs),
            ]
        )
        == 0
    )
    return next(runs.glob("seed-cifar10-modeling-*"))


def test_config_records_that_nothing_was_held_out(final_run: Path, tiny_run: Path, prepared: CompetitionPaths) -> None:
    config = json.loads((final_run / "config.json").read_text())
    labelled = len(pd.read_csv(prepared.split_csv))
    assert config["data"]["n_train"] == labelled == 200 and config["data"]["n_valid"] == 0
    assert config["data"]["held_out"].startswith("nothing")
    assert config["recipe"]["all_data"] is True and "--all-data" in config["command"].split()
    split_run = json.loads((tiny_run / "config.json").read_text())
    assert split_run["recipe"]["epochs"] == config["recipe"]["epochs"]  # the same recipe...
    assert config["version_id"] != split_run["version_id"]  # ...under its own id, so its prediction stands apart


def test_metrics_hold_no_validation_accuracy(final_run: Path) -> None:
    metrics = json.loads((final_run / "metrics.json").read_text())
    assert metrics["all_data"] is True and metrics["best_val_accuracy"] is None and "val_accuracy_tta" not in metrics
    history = pd.read_csv(final_run / "history.csv")
    assert history["val_accuracy"].isna().all() and (final_run / "best.keras").is_file()


def test_evaluate_refuses_in_one_line(final_run: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["evaluate", str(final_run)]) != 0
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "nothing was held out" in err


def test_predict_and_compare_show_no_validation_accuracy(
    final_run: Path, prepared: CompetitionPaths, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    subs = tmp_path / "submissions"
    assert main(["predict", str(final_run), "--data-dir", str(prepared.data_dir), "--submissions-dir", str(subs)]) == 0
    version_id = json.loads((final_run / "config.json").read_text())["version_id"]
    record = json.loads((subs / version_id / PREDICTION).read_text())
    assert record["val_accuracy"] is None
    probabilities = np.load(subs / version_id / "probabilities.npy")
    assert probabilities.shape == (40, 10)
    capsys.readouterr()
    assert main(["compare", "--submissions-dir", str(subs)]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith(version_id))
    assert "not submitted" in row and not any(cell.startswith("0.") for cell in row.split())
