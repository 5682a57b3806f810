"""Train one model version into ``runs/<version>-<hash>-<time>/``, resumably.

Every epoch end saves the resume point (weights, optimizer state, the random
generators' states, lookahead's slow copy, best score, early-stopping counter)
into ``state/``; an improvement also saves
``best.keras``. A Ctrl-C or a killed process therefore loses at most the epoch
in flight, and rerunning the same command finds the incomplete run of the same
version id and continues it from the saved epoch.
"""

from __future__ import annotations

import csv
import os
import platform
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Iterable

import keras
import numpy as np
import pandas as pd

from kagglekit.competitions import get_spec
from kagglekit.competitions.spec import CompetitionSpec
from kagglekit.data.pipeline import (
    CPU_PIPELINE_THREADS,
    SplitData,
    data_fingerprint,
    eval_dataset,
    load_split,
    steps_per_epoch,
    train_dataset,
)
from kagglekit.exceptions import DataError
from kagglekit.jsonfiles import read_json, write_json
from kagglekit.outputs import remove
from kagglekit.paths import CompetitionPaths
from kagglekit.submissions.formats import LOG_LOSSES, score_predictions
from kagglekit.training import augment, backend, devices, plots, runs
from kagglekit.training.calibrate import fit_temperature, logits_of, with_temperature
from kagglekit.training.device_data import DeviceImages, index_batches, mirrored_first, validation_rows
from kagglekit.training.evaluate import submission_clip
from kagglekit.training.models import ALL_DATA, get_version, recipe_hash, version_id
from kagglekit.training.recipes import RecipeChoice
from kagglekit.training.step_weights import InStepModel
from kagglekit.training.weight_callbacks import Lookahead, freezes, load_random_states, save_random_states

Log = Callable[[str], None]
STATE_WEIGHTS = "last.weights.h5"  # what runs saved before state.json named its files
STATE_JSON = "state.json"
STATE_WEIGHTS_KEY, STATE_SLOW_KEY = "weights_file", "lookahead_file"  # in state.json: this epoch's files


def git_commit() -> dict[str, Any]:
    """The code's commit and whether the tree had uncommitted changes."""
    root = Path(__file__).resolve().parents[2]

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=10).stdout.strip()

    try:
        return {"commit": git("rev-parse", "HEAD") or None, "dirty": bool(git("status", "--porcelain", "kagglekit"))}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}


def rerun_command(recipe: dict[str, Any], paths: CompetitionPaths, runs_dir: Path) -> str:
    """The train command that reproduces this version id (overrides as JSON, so types survive)."""
    return shlex.join(
        [
            "python",
            "-m",
            "kagglekit",
            "train",
            *RecipeChoice.of_recipe(recipe).flags(),
            "--data-dir",
            str(paths.data_dir),
            "--competition",
            paths.slug,
            "--runs-dir",
            str(runs_dir),
        ]
    )


class Progress(keras.callbacks.Callback):
    """One table row per epoch (airbench-style), with training images per second."""

    def __init__(self, n_train: int, log: Log) -> None:
        super().__init__()
        self.n_train, self.log = n_train, log
        self.epoch_start = self.train_end = 0.0

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self.epoch_start = time.perf_counter()
        self.train_end = 0.0

    def on_test_begin(self, logs: dict | None = None) -> None:
        # JAX dispatches steps asynchronously: wait for the last one, or its time is counted as validation's.
        keras.ops.convert_to_numpy(self.model.optimizer.iterations)
        self.train_end = time.perf_counter()

    def timings(self) -> tuple[float, float]:
        """(seconds training this epoch, seconds for the whole epoch)."""
        now = time.perf_counter()
        return (self.train_end or now) - self.epoch_start, now - self.epoch_start


