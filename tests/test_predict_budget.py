"""predict's TTA budget through the CLI: a share of the images fixed before the first view, spent least confident first.

On the session's tiny trained run and its 40 test images, with flip-translate's
six views: a budget of 0 is the plain prediction, all is full TTA, and 0.25
gives the other five views to exactly the 10 images the plain view is least
sure of. The progress bar's total (40 + 10 x 5 = 90 views) is what tqdm shows
from its first line to its last. Bad budgets are refused in
tests/test_bad_input.py with the other arguments.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kagglekit.cli import main
from kagglekit.data.pipeline import load_cache
from kagglekit.paths import CompetitionPaths
from kagglekit.training.runs import load_run

TTA = "flip-translate"  # six views: the first, then five more for the budgeted images
TEST_IMAGES = 40  # conftest's prepared competition


def predict(run: Path, prepared: CompetitionPaths, subs: Path, *flags: str) -> tuple[Path, str, str]:
    """``kagglekit predict`` as typed; its folder, stdout and stderr (where tqdm draws its bar)."""
    out, err = io.StringIO(), io.StringIO()
    argv = ["predict", str(run), "--data-dir", str(prepared.data_dir), "--submissions-dir", str(subs), *flags]
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        assert main(argv) == 0, err.getvalue()
    return next(subs.iterdir()), out.getvalue(), err.getvalue()


def stored(folder: Path) -> np.ndarray:
    return np.load(folder / "probabilities.npy")


def record(folder: Path) -> dict:
    return json.loads((folder / "prediction.json").read_text())


def in_sample_order(prepared: CompetitionPaths, by_cache_row: np.ndarray) -> np.ndarray:
    """Cache-order rows rearranged into the sample submission's order, as predict stores them."""
    _, ids = load_cache(prepared, "test")
    sample_ids = pd.read_csv(prepared.sample_submission, dtype=str)["id"].to_numpy()
    rows = pd.Index(sample_ids).get_indexer(np.asarray(ids).astype(str))
    placed = np.empty_like(by_cache_row)
    placed[rows] = by_cache_row
    return placed


@pytest.fixture(scope="module")
def views(tiny_run: Path, prepared: CompetitionPaths) -> dict[str, np.ndarray]:
    """The run's plain and full-TTA probabilities for every test image, in the sample's order, and the ids."""
    pixels = np.asarray(load_cache(prepared, "test")[0])
    run = load_run(tiny_run)
    plain = run.predict_proba(pixels, "none", batch_size=512)
    full = run.predict_proba(pixels, TTA, batch_size=512)
    least_sure = np.zeros(len(pixels), bool)
    least_sure[np.argsort(plain.max(axis=1), kind="stable")[:10]] = True  # ties in cache order, as predict breaks them
    ids = pd.read_csv(prepared.sample_submission, dtype=str)["id"].to_numpy()
    return {
        "plain": in_sample_order(prepared, plain),
        "full": in_sample_order(prepared, full),
        "least_sure": in_sample_order(prepared, least_sure),
        "confidence": in_sample_order(prepared, plain.max(axis=1)),
        "ids": ids,
    }


@pytest.fixture(scope="module")
def quarter(
    tiny_run: Path, prepared: CompetitionPaths, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, str, str]:
    """predict with a quarter of the images budgeted, in batches of 4 so that the bar moves."""
    subs = tmp_path_factory.mktemp("quarter")
    return predict(tiny_run, prepared, subs, "--tta", TTA, "--tta-budget", "0.25", "--batch-size", "4")


@pytest.mark.slow
def test_budget_zero_is_the_plain_prediction_and_all_is_full_tta(
    tiny_run: Path, prepared: CompetitionPaths, views: dict[str, np.ndarray], tmp_path: Path
) -> None:
    plain, _, _ = predict(tiny_run, prepared, tmp_path / "none", "--tta", "none")
    zero, _, _ = predict(tiny_run, prepared, tmp_path / "zero", "--tta", TTA, "--tta-budget", "0")
    everything, out, _ = predict(tiny_run, prepared, tmp_path / "all", "--tta", TTA, "--tta-budget", "all")

    np.testing.assert_array_equal(stored(zero), stored(plain))
    np.testing.assert_array_equal(stored(zero), views["plain"].astype(np.float16))
    np.testing.assert_array_equal(stored(everything), views["full"].astype(np.float16))
    assert not np.array_equal(stored(everything), stored(plain))
    assert (record(zero)["tta_budget"], record(zero)["tta_images"], record(zero)["tta_views"]) == (0.0, 0, 40)
    assert record(zero)["tta_cutoff"] is None
    assert (record(everything)["tta_budget"], record(everything)["tta_images"]) == (1.0, TEST_IMAGES)
    assert record(everything)["tta_views"] == TEST_IMAGES * 6
    assert record(everything)["val_tta_images"] == record(everything)["val_images"]
    assert "on 40 images (budget 1, " in out and "240 views in all" in out


