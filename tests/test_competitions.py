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


@pytest.mark.parametrize(
    "old, new, fragment",
    [
        ('kind = "file"', 'kind = "kernel"', "kind is 'kernel'; expected one of 'file', 'code'"),
        ('kind = "file"\n', "", "kind is missing"),
        ('metric = "accuracy"', 'metric = "rmse"', "metric is 'rmse'; expected one of 'accuracy'"),
        ('metric = "accuracy"', 'metric = "roc-auc"', "submission.predict is 'label', but metric 'roc-auc' scores"),
        ('classes = ["cat", "dog"]', 'classes = ["cat", "cat"]', "classes lists cat twice"),
        ('classes = ["cat", "dog"]', 'classes = "cat"', "classes is 'cat'; expected a list"),
        ('"train.7z", "test.7z"', '"train.7z", "train.7z"', "files lists train.7z twice"),
        ('kind = "file"', 'kind = "file"\nslug = "x"', "slug is not a spec key"),
        ("[images]", "[images]\nsizes = 3", "images.sizes is not a spec key; expected one of size, resize, channels"),
        (
            'file = "train.7z", members',
            'file = "train.zip", members',
            "train.images.file is 'train.zip', which is not in files",
        ),
        (
            'file = "train.7z", members',
            'file = "trainLabels.csv", members',
            "train.images.file is 'trainLabels.csv'; expected a .7z or a .zip",
        ),
        (
            "members = 'train/(?P<id>\\d+)\\.png'",
            "members = 'train/(\\d+)\\.png'",
            "train.images.members is 'train/(\\\\d+)\\\\.png'; expected a named group (?P<id>...)",
        ),
        (
            "members = 'train/(?P<id>\\d+)\\.png'",
            "members = 'train/(?P<id>\\d+'",
            "train.images.members is not a valid regex",
        ),
        (
            "members = 'test/(?P<id>\\d+)\\.png'",
            "members = '(?P<label>\\w+)/(?P<id>\\d+)'",
            "test.images.members has the group(s) label; test images have no labels",
        ),
        (
            "members = 'train/(?P<id>\\d+)\\.png' }",
            "members = 'train/(?P<id>\\d+)', shape = [1, 1, 1] }",
            "train.images.shape belongs to pixel CSVs",
        ),
        (
            "members = 'train/(?P<id>\\d+)\\.png' }",
            "members = 'x(?P<id>.)', pixels = 'p' }",
            "train.images needs exactly one of members",
        ),
        (
            'id = "id", column = "label"',
            'column = "label"',
            "train.labels.id is missing; expected the column of trainLabels.csv",
        ),
        ('id = "id", column = "label"', 'id = "id", column = "id"', "train.labels.column is 'id', the id column too"),
        (
            'labels = { file = "trainLabels.csv", id = "id", column = "label" }',
            'labels = { group = "label" }',
            "train.labels.group is 'label', which is not a named group of train.images.members",
        ),
        (
            'labels = { file = "trainLabels.csv", id = "id", column = "label" }',
            'labels = { group = "id", column = "x" }',
            "train.labels takes either group",
        ),
        (
            "[test]\nimages = { file = \"test.7z\", members = 'test/(?P<id>\\d+)\\.png' }\n",
            "",
            "test is missing; expected a table with images",
        ),
        ('size = "native"', 'size = "native"\nresize = "squeeze"', "images.resize goes with a size"),
        (
            'size = "native"',
            "size = [224, 224]",
            "images.resize is missing; expected one of 'squeeze', 'shorter-side-centre-crop'",
        ),
        ('size = "native"', "size = [224]", 'images.size is [224]; expected "native" or [height, width]'),
        ('size = "native"', 'size = [224, 224]\nresize = "stretch"', "images.resize is 'stretch'"),
        ("channels = 3", "channels = 4", "images.channels is 4; expected 1 (grey) or 3 (RGB)"),
        ("channels = 3", "channels = true", "images.channels is True"),
        (
            'predict = "label"',
            'predict = "labels"',
            "submission.predict is 'labels'; expected one of 'label', 'probability', 'probabilities'",
        ),
        (
            'predict = "label"',
            'predict = "label"\npositive = "cat"',
            'submission.positive goes with predict = "probability" only',
        ),
        ('sample = "sampleSubmission.csv"', 'sample = "test.7z"', "submission.sample is 'test.7z'; expected a CSV"),
        ('kind = "file"', 'kind = "file', "is not valid TOML (Illegal character"),
    ],
)
def test_each_kind_of_bad_spec_is_one_line_naming_file_and_key(old, new, fragment):
    with pytest.raises(DataError) as raised:
        spec_from(edited(old, new))
    message = str(raised.value)
    assert message.startswith("some-competition.toml") and "\n" not in message
    assert fragment in message