class Checkpointer(keras.callbacks.Callback):
    """Best model on every improvement, resume point every epoch, early stopping, history.csv."""

    def __init__(
        self,
        run_dir: Path,
        save_model: keras.Model,
        recipe: dict[str, Any],
        state: dict[str, Any],
        progress: Progress,
        log: Log,
        lookahead: Lookahead | None = None,
    ) -> None:
        super().__init__()
        self.run_dir, self.save_model, self.recipe = run_dir, save_model, recipe
        self.state, self.progress, self.log, self.lookahead = state, progress, log, lookahead
        self.monitor = recipe["monitor"]
        self.higher_is_better = "acc" in self.monitor

    def improved(self, value: float) -> bool:
        best = self.state.get("best")
        return best is None or (value > best if self.higher_is_better else value < best)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = dict(logs or {})
        train_seconds, epoch_seconds = self.progress.timings()
        state = self.state
        state["train_seconds"] += train_seconds
        state["seconds"] += epoch_seconds
        state["images"] += self.progress.n_train
        held_out = self.monitor in logs  # not in an --all-data run: then the latest model is the one kept
        value = float(logs[self.monitor]) if held_out else None
        better = self.improved(value) if held_out else True
        if better:
            state.update(
                best=value,
                best_epoch=epoch,
                wait=0,
                best_val_accuracy=_maybe(logs.get("val_accuracy")),
                best_val_loss=_maybe(logs.get("val_loss")),
            )
            save_keras(self.save_model, self.run_dir / runs.BEST_MODEL)
        else:
            state["wait"] += 1
        state["epoch"] = epoch + 1
        rate = self.progress.n_train / max(train_seconds, 1e-9)
        row = {
            "epoch": epoch,
            "loss": logs["loss"],
            "accuracy": logs["accuracy"],
            "val_loss": logs.get("val_loss", np.nan),
            "val_accuracy": logs.get("val_accuracy", np.nan),
            "lr": float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)),
            "images_per_second": rate,
            "seconds": epoch_seconds,
        }
        append_history(self.run_dir / runs.HISTORY, row)
        self.save_state()
        marker = "  *best" if better and held_out else ""
        self.log(
            f"{epoch + 1:5d} | {logs['loss']:10.4f} | {logs['accuracy']:9.4f} | {_shown(row['val_loss'], 8)} | "
            f"{_shown(row['val_accuracy'], 7)} | {rate:7.0f} | {epoch_seconds:6.1f}s{marker}"
        )
        patience = int(self.recipe["early_stopping"])
        if patience and state["wait"] >= patience:
            state["stopped_early"] = True
            self.save_state()
            self.log(f"early stopping: no better {self.monitor} for {patience} epochs")
            self.model.stop_training = True

    def save_state(self) -> None:
        """Files named by epoch first, then state.json naming them: a kill at any point leaves a consistent pair."""
        state_dir = self.run_dir / runs.STATE_DIR
        state_dir.mkdir(exist_ok=True)
        files = {STATE_WEIGHTS_KEY: f"epoch-{self.state['epoch']}.weights.h5"}
        self.model.save_weights(state_dir / "tmp.weights.h5")
        os.replace(state_dir / "tmp.weights.h5", state_dir / files[STATE_WEIGHTS_KEY])
        if self.lookahead is not None:
            files[STATE_SLOW_KEY] = f"epoch-{self.state['epoch']}.lookahead.npz"
            self.lookahead.save(state_dir / "tmp.lookahead.npz")
            os.replace(state_dir / "tmp.lookahead.npz", state_dir / files[STATE_SLOW_KEY])
        files.update(save_random_states(self.model, state_dir, self.state["epoch"]))
        self.state.update(files)
        write_json(state_dir / STATE_JSON, self.state)
        for old in state_dir.iterdir():  # the previous epoch's files, now that nothing names them
            if old.name not in {STATE_JSON, *files.values()}:
                old.unlink()


def _maybe(value: Any) -> float | None:
    return None if value is None else float(value)


