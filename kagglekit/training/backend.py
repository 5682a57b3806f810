"""Which Keras backend kagglekit runs on, chosen before Keras is imported, and the signs of accelerators.

``KERAS_BACKEND`` decides when set. Otherwise TensorFlow where it is installed
(what the CPU path was measured fastest with), except on a TPU machine, where
only JAX drives the chips (Kaggle's TPU image ships ``tensorflow-cpu``), and
JAX where TensorFlow is absent (the GPU machines this project is lent).

The signs are read from the environment and ``/dev`` only, through a
``Machine`` that tests point elsewhere, so they cost nothing and never import
a framework.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from importlib.util import find_spec
from pathlib import Path
from typing import Any, Callable, Mapping

SUPPORTED = ("tensorflow", "jax")


@dataclass(frozen=True)
class Machine:
    """Where accelerators show: environment variables, the device files under ``dev``, and
    ``jax_devices`` (``jax.devices`` when None; a test hands in stand-ins for a TPU's chips)."""

    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)
    dev: Path = Path("/dev")
    jax_devices: Callable[[], list[Any]] | None = None

    def tpu_signs(self) -> list[str]:
        """Why this looks like a TPU VM (Kaggle's v5e-8: ISTPUVM=1, TPU_PROCESS_ADDRESSES, /dev/vfio/N)."""
        signs = [
            f"{name}={self.environ[name]}"
            for name in ("ISTPUVM", "TPU_PROCESS_ADDRESSES", "TPU_NAME", "COLAB_TPU_ADDR")
            if self.environ.get(name) and self.environ.get(name) != "0"
        ]
        vfio = self.dev / "vfio"
        if vfio.is_dir() and any(entry.name.isdigit() for entry in vfio.iterdir()):
            signs.append(f"{vfio}/N")
        if any(self.dev.glob("accel[0-9]*")):
            signs.append(f"{self.dev}/accel*")
        return signs

    def gpu_signs(self) -> list[str]:
        """NVIDIA device files (/dev/nvidia0, ...): a GPU the process could use."""
        return sorted(str(p) for p in self.dev.glob("nvidia*") if re.fullmatch(r"nvidia\d+", p.name))

    def cpu_allowed(self) -> bool:
        """KAGGLEKIT_ALLOW_CPU=1: train on the CPU on purpose although an accelerator is here."""
        return self.environ.get("KAGGLEKIT_ALLOW_CPU") == "1"


def choose(machine: Machine | None = None) -> tuple[str, str]:
    """(backend, why) for a process that has not imported Keras yet."""
    machine = machine or Machine()
    named = machine.environ.get("KERAS_BACKEND")
    if named:
        return named, "KERAS_BACKEND"
    if machine.tpu_signs():
        return "jax", f"a TPU machine ({', '.join(machine.tpu_signs())}): only JAX drives its chips"
    if find_spec("tensorflow") is not None:
        return "tensorflow", "the default where TensorFlow is installed"
    return "jax", "TensorFlow is not installed"


def missing(find: Callable[[str], Any] | None = None, environ: Mapping[str, str] | None = None) -> str | None:
    """What to install, in one line, when this process could not run Keras at all; None when it can.

    kagglekit's wheel names no backend (Kaggle's images each bring their own), so a plain
    ``pip install kagglekit`` elsewhere has none until one of the extras is asked for.
    """
    environ = os.environ if environ is None else environ
    find = find or find_spec
    present = [name for name in SUPPORTED if find(name) is not None]
    if not present:
        return (
            "no Keras backend is installed (neither TensorFlow nor JAX): pip install 'kagglekit[tensorflow]' "
            "(CPU, GPU) or 'kagglekit[jax]' (TPU, GPU), or `make install` in a clone"
        )
    named = environ.get("KERAS_BACKEND")
    if named in SUPPORTED and named not in present:
        return (
            f"KERAS_BACKEND={named} but {named} is not installed: pip install 'kagglekit[{named}]', "
            f"or unset KERAS_BACKEND to use {present[0]}"
        )
    if find("keras") is None:
        return "Keras is not installed: pip install 'keras>=3,<4'"
    return None


_reason = "KERAS_BACKEND"


def set_default(machine: Machine | None = None) -> str:
    """Put the chosen backend in KERAS_BACKEND (Keras reads it once, at import) and remember why."""
    global _reason
    backend, _reason = choose(machine)
    os.environ["KERAS_BACKEND"] = backend
    return backend


def reason() -> str:
    """Why this process runs on its backend, for the training log."""
    return _reason
