"""Keras on TensorFlow and on JAX: one product.

Each backend runs in its own interpreter (Keras picks its backend once, at
import), through the real CLI or ``backend_checks.py``: training, evaluation
and the model-running part of prediction on both, a run trained on one
predicting the same on the other, and mixed_bfloat16. The data stages never
import a framework at all.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from kagglekit.paths import CompetitionPaths
from kagglekit.training.backend import Machine, choose

ROOT = Path(__file__).resolve().parent.parent
CHECKS = Path(__file__).resolve().parent / "backend_checks.py"
BACKENDS = ("tensorflow", "jax")
QUIET = {"TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONWARNINGS": "ignore"}


def run_python(
    args: list[str], backend: str | None, extra: dict[str, str] | None = None, timeout: int = 600
) -> subprocess.CompletedProcess:
    """``python ARGS`` with KERAS_BACKEND=backend (unset: kagglekit chooses); fails the test with its output if it fails."""
    env = {key: value for key, value in os.environ.items() if key != "KERAS_BACKEND"}
    env.update(QUIET, **(extra or {}))
    if backend:
        env["KERAS_BACKEND"] = backend
    result = subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{args} on {backend} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def check(name: str, backend: str, *args: str, extra: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return run_python([str(CHECKS), name, *args], backend, extra)


# ---------------------------------------------------------------- choosing a backend


def test_keras_backend_decides_then_a_tpu_machine_picks_jax(tmp_path: Path) -> None:
    assert choose(Machine({"KERAS_BACKEND": "jax"}, tmp_path)) == ("jax", "KERAS_BACKEND")
    assert choose(Machine({}, tmp_path))[0] == "tensorflow"  # installed here: the default
    backend, why = choose(Machine({"ISTPUVM": "1"}, tmp_path))
    assert backend == "jax" and "ISTPUVM=1" in why
    (tmp_path / "vfio").mkdir()
    (tmp_path / "vfio" / "vfio").touch()  # the control file of any vfio host: not a TPU
    assert choose(Machine({}, tmp_path))[0] == "tensorflow"
    (tmp_path / "vfio" / "0").touch()  # a TPU chip's group, as on Kaggle's v5e-8
    assert choose(Machine({}, tmp_path))[0] == "jax"


def test_data_stages_never_import_a_framework(kaggle_server, tmp_path: Path) -> None:
    """fetch, unpack, folders, compare and submit run (or refuse) without TensorFlow, Keras or JAX."""
    code = f"""
import sys
from kagglekit.cli import main
data = {str(tmp_path / "data")!r}
for stage in ("fetch", "unpack", "folders"):
    assert main([stage, "--data-dir", data]) == 0, stage
main(["compare", "--data-dir", data, "--submissions-dir", {str(tmp_path / "subs")!r}])
main(["submit", "fast", "--data-dir", data, "--submissions-dir", {str(tmp_path / "subs")!r}])
print(sorted(name for name in ("tensorflow", "keras", "jax") if name in sys.modules))
"""
    result = run_python(["-c", code], None)
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_the_cli_parser_builds_without_the_kaggle_client() -> None:
    """A GPU machine or a notebook may lack kaggle/kagglesdk: train, evaluate and predict still parse and start."""
    code = """
