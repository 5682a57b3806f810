"""Real, short training runs of both seed versions on a small generated set.

Each run trains for real (no mocks): files written, best model = best epoch,
resume after an interrupted run, evaluate, and the prediction API.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import pytest
from test_models import ROOT

from kagglekit.exceptions import StageNotReadyError
from kagglekit.training import runs
from kagglekit.training.train import train

pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation:DeprecationWarning"
)  # inside Keras' model.save

RUN_FILES = {"config.json", "best.keras", "history.csv", "metrics.json", "curves.png", "confusion.png", "samples.png"}


def split_sizes(paths) -> tuple[int, int]:
    """(train, valid) images as the folders stage split them."""
    subsets = pd.read_csv(paths.split_csv)["subset"]
    return int((subsets == "train").sum()), int((subsets == "valid").sum())


@pytest.fixture(scope="module")
def trained(prepared, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One 2-epoch run of each seed version, shared by the tests that only read them."""
    runs_dir = tmp_path_factory.mktemp("runs")
    return {
        name: train(name, {"epochs": 2}, prepared, runs_dir, log=lambda line: None)
        for name in ("seed-task5", "seed-cifar10-modeling")
    }


@pytest.mark.slow
@pytest.mark.parametrize("name", ["seed-task5", "seed-cifar10-modeling"])
def test_run_writes_every_artifact(trained: dict[str, Path], prepared, name: str) -> None:
    run_dir = trained[name]
    assert RUN_FILES <= {p.name for p in run_dir.iterdir()}
    config = json.loads((run_dir / "config.json").read_text())
    assert config["version"] == name and run_dir.name.startswith(config["version_id"] + "-")
    assert config["recipe"]["epochs"] == 2 and config["recipe"]["seed"] == 0
    assert "commit" in config["git"] and config["command"].startswith("python -m kagglekit train --model " + name)
    assert (config["data"]["n_train"], config["data"]["n_valid"]) == split_sizes(prepared)
    history = pd.read_csv(run_dir / "history.csv")
    assert list(history["epoch"]) == [0, 1]
    assert {"loss", "accuracy", "val_loss", "val_accuracy", "images_per_second"} <= set(history.columns)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["epochs"] == 2
    assert (metrics["device"], metrics["device_kind"]) == (config["device"]["name"], config["device"]["kind"])
    assert metrics["best_val_accuracy"] == pytest.approx(history["val_accuracy"].max())
    assert metrics["training_seconds"] > 0 and metrics["images_per_second"] > 0
    # best.keras is the best epoch's model: it reproduces the recorded accuracy.
    assert metrics["recomputed_val_accuracy"] == pytest.approx(metrics["best_val_accuracy"], abs=1e-6)


@pytest.mark.slow
def test_seed_cifar10_modeling_learns_the_generated_set(trained: dict[str, Path]) -> None:
    metrics = json.loads((trained["seed-cifar10-modeling"] / "metrics.json").read_text())
    assert metrics["best_val_accuracy"] >= 0.25  # chance is 0.10


@pytest.mark.slow
def test_load_run_predicts_probabilities_with_and_without_tta(trained: dict[str, Path], prepared) -> None:
    run = runs.load_run(trained["seed-task5"])
    assert (run.version, run.version_id) == ("seed-task5", run.config["version_id"])
    assert len(run.classes) == 10 and run.metrics["epochs"] == 2
    images = np.load(prepared.cache_images("train"))[:13]
    plain, tta = run.predict_proba(images), run.predict_proba(images, tta="flip")
    for probabilities in (plain, tta):
        assert probabilities.shape == (13, 10) and probabilities.dtype == np.float32
        assert np.allclose(probabilities.sum(axis=1), 1, atol=1e-4)
    mirrored = run.predict_proba(images[:, :, ::-1])
    assert np.allclose(tta, (plain + mirrored) / 2, atol=1e-5)


