"""ResNet-50 (random weights, resnet_50_imagenet's architecture) under the `pretrained` recipe at 224x224: images/s.

No weights can be downloaded here, so this measures speed only: it writes a random ResNet-50 preset to
PRESET_DIR with keras-hub's save_to_preset and times the recipe's model on it (bench/RESULTS.md, issue 22 item 4).

    .venv/bin/python bench/pretrained_speed.py PRESET_DIR [float32 | mixed_bfloat16 | mixed_float16]
"""

from __future__ import annotations

import sys
import time

import keras
import keras_hub
import numpy as np

from kagglekit.training.models import get_version
from kagglekit.training.models.compile import compile_model

BATCH, STEPS = 32, 4


def save_random_resnet50(preset: str) -> None:
    keras_hub.models.ResNetBackbone(
        input_conv_filters=[64],
        input_conv_kernel_sizes=[7],
        stackwise_num_filters=[64, 128, 256, 512],
        stackwise_num_blocks=[3, 4, 6, 3],
        stackwise_num_strides=[1, 2, 2, 2],
        block_type="bottleneck_block",
    ).save_to_preset(preset)


def main(preset: str, policy: str) -> None:
    save_random_resnet50(preset)
    keras.mixed_precision.set_global_policy(policy)
    recipe = get_version("pretrained").recipe({"preset": preset})
    model = get_version("pretrained").architecture(recipe, (224, 224, 3), 2)
    compile_model(model, recipe, 100, jit_compile=False)
    x = np.random.default_rng(0).integers(0, 256, (BATCH, 224, 224, 3)).astype("float32")
    y = np.zeros(BATCH, "int64")
    model.train_on_batch(x, y)  # traces the step
    start = time.perf_counter()
    for _ in range(STEPS):
        model.train_on_batch(x, y)
    print(
        f"{policy}: {model.count_params():,} weights, {STEPS * BATCH / (time.perf_counter() - start):.1f} img/s training"
    )
    model.predict(x, verbose=0)  # traces the prediction
    start = time.perf_counter()
    model.predict(x, verbose=0)
    print(f"{policy}: {BATCH / (time.perf_counter() - start):.1f} img/s predicting")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "float32")
