"""Checks that must run in a fresh interpreter: Keras' backend, XLA's device count and TensorFlow's
logical devices are all fixed when a framework is first imported.

    KERAS_BACKEND=jax python tests/backend_checks.py CHECK [ARG ...]

Each check asserts; a failure exits non-zero with its traceback, which the
calling test shows. Results that a test compares across processes are written
as .npy files into the directory given.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

TINY = {"widths": [8, 16, 16], "tta": "none"}  # fast's recipe on a network small enough for seconds on a CPU


def augmentation() -> None:
    """Whole-pixel moves gather exactly what a resampling would; flips and cutout never blend pixels."""
    import keras
    from keras import ops

    from kagglekit.training.augment import RandomAffine, shift_pixels

    images = np.random.default_rng(2).integers(1, 256, (16, 32, 32, 3)).astype(np.float32)
    rows = np.array([2, -2, 0, 1] * 4, np.int32)
    cols = np.array([-1, 2, 2, 0] * 4, np.int32)
    zeros, ones = np.zeros(16, np.float32), np.ones(16, np.float32)
    transforms = np.stack(
        [ones, zeros, -cols.astype(np.float32), zeros, ones, -rows.astype(np.float32), zeros, zeros], 1
    )
    for mode in ("reflect", "nearest", "wrap", "constant"):
        gathered = ops.convert_to_numpy(
            shift_pixels(ops.convert_to_tensor(images), ops.convert_to_tensor(rows), ops.convert_to_tensor(cols), mode)
        )
        resampled = ops.convert_to_numpy(
            ops.image.affine_transform(
                images, transforms, interpolation="bilinear", fill_mode=mode, data_format="channels_last"
            )
        )
        np.testing.assert_array_equal(gathered, resampled, err_msg=mode)
    layer = RandomAffine(flip=True, translate=2, fill_mode="reflect", cutout=12, seed=3)
    out = ops.convert_to_numpy(layer(images, training=True))
    assert not np.array_equal(out, images)
    for original, moved in zip(images, out):
        assert set(np.unique(moved)) <= set(np.unique(original)) | {0.0}
        assert (moved.sum(axis=-1) == 0).sum() == 144  # one 12 x 12 hole
    seeds = RandomAffine(rotation=20, zoom=0.2, shift=0.2, seed=1)(images, training=True)
    assert ops.convert_to_numpy(seeds).shape == images.shape and keras.backend.backend() in ("tensorflow", "jax")


def bfloat16() -> None:
    """fast's training model (input pipeline inside, as on a TPU) builds, trains two steps and predicts in mixed_bfloat16."""
    import keras

    from kagglekit.data.pipeline import SplitData
    from kagglekit.training import devices
    from kagglekit.training.models import get_version
    from kagglekit.training.train import build_models, input_data

    rng = np.random.default_rng(0)
    data = SplitData(
        rng.integers(0, 256, (64, 32, 32, 3), dtype=np.uint8),
        rng.integers(0, 10, 64).astype(np.int32),
        rng.integers(0, 256, (16, 32, 32, 3), dtype=np.uint8),
        rng.integers(0, 10, 16).astype(np.int32),
        [str(i) for i in range(10)],
        "generated",
    )
    hardware = devices.Hardware("CPU", "test", 1, keras.backend.backend(), None, "mixed_bfloat16", True, True)
    recipe = get_version("fast").recipe({**TINY, "batch_size": 32, "epochs": 1})
    train_model, core = build_models(recipe, data, hardware, steps=2)
    train_data, valid_data = input_data(recipe, data, hardware, 32, 0)
    assert core.get_layer("whiten").compute_dtype == "bfloat16"
    assert keras.backend.standardize_dtype(core.get_layer("whiten")(data.x_valid).dtype) == "bfloat16"
    history = train_model.fit(train_data, validation_data=valid_data, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    logits = core.predict(data.x_valid.astype(np.float32), verbose=0)
    assert logits.dtype == np.float32 and np.isfinite(logits).all()


def probabilities(out: str, *run_dirs: str) -> None:
    """Each run's class probabilities on its own validation images, without and with TTA, saved for comparison."""
    import keras

    from kagglekit.data.pipeline import load_split
    from kagglekit.paths import CompetitionPaths
    from kagglekit.training import runs

    for index, run_dir in enumerate(run_dirs):
        run = runs.load_run(Path(run_dir), "float32")  # the same arithmetic on both: auto may pick bfloat16 on one
        data = load_split(CompetitionPaths(Path(run.config["data"]["root"]).parent), run.config["recipe"]["limit"])
        for tta in ("none", "flip-translate"):
            np.save(
                Path(out) / f"run{index}-{tta}-{keras.backend.backend()}.npy", run.predict_proba(data.x_valid, tta=tta)
            )


def train_tiny(data_dir: str, runs_dir: str, devices: str, out: str) -> None:
    """Train fast (tiny) for 2 epochs on ``devices`` CPU devices with a global batch of 32; save its probabilities."""
    import keras

    n = int(devices)
    if keras.backend.backend() == "tensorflow" and n > 1:
        import tensorflow as tf

        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * n)
    from kagglekit.paths import CompetitionPaths
    from kagglekit.training import runs
    from kagglekit.training.train import train

    paths = CompetitionPaths(Path(data_dir))
    # 40 train and 40 valid images: batches that split evenly over the replicas
    # float32: bfloat16 rounding (the default on CPUs with bfloat16 instructions) would hide the comparison
    run_dir = train(
        "fast",
        {**TINY, "epochs": 2, "batch_size": 32 // n, "limit": 40},
        paths,
        Path(runs_dir),
        log=print,
        precision="float32",
    )
    metrics = json.loads((run_dir / runs.METRICS).read_text())
    assert metrics["replicas"] == n, metrics
    images = np.load(paths.cache_images("train"))[:40]
    np.save(Path(out) / f"replicas{n}-{keras.backend.backend()}.npy", runs.load_run(run_dir).predict_proba(images))


def in_step_weights() -> None:
    """JAX: InStepModel's lookahead and frozen layer end where weight_callbacks' per-step callbacks do."""
    import keras

    from kagglekit.training.step_weights import InStepModel
    from kagglekit.training.weight_callbacks import FreezeAfter, Lookahead

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(16, 4)).astype(np.float32), rng.normal(size=(16, 3)).astype(np.float32)

    def trained(kind: str) -> list[np.ndarray]:
        keras.utils.set_random_seed(0)
        inputs = keras.Input((4,))
        hidden = keras.layers.BatchNormalization()(keras.layers.Dense(8, name="first")(inputs))
        model = (InStepModel if kind == "in step" else keras.Model)(inputs, keras.layers.Dense(3)(hidden))
        model.compile(keras.optimizers.SGD(0.1, momentum=0.9), "mse")
        model.optimizer.build(model.trainable_variables)
        callbacks = []
        if kind == "in step":
            model.plan(12, [(model.get_layer("first"), 2 * 2)])
        elif kind == "callbacks":
            callbacks = [Lookahead(12), FreezeAfter(model.get_layer("first"), 2)]
        model.fit(x, y, batch_size=8, epochs=6, shuffle=False, verbose=0, callbacks=callbacks)  # 2 steps an epoch
        return [keras.ops.convert_to_numpy(v) for layer in model.layers for v in layer.weights]

    in_step, callbacks, plain = trained("in step"), trained("callbacks"), trained("plain")
    for a, b in zip(in_step, callbacks):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert max(np.abs(a - b).max() for a, b in zip(in_step, plain)) > 1e-3  # they did change the training


