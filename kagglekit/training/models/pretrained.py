"""``pretrained``: fine-tune an ImageNet backbone from Kaggle Models (a keras-hub preset), for photographs.

Competitors on photograph competitions (dogs-vs-cats and the like) start from
an ImageNet backbone rather than from random weights. Keras' pretrained presets
live on Kaggle Models as keras-hub presets, ``kaggle://keras/<model>/keras/<preset>/<version>``;
the default here is ResNet-50 v1 at 224x224 (``resnet_50_imagenet``, 23.6 M
weights: a T4 fine-tunes it at a few hundred images a second in float16).

- The recipe key ``preset`` says where the backbone comes from: a ``kaggle://``
  handle, a keras-hub preset name, or a local directory written by
  ``save_to_preset`` (what the tests use: this machine cannot download weights).
  A ``kaggle://`` handle is read from the copy attached to the notebook when
  there is one (``remote`` attaches it to the kernel as a model source, mounted at
  ``/kaggle/input/models/OWNER/MODEL/FRAMEWORK/VARIATION/VERSION``, in older
  notebooks ``/kaggle/input/MODEL/FRAMEWORK/VARIATION/VERSION``), else keras-hub
  fetches it with kagglehub.
- Input: raw 0..255 pixels, resized to ``image_size`` by a ``Resizing`` layer when
  the cache holds another size (the fallback until a version can ask unpack for
  its own size: a 64x64 cache upsampled to 224 loses what the photograph had),
  then normalised with ImageNet's mean and spread, as the ResNet and
  EfficientNet presets' image converters do (a preset trained with other
  statistics needs them changed here).
- The whole backbone is fine-tuned (BatchNorm included) with AdamW at 1e-4 on a
  one-cycle schedule, under a new head: global average pool, dropout, dense.
  Flip, small zoom and shift; flip test-time augmentation. 3 epochs.
- The backbone is rebuilt as a plain Keras ``Functional`` of core layers before
  it joins the model, so ``best.keras`` loads with Keras alone (predict needs no
  keras-hub); that holds for presets built of Keras' own layers, as ResNet's are.

keras-hub is optional (``pip install 'kagglekit[hub]'``) and imported only when
the model is built; Kaggle's notebook image ships it.

Its accuracy has not been measured: this machine cannot download the weights and
has no GPU. The tests fine-tune a tiny, randomly initialised ResNet of the same
architecture saved with ``save_to_preset``.
"""

from __future__ import annotations

from typing import Any

from kagglekit.exceptions import DataError, UsageError
from kagglekit.training.models import ModelVersion, register

KAGGLE_SCHEME = "kaggle://"
# The ImageNet statistics (of 0..1 pixels) that keras-hub's ResNet and EfficientNet image converters apply.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
HUB_MISSING = "model pretrained needs keras-hub: pip install 'kagglekit[hub]' (or pip install keras-hub)"


def kaggle_handle(preset: str) -> str | None:
    """OWNER/MODEL/FRAMEWORK/VARIATION/VERSION of a ``kaggle://`` preset, None for any other preset.

    A kernel can attach only a whole version (kaggle's client refuses a model source of any other shape), so a
    handle without its version number is refused here, before anything is pushed or built.
    """
    if not preset.startswith(KAGGLE_SCHEME):
        return None
    handle = preset[len(KAGGLE_SCHEME) :].strip("/")
    parts = handle.split("/")
    if len(parts) != 5 or not all(parts) or not parts[4].isdigit():
        raise UsageError(
            f"recipe key preset {preset!r} is not kaggle://OWNER/MODEL/FRAMEWORK/VARIATION/VERSION "
            "(e.g. kaggle://keras/resnetv1/keras/resnet_50_imagenet/3)"
        )
    return handle


def kaggle_model_sources(recipe: dict[str, Any]) -> list[str]:
    """The Kaggle Models a recipe loads, as kernel-metadata.json's ``model_sources`` names them."""
    handle = kaggle_handle(str(recipe.get("preset", "")))
    return [handle] if handle else []


def preset_location(preset: str) -> str:
    """Where to load ``preset`` from: its attached copy under the notebook's inputs when there is one, else as given."""
    from kagglekit.data.fetch import kaggle_input_root

    handle = kaggle_handle(preset)
    if handle is None:
        return preset
    _, model, framework, variation, version = handle.split("/")
    root = kaggle_input_root()
    for candidate in (root / "models" / handle, root / model / framework / variation / version):
        if (candidate / "config.json").is_file():
            return str(candidate)
    return preset


def load_backbone(preset: str) -> Any:
    """The preset's backbone with its weights, in the current dtype policy, as a plain Keras model of core layers."""
    import keras

    try:
        import keras_hub
    except ImportError:
        raise UsageError(HUB_MISSING) from None
    location = preset_location(preset)
    try:
        backbone = keras_hub.models.Backbone.from_preset(location, dtype=keras.config.dtype_policy())
    except (ValueError, OSError) as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise DataError(
            f"cannot load preset {location} ({first}); recipe key preset wants a kaggle://OWNER/MODEL/FRAMEWORK/"
            "VARIATION/VERSION handle, a keras-hub preset name or a directory written by save_to_preset"
        ) from None
    return keras.Model(backbone.input, backbone.output, name="backbone")


def pretrained_architecture(recipe: dict[str, Any], input_shape: tuple[int, int, int], n_classes: int) -> Any:
    """Resize (if the cache is not ``image_size``), ImageNet-normalise, the preset's backbone, pool, dropout, dense."""
    from keras import Input, Model, layers

    height, width, channels = input_shape
    if channels != 3:
        raise UsageError(f"model pretrained wants 3-channel photographs; this cache has {channels} channel(s)")
    size = [int(side) for side in recipe["image_size"]]
    inputs = Input(shape=input_shape, dtype="float32")
    x = inputs
    if [height, width] != size:
        x = layers.Resizing(*size, name="resize")(x)
    x = layers.Normalization(
        mean=[255 * m for m in IMAGENET_MEAN],
        variance=[(255 * s) ** 2 for s in IMAGENET_STD],
        name="imagenet_normalise",
    )(x)
    x = load_backbone(recipe["preset"])(x)
    x = layers.GlobalAveragePooling2D(name="pool")(x)
    if float(recipe["dropout"]):
        x = layers.Dropout(float(recipe["dropout"]), name="dropout")(x)
    x = layers.Dense(n_classes, name="head")(x)
    outputs = layers.Activation("linear", dtype="float32", name="logits")(x)
    return Model(inputs, outputs, name=recipe["model"])


PRETRAINED = {
    "preset": "kaggle://keras/resnetv1/keras/resnet_50_imagenet/3",
    "image_size": [224, 224],  # what the preset was trained at; a cache of another size is resized to it
    "epochs": 3,
    "batch_size": 32,  # per replica: 64 on Kaggle's two T4s
    "optimizer": "adamw",
    "lr": 1e-4,  # peak: fine-tuning, so the ImageNet features are moved, not erased
    "weight_decay": 0.05,
    "schedule": "onecycle",
    "warmup_epochs": 0.3,
    "from_logits": True,
    "flip": True,
    "zoom": 0.1,
    "shift": 0.05,
    "tta": "flip",
    # head
    "dropout": 0.2,
}

register(
    ModelVersion(
        name="pretrained",
        summary="photographs: fine-tunes a keras-hub ImageNet preset from Kaggle Models (ResNet-50, 224x224), AdamW one-cycle 1e-4, flip/zoom/shift, flip TTA; 3 epochs; a GPU recipe, accuracy not measured",
        defaults=PRETRAINED,
        architecture=pretrained_architecture,
    )
)
