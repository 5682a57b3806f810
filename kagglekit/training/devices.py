"""Pick the distribution, precision and compilation for the hardware here, on the Keras backend in use.

Never silently on the CPU: an accelerator the backend cannot drive stops
training with one line that names it and says what to do.

- TPU (Kaggle's v5e-8): JAX only, ``keras.distribution.DataParallel`` over all
  chips, bfloat16. TensorFlow on a TPU machine is refused (Kaggle's TPU image
  has no TensorFlow TPU runtime); kagglekit picks JAX there by itself unless
  KERAS_BACKEND says otherwise (``kagglekit.training.backend``).
- Several GPUs (Kaggle's 2xT4): MirroredStrategy on TensorFlow, DataParallel on
  JAX; float16 mixed precision on compute capability >= 7.0 (T4, V100, A100,
  H100), where tensor cores pay for it.
- CPU: bfloat16 where the CPU has AVX512_BF16 or AMX, else float32
  (``kagglekit.training.precision``). On TensorFlow, augmentation runs in
  tf.data; XLA compiles the model in float32 where the version gains from it
  (the seeds' dense-heavy networks; not airbench's convolutions, which
  oneDNN runs faster: bench/RESULTS.md), never in bfloat16. Several CPU devices (TF's
  logical devices, JAX's ``--xla_force_host_platform_device_count``) are used
  like several GPUs, which is how the multi-device code is tested on a CPU.
- On JAX augmentation always runs inside the compiled training step.
"""

from __future__ import annotations

import contextlib
import os
import platform
from dataclasses import dataclass
from typing import Any, ContextManager

import keras

from kagglekit.exceptions import HardwareError, UsageError
from kagglekit.training import precision
from kagglekit.training.backend import Machine

# XLA on the CPU: measured by bench/train_speed.py on the seed-002 model (see
# bench/RESULTS.md). On TensorFlow GPUs a resampling augmentation inside the
# model rules XLA out (build_models turns it on where the recipe allows).
CPU_JIT_COMPILE = True


@dataclass
class Hardware:
    kind: str  # "CPU", "GPU" or "TPU"
    name: str  # e.g. "2x Tesla T4", "CPU (2 cores)"
    replicas: int
    backend: str  # "tensorflow" or "jax"
    distribution: Any  # a tf.distribute strategy, a keras.distribution.DataParallel, or None
    mixed_precision: str  # Keras dtype policy name
    jit_compile: bool
    augment_on_device: bool
    precision_reason: str = ""

    def scope(self) -> ContextManager[Any]:
        """Build, train and save inside this: the strategy's or distribution's scope."""
        if self.distribution is None:
            return contextlib.nullcontext()
        return self.distribution.scope()

    @property
    def distribution_name(self) -> str:
        if self.distribution is None:
            return "single device"
        return type(self.distribution).__name__.replace("_DefaultDistributionStrategy", "single device")

    def describe(self) -> str:
        return (
            f"{self.name} | Keras on {self.backend} | {self.distribution_name}, {self.replicas} "
            f"replica{'s' * (self.replicas > 1)} | {self.mixed_precision}{f' ({self.precision_reason})' if self.precision_reason else ''} | XLA {'on' if self.jit_compile else 'off'} | "
            f"augmentation on {'device' if self.augment_on_device else 'host (tf.data)'}"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "replicas": self.replicas,
            "backend": self.backend,
            "strategy": self.distribution_name,
            "mixed_precision": self.mixed_precision,
            "precision_reason": self.precision_reason,
            "jit_compile": self.jit_compile,
            "augment_on_device": self.augment_on_device,
        }


def detect(requested_precision: str = "auto", machine: Machine | None = None, cpu_xla: bool = True) -> Hardware:
    """The hardware of this process and the precision to compute in (``precision.CHOICES``).

    ``cpu_xla``: whether the model version gains from XLA on a CPU in float32.
    """
    machine = machine or Machine()
    backend = keras.backend.backend()
    if backend == "jax":
        hardware = _jax(machine)
    elif backend == "tensorflow":
        hardware = _tensorflow(machine)
    else:
        raise UsageError(f"Keras runs on {backend!r}; kagglekit trains on tensorflow or jax: set KERAS_BACKEND=jax")
    chosen = precision.choose(requested_precision, hardware.kind, backend, hardware.mixed_precision)
    hardware.mixed_precision, hardware.precision_reason = chosen.policy, chosen.reason
    if hardware.kind == "CPU" and backend == "tensorflow" and hardware.jit_compile:
        hardware.jit_compile = precision.xla_on_cpu(cpu_xla, chosen)
    return hardware


def refuse_cpu(machine: Machine, backend: str, remedy: str) -> None:
    """Stop unless this machine has no accelerator, or the CPU was asked for (KAGGLEKIT_ALLOW_CPU=1)."""
    signs = machine.tpu_signs() or machine.gpu_signs()
    if signs and not machine.cpu_allowed():
        raise HardwareError(
            f"this machine has an accelerator ({', '.join(signs)}) but Keras on {backend} sees only the CPU: "
            f"{remedy}; or set KAGGLEKIT_ALLOW_CPU=1 to train on the CPU on purpose"
        )