def trained_then_killed(
    data_dir: str, uninterrupted: str, killed: str, model: str, overrides: str, kill_after: str
) -> None:
    """Train ``model`` to the end into ``uninterrupted``, then again into ``killed``, SIGKILLed after epoch ``kill_after``.

    ``overrides`` is the recipe's changes as JSON. The kill comes from a callback that runs after the Checkpointer (train's own
    callbacks come first): the process dies with epoch ``kill_after``'s resume
    point on disk and nothing flushed or cleaned up after it, as a killed run does.
    """
    import os
    import signal

    import keras

    from kagglekit.paths import CompetitionPaths
    from kagglekit.training.train import train

    paths, last = CompetitionPaths(Path(data_dir)), int(kill_after) - 1

    class Kill(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            if epoch == last:
                os.kill(os.getpid(), signal.SIGKILL)

    train(model, json.loads(overrides), paths, Path(uninterrupted), log=print)
    train(model, json.loads(overrides), paths, Path(killed), log=print, callbacks=[Kill()])
    raise AssertionError(f"not killed after epoch {kill_after}")


def tpu_path() -> None:
    """JAX on a Kaggle-TPU-shaped machine whose jax.devices() are 8 TPU chips: DataParallel over all 8, bfloat16.

    The chips are this CPU's 8 forced host devices, relabelled as TPU v5e chips (platform, device_kind).
    """
    import jax
    import keras

    from kagglekit.training import devices
    from kagglekit.training.backend import Machine

    class Chip:
        platform, device_kind = "tpu", "TPU v5 lite"

        def __init__(self, device: object) -> None:
            self.device = device

        def __getattr__(self, name: str) -> object:
            return getattr(self.device, name)

    chips = [Chip(device) for device in jax.devices()]
    machine = Machine({"ISTPUVM": "1", "TPU_PROCESS_ADDRESSES": "local"}, Path("/nonexistent"), lambda: chips)
    hardware = devices.detect(machine=machine)
    assert (hardware.kind, hardware.name, hardware.replicas) == ("TPU", "8x TPU v5 lite", 8), hardware
    assert hardware.mixed_precision == "mixed_bfloat16" and hardware.jit_compile and hardware.augment_on_device
    assert isinstance(hardware.distribution, keras.distribution.DataParallel)
    assert hardware.distribution.device_mesh.devices.shape == (8,)
    assert devices.detect("float32", machine).mixed_precision == "float32"


CHECKS = {
    "tpu_path": tpu_path,
    "in_step_weights": in_step_weights,
    "augmentation": augmentation,
    "bfloat16": bfloat16,
    "probabilities": probabilities,
    "train_tiny": train_tiny,
    "trained_then_killed": trained_then_killed,
}

if __name__ == "__main__":
    CHECKS[sys.argv[1]](*sys.argv[2:])