def _shown(value: float, width: int) -> str:
    """A table cell: the figure, or a dash where nothing was held out to measure it."""
    return f"{'-':>{width}}" if value is None or np.isnan(value) else f"{value:{width}.4f}"


def all_images(data: SplitData) -> SplitData:
    """Training and validation images as one training set, nothing held out (a final submission's run)."""
    return SplitData(
        np.concatenate([data.x_train, data.x_valid]),
        np.concatenate([data.y_train, data.y_valid]),
        data.x_valid[:0],
        data.y_valid[:0],
        data.classes,
        data.source,
    )


def save_keras(model: keras.Model, path: Path) -> None:
    tmp = path.with_name("tmp-" + path.name)
    with devices.portable(model):
        model.save(tmp)
    os.replace(tmp, path)


def append_history(path: Path, row: dict[str, Any]) -> None:
    """Append one epoch, dropping rows from a previous attempt at the same or later epochs."""
    if path.exists():
        history = pd.read_csv(path)
        history = history[history["epoch"] < row["epoch"]]
        history = pd.concat([history, pd.DataFrame([row])], ignore_index=True)
    else:
        history = pd.DataFrame([row])
    tmp = path.with_name(path.name + ".tmp")
    history.to_csv(tmp, index=False, quoting=csv.QUOTE_MINIMAL)
    os.replace(tmp, path)


def fresh_state() -> dict[str, Any]:
    return {
        "epoch": 0,
        "best": None,
        "best_epoch": None,
        "wait": 0,
        "best_val_accuracy": None,
        "best_val_loss": None,
        "seconds": 0.0,
        "train_seconds": 0.0,
        "images": 0,
        "stopped_early": False,
    }


def build_models(
    recipe: dict[str, Any], data: SplitData, hardware: devices.Hardware, steps: int
) -> tuple[keras.Model, keras.Model]:
    """(model to train, model to save): the same unless the input pipeline runs inside the training model.

    Call inside ``hardware.scope()``. On JAX the training model takes [index,
    parity] rows and holds the images itself (``device_data``); on TensorFlow
    GPUs it takes uint8 batches. Either way the augmentation runs inside, and
    XLA compiles the whole step wherever the augmentation allows it (gathers:
    always; TensorFlow's resampling op: never).
    """
    version = get_version(recipe["model"])
    input_shape = tuple(data.x_train.shape[1:])
    keras.mixed_precision.set_global_policy(hardware.mixed_precision)
    try:
        core = version.architecture(recipe, input_shape, data.n_classes)
        model = core
        if hardware.augment_on_device:
            augmenter = augment.from_recipe(recipe, recipe["seed"])
            if hardware.backend == "tensorflow":
                inputs = keras.Input(input_shape, dtype="uint8")
                model = keras.Model(inputs, core(augmenter(inputs)), name="training")
            else:
                inputs = keras.Input((2,), dtype="int32")
                model = InStepModel(inputs, core(augmenter(device_images(recipe, data)(inputs))), name="training")
            hardware.jit_compile = hardware.jit_compile or augmenter.supports_jit
        devices.synchronise_batch_norm(core, hardware)
        from kagglekit.training.models.compile import compile_model

        compile_model(model, recipe, steps, jit_compile=hardware.jit_compile)
        model.optimizer.build(model.trainable_variables)
        if version.prepare is not None:
            version.prepare(core, data.x_train, int(recipe["seed"]))
        if isinstance(model, InStepModel):  # after prepare: the slow copy starts from the prepared weights
            model.plan(
                int(recipe["epochs"]) * steps if recipe["lookahead"] else None,
                [(freeze.layer, freeze.epochs * steps) for freeze in freezes(recipe, core)],
            )
    finally:
        keras.mixed_precision.set_global_policy("float32")
    return model, core


