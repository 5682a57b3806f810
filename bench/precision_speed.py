"""Training and prediction speed of a version under float32 and mixed_bfloat16, with XLA on and off.

    python bench/precision_speed.py [--model fast] [--batch 1024] [--steps 3] [--repeats 2] [--shape 32 32 3]

The network is the product's (``get_version(model).build``), fed random uint8
images of CIFAR's shape (``--shape 28 28 1`` for digit-recognizer's), since content
does not change the arithmetic. Every
configuration is timed ``--repeats`` times, interleaved, in this one process,
so a shared machine's drift shows as spread rather than as a ranking. Prints
the CPU and its AVX-512/AMX flags first: bfloat16 pays only where oneDNN has
bfloat16 instructions (AVX512_BF16, AMX).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import keras  # noqa: E402
import numpy as np  # noqa: E402

from kagglekit.training.models import get_version  # noqa: E402
from kagglekit.training.precision import cpu_flags, cpu_model  # noqa: E402

CONFIGS = [("float32", True), ("float32", False), ("mixed_bfloat16", True), ("mixed_bfloat16", False)]


def build(model: str, policy: str, xla: bool, steps: int, shape: tuple[int, int, int] = (32, 32, 3)) -> keras.Model:
    version = get_version(model)
    keras.mixed_precision.set_global_policy(policy)
    try:
        return version.build(version.recipe(), steps, input_shape=shape, jit_compile=xla)
    finally:
        keras.mixed_precision.set_global_policy("float32")


def rates(net: keras.Model, x: np.ndarray, y: np.ndarray, batch: int, steps: int) -> tuple[float, float]:
    """(training img/s, prediction img/s), each after one untimed warm-up call."""
    net.train_on_batch(x[:batch], y[:batch])
    start = time.perf_counter()
    for _ in range(steps):
        net.train_on_batch(x[:batch], y[:batch])
    train = steps * batch / (time.perf_counter() - start)
    net.predict(x, batch_size=batch, verbose=0)
    start = time.perf_counter()
    net.predict(x, batch_size=batch, verbose=0)
    return train, len(x) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="fast", help="model version")
    parser.add_argument("--batch", type=int, default=1024, help="images per training step and per predict batch")
    parser.add_argument("--steps", type=int, default=3, help="timed training steps per measurement")
    parser.add_argument("--predict-images", type=int, default=8192, help="images per timed predict call")
    parser.add_argument("--repeats", type=int, default=2, help="measurements per configuration, interleaved")
    parser.add_argument("--shape", type=int, nargs=3, default=[32, 32, 3], metavar=("H", "W", "C"), help="image shape")
    args = parser.parse_args()
    print(
        f"CPU: {cpu_model()} | flags: {' '.join(sorted(cpu_flags())) or 'no AVX-512/AMX'} | "
        f"{os.cpu_count()} cores | Keras {keras.__version__} on {keras.backend.backend()}"
    )
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (max(args.predict_images, args.batch), *args.shape), dtype=np.uint8)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, len(x))]  # one-hot works for every loss a version uses
    nets = {config: build(args.model, *config, steps=100, shape=tuple(args.shape)) for config in CONFIGS}
    measured: dict[tuple[str, bool], list[tuple[float, float]]] = {config: [] for config in CONFIGS}
    for _ in range(args.repeats):
        for config, net in nets.items():
            measured[config].append(rates(net, x, y, args.batch, args.steps))
    print(
        f"\n{args.model}, batch {args.batch}, images {'x'.join(map(str, args.shape))}: images/s, each of {args.repeats} measurements"
    )
    print("| precision | XLA | training img/s | prediction img/s |\n|---|---|---:|---:|")
    for (policy, xla), values in measured.items():
        train = " / ".join(f"{t:,.0f}" for t, _ in values)
        predict = " / ".join(f"{p:,.0f}" for _, p in values)
        print(f"| {policy} | {'on' if xla else 'off'} | {train} | {predict} |")


if __name__ == "__main__":
    main()
