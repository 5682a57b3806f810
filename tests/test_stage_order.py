"""Stages run out of order, or on a partial data directory, as a new user runs them.

Each command meets an empty, a fetched-only and an unpacked-only data directory,
with and without an earlier (real) run and its prediction, and must answer in
one line that says what to run first, with a non-zero exit: never a traceback.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from builders import raw_competition

from kagglekit.cli import main
from kagglekit.data.unpack import unpack_competition
from kagglekit.paths import CompetitionPaths
from kagglekit.standin.synthetic import CompetitionFiles
from kagglekit.submissions.formats import PREDICTION

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

STATES = ("empty", "fetched", "unpacked")
OTHER_VERSION = "other-00000000"

# command, its arguments, the data-directory states it cannot work in, and whether an earlier run and
# prediction change that (None: the same either way). A command left out of a state is one that works there.
CASES = [
    ("unpack", [], {"empty"}, None),
    ("folders", [], {"empty", "fetched"}, None),
    ("train", ["--model", "seed-cifar10-modeling"], set(STATES), None),
    ("evaluate", ["seed-cifar10-modeling"], set(STATES), False),  # an earlier run evaluates on its own data
    ("predict", [], set(STATES), False),
    ("predict", [], {"empty"}, True),  # fetched: the same sampleSubmission.csv, so its prediction stands
    ("ensemble", ["VERSION", OTHER_VERSION], set(STATES), False),
    ("ensemble", ["VERSION", OTHER_VERSION], {"empty"}, True),
    ("submit", [], set(STATES), None),  # with a prediction: no credentials here, and no network
    ("scores", [], set(STATES), None),
    ("compare", [], set(STATES), False),
]
USE_RUNS = {"train", "evaluate", "predict"}
USE_SUBMISSIONS = {"predict", "ensemble", "submit", "scores", "compare"}


def expand() -> list[tuple[str, list[str], str, bool]]:
    cases = []
    for command, args, states, history in CASES:
        for state in STATES:
            for earlier in (False, True) if history is None else (history,):
                if state in states:
                    cases.append(
                        pytest.param(
                            command,
                            args,
                            state,
                            earlier,
                            id=f"{command}-{state}-{'after-a-run' if earlier else 'fresh'}",
                        )
                    )
    return cases


@pytest.fixture(scope="module")
def unpacked_template(
    competition_files: CompetitionFiles, tmp_path_factory: pytest.TempPathFactory
) -> CompetitionPaths:
    paths = raw_competition(competition_files, tmp_path_factory.mktemp("unpacked") / "data")
    unpack_competition(paths, progress=False)
    return paths


def data_dir(state: str, template: CompetitionPaths, target: Path) -> Path:
    """A data directory as a user who stopped after ``state`` has it."""
    target.mkdir()
    if state != "empty":
        shutil.copytree(template.raw, CompetitionPaths(target).raw)
    if state == "unpacked":
        shutil.copytree(template.images, CompetitionPaths(target).images)
        shutil.copytree(template.cache, CompetitionPaths(target).cache)
    return target


def history(tiny_prediction: Path, submissions: Path) -> str:
    """submissions/ with the run's real prediction and a second version beside it; returns the first's id."""
    shutil.copytree(tiny_prediction, submissions / tiny_prediction.name)
    other = shutil.copytree(tiny_prediction, submissions / OTHER_VERSION)
    record = json.loads((other / PREDICTION).read_text())
    (other / PREDICTION).write_text(json.dumps({**record, "version_id": OTHER_VERSION}))
    return tiny_prediction.name


@pytest.mark.parametrize(("command", "args", "state", "earlier"), expand())
def test_a_stage_out_of_order_says_what_to_run_in_one_line(
    command: str,
    args: list[str],
    state: str,
    earlier: bool,
    unpacked_template: CompetitionPaths,
    tiny_run: Path,
    tiny_prediction: Path,
    tmp_path: Path,
    no_kaggle_credentials: None,
    unreachable_proxy: str,
    capsys: pytest.CaptureFixture,
) -> None:
    data = data_dir(state, unpacked_template, tmp_path / "data")
    runs, submissions = tmp_path / "runs", tmp_path / "submissions"
    submissions.mkdir()
    if earlier:
        runs = tiny_run.parent
        version = history(tiny_prediction, submissions)
        args = [version if a == "VERSION" else a for a in args]
    flags = ["--data-dir", str(data)]
    flags += ["--runs-dir", str(runs)] if command in USE_RUNS else []
    flags += ["--submissions-dir", str(submissions)] if command in USE_SUBMISSIONS else []
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    capsys.readouterr()

    code = main([command, *args, *flags])

    err = capsys.readouterr().err
    assert code != 0 and err.count("\n") == 1 and err.startswith(f"kagglekit {command}: error:"), err
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before  # nothing half-made left behind
