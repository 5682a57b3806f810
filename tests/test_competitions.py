"""Competition specs: the loader, the registry, the `competitions` command, and drafts from the local Kaggle server."""

from __future__ import annotations

import pytest

from kagglekit import competitions
from kagglekit.competitions import (
    CsvLabels,
    GroupLabels,
    MemberImages,
    PixelImages,
    all_specs,
    get_spec,
    known_slugs,
    parse_spec,
)
from kagglekit.exceptions import DataError, UsageError

GOOD = """\
kind = "file"
files = ["train.7z", "test.7z", "trainLabels.csv", "sampleSubmission.csv"]
metric = "accuracy"
classes = ["cat", "dog"]

[train]
images = { file = "train.7z", members = 'train/(?P<id>\\d+)\\.png' }
labels = { file = "trainLabels.csv", id = "id", column = "label" }

[test]
images = { file = "test.7z", members = 'test/(?P<id>\\d+)\\.png' }

[images]
size = "native"
channels = 3

[submission]
sample = "sampleSubmission.csv"
predict = "label"
"""


def spec_from(text: str, slug: str = "some-competition"):
    return parse_spec(text, slug, f"{slug}.toml")


def edited(old: str, new: str) -> str:
    assert old in GOOD, old
    return GOOD.replace(old, new)


# -- the loader ------------------------------------------------------------------


def test_a_good_spec_loads_with_its_helpers():
    spec = spec_from(GOOD)
    assert spec.file_names == ("train.7z", "test.7z", "trainLabels.csv", "sampleSubmission.csv")
    assert [f.packing for f in spec.files] == ["7z", "7z", "plain", "plain"]
    assert spec.metric.name == "accuracy" and spec.metric.higher_is_better
    assert spec.classes == ("cat", "dog") and not spec.code_competition
    assert isinstance(spec.train_images, MemberImages)
    assert spec.train_images.match("train/17.png")["id"] == "17"
    assert spec.train_images.match("train/17.png.bak") is None and spec.train_images.match("x/train/1.png") is None
    assert spec.train_labels == CsvLabels("trainLabels.csv", "label", "id")
    assert spec.images.native and spec.images.channels == 3
    assert spec.submission.predict == "label" and spec.submission.positive is None


def test_pixel_csvs_folder_trees_path_labels_and_resizing_load():
    spec = spec_from("""\
kind = "code"
files = ["train/", "test.csv", "sample.csv"]
metric = "binary-log-loss"

[train]
images = { file = "train/", members = 'train/(?P<label>[^/]+)/(?P<id>[^/]+)\\.jpg' }
labels = { group = "label" }

[test]
images = { file = "test.csv", pixels = "px", shape = [2, 3, 1], id = "Id" }

[images]
size = [224, 200]
resize = "shorter-side-centre-crop"
channels = 1

[submission]
sample = "sample.csv"
predict = "probability"
positive = "dog"
""")
    assert spec.code_competition and spec.file("train/").packing == "folder"
    assert spec.train_labels == GroupLabels("label")
    assert spec.train_images.match("train/dog/x1.jpg").group("label", "id") == ("dog", "x1")
    assert spec.test_images == PixelImages("test.csv", "px", (2, 3, 1), "Id")
    assert spec.test_images.columns == ("px0", "px1", "px2", "px3", "px4", "px5")
    assert spec.images.size == (224, 200) and spec.images.resize == "shorter-side-centre-crop"
    assert spec.submission.positive == "dog" and not spec.metric.higher_is_better


