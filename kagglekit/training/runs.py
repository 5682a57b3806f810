"""Run directories: ``runs/<version>-<hash>-<time>/``.

A run directory holds config.json (written first), the best model, history.csv,
the pictures, and metrics.json (written last: a run is complete only once it
exists). An incomplete directory with the same version id and data is where a
rerun of the same command resumes.
"""

from __future__ import annotations

import math
import re
import shlex
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from kagglekit.exceptions import StageNotReadyError, UsageError
from kagglekit.jsonfiles import read_json, read_json_or_skip
from kagglekit.training.calibrate import logits_of, with_temperature

if TYPE_CHECKING:
    from kagglekit.paths import CompetitionPaths
    from kagglekit.training.recipes import RecipeChoice

DEFAULT_RUNS_DIR = Path("runs")
CONFIG = "config.json"
METRICS = "metrics.json"
TEMPERATURE = "temperature"  # metrics.json's key for calibrate.fit_temperature's answer
HISTORY = "history.csv"
BEST_MODEL = "best.keras"
STATE_DIR = "state"  # the resume point: last epoch's weights + optimizer + counters
CURVES, CONFUSION, SAMPLES = "curves.png", "confusion.png", "samples.png"

# Test-time augmentation: (weight, mirrored, shift in pixels along both axes) per view.
# flip-translate is airbench's level 2: half the weight on the image and its
# mirror, half on both of them moved one pixel up-left and one down-right.
# translate is the same without the mirror, for what a mirror would change the
# class of (digits: `digits`).
TTA_VIEWS: dict[str, tuple[tuple[float, bool, int], ...]] = {
    "none": ((1.0, False, 0),),
    "flip": ((0.5, False, 0), (0.5, True, 0)),
    "flip-translate": (
        (0.25, False, 0),
        (0.25, True, 0),
        (0.125, False, -1),
        (0.125, True, -1),
        (0.125, False, 1),
        (0.125, True, 1),
    ),
    "translate": ((0.5, False, 0), (0.25, False, -1), (0.25, False, 1)),
}
TTA_MODES = tuple(TTA_VIEWS)
# predict's and evaluate's default TTA budget: the share of the images that get the views after the first,
# the least confident first (``Run.predict_spending``). Not yet chosen on its own curve (issue 21): 0.16 is
# the share the measured threshold of 0.6 gave on `fast`'s validation split (bench/RESULTS.md, issue 12:
# 16.2 % below 0.6, 1.81 views an image, 0.9442 against full TTA's 0.9438 and the plain view's 0.9344), so
# on that split it spends the views on the same images and keeps the version's measured figure.
DEFAULT_TTA_BUDGET = 0.16


@dataclass(frozen=True)
class TtaSpend:
    """What a TTA budget bought: prediction.json's and evaluate's account of the views spent."""

    budget: float  # the share of the images allowed the extra views, fixed before the first view
    images: int  # the images that got them (the least confident first)
    views: int  # every view predicted, the first view of every image included
    cutoff: float | None  # the highest first-view top probability among those images; None when none got any

    def described(self) -> str:
        """In words, as predict and evaluate print it."""
        cutoff = "" if self.cutoff is None else f", first-view top probability up to {self.cutoff:.3f}"
        return f"{self.images:,} images (budget {self.budget:g}{cutoff}; {self.views:,} views in all)"


def budgeted_images(images: int, budget: float) -> int:
    """How many of ``images`` a budget gives the extra views: its share, rounded to the nearest image."""
    return min(images, math.floor(budget * images + 0.5))


def budget_for(tta: str, budget: float) -> float:
    """The budget a TTA mode can spend: 0 for one with no view beyond the first, whatever was asked."""
    return float(budget) if len(TTA_VIEWS[check_tta(tta)]) > 1 else 0.0


def planned_views(images: int, tta: str, budget: float) -> int:
    """Every view a prediction will run, known before its first: a progress bar's total, which never grows."""
    return images + budgeted_images(images, budget) * (len(TTA_VIEWS[check_tta(tta)]) - 1)


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


def _candidates(runs_dir: Path) -> list[tuple[Path, dict[str, Any]]]:
    """(run directory, its config) oldest first; a damaged config.json is named in one line and skipped."""
    if not Path(runs_dir).is_dir():
        return []
    found = []
    for run_dir in Path(runs_dir).iterdir():
        config = read_json_or_skip(run_dir / CONFIG) if (run_dir / CONFIG).is_file() else None
        if config is not None:
            found.append((run_dir, config))
    return sorted(found, key=lambda item: (str(item[1].get("created", "")), item[0].name))


