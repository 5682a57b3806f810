"""Callbacks that set weights while a model trains: airbench's lookahead and its frozen whitening bias;
and the random generators' states, which a resume point needs besides the weights.

They need only Keras, not TensorFlow, so the same code runs on any Keras
backend (``KERAS_BACKEND=jax``). Under JAX, Keras keeps mid-epoch
weights outside the model's variables until a callback reads ``self.model``,
so each callback reads it before touching a variable.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import keras
import numpy as np

from kagglekit.exceptions import UsageError


class Lookahead(keras.callbacks.Callback):
    """airbench's lookahead: every 5 steps the weights and a slow copy meet, the slow one moving less and less.

    The slow copy's share grows as (step/total)^3 to 0.95^5 ≈ 0.77, so early
    training is untouched and the last epochs average out the noise of the large
    learning rate; the final step hands the network the slow weights. BatchNorm
    statistics are averaged too. The slow copy is part of a run's resume point
    (``save``/``load``): restarted from the saved weights instead, a resumed run
    ends elsewhere than an uninterrupted one.
    """

    EVERY = 5

    def __init__(self, total_steps: int, slow: list[np.ndarray] | None = None) -> None:
        super().__init__()
        self.total_steps = total_steps
        self.slow: list[np.ndarray] = list(slow or [])

    def tracked(self) -> list[Any]:
        return [v for v in self.model.weights if "float" in str(v.dtype)]

    def on_train_begin(self, logs: dict | None = None) -> None:
        if not self.slow:  # a resumed run brought the slow copy it saved
            self.slow = [np.array(v.numpy()) for v in self.tracked()]

    def save(self, path: Path) -> None:
        with open(path, "wb") as handle:  # np.savez(path) would append ".npz" to the name
            np.savez(handle, *self.slow)

    @staticmethod
    def load(path: Path) -> list[np.ndarray]:
        with np.load(path) as saved:
            return [saved[f"arr_{i}"] for i in range(len(saved.files))]

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        step = int(self.model.optimizer.iterations.numpy())
        if step % self.EVERY == 0:
            self.step_towards(0.95**5 * min(step / self.total_steps, 1.0) ** 3)
        elif step >= self.total_steps:
            self.step_towards(1.0)

    def step_towards(self, keep: float) -> None:
        """Slow copy = keep * slow + (1 - keep) * weights; then the weights = the slow copy."""
        for variable, slow in zip(self.tracked(), self.slow):
            slow += (1.0 - keep) * (variable.numpy() - slow)
            variable.assign(slow)


class FreezeAfter(keras.callbacks.Callback):
    """Hold a layer's weights still from a given epoch on (airbench: the whitening bias after 3 epochs).

    The weights are put back after every step rather than the layer made
    untrainable, which would need a recompile mid-fit; so momentum, weight decay
    and lookahead cannot drift them either. A resumed run freezes what it restored.
    """

    def __init__(self, layer: keras.layers.Layer, epochs: int) -> None:
        super().__init__()
        self.layer, self.epochs = layer, epochs
        self.frozen: list[np.ndarray] | None = None

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        if epoch >= self.epochs and self.frozen is None:
            synchronise(self)
            self.frozen = [np.array(v.numpy()) for v in self.layer.weights]

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        if self.frozen is not None:
            synchronise(self)
            for variable, value in zip(self.layer.weights, self.frozen):
                variable.assign(value)


def synchronise(callback: keras.callbacks.Callback) -> None:
    """Make the model's variables hold the latest step's weights (a no-op outside JAX)."""
    callback.model  # noqa: B018  (Callback.model syncs JAX's training state into the variables)


def freezes(recipe: dict[str, Any], model: keras.Model) -> list[FreezeAfter]:
    """The recipe's ``freeze_after`` ({layer name: epochs}) as callbacks."""
    plan = recipe.get("freeze_after") or {}
    names = {layer.name for layer in model.layers}
    unknown = sorted(set(plan) - names)
    if unknown:
        raise UsageError(
            f"freeze_after names no layer of {model.name}: {', '.join(unknown)}; its layers: {', '.join(sorted(names))}"
        )
    return [FreezeAfter(model.get_layer(name), int(epochs)) for name, epochs in plan.items()]


RANDOM_KEY = "random_file"  # in state.json: this epoch's random generators' states


def random_states(model: keras.Model) -> list[Any]:
    """The states of the model's random generators (``keras.random.SeedGenerator``): what ``save_weights`` leaves out.

    ``augment.RandomAffine`` inside the training model (JAX, TensorFlow GPUs)
    and ``Dropout`` draw from these; they are part of the training step's
    state but not of the model's weights. A resumed run that started them
    afresh would augment and drop its remaining epochs as the first epochs were.
    """
    saved = {id(v) for v in model.weights}
    return [v for v in model.non_trainable_variables if id(v) not in saved]


def save_random_states(model: keras.Model, state_dir: Path, epoch: int) -> dict[str, str]:
    """Write the states as ``epoch-E.random.npz`` in ``state_dir``; {RANDOM_KEY: its name} for state.json ({} if none)."""
    states = random_states(model)
    if not states:
        return {}
    name, tmp = f"epoch-{epoch}.random.npz", state_dir / "tmp.random.npz"
    with open(tmp, "wb") as handle:  # np.savez(path) would append ".npz" to the name
        np.savez(handle, *(keras.ops.convert_to_numpy(v.value) for v in states))
    tmp.replace(state_dir / name)
    return {RANDOM_KEY: name}


def load_random_states(model: keras.Model, state_dir: Path, state: dict[str, Any]) -> None:
    """Put back the states a resume point saved (none in one saved before they were: they start afresh)."""
    if not state.get(RANDOM_KEY):
        return
    states = random_states(model)
    with np.load(state_dir / state[RANDOM_KEY]) as saved:
        values = [saved[f"arr_{i}"] for i in range(len(saved.files))]
    if [tuple(v.shape) for v in states] != [value.shape for value in values]:
        raise UsageError(
            f"{state_dir / state[RANDOM_KEY]} holds {len(values)} random generator states that do not fit "
            f"this model's {len(states)}: the run was saved by other code; start it afresh"
        )
    for variable, value in zip(states, values):
        variable.assign(value)