@pytest.mark.parametrize("old, new, fragment", [
    ('kind = "file"', 'kind = "kernel"', "kind is 'kernel'; expected one of 'file', 'code'"),
    ('kind = "file"\n', "", "kind is missing"),
    ('metric = "accuracy"', 'metric = "rmse"', "metric is 'rmse'; expected one of 'accuracy'"),
    ('metric = "accuracy"', 'metric = "roc-auc"', "submission.predict is 'label', but metric 'roc-auc' scores"),
    ('classes = ["cat", "dog"]', 'classes = ["cat", "cat"]', "classes lists cat twice"),
    ('classes = ["cat", "dog"]', 'classes = "cat"', "classes is 'cat'; expected a list"),
    ('"train.7z", "test.7z"', '"train.7z", "train.7z"', "files lists train.7z twice"),
    ('kind = "file"', 'kind = "file"\nslug = "x"', "slug is not a spec key"),
    ("[images]", "[images]\nsizes = 3", "images.sizes is not a spec key; expected one of size, resize, channels"),
    ("file = \"train.7z\", members", "file = \"train.zip\", members", "train.images.file is 'train.zip', which is not in files"),
    ("file = \"train.7z\", members", "file = \"trainLabels.csv\", members", "train.images.file is 'trainLabels.csv'; expected a .7z or a .zip"),
    ("members = 'train/(?P<id>\\d+)\\.png'", "members = 'train/(\\d+)\\.png'", "train.images.members is 'train/(\\\\d+)\\\\.png'; expected a named group (?P<id>...)"),
    ("members = 'train/(?P<id>\\d+)\\.png'", "members = 'train/(?P<id>\\d+'", "train.images.members is not a valid regex"),
    ("members = 'test/(?P<id>\\d+)\\.png'", "members = '(?P<label>\\w+)/(?P<id>\\d+)'", "test.images.members has the group(s) label; test images have no labels"),
    ("members = 'train/(?P<id>\\d+)\\.png' }", "members = 'train/(?P<id>\\d+)', shape = [1, 1, 1] }", "train.images.shape belongs to pixel CSVs"),
    ("members = 'train/(?P<id>\\d+)\\.png' }", "members = 'x(?P<id>.)', pixels = 'p' }", "train.images needs exactly one of members"),
    ('id = "id", column = "label"', 'column = "label"', "train.labels.id is missing; expected the column of trainLabels.csv"),
    ('id = "id", column = "label"', 'id = "id", column = "id"', "train.labels.column is 'id', the id column too"),
    ('labels = { file = "trainLabels.csv", id = "id", column = "label" }', 'labels = { group = "label" }',
     "train.labels.group is 'label', which is not a named group of train.images.members"),
    ('labels = { file = "trainLabels.csv", id = "id", column = "label" }', 'labels = { group = "id", column = "x" }',
     "train.labels takes either group"),
    ("[test]\nimages = { file = \"test.7z\", members = 'test/(?P<id>\\d+)\\.png' }\n", "",
     "test is missing; expected a table with images"),
    ('size = "native"', 'size = "native"\nresize = "squeeze"', "images.resize goes with a size"),
    ('size = "native"', "size = [224, 224]", "images.resize is missing; expected one of 'squeeze', 'shorter-side-centre-crop'"),
    ('size = "native"', "size = [224]", "images.size is [224]; expected \"native\" or [height, width]"),
    ('size = "native"', 'size = [224, 224]\nresize = "stretch"', "images.resize is 'stretch'"),
    ("channels = 3", "channels = 4", "images.channels is 4; expected 1 (grey) or 3 (RGB)"),
    ("channels = 3", "channels = true", "images.channels is True"),
    ('predict = "label"', 'predict = "labels"', "submission.predict is 'labels'; expected one of 'label', 'probability', 'probabilities'"),
    ('predict = "label"', 'predict = "label"\npositive = "cat"', "submission.positive goes with predict = \"probability\" only"),
    ('sample = "sampleSubmission.csv"', 'sample = "test.7z"', "submission.sample is 'test.7z'; expected a CSV"),
    ('kind = "file"', 'kind = "file', "is not valid TOML (Illegal character"),
])
def test_each_kind_of_bad_spec_is_one_line_naming_file_and_key(old, new, fragment):
    with pytest.raises(DataError) as raised:
        spec_from(edited(old, new))
    message = str(raised.value)
    assert message.startswith("some-competition.toml") and "\n" not in message
    assert fragment in message