def test_bad_pixel_sources_and_probability_formats():
    pixels = edited(
        "images = { file = \"train.7z\", members = 'train/(?P<id>\\d+)\\.png' }",
        'images = { file = "trainLabels.csv", pixels = "pixel", shape = [28, 28] }',
    )
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

    probability = edited('metric = "accuracy"', 'metric = "roc-auc"').replace(
        'predict = "label"', 'predict = "probability"'
    )
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


def test_an_unknown_slug_names_the_known_ones_and_how_to_draft_one():
    with pytest.raises(UsageError) as raised:
        get_spec("dog-breed-identification")
    message = str(raised.value)
    assert "\n" not in message and "cifar-10, digit-recognizer, dogs-vs-cats-redux-kernels-edition" in message
    assert "python -m kagglekit competitions draft dog-breed-identification --out competitions/" in message
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


# -- the `competitions` command ---------------------------------------------------


def test_the_listing_shows_every_spec_through_the_cli(capsys):
    from kagglekit.cli import main

    assert main(["competitions"]) == 0
    out = capsys.readouterr().out
    for slug in known_slugs():
        assert f"{slug}  (file competition)" in out
    assert "train.7z (7z), test.7z (7z), trainLabels.csv (plain), sampleSubmission.csv (plain)" in out
    assert "column label of trainLabels.csv, by its id column" in out
    assert "column label of train.csv, one per pixel row" in out
    assert "one label per image, in sample_submission.csv's columns and id order" in out
    assert "accuracy (higher is better)" in out
    assert "pixel0..pixel783" not in out  # the short listing

    assert main(["competitions", "--verbose"]) == 0
    assert "rows of test.csv, columns pixel0..pixel783 (28x28x1); ids are row numbers from 1" in capsys.readouterr().out