def device_images(recipe: dict[str, Any], data: SplitData) -> DeviceImages:
    """Training then validation images in one device variable; the alternating flip's half among the training ones."""
    mirrored = None
    if augment.flip_mode(recipe) == augment.ALTERNATING:
        mirrored = np.concatenate(
            [mirrored_first(len(data.x_train), int(recipe["seed"])), np.zeros(len(data.x_valid), bool)]
        )
    return DeviceImages(np.concatenate([data.x_train, data.x_valid]), mirrored, name="device_images")


def lookahead_callback(
    recipe: dict[str, Any], train_model: keras.Model, total_steps: int, state_dir: Path, state: dict[str, Any]
) -> Lookahead | None:
    """Per-step lookahead with its slow copy restored on resume; None where the step does it itself (JAX)."""
    if not recipe["lookahead"] or isinstance(train_model, InStepModel):
        return None
    slow = state.get(STATE_SLOW_KEY)
    return Lookahead(total_steps, Lookahead.load(state_dir / slow) if slow else None)


def weight_callbacks(
    recipe: dict[str, Any], train_model: keras.Model, save_model: keras.Model, lookahead: Lookahead | None
) -> list[keras.callbacks.Callback]:
    """Lookahead and frozen layers as per-step callbacks, unless the training step does them itself (JAX)."""
    if isinstance(train_model, InStepModel):
        return []
    return [*([lookahead] if lookahead else []), *freezes(recipe, save_model)]


def input_data(
    recipe: dict[str, Any], data: SplitData, hardware: devices.Hardware, global_batch: int, first_epoch: int
) -> tuple[Any, Any]:
    """(training batches, validation data or None): tf.data on TensorFlow; on JAX, rows of ``device_images``."""
    one_hot = data.n_classes if recipe["loss"] == "categorical_crossentropy" else None
    seed, epochs = int(recipe["seed"]), int(recipe["epochs"])
    validate = len(data.x_valid) > 0  # not in an --all-data run
    if hardware.backend != "tensorflow":

        def targets(labels: np.ndarray) -> np.ndarray:
            return np.eye(one_hot, dtype=np.float32)[labels] if one_hot else labels

        batches = index_batches(
            len(data.x_train), targets(data.y_train), global_batch, seed, first_epoch, hardware.replicas
        )
        if not validate:
            return batches, None
        rows = validation_rows(len(data.x_train), len(data.x_valid), hardware.replicas)
        return batches, (rows, targets(data.y_valid[: len(rows)]))
    alternating = augment.flip_mode(recipe) == augment.ALTERNATING
    host_augment = None if hardware.augment_on_device else augment.from_recipe(recipe, seed)
    threads = CPU_PIPELINE_THREADS if hardware.kind == "CPU" else None
    train_data = train_dataset(
        data.x_train,
        data.y_train,
        global_batch,
        seed,
        first_epoch,
        epochs,
        host_augment,
        one_hot,
        threads,
        alternating_flip=alternating,
    )
    return train_data, eval_dataset(data.x_valid, data.y_valid, max(global_batch, 256), one_hot) if validate else None