def data_of(config: dict[str, Any]) -> dict[str, Any]:
    """The ``data`` a run's config recorded (its fingerprint among it); {} for a damaged one."""
    data = config.get("data")
    return data if isinstance(data, dict) else {}


def runs_of(runs_dir: Path, version_id: str, complete: bool) -> list[tuple[Path, dict[str, Any]]]:
    """Finished (or unfinished) runs of this exact version, newest first, with their configs."""
    return [
        (run_dir, config)
        for run_dir, config in reversed(_candidates(runs_dir))
        if config.get("version_id") == version_id and is_complete(run_dir) == complete
    ]


def find_run(runs_dir: Path, version_id: str, fingerprint: str, complete: bool) -> Path | None:
    """The newest finished (or unfinished) run of this exact version trained on exactly this data.

    This one rule is what `train --reuse`, `train`'s resume and `predict --model ...` all use, so the
    stages of `make submit` land on the same run: the version id says what was trained, the data
    fingerprint what it was trained and validated on.
    """
    return next(
        (d for d, c in runs_of(runs_dir, version_id, complete) if data_of(c).get("fingerprint") == fingerprint), None
    )


def on_other_data(
    runs_dir: Path, version_id: str, fingerprint: str, complete: bool
) -> tuple[Path, dict[str, Any]] | None:
    """The newest finished (or unfinished) run of this version on other data, with its recorded data."""
    return next(
        (
            (d, data_of(c))
            for d, c in runs_of(runs_dir, version_id, complete)
            if data_of(c).get("fingerprint") != fingerprint
        ),
        None,
    )


def run_of_choice(choice: RecipeChoice, paths: CompetitionPaths, runs_dir: Path) -> Path:
    """The run `train` with the same recipe flags trained or reused: that version, finished, on today's data."""
    from kagglekit.data.pipeline import data_fingerprint

    vid = choice.version_id
    data = data_fingerprint(paths.at_size(choice.recipe["image_size"]))
    found = find_run(runs_dir, vid, data["fingerprint"], complete=True)
    if found is not None:
        return found
    other = on_other_data(runs_dir, vid, data["fingerprint"], complete=True)
    why = f"; {other[0]} is, but on other data: {what_changed(other[1], data)}" if other else ""
    raise StageNotReadyError(
        f"no finished run of {vid} on the data in {paths.root}{why}; train it first: "
        f"python -m kagglekit train {shlex.join(choice.flags())} --data-dir {paths.data_dir} --competition {paths.slug}"
    )


def what_changed(old: dict[str, Any], new: dict[str, Any]) -> str:
    """In words, how the data a run recorded differs from today's (two ``data`` dicts)."""
    if not old.get("fingerprint"):
        return "it recorded no data fingerprint (made by an older kagglekit)"
    changes = []
    if old.get("split_sha256") != new.get("split_sha256"):
        changes.append("the split changed (folders --valid-fraction/--seed, or new labels)")
    sizes = old.get("image_size"), new.get("image_size")
    if None not in sizes and sizes[0] != sizes[1]:  # older runs did not record theirs
        changes.append("the image size changed ({}x{} then, {}x{} now)".format(*sizes[0], *sizes[1]))
    elif old.get("images_sha256") != new.get("images_sha256"):
        changes.append("the training images changed (a new train archive, or unpack redone)")
    return " and ".join(changes) or "its data fingerprint differs"


def latest_run(runs_dir: Path = DEFAULT_RUNS_DIR, version: str | None = None) -> Path:
    """The newest complete run, optionally of one version (a name or a ``name-hash`` id): for a human typing a name."""
    for run_dir, config in reversed(_candidates(runs_dir)):
        if is_complete(run_dir) and version in (None, config.get("version"), config.get("version_id")):
            return run_dir
    which = f"of {version} " if version else ""
    model = re.sub(r"-[0-9a-f]{8}$", "", version) if version else "NAME"
    raise StageNotReadyError(
        f"no complete run {which}in {runs_dir}/; run `python -m kagglekit train --model {model}` first"
    )


