"""TensorFlow's C++ start-up chatter is dropped from stderr; everything else passes, unless the user asks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kagglekit.training.tf_noise import is_noise, strip_noise

ROOT = Path(__file__).resolve().parents[1]
# What `import tensorflow` and a device query printed on this project's CPU machine (TF 2.21).
RECORDED = (Path(__file__).parent / "fixtures" / "tensorflow_startup_stderr.txt").read_text()
# The older TensorFlow line format, as Kaggle's GPU image prints the cuDNN/cuFFT/cuBLAS registration clash.
OLDER_FORMAT = (
    "2024-01-10 12:00:00.000000: E external/local_xla/xla/stream_executor/cuda/cuda_dnn.cc:9261] "
    "Unable to register cuDNN factory: Attempting to register factory for plugin cuDNN when one has already been registered\n"
)
REAL_LINES = (
    "kagglekit train: error: no run matches 'x'\n",
    "E0000 00:00:1795709278.113141    6763 conv_ops.cc:52] OOM when allocating tensor\n",
)

WRITER = """
import os, sys
from kagglekit.training.tf_noise import filtered_stderr
with filtered_stderr():
    os.write(2, sys.stdin.buffer.read())   # as C++ writes: straight to file descriptor 2
    print("python line", file=sys.stderr)
    os.write(2, b"12%|##   \\r13%|##   \\r")  # a progress bar's carriage returns survive
print("after", file=sys.stderr)
"""


def _through_filter(text: str, **env: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", WRITER],
        input=text.encode(),
        capture_output=True,
        check=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        timeout=60,
    )
    return result.stderr.decode()


def test_every_recorded_startup_line_is_noise() -> None:
    assert all(is_noise(line) for line in RECORDED.splitlines() if line)
    assert is_noise(OLDER_FORMAT)
    assert not any(is_noise(line) for line in REAL_LINES)


def test_the_filter_drops_the_chatter_and_keeps_everything_else() -> None:
    stderr = _through_filter(RECORDED + OLDER_FORMAT + "".join(REAL_LINES))
    assert stderr == "".join(REAL_LINES) + "python line\n12%|##   \r13%|##   \rafter\n"


def test_a_noise_line_after_an_unended_progress_bar_is_dropped_and_the_bar_kept() -> None:
    cuinit = RECORDED.splitlines(keepends=True)[-1]
    assert strip_noise("predict: 0%|   | 0/40" + cuinit) == "predict: 0%|   | 0/40"
    assert strip_noise("predict: 0%|   | 0/40\n") == "predict: 0%|   | 0/40\n"


@pytest.mark.parametrize("value", ["1", "yes"])
def test_kagglekit_tf_logs_shows_everything(value: str) -> None:
    stderr = _through_filter(RECORDED, KAGGLEKIT_TF_LOGS=value)
    assert stderr.startswith(RECORDED)