@pytest.mark.slow
def test_latest_run_finds_the_newest_complete_run(trained: dict[str, Path], tmp_path: Path) -> None:
    runs_dir = trained["seed-task5"].parent
    assert runs.latest_run(runs_dir, "seed-task5") == trained["seed-task5"]
    assert runs.latest_run(runs_dir, runs.load_run(trained["seed-task5"]).version_id) == trained["seed-task5"]
    assert runs.latest_run(runs_dir) in trained.values()
    with pytest.raises(StageNotReadyError, match="train --model seed-task5"):
        runs.latest_run(tmp_path, "seed-task5")


@pytest.mark.slow
def test_evaluate_recomputes_accuracy(trained: dict[str, Path], prepared) -> None:
    from kagglekit.training.evaluate import evaluate_run

    run_dir = trained["seed-cifar10-modeling"]
    (run_dir / "confusion.png").unlink()
    result = evaluate_run(run_dir, prepared, log=lambda line: None)
    assert result["accuracy"] == pytest.approx(result["recorded"], abs=1e-6)
    assert np.asarray(result["confusion"]).sum() == split_sizes(prepared)[1] and (run_dir / "confusion.png").exists()


class InterruptAfterFirstEpoch(keras.callbacks.Callback):
    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if epoch == 0:
            raise KeyboardInterrupt


@pytest.mark.slow
def test_interrupted_run_resumes_from_the_saved_epoch(prepared, tmp_path: Path) -> None:
    lines: list[str] = []
    with pytest.raises(KeyboardInterrupt):
        train(
            "seed-cifar10-modeling",
            {"epochs": 3, "limit": 80},
            prepared,
            tmp_path,
            log=lines.append,
            callbacks=[InterruptAfterFirstEpoch()],
        )
    (run_dir,) = tmp_path.iterdir()
    assert not runs.is_complete(run_dir) and (run_dir / "best.keras").exists()
    with pytest.raises(StageNotReadyError, match="incomplete"):
        runs.load_run(run_dir)
    saved = json.loads((run_dir / "state" / "state.json").read_text())
    assert saved["epoch"] == 1

    lines.clear()
    assert train("seed-cifar10-modeling", {"epochs": 3, "limit": 80}, prepared, tmp_path, log=lines.append) == run_dir
    assert any(line.startswith("resuming from epoch 2") for line in lines)
    epoch_rows = [line.split("|")[0].strip() for line in lines if line[:5].strip().isdigit()]
    assert epoch_rows == ["2", "3"]  # epoch 1 was not trained again
    assert list(pd.read_csv(run_dir / "history.csv")["epoch"]) == [0, 1, 2]
    assert json.loads((run_dir / "metrics.json").read_text())["epochs"] == 3
    assert runs.latest_run(tmp_path, "seed-cifar10-modeling") == run_dir
    # --reuse hands back the finished run without training.
    lines.clear()
    assert (
        train("seed-cifar10-modeling", {"epochs": 3, "limit": 80}, prepared, tmp_path, log=lines.append, reuse=True)
        == run_dir
    )
    assert lines[0].startswith("reusing finished run") and len(list(tmp_path.iterdir())) == 1


