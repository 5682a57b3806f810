"""The Makefile itself, the product's main entry point: real `make` targets, the real kaggle client, the local server.

Each sequence is one a user runs (README, issue 20): the stages must carry the run the command named from
train to predict to submit, never "the newest run of that name". What was predicted is read from
prediction.json (which run), what was uploaded from the server's own request log and submission.json.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_models import ROOT

from kagglekit.training.recipes import RecipeChoice

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")]

MODEL = "seed-cifar10-modeling"
UPLOAD = ("POST", "/api/v1/competitions.CompetitionApiService/CreateSubmission")


class Chain:
    """`make TARGET VAR=...` in the repository, writing only under one temporary folder."""

    def __init__(self, root: Path) -> None:
        self.root = root
        venv = root / "venv"  # stands in for .venv: its marker is fresh, so `install` has nothing to do
        venv.mkdir()
        (venv / ".installed").touch()
        self.fixed = [
            f"VENV={venv}",
            f"PY={sys.executable}",
            f"DATA={root / 'data'}",
            f"RUNS={root / 'runs'}",
            f"SUBS={root / 'subs'}",
            f"REMOTE={root / 'remote'}",
            f"MODEL={MODEL}",
            "EPOCHS=1",
        ]

    def make(self, target: str, *variables: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
        done = subprocess.run(
            ["make", "--no-print-directory", "-C", str(ROOT), target, *self.fixed, *variables],
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert done.returncode == 0, (
            f"make {target} {' '.join(variables)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        )
        return done

    def prediction(self, version_id: str) -> dict:
        return json.loads((self.root / "subs" / version_id / "prediction.json").read_text())

    def trained_recipe(self, version_id: str) -> dict:
        """The recipe of the run that version's prediction was made with."""
        return json.loads((Path(self.prediction(version_id)["run_dir"]) / "config.json").read_text())["recipe"]

    def uploads(self, version_id: str) -> list[dict]:
        record = self.root / "subs" / version_id / "submission.json"
        return json.loads(record.read_text())["submissions"] if record.is_file() else []


@pytest.fixture
def chain(kaggle_server, tmp_path: Path) -> Chain:
    return Chain(tmp_path)


def version(**overrides) -> str:
    all_data = overrides.pop("all_data", False)
    return RecipeChoice(MODEL, {"epochs": 1, **overrides}, all_data).version_id


def test_each_make_submit_submits_the_run_its_own_variables_name(chain: Chain, kaggle_server) -> None:
    plain, final, seed1 = version(), version(all_data=True), version(seed=1)

    chain.make("submit")
    assert [u["csv_sha256"] for u in chain.uploads(plain)] == [chain.prediction(plain)["csv_sha256"]]

    chain.make("submit", "ALL_DATA=1")  # the final run: its own version, trained on every image
    assert chain.trained_recipe(final).get("all_data") is True and len(chain.uploads(final)) == 1

    chain.make("train", "SEED=1")  # now the newest finished run of the name is seed 1's
    chain.make("submit")  # ...but this command names seed 0 on the split, as the first one did

    assert chain.trained_recipe(plain)["seed"] == 0 and not chain.trained_recipe(plain).get("all_data")
    assert not (chain.root / "subs" / seed1).exists()  # seed 1 was trained, never predicted or submitted
    assert len(chain.uploads(plain)) == 1  # the same run's same CSV: skipped, not a second upload
    assert kaggle_server.requests.count(UPLOAD) == 2
    runs = [json.loads(p.read_text())["version_id"] for p in (chain.root / "runs").glob("*/config.json")]
    assert sorted(runs) == sorted([plain, final, seed1])  # each trained once: reuse found each by its recipe


def test_overrides_keep_their_types_through_every_stage(chain: Chain) -> None:
    flipped = version(flip=True, rotation=5.0)
    chain.make("submit", "SET=flip=true rotation=5")
    recipe = chain.trained_recipe(flipped)
    assert recipe["flip"] is True and recipe["rotation"] == 5.0
    assert len(chain.uploads(flipped)) == 1


def test_make_submit_where_kaggle_all_data_trains_and_submits_the_final_run(chain: Chain, kaggle_server) -> None:
    final = version(all_data=True)
    chain.make("submit", "WHERE=kaggle", "ALL_DATA=1", "ACCELERATOR=cpu", "REMOTE_FLAGS=--interval 0.5 --wait 600")
    recipe = chain.trained_recipe(final)
    assert recipe.get("all_data") is True and recipe["epochs"] == 1
    assert json.loads((Path(chain.prediction(final)["run_dir"]) / "metrics.json").read_text())["all_data"] is True
    assert chain.prediction(final)["trained_where"].startswith("kaggle:")
    assert len(chain.uploads(final)) == 1 and kaggle_server.requests.count(UPLOAD) == 1
