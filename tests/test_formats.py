"""The submission formats: each written from probabilities, read back and checked as Kaggle would refuse it."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from competition_specs import BREEDS, dogs_vs_cats, write_spec

from kagglekit.competitions import SubmissionFormat
from kagglekit.competitions.metrics import METRICS
from kagglekit.exceptions import DataError
from kagglekit.paths import CompetitionPaths
from kagglekit.submissions.formats import (
    FLOOR_MASS,
    default_clip,
    read_sample,
    score_predictions,
    validate_csv,
    write_csv,
    write_submission,
)

LABEL = SubmissionFormat("sample_submission.csv", "label")
PROBABILITY = SubmissionFormat("sample_submission.csv", "probability", "dog")
PROBABILITIES = SubmissionFormat("sample_submission.csv", "probabilities")
BREED_NAMES = ["beagle", "collie", "pug"]


def sample(tmp_path: Path, header: str, ids: list[str], value: str) -> Path:
    path = tmp_path / "sample_submission.csv"
    columns = header.count(",")
    path.write_text(header + "\n" + "".join(f"{i}{f',{value}' * columns}\n" for i in ids))
    return path


def check(csv: Path, sample_path: Path, classes, submission) -> int:
    return validate_csv(csv, sample_path, classes, submission)


# -- the sample ------------------------------------------------------------------------


def test_the_sample_gives_the_columns_and_the_ids_as_text_in_order(tmp_path):
    read = read_sample(sample(tmp_path, "ImageId,Label", ["3", "007", "1"], "0"))
    assert read.header == ("ImageId", "Label") and read.id_column == "ImageId"
    assert read.ids.tolist() == ["3", "007", "1"] and read.ids.dtype.kind == "U"  # "007" stays "007"


def test_a_sample_with_a_repeated_id_is_one_line(tmp_path):
    with pytest.raises(DataError, match=r"1 row with duplicate ids \(line 4\)"):
        read_sample(sample(tmp_path, "id,label", ["1", "2", "1"], "cat"))


# -- label -----------------------------------------------------------------------------


def test_label_writes_the_most_probable_class_in_the_samples_column(tmp_path):
    path = sample(tmp_path, "ImageId,Label", ["1", "2", "3"], "0")
    probabilities = np.array([[0.1, 0.9, 0.0], [0.8, 0.1, 0.1], [0.2, 0.3, 0.5]], np.float16)
    write_csv(tmp_path / "s.csv", read_sample(path), LABEL, probabilities, ["0", "1", "2"])
    assert (tmp_path / "s.csv").read_text() == "ImageId,Label\n1,1\n2,0\n3,2\n"
    assert check(tmp_path / "s.csv", path, ["0", "1", "2"], LABEL) == 3


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("ImageId,Label\n1,1\n2,7\n3,2\n", "1 row with a label that is not a class (line 3), e.g. '7'"),
        ("ImageId,label\n1,1\n2,0\n3,2\n", "has header 'ImageId,label', expected 'ImageId,Label'"),
        ("ImageId,Label\n1,1\n3,2\n2,0\n", "lists the right ids in another order"),
        ("ImageId,Label\n1,1\n2,0\n", "has 2 rows, sample_submission.csv has 3"),
        ("ImageId,Label\n1,1\n2,0\n4,2\n", "1 ids of sample_submission.csv are missing: 3"),
    ],
)
def test_a_bad_label_csv_is_one_line_naming_row_and_value(tmp_path, text, message):
    path = sample(tmp_path, "ImageId,Label", ["1", "2", "3"], "0")
    (tmp_path / "s.csv").write_text(text)
    with pytest.raises(DataError) as raised:
        check(tmp_path / "s.csv", path, ["0", "1", "2"], LABEL)
    assert message in str(raised.value) and "\n" not in str(raised.value)


# -- probability -----------------------------------------------------------------------


def test_probability_writes_p_positive_clipped_for_log_loss(tmp_path):
    path = sample(tmp_path, "id,label", ["1", "2", "3"], "0.5")
    probabilities = np.array([[1.0, 0.0], [0.0, 1.0], [0.25, 0.75]], np.float16)  # cat, dog
    clip = default_clip(METRICS["binary-log-loss"])
    write_csv(tmp_path / "s.csv", read_sample(path), PROBABILITY, probabilities, ["cat", "dog"], clip)
    written = pd.read_csv(tmp_path / "s.csv", dtype={"id": str})
    assert list(written.columns) == ["id", "label"] and written["id"].tolist() == ["1", "2", "3"]
    np.testing.assert_allclose(written["label"], [clip, 1 - clip, 0.75])
    assert clip == FLOOR_MASS == 1e-3  # a confident mistake costs ln(1000) = 6.9, not Kaggle's 34.5
    assert check(tmp_path / "s.csv", path, ["cat", "dog"], PROBABILITY) == 3


def test_roc_auc_is_not_clipped_it_only_ranks():
    assert default_clip(METRICS["roc-auc"]) == 0.0 and default_clip(METRICS["accuracy"]) == 0.0


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("1.2", "1 row whose 'label' is outside [0, 1] (line 3), e.g. '1.2'"),
        ("-0.01", "outside [0, 1] (line 3), e.g. '-0.01'"),
        ("dog", "1 row whose 'label' is not a finite number (line 3), e.g. 'dog'"),
        ("nan", "is not a finite number (line 3), e.g. 'nan'"),
        ("", "is not a finite number (line 3), e.g. ''"),
    ],
)
def test_a_probability_must_be_a_finite_number_in_0_1(tmp_path, value, message):
    path = sample(tmp_path, "id,label", ["1", "2", "3"], "0.5")
    (tmp_path / "s.csv").write_text(f"id,label\n1,0.5\n2,{value}\n3,0.5\n")
    with pytest.raises(DataError) as raised:
        check(tmp_path / "s.csv", path, ["cat", "dog"], PROBABILITY)
    assert message in str(raised.value) and "\n" not in str(raised.value)


def test_probability_of_a_class_the_model_does_not_predict_is_one_line(tmp_path):
    path = sample(tmp_path, "id,label", ["1"], "0.5")
    with pytest.raises(DataError, match="probability of 'dog', which is not one of the classes predicted"):
        write_csv(tmp_path / "s.csv", read_sample(path), PROBABILITY, np.array([[0.5, 0.5]]), ["cat", "wolf"])


# -- probabilities ---------------------------------------------------------------------


def test_probabilities_fill_the_samples_class_columns_in_its_order(tmp_path):
    path = sample(tmp_path, "id,pug,beagle,collie", ["a1", "b2"], "0.333333")
    probabilities = np.array([[0.7, 0.2, 0.1], [0.0, 0.0, 1.0]])  # in BREED_NAMES' order
    clip = default_clip(METRICS["multiclass-log-loss"], 3)
    write_csv(tmp_path / "s.csv", read_sample(path), PROBABILITIES, probabilities, BREED_NAMES, clip)
    written = pd.read_csv(tmp_path / "s.csv")
    assert list(written.columns) == ["id", "pug", "beagle", "collie"]
    np.testing.assert_allclose(written[["pug", "beagle", "collie"]], [[0.1, 0.7, 0.2], [1 - clip, clip, clip]])
    assert clip == pytest.approx(FLOOR_MASS / 2)  # spread over the other columns: a row gives up at most 1e-3
    assert check(tmp_path / "s.csv", path, BREED_NAMES, PROBABILITIES) == 2


def test_probabilities_need_the_classes_to_be_the_columns(tmp_path):
    path = sample(tmp_path, "id,pug,beagle,husky", ["a1"], "0.3")
    with pytest.raises(DataError) as raised:
        write_csv(tmp_path / "s.csv", read_sample(path), PROBABILITIES, np.array([[0.2, 0.3, 0.5]]), BREED_NAMES)
    assert "columns name the classes pug, beagle, husky, but the model predicts beagle, collie, pug" in str(
        raised.value
    )
    assert "no column for collie; no class for husky" in str(raised.value) and "\n" not in str(raised.value)


def test_a_bad_probabilities_csv_names_the_column(tmp_path):
    path = sample(tmp_path, "id,pug,beagle,collie", ["a1", "b2"], "0.3")
    (tmp_path / "s.csv").write_text("id,pug,beagle,collie\na1,0.2,0.3,0.5\nb2,0.2,inf,0.5\n")
    with pytest.raises(DataError, match=r"1 row whose 'beagle' is not a finite number \(line 3\), e.g. 'inf'"):
        check(tmp_path / "s.csv", path, BREED_NAMES, PROBABILITIES)


# -- scoring as the submission predicts ------------------------------------------------


def test_validation_is_scored_on_exactly_what_the_csv_holds():
    probabilities = np.array([[0.0, 1.0], [1.0, 0.0], [0.4, 0.6]])
    truth = np.array([1, 1, 0])  # the second is a confident mistake
    metric = METRICS["binary-log-loss"]
    clipped = score_predictions(metric, PROBABILITY, ["cat", "dog"], truth, probabilities, clip=1e-3)
    expected = -(math.log(1 - 1e-3) + math.log(1e-3) + math.log(0.4)) / 3
    assert clipped == pytest.approx(expected)
    unclipped = score_predictions(metric, PROBABILITY, ["cat", "dog"], truth, probabilities)
    assert unclipped > 11  # Kaggle's own 1e-15 clip: ln(1e15) / 3 from the one mistake
    assert score_predictions(METRICS["accuracy"], LABEL, ["cat", "dog"], truth, probabilities) == pytest.approx(1 / 3)
    assert score_predictions(METRICS["roc-auc"], PROBABILITY, ["cat", "dog"], truth, probabilities) == 0.5


# -- write_submission reads the spec ---------------------------------------------------


def test_write_submission_writes_the_specs_format_and_records_it(tmp_path, monkeypatch):
    slug = "breeds"
    monkeypatch.chdir(tmp_path)
    write_spec(tmp_path, slug, BREEDS)
    paths = CompetitionPaths(tmp_path / "data", slug)
    paths.raw.mkdir(parents=True)
    sample(paths.raw, "id,pug,beagle,collie", ["a1", "b2"], "0.333333")
    probabilities = np.array([[0.7, 0.2, 0.1], [0.0, 0.0, 1.0]], np.float16)

    csv = write_submission(tmp_path / "subs" / "v-1", probabilities, BREED_NAMES, {"version_id": "v-1"}, paths)

    record = pd.read_json(csv.parent / "prediction.json", typ="series")
    assert record["submission"] == {
        "sample": "sample_submission.csv",
        "predict": "probabilities",
        "positive": None,
        "columns": ["id", "pug", "beagle", "collie"],
    }
    assert record["metric"] == "multiclass-log-loss" and record["higher_is_better"] is False
    assert record["probability_clip"] == pytest.approx(5e-4) and record["rows"] == 2
    written = pd.read_csv(csv)
    assert written["pug"].tolist() == pytest.approx([0.1, 1 - 5e-4], abs=1e-4)  # by column name, not position
    assert written["collie"].tolist() == pytest.approx([0.2, 5e-4], abs=1e-4)


def test_write_submission_for_dogs_vs_cats(tmp_path, monkeypatch):
    slug = "dogs-vs-cats-redux-kernels-edition"
    monkeypatch.chdir(tmp_path)
    write_spec(tmp_path, slug, dogs_vs_cats())
    paths = CompetitionPaths(tmp_path / "data", slug)
    paths.raw.mkdir(parents=True)
    sample(paths.raw, "id,label", ["1", "2"], "0.5")
    csv = write_submission(
        tmp_path / "subs" / "v-1",
        np.array([[0.9, 0.1], [0.0, 1.0]], np.float16),
        ["cat", "dog"],
        {"version_id": "v-1"},
        paths,
    )
    assert csv.read_text().splitlines() == ["id,label", f"1,{np.float64(np.float16(0.1)):.6g}", "2,0.999"]


def test_an_ensemble_averages_probabilities_then_writes_the_specs_format(tmp_path, monkeypatch):
    from kagglekit.submissions.ensemble import build_ensemble

    slug = "dogs-vs-cats-redux-kernels-edition"
    monkeypatch.chdir(tmp_path)
    write_spec(tmp_path, slug, dogs_vs_cats())
    paths = CompetitionPaths(tmp_path / "data", slug)
    paths.raw.mkdir(parents=True)
    sample(paths.raw, "id,label", ["1", "2", "3"], "0.5")
    subs = tmp_path / "subs"
    members = {"a-1": [[0.0, 1.0], [0.5, 0.5], [1.0, 0.0]], "b-2": [[0.0, 1.0], [0.1, 0.9], [0.5, 0.5]]}
    for version_id, probabilities in members.items():
        write_submission(
            subs / version_id,
            np.array(probabilities, np.float16),
            ["cat", "dog"],
            {"version_id": version_id, "competition": slug, "val_score": 0.2},
            paths,
        )

    csv = build_ensemble(list(members), paths, subs)

    # P(dog) of the average, not the average of two argmaxes; clipped for the log loss
    assert pd.read_csv(csv)["label"].tolist() == pytest.approx([0.999, 0.7, 0.25], abs=1e-3)
    record = pd.read_json(csv.parent / "prediction.json", typ="series")
    assert record["metric"] == "binary-log-loss" and record["member_val_scores"] == [0.2, 0.2]
