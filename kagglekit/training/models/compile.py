"""Turn a recipe's optimizer, schedule, loss and metric into ``model.compile``."""

from __future__ import annotations

import math
from typing import Any

import keras

from kagglekit.exceptions import UsageError


@keras.saving.register_keras_serializable(package="kagglekit")
class Triangle(keras.optimizers.schedules.LearningRateSchedule):
    """airbench's schedule: linear from 0.2 to 1 of ``peak`` over the first 23 % of steps, then down to 0.07.

    A short warm-up lets the freshly whitened network take the large peak rate;
    ending near zero without a cosine tail is what the 10-epoch budget needs.
    """

    def __init__(
        self, peak: float, total_steps: int, warmup: float = 0.23, start: float = 0.2, end: float = 0.07
    ) -> None:
        self.peak, self.total_steps = float(peak), int(total_steps)
        self.warmup, self.start, self.end = float(warmup), float(start), float(end)

    def __call__(self, step: Any) -> Any:
        step = keras.ops.cast(step, "float32")
        up = max(1.0, float(int(self.total_steps * self.warmup)))
        down = max(1.0, self.total_steps - up)
        rising = self.start + (1.0 - self.start) * step / up
        falling = 1.0 + (self.end - 1.0) * keras.ops.minimum((step - up) / down, 1.0)
        return self.peak * keras.ops.where(step < up, rising, falling)

    def get_config(self) -> dict[str, Any]:
        return {
            "peak": self.peak,
            "total_steps": self.total_steps,
            "warmup": self.warmup,
            "start": self.start,
            "end": self.end,
        }


def learning_rate(
    recipe: dict[str, Any], steps_per_epoch: int
) -> float | keras.optimizers.schedules.LearningRateSchedule:
    """Per-step schedules, so a resumed run (optimizer.iterations restored) continues the curve."""
    lr, schedule = float(recipe["lr"]), recipe["schedule"]
    total = max(1, int(recipe["epochs"]) * steps_per_epoch)
    if schedule == "constant":
        return lr
    if schedule == "cosine":
        return keras.optimizers.schedules.CosineDecay(lr, decay_steps=total)
    if schedule == "onecycle":
        warmup = int(math.ceil(float(recipe["warmup_epochs"]) * steps_per_epoch))
        return keras.optimizers.schedules.CosineDecay(
            lr * 0.1 if warmup else lr,
            decay_steps=max(1, total - warmup),
            warmup_target=lr if warmup else None,
            warmup_steps=warmup,
        )
    if schedule == "triangle":  # Triangle's defaults (airbench94's shape) unless the recipe names its own
        shape = {
            arg: float(recipe[key]) for key, arg in (("warmup_fraction", "warmup"), ("lr_end", "end")) if key in recipe
        }
        return Triangle(lr, total, **shape)
    raise UsageError(f"unknown schedule {schedule!r}; known: constant, cosine, onecycle, triangle")


def optimizer(recipe: dict[str, Any], steps_per_epoch: int) -> keras.optimizers.Optimizer:
    rate, name, decay = learning_rate(recipe, steps_per_epoch), recipe["optimizer"], float(recipe["weight_decay"])
    if name == "adam":
        return keras.optimizers.Adam(rate)
    if name == "adamw":
        return keras.optimizers.AdamW(rate, weight_decay=decay)
    if name == "sgd":
        return keras.optimizers.SGD(rate, momentum=float(recipe["momentum"]), nesterov=True, weight_decay=decay or None)
    if name == "muon":  # filters by Muon at muon_lr on the same schedule, the rest as sgd
        from kagglekit.training.models.muon import MUON_LR, MUON_MOMENTUM, FilterMuon

        return FilterMuon(
            rate,
            momentum=float(recipe["momentum"]),
            muon_lr_ratio=float(recipe.get("muon_lr", MUON_LR)) / float(recipe["lr"]),
            muon_momentum=float(recipe.get("muon_momentum", MUON_MOMENTUM)),
            weight_decay=decay or None,
        )
    raise UsageError(f"unknown optimizer {name!r}; known: adam, adamw, sgd, muon")


def loss_and_metric(recipe: dict[str, Any]) -> tuple[keras.losses.Loss, keras.metrics.Metric]:
    """The metric is always logged as ``accuracy`` so every version's history has the same columns."""
    logits = bool(recipe["from_logits"])
    if recipe["loss"] == "sparse_categorical_crossentropy":
        return (
            keras.losses.SparseCategoricalCrossentropy(from_logits=logits),
            keras.metrics.SparseCategoricalAccuracy(name="accuracy"),
        )
    if recipe["loss"] == "categorical_crossentropy":
        return (
            keras.losses.CategoricalCrossentropy(from_logits=logits, label_smoothing=float(recipe["label_smoothing"])),
            keras.metrics.CategoricalAccuracy(name="accuracy"),
        )
    raise UsageError(
        f"unknown loss {recipe['loss']!r}; known: sparse_categorical_crossentropy, categorical_crossentropy"
    )


def compile_model(
    model: keras.Model, recipe: dict[str, Any], steps_per_epoch: int, jit_compile: bool | str = "auto"
) -> keras.Model:
    loss, metric = loss_and_metric(recipe)
    model.compile(optimizer=optimizer(recipe, steps_per_epoch), loss=loss, metrics=[metric], jit_compile=jit_compile)
    return model
