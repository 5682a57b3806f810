"""The airbench versions (``fast``, ``fast-muon``, ``best``): layers, schedule and TTA, and a real training step each.

The full-size figures (`fast` 0.90 in 41 CPU minutes, `best` 0.93 on a GPU) live
in bench/RESULTS.md; here each version builds, trains a step on a small generated
set, saves, reloads and predicts, and each trick is checked to do what its
docstring says.
"""

from __future__ import annotations

import json
from pathlib import Path

import keras
import numpy as np
import pytest

from kagglekit.data.pipeline import load_split, train_dataset
from kagglekit.exceptions import UsageError
from kagglekit.training import runs
from kagglekit.training.augment import affine_batch
from kagglekit.training.models import get_version
from kagglekit.training.models.compile import Triangle
from kagglekit.training.models.layers import DiracInitializer, PatchWhitening
from kagglekit.training.train import train
from kagglekit.training.weight_callbacks import FreezeAfter, Lookahead, freezes

pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation:DeprecationWarning"
)  # inside Keras' model.save


def test_whitening_decorrelates_two_by_two_patches() -> None:
    rng = np.random.default_rng(0)
    smooth = (
        rng.integers(0, 256, (64, 9, 9, 3)).repeat(4, axis=1).repeat(4, axis=2)[:, :32, :32]
    )  # correlated neighbours
    layer = PatchWhitening()
    layer.build((None, 32, 32, 3))
    layer.adapt(smooth.astype(np.uint8))
    features = keras.ops.convert_to_numpy(layer(smooth.astype(np.float32)))[..., :12].reshape(-1, 12)
    covariance = features.T @ features / len(features)
    # eps=5e-4 regularises the near-zero directions; the strong ones come out at unit variance.
    assert np.allclose(np.diag(covariance)[:6], 1.0, atol=0.05)
    assert np.abs(covariance - np.diag(np.diag(covariance))).max() < 0.05
    assert keras.ops.convert_to_numpy(layer(smooth[:1].astype(np.float32))).shape == (1, 31, 31, 24)


def test_whitening_at_stride_two_tiles_the_image_and_loses_nothing() -> None:
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (16, 8, 8, 3)).astype(np.uint8)
    layer = PatchWhitening(stride=2)
    layer.build((None, 8, 8, 3))
    layer.adapt(images)
    features = keras.ops.convert_to_numpy(layer(images.astype(np.float32)))
    assert features.shape == (16, 4, 4, 24) and layer.compute_output_shape((None, 8, 8, 3)) == (None, 4, 4, 24)
    # Each output pixel is one 2x2 patch's 12 values through an invertible map: the patch comes back.
    kernel = keras.ops.convert_to_numpy(layer.kernel).reshape(12, 24)[:, :12]
    bias = keras.ops.convert_to_numpy(layer.bias)[:12]
    mean, std = (keras.ops.convert_to_numpy(w) for w in (layer.mean, layer.std))
    patch = ((images[0, 2:4, 4:6].astype(np.float64) / 255 - mean) / std).reshape(12)
    recovered = np.linalg.solve(kernel.T.astype(np.float64), features[0, 1, 2, :12] - bias)
    assert np.allclose(recovered, patch, atol=1e-3)
    assert PatchWhitening.from_config(layer.get_config()).stride == 2


def test_photos_big_reads_128_pixel_photographs_as_a_64_pixel_map_of_patches() -> None:
    from kagglekit.training.models.airbench import airbench_architecture

    recipe = get_version("photos-big").recipe()
    assert recipe["image_size"] == [128, 128] and recipe["whiten_stride"] == 2 and recipe["residual"]
    model = airbench_architecture(recipe, (128, 128, 3), 2)
    whitening = next(layer for layer in model.layers if isinstance(layer, PatchWhitening))
    assert whitening.compute_output_shape((None, 128, 128, 3))[1:3] == (64, 64)
    assert model.output_shape == (None, 2)


def test_dirac_initializer_starts_a_convolution_as_the_identity() -> None:
    conv = keras.layers.Conv2D(8, 3, padding="same", use_bias=False, kernel_initializer=DiracInitializer(seed=1))
    x = np.random.default_rng(1).normal(size=(2, 6, 6, 3)).astype(np.float32)
    y = keras.ops.convert_to_numpy(conv(x))
    np.testing.assert_allclose(y[..., :3], x, atol=1e-6)
    assert np.abs(y[..., 3:]).max() > 0  # the other filters are ordinary random ones


def test_triangle_schedule_rises_to_the_peak_then_falls() -> None:
    schedule = Triangle(1.5, total_steps=100)
    values = [float(schedule(step)) for step in (0, 23, 100, 500)]
    assert values == pytest.approx([0.3, 1.5, 1.5 * 0.07, 1.5 * 0.07])
    assert Triangle.from_config(schedule.get_config()).get_config() == schedule.get_config()


def test_whole_pixel_translation_and_cutout_never_blend_pixels() -> None:
    images = np.random.default_rng(2).integers(1, 256, (16, 32, 32, 3)).astype(np.float32)
    out = keras.ops.convert_to_numpy(
        affine_batch(images, np.array([3, 4]), flip=True, translate=2, fill_mode="reflect", cutout=12)
    )
    for original, moved in zip(images, out):
        assert set(np.unique(moved)) <= set(np.unique(original)) | {0.0}
        assert (moved.sum(axis=-1) == 0).sum() == 144  # one 12 x 12 hole


