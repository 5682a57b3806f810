"""predict, ensemble and the submission check, on a real (tiny) trained run."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from builders import copy_competition, write_labels
from PIL import Image

from kagglekit.cli import main
from kagglekit.exceptions import DataError
from kagglekit.paths import CompetitionPaths
from kagglekit.standin.synthetic import CIFAR10_CLASSES
from kagglekit.submissions.ensemble import build_ensemble, ensemble_id
from kagglekit.submissions.formats import validate_csv
from kagglekit.training.predict import predict_submission
from kagglekit.training.runs import DEFAULT_TTA_BUDGET, load_run

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


def png_pixels(archive: Path, image_id: int) -> np.ndarray:
    import py7zr

    with py7zr.SevenZipFile(archive) as seven_zip:
        buffer = py7zr.io.BytesIOFactory(1 << 20)
        seven_zip.extract(targets=[f"test/{image_id}.png"], factory=buffer)
        return np.asarray(Image.open(io.BytesIO(buffer.get(f"test/{image_id}.png").read())).convert("RGB"))


@pytest.mark.slow
def test_submission_rows_follow_the_sample_and_match_each_image(
    prepared: CompetitionPaths, tiny_run: Path, tmp_path: Path
) -> None:
    summary = predict_submission(tiny_run, prepared, tmp_path / "subs", batch_size=32, progress=False)

    folder = summary.csv.parent
    submission = pd.read_csv(summary.csv)
    sample = pd.read_csv(prepared.sample_submission)
    assert submission["id"].tolist() == sample["id"].tolist()
    assert set(submission["label"]) <= set(CIFAR10_CLASSES)
    probabilities = np.load(folder / "probabilities.npy")
    assert probabilities.dtype == np.float16 and probabilities.shape == (40, 10)
    np.testing.assert_allclose(probabilities.astype(np.float32).sum(axis=1), 1.0, atol=0.01)
    # row k is the prediction for the image whose id is on row k, although test.7z lists its images shuffled
    run = load_run(tiny_run)
    for row in (0, 17, 39):
        image_id = int(sample["id"][row])
        expected = run.predict_proba(png_pixels(prepared.raw / "test.7z", image_id)[None])[0]
        np.testing.assert_allclose(probabilities[row].astype(np.float32), expected, atol=2e-3)
        assert submission["label"][row] == CIFAR10_CLASSES[int(expected.argmax())]
    record = json.loads((folder / "prediction.json").read_text())
    assert record["version"] == "seed-cifar10-modeling" and record["rows"] == 40 and record["parameters"] > 1_000_000


@pytest.mark.slow
def test_batch_size_and_tta(prepared: CompetitionPaths, tiny_run: Path, tmp_path: Path) -> None:
    small = predict_submission(tiny_run, prepared, tmp_path / "a", batch_size=7, progress=False)
    large = predict_submission(tiny_run, prepared, tmp_path / "b", batch_size=4096, progress=False)
    np.testing.assert_allclose(
        np.load(small.csv.parent / "probabilities.npy").astype(np.float32),
        np.load(large.csv.parent / "probabilities.npy").astype(np.float32),
        atol=2e-3,
    )
    # every view on every image (this barely trained model is sure of most: the default would skip them)
    flipped = predict_submission(tiny_run, prepared, tmp_path / "c", tta="flip", progress=False, budget=1.0)
    assert json.loads((flipped.csv.parent / "prediction.json").read_text())["tta"] == "flip"
    assert not np.allclose(
        np.load(flipped.csv.parent / "probabilities.npy"), np.load(large.csv.parent / "probabilities.npy")
    )


@pytest.mark.slow
def test_predict_uses_the_tta_the_version_was_measured_with(prepared: CompetitionPaths, tmp_path: Path) -> None:
    from kagglekit.data.pipeline import load_cache
    from kagglekit.training.train import train

    fast = train(
        "fast", {"epochs": 1, "batch_size": 32, "limit": 64}, prepared, tmp_path / "runs", log=lambda line: None
    )
    summary = predict_submission(fast, prepared, tmp_path / "subs", progress=False)
    record = json.loads((summary.csv.parent / "prediction.json").read_text())
    assert record["tta"] == "flip-translate" and record["rows"] == 40
    assert record["tta_budget"] == DEFAULT_TTA_BUDGET and record["precision"] in ("float32", "mixed_bfloat16")
    pixels, ids = load_cache(prepared, "test")
    sample_ids = pd.read_csv(prepared.sample_submission, dtype=str)["id"].to_numpy()  # ids are text
    expected = load_run(fast).predict_proba(np.asarray(pixels), tta="flip-translate", budget=DEFAULT_TTA_BUDGET)
    stored = np.load(summary.csv.parent / "probabilities.npy").astype(np.float32)
    rows = pd.Index(sample_ids).get_indexer(np.asarray(ids).astype(str))
    assert (rows >= 0).all()
    np.testing.assert_allclose(stored[rows], expected, atol=2e-3)


@pytest.mark.slow
def test_repeat_is_skipped_and_force_redoes(
    prepared: CompetitionPaths, tiny_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    args = ["predict", str(tiny_run), "--data-dir", str(prepared.data_dir), "--submissions-dir", str(tmp_path)]
    assert main(args) == 0
    assert main(args) == 0
    assert "already predicted by this run" in capsys.readouterr().out
    assert main([*args, "--force"]) == 0
    assert "40 rows, validated" in capsys.readouterr().out


@pytest.mark.slow
def test_in_a_kaggle_notebook_the_csv_lands_in_working(
    prepared: CompetitionPaths, tiny_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    working = tmp_path / "kaggle" / "working"
    working.mkdir(parents=True)
    monkeypatch.setenv("KAGGLE_KERNEL_RUN_TYPE", "Interactive")
    monkeypatch.setenv("KAGGLEKIT_KAGGLE_WORKING", str(working))
    summary = predict_submission(tiny_run, prepared, tmp_path / "subs", progress=False)
    assert (working / "submission.csv").read_bytes() == summary.csv.read_bytes()


@pytest.mark.slow
def test_ensemble_averages_probabilities(prepared: CompetitionPaths, tiny_run: Path, tmp_path: Path) -> None:
    subs = tmp_path / "subs"
    first = predict_submission(tiny_run, prepared, subs, progress=False).version_id
    shutil.copytree(subs / first, subs / "other-00000000")  # a second version: same run, made to differ
    other = np.load(subs / "other-00000000" / "probabilities.npy")[:, ::-1].copy()
    np.save(subs / "other-00000000" / "probabilities.npy", other)
    record = json.loads((subs / "other-00000000" / "prediction.json").read_text())
    (subs / "other-00000000" / "prediction.json").write_text(json.dumps({**record, "version_id": "other-00000000"}))

    csv = build_ensemble([first, "other-00000000"], prepared, subs)

    assert csv.parent.name == ensemble_id(["other-00000000", first])  # order of members does not matter
    mean = (np.load(subs / first / "probabilities.npy").astype(np.float32) + other.astype(np.float32)) / 2
    np.testing.assert_allclose(np.load(csv.parent / "probabilities.npy").astype(np.float32), mean, atol=1e-3)
    assert json.loads((csv.parent / "prediction.json").read_text())["members"] == [first, "other-00000000"]


def test_predict_needs_a_finished_test_unpack(
    prepared: CompetitionPaths, tiny_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """A test cache without its marker is what an interrupted unpack leaves: never predicted from."""
    paths = copy_competition(prepared, tmp_path / "data")
    paths.unpacked_marker("test").unlink()
    assert (
        main(["predict", str(tiny_run), "--data-dir", str(paths.data_dir), "--submissions-dir", str(tmp_path / "subs")])
        == 1
    )
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "the test images are not unpacked; run `python -m kagglekit unpack" in err
    assert not (tmp_path / "subs").exists()


def test_predict_without_any_run_says_to_train(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["predict", "--runs-dir", str(tmp_path / "none"), "--data-dir", str(tmp_path)]) == 1
    assert "run `python -m kagglekit train --model" in capsys.readouterr().err


def test_ensemble_of_unknown_versions_lists_the_known(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "subs" / "a-1").mkdir(parents=True)
    (tmp_path / "subs" / "a-1" / "prediction.json").write_text("{}")
    assert main(["ensemble", "x", "y", "--submissions-dir", str(tmp_path / "subs")]) == 1
    err = capsys.readouterr().err
    assert "no prediction for x" in err and "(have: a-1)" in err


class TestValidateCsv:
    """The last check before an upload: every way a CSV can be unscoreable."""

    @pytest.fixture
    def sample(self, tmp_path: Path) -> Path:
        return write_labels(tmp_path / "sampleSubmission.csv", [(i, "cat") for i in (1, 2, 3)])

    def check(self, tmp_path: Path, sample: Path, rows, header: str = "id,label") -> int:
        return validate_csv(
            write_labels(tmp_path / "submission.csv", rows, header=header), sample, list(CIFAR10_CLASSES)
        )

    def test_a_good_csv_passes(self, tmp_path: Path, sample: Path) -> None:
        assert self.check(tmp_path, sample, [(1, "dog"), (2, "cat"), (3, "ship")]) == 3

    @pytest.mark.parametrize(
        ("rows", "header", "message"),
        [
            ([(1, "dog"), (2, "cat")], "id,label", "has 2 rows, sampleSubmission.csv has 3"),
            ([(1, "dog"), (2, "cat"), (4, "cat")], "id,label", "1 ids of sampleSubmission.csv are missing: 3"),
            ([(2, "dog"), (1, "cat"), (3, "cat")], "id,label", "in another order"),
            ([(1, "dog"), (2, "kitten"), (3, "cat")], "id,label", "1 row with a label that is not a class (line 3)"),
            ([(1, "dog"), (2, "cat"), (3, "cat")], "ImageId,Label", "expected 'id,label'"),
            ([(1, "dog"), (1, "cat"), (3, "cat")], "id,label", "duplicate ids (line 3)"),
        ],
    )
    def test_a_bad_csv_is_named(self, tmp_path: Path, sample: Path, rows, header: str, message: str) -> None:
        with pytest.raises(DataError, match=message.replace("(", r"\(").replace(")", r"\)")):
            self.check(tmp_path, sample, rows, header)


FULL_ROWS = 300_000  # Kaggle's test set


@pytest.fixture(scope="module")
def full(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """sampleSubmission.csv as Kaggle ships it (300,000 rows), and a valid submission's lines (header first)."""
    folder = tmp_path_factory.mktemp("full-size")
    ids = np.arange(1, FULL_ROWS + 1)
    (folder / "sampleSubmission.csv").write_text("id,label\n" + "".join(f"{i},cat\n" for i in ids))
    labels = np.asarray(CIFAR10_CLASSES)[np.random.default_rng(0).integers(0, 10, len(ids))]
    return folder / "sampleSubmission.csv", ["id,label"] + [f"{i},{label}" for i, label in zip(ids, labels)]


