"""The registry of named model versions.

A version is an architecture plus its whole training recipe (optimizer, learning
rate and schedule, loss, batch size, epochs, augmentation, stopping rule) as one
flat dict of defaults, nanoGPT-style, any key of which the command line can
override. ``version_id`` = name + a short hash of the resolved recipe, so two
runs with the same id trained the same thing.

This module stays free of TensorFlow at import time (``models`` and ``--help``
list versions instantly); ``ModelVersion.build`` imports Keras when called.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Callable

from kagglekit.exceptions import UsageError

# Keys every recipe has, with the meaning and unit the CLI help repeats.
COMMON_DEFAULTS: dict[str, Any] = {
    "epochs": 10,              # passes over the training split
    "batch_size": 32,          # images per step per replica (scaled by replica count)
    "lr": 1e-3,                # peak learning rate
    "optimizer": "adam",       # adam | adamw | sgd (Nesterov)
    "momentum": 0.9,           # sgd's momentum
    "weight_decay": 0.0,       # decoupled: each step shrinks every weight by lr * weight_decay
    "schedule": "constant",    # constant | cosine | onecycle | triangle (per step; triangle = airbench's, shaped by
                               # optional warmup_fraction and lr_end keys)
    "warmup_epochs": 0.0,      # linear warm-up length for onecycle, in epochs
    "loss": "sparse_categorical_crossentropy",  # or categorical_crossentropy (one-hot labels)
    "label_smoothing": 0.0,    # only with categorical_crossentropy
    "from_logits": False,      # True when the model's last layer has no softmax
    "rotation": 0.0,           # augmentation: max rotation, degrees
    "zoom": 0.0,               # augmentation: max zoom, fraction (0.2 = 80%..120%)
    "shift": 0.0,              # augmentation: max shift, fraction of the side
    "flip": False,             # augmentation: random left-right mirror
    "translate": 0,            # augmentation: max shift, whole pixels (on top of `shift`)
    "cutout": 0,               # augmentation: side of a random square zeroed, pixels; 0 = off
    "fill_mode": "nearest",    # how pixels moved in from outside are filled
    "lookahead": False,        # pull the weights towards a slow average every 5 steps (airbench)
    "tta": "none",             # test-time augmentation of evaluate/predict: none | flip | flip-translate
    "monitor": "val_accuracy",  # what "best" means for checkpoints and early stopping
    "early_stopping": 0,       # patience in epochs without improvement; 0 = off
    "seed": 0,                 # fixes split order, shuffling, augmentation, initialisation
    "limit": None,             # train on the first N training images (and at most N valid)
}


@dataclass(frozen=True)
class ModelVersion:
    """A name, a one-line summary, recipe defaults, and an architecture builder.

    ``architecture(recipe, input_shape, n_classes)`` returns an uncompiled Keras
    model that takes raw 0..255 pixels and ends in float32 outputs. Defaults may
    add keys of their own (an architecture's widths, say), overridable like the
    common ones. ``prepare(model, x_train, seed)``, if given, sets weights that
    come from the data (airbench's whitening filters) before a fresh run trains.
    ``cpu_xla`` is how the version runs fastest on a CPU in float32, measured
    (bench/RESULTS.md), and not part of the recipe: it changes speed, not results.
    """

    name: str
    summary: str
    defaults: dict[str, Any]
    architecture: Callable[..., Any] = field(repr=False)
    prepare: Callable[..., None] | None = field(default=None, repr=False)
    cpu_xla: bool = True  # XLA on a CPU in float32: faster for dense-heavy nets, slower than oneDNN for airbench's convolutions

    def recipe(self, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
        """Defaults overridden; unknown keys are a usage error, not silently ignored."""
        recipe = {**COMMON_DEFAULTS, **self.defaults, "model": self.name}
        for key, value in (overrides or {}).items():
            if value is None and key != "limit":
                continue
            if key not in recipe:
                known = ", ".join(sorted(k for k in recipe if k != "model"))
                raise UsageError(f"unknown recipe key {key!r} for {self.name}; known keys: {known}")
            recipe[key] = value
        return recipe

    def build(
        self, recipe: dict[str, Any], steps_per_epoch: int, input_shape: tuple[int, int, int] = (32, 32, 3),
        n_classes: int = 10, jit_compile: bool | str = "auto",
    ) -> Any:
        """The compiled model: architecture + optimizer, schedule, loss and metric of the recipe."""
        from kagglekit.training.models.compile import compile_model

        model = self.architecture(recipe, input_shape, n_classes)
        return compile_model(model, recipe, steps_per_epoch, jit_compile)


MODEL_VERSIONS: dict[str, ModelVersion] = {}


def register(version: ModelVersion) -> ModelVersion:
    if version.name in MODEL_VERSIONS:
        raise ValueError(f"model version {version.name!r} registered twice")
    MODEL_VERSIONS[version.name] = version
    return version


def get_version(name: str) -> ModelVersion:
    try:
        return MODEL_VERSIONS[name]
    except KeyError:
        known = ", ".join(MODEL_VERSIONS)
        raise UsageError(f"unknown model {name!r}; known models: {known} (see `python -m kagglekit models`)") from None


def recipe_hash(recipe: dict[str, Any]) -> str:
    """8 hex digits of the canonical JSON of the recipe."""
    canonical = json.dumps(recipe, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:8]


def version_id(recipe: dict[str, Any]) -> str:
    return f"{recipe['model']}-{recipe_hash(recipe)}"


# Versions register themselves on import, in the order `models` lists them.
from kagglekit.training.models import seeds  # noqa: E402,F401
from kagglekit.training.models import airbench  # noqa: E402,F401
