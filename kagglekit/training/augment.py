"""Training-time augmentation as one Keras layer, written in ``keras.ops`` so it runs on any backend.

Keras' RandomRotation, RandomZoom, RandomTranslation and RandomFlip each resample
the whole batch: three bilinear passes for the seeds' recipes. On the 2 CPU cores
we train on, each pass tops out near 28,000 images/s, so the stack of three runs
at about 10,000 images/s. ``RandomAffine`` draws the same kinds of random
rotation, zoom, shift and flip, folds them into one affine matrix per image and
resamples once (about 30,000 images/s), which is what keeps augmentation off the
critical path. Recipes that only flip, move by whole pixels and cut out
(airbench's ``fast`` and ``best``) never resample at all: they gather pixels,
which XLA compiles on every device, so on JAX the whole augmentation runs
inside the compiled training step. ``keras_layers`` builds the stock four-layer
stack with the same ranges, for the benchmark and for anyone who prefers it.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import keras
from keras import ops

from kagglekit.exceptions import UsageError

FILL_MODES = ("nearest", "reflect", "wrap", "constant")
# One independent random stream per drawn quantity, so adding one never changes the others.
ROTATION, ZOOM_X, ZOOM_Y, SHIFT_X, SHIFT_Y, FLIP, TRANSLATE, CUTOUT = range(8)
STREAMS = 9

Draw = Callable[[int, tuple, Any, Any, str], Any]  # (stream, shape, low, high, dtype) -> uniform tensor


def random_draws(seed: Any) -> Draw:
    """Uniform draws from a SeedGenerator (inside a model) or a stateless (2,) seed (the tf.data pipeline).

    A stateless seed makes a batch's augmentation depend on that seed alone, so
    a resumed run sees the batches it would have seen; that pipeline exists
    only on TensorFlow, whose stateless generators it uses.
    """
    if isinstance(seed, keras.random.SeedGenerator):

        def draw(stream: int, shape: tuple, low: Any, high: Any, dtype: str) -> Any:
            if dtype == "int32":
                return keras.random.randint(shape, low, high, dtype=dtype, seed=seed)
            return keras.random.uniform(shape, low, high, dtype=dtype, seed=seed)

        return draw
    if keras.backend.backend() != "tensorflow":
        raise UsageError(
            "a stateless augmentation seed needs the TensorFlow backend; "
            "on other backends RandomAffine draws from its own SeedGenerator"
        )
    import tensorflow as tf

    seeds = tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), num=STREAMS)

    def stateless(stream: int, shape: tuple, low: Any, high: Any, dtype: str) -> Any:
        return tf.random.stateless_uniform(shape, seeds[stream], low, high, dtype=dtype)

    return stateless


def source_index(index: Any, size: int, fill_mode: str) -> tuple[Any, Any]:
    """(index into the image, whether it is inside) for positions moved past an edge, as ``fill_mode`` fills.

    reflect is (d c b a | a b c d | d c b a), as ImageProjectiveTransform and
    scipy fill: the edge pixel is repeated, so a 1-pixel move never invents one.
    """
    inside = (index >= 0) & (index < size)
    if fill_mode == "reflect":
        period = ops.mod(index, 2 * size)
        return ops.where(period < size, period, 2 * size - 1 - period), inside
    if fill_mode == "wrap":
        return ops.mod(index, size), inside
    return ops.clip(index, 0, size - 1), inside  # nearest; constant zeroes the outside afterwards


def shift_pixels(images: Any, rows: Any, cols: Any, fill_mode: str) -> Any:
    """Move each image (B,H,W,C) by whole pixels: ``rows``, ``cols`` (B,) int32, down and right; a gather, not a resampling."""
    height, width = images.shape[1], images.shape[2]
    source_rows, rows_inside = source_index(
        ops.arange(height, dtype="int32")[None, :] - rows[:, None], height, fill_mode
    )
    source_cols, cols_inside = source_index(ops.arange(width, dtype="int32")[None, :] - cols[:, None], width, fill_mode)
    batch, channels = ops.shape(images)[0], images.shape[3]
    # One gather of pixels from the flattened batch: 3x faster in tf.data than two take_along_axis.
    image_start = ops.arange(batch, dtype="int32")[:, None, None] * (height * width)
    pixel = image_start + source_rows[:, :, None] * width + source_cols[:, None, :]  # (B, H, W)
    moved = ops.take(ops.reshape(images, (-1, channels)), pixel, axis=0)
    if fill_mode == "constant":
        keep = rows_inside[:, :, None] & cols_inside[:, None, :]
        moved = moved * ops.cast(keep, moved.dtype)[..., None]
    return moved


def cut_out(images: Any, corners: Any, side: int) -> Any:
    """Zero one ``side`` x ``side`` square per image whose top-left corner is ``corners`` (2, B) int32."""
    height, width = images.shape[1], images.shape[2]
    rows, cols = ops.arange(height, dtype="int32")[None, :], ops.arange(width, dtype="int32")[None, :]
    inside_rows = (rows >= corners[0][:, None]) & (rows < corners[0][:, None] + side)  # (B, H)
    inside_cols = (cols >= corners[1][:, None]) & (cols < corners[1][:, None] + side)  # (B, W)
    keep = ops.logical_not(inside_rows[:, :, None] & inside_cols[:, None, :])
    return images * ops.cast(keep, images.dtype)[..., None]


def affine_batch(
    images: Any,
    seed: Any,
    rotation: float = 0.0,
    zoom: float = 0.0,
    shift: float = 0.0,
    flip: bool = False,
    fill_mode: str = "nearest",
    translate: int = 0,
    cutout: int = 0,
) -> Any:
    """Augment a batch (B,H,W,C) with one random affine map per image, as float32.

    Ranges follow ImageDataGenerator, the seeds' API: ``rotation`` in degrees
    (uniform in ±rotation), ``zoom`` a fraction (width and height zoom drawn
    independently in [1-zoom, 1+zoom]), ``shift`` a fraction of the side (±),
    ``flip`` mirrors left-right with probability 1/2. ``translate`` adds a
    whole-pixel shift in ±translate (airbench's pad-and-crop: with no rotation
    or zoom every output pixel is an input pixel, never a blend), and
    ``cutout`` zeroes a random ``cutout``-pixel square. ``seed`` is a
    SeedGenerator or a stateless (2,) seed (``random_draws``).
    """
    images = ops.cast(images, "float32")
    draw = random_draws(seed)
    batch = ops.shape(images)[0]
    height, width = images.shape[1], images.shape[2]
    pixels = draw(TRANSLATE, (2, batch), -translate, translate + 1, "int32") if translate else None
    mirror = draw(FLIP, (batch,), 0.0, 1.0, "float32") < 0.5 if flip else None
    if rotation or zoom or shift:
        images = resample(images, draw, rotation, zoom, shift, mirror, pixels, fill_mode)
    else:
        if mirror is not None:
            images = ops.where(mirror[:, None, None, None], ops.flip(images, axis=2), images)
        if pixels is not None:
            images = shift_pixels(images, pixels[1], pixels[0], fill_mode)
    if cutout:
        corners = draw(CUTOUT, (2, batch), 0, min(height, width) - cutout + 1, "int32")
        images = cut_out(images, corners, cutout)
    return images


def resample(
    images: Any, draw: Draw, rotation: float, zoom: float, shift: float, mirror: Any, pixels: Any, fill_mode: str
) -> Any:
    """One bilinear resampling for rotation, zoom, fractional shift, flip and whole-pixel moves together.

    Output pixel (x, y) samples input R(angle) @ diag(zoom_x * mirror, zoom_y)
    @ (x - c, y - c) + c - shift: rotation, zoom, flip about the centre, then shift.
    """
    batch = ops.shape(images)[0]
    height, width = float(images.shape[1]), float(images.shape[2])
    angle = draw(ROTATION, (batch,), -rotation * math.pi / 180.0, rotation * math.pi / 180.0, "float32")
    zoom_x = 1.0 + draw(ZOOM_X, (batch,), -zoom, zoom, "float32")
    zoom_y = 1.0 + draw(ZOOM_Y, (batch,), -zoom, zoom, "float32")
    shift_x = draw(SHIFT_X, (batch,), -shift, shift, "float32") * width
    shift_y = draw(SHIFT_Y, (batch,), -shift, shift, "float32") * height
    if pixels is not None:
        shift_x = shift_x + ops.cast(pixels[0], "float32")
        shift_y = shift_y + ops.cast(pixels[1], "float32")
    sign = ops.ones((batch,)) if mirror is None else ops.where(mirror, -1.0, 1.0)
    cos, sin = ops.cos(angle), ops.sin(angle)
    a0, a1 = cos * zoom_x * sign, -sin * zoom_y
    b0, b1 = sin * zoom_x * sign, cos * zoom_y
    cx, cy = (width - 1.0) / 2.0, (height - 1.0) / 2.0
    a2 = cx - shift_x - a0 * cx - a1 * cy
    b2 = cy - shift_y - b0 * cx - b1 * cy
    zeros = ops.zeros((batch,))
    transforms = ops.stack([a0, a1, a2, b0, b1, b2, zeros, zeros], axis=1)
    return ops.image.affine_transform(
        images, transforms, interpolation="bilinear", fill_mode=fill_mode, fill_value=0.0, data_format="channels_last"
    )


@keras.saving.register_keras_serializable(package="kagglekit")
class RandomAffine(keras.layers.Layer):
    """Random rotation + zoom + shift + flip (+ whole-pixel moves, cutout); identity at inference.

    Called with ``seed=`` (a stateless (2,) tensor) it is reproducible per
    batch, which is how the TensorFlow pipeline makes a resumed run see the same
    augmentation; without one it draws from its own SeedGenerator, which is how
    it runs inside the training model (JAX, GPUs): there the resume point keeps
    the generator's state (``weight_callbacks.random_states``) for the same end.
    It computes in float32 whatever the global precision policy.
    """

    def __init__(
        self,
        rotation: float = 0.0,
        zoom: float = 0.0,
        shift: float = 0.0,
        flip: bool = False,
        fill_mode: str = "nearest",
        seed: int | None = None,
        translate: int = 0,
        cutout: int = 0,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        if fill_mode not in FILL_MODES:
            raise ValueError(f"fill_mode must be one of {FILL_MODES}, not {fill_mode!r}")
        self.rotation, self.zoom, self.shift = float(rotation), float(zoom), float(shift)
        self.flip, self.fill_mode, self.seed = bool(flip), fill_mode, seed
        self.translate, self.cutout = int(translate), int(cutout)
        self.seed_generator = keras.random.SeedGenerator(seed)
        # TensorFlow's resampling op (ImageProjectiveTransformV3) has no XLA kernel; gathers do.
        self.supports_jit = not self.resamples or keras.backend.backend() != "tensorflow"

    @property
    def resamples(self) -> bool:
        """Whether a bilinear resampling is needed (rotation, zoom or fractional shift), not just gathers."""
        return bool(self.rotation or self.zoom or self.shift)

    @property
    def is_identity(self) -> bool:
        return not (self.resamples or self.flip or self.translate or self.cutout)

    def call(self, images: Any, training: bool | None = None, seed: Any = None) -> Any:
        images = ops.cast(images, "float32")
        if not training or self.is_identity:
            return images
        return affine_batch(
            images,
            self.seed_generator if seed is None else seed,
            self.rotation,
            self.zoom,
            self.shift,
            self.flip,
            self.fill_mode,
            self.translate,
            self.cutout,
        )

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "rotation": self.rotation,
            "zoom": self.zoom,
            "shift": self.shift,
            "flip": self.flip,
            "fill_mode": self.fill_mode,
            "seed": self.seed,
            "translate": self.translate,
            "cutout": self.cutout,
        }


ALTERNATING = "alternating"


def flip_mode(recipe: dict[str, Any]) -> str:
    """ "random", "alternating" or "none": the recipe's ``flip`` (true, "alternating", false).

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
        rotation=recipe.get("rotation", 0.0),
        zoom=recipe.get("zoom", 0.0),
        shift=recipe.get("shift", 0.0),
        flip=flip_mode(recipe) == "random",
        fill_mode=recipe.get("fill_mode", "nearest"),
        seed=seed,
        name="augment",
        translate=recipe.get("translate", 0),
        cutout=recipe.get("cutout", 0),
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