class TestValidateCsvFullSize:
    """validate_csv at Kaggle's size: 300,000 rows, right, and wrong in each way it checks."""

    ROWS = FULL_ROWS

    def validate(self, tmp_path: Path, full: tuple[Path, list[str]], lines: list[str]) -> int:
        csv = tmp_path / "submission.csv"
        csv.write_text("\n".join(lines) + "\n")
        return validate_csv(csv, full[0], list(CIFAR10_CLASSES))

    def test_a_good_full_size_csv_passes(self, tmp_path: Path, full: tuple[Path, list[str]]) -> None:
        assert self.validate(tmp_path, full, full[1]) == self.ROWS

    @pytest.mark.parametrize(
        ("damage", "message"),
        [
            ("drop the last row", "has 299,999 rows, sampleSubmission.csv has 300,000"),
            ("replace an id", "1 ids of sampleSubmission.csv are missing: 250000"),
            ("swap two rows", "lists the right ids in another order"),
            ("unknown labels", "2 rows with a label that is not a class (line 11, 300001)"),
            ("duplicate an id", "1 row with duplicate ids (line 150002)"),
            ("wrong header", "has header 'ImageId,label', expected 'id,label'"),
        ],
    )
    def test_a_full_size_csv_wrong_in_one_way_is_named(
        self, tmp_path: Path, full: tuple[Path, list[str]], damage: str, message: str
    ) -> None:
        lines = list(full[1])
        if damage == "drop the last row":
            del lines[-1]
        elif damage == "replace an id":
            lines[250_000] = "300001,cat"
        elif damage == "swap two rows":
            lines[1000], lines[2000] = lines[2000], lines[1000]
        elif damage == "unknown labels":
            lines[10], lines[-1] = "10,kitten", f"{self.ROWS},Cat"
        elif damage == "duplicate an id":
            lines[150_001] = lines[150_000].split(",")[0] + ",dog"
        else:
            lines[0] = "ImageId,label"
        with pytest.raises(DataError) as raised:
            self.validate(tmp_path, full, lines)
        assert message in str(raised.value) and "\n" not in str(raised.value)