def train(
    model: str,
    overrides: dict[str, Any] | None = None,
    paths: CompetitionPaths | None = None,
    runs_dir: Path = runs.DEFAULT_RUNS_DIR,
    log: Log = print,
    callbacks: Iterable[keras.callbacks.Callback] = (),
    precision: str = "auto",
    reuse: bool = False,
    all_data: bool = False,
) -> Path:
    """Train (or resume) one version; returns the run directory. ``callbacks`` are extra, run after ours.

    ``reuse`` returns the newest finished run of the same version id on the same data instead of training again.
    ``all_data`` trains on the validation images too, for a final submission once the recipe is fixed: no
    validation accuracy exists for such a run, and its version id differs from the measured run's.
    """
    version = get_version(model)
    recipe = RecipeChoice(model, dict(overrides or {}), all_data).recipe
    paths = (paths or CompetitionPaths(Path("data"))).at_size(recipe["image_size"])
    vid = version_id(recipe)
    hardware = devices.detect(
        precision, cpu_xla=version.cpu_xla
    )  # an unusable accelerator stops us before the data loads
    data = load_split(paths, recipe["limit"])
    data_info = describe_data(paths, data, all_data)
    if all_data:
        data = all_images(data)

    if reuse:
        finished = reusable_run(runs_dir, vid, data_info, log)
        if finished is not None:
            return finished
    run_dir = runs.find_run(runs_dir, vid, data_info["fingerprint"], complete=False)
    if run_dir is None:
        refuse_resume_on_other_data(runs_dir, vid, data_info)
        run_dir = start_run(runs_dir, recipe, data, data_info, hardware, paths)
    try:
        return train_in(run_dir, recipe, data, hardware, log, callbacks)
    except BaseException:
        if not (run_dir / runs.STATE_DIR / STATE_JSON).exists():
            remove(run_dir)  # no epoch was saved: nothing to resume, so nothing may look like a started run
        raise


def describe_data(paths: CompetitionPaths, data: SplitData, all_data: bool) -> dict[str, Any]:
    """config.json's ``data``: where it came from, how much, what was held out, and its content fingerprint."""
    return {
        "root": str(Path(paths.root).resolve()),
        "data_dir": str(paths.data_dir),
        "competition": paths.slug,
        "source": data.source,
        "n_train": len(data.x_train) + (len(data.x_valid) if all_data else 0),
        "n_valid": 0 if all_data else len(data.x_valid),
        "image_size": list(data.x_train.shape[1:3]),  # [height, width]: the spec's, or the recipe's image_size
        "held_out": "nothing: trained on every labelled image (--all-data)"
        if all_data
        else "the folders stage's validation split",
        **data_fingerprint(paths),
    }


def reusable_run(runs_dir: Path, vid: str, data_info: dict[str, Any], log: Log) -> Path | None:
    """--reuse: the finished run of this version on this very data; a run on other data is said and passed over."""
    finished = runs.find_run(runs_dir, vid, data_info["fingerprint"], complete=True)
    if finished is not None:
        log(f"reusing finished run {finished} ({vid}, data {data_info['fingerprint']}); drop --reuse to train again")
        return finished
    other = runs.on_other_data(runs_dir, vid, data_info["fingerprint"], complete=True)
    if other is not None:
        log(f"not reusing {other[0]}: {runs.what_changed(other[1], data_info)}; training {vid} on this data")
    return None


def refuse_resume_on_other_data(runs_dir: Path, vid: str, data_info: dict[str, Any]) -> None:
    """An unfinished run of this version on other data would mix two datasets if resumed: stop, saying what changed."""
    other = runs.on_other_data(runs_dir, vid, data_info["fingerprint"], complete=False)
    if other is not None:
        raise DataError(
            f"the unfinished run {other[0]} of {vid} was trained on other data: "
            f"{runs.what_changed(other[1], data_info)}; restore that data to resume it, or delete that "
            "folder to train afresh on this data"
        )


def start_run(
    runs_dir: Path,
    recipe: dict[str, Any],
    data: SplitData,
    data_info: dict[str, Any],
    hardware: devices.Hardware,
    paths: CompetitionPaths,
) -> Path:
    """A new run directory with config.json (the whole recipe, the data, enough to rerun it) and samples.png."""
    vid = version_id(recipe)
    run_dir = runs.new_run_dir(runs_dir, vid)
    write_json(
        run_dir / runs.CONFIG,
        {
            "version": recipe["model"],
            "version_id": vid,
            "hash": recipe_hash(recipe),
            "recipe": recipe,
            "data": data_info,
            "classes": data.classes,
            "git": git_commit(),
            "command": rerun_command(recipe, paths, runs_dir),
            "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
            "python": platform.python_version(),
            "backend": devices.backend_version(),
            "keras": keras.__version__,
            "device": hardware.as_dict(),
        },
    )
    plots.samples(data.x_train, data.y_train, data.classes, run_dir / runs.SAMPLES)
    return run_dir


