"""What a pushed kernel runs on Kaggle: the pipeline up to predict, then one tar of the run.

The kernel has the competition mounted, no Kaggle credentials, and bills the
user's weekly accelerator quota from its first second. So it first checks that
it got the accelerator it asked for (Kaggle has handed out a P100 for a T4 and
a CPU image for a TPU) and stops at once if not, rather than train for hours on
the wrong device. Scratch data goes to /kaggle/temp; /kaggle/working, the
notebook's output, gets only three files: the device report, the submission CSV
and ``kagglekit-run.tar.gz`` (runs/RUN/ and submissions/VERSION/), because
output listings stop at 500 files.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any, Callable

from kagglekit.chain import Chain, run_chain, stages
from kagglekit.jsonfiles import read_json, write_json
from kagglekit.paths import kaggle_temp, kaggle_working
from kagglekit.submissions.formats import PREDICTION
from kagglekit.training.backend import Machine
from kagglekit.training.recipes import RecipeChoice
from kagglekit.training.runs import METRICS

DEVICE_REPORT = "kagglekit-device.json"
RUN_ARCHIVE = "kagglekit-run.tar.gz"
# What each machine shape kagglekit asks for must show up as.
EXPECTED_KIND = {"NvidiaTeslaT4": "GPU", "NvidiaTeslaP100": "GPU", "TpuV5E8": "TPU", None: "CPU"}
EXPECTED_NAME = {"NvidiaTeslaT4": "T4", "NvidiaTeslaP100": "P100", "TpuV5E8": "TPU"}
EXPECTED_COUNT = {"NvidiaTeslaT4": 2}  # Kaggle's "GPU T4 x2"


def probe_device() -> dict[str, Any]:
    """The accelerator this session really has, from the machine rather than from any framework."""
    gpus = _nvidia_gpus()
    if gpus:
        return {"kind": "GPU", "name": f"{len(gpus)}x {gpus[0]}" if len(gpus) > 1 else gpus[0], "count": len(gpus)}
    if Machine().tpu_signs():
        return {"kind": "TPU", "name": f"TPU {os.environ.get('TPU_ACCELERATOR_TYPE', '')}".strip(), "count": 1}
    return {"kind": "CPU", "name": f"CPU ({os.cpu_count()} cores, {platform.machine()})", "count": 1}


def _nvidia_gpus() -> list[str]:
    if shutil.which("nvidia-smi") is None:
        return []
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"], capture_output=True, text=True, timeout=30
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [line.strip() for line in out.splitlines() if line.strip()]


def device_mismatch(requested: str | None, device: dict[str, Any]) -> str | None:
    """Why ``device`` is not what ``requested`` (a Kaggle machine shape, None for CPU) asked for."""
    kind, name = EXPECTED_KIND.get(requested), EXPECTED_NAME.get(requested or "")
    if kind is None:
        return None  # a shape kagglekit has no expectation for: nothing to check against
    count = EXPECTED_COUNT.get(requested or "")
    if (
        device.get("kind") != kind
        or (name and name not in str(device.get("name")))
        or (count and device.get("count", count) != count)
    ):
        return f"asked Kaggle for {requested or 'no accelerator'} but the kernel ran on {device.get('name')}"
    return None


def main(spec: dict[str, Any], run_stage: Callable[[list[str]], int]) -> int:
    """Run fetch -> predict for ``spec`` (written by kagglekit.remote.kernels), each stage as ``run_stage(argv)``
    (the CLI's ``main``, handed in by the pushed script); 0 when the run archive is written."""
    working, temp = kaggle_working(), kaggle_temp()
    device = probe_device()
    report = {
        "token": spec["token"],
        "requested": spec["machine_shape"],
        "device": device,
        "python": platform.python_version(),
    }
    write_json(working / DEVICE_REPORT, report)
    problem = device_mismatch(spec["machine_shape"], device)
    if problem:
        print(f"kagglekit: {problem}; stopping before training so no quota is spent on it", file=sys.stderr)
        return 3
    install_missing()
    chain = kernel_chain(spec, temp)
    code = run_chain(chain, stages("local", "predict"), run_stage)
    return code or archive_run(chain.submissions_dir, working, report)


def install_missing() -> None:
    """Kaggle's image has everything kagglekit imports but py7zr; the kernel has internet to get it."""
    try:
        import py7zr  # noqa: F401
    except ImportError:
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "py7zr>=1.1.3,<2"], check=False)


def kernel_chain(spec: dict[str, Any], temp: Path) -> Chain:
    """fetch -> predict in the kernel's scratch space, with the recipe remote was given (typed overrides as JSON),
    so predict takes the run train made."""
    recipe = RecipeChoice(spec["model"], spec["overrides"], bool(spec.get("all_data"))).flags()
    return Chain(
        ["--competition", spec["competition"], "--data-dir", str(temp / "data")],
        recipe,
        temp / "runs",
        temp / "submissions",
        spec.get("tta"),
    )


def archive_run(subs: Path, working: Path, report: dict[str, Any]) -> int:
    """One tar of the run folder and the prediction, written under a temporary name and renamed."""
    predictions = sorted(subs.glob(f"*/{PREDICTION}"), key=lambda p: p.stat().st_mtime)
    prediction = read_json(predictions[-1])
    run_dir = Path(prediction["run_dir"])
    report["version_id"] = prediction["version_id"]
    report["run"] = run_dir.name
    metrics = read_json(run_dir / METRICS)
    report["trained_on"] = {
        "kind": metrics.get("device_kind"),
        "name": metrics.get("device"),
        "count": metrics.get("replicas"),
    }
    write_json(working / DEVICE_REPORT, report)
    partial = working / (RUN_ARCHIVE + ".partial")
    with tarfile.open(partial, "w:gz") as tar:
        tar.add(run_dir, arcname=f"runs/{run_dir.name}")
        tar.add(predictions[-1].parent, arcname=f"submissions/{prediction['version_id']}")
    os.replace(partial, working / RUN_ARCHIVE)
    print(f"kagglekit: wrote {working / RUN_ARCHIVE} ({report['version_id']}, trained on {report['trained_on']})")
    return 0
