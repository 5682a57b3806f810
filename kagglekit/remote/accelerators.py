"""Kaggle's accelerators by kagglekit's names; free of the kaggle client, so the CLI's parser builds without it."""

from __future__ import annotations

# --accelerator choices -> Kaggle's machine shapes (None: no accelerator, the CPU image).
ACCELERATORS: dict[str, str | None] = {
    "t4x2": "NvidiaTeslaT4",
    "p100": "NvidiaTeslaP100",
    "tpu": "TpuV5E8",
    "cpu": None,
}
QUOTA_KIND = {"NvidiaTeslaT4": "gpu", "NvidiaTeslaP100": "gpu", "TpuV5E8": "tpu"}
