"""bench/device_check.sh's commands, run on this CPU: the split carried in two parts, the real CLI training on JAX."""

from __future__ import annotations

import os
import subprocess

import pytest
from test_backends import QUIET, ROOT


@pytest.mark.slow
def test_dry_run_joins_the_parts_and_trains_each_listed_run() -> None:
    env = {**os.environ, **QUIET, "RUNS": "fast:1:0:auto fast:1:1:float32"}
    result = subprocess.run(
        ["bash", "bench/device_check.sh", "dry-run"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "built " in result.stdout and "270 train / 30 valid" in result.stdout  # both parts joined: every image
    summary = result.stdout.split("### results", 1)[1]
    results = [line for line in summary.splitlines() if line.startswith("RESULT ")]
    assert len(results) == 2 and all("| 1 epochs |" in line and "val acc" in line for line in results), results
    assert "| seed 1 | float32: float32 |" in results[1]
