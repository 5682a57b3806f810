"""A competition spec: what kagglekit must know about one Kaggle competition that Kaggle's files do not say.

One TOML file per competition (``kagglekit/competitions/<slug>.toml``, or
``competitions/<slug>.toml`` beside your data for one of your own). Whatever
the files themselves say stays out of it: the submission's column names and id
order come from the sample submission, packing from each file's extension, the
classes of a one-probability-column-per-class submission from the sample's
header. What remains::

    kind    = "file"                      # or "code": submissions come from a notebook
    files   = ["train.7z", "test.7z", "trainLabels.csv", "sampleSubmission.csv"]
    metric  = "accuracy"                  # see kagglekit.competitions.metrics.METRICS
    classes = ["airplane", ...]           # optional: only when the class list is fixed
    model   = "fast"                      # optional: the model version trained when none is named

    [train]
    images = { file = "train.7z", members = 'train/(?P<id>\\d+)\\.png' }
    labels = { file = "trainLabels.csv", id = "id", column = "label" }

    [test]
    images = { file = "test.7z", members = 'test/(?P<id>\\d+)\\.png' }

    [images]
    size = "native"                       # or [height, width], with resize = "squeeze" | "shorter-side-centre-crop"
    channels = 3                          # 1 (grey) or 3 (RGB): what every image becomes

    [submission]
    sample = "sampleSubmission.csv"
    predict = "label"                     # or "probability" (with positive = CLASS) or "probabilities"

Files: a name ending in ``/`` is a folder tree Kaggle lists file by file; a
``.7z`` or ``.zip`` is an archive; anything else is used as it is ("plain").

Images are either archive members (or the files of a folder tree, by the path
Kaggle lists, ``train/<species>/<name>.png``) whose path matches ``members`` in
full, a regex with a named group ``id`` (and, for training images labelled by
their path, a group the labels name), or ``pixels``: the columns
``<pixels>0, <pixels>1, ...`` of a CSV, one image per row, row-major in
``shape = [height, width, channels]``; a pixel CSV's ids are its ``id``
column, or without one its row numbers counted from 1, as Kaggle numbers them.

Labels are a CSV's ``column`` (its ``id`` column naming the image; without
``id``, the CSV must be the training pixel CSV itself, one label per row), or
``group``: the named group of ``train.images.members`` that holds the label
(a folder name or part of the file name).

Every problem in a spec is one :class:`~kagglekit.exceptions.DataError` line
naming the file, the key and what is wanted.
"""

from __future__ import annotations

import math
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

from kagglekit.competitions.metrics import LABEL, METRICS, PROBABILITIES, PROBABILITY, Metric
from kagglekit.exceptions import DataError

KINDS = ("file", "code")
PREDICTS = (LABEL, PROBABILITY, PROBABILITIES)
RESIZES = ("squeeze", "shorter-side-centre-crop")
CHANNELS = (1, 3)
NATIVE = "native"
ARCHIVES = {".7z": "7z", ".zip": "zip"}
FOLDER, PLAIN = "folder", "plain"
SLUG_PATTERN = re.compile(r"[a-z0-9][a-z0-9-]*")


# -- the spec ------------------------------------------------------------------------


@dataclass(frozen=True)
class DataFile:
    """One file (or folder tree) of the competition, as Kaggle lists it."""

    name: str

    @property
    def packing(self) -> str:
        """ "folder" (a tree listed file by file), "7z", "zip" or "plain", from the name."""
        return packing_of(self.name)


@dataclass(frozen=True)
class MemberImages:
    """Images that are the members of an archive (or files of a folder tree) whose path matches a pattern."""

    file: str
    members: str  # a regex, matched in full against each member's path

    @property
    def regex(self) -> re.Pattern[str]:
        return re.compile(self.members)  # re caches compiled patterns

    def match(self, path: str) -> re.Match[str] | None:
        """The match of a member path, or None for a member that is not one of these images."""
        return self.regex.fullmatch(path)


@dataclass(frozen=True)
class PixelImages:
    """Images that are rows of a CSV: columns <prefix>0 .. <prefix>N-1, row-major in ``shape``."""

    file: str
    pixels: str  # the column prefix
    shape: tuple[int, int, int]  # height, width, channels
    id: str | None = None  # the id column; None: the row number, from 1

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(f"{self.pixels}{i}" for i in range(math.prod(self.shape)))


ImageSource = Union[MemberImages, PixelImages]


@dataclass(frozen=True)
class CsvLabels:
    """Labels in a CSV column; ``id`` is the column naming the image (None: the training pixel CSV's own rows)."""

    file: str
    column: str
    id: str | None = None


