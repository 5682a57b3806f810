"""Training-time augmentation as one Keras preprocessing layer.

Keras' RandomRotation, RandomZoom, RandomTranslation and RandomFlip each resample
the whole batch: three bilinear passes for the seeds' recipes. On the 2 CPU cores
we train on, each pass tops out near 28,000 images/s, so the stack of three runs
at about 10,000 images/s. ``RandomAffine`` draws the same kinds of random
rotation, zoom, shift and flip, folds them into one affine matrix per image and
resamples once (about 30,000 images/s), which is what keeps augmentation off the
critical path. ``keras_layers`` builds the stock four-layer stack with the same
ranges, for the benchmark and for anyone who prefers it.
"""

from __future__ import annotations

import math
from typing import Any

import keras
import tensorflow as tf

from kagglekit.exceptions import UsageError

FILL_MODES = ("nearest", "reflect", "wrap", "constant")


def affine_batch(
    images: tf.Tensor,
    seed: tf.Tensor,
    rotation: float = 0.0,
    zoom: float = 0.0,
    shift: float = 0.0,
    flip: bool = False,
    fill_mode: str = "nearest",
    translate: int = 0,
    cutout: int = 0,
) -> tf.Tensor:
    """Augment a batch (B,H,W,C) with one random affine map per image.

    Ranges follow ImageDataGenerator, the seeds' API: ``rotation`` in degrees
    (uniform in ±rotation), ``zoom`` a fraction (width and height zoom drawn
    independently in [1-zoom, 1+zoom]), ``shift`` a fraction of the side (±),
    ``flip`` mirrors left-right with probability 1/2. ``translate`` adds a
    whole-pixel shift in ±translate (airbench's pad-and-crop: with no rotation
    or zoom every output pixel is an input pixel, never a blend), and
    ``cutout`` zeroes a random ``cutout``-pixel square. ``seed`` is a stateless
    (2,) seed, so a batch's augmentation depends only on it.
    """
    images = tf.cast(images, tf.float32)
    shape = tf.shape(images)
    batch = shape[0]
    height = tf.cast(shape[1], tf.float32)
    width = tf.cast(shape[2], tf.float32)
    seeds = tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), num=9)

    def uniform(i: int, limit: float) -> tf.Tensor:
        return tf.random.stateless_uniform([batch], seeds[i], -limit, limit)

    angle = uniform(0, rotation * math.pi / 180.0)
    zoom_x = 1.0 + uniform(1, zoom)
    zoom_y = 1.0 + uniform(2, zoom)
    shift_x = uniform(3, shift) * width
    shift_y = uniform(4, shift) * height
    if translate:
        pixels = tf.random.stateless_uniform([2, batch], seeds[6], -translate, translate + 1, dtype=tf.int32)
        shift_x += tf.cast(pixels[0], tf.float32)
        shift_y += tf.cast(pixels[1], tf.float32)
    if flip:
        coin = tf.random.stateless_uniform([batch], seeds[5])
        mirror = tf.where(coin < 0.5, -1.0, 1.0)
    else:
        mirror = tf.ones([batch])

    # Output pixel (x, y) samples input R(angle) @ diag(zoom_x * mirror, zoom_y)
    # @ (x - c, y - c) + c - shift: rotation, zoom, flip about the centre, then shift.
    cos, sin = tf.cos(angle), tf.sin(angle)
    a0, a1 = cos * zoom_x * mirror, -sin * zoom_y
    b0, b1 = sin * zoom_x * mirror, cos * zoom_y
    cx, cy = (width - 1.0) / 2.0, (height - 1.0) / 2.0
    a2 = cx - shift_x - a0 * cx - a1 * cy
    b2 = cy - shift_y - b0 * cx - b1 * cy
    zeros = tf.zeros([batch])
    transforms = tf.stack([a0, a1, a2, b0, b1, b2, zeros, zeros], axis=1)
    images = tf.raw_ops.ImageProjectiveTransformV3(
        images=images, transforms=transforms, output_shape=shape[1:3],
        fill_value=0.0, interpolation="BILINEAR", fill_mode=fill_mode.upper(),
    )
    return cut_out(images, seeds[7], cutout) if cutout else images


def cut_out(images: tf.Tensor, seed: tf.Tensor, side: int) -> tf.Tensor:
    """Zero one ``side`` x ``side`` square per image, placed uniformly inside it."""
    shape = tf.shape(images)
    corners = tf.random.stateless_uniform([2, shape[0], 1], seed, 0, tf.reduce_min(shape[1:3]) - side + 1, dtype=tf.int32)
    rows, cols = tf.range(shape[1])[None, :], tf.range(shape[2])[None, :]
    inside_rows = (rows >= corners[0]) & (rows < corners[0] + side)  # (B, H)
    inside_cols = (cols >= corners[1]) & (cols < corners[1] + side)  # (B, W)
    keep = ~(inside_rows[:, :, None] & inside_cols[:, None, :])
    return images * tf.cast(keep, images.dtype)[..., None]


