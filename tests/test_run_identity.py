"""A run's identity: its version id (the recipe, typed) and the data it trained on (a content fingerprint).

train --reuse, train's resume and predict --model all find a run by both, so a new split or a new
train archive is never mistaken for the data an old run saw, and the command config.json records,
or the one a Kaggle kernel runs, names the very same version.
"""

from __future__ import annotations

import json
import shlex
import shutil
from pathlib import Path

import keras
import pytest
from builders import copy_competition

from kagglekit.cli import build_parser, main
from kagglekit.commands.recipe import recipe_choice
from kagglekit.data.folders import build_folders
from kagglekit.paths import CompetitionPaths
from kagglekit.remote.kernel_entry import kernel_chain
from kagglekit.training import runs
from kagglekit.training.models import get_version
from kagglekit.training.recipes import RecipeChoice
from kagglekit.training.train import rerun_command, train

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

MODEL = "seed-cifar10-modeling"
QUICK = {"epochs": 1, "limit": 40}


def choice_of(argv: list[str]) -> RecipeChoice:
    """What a stage makes of these command-line words (the stage name first)."""
    return recipe_choice(build_parser().parse_args(argv))


def one_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


# -- typed overrides ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ("lookahead=false", False),
        ("lookahead=True", True),
        ("flip=true", True),
        ("flip=alternating", "alternating"),
        ("lr=1", 1.0),
        ("epochs=12", 12),
        ("widths=[32,64,64]", [32, 64, 64]),
        ('freeze_after={"whiten":2}', {"whiten": 2}),
        ("fill_mode=constant", "constant"),
        ('fill_mode="wrap"', "wrap"),
        ("limit=null", None),
        ("limit=5", 5),
    ],
)
def test_set_reads_each_value_as_its_keys_type(setting: str, expected: object) -> None:
    key, value = get_version("fast").parse_setting(setting)
    assert value == expected and type(value) is type(expected)


@pytest.mark.parametrize(
    ("setting", "said"),
    [
        ("epochs=ten", "recipe key epochs wants a whole number, got 'ten'"),
        ("epochs=0", "recipe key epochs must be 1 or more, got '0'"),
        ("lookahead=maybe", "recipe key lookahead wants true or false, got 'maybe'"),
        ("lr=-1", "recipe key lr must be more than 0, got '-1'"),
        ("lr=NaN", "recipe key lr wants a finite number, got 'NaN'"),
        ("seed=-1", "recipe key seed must be 0 or more"),
        ("widths=64", "recipe key widths wants a JSON list, got '64'"),
        ("lrate=0.1", "unknown recipe key 'lrate' for fast"),
        ("epochs", "--set expects KEY=VALUE"),
    ],
)
def test_a_bad_setting_is_one_line_naming_key_value_and_type_and_nothing_is_created(
    setting: str, said: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runs_dir = tmp_path / "runs"
    assert (
        main(
            [
                "train",
                "--model",
                "fast",
                "--set",
                setting,
                "--data-dir",
                str(tmp_path / "data"),
                "--runs-dir",
                str(runs_dir),
            ]
        )
        == 2
    )
    assert said in one_line(capsys)
    assert not runs_dir.exists() and not (tmp_path / "data").exists()


def test_the_shortcut_and_the_setting_are_the_same_version() -> None:
    assert (
        choice_of(["train", "--model", "fast", "--lr", "1"]).version_id
        == choice_of(["train", "--model", "fast", "--set", "lr=1.0"]).version_id
    )
    assert choice_of(["train", "--model", "fast", "--epochs", "18"]).version_id == RecipeChoice("fast").version_id


def test_config_json_command_names_the_same_version_for_a_bool_a_float_and_a_dict(tmp_path: Path) -> None:
    overrides = {"lookahead": False, "lr": 0.75, "freeze_after": {"whiten": 2}}
    recipe = RecipeChoice("fast", overrides, all_data=True).recipe
    command = shlex.split(rerun_command(recipe, CompetitionPaths(tmp_path), tmp_path / "runs"))
    assert command[:4] == ["python", "-m", "kagglekit", "train"]
    again = choice_of(command[3:])
    assert again.recipe == recipe and again.version_id == RecipeChoice("fast", overrides, True).version_id
    assert again.overrides["lookahead"] is False and again.all_data


def test_a_kernel_trains_and_predicts_the_version_remote_was_given(tmp_path: Path) -> None:
    spec = {
        "model": "fast",
        "overrides": {"lookahead": False, "lr": 0.75, "freeze_after": {"whiten": 2}},
        "all_data": True,
        "tta": None,
    }
    expected = RecipeChoice("fast", spec["overrides"], True).version_id
    chain = kernel_chain({**spec, "competition": "cifar-10"}, tmp_path)
    for stage in ("train", "predict"):
        chosen = choice_of(chain.argv(stage))
        assert chosen.version_id == expected and chosen.overrides["lookahead"] is False


def test_recipe_flags_without_a_model_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["predict", "--seed", "1", "--data-dir", str(tmp_path), "--runs-dir", str(tmp_path / "runs")]) == 2
    assert "give --model NAME too" in one_line(capsys)


