"""A model version may ask for its own image size (recipe key image_size): unpack builds that cache from raw/.

The spec's [images] size is what `unpack` makes for every version; a version that wants another size says
so in its recipe, and train and predict then read cache/<H>x<W>/, built once (complete-marked) the first
time either asks for it. The competition is the shipped dogs-vs-cats spec (64x64 squeezed), generated.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from builders import raw_competition

from kagglekit.competitions import get_spec
from kagglekit.data.folders import build_folders
from kagglekit.data.pipeline import data_fingerprint
from kagglekit.data.unpack import unpack_competition
from kagglekit.exceptions import UsageError
from kagglekit.paths import CompetitionPaths
from kagglekit.standin.synthetic import make_from_spec
from kagglekit.training.models import get_version, recipe_hash, version_id
from kagglekit.training.recipes import RecipeChoice

SLUG = "dogs-vs-cats-redux-kernels-edition"
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


@pytest.fixture
def dogs(tmp_path: Path) -> CompetitionPaths:
    """The generated competition after the spec-size unpack and folders, as `make folders` leaves it."""
    files = make_from_spec(get_spec(SLUG), tmp_path / "generated", n_train=48, n_test=12, seed=0)
    paths = raw_competition(files, tmp_path / "data")
    unpack_competition(paths, progress=False)
    build_folders(paths, valid_fraction=0.25)
    return paths


def test_a_version_asking_for_48x48_trains_and_predicts_at_that_size(
    dogs: CompetitionPaths, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from kagglekit.training.predict import predict_submission
    from kagglekit.training.runs import load_run, run_of_choice
    from kagglekit.training.train import train

    spec_size = {p.name: p.stat().st_mtime_ns for p in dogs.cache.iterdir() if p.is_file()}
    overrides = {"epochs": 1, "image_size": [48, 48]}
    run_dir = train("digits", overrides, dogs, tmp_path / "runs", log=lambda line: None)

    sized = dogs.at_size([48, 48])
    assert "unpack: the train images at this version's 48x48 into" in capsys.readouterr().out
    assert sized.pixel_cache == dogs.cache / "48x48" and sized.unpacked_marker("train").is_file()
    assert np.load(sized.cache_images("train")).shape == (48, 48, 48, 3)
    assert np.array_equal(np.load(sized.cache_ids("train")), np.load(dogs.cache_ids("train")))
    config = json.loads((run_dir / "config.json").read_text())
    assert config["recipe"]["image_size"] == [48, 48] and config["data"]["image_size"] == [48, 48]
    assert load_run(run_dir).model.input_shape[1:] == (48, 48, 3)
    assert {p.name: p.stat().st_mtime_ns for p in dogs.cache.iterdir() if p.is_file()} == spec_size  # untouched

    summary = predict_submission(run_dir, dogs, tmp_path / "subs", progress=False)
    assert np.load(sized.cache_images("test")).shape == (12, 48, 48, 3) and sized.unpacked_marker("test").is_file()
    assert summary.rows == 12 and len(summary.csv.read_text().splitlines()) == 13

    # the fingerprint covers the size, and `predict --model` finds the run at its size
    assert data_fingerprint(sized)["fingerprint"] != data_fingerprint(dogs)["fingerprint"]
    assert run_of_choice(RecipeChoice("digits", overrides), dogs, tmp_path / "runs") == run_dir


def test_a_run_at_another_size_is_said_to_be_on_other_data() -> None:
    from kagglekit.training.runs import what_changed

    old = {"fingerprint": "a", "split_sha256": "s", "images_sha256": "x", "image_size": [64, 64]}
    new = {"fingerprint": "b", "split_sha256": "s", "images_sha256": "y", "image_size": [224, 224]}
    assert what_changed(old, new) == "the image size changed (64x64 then, 224x224 now)"
    assert "training images changed" in what_changed({**old, "image_size": None}, new)  # a run from before


def test_the_spec_size_keeps_its_cache_and_every_earlier_version_id(tmp_path: Path) -> None:
    cifar = CompetitionPaths(tmp_path)
    assert cifar.at_size(None).cache_images("train") == tmp_path / "cifar-10" / "cache" / "train_images.npy"
    dogs = CompetitionPaths(tmp_path, SLUG)
    assert dogs.at_size([64, 64]).pixel_cache == dogs.cache  # the spec's own size is the spec-size cache
    assert dogs.at_size([48, 64]).unpacked_marker("test") == dogs.cache / "48x64" / ".test.complete"

    recipe = get_version("fast").recipe()
    assert recipe["image_size"] is None
    assert recipe_hash(recipe) == recipe_hash({k: v for k, v in recipe.items() if k != "image_size"})
    assert version_id(get_version("fast").recipe({"image_size": [48, 48]})) != version_id(recipe)


@pytest.mark.parametrize("size", [[48], [48, 0], [48.0, 48], [48, 5000], "48x48", [True, 48]])
def test_a_bad_image_size_is_one_line(size: object, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"recipe key image_size wants \[height, width\]") as error:
        CompetitionPaths(tmp_path, SLUG).at_size(size)  # type: ignore[arg-type]
    assert "\n" not in str(error.value)


def test_image_size_comes_from_the_command_line(tmp_path: Path) -> None:
    version = get_version("digits")
    assert version.parse_setting("image_size=[96,128]") == ("image_size", [96, 128])
    assert version.recipe({"image_size": None})["image_size"] is None  # null: back to the spec's size
    with pytest.raises(UsageError, match="recipe key image_size wants a JSON list or null"):
        version.parse_setting("image_size=96")