def _jax(machine: Machine) -> Hardware:
    import jax

    devices = (machine.jax_devices or jax.devices)()
    platform_name = devices[0].platform
    if machine.tpu_signs() and platform_name != "tpu" and not machine.cpu_allowed():
        raise HardwareError(
            f"this is a TPU machine ({', '.join(machine.tpu_signs())}) but JAX sees {platform_name} devices only: "
            "install JAX's TPU build (pip install 'jax[tpu]'), or free the TPU held by another process "
            "(restart the notebook's kernel); or set KAGGLEKIT_ALLOW_CPU=1 to train on the CPU on purpose"
        )
    if platform_name == "cpu":
        refuse_cpu(machine, "jax", "install JAX's CUDA build (pip install 'jax[cuda12]')")
    n = len(devices)
    distribution = keras.distribution.DataParallel(devices=devices) if n > 1 else None
    kind = {"tpu": "TPU", "gpu": "GPU", "cuda": "GPU", "rocm": "GPU"}.get(platform_name, "CPU")
    if kind == "CPU":
        name, policy = _cpu_name(n), "float32"
    else:
        model = getattr(devices[0], "device_kind", platform_name.upper())
        name = f"{n}x {model}" if n > 1 else model
        policy = "mixed_bfloat16" if kind == "TPU" else _gpu_policy(getattr(devices[0], "compute_capability", "0.0"))
    return Hardware(kind, name, n, "jax", distribution, policy, True, True)


def _tensorflow(machine: Machine) -> Hardware:
    if machine.tpu_signs():
        raise HardwareError(
            f"this is a TPU machine ({', '.join(machine.tpu_signs())}): kagglekit trains on TPUs with Keras "
            "on JAX only; rerun with KERAS_BACKEND=jax (or unset KERAS_BACKEND and kagglekit picks JAX)"
        )
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        for gpu in gpus:
            try:
                tf.config.experimental.set_memory_growth(gpu, True)
            except RuntimeError:  # already initialised; harmless
                pass
        details = tf.config.experimental.get_device_details(gpus[0])
        name = details.get("device_name", "GPU")
        capability = ".".join(str(part) for part in details.get("compute_capability", (0, 0)))
        strategy = tf.distribute.MirroredStrategy() if len(gpus) > 1 else None
        label = f"{len(gpus)}x {name}" if len(gpus) > 1 else name
        return Hardware("GPU", label, len(gpus), "tensorflow", strategy, _gpu_policy(capability), False, True)
    refuse_cpu(
        machine,
        "tensorflow",
        "install TensorFlow's CUDA build (pip install 'tensorflow[and-cuda]') "
        "or use KERAS_BACKEND=jax with JAX's CUDA build",
    )
    cpus = tf.config.list_logical_devices("CPU")
    if len(cpus) == 1:
        return Hardware("CPU", _cpu_name(1), 1, "tensorflow", None, "float32", CPU_JIT_COMPILE, False)
    # XLA cannot reach variables on another logical CPU device (TensorFlow's known XLA issue), so off.
    strategy = tf.distribute.MirroredStrategy([device.name for device in cpus])
    return Hardware("CPU", _cpu_name(len(cpus)), len(cpus), "tensorflow", strategy, "float32", False, False)


def _gpu_policy(capability: str) -> str:
    major_minor = tuple(int(part) for part in str(capability).split(".")[:2] if part.isdigit())
    return "mixed_float16" if major_minor >= (7, 0) else "float32"


def _cpu_name(devices: int) -> str:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    name = f"CPU ({cores} cores, {platform.machine()})"
    return f"{devices}x {name}" if devices > 1 else name


def backend_version() -> str:
    """The backend and its version, for a run's config."""
    backend = keras.backend.backend()
    module = __import__(backend)
    return f"{backend} {module.__version__}"


def synchronise_batch_norm(model: keras.Model, hardware: Hardware) -> None:
    """Several TensorFlow replicas: BatchNorm over the global batch, as one device and JAX's DataParallel compute it."""
    if hardware.backend == "tensorflow" and hardware.replicas > 1:
        for layer in batch_norms(model):
            layer.synchronized = True


@contextlib.contextmanager
def portable(model: keras.Model) -> Any:
    """Save inside this: a ``.keras`` file without TensorFlow-only settings, so every backend loads it."""
    synced = [layer for layer in batch_norms(model) if layer.synchronized]
    for layer in synced:
        layer.synchronized = False
    try:
        yield model
    finally:
        for layer in synced:
            layer.synchronized = True


def batch_norms(model: keras.Model) -> list[keras.layers.BatchNormalization]:
    return [layer for layer in model._flatten_layers() if isinstance(layer, keras.layers.BatchNormalization)]
