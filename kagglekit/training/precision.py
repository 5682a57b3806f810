"""Which Keras dtype policy to compute in, and why: the one choice behind train's and predict's speed.

On a CPU, TensorFlow's oneDNN kernels run bfloat16 convolutions and matrix
products in hardware where the CPU has AVX512_BF16 or AMX, about twice as fast
as float32 for ``fast``'s network, at the same accuracy (bench/RESULTS.md,
"Precision on the CPU"). Without those instructions bfloat16 is emulated and
slower, so float32 stays. XLA's CPU code gains nothing from bfloat16, so
bfloat16 runs without XLA. GPUs keep their float16 (tensor cores, compute
capability >= 7.0) and TPUs bfloat16. ``--precision float32`` forces the old way.
"""

from __future__ import annotations

import platform
import re
from dataclasses import dataclass
from pathlib import Path

from kagglekit.exceptions import UsageError

CPUINFO = Path("/proc/cpuinfo")
CHOICES = ("auto", "float32", "bfloat16", "float16")
POLICIES = {"float32": "float32", "bfloat16": "mixed_bfloat16", "float16": "mixed_float16"}
BF16_FLAGS = ("amx_bf16", "avx512_bf16")  # oneDNN's bfloat16 instructions (AVX512_BF16; AMX's tiles)


@dataclass(frozen=True)
class Precision:
    policy: str  # a Keras dtype policy name: float32, mixed_bfloat16, mixed_float16
    reason: str  # one phrase for the run's header line and config.json

    @property
    def is_bfloat16(self) -> bool:
        return self.policy == "mixed_bfloat16"


def choose(
    requested: str, kind: str, backend: str, accelerator_policy: str = "float32", flags: set[str] | None = None
) -> Precision:
    """The policy for ``kind`` ("CPU", "GPU", "TPU") on ``backend``; ``accelerator_policy`` is the GPU/TPU default."""
    if requested not in CHOICES:
        raise UsageError(f"unknown precision {requested!r}; choose one of {', '.join(CHOICES)}")
    if requested == "float16" and kind != "GPU":
        raise UsageError(f"--precision float16 needs a GPU (this is a {kind}); use bfloat16 or float32")
    if requested != "auto":
        return Precision(POLICIES[requested], f"--precision {requested}")
    if kind != "CPU":
        why = {"mixed_float16": "float16 tensor cores", "mixed_bfloat16": "TPU bfloat16 units"}.get(accelerator_policy)
        return Precision(accelerator_policy, why or "GPU without float16 tensor cores")
    found = [flag for flag in BF16_FLAGS if flag in (cpu_flags() if flags is None else flags)]
    if backend != "tensorflow":
        return Precision("float32", "CPU on JAX: XLA gains nothing from bfloat16")
    if found:
        return Precision("mixed_bfloat16", f"CPU has {'+'.join(found)}")
    return Precision("float32", "CPU without AVX512_BF16/AMX")


def xla_on_cpu(version_gains: bool, chosen: Precision) -> bool:
    """XLA on a TensorFlow CPU: only in float32, and only for versions it speeds up (``ModelVersion.cpu_xla``)."""
    return version_gains and not chosen.is_bfloat16


def _cpuinfo() -> str:
    try:
        return CPUINFO.read_text()
    except OSError:  # not Linux: no flags known, so float32
        return ""


def cpu_flags(cpuinfo: str | None = None) -> set[str]:
    """The AVX-512 and AMX flags, the ones that decide what oneDNN can do in bfloat16."""
    text = _cpuinfo() if cpuinfo is None else cpuinfo
    return set(re.findall(r"\b(avx512[a-z_0-9]*|amx[a-z_0-9]*)\b", text))


def cpu_model(cpuinfo: str | None = None) -> str:
    text = _cpuinfo() if cpuinfo is None else cpuinfo
    match = re.search(r"^model name\s*:\s*(.+)$", text, re.MULTILINE)
    return match.group(1).strip() if match else (platform.processor() or platform.machine())