@dataclass
class Run:
    """A finished training run, as prediction needs it.

    ``precision`` is predict's and evaluate's ``--precision``: on a CPU the
    model is rebuilt in the policy this CPU runs fastest (bfloat16 with
    AVX512_BF16/AMX, else float32) whatever it was trained in; on an
    accelerator it keeps the trained policy unless told otherwise.
    """

    dir: Path
    config: dict[str, Any]
    metrics: dict[str, Any]
    precision: str = "auto"
    _model: Any = field(default=None, repr=False)
    _use_xla: bool = field(default=True, repr=False)
    _chosen: Any = field(default=None, repr=False)  # compute_precision's answer, once asked

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
    def image_size(self) -> list[int] | None:
        """The recipe's image_size: the version's own [height, width], or None for the spec's (older runs too)."""
        return self.config["recipe"].get("image_size")

    @property
    def trained_policy(self) -> str:
        return str(self.config.get("device", {}).get("mixed_precision", "float32"))

    @property
    def model(self) -> Any:
        """The best model in the chosen precision, loaded on first use (Keras is imported only then)."""
        if self._model is None:
            import keras

            import kagglekit.training.augment  # noqa: F401  (registers RandomAffine for deserialisation)
            import kagglekit.training.models.compile  # noqa: F401  (and the learning-rate schedules)
            import kagglekit.training.models.layers  # noqa: F401  (and the airbench layers)
            from kagglekit.training.backend import Machine

            machine = Machine()
            saved = keras.models.load_model(self.dir / BEST_MODEL, compile=False)
            chosen = self.compute_precision(machine)
            self._model = saved if chosen.policy == self.trained_policy else self._rebuilt(saved, chosen.policy)
            self._use_xla = self._xla_pays(chosen, machine)
        return self._model

    def compute_precision(self, machine: Any = None) -> Any:
        """``precision.Precision`` for predicting here (see the class docstring), chosen once."""
        if self._chosen is None:
            import keras

            from kagglekit.training import precision
            from kagglekit.training.backend import Machine

            machine = machine or Machine()
            backend = keras.backend.backend()
            if not (machine.gpu_signs() or machine.tpu_signs()):
                self._chosen = precision.choose(self.precision, "CPU", backend)
            elif self.precision == "auto":
                self._chosen = precision.Precision(self.trained_policy, "as trained")
            else:
                self._chosen = precision.choose(self.precision, "GPU", backend)
        return self._chosen

    def _xla_pays(self, chosen: Any, machine: Any) -> bool:
        """XLA predicts faster on a CPU for the seeds' dense nets, slower for airbench's (bench/RESULTS.md)."""
        import keras

        from kagglekit.training.models import get_version
        from kagglekit.training.precision import xla_on_cpu

        if keras.backend.backend() != "tensorflow" or machine.gpu_signs():
            return True
        return xla_on_cpu(get_version(self.version).cpu_xla, chosen)

    def _rebuilt(self, saved: Any, policy: str) -> Any:
        """The same architecture built under ``policy``, holding the saved weights (variables stay float32)."""
        import keras

        from kagglekit.training.models import get_version

        keras.mixed_precision.set_global_policy(policy)
        try:
            model = get_version(self.version).architecture(
                self.config["recipe"], tuple(saved.input_shape[1:]), len(self.classes)
            )
        finally:
            keras.mixed_precision.set_global_policy("float32")
        model.set_weights(saved.get_weights())
        return model

    @property
    def tta(self) -> str:
        """The test-time augmentation the recipe was measured with (evaluate's and predict's default)."""
        return str(self.config["recipe"].get("tta", "none"))

    def tta_or_default(self, tta: str | None) -> str:
        """``tta`` checked, or the recipe's when None."""
        return check_tta(tta or self.tta)

    def predict_proba(
        self,
        images: np.ndarray,
        tta: str = "none",
        batch_size: int = 500,
        callbacks: list[Any] | None = None,
        budget: float = 1.0,
        on_view: Callable[[int], None] | None = None,
    ) -> np.ndarray:
        """Class probabilities (N, n_classes) float32 for uint8 images (N,H,W,C); see ``predict_spending``."""
        return self.predict_spending(images, tta, batch_size, callbacks, budget, on_view)[0]

    def predict_spending(
        self,
        images: np.ndarray,
        tta: str = "none",
        batch_size: int = 500,
        callbacks: list[Any] | None = None,
        budget: float = 1.0,
        on_view: Callable[[int], None] | None = None,
    ) -> tuple[np.ndarray, TtaSpend]:
        """Class probabilities (N, n_classes) float32, and what the TTA budget bought.

        ``images`` may be a memory map of any size: it is read one batch at a
        time, so only a batch is ever in memory as float32. ``tta`` names the
        views averaged (``TTA_VIEWS``); a logits model's logits are averaged
        before the softmax, as airbench does. Every image gets the first view;
        the views after it go to the ``budget`` share of the images whose
        first-view top probability is lowest (ties in image order), the others
        keeping the first view's answer: most images are already certain, so
        most of TTA's time buys nothing. The budget is a share of the images,
        not a confidence threshold, a view count or seconds: a threshold lets
        the test set's content set the cost (Kaggle's cifar-10 test set is 97 %
        junk, all of it unsure), a view count means another thing for each TTA
        mode and test set size, and seconds would make the same command predict
        differently on another machine; a share costs ``planned_views`` whatever
        the images hold, and means the same on the validation split and the
        test set. 0 = the first view alone, 1 = every view on every image.
        ``on_view(n)`` is told each view's image count before it runs.
        """
        views, budget = TTA_VIEWS[check_tta(tta)], budget_for(tta, budget)
        first = self._view(images, batch_size, views[0], callbacks, on_view)
        chosen = budgeted_images(len(images), budget)
        if chosen == 0:
            return self._probabilities(first), TtaSpend(budget, 0, len(images), None)  # = planned_views
        confidence = self._probabilities(first).max(axis=1)
        order = np.argsort(confidence, kind="stable")[:chosen]
        unsure = np.sort(order)  # image order: a memory map is read forwards
        subset = images if chosen == len(images) else images[unsure]
        outputs = first.copy()
        outputs[unsure] = views[0][0] * first[unsure] + sum(
            view[0] * self._view(subset, batch_size, view, callbacks, on_view) for view in views[1:]
        )
        spend = TtaSpend(budget, chosen, planned_views(len(images), tta, budget), float(confidence[order[-1]]))
        return self._probabilities(outputs), spend

    def _view(
        self,
        images: np.ndarray,
        batch_size: int,
        view: tuple[float, bool, int],
        callbacks: list[Any] | None,
        on_view: Callable[[int], None] | None,
    ) -> np.ndarray:
        """One view's raw outputs, unweighted."""
        _, flip, shift = view
        if on_view is not None:
            on_view(len(images))
        if len(images) == 0:
            return np.zeros((0, len(self.classes)), np.float32)
        return self._predict(images, batch_size, flip, shift, callbacks)

    @property
    def temperature(self) -> float:
        """What the logits are divided by before the softmax: fitted at the end of training for a log-loss
        competition (calibrate.py), 1 for every other run and for runs trained before it was."""
        return float(self.metrics.get(TEMPERATURE, 1.0))

    def _probabilities(self, outputs: np.ndarray) -> np.ndarray:
        if not self.config["recipe"].get("from_logits"):
            if self.temperature == 1.0:
                return outputs.astype(np.float32)
            outputs = logits_of(outputs)
        return with_temperature(outputs, self.temperature)

    def _predict(
        self, images: np.ndarray, batch_size: int, flip: bool, shift: int, callbacks: list[Any] | None
    ) -> np.ndarray:
        from kagglekit.data.pipeline import streamed_input

        model = self.model
        model.jit_compile = self._use_xla
        try:
            outputs = model.predict(streamed_input(images, batch_size, flip, shift), verbose=0, callbacks=callbacks)
        except Exception as error:  # a layer with an op XLA cannot compile (TensorFlow): predict without XLA
            if not self._use_xla or "XLA" not in f"{type(error).__name__} {error}":
                raise
            self._use_xla, model.jit_compile, model.predict_function = False, False, None
            outputs = model.predict(streamed_input(images, batch_size, flip, shift), verbose=0, callbacks=callbacks)
        return np.asarray(outputs, dtype=np.float32)


