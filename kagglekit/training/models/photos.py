"""``photos``: airbench's network for photographs squeezed to 64x64 (dogs-vs-cats-redux-kernels-edition).

The same tricks as ``fast`` (airbench94), with the first layer tiling the image in
2x2 patches instead of sliding over it (``whiten_stride=2``): the 64x64 photograph
becomes a 32x32 map of whitened patches, so a step costs what a CIFAR-10 step does
while every pixel still reaches the network.

``photos-big`` is the recipe for a GPU: ``best`` (airbench96, residual 128/512/512)
on photographs at 128x128, tiled the same way into a 64x64 map, so a step costs
about four of ``best``'s on CIFAR-10 and twenty of ``photos``'. Not measured:
no GPU was lent while it was written (bench/RESULTS.md says so).
"""

from __future__ import annotations

from kagglekit.training.models.airbench import AIRBENCH94, AIRBENCH96, register_airbench

PHOTOS = {
    **AIRBENCH94,
    "epochs": 24,
    "batch_size": 256,  # 10,800 photographs are 42 steps an epoch at 256 (11 at fast's 1024)
    "lr": 0.375,  # fast's 1.5 at batch 1024, scaled with the batch
    "translate": 4,  # pixels of the 64: 6 % of the side
    "whiten_stride": 2,
}

PHOTOS_BIG = {
    **AIRBENCH96,
    "epochs": 30,
    "batch_size": 256,
    "lr": 0.29,  # best's 1.17 at batch 1024, scaled with the batch
    "translate": 8,  # pixels of the 128: 6 % of the side, as photos'
    "cutout": 24,  # best's 12 of CIFAR-10's 32, scaled with the side
    "whiten_stride": 2,
    "image_size": [128, 128],  # a cache of its own, built from raw/ (the spec's is 64x64)
}

register_airbench(
    "photos",
    "photographs at 64x64: airbench94 on 2x2 patches tiled (stride 2), batch 256, flip + translate 4, TTA",
    PHOTOS,
)
register_airbench(
    "photos-big",
    "photographs at 128x128 for a GPU: airbench96 (residual 128/512/512) on 2x2 patches tiled, cutout 24, translate 8, 30 epochs",
    PHOTOS_BIG,
)