def test_bad_pixel_sources_and_probability_formats():
    pixels = edited("images = { file = \"train.7z\", members = 'train/(?P<id>\\d+)\\.png' }",
                    'images = { file = "trainLabels.csv", pixels = "pixel", shape = [28, 28] }')
    with pytest.raises(DataError, match=r"train.images.shape is \[28, 28\]; expected \[height, width, channels\]"):
        spec_from(pixels)
    with pytest.raises(DataError, match="train.images.shape has 4 channels"):
        spec_from(pixels.replace("[28, 28]", "[28, 28, 4]"))
    with pytest.raises(DataError, match="train.images.shape is missing"):
        spec_from(pixels.replace(", shape = [28, 28]", ""))
    with pytest.raises(DataError, match="train.images.file is 'test.7z'; expected a CSV"):
        spec_from(pixels.replace('file = "trainLabels.csv", pixels', 'file = "test.7z", pixels'))
    # a pixel CSV's own label column needs no id column
    spec = spec_from(pixels.replace("[28, 28]", "[28, 28, 1]").replace('id = "id", column', "column"))
    assert spec.train_labels == CsvLabels("trainLabels.csv", "label", None)

    probability = edited('metric = "accuracy"', 'metric = "roc-auc"').replace('predict = "label"', 'predict = "probability"')
    with pytest.raises(DataError, match="submission.positive is missing; expected the class whose probability"):
        spec_from(probability)
    with pytest.raises(DataError, match="submission.positive is 'frog', which is not one of classes"):
        spec_from(probability + 'positive = "frog"\n')
    assert spec_from(probability + 'positive = "dog"\n').submission.positive == "dog"


def test_the_slug_comes_from_the_file_name_and_must_be_one(tmp_path):
    bad = tmp_path / "Not A Slug.toml"
    bad.write_text(GOOD)
    with pytest.raises(DataError, match="is not a Kaggle competition slug"):
        competitions.load_spec(bad)
    with pytest.raises(DataError, match="cannot read competition spec"):
        competitions.load_spec(tmp_path / "missing.toml")


# -- the registry ----------------------------------------------------------------


def test_shipped_specs_load_and_say_what_the_issue_lists():
    assert {"cifar-10", "digit-recognizer"} <= set(known_slugs())
    cifar = get_spec("cifar-10")
    assert cifar.file_names == ("train.7z", "test.7z", "trainLabels.csv", "sampleSubmission.csv")
    assert len(cifar.classes) == 10 and cifar.train_images.match("train/50000.png")["id"] == "50000"
    digits = get_spec("digit-recognizer")
    assert digits.train_images == PixelImages("train.csv", "pixel", (28, 28, 1))
    assert len(digits.train_images.columns) == 784 and digits.train_images.columns[-1] == "pixel783"
    assert digits.train_labels == CsvLabels("train.csv", "label") and digits.images.channels == 1
    assert [s.slug for s in all_specs()] == list(known_slugs())


def test_the_shipped_class_list_is_the_one_folders_checks_today():
    from kagglekit.kaggle.competitions import known_classes

    assert get_spec("cifar-10").classes == known_classes("cifar-10")


def test_an_unknown_slug_names_the_known_ones_and_how_to_draft_one():
    with pytest.raises(UsageError) as raised:
        get_spec("dogs-vs-cats-redux-kernels-edition")
    message = str(raised.value)
    assert "\n" not in message and "cifar-10, digit-recognizer" in message
    assert "python -m kagglekit competitions draft dogs-vs-cats-redux-kernels-edition --out competitions/" in message
    with pytest.raises(UsageError, match="no spec for competition '../cifar-10'"):
        get_spec("../cifar-10")


def test_your_own_specs_come_first(tmp_path):
    (tmp_path / "my-comp.toml").write_text(GOOD)
    (tmp_path / "cifar-10.toml").write_text(GOOD.replace('classes = ["cat", "dog"]\n', ""))
    assert get_spec("my-comp", user_dir=tmp_path).classes == ("cat", "dog")
    assert get_spec("cifar-10", user_dir=tmp_path).classes is None  # yours overrides kagglekit's
    assert "my-comp" in known_slugs(user_dir=tmp_path)
    (tmp_path / "broken.toml").write_text("kind = 3\n")
    with pytest.raises(DataError, match="broken.toml: kind is 3"):
        all_specs(user_dir=tmp_path)
