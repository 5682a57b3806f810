"""airbench's lookahead and frozen whitening bias inside JAX's compiled training step.

``weight_callbacks`` does both from Python after every step: on TensorFlow's
CPU path that costs nothing measurable, but on JAX each such callback makes
Keras hand the step's state back to the model's variables and waits for the
device, every step. ``InStepModel`` does the same arithmetic as the callbacks
(same rule, same step numbers, same order: lookahead, then the freeze) as part
of the jitted ``train_step``, on values that never leave the device. The slow
copies and the held values are variables of the model, so the resume point
keeps them; the step's random generators (the augmentation's, Dropout's) are
not weights, and the resume point saves them beside
(``weight_callbacks.random_states``).
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from kagglekit.training.weight_callbacks import Lookahead


class InStepModel(keras.Model):
    """A functional training model whose ``train_step`` (JAX's) also applies lookahead and frozen layers.

    Call ``plan(lookahead_steps, freezes)`` before ``fit``: ``lookahead_steps``
    is the run's total steps (None: no lookahead); ``freezes`` pairs a layer
    with the step count after which its weights are held (epochs x steps per epoch).
    """

    def plan(self, lookahead_steps: int | None, freezes: list[tuple[keras.layers.Layer, int]]) -> None:
        self.lookahead_steps = lookahead_steps
        self.tracked = [v for v in self.weights if "float" in str(v.dtype)] if lookahead_steps else []
        self.slow = [
            keras.Variable(ops.copy(v.value), trainable=False, name=f"slow_{i}") for i, v in enumerate(self.tracked)
        ]
        self.frozen = [
            (first, v, keras.Variable(ops.copy(v.value), trainable=False, name=f"held_{layer.name}_{i}"))
            for layer, first in freezes
            for i, v in enumerate(layer.weights)
        ]

    def train_step(self, state: Any, data: Any) -> Any:
        logs, state = super().train_step(state, data)
        trainable, non_trainable, optimizer_variables, metrics = state
        values = {id(v): value for v, value in zip(self.trainable_variables, trainable)}
        values.update({id(v): value for v, value in zip(self.non_trainable_variables, non_trainable)})
        step = next(
            value for v, value in zip(self.optimizer.variables, optimizer_variables) if v is self.optimizer.iterations
        )
        step = ops.cast(step, "float32")
        if self.lookahead_steps:
            self.lookahead(values, step)
        for first, variable, held in self.frozen:
            capture, hold = ops.equal(step, first), ops.greater(step, first)
            values[id(held)] = ops.where(capture, values[id(variable)], values[id(held)])
            values[id(variable)] = ops.where(hold, values[id(held)], values[id(variable)])
        trainable = [values[id(v)] for v in self.trainable_variables]
        non_trainable = [values[id(v)] for v in self.non_trainable_variables]
        return logs, (trainable, non_trainable, optimizer_variables, metrics)

    def lookahead(self, values: dict[int, Any], step: Any) -> None:
        """weight_callbacks.Lookahead's rule: every EVERY steps the weights and the slow copy meet; at the end, the slow copy."""
        total = float(self.lookahead_steps)
        every = ops.equal(ops.mod(step, Lookahead.EVERY), 0)
        last = ops.greater_equal(step, total)
        rate = ops.where(every, 1.0 - 0.95**5 * ops.minimum(step / total, 1.0) ** 3, 0.0)
        meet = ops.logical_or(every, last)
        for variable, slow in zip(self.tracked, self.slow):
            weight, slow_value = values[id(variable)], values[id(slow)]
            moved = slow_value + ops.cast(rate, slow_value.dtype) * (weight - slow_value)
            values[id(slow)] = ops.where(meet, moved, slow_value)
            values[id(variable)] = ops.where(meet, ops.cast(values[id(slow)], weight.dtype), weight)
