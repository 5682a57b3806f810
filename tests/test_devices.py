"""Every accelerator or a clear refusal, never a silent CPU; and several devices train as one.

Accelerators are simulated where they show: environment variables and device
files under a ``Machine``'s ``dev`` directory (a temporary folder here). The
multi-device runs use the CPU split in two, before the framework starts:
TensorFlow's logical devices, XLA's forced host device count for JAX.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from test_backends import BACKENDS, ROOT, check

from kagglekit.exceptions import HardwareError
from kagglekit.paths import CompetitionPaths
from kagglekit.training import devices
from kagglekit.training.backend import Machine


def kaggle_tpu_dev(root: Path) -> Path:
    """/dev as on Kaggle's TPU v5e-8: eight vfio groups, no /dev/accel*."""
    for chip in range(8):
        (root / "vfio").mkdir(parents=True, exist_ok=True)
        (root / "vfio" / str(chip)).touch()
    (root / "vfio" / "vfio").touch()
    return root


def test_tpu_signs_are_read_from_the_environment_and_dev(tmp_path: Path) -> None:
    assert Machine({}, tmp_path).tpu_signs() == []
    assert Machine({"ISTPUVM": "1", "TPU_PROCESS_ADDRESSES": "local"}, tmp_path).tpu_signs() == [
        "ISTPUVM=1",
        "TPU_PROCESS_ADDRESSES=local",
    ]
    assert Machine({}, kaggle_tpu_dev(tmp_path)).tpu_signs() == [f"{tmp_path}/vfio/N"]
    (tmp_path / "accel0").touch()
    assert f"{tmp_path}/accel*" in Machine({}, tmp_path).tpu_signs()


def test_tensorflow_on_a_tpu_machine_refuses_and_names_jax(tmp_path: Path) -> None:
    with pytest.raises(HardwareError, match=r"TPU machine \(.*vfio/N\).*KERAS_BACKEND=jax"):
        devices.detect(machine=Machine({}, kaggle_tpu_dev(tmp_path)))


def test_an_unusable_gpu_is_named_not_skipped(tmp_path: Path) -> None:
    (tmp_path / "nvidia0").touch()
    (tmp_path / "nvidiactl").touch()
    with pytest.raises(HardwareError, match=r"accelerator \(.*nvidia0\).*sees only the CPU.*KAGGLEKIT_ALLOW_CPU=1"):
        devices.detect(machine=Machine({}, tmp_path))
    hardware = devices.detect(machine=Machine({"KAGGLEKIT_ALLOW_CPU": "1"}, tmp_path))
    assert hardware.kind == "CPU" and hardware.replicas == 1


def test_this_cpu_trains_on_one_device_with_xla_only_in_float32_and_where_it_pays(tmp_path: Path) -> None:
    hardware = devices.detect("float32", machine=Machine({}, tmp_path))
    assert (hardware.kind, hardware.replicas, hardware.backend, hardware.jit_compile) == ("CPU", 1, "tensorflow", True)
    assert hardware.distribution is None and hardware.mixed_precision == "float32"
    assert devices.detect("float32", Machine({}, tmp_path), cpu_xla=False).jit_compile is False  # airbench's versions
    bf16 = devices.detect("bfloat16", Machine({}, tmp_path))
    assert (bf16.mixed_precision, bf16.jit_compile, bf16.precision_reason) == (
        "mixed_bfloat16",
        False,
        "--precision bfloat16",
    )


def test_jax_on_a_kaggle_tpu_runs_data_parallel_over_all_chips_in_bfloat16() -> None:
    check("tpu_path", "jax", extra={"XLA_FLAGS": "--xla_force_host_platform_device_count=8"})


def cli_train(
    paths: CompetitionPaths, tmp_path: Path, env: dict[str, str], backend: str | None
) -> subprocess.CompletedProcess:
    """`kagglekit train` on a TPU-shaped environment; returns the finished process, whatever its exit code."""
    full_env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    full_env.update(env, TF_CPP_MIN_LOG_LEVEL="3")
    if backend:
        full_env["KERAS_BACKEND"] = backend
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "kagglekit",
            "train",
            "--model",
            "fast",
            "--epochs",
            "1",
            "--data-dir",
            str(paths.data_dir),
            "--runs-dir",
            str(tmp_path / "runs"),
        ],
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=300,
    )


KAGGLE_TPU_ENV = {"ISTPUVM": "1", "TPU_PROCESS_ADDRESSES": "local"}


@pytest.mark.parametrize("backend", [None, "jax", "tensorflow"])
def test_a_kaggle_tpu_environment_takes_the_jax_tpu_path_or_refuses_in_one_line(
    prepared: CompetitionPaths, tmp_path: Path, backend: str | None
) -> None:
    """Unset: kagglekit picks JAX, which here sees no TPU, so it says so; TensorFlow is refused; never a CPU run."""
    result = cli_train(prepared, tmp_path, KAGGLE_TPU_ENV, backend)
    assert result.returncode == 1, result.stdout + result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("kagglekit train: error: this is a TPU machine (ISTPUVM=1, TPU_PROCESS_ADDRESSES=local)")
    assert ("KERAS_BACKEND=jax" if backend == "tensorflow" else "jax[tpu]") in last
    assert "Traceback" not in result.stderr and not (tmp_path / "runs").exists()


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_two_replicas_train_the_same_model_as_one(backend: str, prepared: CompetitionPaths, tmp_path: Path) -> None:
    """The same global batch split over 2 CPU devices (DataParallel on JAX, MirroredStrategy on TF) as on 1."""
    paths = prepared
    for replicas in (1, 2):
        extra = {"XLA_FLAGS": f"--xla_force_host_platform_device_count={replicas}"}
        result = check(
            "train_tiny",
            backend,
            str(paths.data_dir),
            str(tmp_path / f"runs{replicas}"),
            str(replicas),
            str(tmp_path),
            extra=extra,
        )
        assert f"{replicas} replica" in result.stdout
    one, two = (np.load(tmp_path / f"replicas{n}-{backend}.npy") for n in (1, 2))
    assert one.shape == (40, 10)
    np.testing.assert_allclose(one, two, atol=5e-3)
