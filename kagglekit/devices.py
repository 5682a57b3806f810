"""Pick the distribution strategy, precision and compilation for whatever hardware is here.

TPU (Kaggle's TPU VMs) -> TPUStrategy, bfloat16, augmentation on the host
(ImageProjectiveTransform has no TPU kernel). Several GPUs (Kaggle's 2xT4) ->
MirroredStrategy. One GPU -> the default strategy. On GPUs the augmentation
layer runs inside the training model, on the device; float16 mixed precision on
compute capability >= 7.0 (T4, V100, A100, H100), where tensor cores pay for it.
CPU -> the default strategy, float32, augmentation in tf.data.
"""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass
from typing import Any

import tensorflow as tf

# XLA on the CPU: measured by bench/train_speed.py on the seed-002 model (see
# bench/RESULTS.md); on GPUs the augmentation layer inside the model rules XLA out.
CPU_JIT_COMPILE = True


@dataclass
class Hardware:
    kind: str                 # "CPU", "GPU" or "TPU"
    name: str                 # e.g. "2x Tesla T4", "CPU (2 cores)"
    replicas: int
    strategy: Any
    mixed_precision: str      # Keras dtype policy name
    jit_compile: bool
    augment_on_device: bool

    def describe(self) -> str:
        strategy = type(self.strategy).__name__.replace("_DefaultDistributionStrategy", "default strategy")
        return (f"{self.name} | {strategy}, {self.replicas} replica{'s' * (self.replicas > 1)} | "
                f"{self.mixed_precision} | XLA {'on' if self.jit_compile else 'off'} | "
                f"augmentation on {'device' if self.augment_on_device else 'host (tf.data)'}")

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "replicas": self.replicas,
                "strategy": type(self.strategy).__name__, "mixed_precision": self.mixed_precision,
                "jit_compile": self.jit_compile, "augment_on_device": self.augment_on_device}


def _tpu() -> Hardware | None:
    if not (os.environ.get("TPU_NAME") or os.path.exists("/dev/accel0") or os.environ.get("COLAB_TPU_ADDR")):
        return None
    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=os.environ.get("TPU_NAME", "local"))
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
    except (ValueError, RuntimeError, tf.errors.OpError):
        return None
    strategy = tf.distribute.TPUStrategy(resolver)
    n = strategy.num_replicas_in_sync
    return Hardware("TPU", f"TPU ({n} cores)", n, strategy, "mixed_bfloat16", True, False)


def _gpu_name_and_capability(gpu: Any) -> tuple[str, tuple[int, int]]:
    details = tf.config.experimental.get_device_details(gpu)
    return details.get("device_name", "GPU"), tuple(details.get("compute_capability", (0, 0)))


def detect(mixed_precision: bool = True) -> Hardware:
    """The hardware of this process; ``mixed_precision=False`` forces float32 everywhere."""
    tpu = _tpu()
    if tpu is not None:
        if not mixed_precision:
            tpu.mixed_precision = "float32"
        return tpu
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        for gpu in gpus:
            try:
                tf.config.experimental.set_memory_growth(gpu, True)
            except RuntimeError:  # already initialised; harmless
                pass
        name, capability = _gpu_name_and_capability(gpus[0])
        strategy = tf.distribute.MirroredStrategy() if len(gpus) > 1 else tf.distribute.get_strategy()
        policy = "mixed_float16" if mixed_precision and capability >= (7, 0) else "float32"
        label = f"{len(gpus)}x {name}" if len(gpus) > 1 else name
        return Hardware("GPU", label, len(gpus), strategy, policy, False, True)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    name = f"CPU ({cores} cores, {platform.machine()})"
    return Hardware("CPU", name, 1, tf.distribute.get_strategy(), "float32", CPU_JIT_COMPILE, False)