@pytest.mark.slow
def test_in_between_exactly_the_least_confident_share_gets_the_views(
    quarter: tuple[Path, str, str], views: dict[str, np.ndarray]
) -> None:
    folder, out, _ = quarter
    got, least_sure = stored(folder), views["least_sure"]
    assert least_sure.sum() == 10
    np.testing.assert_array_equal(got[least_sure], views["full"][least_sure].astype(np.float16))
    np.testing.assert_array_equal(got[~least_sure], views["plain"][~least_sure].astype(np.float16))
    # which ids: the ten whose plain-view top probability is lowest, and no other id's row changed
    assert views["confidence"][least_sure].max() <= views["confidence"][~least_sure].min()
    changed = (got != views["plain"].astype(np.float16)).any(axis=1)
    assert set(views["ids"][changed]) == set(views["ids"][least_sure])
    assert "TTA's extra views on 10 images (budget 0.25, first-view top probability up to" in out


@pytest.mark.slow
def test_prediction_json_records_the_budget_and_what_it_bought(
    quarter: tuple[Path, str, str], views: dict[str, np.ndarray]
) -> None:
    got = record(quarter[0])
    assert got["tta"] == TTA
    assert (got["tta_budget"], got["tta_images"], got["tta_views"]) == (0.25, 10, TEST_IMAGES + 10 * 5)
    assert got["tta_cutoff"] == pytest.approx(float(views["confidence"][views["least_sure"]].max()), abs=1e-6)
    assert got["val_tta_images"] == round(0.25 * got["val_images"]) and got["predict_seconds"] > 0


@pytest.mark.slow
def test_the_progress_bar_total_is_fixed_before_it_starts(quarter: tuple[Path, str, str]) -> None:
    """tqdm draws ``done/total`` each time it redraws: the total is the planned views from the first draw on."""
    drawn = [(int(done), int(total)) for done, total in re.findall(r"(\d+)/(\d+) \[", quarter[2])]
    assert len(drawn) >= 2, quarter[2]
    assert {total for _, total in drawn} == {TEST_IMAGES + 10 * 5}
    assert drawn[0][0] == 0 and drawn[-1] == (90, 90)
    assert [done for done, _ in drawn] == sorted(done for done, _ in drawn)


@pytest.mark.slow
def test_evaluate_spends_the_same_budget_on_the_validation_split(
    tiny_run: Path, prepared: CompetitionPaths, quarter: tuple[Path, str, str], capsys: pytest.CaptureFixture
) -> None:
    argv = ["evaluate", str(tiny_run), "--data-dir", str(prepared.data_dir), "--tta", TTA, "--tta-budget", "0.25"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    got = record(quarter[0])
    assert f"{TTA} TTA's views after the first on {got['val_tta_images']} images (budget 0.25" in out
    assert f"validation accuracy {got['val_accuracy_predicted']:.4f} on {got['val_images']} images" in out


@pytest.mark.slow
def test_another_budget_is_predicted_again_not_skipped(
    tiny_run: Path, prepared: CompetitionPaths, tmp_path: Path
) -> None:
    first, _, _ = predict(tiny_run, prepared, tmp_path, "--tta", TTA, "--tta-budget", "0.25")
    _, same, _ = predict(tiny_run, prepared, tmp_path, "--tta", TTA, "--tta-budget", "0.25")
    _, other, _ = predict(tiny_run, prepared, tmp_path, "--tta", TTA, "--tta-budget", "0.5")
    assert "already predicted by this run" in same and "already predicted" not in other
    assert (record(first)["tta_budget"], record(first)["tta_images"]) == (0.5, 20)
