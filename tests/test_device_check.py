"""bench/device_check.sh's commands, run on this CPU: data built, the real CLI trains, evaluates and predicts on JAX."""

from __future__ import annotations

import os
import subprocess

import pytest

from test_backends import QUIET, ROOT


@pytest.mark.slow
def test_dry_run_trains_evaluates_and_predicts_with_the_real_cli() -> None:
    env = {**os.environ, **QUIET, "MODELS": "fast"}
    result = subprocess.run(["bash", "bench/device_check.sh", "dry-run"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    results = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    assert len(results) == 2 and all("| 1 epochs |" in line and "val acc" in line for line in results), results
    assert "### speed: fast on 400 random-pixel images" in result.stdout
    assert "### accuracy: fast on the real subset" in result.stdout
    assert result.stdout.count("submission.csv") >= 2  # predict wrote and validated a CSV for each run
