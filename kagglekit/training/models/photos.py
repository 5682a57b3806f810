"""``photos``: airbench's network for photographs squeezed to 64x64 (dogs-vs-cats-redux-kernels-edition).

The same tricks as ``fast`` (airbench94), with the first layer tiling the image in
2x2 patches instead of sliding over it (``whiten_stride=2``): the 64x64 photograph
becomes a 32x32 map of whitened patches, so a step costs what a CIFAR-10 step does
while every pixel still reaches the network.
"""

from __future__ import annotations

from kagglekit.training.models import ModelVersion, register
from kagglekit.training.models.airbench import AIRBENCH94, airbench_architecture, prepare_whitening

PHOTOS = {
    **AIRBENCH94,
    "epochs": 24,
    "batch_size": 256,  # 10,800 photographs are 42 steps an epoch at 256 (11 at fast's 1024)
    "lr": 0.375,  # fast's 1.5 at batch 1024, scaled with the batch
    "translate": 4,  # pixels of the 64: 6 % of the side
    "whiten_stride": 2,
}

register(
    ModelVersion(
        name="photos",
        summary="photographs at 64x64: airbench94 on 2x2 patches tiled (stride 2), batch 256, flip + translate 4, TTA",
        defaults=PHOTOS,
        architecture=airbench_architecture,
        prepare=prepare_whitening,
        cpu_xla=False,
    )
)
