"""The `digits` version and the 1-channel path through training: a tiny grey competition built by hand."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kagglekit.data.folders import stratified_split
from kagglekit.data.pipeline import load_cache, load_split
from kagglekit.exceptions import DataError
from kagglekit.paths import CompetitionPaths

SLUG = "digit-recognizer"


def grey_competition(data_dir: Path, n: int = 60, seed: int = 0) -> CompetitionPaths:
    """What the data stages leave for a pixel-CSV competition: a (n, 28, 28, 1) cache and a split, labels "0".."9"."""
    rng = np.random.default_rng(seed)
    paths = CompetitionPaths(data_dir, SLUG)
    paths.cache.mkdir(parents=True)
    ids = np.arange(1, n + 1, dtype=np.int64)
    np.save(paths.cache_images("train"), rng.integers(0, 256, (n, 28, 28, 1), dtype=np.uint8))
    np.save(paths.cache_ids("train"), ids)
    labels = pd.DataFrame({"id": ids, "label": [str(i % 10) for i in range(n)]})
    split = stratified_split(labels, 0.2, 0)
    paths.folders.mkdir(parents=True)
    split.to_csv(paths.split_csv, index=False)
    paths.classes_json.write_text(json.dumps({"classes": [str(i) for i in range(10)]}))
    return paths


def test_grey_images_load_with_their_text_labels(tmp_path: Path) -> None:
    data = load_split(grey_competition(tmp_path / "data"))
    assert data.x_train.shape[1:] == (28, 28, 1) and len(data.x_train) == 50 and len(data.x_valid) == 10
    assert data.classes == [str(i) for i in range(10)]  # split.csv's 0..9 read back as class names, not numbers
    assert sorted(set(data.y_valid.tolist())) == list(range(10))


def test_a_cache_of_two_channels_is_refused(tmp_path: Path) -> None:
    paths = grey_competition(tmp_path / "data")
    np.save(paths.cache_images("train"), np.zeros((60, 28, 28, 2), np.uint8))
    with pytest.raises(DataError, match=r"expected uint8 \(N,H,W,C\) with C 1 or 3"):
        load_cache(paths)


@pytest.mark.slow
def test_digits_trains_on_grey_images_through_the_train_stage(tmp_path: Path) -> None:
    from kagglekit.training.runs import load_run
    from kagglekit.training.train import train

    paths = grey_competition(tmp_path / "data")
    run_dir = train("digits", {"epochs": 1, "batch_size": 16}, paths, tmp_path / "runs", log=lambda line: None)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["epochs"] == 1 and 0.0 <= metrics["best_val_accuracy"] <= 1.0
    assert metrics["tta"] == "translate" and 0.0 <= metrics["val_accuracy_tta"] <= 1.0
    assert (run_dir / "samples.png").is_file()  # grey images drawn as such
    run = load_run(run_dir)
    images = np.load(paths.cache_images("train"))[:5]
    probabilities = run.predict_proba(images, tta="translate")
    assert probabilities.shape == (5, 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-4)


def test_digits_never_mirrors_a_digit() -> None:
    from kagglekit.training.models import get_version

    recipe = get_version("digits").recipe()
    assert recipe["flip"] is False and "flip" not in recipe["tta"]