def test_lookahead_moves_the_weights_to_the_slow_average() -> None:
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, use_bias=False, kernel_initializer="zeros")])
    lookahead = Lookahead(total_steps=10)
    lookahead.set_model(model)
    lookahead.on_train_begin()
    model.layers[0].kernel.assign(np.ones((2, 1), np.float32))
    lookahead.step_towards(0.25)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(model.layers[0].kernel), 0.75)
    model.layers[0].kernel.assign(np.full((2, 1), 2.0, np.float32))
    lookahead.step_towards(1.0)  # the end of training: the slow copy wins outright
    np.testing.assert_allclose(keras.ops.convert_to_numpy(model.layers[0].kernel), 0.75)


def test_alternating_flip_mirrors_each_image_in_exactly_one_of_two_epochs() -> None:
    images = np.random.default_rng(3).integers(0, 256, (40, 8, 8, 3)).astype(np.uint8)
    images[:, :, 0] = 0  # left column dark, so a mirrored image shows it on the right
    seen = {}
    for epoch, (batch, label) in enumerate(
        train_dataset(images, np.arange(40), 40, seed=5, first_epoch=0, epochs=4, alternating_flip=True)
    ):
        batch, label = batch.numpy(), label.numpy()
        seen[epoch] = np.zeros(40, bool)
        seen[epoch][label] = (batch[:, :, -1] == 0).all(axis=(1, 2))
    assert 10 < seen[0].sum() < 30  # a random half first
    assert (seen[0] != seen[1]).all() and (seen[0] == seen[2]).all() and (seen[1] == seen[3]).all()


def test_flip_setting_must_be_a_known_mode() -> None:
    from kagglekit.training.augment import flip_mode

    assert [flip_mode({"flip": f}) for f in (True, False, "alternating")] == ["random", "none", "alternating"]
    with pytest.raises(UsageError, match="flip must be"):
        flip_mode({"flip": "sometimes"})


def test_freeze_after_holds_a_layer_still_from_its_epoch_on() -> None:
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, name="d")])
    freeze = FreezeAfter(model.get_layer("d"), epochs=2)
    kernel = model.get_layer("d").kernel
    start = keras.ops.convert_to_numpy(kernel).copy()
    for epoch in range(4):
        freeze.on_epoch_begin(epoch)
        kernel.assign(kernel.numpy() + 1.0)  # a training step
        freeze.on_train_batch_end(0)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(kernel), start + 2.0)  # epochs 0 and 1 moved it; 2 and 3 not
    with pytest.raises(UsageError, match="freeze_after names no layer of .*: whiten"):
        freezes({"freeze_after": {"whiten": 3}}, model)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["fast", "fast-muon", "best"])
def test_version_trains_saves_reloads_and_predicts(name: str, prepared, tmp_path: Path) -> None:
    run_dir = train(name, {"epochs": 1, "batch_size": 16, "limit": 48}, prepared, tmp_path, log=lambda line: None)
    metrics = json.loads((run_dir / runs.METRICS).read_text())
    run = runs.load_run(run_dir)
    valid = load_split(prepared, 48)  # the validation images training scored, TTA'd as the recipe says
    with_tta = run.predict_proba(valid.x_valid, tta="flip-translate").argmax(axis=1)
    assert metrics["tta"] == "flip-translate"
    assert metrics["val_accuracy_tta"] == pytest.approx(float((with_tta == valid.y_valid).mean()))
    version = get_version(name)
    adapted = version.architecture(run.config["recipe"], (32, 32, 3), 10)
    version.prepare(adapted, valid.x_train, 0)  # the filters training set from its images: saved and reloaded
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(run.model.get_layer("whiten").kernel),
        keras.ops.convert_to_numpy(adapted.get_layer("whiten").kernel),
        rtol=1e-5,
        atol=1e-5,
    )
    images = np.load(prepared.cache_images("train"))[:11]
    probabilities = run.predict_proba(images, tta=run.tta, batch_size=4)
    assert probabilities.shape == (11, 10) and np.allclose(probabilities.sum(axis=1), 1, atol=1e-4)
    # flip-translate = the softmax of the weighted mean of six views' logits.
    logits = keras.ops.convert_to_numpy(run.model.predict(images.astype(np.float32), verbose=0))
    mirrored = images[:, :, ::-1]
    views = [(0.25, images, 0), (0.25, mirrored, 0)] + [(0.125, v, s) for s in (-1, 1) for v in (images, mirrored)]
    mean = sum(w * run.model.predict(shifted(v, s).astype(np.float32), verbose=0) for w, v, s in views)
    expected = np.exp(mean - mean.max(axis=1, keepdims=True))
    np.testing.assert_allclose(probabilities, expected / expected.sum(axis=1, keepdims=True), atol=1e-4)
    assert not np.allclose(logits, mean)


def shifted(images: np.ndarray, shift: int) -> np.ndarray:
    """Moved ``shift`` pixels down and right, edges reflected (what predict's views do)."""
    if not shift:
        return images
    padded = np.pad(images, [(0, 0), (1, 1), (1, 1), (0, 0)], mode="reflect")
    start = 1 - shift
    return padded[:, start : start + images.shape[1], start : start + images.shape[2]]


def test_fast_has_airbench94s_size() -> None:
    version = get_version("fast")
    model = version.architecture(version.recipe(), (32, 32, 3), 10)
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    assert [model.get_layer(f"block{i}_conv2").filters for i in (1, 2, 3)] == [64, 256, 256]
    assert 1_950_000 < trainable < 2_000_000
