"""Muon for convolution filters, Nesterov SGD for the rest: airbench94_muon's split, in one Keras optimizer.

``keras.optimizers.Muon`` orthogonalizes 2-D kernels only and hands every other
variable to AdamW, so on a convnet, whose filters are 4-D, it is AdamW
throughout. airbench94_muon (KellerJordan/cifar10-airbench) instead flattens
each trainable filter bank to (out, in*k*k), renormalizes the filters to
sqrt(out) and steps along the Newton-Schulz orthogonalization of their Nesterov
momentum, and leaves biases and the head to Nesterov SGD. ``FilterMuon`` is that
split: an ``SGD`` whose 4-D variables take the Muon step, at ``muon_lr_ratio``
times the scheduled rate, so one schedule drives both as in airbench.
"""

from __future__ import annotations

import math
from typing import Any

import keras
from keras import ops

NEWTON_SCHULZ = (3.4445, -4.7750, 2.0315)  # the quintic's coefficients (airbench94_muon, keras.optimizers.Muon)
MUON_LR = 0.24  # airbench94_muon's filter learning rate: Muon steps are scale-free, so it carries over as is
MUON_MOMENTUM = 0.6  # airbench94_muon's


def frobenius(x: Any) -> Any:
    return ops.sqrt(ops.sum(ops.square(x)))


def orthogonalized(matrix: Any, steps: int) -> Any:
    """~U V^T of ``matrix`` by the quintic Newton-Schulz iteration (its singular values land in ~[0.5, 1.5])."""
    a, b, c = NEWTON_SCHULZ
    tall = matrix.shape[0] > matrix.shape[1]
    x = ops.transpose(matrix) if tall else matrix
    x = x / (frobenius(x) + 1e-7)  # Frobenius norm >= spectral: top singular value <= 1
    for _ in range(steps):
        gram = ops.matmul(x, ops.transpose(x))
        x = a * x + ops.matmul(b * gram + c * ops.matmul(gram, gram), x)
    return ops.transpose(x) if tall else x


@keras.saving.register_keras_serializable(package="kagglekit")
class FilterMuon(keras.optimizers.SGD):
    """Nesterov SGD whose convolution filters (4-D variables) take airbench94_muon's Muon step instead.

    The filters' momentum buffers hold plain gradient sums (``buf = mu * buf + g``), not SGD's
    learning-rate-scaled ones, and use ``muon_momentum``; every other variable is SGD's, untouched.
    """

    def __init__(
        self,
        learning_rate: Any = 0.01,
        momentum: float = 0.85,
        muon_lr_ratio: float = 1.0,
        muon_momentum: float = MUON_MOMENTUM,
        ns_steps: int = 3,
        **kwargs: Any,
    ) -> None:
        super().__init__(learning_rate=learning_rate, momentum=momentum, nesterov=True, **kwargs)
        self.muon_lr_ratio = float(muon_lr_ratio)  # Muon's rate over the schedule's: one schedule drives both
        self.muon_momentum, self.ns_steps = float(muon_momentum), int(ns_steps)

    def update_step(self, gradient: Any, variable: Any, learning_rate: Any) -> None:
        if len(variable.shape) != 4:
            return super().update_step(gradient, variable, learning_rate)
        buffer = self.momentums[self._get_variable_index(variable)]
        gradient = ops.cast(gradient, variable.dtype)
        self.assign(buffer, ops.add(ops.multiply(buffer, self.muon_momentum), gradient))
        step = ops.add(gradient, ops.multiply(buffer, self.muon_momentum))  # Nesterov
        out = variable.shape[-1]  # Keras filters are (kh, kw, in, out): flattened to (kh*kw*in, out)
        renormalized = variable * (math.sqrt(out) / frobenius(variable))  # airbench: filters back to sqrt(out)
        update = ops.reshape(orthogonalized(ops.reshape(step, (-1, out)), self.ns_steps), variable.shape)
        rate = ops.cast(learning_rate, variable.dtype) * self.muon_lr_ratio
        self.assign(variable, ops.subtract(renormalized, ops.multiply(update, rate)))  # one write per step

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.pop("nesterov", None)
        return {
            **config,
            "muon_lr_ratio": self.muon_lr_ratio,
            "muon_momentum": self.muon_momentum,
            "ns_steps": self.ns_steps,
        }