def load_run(run_dir: Path, precision: str = "auto") -> Run:
    run_dir = Path(run_dir)
    if not (run_dir / CONFIG).is_file():
        raise UsageError(f"{run_dir} is not a run directory (no {CONFIG})")
    if not is_complete(run_dir):
        raise StageNotReadyError(f"run {run_dir} is incomplete (no {METRICS}); rerun its train command to resume it")
    if not (run_dir / BEST_MODEL).is_file():
        raise StageNotReadyError(f"run {run_dir} has no {BEST_MODEL}")
    return Run(
        dir=run_dir, config=read_json(run_dir / CONFIG), metrics=read_json(run_dir / METRICS), precision=precision
    )


def resolve_run(run: str | Path | None, runs_dir: Path = DEFAULT_RUNS_DIR, say: Callable[[str], None] = print) -> Path:
    """A run directory from what a user typed: a path, a version name or id, or nothing (newest).

    A name or nothing means "the newest": fine for a human at a prompt, never for a script, so it says
    which run it took. Scripts (and `make`) name the recipe instead: see ``find_run``.
    """
    if run is not None and Path(run).is_dir():
        return Path(run)
    chosen = latest_run(runs_dir, None if run is None else str(run))
    of = f"of {run}" if run is not None else f"of all in {runs_dir}/"
    say(f"took {chosen}, the newest complete run {of} (name a run directory, or the recipe with --model, to choose)")
    return chosen