import sys
sys.modules["kaggle"] = sys.modules["kagglesdk"] = None  # importing either now fails
from kagglekit.cli import build_parser
print(build_parser().parse_args(["train", "--model", "fast", "--precision", "float32"]).precision)
"""
    result = run_python(["-c", code], None)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "float32"


# ---------------------------------------------------------------- the training set on the device


def device_epochs(
    images: np.ndarray, epochs: int, first_epoch: int = 0, seed: int = 5, multiple: int = 1
) -> list[list]:
    """Each epoch's batches as DeviceImages gathers them from index_batches' rows: [(images, labels)]."""
    from keras import ops

    from kagglekit.training.device_data import DeviceImages, index_batches, mirrored_first

    layer = DeviceImages(images, mirrored_first(len(images), seed))
    feed = index_batches(len(images), np.arange(len(images)), 16, seed, first_epoch, multiple)
    out = []
    for _ in range(first_epoch, epochs):
        out.append(
            [(ops.convert_to_numpy(layer(rows)), labels) for rows, labels in (feed[s] for s in range(len(feed)))]
        )
        feed.on_epoch_end()
    return out


def test_device_images_resume_identically_and_alternate_flips() -> None:
    images = np.random.default_rng(3).integers(1, 256, (40, 8, 8, 3)).astype(np.uint8)
    images[:, :, 0] = 0  # left column dark, so a mirrored image shows it on the right
    full = device_epochs(images, 4)
    for (batch, labels), (again, again_labels) in zip(full[1], device_epochs(images, 4, first_epoch=1)[0]):
        np.testing.assert_array_equal(batch, again)
        np.testing.assert_array_equal(labels, again_labels)
    seen = []
    for epoch in full:
        assert sorted(np.concatenate([labels for _, labels in epoch])) == list(range(40))
        mirrored = np.zeros(40, bool)
        for batch, labels in epoch:
            mirrored[labels] = (batch[:, :, -1] == 0).all(axis=(1, 2))
            unmirrored = np.where(mirrored[labels][:, None, None, None], batch[:, :, ::-1], batch)
            np.testing.assert_array_equal(unmirrored, images[labels])  # gathered, not altered
        seen.append(mirrored)
    assert 10 < seen[0].sum() < 30  # a random half first
    assert (seen[0] != seen[1]).all() and (seen[0] == seen[2]).all() and (seen[1] == seen[3]).all()


def test_device_batches_split_evenly_over_devices() -> None:
    images = np.zeros((40, 4, 4, 3), np.uint8)
    (epoch,) = device_epochs(images, 1, multiple=3)
    assert [len(labels) for _, labels in epoch] == [15, 15, 6]  # 16, 16, 8 cut to multiples of 3


def test_device_images_stay_out_of_saved_weights(tmp_path: Path) -> None:
    import keras

    from kagglekit.training.device_data import DeviceImages

    inputs = keras.Input((2,), dtype="int32")
    images = DeviceImages(np.ones((1000, 32, 32, 3), np.uint8))(inputs)
    outputs = keras.layers.Dense(1)(keras.layers.Flatten()(keras.ops.cast(images, "float32")))
    model = keras.Model(inputs, outputs)
    model.save_weights(tmp_path / "state.weights.h5")
    assert (tmp_path / "state.weights.h5").stat().st_size < 3_000_000 / 10  # the images alone are 3 MB
    model.load_weights(tmp_path / "state.weights.h5")


# ---------------------------------------------------------------- both backends


@pytest.mark.parametrize("backend", BACKENDS)
def test_augmentation_is_exact_on_each_backend(backend: str) -> None:
    check("augmentation", backend)


def test_lookahead_and_frozen_layers_inside_the_jax_step_match_the_callbacks() -> None:
    check("in_step_weights", "jax")


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_fast_trains_in_mixed_bfloat16_on_each_backend(backend: str) -> None:
    check("bfloat16", backend)


@pytest.fixture(scope="module")
def runs_by_backend(prepared: CompetitionPaths, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """fast (tiny), one epoch, trained through the CLI on each backend on the same data (the real stages' output)."""
    root, paths = tmp_path_factory.mktemp("backends"), prepared
    trained = {}
    for backend in BACKENDS:
        runs_dir = root / f"runs-{backend}"
        run_python(
            [
                "-m",
                "kagglekit",
                "train",
                "--model",
                "fast",
                "--epochs",
                "1",
                "--batch-size",
                "32",
                "--limit",
                "40",
                "--set",
                "widths=[8,16,16]",
                "--set",
                "tta=none",
                "--data-dir",
                str(paths.data_dir),
                "--runs-dir",
                str(runs_dir),
            ],
            backend,
        )
        (trained[backend],) = runs_dir.iterdir()
    return trained


@pytest.mark.slow
def test_both_backends_train_the_same_version_into_the_same_kind_of_run(runs_by_backend: dict[str, Path]) -> None:
    configs = {b: json.loads((run / "config.json").read_text()) for b, run in runs_by_backend.items()}
    assert configs["tensorflow"]["version_id"] == configs["jax"]["version_id"]
    for backend, run in runs_by_backend.items():
        assert configs[backend]["backend"].startswith(backend + " ")
        assert configs[backend]["device"]["backend"] == backend
        metrics = json.loads((run / "metrics.json").read_text())
        assert metrics["recomputed_val_accuracy"] == pytest.approx(metrics["best_val_accuracy"], abs=1e-6)
        assert {"best.keras", "history.csv", "confusion.png"} <= {p.name for p in run.iterdir()}


@pytest.mark.slow
def test_a_run_trained_on_one_backend_predicts_the_same_on_the_other(
    runs_by_backend: dict[str, Path], tmp_path: Path
) -> None:
    runs = [str(runs_by_backend[b]) for b in BACKENDS]
    for backend in BACKENDS:
        check("probabilities", backend, str(tmp_path), *runs)
    for index in range(len(runs)):
        for tta in ("none", "flip-translate"):
            on_tf, on_jax = (np.load(tmp_path / f"run{index}-{tta}-{b}.npy") for b in BACKENDS)
            assert on_tf.shape == (40, 10)
            np.testing.assert_allclose(on_tf, on_jax, atol=2e-5)


@pytest.mark.slow
def test_evaluate_reads_a_jax_run_on_tensorflow(runs_by_backend: dict[str, Path]) -> None:
    result = run_python(
        ["-m", "kagglekit", "evaluate", str(runs_by_backend["jax"]), "--precision", "float32"], "tensorflow"
    )
    recorded = json.loads((runs_by_backend["jax"] / "metrics.json").read_text())["best_val_accuracy"]
    assert f"validation accuracy {recorded:.4f} on 40 images" in result.stdout