@dataclass(frozen=True)
class GroupLabels:
    """Labels read off each training image's path: the named group of ``train.images.members``."""

    group: str


LabelSource = Union[CsvLabels, GroupLabels]


@dataclass(frozen=True)
class ImagePolicy:
    """What every image becomes before a model sees it."""

    size: tuple[int, int] | None  # (height, width); None: as they come ("native"), all one size
    resize: str | None  # how to reach ``size``: one of RESIZES; None when native
    channels: int  # 1 or 3

    @property
    def native(self) -> bool:
        return self.size is None


@dataclass(frozen=True)
class SubmissionFormat:
    """The submission: the sample's columns and ids, filled with one label, one probability or one per class."""

    sample: str
    predict: str  # LABEL, PROBABILITY or PROBABILITIES
    positive: str | None = None  # with PROBABILITY: the class whose probability the column holds


@dataclass(frozen=True)
class CompetitionSpec:
    slug: str
    kind: str  # "file" or "code"
    files: tuple[DataFile, ...]
    metric: Metric
    classes: tuple[str, ...] | None
    train_images: ImageSource
    train_labels: LabelSource
    test_images: ImageSource
    images: ImagePolicy
    submission: SubmissionFormat
    model: str | None = None  # the model version `make train` trains when MODEL is not given

    @property
    def file_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.files)

    def file(self, name: str) -> DataFile:
        found = next((f for f in self.files if f.name == name), None)
        if found is None:
            raise KeyError(f"{self.slug}'s spec lists no file {name!r}")
        return found

    @property
    def code_competition(self) -> bool:
        return self.kind == "code"


def packing_of(name: str) -> str:
    if name.endswith("/"):
        return FOLDER
    return ARCHIVES.get(Path(name).suffix.lower(), PLAIN)


# -- loading -------------------------------------------------------------------------