def train_in(
    run_dir: Path,
    recipe: dict[str, Any],
    data: SplitData,
    hardware: devices.Hardware,
    log: Log,
    callbacks: Iterable[keras.callbacks.Callback],
) -> Path:
    """Train (from scratch, or on from the saved epoch) in ``run_dir``, then write its results."""
    vid = version_id(recipe)
    resuming = (run_dir / runs.STATE_DIR / STATE_JSON).exists()
    keras.utils.set_random_seed(int(recipe["seed"]))
    global_batch = int(recipe["batch_size"]) * hardware.replicas
    steps = steps_per_epoch(len(data.x_train), global_batch)
    with hardware.scope():
        train_model, save_model = build_models(recipe, data, hardware, steps)
        state = fresh_state()
        if resuming:
            state = read_json(run_dir / runs.STATE_DIR / STATE_JSON)
            train_model.load_weights(run_dir / runs.STATE_DIR / state.get(STATE_WEIGHTS_KEY, STATE_WEIGHTS))
            load_random_states(train_model, run_dir / runs.STATE_DIR, state)
        epochs = int(recipe["epochs"])

        log(f"kagglekit train | {vid} | {hardware.describe()} ({backend.reason()})")
        log(
            f"run {run_dir} | {len(data.x_train)} train / {len(data.x_valid)} valid images | "
            f"batch {global_batch} | {epochs} epochs | {steps} steps/epoch"
        )
        if resuming:
            best = (
                f"best {recipe['monitor']} {state['best']:.4f} at epoch {state['best_epoch'] + 1}"
                if state["best"] is not None
                else "nothing held out"
            )
            log(f"resuming from epoch {state['epoch'] + 1} ({best})")
        if state["epoch"] >= epochs or state.get("stopped_early"):
            log("training already finished; writing results")
        else:
            train_data, valid_data = input_data(recipe, data, hardware, global_batch, state["epoch"])
            progress = Progress(len(data.x_train), log)
            lookahead = lookahead_callback(recipe, train_model, epochs * steps, run_dir / runs.STATE_DIR, state)
            checkpointer = Checkpointer(run_dir, save_model, recipe, state, progress, log, lookahead)
            ours = [progress, *weight_callbacks(recipe, train_model, save_model, lookahead), checkpointer]
            log("epoch | train loss | train acc | val loss | val acc |   img/s |   time")
            train_model.fit(
                train_data,
                validation_data=valid_data,
                epochs=epochs,
                initial_epoch=state["epoch"],
                steps_per_epoch=steps,
                callbacks=[*ours, *callbacks],
                verbose=0,
                shuffle=False,
                validation_batch_size=None if hardware.backend == "tensorflow" else max(global_batch, 256),
            )
    return finish(run_dir, data, hardware, state, log)