# -- the competition's format and metric --------------------------------------------------


def _validation(prepared: CompetitionPaths, run_dir: Path, tta: str) -> tuple[np.ndarray, np.ndarray]:
    """The validation split's class indices and the run's probabilities with every ``tta`` view on every image."""
    from kagglekit.data.pipeline import load_split

    data = load_split(prepared)
    return data.y_valid.astype(np.int64), load_run(run_dir).predict_proba(data.x_valid, tta=tta)


@pytest.mark.slow
def test_prediction_records_the_validation_score_measured_as_the_test_set_was(
    prepared: CompetitionPaths, tiny_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    from kagglekit.training.evaluate import evaluate_run

    summary = predict_submission(tiny_run, prepared, tmp_path / "subs", tta="flip", budget=1.0, progress=False)

    record = json.loads((summary.csv.parent / "prediction.json").read_text())
    assert record["submission"] == {
        "sample": "sampleSubmission.csv",
        "predict": "label",
        "positive": None,
        "columns": ["id", "label"],
    }
    assert (record["metric"], record["higher_is_better"], record["probability_clip"]) == ("accuracy", True, None)
    truth, probabilities = _validation(prepared, tiny_run, "flip")
    assert record["val_images"] == len(truth) > 0
    assert record["val_score"] == pytest.approx(float(np.mean(probabilities.argmax(axis=1) == truth)))
    assert record["val_accuracy_predicted"] == record["val_score"]  # accuracy is cifar-10's metric
    assert record["val_accuracy"] == load_run(tiny_run).metrics["best_val_accuracy"]  # plain, as training measured
    evaluated = evaluate_run(tiny_run, prepared, tta="flip", budget=1.0, log=lambda line: None)
    assert (evaluated["metric"], evaluated["score"]) == ("accuracy", pytest.approx(record["val_score"]))


def _probabilities_competition(
    prepared: CompetitionPaths, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> CompetitionPaths:
    """cifar-10's data under a spec of the user's scoring one probability per class in multi-class log loss."""
    from competition_specs import write_spec

    from kagglekit.competitions import spec_path

    shipped = spec_path("cifar-10").read_text()
    assert shipped.count('metric = "accuracy"') == 1 and shipped.count('predict = "label"') == 1
    monkeypatch.chdir(tmp_path)
    write_spec(
        tmp_path,
        "cifar-10",
        shipped.replace('metric = "accuracy"', 'metric = "multiclass-log-loss"').replace(
            'predict = "label"', 'predict = "probabilities"'
        ),
    )
    paths = copy_competition(prepared, tmp_path / "data")
    ids = pd.read_csv(paths.sample_submission, dtype=str)["id"]
    columns = list(reversed(CIFAR10_CLASSES))  # another order than the model's: columns are matched by name
    pd.DataFrame({"id": ids, **{c: 0.1 for c in columns}}).to_csv(paths.sample_submission, index=False)
    return paths


@pytest.mark.slow
def test_a_probabilities_competition_gets_clipped_columns_and_its_log_loss(
    prepared: CompetitionPaths, tiny_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kagglekit.competitions.metrics import multiclass_log_loss
    from kagglekit.training.evaluate import evaluate_run

    paths = _probabilities_competition(prepared, tmp_path, monkeypatch)
    summary = predict_submission(tiny_run, paths, tmp_path / "subs", tta="none", progress=False)

    submission = pd.read_csv(summary.csv, dtype={"id": str})
    assert list(submission.columns) == ["id", *reversed(CIFAR10_CLASSES)]
    clip = 1e-3 / 9
    stored = np.load(summary.csv.parent / "probabilities.npy").astype(np.float64)
    np.testing.assert_allclose(submission[list(CIFAR10_CLASSES)].to_numpy(), np.clip(stored, clip, 1 - clip), rtol=1e-5)
    record = json.loads((summary.csv.parent / "prediction.json").read_text())
    assert (record["metric"], record["higher_is_better"]) == ("multiclass-log-loss", False)
    assert record["probability_clip"] == pytest.approx(clip)
    truth, probabilities = _validation(prepared, tiny_run, "none")
    expected = multiclass_log_loss(truth, np.clip(probabilities.astype(np.float64), clip, 1 - clip))
    assert record["val_score"] == pytest.approx(expected, rel=1e-5)
    lines: list[str] = []
    evaluated = evaluate_run(tiny_run, paths, tta="none", log=lines.append)
    assert evaluated["score"] == pytest.approx(expected, rel=1e-5) and evaluated["higher_is_better"] is False
    assert any(
        line.startswith(f"validation multi-class log loss {expected:.5f} (lower is better) on {len(truth)} images")
        for line in lines
    ), lines
