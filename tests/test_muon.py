"""``fast-muon``'s optimizer: Muon's orthogonalized step on the convolution filters, Nesterov SGD elsewhere.

Whether it beats ``fast`` at equal time is a measurement (bench/RESULTS.md,
issue 21); here each part is checked to do what airbench94_muon does.
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np

from kagglekit.training.models import get_version
from kagglekit.training.models.compile import optimizer
from kagglekit.training.models.muon import FilterMuon, orthogonalized


def tiny_model(seed: int) -> keras.Model:
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(16, 3, padding="same", use_bias=False, name="conv")(inputs)
    x = keras.layers.GlobalMaxPooling2D()(x)
    return keras.Model(inputs, keras.layers.Dense(4, use_bias=False, name="head")(x))


def one_step(model: keras.Model, opt: keras.optimizers.Optimizer) -> None:
    rng = np.random.default_rng(0)
    model.compile(optimizer=opt, loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.train_on_batch(rng.normal(size=(32, 8, 8, 3)).astype("float32"), rng.integers(0, 4, 32))


def singular_values(matrix: np.ndarray) -> np.ndarray:
    return np.linalg.svd(matrix, compute_uv=False)


def test_newton_schulz_flattens_the_spectrum_of_a_tall_or_wide_matrix() -> None:
    rng = np.random.default_rng(0)
    left, _ = np.linalg.qr(rng.normal(size=(72, 16)))
    right, _ = np.linalg.qr(rng.normal(size=(16, 16)))
    matrix = left @ np.diag(np.geomspace(0.05, 3, 16)) @ right  # singular values from 0.05 to 3
    for shape_of in (matrix, matrix.T):
        result = keras.ops.convert_to_numpy(orthogonalized(keras.ops.convert_to_tensor(shape_of, "float32"), 5))
        assert result.shape == shape_of.shape
        assert np.all((singular_values(result) > 0.5) & (singular_values(result) < 1.3))


def test_filters_take_the_orthogonalized_step_and_everything_else_sgds() -> None:
    sgd, muon = tiny_model(1), tiny_model(1)
    start = {w.path: keras.ops.convert_to_numpy(w) for w in muon.weights}
    one_step(sgd, keras.optimizers.SGD(0.1, momentum=0.85, nesterov=True))
    one_step(muon, FilterMuon(0.1, momentum=0.85, muon_lr_ratio=0.5, ns_steps=5))
    np.testing.assert_allclose(muon.get_layer("head").kernel.numpy(), sgd.get_layer("head").kernel.numpy(), rtol=1e-6)
    kernel = start["conv/kernel"]
    renormalized = kernel * np.sqrt(16) / np.linalg.norm(kernel)  # filters rescaled to sqrt(out) first
    step = (renormalized - muon.get_layer("conv").kernel.numpy()) / (0.1 * 0.5)
    assert not np.allclose(muon.get_layer("conv").kernel.numpy(), sgd.get_layer("conv").kernel.numpy())
    assert np.all((singular_values(step.reshape(-1, 16)) > 0.5) & (singular_values(step.reshape(-1, 16)) < 1.3))


def test_fast_muon_is_fast_but_its_optimizer_and_survives_a_save(tmp_path: Path) -> None:
    fast, fast_muon = get_version("fast").recipe(), get_version("fast-muon").recipe()
    assert {k for k in fast_muon if fast_muon[k] != fast.get(k)} == {"model", "optimizer", "muon_lr", "muon_momentum"}
    opt = optimizer(fast_muon, steps_per_epoch=44)
    assert isinstance(opt, FilterMuon) and opt.muon_lr_ratio == 0.24 / fast_muon["lr"]
    model = tiny_model(2)
    one_step(model, opt)
    model.save(tmp_path / "model.keras")
    reloaded = keras.saving.load_model(tmp_path / "model.keras")
    assert isinstance(reloaded.optimizer, FilterMuon)
    assert (reloaded.optimizer.muon_lr_ratio, reloaded.optimizer.muon_momentum) == (opt.muon_lr_ratio, 0.6)