def finish(run_dir: Path, data: SplitData, hardware: devices.Hardware, state: dict[str, Any], log: Log) -> Path:
    """Pictures from the best model, then metrics.json last (the run is complete from then on)."""
    config = read_json(run_dir / runs.CONFIG)
    history = pd.read_csv(run_dir / runs.HISTORY)
    plots.curves(history, run_dir / runs.CURVES, config["version_id"])
    metrics = {
        "best_val_accuracy": state["best_val_accuracy"],
        "best_val_loss": state["best_val_loss"],
        "best_epoch": state["best_epoch"] + 1,
        "epochs": state["epoch"],
        "stopped_early": state["stopped_early"],
        "training_seconds": round(state["seconds"], 2),
        "images_per_second": round(state["images"] / max(state["train_seconds"], 1e-9), 1),
        "device": hardware.name,
        "device_kind": hardware.kind,
        "replicas": hardware.replicas,
        "mixed_precision": hardware.mixed_precision,
        "jit_compile": hardware.jit_compile,
        **(validation_metrics(runs.Run(run_dir, config, {}), data, run_dir) if len(data.x_valid) else {ALL_DATA: True}),
    }
    write_json(run_dir / runs.METRICS, metrics)
    if len(data.x_valid):
        with_tta = f" | with {metrics['tta']} TTA {metrics['val_accuracy_tta']:.4f}" if "tta" in metrics else ""
        scored = f"best val accuracy {metrics['best_val_accuracy']:.4f} (epoch {metrics['best_epoch']}/{metrics['epochs']}){with_tta}"
        if "metric" in metrics:
            score = metrics.get("val_score_tta", metrics["val_score"])
            scored += f" | val {metrics['metric']} {score:.4f}{' with TTA' if 'val_score_tta' in metrics else ''}"
            if runs.TEMPERATURE in metrics:
                scored += f" (logits / {metrics[runs.TEMPERATURE]:.3f}, fitted on this split)"
    else:
        scored = f"trained on all {len(data.x_train):,} images, nothing held out: no validation accuracy"
    log(f"{scored} | {metrics['training_seconds']:.1f} s | {metrics['images_per_second']:.0f} img/s | {hardware.name}")
    log(f"wrote {run_dir}")
    return run_dir


def validation_metrics(best: runs.Run, data: SplitData, run_dir: Path) -> dict[str, Any]:
    """The best model's validation accuracy, plain and with its TTA (the figure predict will reproduce), and confusion.png.

    Where the competition is scored otherwise (dogs-vs-cats: log loss), its own metric sits beside the
    accuracy, computed as the submission will be (same format, same clip): accuracy alone hides calibration.
    A log loss also gets the run's temperature (calibrate.py), fitted on the split as predict will see it
    (with the recipe's TTA) and kept in metrics.json, so every later prediction of the run is calibrated.
    """
    spec = get_spec(best.config["data"]["competition"])
    views = [("none", "")] + ([(best.tta, "_tta")] if best.tta != "none" else [])
    predicted = {tta: best.predict_proba(data.x_valid, tta=tta) for tta, _ in views}
    truth = data.y_valid.astype(np.int64)
    metrics: dict[str, Any] = {}
    if spec.metric.name in LOG_LOSSES:
        temperature = fit_temperature(logits_of(predicted[views[-1][0]]), truth)
        uncalibrated = predicted
        predicted = {tta: with_temperature(logits_of(p), temperature) for tta, p in uncalibrated.items()}
        metrics[runs.TEMPERATURE] = temperature
    for tta, suffix in views:
        probabilities = predicted[tta]
        matrix = plots.confusion_matrix(truth, probabilities.argmax(axis=1), data.n_classes)
        if tta == "none":
            plots.confusion(matrix, data.classes, run_dir / runs.CONFUSION, best.version_id)
            metrics["recomputed_val_accuracy"] = float(np.trace(matrix) / matrix.sum())
        else:
            metrics |= {"tta": tta, "val_accuracy_tta": float(np.trace(matrix) / matrix.sum())}
        if spec.metric.name != "accuracy":
            metrics |= {"metric": spec.metric.name, f"val_score{suffix}": validation_score(spec, data, probabilities)}
        if runs.TEMPERATURE in metrics:
            metrics[f"val_score{suffix}_uncalibrated"] = validation_score(spec, data, uncalibrated[tta])
    return metrics


def validation_score(spec: CompetitionSpec, data: SplitData, probabilities: np.ndarray) -> float:
    """The competition's metric on the validation split, with the submission's format and clip."""
    clip = submission_clip(spec, list(data.classes))
    return float(score_predictions(spec.metric, spec.submission, data.classes, data.y_valid, probabilities, clip))


if __name__ == "__main__":  # pragma: no cover
    sys.exit("use: python -m kagglekit train --model NAME")