def test_show_prints_one_spec_in_full_and_refuses_an_unknown_slug(capsys):
    from kagglekit.cli import main

    assert main(["competitions", "show", "cifar-10"]) == 0
    out = capsys.readouterr().out
    assert "members of train.7z matching train/(?P<id>\\d+)\\.png" in out
    assert "airplane, automobile, bird" in out and "(10, fixed)" in out
    assert "native size, 3 channels (RGB)" in out and "cifar-10.toml" in out
    assert main(["competitions", "show", "no-such-competition"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "competitions draft no-such-competition" in err


def test_describe_shows_probabilities_path_labels_and_resizing():
    from kagglekit.commands.competitions import describe

    spec = spec_from("""\
kind = "code"
files = ["train/", "test.zip", "sample.csv"]
metric = "multiclass-log-loss"
[train]
images = { file = "train/", members = 'train/(?P<breed>[^/]+)/(?P<id>[^/]+)\\.jpg' }
labels = { group = "breed" }
[test]
images = { file = "test.zip", members = 'test/(?P<id>[^/]+)\\.jpg' }
[images]
size = [224, 224]
resize = "squeeze"
channels = 3
[submission]
sample = "sample.csv"
predict = "probabilities"
""")
    text = "\n".join(describe(spec, full=True))
    assert "code competition" in text and "train/ (folder), test.zip (zip)" in text
    assert "the (?P<breed>...) group of each training image's path" in text
    assert "one probability column per class" in text and "multiclass-log-loss (lower is better)" in text
    assert "resized to 224x224 (squeeze)" in text and "the sample's columns" in text


# -- drafts from the local Kaggle server, through the real client -----------------

SPEC_FIELDS = {
    "kind": lambda s: s.kind,
    "files": lambda s: set(s.file_names),
    "metric": lambda s: s.metric,
    "classes": lambda s: s.classes,
    "train.images": lambda s: s.train_images,
    "train.labels": lambda s: s.train_labels,
    "test.images": lambda s: s.test_images,
    "images": lambda s: s.images,
    "submission.sample": lambda s: s.submission.sample,
    "submission.predict": lambda s: s.submission.predict,
    "submission.positive": lambda s: s.submission.positive,
}
# What a draft must infer for each shipped spec: all but what Kaggle's answers cannot tell
# (cifar-10's image sizes are in the PNGs, which a draft does not read).
MUST_INFER = {
    "cifar-10": set(SPEC_FIELDS) - {"images", "submission.positive"},
    "digit-recognizer": set(SPEC_FIELDS) - {"submission.positive"},
}


@pytest.fixture(scope="module")
def digit_files(tmp_path_factory):
    from kagglekit.standin.synthetic import make_digit_recognizer

    return make_digit_recognizer(tmp_path_factory.mktemp("digit-recognizer"), n_train=60, n_test=20, seed=0)


@pytest.fixture
def both_served(kaggle_server, digit_files):
    """The local server with cifar-10 (conftest's) and digit-recognizer, as Kaggle describes them."""
    kaggle_server.add_competition(
        "digit-recognizer",
        digit_files.directory,
        digit_files.solution_csv,
        evaluation_metric="Categorization Accuracy",
        files=list(digit_files.files),
    )
    return kaggle_server


def test_the_digit_recognizer_generator_writes_kaggles_format(digit_files):
    import pandas as pd

    train, test = pd.read_csv(digit_files.train_csv), pd.read_csv(digit_files.test_csv)
    assert list(train.columns) == ["label"] + [f"pixel{i}" for i in range(784)]
    assert list(test.columns) == [f"pixel{i}" for i in range(784)]
    assert sorted(train["label"].unique()) == list(range(10)) and len(train) == 60 and len(test) == 20
    assert train.iloc[:, 1:].to_numpy().min() >= 0 and train.iloc[:, 1:].to_numpy().max() <= 255
    sample = pd.read_csv(digit_files.sample_submission)
    assert list(sample.columns) == ["ImageId", "Label"]
    assert sample["ImageId"].tolist() == list(range(1, 21)) and set(sample["Label"]) == {0}
    assert digit_files.solution_csv.read_text().startswith("ImageId,Label\n1,")  # the sample's own header


@pytest.mark.parametrize("slug", ["cifar-10", "digit-recognizer"])
def test_a_draft_matches_the_shipped_spec_in_every_field_it_infers(both_served, slug):
    from kagglekit.competitions.draft import draft

    shipped, drafted = get_spec(slug), draft(slug)
    assert MUST_INFER[slug] <= drafted.inferred, drafted.todos
    for key in drafted.inferred:
        assert SPEC_FIELDS[key](drafted.spec) == SPEC_FIELDS[key](shipped), key
    assert "# TODO" not in drafted.text.replace("# TODO: image sizes", "")  # only the image policy is left open
    # nothing large was downloaded: the archives were listed with ranged reads
    assert all(range_.startswith("bytes=") for _, range_ in both_served.ranges)


def test_draft_through_the_cli_writes_a_spec_the_loader_accepts(both_served, tmp_path, capsys):
    from kagglekit.cli import main
    from kagglekit.competitions import load_spec

    out = tmp_path / "competitions" / "cifar-10.toml"
    assert main(["competitions", "draft", "cifar-10", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert f"wrote a draft spec to {out}" in captured.out
    assert "already has a spec for cifar-10" in captured.err and "1 TODO to check" in captured.err
    assert load_spec(out).train_images == get_spec("cifar-10").train_images
    assert main(["competitions", "draft", "cifar-10", "--out", str(out)]) == 2
    assert "exists: pass --force" in capsys.readouterr().err
    assert main(["competitions", "draft", "digit-recognizer"]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith('# digit-recognizer: "digit-recognizer"')
    assert parse_spec(printed, "digit-recognizer", "stdout").test_images == get_spec("digit-recognizer").test_images


def test_a_draft_says_which_kaggle_metric_it_read_and_what_kind(kaggle_server, competition_files):
    from kagglekit.competitions.draft import draft

    kaggle_server.add_competition(
        "new-contest",
        competition_files.directory,
        competition_files.solution_csv,
        evaluation_metric="Weighted Mean Absolute Quantile",
        kernels_only=True,
    )
    drafted = draft("new-contest")
    assert drafted.spec.kind == "code" and "kind" in drafted.inferred
    assert "metric" not in drafted.inferred and drafted.spec.metric.name == "accuracy"  # a placeholder
    assert "Kaggle calls its metric 'Weighted Mean Absolute Quantile', which kagglekit does not know" in drafted.text


def test_an_unknown_competition_lists_its_files_and_what_a_spec_needs(kaggle_server, competition_files):
    from kagglekit.competitions.draft import describe_unknown

    kaggle_server.add_competition("new-contest", competition_files.directory, competition_files.solution_csv)
    text = describe_unknown("new-contest")
    assert text.startswith("kagglekit has no spec for new-contest; Kaggle lists 4 files:")
    for name in ("train.7z", "test.7z", "trainLabels.csv", "sampleSubmission.csv"):
        assert f"  {name}" in text
    assert "\nA spec says what those files cannot: which of them to fetch and how each is packed" in text
    assert text.endswith("python -m kagglekit competitions draft new-contest --out competitions/new-contest.toml")


def test_an_unknown_slug_on_kaggle_is_one_line(kaggle_server):
    from kagglekit.competitions.draft import draft
    from kagglekit.exceptions import KaggleApiError

    with pytest.raises(KaggleApiError, match="unknown competition 'no-such-slug'"):
        draft("no-such-slug")


# -- what a draft reads, through kaggle_api ---------------------------------------


def test_read_file_start_unzips_only_what_it_needs(kaggle_server, competition_files):
    from kagglekit.kaggle import kaggle_api

    whole, complete = kaggle_api.read_file_start("cifar-10", "trainLabels.csv")
    assert complete and whole == competition_files.train_labels.read_bytes()
    start, complete = kaggle_api.read_file_start("cifar-10", "trainLabels.csv", max_bytes=20)
    assert not complete and start == whole[:20]


def test_archive_members_of_a_7z_and_a_zip_by_ranged_reads(kaggle_server, competition_files, tmp_path):
    import zipfile

    from kagglekit.kaggle import kaggle_api

    names = kaggle_api.archive_members("cifar-10", "train.7z")
    assert names == [f"train/{i}.png" for i in range(1, 61)]
    ranged = [r for path, r in kaggle_server.ranges if path.endswith("/train.7z")]
    assert ranged and sum(_range_length(r) for r in ranged) < competition_files.train_archive.stat().st_size

    (tmp_path / "zipped").mkdir()
    with zipfile.ZipFile(tmp_path / "zipped" / "train.zip", "w") as archive:
        for i in range(5):
            archive.writestr(f"train/cat.{i}.jpg", b"x" * 5000)
    (tmp_path / "zipped" / "sample_submission.csv").write_text("id,label\n1,0.5\n")
    kaggle_server.add_competition(
        "zipped", tmp_path / "zipped", competition_files.solution_csv, files=["train.zip", "sample_submission.csv"]
    )
    assert kaggle_api.archive_members("zipped", "train.zip") == [f"train/cat.{i}.jpg" for i in range(5)]
    with pytest.raises(DataError, match="would read more than 100 bytes"):
        kaggle_api.archive_members("zipped", "train.zip", max_bytes=100)
    with pytest.raises(DataError, match="neither a .zip nor a .7z"):
        kaggle_api.archive_members("zipped", "sample_submission.csv")


def _range_length(header: str) -> int:
    start, _, end = header.removeprefix("bytes=").partition("-")
    return int(end) - int(start) + 1


# -- inference on what Kaggle says about the issue's other competitions (hand-made evidence) --


def evidence(slug, metric, files, csvs, members=(), kernels_only=False):
    from kagglekit.competitions.draft import CsvHead, Evidence

    heads = {name: CsvHead(tuple(rows[0]), tuple(tuple(r) for r in rows[1:]), True) for name, rows in csvs.items()}
    listed = {name: 1000 for name in files}
    return Evidence(slug, slug, metric, kernels_only, listed, heads, dict(members))


def test_dogs_vs_cats_labels_in_the_file_name_and_one_probability():
    from kagglekit.competitions.draft import infer

    train = [f"train/{animal}.{n}.jpg" for animal in ("cat", "dog") for n in range(1, 5)]
    drafted = infer(
        evidence(
            "dogs-vs-cats-redux-kernels-edition",
            "Log Loss",
            ["train.zip", "test.zip", "sample_submission.csv"],
            {"sample_submission.csv": [["id", "label"]] + [[str(i), "0.5"] for i in range(1, 6)]},
            {"train.zip": train, "test.zip": [f"test/{i}.jpg" for i in range(1, 6)]},
        )
    )
    spec = drafted.spec
    assert spec.train_images == MemberImages("train.zip", r"train/(?P<id>(?P<label>[^./]+)\.\d+)\.jpg")
    assert spec.train_images.match("train/cat.1.jpg").group("id", "label") == ("cat.1", "cat")
    assert spec.train_labels == GroupLabels("label")
    assert spec.test_images == MemberImages("test.zip", r"test/(?P<id>\d+)\.jpg")
    assert spec.metric.name == "binary-log-loss" and spec.submission.predict == "probability"
    assert spec.classes == ("cat", "dog")
    assert spec.submission.positive == "dog" and "submission.positive" not in drafted.inferred  # a guess to check
    assert "# TODO: which class is the sample's column the probability of?" in drafted.text


def test_plant_seedlings_labels_from_the_folder_and_file_name_ids():
    from kagglekit.competitions.draft import infer

    train = [f"train/{species}/{n}.png" for species in ("Black-grass", "Charlock") for n in ("a1", "b2")]
    test = ["test/0021e90e4.png", "test/003d61042.png"]
    drafted = infer(
        evidence(
            "plant-seedlings-classification",
            "MeanFScore",
            [*train, *test, "sample_submission.csv"],
            {
                "sample_submission.csv": [
                    ["file", "species"],
                    ["0021e90e4.png", "Loose Silky-bent"],
                    ["003d61042.png", "Loose Silky-bent"],
                ]
            },
            {"train/": train, "test/": test},
        )
    )
    spec = drafted.spec
    assert spec.file_names == ("train/", "test/", "sample_submission.csv")
    assert spec.train_images == MemberImages("train/", r"train/(?P<label>[^/]+)/(?P<id>[^/]+\.png)")
    assert spec.test_images == MemberImages("test/", r"test/(?P<id>[^/]+\.png)")
    assert spec.train_labels == GroupLabels("label") and spec.classes == ("Black-grass", "Charlock")
    assert spec.metric.name == "micro-f1" and spec.submission.predict == "label"


def test_aerial_cactus_a_code_competition_scored_by_auc():
    from kagglekit.competitions.draft import infer

    ids = ["0004be2cfeaba1c0361d39e2b000257b.jpg", "000c8a36845c0208e833c79c1bffedd1.jpg"]
    drafted = infer(
        evidence(
            "aerial-cactus-identification",
            "Area Under Receiver Operating Characteristic Curve",
            ["train.zip", "test.zip", "train.csv", "sample_submission.csv"],
            {
                "train.csv": [["id", "has_cactus"], [ids[0], "1"], [ids[1], "0"]],
                "sample_submission.csv": [["id", "has_cactus"], ["aaa.jpg", "0.5"], ["bbb.jpg", "0.5"]],
            },
            {"train.zip": [f"train/{i}" for i in ids], "test.zip": ["test/aaa.jpg", "test/bbb.jpg"]},
            kernels_only=True,
        )
    )
    spec = drafted.spec
    assert spec.code_competition and spec.metric.name == "roc-auc"
    assert spec.train_labels == CsvLabels("train.csv", "has_cactus", "id")
    assert spec.train_images == MemberImages("train.zip", r"train/(?P<id>[^/]+\.jpg)")
    assert spec.test_images == MemberImages("test.zip", r"test/(?P<id>[^/]+\.jpg)")
    assert spec.submission.predict == "probability" and spec.submission.positive == "1"
    assert {"kind", "metric", "train.labels", "submission.positive"} <= drafted.inferred


def test_dog_breeds_one_probability_column_per_class():
    from kagglekit.competitions.draft import infer

    breeds = ["affenpinscher", "afghan_hound", "beagle"]
    drafted = infer(
        evidence(
            "dog-breed-identification",
            "Multi Class Log Loss",
            ["train.zip", "test.zip", "labels.csv", "sample_submission.csv"],
            {
                "labels.csv": [
                    ["id", "breed"],
                    ["000bec180eb18c7604dcecc8fe0dba07", "beagle"],
                    ["001513dfcb2ffafc82cccf4d8bbaba97", "affenpinscher"],
                ],
                "sample_submission.csv": [["id", *breeds], ["000621fb3cbb32d8935728e48679680e"] + ["0.333333"] * 3],
            },
            {
                "train.zip": [
                    "train/000bec180eb18c7604dcecc8fe0dba07.jpg",
                    "train/001513dfcb2ffafc82cccf4d8bbaba97.jpg",
                ],
                "test.zip": ["test/000621fb3cbb32d8935728e48679680e.jpg"],
            },
        )
    )
    spec = drafted.spec
    assert spec.submission.predict == "probabilities" and spec.metric.name == "multiclass-log-loss"
    assert spec.classes is None  # the sample's columns are the classes
    assert spec.train_labels == CsvLabels("labels.csv", "breed", "id")
    assert spec.train_images == MemberImages("train.zip", r"train/(?P<id>[^/]+)\.jpg")


def test_metric_names_and_what_cannot_be_inferred():
    from kagglekit.competitions.draft import infer

    def draft_with(metric, sample_values, pixels=784):
        header = [f"pixel{i}" for i in range(pixels)]
        return infer(
            evidence(
                "x",
                metric,
                ["train.csv", "test.csv", "sample_submission.csv"],
                {
                    "train.csv": [["label", *header], ["3", *["0"] * pixels], ["5", *["0"] * pixels]],
                    "test.csv": [header, ["0"] * pixels],
                    "sample_submission.csv": [
                        ["ImageId", *[f"c{k}" for k in range(len(sample_values))]],
                        ["1", *sample_values],
                    ],
                },
            )
        )

    assert draft_with("Log Loss", ["0.2", "0.8"]).spec.metric.name == "multiclass-log-loss"
    assert draft_with("logloss", ["0.2"]).spec.metric.name == "binary-log-loss"
    assert draft_with("Categorization Accuracy", ["7"]).spec.metric.name == "accuracy"
    colour = draft_with("Categorization Accuracy", ["7"], pixels=32 * 32 * 3).spec
    assert colour.train_images.shape == (32, 32, 3) and colour.images.channels == 3
    odd = draft_with("Categorization Accuracy", ["7"], pixels=10)
    assert "train.images" not in odd.inferred and "no square" in odd.text
    # the metric decides what is scored when the sample's values say otherwise
    conflicted = draft_with("AUC", ["0"])
    assert conflicted.spec.submission.predict == "probability" and "submission.predict" not in conflicted.inferred
    with pytest.raises(DataError, match="lists no sample submission"):
        infer(evidence("x", "AUC", ["train.csv"], {"train.csv": [["id", "label"]]}))


def test_a_label_file_read_only_in_part_leaves_the_classes_to_the_reviewer():
    from kagglekit.competitions.draft import CsvHead, infer

    header = [f"pixel{i}" for i in range(16)]
    partial = evidence(
        "x",
        "Categorization Accuracy",
        ["train.csv", "test.csv", "sample_submission.csv"],
        {"test.csv": [header, ["0"] * 16], "sample_submission.csv": [["ImageId", "Label"], ["1", "0"]]},
    )
    partial.csvs["train.csv"] = CsvHead(("label", *header), (("3", *["0"] * 16), ("5", *["0"] * 16)), False)
    drafted = infer(partial)
    assert drafted.spec.classes is None and "classes" not in drafted.inferred
    assert "# TODO: the labels were not all read (a large label file)" in drafted.text
    assert drafted.spec.train_images.shape == (4, 4, 1)
    assert any(todo.startswith("classes: the labels were not all read") for todo in drafted.todos)
