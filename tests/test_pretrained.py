"""`pretrained`: a keras-hub preset loaded from where Kaggle puts it, fine-tuned through train and predict.

No weights can be downloaded here, so the preset is a tiny ResNet of the same architecture as
resnet_50_imagenet (bottleneck blocks), randomly initialised and written by keras-hub's own
``save_to_preset``: into a local directory named by the recipe, and into the path a kernel mounts
an attached Kaggle model at, which the default ``kaggle://`` preset is then read from.
"""

from __future__ import annotations

import json
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from kagglekit.exceptions import DataError, UsageError
from kagglekit.jsonfiles import read_json
from kagglekit.paths import CompetitionPaths
from kagglekit.remote import kernels as remote
from kagglekit.training.models import get_version
from kagglekit.training.models.pretrained import HUB_MISSING, PRETRAINED, load_backbone, preset_location

HANDLE = PRETRAINED["preset"].removeprefix("kaggle://")  # keras/resnetv1/keras/resnet_50_imagenet/3
MOUNT = "KAGGLE_CACHE_MOUNT_FOLDER"


def save_tiny_preset(directory: Path) -> Path:
    """A randomly initialised ResNet with bottleneck blocks (110k weights), saved as a keras-hub preset."""
    keras_hub = pytest.importorskip("keras_hub")
    backbone = keras_hub.models.ResNetBackbone(
        input_conv_filters=[64],
        input_conv_kernel_sizes=[7],
        stackwise_num_filters=[64, 16],
        stackwise_num_blocks=[1, 1],
        stackwise_num_strides=[1, 2],
        block_type="bottleneck_block",
        image_shape=(None, None, 3),
    )
    backbone.save_to_preset(str(directory))
    return directory


def first_kernel(model) -> np.ndarray:
    return next(np.asarray(w) for w in model.get_weights() if np.ndim(w) == 4)


def test_the_kaggle_preset_is_attached_to_the_pushed_kernel(tmp_path: Path) -> None:
    from kaggle.api.kaggle_api_extended import KaggleApi

    spec = remote.RemoteSpec("dogs-vs-cats-redux-kernels-edition", "pretrained", accelerator="t4x2")
    metadata = read_json(remote.build_kernel_folder(tmp_path / "k", spec, "someone", "t") / "kernel-metadata.json")
    assert metadata["model_sources"] == [HANDLE]
    KaggleApi().validate_model_instance_version_string(HANDLE)  # the client's own check of a model source
    local = remote.RemoteSpec("cifar-10", "pretrained", {"preset": str(tmp_path)}, "t4x2")
    assert (
        read_json(remote.build_kernel_folder(tmp_path / "l", local, "u", "t") / "kernel-metadata.json")["model_sources"]
        == []
    )
    fast = remote.RemoteSpec("cifar-10", "fast", accelerator="t4x2")
    assert (
        read_json(remote.build_kernel_folder(tmp_path / "f", fast, "u", "t") / "kernel-metadata.json")["model_sources"]
        == []
    )


def test_a_handle_kaggle_cannot_attach_is_refused_before_pushing(tmp_path: Path) -> None:
    spec = remote.RemoteSpec("cifar-10", "pretrained", {"preset": "kaggle://keras/resnetv1/keras/resnet_50_imagenet"})
    with pytest.raises(UsageError, match=r"not kaggle://OWNER/MODEL/FRAMEWORK/VARIATION/VERSION"):
        remote.build_kernel_folder(tmp_path / "k", spec, "someone", "t")


def test_the_attached_copy_is_read_before_kaggle_is_asked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MOUNT, str(tmp_path))
    preset = PRETRAINED["preset"]
    assert preset_location(preset) == preset  # nothing attached: keras-hub fetches it with kagglehub
    older = tmp_path / "resnetv1/keras/resnet_50_imagenet/3"
    older.mkdir(parents=True)
    (older / "config.json").write_text("{}")
    assert preset_location(preset) == str(older)
    today = tmp_path / "models" / HANDLE
    today.mkdir(parents=True)
    (today / "config.json").write_text("{}")
    assert preset_location(preset) == str(today)
    assert preset_location(str(tmp_path)) == str(tmp_path)  # a local directory is taken as it is


def test_without_keras_hub_the_version_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "keras_hub", None)  # import keras_hub now raises ImportError
    with pytest.raises(UsageError) as refused:
        load_backbone(PRETRAINED["preset"])
    assert str(refused.value) == HUB_MISSING and "pip install" in HUB_MISSING


def test_a_preset_that_is_not_there_is_one_line(tmp_path: Path) -> None:
    pytest.importorskip("keras_hub")
    with pytest.raises(DataError, match=r"cannot load preset .*missing .*a directory written by save_to_preset"):
        load_backbone(str(tmp_path / "missing"))
    with pytest.raises(DataError, match=r"has no config.json"):
        load_backbone(str(tmp_path))


@pytest.mark.slow
def test_fine_tunes_the_attached_preset_through_train_and_predict(
    prepared: CompetitionPaths, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import keras

    from kagglekit.training.predict import predict_submission
    from kagglekit.training.train import train

    preset = save_tiny_preset(tmp_path / "mount" / "models" / HANDLE)
    import keras_hub

    original = first_kernel(keras_hub.models.Backbone.from_preset(str(preset)))
    # the recipe's local directory: the very weights of the preset, before any training
    local = get_version("pretrained").recipe({"preset": str(preset), "image_size": [48, 48]})
    built = get_version("pretrained").architecture(local, (32, 32, 3), 10)
    np.testing.assert_array_equal(first_kernel(built.get_layer("backbone")), original)

    monkeypatch.setenv(MOUNT, str(tmp_path / "mount"))  # the default kaggle:// preset, attached as a kernel has it
    overrides = {"epochs": 1, "batch_size": 8, "limit": 32, "image_size": [48, 48]}
    run_dir = train("pretrained", overrides, prepared, tmp_path / "runs", log=lambda line: None)
    assert json.loads((run_dir / "metrics.json").read_text())["epochs"] == 1
    with zipfile.ZipFile(run_dir / "best.keras") as archive:
        assert "keras_hub" not in archive.read("config.json").decode()  # predict loads it with Keras alone
    trained = first_kernel(keras.models.load_model(run_dir / "best.keras", compile=False).get_layer("backbone"))
    assert not np.array_equal(trained, original)  # fine-tuned, not frozen
    assert np.corrcoef(trained.ravel(), original.ravel())[0, 1] > 0.99  # from the preset, not from a fresh start

    prediction = predict_submission(run_dir, prepared, tmp_path / "subs", progress=False)
    assert len(prediction.csv.read_text().splitlines()) == 41  # header + the 40 test images