# -- runs know their data ------------------------------------------------------------------------------


@pytest.fixture
def paths(prepared: CompetitionPaths, tmp_path: Path) -> CompetitionPaths:
    return copy_competition(prepared, tmp_path / "data")


@pytest.mark.slow
def test_reuse_and_predict_take_only_a_run_on_the_same_data(
    paths: CompetitionPaths, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runs_dir, lines = tmp_path / "runs", []
    first = train(MODEL, QUICK, paths, runs_dir, log=lines.append)
    assert train(MODEL, QUICK, paths, runs_dir, log=lines.append, reuse=True) == first  # same data: reused

    build_folders(paths, valid_fraction=0.2, seed=1, force=True)  # another split of the same images
    lines.clear()
    second = train(MODEL, QUICK, paths, runs_dir, log=lines.append, reuse=True)
    assert second != first
    assert any(line.startswith(f"not reusing {first}: the split changed") for line in lines)
    data = [json.loads((run / runs.CONFIG).read_text())["data"] for run in (first, second)]
    assert data[0]["images_sha256"] == data[1]["images_sha256"] and data[0]["fingerprint"] != data[1]["fingerprint"]

    flags = ["--model", MODEL, "--epochs", "1", "--set", "limit=40"]
    where = [
        "--data-dir",
        str(paths.data_dir),
        "--runs-dir",
        str(runs_dir),
        "--submissions-dir",
        str(tmp_path / "subs"),
    ]
    assert main(["predict", *flags, *where]) == 0
    predicted = json.loads(next((tmp_path / "subs").glob("*/prediction.json")).read_text())
    assert predicted["run_dir"] == str(second) and predicted["data_fingerprint"] == data[1]["fingerprint"]

    (second / runs.METRICS).unlink()  # as if the run on today's split had never finished
    capsys.readouterr()
    assert main(["predict", *flags, *where]) == 1
    error = one_line(capsys)
    assert f"no finished run of {predicted['version_id']} on the data in" in error
    assert f"{first} is, but on other data: the split changed" in error


class StopAfterFirstEpoch(keras.callbacks.Callback):
    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        raise KeyboardInterrupt


@pytest.mark.slow
def test_resume_refuses_a_run_started_on_other_data(paths: CompetitionPaths, tmp_path: Path) -> None:
    runs_dir = tmp_path / "runs"
    with pytest.raises(KeyboardInterrupt):
        train(MODEL, {**QUICK, "epochs": 2}, paths, runs_dir, log=lambda line: None, callbacks=[StopAfterFirstEpoch()])
    (unfinished,) = runs_dir.iterdir()
    build_folders(paths, valid_fraction=0.3, seed=2, force=True)
    with pytest.raises(Exception) as refused:
        train(MODEL, {**QUICK, "epochs": 2}, paths, runs_dir, log=lambda line: None)
    message = str(refused.value)
    assert f"the unfinished run {unfinished} of" in message and "the split changed" in message
    assert "delete that folder to train afresh" in message and "\n" not in message
    assert list(runs_dir.iterdir()) == [unfinished]  # nothing new started, the old run untouched


def test_a_run_that_never_began_training_leaves_no_folder(
    prepared: CompetitionPaths, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runs_dir = tmp_path / "runs"
    assert (
        main(
            [
                "train",
                "--model",
                MODEL,
                "--set",
                "optimizer=nadam",
                "--data-dir",
                str(prepared.data_dir),
                "--runs-dir",
                str(runs_dir),
            ]
        )
        == 2
    )
    assert "unknown optimizer 'nadam'" in one_line(capsys)
    assert list(runs_dir.iterdir()) == []


def test_a_bare_name_says_which_run_it_took(tiny_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert runs.resolve_run(MODEL, tiny_run.parent) == tiny_run
    assert f"took {tiny_run}, the newest complete run of {MODEL}" in capsys.readouterr().out


def test_a_damaged_config_is_named_and_the_other_runs_still_found(
    tiny_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    damaged = tmp_path / f"{tiny_run.name}-copy"
    damaged.mkdir()
    (damaged / runs.CONFIG).write_text('{\n  "version": "x",\n<<<<<<< HEAD\n}\n')
    shutil.copytree(tiny_run, tmp_path / tiny_run.name)
    assert runs.latest_run(tmp_path, MODEL) == tmp_path / tiny_run.name
    assert f"skipping {damaged / runs.CONFIG}:3: not valid JSON" in capsys.readouterr().err