@keras.saving.register_keras_serializable(package="kagglekit")
class RandomAffine(keras.layers.Layer):
    """Random rotation + zoom + shift + flip in a single resampling; identity at inference.

    Called with ``seed=`` (a (2,) tensor) it is stateless, which is how the
    tf.data pipeline makes every batch reproducible and a resumed run see the
    same augmentation; without one it draws from its own SeedGenerator, which is
    how it runs inside a model on a GPU.
    """

    def __init__(
        self, rotation: float = 0.0, zoom: float = 0.0, shift: float = 0.0,
        flip: bool = False, fill_mode: str = "nearest", seed: int | None = None,
        translate: int = 0, cutout: int = 0, **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if fill_mode not in FILL_MODES:
            raise ValueError(f"fill_mode must be one of {FILL_MODES}, not {fill_mode!r}")
        self.rotation, self.zoom, self.shift = float(rotation), float(zoom), float(shift)
        self.flip, self.fill_mode, self.seed = bool(flip), fill_mode, seed
        self.translate, self.cutout = int(translate), int(cutout)
        self.seed_generator = keras.random.SeedGenerator(seed)
        # ImageProjectiveTransformV3 has no XLA kernel.
        self.supports_jit = False

    @property
    def is_identity(self) -> bool:
        return not (self.rotation or self.zoom or self.shift or self.flip or self.translate or self.cutout)

    def call(self, images: tf.Tensor, training: bool | None = None, seed: tf.Tensor | None = None) -> tf.Tensor:
        images = tf.cast(images, tf.float32)
        if not training or self.is_identity:
            return images
        if seed is None:
            seed = self.seed_generator.next()
        return affine_batch(
            images, seed, self.rotation, self.zoom, self.shift, self.flip, self.fill_mode, self.translate, self.cutout,
        )

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(), "rotation": self.rotation, "zoom": self.zoom,
            "shift": self.shift, "flip": self.flip, "fill_mode": self.fill_mode, "seed": self.seed,
            "translate": self.translate, "cutout": self.cutout,
        }


ALTERNATING = "alternating"


def flip_mode(recipe: dict[str, Any]) -> str:
    """"random", "alternating" or "none": the recipe's ``flip`` (true, "alternating", false).

    Alternating flip (airbench) mirrors a random half of the images in the first
    epoch and exactly the other half in the next, and so on: every image is seen
    both ways in every two epochs, which random coins only promise on average.
    It needs to know which image is which, so the pipeline does it, not the layer.
    """
    flip = recipe.get("flip", False)
    if flip == ALTERNATING:
        return ALTERNATING
    if isinstance(flip, bool):
        return "random" if flip else "none"
    raise UsageError(f"flip must be true, false or {ALTERNATING!r}, not {flip!r}; fix the recipe or --set flip=...")


def from_recipe(recipe: dict[str, Any], seed: int | None = None) -> RandomAffine:
    return RandomAffine(
        rotation=recipe.get("rotation", 0.0), zoom=recipe.get("zoom", 0.0),
        shift=recipe.get("shift", 0.0), flip=flip_mode(recipe) == "random",
        fill_mode=recipe.get("fill_mode", "nearest"), seed=seed, name="augment",
        translate=recipe.get("translate", 0), cutout=recipe.get("cutout", 0),
    )


def keras_layers(recipe: dict[str, Any], seed: int | None = None) -> list[keras.layers.Layer]:
    """The stock Keras layers for the same ranges (one resampling each)."""
    fill = recipe.get("fill_mode", "nearest")
    layers: list[keras.layers.Layer] = []
    if recipe.get("rotation"):
        layers.append(keras.layers.RandomRotation(recipe["rotation"] / 360.0, fill_mode=fill, seed=seed))
    if recipe.get("zoom"):
        z = recipe["zoom"]
        layers.append(keras.layers.RandomZoom((-z, z), (-z, z), fill_mode=fill, seed=seed))
    if recipe.get("shift"):
        s = recipe["shift"]
        layers.append(keras.layers.RandomTranslation((-s, s), (-s, s), fill_mode=fill, seed=seed))
    if flip_mode(recipe) == "random":
        layers.append(keras.layers.RandomFlip("horizontal", seed=seed))
    return layers
