"""The model registry, the seed versions' exact shape, the augmentation layer and the input pipeline.

Fast: nothing here trains. The data they read is what the real unpack and
folders stages left (conftest's session-wide ``prepared``), copied before it is broken.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from builders import copy_competition

from kagglekit.exceptions import DataError, StageNotReadyError, UsageError
from kagglekit.paths import CompetitionPaths
from kagglekit.training.models import COMMON_DEFAULTS, MODEL_VERSIONS, get_version, recipe_hash, version_id

ROOT = Path(__file__).resolve().parent.parent


# ---------------------------------------------------------------- registry


def test_registry_has_the_seed_and_airbench_versions() -> None:
    assert {"seed-task5", "seed-cifar10-modeling", "fast", "best"} <= set(MODEL_VERSIONS)
    for version in MODEL_VERSIONS.values():
        assert set(version.recipe()) >= set(COMMON_DEFAULTS) | {"model"}
    assert set(get_version("seed-task5").recipe()) == set(COMMON_DEFAULTS) | {"model"}


def test_unknown_model_lists_known_ones() -> None:
    with pytest.raises(UsageError) as error:
        get_version("resnet-9000")
    assert "seed-task5" in str(error.value) and "seed-cifar10-modeling" in str(error.value)


def test_recipe_overrides_and_unknown_key() -> None:
    version = get_version("seed-cifar10-modeling")
    recipe = version.recipe({"epochs": 3, "lr": None, "limit": 100})
    assert recipe["epochs"] == 3 and recipe["lr"] == 0.005 and recipe["limit"] == 100
    with pytest.raises(UsageError, match="unknown recipe key 'lrate'"):
        version.recipe({"lrate": 0.1})


def test_version_id_is_name_plus_stable_hash_of_the_full_recipe() -> None:
    version = get_version("seed-task5")
    base = version.recipe()
    assert version_id(base) == f"seed-task5-{recipe_hash(base)}"
    assert version_id(version.recipe()) == version_id(base)
    assert len(recipe_hash(base)) == 8
    assert version_id(version.recipe({"seed": 1})) != version_id(base)
    assert version_id(version.recipe({"rotation": 15.0})) != version_id(base)


def test_seed_recipes_follow_the_write_ups() -> None:
    task5 = get_version("seed-task5").recipe()
    assert (task5["loss"], task5["optimizer"], task5["epochs"]) == ("categorical_crossentropy", "adam", 50)
    assert task5["rotation"] > 0 and task5["zoom"] > 0 and task5["shift"] > 0 and not task5["flip"]
    modeling = get_version("seed-cifar10-modeling").recipe()
    assert (modeling["loss"], modeling["optimizer"], modeling["lr"]) == (
        "sparse_categorical_crossentropy",
        "adam",
        0.005,
    )
    assert (modeling["rotation"], modeling["shift"], modeling["zoom"], modeling["flip"]) == (10.0, 0.3, 0.0, False)
    assert modeling["early_stopping"] > 0


def test_seed_cifar10_modeling_is_exactly_the_write_up_model() -> None:
    version = get_version("seed-cifar10-modeling")
    model = version.build(version.recipe(), steps_per_epoch=10)
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds == [
        "BatchNormalization",
        "Conv2D",
        "BatchNormalization",
        "Activation",
        "MaxPooling2D",
        "Flatten",
        "Dense",
        "Dropout",
        "Dense",
    ]
    conv, dense, dropout, out = model.layers[1], model.layers[6], model.layers[7], model.layers[8]
    assert (conv.filters, conv.kernel_size, conv.strides) == (32, (3, 3), (1, 1))
    assert dense.units == 1024 and dropout.rate == 0.5 and out.units == 10
    assert model.output_shape == (None, 10)
    # 15*15*32 flattened features into 1024 units: the seed's parameter count.
    assert model.count_params() == 3 * 4 + 32 * (27 + 1) + 32 * 4 + (7200 * 1024 + 1024) + (1024 * 10 + 10)
    assert model.optimizer.__class__.__name__ == "Adam"
    assert np.isclose(float(model.optimizer.learning_rate), 0.005)
    assert model.loss.__class__.__name__ == "SparseCategoricalCrossentropy"


def test_seed_task5_is_conv_bn_activation_blocks_then_flatten_softmax() -> None:
    version = get_version("seed-task5")
    model = version.build(version.recipe(), steps_per_epoch=10)
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds[:-2] == ["Conv2D", "BatchNormalization", "Activation"] * 3
    assert kinds[-2:] == ["Flatten", "Dense"]
    assert model.layers[-1].get_config()["activation"] == "softmax"
    assert model.loss.__class__.__name__ == "CategoricalCrossentropy"
    probabilities = np.asarray(model(np.full((2, 32, 32, 3), 128, np.float32)))
    assert np.allclose(probabilities.sum(axis=1), 1, atol=1e-5)


# ---------------------------------------------------------------- augmentation


def test_augmentation_is_identity_at_inference_and_exact_for_flips() -> None:
    import tensorflow as tf

    from kagglekit.training.augment import RandomAffine

    images = np.random.default_rng(0).integers(0, 256, (64, 32, 32, 3)).astype(np.uint8)
    layer = RandomAffine(rotation=10, shift=0.3)
    assert np.array_equal(np.asarray(layer(images, training=False)), images.astype(np.float32))
    flipped = np.asarray(RandomAffine(flip=True)(images, training=True, seed=tf.constant([1, 2])))
    mirrored = np.array([np.array_equal(f, i[:, ::-1]) for f, i in zip(flipped, images)])
    unchanged = np.array([np.array_equal(f, i) for f, i in zip(flipped, images)])
    assert (mirrored | unchanged).all() and 10 < mirrored.sum() < 54


def test_augmentation_is_random_per_image_and_reproducible_per_seed() -> None:
    import tensorflow as tf

    from kagglekit.training.augment import RandomAffine

    images = np.random.default_rng(0).integers(0, 256, (8, 32, 32, 3)).astype(np.uint8)
    batch = np.stack([images[0]] * 8)
    layer = RandomAffine(rotation=20, zoom=0.2, shift=0.2)
    a = np.asarray(layer(batch, training=True, seed=tf.constant([3, 4])))
    b = np.asarray(layer(batch, training=True, seed=tf.constant([3, 4])))
    c = np.asarray(layer(batch, training=True, seed=tf.constant([3, 5])))
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert len({x.tobytes() for x in a}) == 8  # every image got its own transform
    assert a.dtype == np.float32 and 0 <= a.min() and a.max() <= 255


def test_keras_layer_stack_has_the_same_ranges() -> None:
    from kagglekit.training.augment import keras_layers

    names = [type(layer).__name__ for layer in keras_layers(get_version("seed-task5").recipe())]
    assert names == ["RandomRotation", "RandomZoom", "RandomTranslation"]


# ---------------------------------------------------------------- pipeline


def test_load_split_follows_split_csv_not_cache_order(prepared: CompetitionPaths) -> None:
    from kagglekit.data.pipeline import load_split

    data = load_split(prepared)
    split = pd.read_csv(prepared.split_csv, dtype=str)  # ids are text, as the cache holds them
    assert (len(data.x_train), len(data.x_valid)) == tuple((split.subset == s).sum() for s in ("train", "valid"))
    images, ids = np.load(prepared.cache_images("train")), np.load(prepared.cache_ids("train"))
    assert not np.array_equal(ids, np.sort(ids))  # the archive was shuffled: cache order is not split order
    first = split[split.subset == "train"].iloc[0]
    assert np.array_equal(data.x_train[0], images[np.flatnonzero(ids == first.id)[0]])
    assert data.classes[data.y_train[0]] == first.label
    limited = load_split(prepared, limit=7)
    assert (len(limited.x_train), len(limited.x_valid)) == (7, 7)
    assert np.array_equal(limited.x_train, data.x_train[:7])


def test_train_dataset_batches_epochs_and_resumes_identically(tmp_path: Path) -> None:
    from kagglekit.data.pipeline import train_dataset
    from kagglekit.training.augment import RandomAffine

    x = np.random.default_rng(0).integers(0, 256, (50, 32, 32, 3)).astype(np.uint8)
    y = np.arange(50, dtype=np.int32) % 10
    augment = RandomAffine(rotation=10, shift=0.3)
    full = list(train_dataset(x, y, 16, seed=0, first_epoch=0, epochs=2, augment=augment, n_classes=10))
    assert [len(b[0]) for b in full] == [16, 16, 16, 2] * 2
    assert full[0][0].dtype.name == "float32" and full[0][1].shape == (16, 10)
    assert sorted(np.concatenate([b[1].numpy().argmax(1) for b in full[:4]])) == sorted(y)
    resumed = list(train_dataset(x, y, 16, seed=0, first_epoch=1, epochs=2, augment=augment, n_classes=10))
    for (xa, ya), (xb, yb) in zip(full[4:], resumed):
        assert np.array_equal(xa, xb) and np.array_equal(ya, yb)
    other_seed = list(train_dataset(x, y, 16, seed=1, first_epoch=0, epochs=1))
    assert other_seed[0][0].dtype.name == "uint8" and not np.array_equal(other_seed[0][1], full[0][1].numpy().argmax(1))


def test_missing_split_names_the_folders_stage(tmp_path: Path) -> None:
    from kagglekit.data.pipeline import load_split

    with pytest.raises(StageNotReadyError, match="kagglekit folders"):
        load_split(CompetitionPaths(tmp_path))


def test_missing_cache_names_the_unpack_stage(prepared: CompetitionPaths, tmp_path: Path) -> None:
    from kagglekit.data.pipeline import load_split

    paths = copy_competition(prepared, tmp_path / "data")
    paths.cache_images("train").unlink()
    with pytest.raises(StageNotReadyError, match="kagglekit unpack"):
        load_split(paths)


def test_corrupt_cache_names_the_file(prepared: CompetitionPaths, tmp_path: Path) -> None:
    from kagglekit.data.pipeline import load_split

    paths = copy_competition(prepared, tmp_path / "data")
    paths.cache_images("train").write_bytes(b"\x93NUMPY garbage")
    with pytest.raises(DataError, match="train_images.npy"):
        load_split(paths)


def test_class_folders_are_read_when_there_is_no_cache_and_a_corrupt_png_is_named(
    prepared: CompetitionPaths, tmp_path: Path
) -> None:
    from kagglekit.data.pipeline import load_split

    paths = copy_competition(prepared, tmp_path / "data")
    expected = load_split(paths)
    paths.cache_images("train").unlink()
    paths.cache_ids("train").unlink()
    from_folders = load_split(paths)
    assert np.array_equal(from_folders.x_train, expected.x_train) and np.array_equal(
        from_folders.y_valid, expected.y_valid
    )
    bad = next((paths.folders / "train").glob("*/*.png"))
    bad.write_bytes(b"not a png")
    with pytest.raises(DataError, match=bad.name):
        load_split(paths)


# ---------------------------------------------------------------- CLI


def run_cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "kagglekit", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "TF_CPP_MIN_LOG_LEVEL": "3"},
    )


def test_models_command_lists_one_line_per_version() -> None:
    result = run_cli("models")
    assert result.returncode == 0
    lines = result.stdout.strip().splitlines()
    assert len(lines) == len(MODEL_VERSIONS)
    assert [line.split()[0] for line in lines] == list(MODEL_VERSIONS)


def test_train_command_rejects_unknown_model_and_missing_stage(tmp_path: Path) -> None:
    result = run_cli("train", "--model", "nope", "--data-dir", str(tmp_path))
    assert result.returncode == 2 and "known models: seed-task5, seed-cifar10-modeling" in result.stderr
    result = run_cli("train", "--model", "seed-task5", "--data-dir", str(tmp_path))
    assert result.returncode == 1 and "run `python -m kagglekit folders` first" in result.stderr
    result = run_cli("train", "--model", "seed-task5", "--set", "lrate=1", "--data-dir", str(tmp_path))
    assert result.returncode == 2 and "unknown recipe key 'lrate'" in result.stderr
