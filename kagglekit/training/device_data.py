"""The training set held on the accelerator: uploaded once, each step gathers and flips its batch there.

On JAX the host sends only (image index, epoch parity) pairs, 8 bytes an image
instead of 3,072, and the training model's first layer gathers the uint8
images from a non-trainable variable and applies the alternating flip; the
recipe's RandomAffine follows. So the whole input pipeline is part of the
XLA-compiled training step and no batch of pixels crosses from the host. The
images are the data, not the model: they are kept out of every saved file
(``best.keras`` holds only the core model; the resume point skips them).
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import ops

INDEX, PARITY = 0, 1  # the two columns of a step's input


class DeviceImages(keras.layers.Layer):
    """(B, 2) int32 [index, epoch parity] -> (B, H, W, C) uint8 images, mirrored where the alternating flip says.

    ``mirrored_first`` (N,) marks the images mirrored in even epochs; odd
    epochs mirror the others. Rows with parity 0 and ``mirrored_first`` 0
    (validation images) come out as they are.
    """

    def __init__(self, images: np.ndarray, mirrored_first: np.ndarray | None = None, **kwargs: Any) -> None:
        super().__init__(trainable=False, autocast=False, **kwargs)
        self.alternating = mirrored_first is not None
        self.images = self.add_weight(
            shape=images.shape,
            dtype="uint8",
            trainable=False,
            name="images",
            initializer=lambda shape, dtype: ops.convert_to_tensor(images, dtype="uint8"),
        )
        if self.alternating:
            self.mirrored_first = self.add_weight(
                shape=mirrored_first.shape,
                dtype="int32",
                trainable=False,
                name="mirrored_first",
                initializer=lambda shape, dtype: ops.convert_to_tensor(mirrored_first.astype(np.int32)),
            )

    def call(self, rows: Any) -> Any:
        index = rows[:, INDEX]
        batch = ops.take(self.images, index, axis=0)
        if not self.alternating:
            return batch
        mirrored = ops.not_equal(ops.take(self.mirrored_first, index), rows[:, PARITY])
        return ops.where(mirrored[:, None, None, None], ops.flip(batch, axis=2), batch)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return (input_shape[0], *self.images.shape[1:])

    def save_own_variables(self, store: Any) -> None:
        """Nothing: a resume point must not carry 150 MB of training images."""

    def load_own_variables(self, store: Any) -> None:
        """Nothing: the images come from the data cache, not from a saved file."""


def mirrored_first(n: int, seed: int) -> np.ndarray:
    """Which of ``n`` training images the alternating flip mirrors in even epochs: a seeded half."""
    return np.random.default_rng([seed, 1]).random(n) < 0.5


def index_batches(
    n: int,
    targets: np.ndarray,
    batch_size: int,
    seed: int,
    first_epoch: int,
    multiple: int = 1,
) -> keras.utils.PyDataset:
    """The steps' [index, parity] rows and targets, from epoch ``first_epoch`` on.

    The permutation of epoch e comes from (seed, e) alone, so a resumed run
    sees the same batches. ``multiple``: every batch's length is cut to a
    multiple of the device count (a data-parallel step splits it evenly), which
    drops at most ``multiple - 1`` images of the epoch's last batch.
    """

    class IndexBatches(keras.utils.PyDataset):
        def __init__(self) -> None:
            super().__init__()
            self.epoch = first_epoch
            self.order = self.permutation()

        def permutation(self) -> np.ndarray:
            return np.random.default_rng([seed, 2, self.epoch]).permutation(n)

        def __len__(self) -> int:
            return -(-n // batch_size)

        def __getitem__(self, step: int) -> tuple[np.ndarray, np.ndarray]:
            index = self.order[step * batch_size : (step + 1) * batch_size]
            index = index[: len(index) - len(index) % multiple]
            rows = np.stack([index, np.full(len(index), self.epoch % 2)], axis=1).astype(np.int32)
            return rows, targets[index]

        def on_epoch_end(self) -> None:
            self.epoch += 1
            self.order = self.permutation()

    return IndexBatches()


def validation_rows(first: int, n: int, multiple: int = 1) -> np.ndarray:
    """[index, 0] rows for images first..first+n-1 (validation images stored after the training ones)."""
    n -= n % multiple
    return np.stack([np.arange(first, first + n), np.zeros(n, np.int64)], axis=1).astype(np.int32)