def load_spec(path: Path, slug: str | None = None) -> CompetitionSpec:
    """The spec in ``path`` (slug: the file's stem), checked; a DataError naming file and key otherwise."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise DataError(f"cannot read competition spec {path}: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise DataError(f"{path} is not UTF-8 text; a competition spec is a TOML file") from None
    return parse_spec(text, slug or path.stem, str(path))


def parse_spec(text: str, slug: str, where: str) -> CompetitionSpec:
    """A spec from TOML text; ``where`` names it in errors."""
    try:
        table = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise DataError(f"{where} is not valid TOML ({error}); fix that line") from None
    return _Reader(where).spec(slug, table)


class _Reader:
    """Reads a parsed TOML table into a spec, raising one DataError line per first problem found."""

    def __init__(self, where: str) -> None:
        self.where = where

    def fail(self, key: str, problem: str) -> DataError:
        return DataError(f"{self.where}: {key} {problem}")

    # -- typed fields ------------------------------------------------------------

    def table(self, parent: dict[str, Any], key: str, name: str, allowed: tuple[str, ...]) -> dict[str, Any]:
        value = parent.get(key)
        if value is None:
            raise self.fail(name, f"is missing; expected a table with {', '.join(allowed)}")
        if not isinstance(value, dict):
            raise self.fail(name, f"is {_shown(value)}; expected a table with {', '.join(allowed)}")
        self.known_keys(value, name, allowed)
        return value

    def known_keys(self, table: dict[str, Any], name: str, allowed: tuple[str, ...]) -> None:
        for key in table:
            if key not in allowed:
                where = f"{name}.{key}" if name else key
                raise self.fail(where, f"is not a spec key; expected one of {', '.join(allowed)}")

    def string(
        self,
        table: dict[str, Any],
        key: str,
        name: str,
        *,
        required: bool = True,
        choices: tuple[str, ...] | None = None,
    ) -> str | None:
        value = table.get(key)
        if value is None and not required:
            return None
        wanted = f"one of {', '.join(repr(c) for c in choices)}" if choices else "a non-empty string"
        if value is None:
            raise self.fail(name, f"is missing; expected {wanted}")
        if not isinstance(value, str) or not value.strip() or (choices and value not in choices):
            raise self.fail(name, f"is {_shown(value)}; expected {wanted}")
        return value

    def file_name(
        self, table: dict[str, Any], key: str, name: str, files: tuple[str, ...], packings: tuple[str, ...]
    ) -> str:
        value = self.string(table, key, name)
        if value not in files:
            raise self.fail(name, f"is {value!r}, which is not in files ({', '.join(files)})")
        if packing_of(value) not in packings:
            wanted = " or ".join(
                "a CSV" if p == PLAIN else "a folder (NAME/)" if p == FOLDER else f"a .{p}" for p in packings
            )
            raise self.fail(name, f"is {value!r}; expected {wanted}")
        if packings == (PLAIN,) and not value.lower().endswith(".csv"):
            raise self.fail(name, f"is {value!r}; expected a .csv file")
        return value

    def positive_ints(self, value: Any, name: str, count: int, what: str) -> tuple[int, ...]:
        ok = (
            isinstance(value, list)
            and len(value) == count
            and all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value)
        )
        if not ok:
            raise self.fail(name, f"is {_shown(value)}; expected {what}")
        return tuple(value)

    # -- sections ----------------------------------------------------------------

    def spec(self, slug: str, top: dict[str, Any]) -> CompetitionSpec:
        if not SLUG_PATTERN.fullmatch(slug):
            raise DataError(
                f"{self.where}: {slug!r} is not a Kaggle competition slug (lower-case letters, digits "
                "and dashes): name the file SLUG.toml"
            )
        self.known_keys(
            top, "", ("kind", "files", "metric", "classes", "model", "train", "test", "images", "submission")
        )
        kind = self.string(top, "kind", "kind", choices=KINDS)
        files = self.files(top.get("files"))
        metric_name = self.string(top, "metric", "metric", choices=tuple(METRICS))
        metric = METRICS[metric_name]
        classes = self.classes(top.get("classes"))
        model = self.string(top, "model", "model", required=False)

        train = self.table(top, "train", "train", ("images", "labels"))
        test = self.table(top, "test", "test", ("images",))
        train_images = self.image_source(train, "train.images", files, label_group_allowed=True)
        test_images = self.image_source(test, "test.images", files, label_group_allowed=False)
        train_labels = self.labels(train, files, train_images)
        images = self.policy(self.table(top, "images", "images", ("size", "resize", "channels")))
        submission = self.submission(
            self.table(top, "submission", "submission", ("sample", "predict", "positive")), files, classes
        )
        if submission.predict != metric.predicts:
            raise self.fail(
                "submission.predict",
                f"is {submission.predict!r}, but metric {metric.name!r} scores "
                f"{_predicts_phrase(metric.predicts)}: expected {metric.predicts!r}",
            )
        return CompetitionSpec(
            slug,
            kind,
            tuple(DataFile(n) for n in files),
            metric,
            classes,
            train_images,
            train_labels,
            test_images,
            images,
            submission,
            model,
        )

    def files(self, value: Any) -> tuple[str, ...]:
        if value is None:
            raise self.fail(
                "files", "is missing; expected the list of file names Kaggle lists (a folder tree as NAME/)"
            )
        if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.strip() for v in value):
            raise self.fail("files", f"is {_shown(value)}; expected a non-empty list of file names")
        duplicates = sorted({v for v in value if value.count(v) > 1})
        if duplicates:
            raise self.fail("files", f"lists {', '.join(duplicates)} twice; expected each file once")
        return tuple(value)

    def classes(self, value: Any) -> tuple[str, ...] | None:
        if value is None:
            return None
        if not isinstance(value, list) or len(value) < 2 or not all(isinstance(v, str) and v.strip() for v in value):
            raise self.fail("classes", f"is {_shown(value)}; expected a list of at least two class names (strings)")
        duplicates = sorted({v for v in value if value.count(v) > 1})
        if duplicates:
            raise self.fail("classes", f"lists {', '.join(duplicates)} twice; expected each class once")
        return tuple(value)

    def image_source(
        self, section: dict[str, Any], name: str, files: tuple[str, ...], *, label_group_allowed: bool
    ) -> ImageSource:
        table = self.table(section, "images", name, ("file", "members", "pixels", "shape", "id"))
        if ("members" in table) == ("pixels" in table):
            raise self.fail(
                name,
                "needs exactly one of members (a regex over archive member paths) "
                "or pixels (the pixel columns' prefix in a CSV)",
            )
        if "members" in table:
            for key in ("shape", "id"):
                if key in table:
                    raise self.fail(
                        f"{name}.{key}",
                        "belongs to pixel CSVs; member images take their id from the (?P<id>...) group of members",
                    )
            file = self.file_name(table, "file", f"{name}.file", files, ("7z", "zip", FOLDER))
            pattern = self.string(table, "members", f"{name}.members")
            try:
                regex = re.compile(pattern)
            except re.error as error:
                raise self.fail(f"{name}.members", f"is not a valid regex ({error})") from None
            if "id" not in regex.groupindex:
                raise self.fail(
                    f"{name}.members", f"is {pattern!r}; expected a named group (?P<id>...) for the image id"
                )
            extra = sorted(set(regex.groupindex) - {"id"})
            if extra and not label_group_allowed:
                raise self.fail(
                    f"{name}.members",
                    f"has the group(s) {', '.join(extra)}; test images have no labels: expected only (?P<id>...)",
                )
            return MemberImages(file, pattern)
        file = self.file_name(table, "file", f"{name}.file", files, (PLAIN,))
        prefix = self.string(table, "pixels", f"{name}.pixels")
        if "shape" not in table:
            raise self.fail(f"{name}.shape", "is missing; expected [height, width, channels] of each row's pixels")
        shape = self.positive_ints(table["shape"], f"{name}.shape", 3, "[height, width, channels], positive integers")
        if shape[2] not in CHANNELS:
            raise self.fail(f"{name}.shape", f"has {shape[2]} channels; expected 1 (grey) or 3 (RGB)")
        return PixelImages(file, prefix, shape, self.string(table, "id", f"{name}.id", required=False))

    def labels(self, train: dict[str, Any], files: tuple[str, ...], images: ImageSource) -> LabelSource:
        table = self.table(train, "labels", "train.labels", ("file", "column", "id", "group"))
        groups = set(images.regex.groupindex) - {"id"} if isinstance(images, MemberImages) else set()
        if "group" in table:
            if set(table) != {"group"}:
                raise self.fail(
                    "train.labels",
                    "takes either group (labels from the image path) or file and column (labels from a CSV), not both",
                )
            group = self.string(table, "group", "train.labels.group")
            if group not in groups:
                raise self.fail(
                    "train.labels.group",
                    f"is {group!r}, which is not a named group of train.images.members "
                    f"({', '.join(sorted(groups)) or 'it has none besides id'})",
                )
            return GroupLabels(group)
        file = self.file_name(table, "file", "train.labels.file", files, (PLAIN,))
        column = self.string(table, "column", "train.labels.column")
        id_column = self.string(table, "id", "train.labels.id", required=False)
        if groups:
            raise self.fail(
                "train.images.members",
                f"has the group(s) {', '.join(sorted(groups))} while train.labels "
                f"reads {file}: expected labels = {{ group = ... }} or no extra group",
            )
        if id_column is None and not (isinstance(images, PixelImages) and images.file == file):
            raise self.fail(
                "train.labels.id",
                f"is missing; expected the column of {file} that names each image "
                "(only the training pixel CSV's own label column goes without)",
            )
        if id_column is not None and id_column == column:
            raise self.fail("train.labels.column", f"is {column!r}, the id column too; expected the label's column")
        return CsvLabels(file, column, id_column)

    def policy(self, table: dict[str, Any]) -> ImagePolicy:
        size = table.get("size")
        channels = table.get("channels")
        if channels not in CHANNELS or isinstance(channels, bool):
            raise self.fail("images.channels", f"is {_shown(channels)}; expected 1 (grey) or 3 (RGB)")
        if size == NATIVE:
            if "resize" in table:
                raise self.fail(
                    "images.resize", 'goes with a size; with size = "native" images are not resized: drop it'
                )
            return ImagePolicy(None, None, channels)
        if size is None:
            raise self.fail("images.size", 'is missing; expected "native" or [height, width]')
        shape = self.positive_ints(size, "images.size", 2, '"native" or [height, width], positive integers')
        resize = self.string(table, "resize", "images.resize", choices=RESIZES)
        return ImagePolicy(shape, resize, channels)

    def submission(
        self, table: dict[str, Any], files: tuple[str, ...], classes: tuple[str, ...] | None
    ) -> SubmissionFormat:
        sample = self.file_name(table, "sample", "submission.sample", files, (PLAIN,))
        predict = self.string(table, "predict", "submission.predict", choices=PREDICTS)
        positive = self.string(table, "positive", "submission.positive", required=False)
        if predict == PROBABILITY and positive is None:
            raise self.fail(
                "submission.positive", "is missing; expected the class whose probability the submission's column holds"
            )
        if predict != PROBABILITY and positive is not None:
            raise self.fail("submission.positive", f'goes with predict = "probability" only (predict is {predict!r})')
        if positive is not None and classes is not None and positive not in classes:
            raise self.fail("submission.positive", f"is {positive!r}, which is not one of classes")
        return SubmissionFormat(sample, predict, positive)


def _predicts_phrase(predicts: str) -> str:
    return {
        LABEL: "one label per image",
        PROBABILITY: "the probability of one class per image",
        PROBABILITIES: "one probability per class per image",
    }[predicts]


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
