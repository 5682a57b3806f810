"""A JAX run killed mid-training, resumed by rerunning its command, ends bit for bit where an uninterrupted run does (CPU).

On JAX the whole step runs compiled, with state that lives in the step:
the augmentation's random generator, airbench's lookahead copy, the frozen
whitening bias, the optimizer's step count. A resume point that left out any of
them (before issue 20, the random generators' states) resumes to another run.
The uninterrupted and the killed run train in one process, which a real
SIGKILL ends after epoch 2's resume point is on disk; the real
``python -m kagglekit train`` command resumes it in another.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
from test_backends import CHECKS, QUIET, ROOT, run_python

from kagglekit.paths import CompetitionPaths

# 64 images in batches of 16, 4 steps an epoch: the whitening bias is held from step 4, lookahead first pulls at
# step 5, the kill comes after step 8, and epoch 3 draws its translations from the restored random generator.
FAST = {"epochs": 3, "batch_size": 16, "limit": 64, "widths": [8, 16, 16], "tta": "none", "freeze_after": {"whiten": 1}}
KILL_AFTER = 2


def resume_point(run_dir: Path) -> dict[str, np.ndarray]:
    """Every array of the run's last resume point (weights, optimizer, lookahead copy, held bias; random generators)."""
    state = json.loads((run_dir / "state" / "state.json").read_text())
    arrays: dict[str, np.ndarray] = {}
    with h5py.File(run_dir / "state" / state["weights_file"]) as weights:
        weights.visititems(
            lambda name, item: arrays.__setitem__(name, item[()]) if isinstance(item, h5py.Dataset) else None
        )
    with np.load(run_dir / "state" / state["random_file"]) as generators:
        arrays.update({f"random/{name}": generators[name] for name in generators.files})
    return arrays


@pytest.mark.slow
def test_a_killed_jax_run_resumes_bit_for_bit(prepared: CompetitionPaths, tmp_path: Path) -> None:
    uninterrupted, killed = tmp_path / "uninterrupted", tmp_path / "killed"
    env = {**os.environ, **QUIET, "KERAS_BACKEND": "jax"}
    first = subprocess.run(
        [
            sys.executable,
            str(CHECKS),
            "trained_then_killed",
            str(prepared.data_dir),
            str(uninterrupted),
            str(killed),
            "fast",
            json.dumps(FAST),
            str(KILL_AFTER),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert first.returncode == -signal.SIGKILL, f"{first.stdout[-3000:]}\n{first.stderr[-3000:]}"
    (killed_run,) = killed.iterdir()
    assert json.loads((killed_run / "state" / "state.json").read_text())["epoch"] == KILL_AFTER
    assert not (killed_run / "metrics.json").exists()

    settings = [arg for key in ("widths", "tta", "freeze_after") for arg in ("--set", f"{key}={json.dumps(FAST[key])}")]
    again = run_python(
        [
            "-m",
            "kagglekit",
            "train",
            "--model",
            "fast",
            "--epochs",
            "3",
            "--batch-size",
            "16",
            "--limit",
            "64",
            *settings,
            "--data-dir",
            str(prepared.data_dir),
            "--runs-dir",
            str(killed),
        ],
        "jax",
    )
    assert f"resuming from epoch {KILL_AFTER + 1}" in again.stdout and len(list(killed.iterdir())) == 1

    (uninterrupted_run,) = uninterrupted.iterdir()
    theirs, mine = resume_point(uninterrupted_run), resume_point(killed_run)
    assert sorted(mine) == sorted(theirs) and any(name.startswith("random/") for name in mine)
    for name in theirs:  # bit for bit: the same arithmetic on the same CPU, in the same order
        np.testing.assert_array_equal(mine[name], theirs[name], err_msg=name)
    columns = ["epoch", "loss", "accuracy", "val_loss", "val_accuracy"]
    pd.testing.assert_frame_equal(
        pd.read_csv(killed_run / "history.csv")[columns],
        pd.read_csv(uninterrupted_run / "history.csv")[columns],
        check_exact=True,
    )
    metrics = [json.loads((run / "metrics.json").read_text()) for run in (killed_run, uninterrupted_run)]
    assert metrics[0]["best_val_accuracy"] == metrics[1]["best_val_accuracy"]
    assert metrics[0]["recomputed_val_accuracy"] == metrics[1]["recomputed_val_accuracy"]