@pytest.mark.slow
def test_killed_cli_run_resumes(prepared, tmp_path: Path) -> None:
    """SIGKILL mid-training through the real CLI; the same command finishes the run."""
    command = [
        sys.executable,
        "-m",
        "kagglekit",
        "train",
        "--model",
        "seed-cifar10-modeling",
        "--epochs",
        "10",
        "--limit",
        "60",
        "--data-dir",
        str(prepared.data_dir),
        "--runs-dir",
        str(tmp_path),
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.time() + 600  # a limit for a hung process, not a speed claim: the machine may be busy
    state = None
    while time.time() < deadline:
        states = list(tmp_path.glob("*/state/state.json"))
        if states and json.loads(states[0].read_text())["epoch"] >= 2:
            state = states[0]
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert state is not None, "training never saved an epoch"
    done = json.loads(state.read_text())["epoch"]
    assert 2 <= done < 10 and not runs.is_complete(state.parent.parent)
    again = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert f"resuming from epoch {done + 1}" in again.stdout
    assert len(list(tmp_path.iterdir())) == 1 and runs.is_complete(state.parent.parent)


# -- resuming fast: its lookahead copy and a kill between the state's files ------------------------

FAST_SHORT = {
    "epochs": 2,
    "batch_size": 16,
    "limit": 64,
}  # 4 steps an epoch: lookahead's first pull (step 5) is after the kill


@pytest.fixture(scope="module")
def fast_uninterrupted(prepared, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train("fast", FAST_SHORT, prepared, tmp_path_factory.mktemp("runs"), log=lambda line: None)


def assert_same_training(resumed: Path, uninterrupted: Path) -> None:
    """The same epochs, losses and final weights: on a CPU a resumed run is bit for bit the uninterrupted one."""
    columns = ["epoch", "loss", "accuracy", "val_loss", "val_accuracy"]
    pd.testing.assert_frame_equal(
        pd.read_csv(resumed / runs.HISTORY)[columns], pd.read_csv(uninterrupted / runs.HISTORY)[columns], rtol=1e-5
    )
    for mine, theirs in zip(runs.load_run(resumed).model.weights, runs.load_run(uninterrupted).model.weights):
        np.testing.assert_allclose(np.asarray(mine), np.asarray(theirs), rtol=1e-5, atol=1e-6, err_msg=mine.path)


@pytest.mark.slow
def test_fast_resumed_after_a_kill_ends_where_an_uninterrupted_run_does(
    prepared, fast_uninterrupted: Path, tmp_path: Path
) -> None:
    """fast's lookahead keeps a slow copy of the weights; it is saved with the resume point, not restarted."""
    with pytest.raises(KeyboardInterrupt):
        train("fast", FAST_SHORT, prepared, tmp_path, log=lambda line: None, callbacks=[InterruptAfterFirstEpoch()])
    (run_dir,) = tmp_path.iterdir()
    state = json.loads((run_dir / "state" / "state.json").read_text())
    assert state["epoch"] == 1 and (run_dir / "state" / state["lookahead_file"]).is_file()

    assert train("fast", FAST_SHORT, prepared, tmp_path, log=lambda line: None) == run_dir
    assert_same_training(run_dir, fast_uninterrupted)


@pytest.mark.slow
def test_a_kill_between_the_weights_and_the_state_file_resumes_consistently(
    prepared,
    fast_uninterrupted: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Killed after epoch 2's weights are on disk but before state.json says so: the resume starts from epoch 1's pair."""
    import kagglekit.training.train as training

    real_write_json = training.write_json

    def killed_before_the_second_state(path: Path, payload: dict) -> None:
        if path.name == training.STATE_JSON and payload["epoch"] == 2:
            raise KeyboardInterrupt  # what SIGKILL at that instant leaves: new weights, the old state.json
        real_write_json(path, payload)

    monkeypatch.setattr(training, "write_json", killed_before_the_second_state)
    with pytest.raises(KeyboardInterrupt):
        train("fast", FAST_SHORT, prepared, tmp_path, log=lambda line: None)
    monkeypatch.undo()
    (run_dir,) = tmp_path.iterdir()
    assert json.loads((run_dir / "state" / "state.json").read_text())["epoch"] == 1
    assert (run_dir / "state" / "epoch-2.weights.h5").is_file()  # written, but named by no state.json

    lines: list[str] = []
    assert train("fast", FAST_SHORT, prepared, tmp_path, log=lines.append) == run_dir
    assert any(line.startswith("resuming from epoch 2") for line in lines)
    assert_same_training(run_dir, fast_uninterrupted)
    assert sorted(p.name for p in (run_dir / "state").iterdir()) == [
        "epoch-2.lookahead.npz",
        "epoch-2.weights.h5",
        "state.json",
    ]
