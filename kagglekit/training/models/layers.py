"""Building blocks of the airbench-style versions (``fast``, ``best``) as Keras 3 layers.

They are registered as serializable, so a ``best.keras`` checkpoint reloads with
``keras.models.load_model`` alone, and each is small enough to read at a glance.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import ops

PACKAGE = "kagglekit"


def l2_regularizer(l2: float) -> keras.regularizers.Regularizer | None:
    """PyTorch-style weight decay ``l2`` (gradient += l2 * w) as a Keras loss term (l2/2 * w^2)."""
    return keras.regularizers.L2(l2 / 2) if l2 else None


@keras.saving.register_keras_serializable(package=PACKAGE)
class DiracInitializer(keras.initializers.Initializer):
    """Conv kernels that start as the identity on the first ``in`` channels (airbench).

    The remaining output channels get PyTorch's default init (uniform in
    ±1/sqrt(fan_in)), so a deep stack of freshly built convolutions passes the
    input through instead of scrambling it, and trains faster from step one.
    """

    def __init__(self, seed: int | None = None) -> None:
        self.seed = seed

    def __call__(self, shape: tuple[int, ...], dtype: Any = None) -> Any:
        height, width, n_in, n_out = shape
        base = keras.initializers.VarianceScaling(1.0 / 3.0, "fan_in", "uniform", seed=self.seed)(shape, dtype)
        identity = np.zeros(shape, np.float32)
        mask = np.ones(shape, np.float32)
        n = min(n_in, n_out)
        mask[..., :n] = 0.0
        identity[height // 2, width // 2, np.arange(n), np.arange(n)] = 1.0
        return base * ops.convert_to_tensor(mask, dtype) + ops.convert_to_tensor(identity, dtype)

    def get_config(self) -> dict[str, Any]:
        return {"seed": self.seed}


@keras.saving.register_keras_serializable(package=PACKAGE)
class PatchWhitening(keras.layers.Layer):
    """A frozen 2x2 convolution whose filters whiten the image's 2x2 patches.

    ``adapt(images)`` sets the filters from the eigenvectors of the patch
    covariance of (a sample of) the training images, scaled by 1/sqrt(eigenvalue),
    each paired with its negative (so a following GELU keeps both signs): the
    network starts from decorrelated, unit-variance features and the first
    layer needs no training. Only the bias trains. Input: raw 0..255 pixels.

    ``stride`` = ``patch`` makes the patches tile the image without overlap: a
    lossless space-to-depth that halves the side (photographs at 64x64 then cost
    what CIFAR's 32x32 does, and no pixel's information is thrown away).
    """

    def __init__(self, patch: int = 2, eps: float = 5e-4, l2: float = 0.0, stride: int = 1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.patch, self.eps, self.l2, self.stride = int(patch), float(eps), float(l2), int(stride)

    def build(self, input_shape: tuple) -> None:
        channels = int(input_shape[-1])
        size = self.patch * self.patch * channels
        self.mean = self.add_weight(shape=(channels,), initializer="zeros", trainable=False, name="mean")
        self.std = self.add_weight(shape=(channels,), initializer="ones", trainable=False, name="std")
        self.kernel = self.add_weight(
            shape=(self.patch, self.patch, channels, 2 * size),
            initializer="glorot_uniform",
            trainable=False,
            name="kernel",
        )
        self.bias = self.add_weight(
            shape=(2 * size,), initializer="zeros", name="bias", regularizer=l2_regularizer(self.l2)
        )

    def adapt(self, images: np.ndarray) -> None:
        pixels = images.astype(np.float64) / 255.0
        mean, std = pixels.mean(axis=(0, 1, 2)), pixels.std(axis=(0, 1, 2))
        normalised = (pixels - mean) / std
        p, c = self.patch, normalised.shape[-1]
        windows = np.lib.stride_tricks.sliding_window_view(normalised, (p, p), axis=(1, 2))  # n,h',w',c,p,p
        patches = windows.transpose(0, 1, 2, 4, 5, 3).reshape(-1, p * p * c)  # (p, p, c) order = the kernel's
        covariance = patches.T @ patches / len(patches)
        eigenvalues, eigenvectors = np.linalg.eigh(covariance)
        filters = eigenvectors[:, ::-1] / np.sqrt(eigenvalues[::-1] + self.eps)
        kernel = np.concatenate([filters, -filters], axis=1).reshape(p, p, c, -1)
        self.mean.assign(mean.astype(np.float32))
        self.std.assign(std.astype(np.float32))
        self.kernel.assign(kernel.astype(np.float32))

    def call(self, images: Any) -> Any:
        # In the compute dtype (bfloat16 on TPUs, float16 on GPUs): Keras hands the layer its
        # variables cast to it, and a convolution takes one dtype.
        x = (ops.cast(images, self.compute_dtype) / 255.0 - self.mean) / self.std
        return ops.conv(x, self.kernel, strides=self.stride, padding="valid") + self.bias

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        n, h, w, _ = input_shape

        def side(length: int | None) -> int | None:
            return None if length is None else (length - self.patch) // self.stride + 1

        return (n, side(h), side(w), self.kernel.shape[-1])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "patch": self.patch, "eps": self.eps, "l2": self.l2, "stride": self.stride}


@keras.saving.register_keras_serializable(package=PACKAGE)
class ScaledBias(keras.layers.Layer):
    """A per-channel bias stored divided by ``scale``.

    Plain SGD moves ``scale * b`` ``scale**2`` times faster than ``b``, so this
    gives the BatchNorm biases airbench's 64x learning rate (scale 8) inside one
    ordinary Keras optimizer, while weight decay on the stored value shrinks them
    at the same rate as every other weight.
    """

    def __init__(self, scale: float = 8.0, l2: float = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scale, self.l2 = float(scale), float(l2)

    def build(self, input_shape: tuple) -> None:
        self.bias = self.add_weight(
            shape=(int(input_shape[-1]),), initializer="zeros", name="bias", regularizer=l2_regularizer(self.l2)
        )

    def call(self, x: Any) -> Any:
        return x + self.scale * self.bias

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "scale": self.scale, "l2": self.l2}
