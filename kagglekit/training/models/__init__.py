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
import math
from dataclasses import dataclass, field
from typing import Any, Callable

from kagglekit.exceptions import UsageError

# Keys every recipe has, with the meaning and unit the CLI help repeats.
COMMON_DEFAULTS: dict[str, Any] = {
    "epochs": 10,  # passes over the training split
    "batch_size": 32,  # images per step per replica (scaled by replica count)
    "lr": 1e-3,  # peak learning rate
    "optimizer": "adam",  # adam | adamw | sgd (Nesterov) | muon (filters by Muon, the rest sgd)
    "momentum": 0.9,  # sgd's momentum
    "weight_decay": 0.0,  # decoupled: each step shrinks every weight by lr * weight_decay
    "schedule": "constant",  # constant | cosine | onecycle | triangle (per step; triangle = airbench's, shaped by
    # optional warmup_fraction and lr_end keys)
    "warmup_epochs": 0.0,  # linear warm-up length for onecycle, in epochs
    "loss": "sparse_categorical_crossentropy",  # or categorical_crossentropy (one-hot labels)
    "label_smoothing": 0.0,  # only with categorical_crossentropy
    "from_logits": False,  # True when the model's last layer has no softmax
    "rotation": 0.0,  # augmentation: max rotation, degrees
    "zoom": 0.0,  # augmentation: max zoom, fraction (0.2 = 80%..120%)
    "shift": 0.0,  # augmentation: max shift, fraction of the side
    "flip": False,  # augmentation: random left-right mirror
    "translate": 0,  # augmentation: max shift, whole pixels (on top of `shift`)
    "cutout": 0,  # augmentation: side of a random square zeroed, pixels; 0 = off
    "fill_mode": "nearest",  # how pixels moved in from outside are filled
    "lookahead": False,  # pull the weights towards a slow average every 5 steps (airbench)
    "tta": "none",  # test-time augmentation of evaluate/predict: none | flip | flip-translate | translate
    "monitor": "val_accuracy",  # what "best" means for checkpoints and early stopping
    "early_stopping": 0,  # patience in epochs without improvement; 0 = off
    "seed": 0,  # fixes split order, shuffling, augmentation, initialisation
    "limit": None,  # train on the first N training images (and at most N valid)
    "image_size": None,  # [height, width] the version sees its images at (unpack builds that cache from raw/);
    # null: the competition spec's [images] size
}
# A final run on every labelled image carries this recipe key (only then, so other runs' ids do not change):
# its own version id, so its prediction never replaces the measured run's. metrics.json repeats it.
ALL_DATA = "all_data"
# Keys whose value may take more than one type; every other key takes its default's type.
UNION_TYPES: dict[str, tuple[type, ...]] = {
    "flip": (bool, str),
    "limit": (int, type(None)),
    "image_size": (list, type(None)),
}
# Keys left out of the recipe's hash while null, so that adding them kept every earlier version id.
HASHED_ONLY_WHEN_SET = ("image_size",)
# Where a number makes no sense outside a range, the recipe says so before anything is built or created.
AT_LEAST: dict[str, float] = {
    "epochs": 1,
    "batch_size": 1,
    "seed": 0,
    "limit": 1,
    "early_stopping": 0,
    "translate": 0,
    "cutout": 0,
    "warmup_epochs": 0,
    "weight_decay": 0,
    "label_smoothing": 0,
    "rotation": 0,
    "zoom": 0,
    "shift": 0,
}
ABOVE: dict[str, float] = {"lr": 0}
TYPE_NAMES = {
    bool: "true or false",
    int: "a whole number",
    float: "a number",
    str: "text",
    list: "a JSON list",
    dict: "a JSON object",
    type(None): "null",
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
    cpu_xla: bool = (
        True  # XLA on a CPU in float32: faster for dense-heavy nets, slower than oneDNN for airbench's convolutions
    )

    def recipe(self, overrides: dict[str, Any] | None = None, all_data: bool = False) -> dict[str, Any]:
        """Defaults overridden, each override checked for its type and range (unknown keys are a usage error).

        ``all_data`` marks the final run on every labelled image (``ALL_DATA``). Values are stored in the
        default's type (``--lr 1`` is 1.0), so the same recipe always hashes to the same version id.
        """
        recipe = {**COMMON_DEFAULTS, **self.defaults, "model": self.name}
        for key, value in (overrides or {}).items():
            if value is None and type(None) not in UNION_TYPES.get(key, ()):
                continue
            self._check_known(key, recipe)
            recipe[key] = checked_value(key, value, wanted_types(key, recipe[key]))
        if all_data:
            recipe[ALL_DATA] = True
        return recipe

    def parse_setting(self, setting: str) -> tuple[str, Any]:
        """``KEY=VALUE`` from the command line, VALUE read as the key's type (JSON, or a bare string)."""
        key, sep, text = setting.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key:
            raise UsageError(f"--set expects KEY=VALUE, got {setting!r}")
        defaults = self.recipe()
        self._check_known(key, defaults)
        return key, checked_value(key, literal(text), wanted_types(key, defaults[key]), text)

    def _check_known(self, key: str, recipe: dict[str, Any]) -> None:
        if key not in recipe or key in ("model", ALL_DATA):
            known = ", ".join(sorted(k for k in recipe if k not in ("model", ALL_DATA)))
            raise UsageError(f"unknown recipe key {key!r} for {self.name}; known keys: {known}")

    def build(
        self,
        recipe: dict[str, Any],
        steps_per_epoch: int,
        input_shape: tuple[int, int, int] = (32, 32, 3),
        n_classes: int = 10,
        jit_compile: bool | str = "auto",
    ) -> Any:
        """The compiled model: architecture + optimizer, schedule, loss and metric of the recipe."""
        from kagglekit.training.models.compile import compile_model

        model = self.architecture(recipe, input_shape, n_classes)
        return compile_model(model, recipe, steps_per_epoch, jit_compile)


def literal(text: str) -> Any:
    """A command-line value: JSON where it parses (true, 0.1, [1, 2], {"a": 1}), True/False as Python writes them,
    else the bare string."""
    try:
        return json.loads(text)
    except ValueError:
        return {"True": True, "False": False}.get(text.strip(), text)


def wanted_types(key: str, default: Any) -> tuple[type, ...]:
    return UNION_TYPES.get(key, (type(default),))


def checked_value(key: str, value: Any, wanted: tuple[type, ...], text: str | None = None) -> Any:
    """``value`` in one of the ``wanted`` types and the key's range, or one line naming key, value and type."""
    shown = text if text is not None else json.dumps(value, default=str)
    if str in wanted and not isinstance(value, str) and text is not None and type(value) not in wanted:
        value = text  # a bare word that happens to parse as JSON, for a text key
    if float in wanted and type(value) is int:
        value = float(value)
    if type(value) not in wanted:
        names = " or ".join(TYPE_NAMES.get(kind, kind.__name__) for kind in wanted)
        raise UsageError(f"recipe key {key} wants {names}, got {shown!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise UsageError(f"recipe key {key} wants a finite number, got {shown!r}")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if key in AT_LEAST and value < AT_LEAST[key]:
            raise UsageError(f"recipe key {key} must be {AT_LEAST[key]:g} or more, got {shown!r}")
        if key in ABOVE and value <= ABOVE[key]:
            raise UsageError(f"recipe key {key} must be more than {ABOVE[key]:g}, got {shown!r}")
    return value


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
    recipe = {k: v for k, v in recipe.items() if not (k in HASHED_ONLY_WHEN_SET and v is None)}
    canonical = json.dumps(recipe, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:8]


def version_id(recipe: dict[str, Any]) -> str:
    return f"{recipe['model']}-{recipe_hash(recipe)}"


# Versions register themselves on import, in the order `models` lists them.
from kagglekit.training.models import seeds  # noqa: E402, F401, I001
from kagglekit.training.models import airbench  # noqa: E402, F401
from kagglekit.training.models import digits  # noqa: E402, F401
from kagglekit.training.models import photos  # noqa: E402, F401
from kagglekit.training.models import pretrained  # noqa: E402, F401
