"""Run directories: ``runs/<version>-<hash>-<time>/``.

A run directory holds config.json (written first), the best model, history.csv,
the pictures, and metrics.json (written last: a run is complete only once it
exists). An incomplete directory with the same version id and data is where a
rerun of the same command resumes.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from kagglekit.exceptions import StageNotReadyError, UsageError
from kagglekit.jsonfiles import read_json

DEFAULT_RUNS_DIR = Path("runs")
CONFIG = "config.json"
METRICS = "metrics.json"
HISTORY = "history.csv"
BEST_MODEL = "best.keras"
STATE_DIR = "state"          # the resume point: last epoch's weights + optimizer + counters
CURVES, CONFUSION, SAMPLES = "curves.png", "confusion.png", "samples.png"

# Test-time augmentation: (weight, mirrored, shift in pixels along both axes) per view.
# flip-translate is airbench's level 2: half the weight on the image and its
# mirror, half on both of them moved one pixel up-left and one down-right.
TTA_VIEWS: dict[str, tuple[tuple[float, bool, int], ...]] = {
    "none": ((1.0, False, 0),),
    "flip": ((0.5, False, 0), (0.5, True, 0)),
    "flip-translate": ((0.25, False, 0), (0.25, True, 0), (0.125, False, -1), (0.125, True, -1),
                       (0.125, False, 1), (0.125, True, 1)),
}
TTA_MODES = tuple(TTA_VIEWS)


def check_tta(mode: str) -> str:
    if mode not in TTA_VIEWS:
        raise UsageError(f"unknown test-time augmentation {mode!r}; known: {', '.join(TTA_MODES)}")
    return mode


def is_complete(run_dir: Path) -> bool:
    return (Path(run_dir) / METRICS).exists()


def new_run_dir(runs_dir: Path, version_id: str) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    run_dir = Path(runs_dir) / f"{version_id}-{stamp}"
    suffix = 1
    while run_dir.exists():
        suffix += 1
        run_dir = Path(runs_dir) / f"{version_id}-{stamp}-{suffix}"
    run_dir.mkdir(parents=True)
    return run_dir


def _candidates(runs_dir: Path) -> list[Path]:
    if not Path(runs_dir).is_dir():
        return []
    dirs = [d for d in Path(runs_dir).iterdir() if (d / CONFIG).is_file()]
    return sorted(dirs, key=lambda d: (read_json(d / CONFIG).get("created", ""), d.name))


def find_resumable(runs_dir: Path, version_id: str, data: dict[str, Any], complete: bool = False) -> Path | None:
    """The newest incomplete (or, with ``complete``, finished) run of this exact version on the same data."""
    for run_dir in reversed(_candidates(runs_dir)):
        config = read_json(run_dir / CONFIG)
        if (is_complete(run_dir) == complete and config.get("version_id") == version_id
                and config.get("data", {}).get("root") == data.get("root")):
            return run_dir
    return None


def latest_run(runs_dir: Path = DEFAULT_RUNS_DIR, version: str | None = None) -> Path:
    """The newest complete run, optionally of one version (a name or a ``name-hash`` id)."""
    for run_dir in reversed(_candidates(runs_dir)):
        config = read_json(run_dir / CONFIG)
        if is_complete(run_dir) and version in (None, config.get("version"), config.get("version_id")):
            return run_dir
    which = f"of {version} " if version else ""
    model = re.sub(r"-[0-9a-f]{8}$", "", version) if version else "NAME"
    raise StageNotReadyError(f"no complete run {which}in {runs_dir}/; run `python -m kagglekit train --model {model}` first")


@dataclass
class Run:
    """A finished training run, as prediction needs it."""

    dir: Path
    config: dict[str, Any]
    metrics: dict[str, Any]
    _model: Any = field(default=None, repr=False)
    _use_xla: bool = field(default=True, repr=False)

    @property
    def version(self) -> str:
        return self.config["version"]

    @property
    def version_id(self) -> str:
        return self.config["version_id"]

    @property
    def classes(self) -> list[str]:
        return list(self.config["classes"])

    @property
    def model(self) -> Any:
        """The best model, loaded on first use (Keras is imported only then)."""
        if self._model is None:
            import keras

            import kagglekit.training.augment  # noqa: F401  (registers RandomAffine for deserialisation)
            import kagglekit.training.models.compile  # noqa: F401  (and the learning-rate schedules)
            import kagglekit.training.models.layers  # noqa: F401  (and the airbench layers)

            self._model = keras.models.load_model(self.dir / BEST_MODEL, compile=False)
        return self._model

    @property
    def tta(self) -> str:
        """The test-time augmentation the recipe was measured with (evaluate's and predict's default)."""
        return str(self.config["recipe"].get("tta", "none"))

    def tta_or_default(self, tta: str | None) -> str:
        """``tta`` checked, or the recipe's when None."""
        return check_tta(tta or self.tta)

    def predict_proba(self, images: np.ndarray, tta: str = "none", batch_size: int = 500,
                      callbacks: list[Any] | None = None) -> np.ndarray:
        """Class probabilities (N, n_classes) float32 for uint8 images (N,H,W,3).

        ``images`` may be a memory map of any size: it is read one batch at a
        time, so only a batch is ever in memory as float32. ``tta`` names the
        views averaged (``TTA_VIEWS``); a logits model's logits are averaged
        before the softmax, as airbench does.
        """
        outputs = sum(weight * self._predict(images, batch_size, flip, shift, callbacks)
                      for weight, flip, shift in TTA_VIEWS[check_tta(tta)])
        if self.config["recipe"].get("from_logits"):
            outputs = np.exp(outputs - outputs.max(axis=1, keepdims=True))
            outputs /= outputs.sum(axis=1, keepdims=True)
        return outputs.astype(np.float32)

    def _predict(self, images: np.ndarray, batch_size: int, flip: bool, shift: int, callbacks: list[Any] | None) -> np.ndarray:
        from kagglekit.data.pipeline import streamed_input

        model = self.model
        model.jit_compile = self._use_xla  # XLA predicts 1.7-1.9x faster on a CPU (bench/RESULTS.md)
        try:
            outputs = model.predict(streamed_input(images, batch_size, flip, shift), verbose=0, callbacks=callbacks)
        except Exception as error:  # a layer with an op XLA cannot compile (TensorFlow): predict without XLA
            if not self._use_xla or "XLA" not in f"{type(error).__name__} {error}":
                raise
            self._use_xla, model.jit_compile, model.predict_function = False, False, None
            outputs = model.predict(streamed_input(images, batch_size, flip, shift), verbose=0, callbacks=callbacks)
        return np.asarray(outputs, dtype=np.float32)


def load_run(run_dir: Path) -> Run:
    run_dir = Path(run_dir)
    if not (run_dir / CONFIG).is_file():
        raise UsageError(f"{run_dir} is not a run directory (no {CONFIG})")
    if not is_complete(run_dir):
        raise StageNotReadyError(f"run {run_dir} is incomplete (no {METRICS}); rerun its train command to resume it")
    if not (run_dir / BEST_MODEL).is_file():
        raise StageNotReadyError(f"run {run_dir} has no {BEST_MODEL}")
    return Run(dir=run_dir, config=read_json(run_dir / CONFIG), metrics=read_json(run_dir / METRICS))


def resolve_run(run: str | Path | None, runs_dir: Path = DEFAULT_RUNS_DIR) -> Path:
    """A run directory from what a user typed: a path, a version name or id, or nothing (newest)."""
    if run is not None and Path(run).is_dir():
        return Path(run)
    return latest_run(runs_dir, None if run is None else str(run))
