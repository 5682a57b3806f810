"""Drafting a competition spec from what Kaggle says, for a person to review.

:func:`gather` asks Kaggle (through :mod:`kagglekit.kaggle.kaggle_api`, with the
real client) for the competition's record (its evaluation metric, whether it is
a code competition), its file list, the start of every CSV (the whole of a
small one, such as a label file), and the member names of its .zip and .7z
archives (read from the archive's index with ranged reads, never the whole
archive). :func:`infer` turns that :class:`Evidence` into spec TOML: what it can
infer it writes plainly, anything else it writes as a plausible placeholder
marked ``TODO``, so the draft loads but says what to check. Inference is pure,
so it is tested on hand-made evidence as well as through the local server.

What is inferred, and from what:

* files and packing: Kaggle's file list (a folder tree, listed file by file, as ``NAME/``);
* the submission: the sample's header and rows; one column of probabilities
  (a value such as 0.5) is ``probability``, several are ``probabilities``,
  anything else is one ``label`` per row;
* test images: a CSV of ``<prefix>0..<prefix>N-1`` columns (ids: an id column
  named as the sample's, else the row number), or archive members whose names
  (with or without extension) are the sample's ids;
* training labels: a CSV with the sample's id column (the label: the column
  named as the sample's prediction column, or the only other one), the one
  non-pixel column of a training pixel CSV, or, with no label file, the folder
  above each image or the first part of its file name (``cat.1.jpg``);
* the metric: Kaggle's name for it (:data:`KAGGLE_METRICS`) and the submission format;
* code or file competition: Kaggle's ``is_kernels_submissions_only``;
* classes: the labels of a label file read whole (or of the folder names), for
  the reviewer to keep if the class list is fixed;
* the image policy only for pixel CSVs (native, their channels): image sizes
  are not read, so "native" is a placeholder elsewhere.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any, Iterable

from kagglekit.competitions import USER_DIR, draft_command
from kagglekit.competitions.metrics import LABEL, METRICS, PROBABILITIES, PROBABILITY
from kagglekit.competitions.spec import FOLDER, CompetitionSpec, packing_of, parse_spec
from kagglekit.exceptions import DataError, KagglekitError

if TYPE_CHECKING:
    from kaggle.api.kaggle_api_extended import KaggleApi

# Kaggle's evaluation_metric names, squeezed to lower-case letters and digits, mapped to kagglekit's.
# "logloss" is binary or multi-class by the submission's format (one probability column or one per class).
# Seen in Kaggle's API answers and pages: "Categorization Accuracy" (cifar-10, digit-recognizer), "Log Loss".
# ASSUMED (Kaggle's metric names as its Meta Kaggle data set spells them, not checked against the API for each
# competition): the rest below, notably "Area Under Receiver Operating Characteristic Curve" and "AUC",
# "Multi Class Log Loss", and "Mean F-Score" / "MeanFScore" read as micro-averaged F1 (plant-seedlings).
KAGGLE_METRICS: dict[str, str] = {
    "categorizationaccuracy": "accuracy",
    "classificationaccuracy": "accuracy",
    "accuracy": "accuracy",
    "accuracyscore": "accuracy",
    "logloss": "logloss",
    "logarithmicloss": "logloss",
    "binarylogloss": "binary-log-loss",
    "binarycrossentropy": "binary-log-loss",
    "multiclasslogloss": "multiclass-log-loss",
    "multiclassloss": "multiclass-log-loss",
    "multiclasslogarithmicloss": "multiclass-log-loss",
    "mlogloss": "multiclass-log-loss",
    "auc": "roc-auc",
    "rocauc": "roc-auc",
    "aucroc": "roc-auc",
    "areaunderroccurve": "roc-auc",
    "areaunderreceiveroperatingcharacteristiccurve": "roc-auc",
    "meanfscoremicro": "micro-f1",
    "microf1": "micro-f1",
    "f1micro": "micro-f1",
    "microaveragedf1": "micro-f1",
    "meanfscore": "micro-f1",
    "meanf1score": "micro-f1",
}
# A metric's name alone says it is of this kind; the format says which.
BY_FORMAT = {LABEL: "accuracy", PROBABILITY: "binary-log-loss", PROBABILITIES: "multiclass-log-loss"}

FULL_CSV_BYTES = 8 << 20  # a CSV up to this size (label files) is read whole, for its classes
CSV_HEAD_BYTES = 256 << 10  # of a larger one (pixel CSVs), the header and first rows
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".gif", ".webp"})
MAX_NAME_LABELS = 200  # a file-name part with more distinct values than this is not a label
COMMENT_WIDTH = 110
PIXEL_COLUMN = re.compile(r"(?P<prefix>[^\d]+?)(?P<index>\d+)")

# Paths in the spec that a draft fills in; Draft.inferred holds those it inferred rather than guessed.
FIELDS = (
    "kind",
    "files",
    "metric",
    "classes",
    "train.images",
    "train.labels",
    "test.images",
    "images",
    "submission.sample",
    "submission.predict",
    "submission.positive",
)


# -- evidence ----------------------------------------------------------------------------


@dataclass(frozen=True)
class CsvHead:
    """A CSV's header and the rows read (all of them when ``complete``)."""

    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    complete: bool

    @classmethod
    def parse(cls, data: bytes, complete: bool) -> CsvHead:
        text = data.decode("utf-8-sig", errors="replace")
        if not complete:
            text = text[: text.rfind("\n") + 1]  # the last line may be cut
        rows = [tuple(cell.strip() for cell in row) for row in csv.reader(io.StringIO(text)) if row]
        return cls(rows[0] if rows else (), tuple(rows[1:]), complete)

    def column(self, name: str) -> list[str]:
        index = self.header.index(name)
        return [row[index] for row in self.rows if len(row) > index]


@dataclass(frozen=True)
class Evidence:
    """Everything a draft is inferred from, as Kaggle gave it."""

    slug: str
    title: str
    evaluation_metric: str
    kernels_only: bool
    files: dict[str, int]  # Kaggle's listing: name -> bytes
    csvs: dict[str, CsvHead] = field(default_factory=dict)
    members: dict[str, tuple[str, ...]] = field(default_factory=dict)  # archive or NAME/ folder -> member paths
    unread: dict[str, str] = field(default_factory=dict)  # file -> why it could not be read


def gather(slug: str, api: KaggleApi | None = None) -> Evidence:
    """Ask Kaggle what a draft is inferred from (see the module's docstring); nothing large is downloaded."""
    from kagglekit.kaggle import kaggle_api

    api = api or kaggle_api.authenticate()
    metadata = kaggle_api.competition_metadata(slug, api)
    files = kaggle_api.list_files(slug, api)
    csvs: dict[str, CsvHead] = {}
    members: dict[str, tuple[str, ...]] = {}
    unread: dict[str, str] = {}
    for name, size in files.items():
        try:
            if name.lower().endswith(".csv") and "/" not in name:  # a folder tree's CSVs are data, not labels
                limit = FULL_CSV_BYTES if size <= FULL_CSV_BYTES else CSV_HEAD_BYTES
                csvs[name] = CsvHead.parse(*kaggle_api.read_file_start(slug, name, limit, api))
            elif "/" not in name and packing_of(name) in ("7z", "zip"):
                members[name] = tuple(kaggle_api.archive_members(slug, name, api=api))
        except KagglekitError as error:
            if not isinstance(error, DataError):
                raise
            unread[name] = str(error)
    for name in files:
        if "/" in name:
            folder = name.split("/", 1)[0] + "/"
            members[folder] = members.get(folder, ()) + (name,)
    return Evidence(
        slug, metadata.title, metadata.evaluation_metric, metadata.kernels_only, files, csvs, members, unread
    )


# -- the draft -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Draft:
    text: str  # the TOML, comments and TODOs included
    spec: CompetitionSpec  # what the loader reads from ``text``
    inferred: frozenset[str]  # FIELDS inferred from Kaggle's answers (the rest are placeholders)
    todos: tuple[str, ...]  # what the reviewer must check, one line each


def draft(slug: str, api: KaggleApi | None = None) -> Draft:
    """A reviewed-to-be spec for ``slug`` from what Kaggle says about it."""
    return infer(gather(slug, api))


class _Drafting:
    """The values, their comments, and which were inferred, as inference proceeds."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}
        self.notes: dict[str, str] = {}
        self.todos: dict[str, str] = {}
        self.open: dict[str, str] = {}  # optional keys left out, with what to check (rendered as comments)

    def infer(self, key: str, value: Any, note: str = "") -> None:
        self.values[key] = value
        if note:
            self.notes[key] = note

    def guess(self, key: str, value: Any, todo: str) -> None:
        self.values[key] = value
        self.todos[key] = todo


def infer(evidence: Evidence) -> Draft:
    """Spec TOML from ``evidence``: inferred values plainly, placeholders marked TODO; it always loads."""
    d = _Drafting()
    files = _file_entries(evidence)
    sample_name = _sample_name(evidence, files)
    sample = evidence.csvs.get(sample_name)
    if sample is None or len(sample.header) < 2:
        why = evidence.unread.get(sample_name, "it has fewer than two columns")
        raise DataError(
            f"cannot read {evidence.slug}'s sample submission {sample_name} ({why}); a spec takes the "
            "submission's columns and ids from it, so write one by hand"
        )
    id_column, outputs = sample.header[0], sample.header[1:]
    sample_ids = sample.column(id_column)

    d.infer(
        "kind",
        "code" if evidence.kernels_only else "file",
        "Kaggle: submissions come from a notebook" if evidence.kernels_only else "",
    )
    predict = _submission_predict(d, sample, outputs)
    _metric(d, evidence, predict)
    predict = METRICS[d.values["metric"]].predicts  # the metric decides what is scored
    if predict != d.values["submission.predict"]:
        d.guess(
            "submission.predict",
            predict,
            f"the sample's values suggest {d.values['submission.predict']!r}, "
            f"but {d.values['metric']} scores {predict!r}",
        )
    d.infer("submission.sample", sample_name)

    pixel_csvs = {n: h for n, h in evidence.csvs.items() if n != sample_name and _pixel_prefix(h.header)}
    test_form = _test_images(d, evidence, sample, sample_ids, pixel_csvs)
    label_values = _train_images_and_labels(d, evidence, sample, pixel_csvs, test_form)
    _classes(d, label_values, predict)
    _positive(d, predict, label_values)
    _image_policy(d)

    used = [d.values[k]["file"] for k in ("train.images", "test.images", "train.labels") if "file" in d.values[k]]
    ordered = list(dict.fromkeys([*used, sample_name, *files]))
    d.infer("files", ordered)
    text = _render(evidence, d)
    spec = parse_spec(text, evidence.slug, f"the draft for {evidence.slug}")
    inferred = frozenset(k for k in FIELDS if k in d.values and k not in d.todos)
    return Draft(text, spec, inferred, tuple(f"{k}: {t}" for k, t in {**d.todos, **d.open}.items()))


# -- inference, step by step ------------------------------------------------------------------


def _file_entries(evidence: Evidence) -> list[str]:
    """Kaggle's files, a folder tree (listed file by file) as one NAME/ entry."""
    return list(dict.fromkeys(n.split("/", 1)[0] + "/" if "/" in n else n for n in evidence.files))


def _sample_name(evidence: Evidence, files: list[str]) -> str:
    csvs = [n for n in files if n.lower().endswith(".csv")]
    for word in ("sample", "submission"):
        found = [n for n in csvs if word in n.lower().replace("_", "")]
        if found:
            return found[0]
    raise DataError(
        f"{evidence.slug} lists no sample submission ({', '.join(files)}); a spec takes the "
        "submission's columns and ids from it, so write one by hand"
    )


def _is_probability(value: str) -> bool:
    try:
        number = float(value)
    except ValueError:
        return False
    return 0.0 <= number <= 1.0


def _submission_predict(d: _Drafting, sample: CsvHead, outputs: tuple[str, ...]) -> str:
    values = [v for row in sample.rows for v in row[1:]]
    probabilities = bool(values) and all(_is_probability(v) for v in values)
    if len(outputs) > 1:
        if probabilities:
            d.infer("submission.predict", PROBABILITIES, f"{len(outputs)} probability columns, one per class")
            return PROBABILITIES
        d.guess(
            "submission.predict",
            LABEL,
            f"the sample has {len(outputs)} prediction columns that are not all "
            "probabilities; kagglekit writes one label or probabilities",
        )
        return LABEL
    fractional = any(re.search(r"[.eE]", v) for v in values)
    if probabilities and fractional:
        d.infer(
            "submission.predict",
            PROBABILITY,
            f"the sample's {outputs[0]} holds probabilities (e.g. {next(v for v in values if re.search(r'[.eE]', v))})",
        )
        return PROBABILITY
    d.infer("submission.predict", LABEL, f"the sample's {outputs[0]} holds labels (e.g. {values[0]})" if values else "")
    return LABEL


def _metric(d: _Drafting, evidence: Evidence, predict: str) -> None:
    said = evidence.evaluation_metric
    mapped = KAGGLE_METRICS.get(re.sub(r"[^a-z0-9]", "", said.lower()))
    if mapped == "logloss":
        mapped = "multiclass-log-loss" if predict == PROBABILITIES else "binary-log-loss"
    if mapped is None:
        guess = BY_FORMAT[predict]
        what = f"Kaggle calls its metric {said!r}, which kagglekit does not know" if said else "Kaggle names no metric"
        d.guess("metric", guess, f"{what}: pick one of {', '.join(METRICS)}")
        return
    d.infer("metric", mapped, f"Kaggle: {said!r}")


def _pixel_prefix(header: tuple[str, ...]) -> str | None:
    """The prefix of columns <prefix>0..<prefix>N-1 (N >= 4, numbered without gaps), or None."""
    found: dict[str, list[int]] = {}
    for column in header:
        match = PIXEL_COLUMN.fullmatch(column)
        if match:
            found.setdefault(match["prefix"], []).append(int(match["index"]))
    best = max(found.items(), key=lambda item: len(item[1]), default=None)
    if best is None or len(best[1]) < 4 or sorted(best[1]) != list(range(len(best[1]))):
        return None
    return best[0]


def _pixel_source(d: _Drafting, key: str, name: str, head: CsvHead, id_column: str | None) -> dict[str, Any]:
    prefix = _pixel_prefix(head.header)
    count = sum(1 for c in head.header if (m := PIXEL_COLUMN.fullmatch(c)) and m["prefix"] == prefix)
    source: dict[str, Any] = {"file": name, "pixels": prefix}
    side = math.isqrt(count)
    colour_side = math.isqrt(count // 3) if count % 3 == 0 else 0
    if side * side == count:
        source["shape"] = [side, side, 1]
        note = f"{count} pixel columns: a {side}x{side} grey square, row-major"
    elif colour_side * colour_side * 3 == count:
        source["shape"] = [colour_side, colour_side, 3]
        note = f"{count} pixel columns: a {colour_side}x{colour_side} RGB square, row-major"
    else:
        source["shape"] = [count, 1, 1]
        d.guess(
            key,
            _with_id(source, id_column),
            f"{count} pixel columns are no square: set shape = [height, width, channels] from the Data page",
        )
        return d.values[key]
    d.infer(key, _with_id(source, id_column), note)
    return d.values[key]


def _with_id(source: dict[str, Any], id_column: str | None) -> dict[str, Any]:
    return {**source, "id": id_column} if id_column else source


def _pick(names: Iterable[str], word: str) -> str | None:
    names = list(names)
    return next((n for n in names if word in n.lower()), names[0] if len(names) == 1 else None)


def _test_images(
    d: _Drafting, evidence: Evidence, sample: CsvHead, sample_ids: list[str], pixel_csvs: dict[str, CsvHead]
) -> str | None:
    """test.images; returns how ids are read off member names ("stem" or "name"), for the training images."""
    id_column = sample.header[0]
    test_csvs = {n: h for n, h in pixel_csvs.items() if _non_pixel(h.header) <= {id_column}}
    name = _pick(test_csvs, "test")
    if name is not None:
        head = test_csvs[name]
        has_id = id_column in head.header
        source = _pixel_source(d, "test.images", name, head, id_column if has_id else None)
        if not has_id:
            rows = [str(i) for i in range(1, len(sample_ids) + 1)]
            if sample_ids != rows:
                d.guess(
                    "test.images",
                    source,
                    f"{name} has no {id_column} column, but the sample's ids are not "
                    "the row numbers 1, 2, ...: say which column holds the id",
                )
            elif "test.images" not in d.todos:
                d.notes["test.images"] += f"; ids: row numbers from 1 (the sample's {id_column})"
        return None
    archives = {n: m for n, m in evidence.members.items() if "test" in n.lower()}
    name = _pick(archives, "test")
    if name is None:
        d.guess(
            "test.images",
            {"file": _placeholder_file(evidence, "test"), "members": r"test/(?P<id>[^/]+)\.png"},
            _unread_todo(evidence, "test", "the test images"),
        )
        return None
    pattern, form, note = _member_pattern(archives[name], set(sample_ids), sample.complete, labels=False)
    if pattern is None:
        d.guess(
            "test.images",
            {"file": name, "members": r"test/(?P<id>[^/]+)\.png"},
            f"the member names of {name} do not match the sample's ids ({note}): write the pattern",
        )
        return None
    d.infer("test.images", {"file": name, "members": pattern}, note)
    return form


def _non_pixel(header: tuple[str, ...]) -> set[str]:
    prefix = _pixel_prefix(header)
    return {c for c in header if not ((m := PIXEL_COLUMN.fullmatch(c)) and m["prefix"] == prefix)}


def _train_images_and_labels(
    d: _Drafting, evidence: Evidence, sample: CsvHead, pixel_csvs: dict[str, CsvHead], test_form: str | None
) -> list[str] | None:
    """train.images and train.labels; returns every training label when all were read, else None."""
    id_column, outputs = sample.header[0], sample.header[1:]
    train_csvs = {n: h for n, h in pixel_csvs.items() if _non_pixel(h.header) - {id_column}}
    name = _pick(train_csvs, "train")
    if name is not None:  # a training pixel CSV: its non-pixel column is the label
        head = train_csvs[name]
        others = sorted(_non_pixel(head.header) - {id_column})
        has_id = id_column in head.header
        _pixel_source(d, "train.images", name, head, id_column if has_id else None)
        label = next((c for c in others if c in outputs), others[0])
        labels = {"file": name, "column": label, **({"id": id_column} if has_id else {})}
        if len(others) == 1 or label in outputs:
            d.infer("train.labels", labels, f"the column of {name} that holds no pixels")
        else:
            d.guess(
                "train.labels",
                labels,
                f"{name} has {len(others)} columns besides pixels ({', '.join(others)}): which is the label?",
            )
        return head.column(label) if head.complete else None

    label_files = {
        n: h
        for n, h in evidence.csvs.items()
        if n != d.values["submission.sample"] and n not in pixel_csvs and id_column in h.header and len(h.header) >= 2
    }
    label_name = _pick(label_files, "label") or _pick(label_files, "train")
    label_values: list[str] | None = None
    label_ids: set[str] | None = None
    complete = False
    if label_name is not None:
        head = label_files[label_name]
        others = [c for c in head.header if c != id_column]
        label = next((c for c in others if c in outputs), others[0])
        labels = {"file": label_name, "id": id_column, "column": label}
        if len(others) == 1 or label in outputs:
            d.infer("train.labels", labels, f"{label_name} has the sample's id column, {id_column}")
        else:
            d.guess(
                "train.labels",
                labels,
                f"{label_name} has {len(others)} columns besides {id_column} "
                f"({', '.join(others)}): which is the label?",
            )
        label_values = head.column(label) if head.complete else None
        label_ids = set(head.column(id_column))
        complete = head.complete

    archives = {n: m for n, m in evidence.members.items() if "train" in n.lower()}
    name = _pick(archives, "train")
    if name is None:
        d.guess(
            "train.images",
            {"file": _placeholder_file(evidence, "train"), "members": r"train/(?P<id>[^/]+)\.png"},
            _unread_todo(evidence, "train", "the training images"),
        )
        if label_name is None:
            d.guess(
                "train.labels",
                {"file": d.values["submission.sample"], "id": id_column, "column": outputs[0]},
                "no label file found: name the CSV and its id and label columns",
            )
        return label_values
    pattern, form, note = _member_pattern(
        archives[name], label_ids, label_name is not None and complete, labels=label_name is None, prefer=test_form
    )
    if pattern is None:
        d.guess(
            "train.images",
            {"file": name, "members": r"train/(?P<id>[^/]+)\.png"},
            f"the member names of {name} do not match {label_name or 'a label pattern'} ({note}): write the pattern",
        )
        if label_name is None:
            d.guess(
                "train.labels",
                {"file": d.values["submission.sample"], "id": id_column, "column": outputs[0]},
                "no label file found: name the CSV and its id and label columns, or a group of the pattern",
            )
        return label_values
    d.infer("train.images", {"file": name, "members": pattern}, note)
    if label_name is None:
        d.infer("train.labels", {"group": "label"}, "the label is part of each image's path")
        regex = re.compile(pattern)
        label_values = [m["label"] for p in archives[name] if (m := regex.fullmatch(p))]
    return label_values


def _member_pattern(
    paths: Iterable[str], ids: set[str] | None, ids_complete: bool, *, labels: bool, prefer: str | None = None
) -> tuple[str | None, str | None, str]:
    """(regex, id form "stem"|"name", note) for the image members among ``paths``; (None, None, why) if none fits.

    ``ids``: the ids the members must carry (all of them when ``ids_complete``,
    else some). ``labels``: the training labels come from the path (a folder
    above the image, or the first part of a dotted file name).
    """
    images = [p for p in paths if PurePosixPath(p).suffix.lower() in IMAGE_SUFFIXES]
    if not images:
        return None, None, "no image files among them"
    suffixes = Counter(PurePosixPath(p).suffix for p in images)
    if len(suffixes) > 1:
        return None, None, f"images of several kinds ({', '.join(sorted(suffixes))})"
    suffix = next(iter(suffixes))
    parents = {str(PurePosixPath(p).parent) for p in images}
    parents = {"" if p == "." else p for p in parents}
    stems = [PurePosixPath(p).stem for p in images]
    names = [PurePosixPath(p).name for p in images]

    def id_regex(form: str) -> str:
        body = r"\d+" if all(s.isdigit() for s in stems) else r"[^/]+"
        return f"(?P<id>{body}){re.escape(suffix)}" if form == "stem" else f"(?P<id>{body}{re.escape(suffix)})"

    def form_for(values_by_form: dict[str, list[str]]) -> str | None:
        if ids is None:
            return prefer or "stem"
        for form, values in values_by_form.items():
            present = set(values)
            if (ids == present) if ids_complete else (ids <= present):
                return form
        return None

    if len(parents) == 1:
        parent = next(iter(parents))
        prefix = re.escape(parent + "/") if parent else ""
        if labels:
            parts = [s.split(".", 1) for s in stems]
            words = {p[0] for p in parts if len(p) == 2}
            if all(len(p) == 2 for p in parts) and 2 <= len(words) <= min(MAX_NAME_LABELS, len(stems) // 2):
                tail = r"\d+" if all(p[1].isdigit() for p in parts) else r"[^/]+"
                pattern = f"{prefix}(?P<id>(?P<label>[^./]+)\\.{tail}){re.escape(suffix)}"
                return (
                    pattern,
                    "stem",
                    f"{len(images)} images named <label>.<n>{suffix}: {', '.join(sorted(words)[:5])}",
                )
            return None, None, "one folder, and no label in the file names"
        form = form_for({"stem": stems, "name": names})
        if form is None:
            return None, None, f"{len(images)} images under {parent or 'the top'}, ids not their names"
        what = "file names without extension" if form == "stem" else "file names"
        return f"{prefix}{id_regex(form)}", form, f"{len(images)} images, ids: their {what}"

    grandparents = {str(PurePosixPath(p).parent) for p in parents}
    if labels and len(grandparents) == 1 and all(p.count("/") == next(iter(parents)).count("/") for p in parents):
        top = next(iter(grandparents))
        prefix = "" if top == "." else re.escape(top + "/")
        form = prefer or "stem"
        classes = sorted(PurePosixPath(p).name for p in parents)
        return (
            f"{prefix}(?P<label>[^/]+)/{id_regex(form)}",
            form,
            f"{len(images)} images in {len(classes)} folders, one per label: {', '.join(classes[:5])}",
        )
    return None, None, f"images in {len(parents)} folders"


def _placeholder_file(evidence: Evidence, word: str) -> str:
    archives = [n for n in _file_entries(evidence) if packing_of(n) in ("7z", "zip", FOLDER)]
    return next((n for n in archives if word in n.lower()), archives[0] if archives else "TODO.zip")


def _unread_todo(evidence: Evidence, word: str, what: str) -> str:
    unread = {n: why for n, why in evidence.unread.items() if word in n.lower()}
    if unread:
        name, why = next(iter(unread.items()))
        return f"{name} could not be listed ({why}): write the pattern of {what}"
    return f"found no archive or folder of {what}: name the file and write the pattern"


def _classes(d: _Drafting, label_values: list[str] | None, predict: str) -> None:
    if predict == PROBABILITIES:
        return  # the sample's columns are the classes
    if not label_values:
        d.open["classes"] = (
            "the labels were not all read (a large label file): if the class list is fixed, "
            'list it here as classes = ["...", ...] (a label outside it is then a typo)'
        )
        return
    seen = sorted(set(label_values), key=_natural)
    if len(seen) < 2 or len(seen) > len(label_values) // 2:
        return
    d.infer(
        "classes",
        seen,
        f"the {len(seen)} labels of the training data; keep them only if the class list "
        "is fixed (a label outside it is then a typo), else delete this line",
    )


def _positive(d: _Drafting, predict: str, label_values: list[str] | None) -> None:
    if predict != PROBABILITY:
        return
    seen = sorted(set(label_values or ()), key=_natural)
    if seen == ["0", "1"]:
        d.infer("submission.positive", "1", "labels are 0 and 1: the column is the probability of 1")
        return
    guess = seen[-1] if len(seen) == 2 else "1"
    d.guess(
        "submission.positive", guess, "which class is the sample's column the probability of? (see the Evaluation page)"
    )


def _image_policy(d: _Drafting) -> None:
    sources = [d.values[k] for k in ("train.images", "test.images")]
    shapes = [tuple(s["shape"]) for s in sources if "shape" in s]
    if len(shapes) == 2 and shapes[0] == shapes[1] and "train.images" not in d.todos and "test.images" not in d.todos:
        d.infer("images", {"size": "native", "channels": shapes[0][2]}, "pixel rows are all one size")
        return
    d.guess(
        "images",
        {"size": "native", "channels": 3},
        'image sizes are not read: keep "native" only if every '
        'image has the same size, else size = [height, width] and resize = "squeeze" or '
        '"shorter-side-centre-crop"; channels = 1 for grey',
    )


def _natural(value: str) -> tuple[int, int, str]:
    return (0, int(value), "") if value.isdigit() else (1, 0, value)


# -- rendering ---------------------------------------------------------------------------------


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        if "'" not in value and "\n" not in value and "\\" in value:
            return f"'{value}'"  # a literal string: regexes stay readable
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {value!r} as TOML")


def _render(evidence: Evidence, d: _Drafting) -> str:
    lines = [
        f'# {evidence.slug}: "{evidence.title}"',
        "# A draft by `kagglekit competitions draft` from what Kaggle says: the file list, the sample submission's",
        "# header and rows, the label file's header, the archives' member names and the evaluation metric",
        f"# ({evidence.evaluation_metric or 'none given'}). Check it against the competition's Data and Evaluation pages:",
        f"#   https://www.kaggle.com/competitions/{evidence.slug}/data",
        f"#   https://www.kaggle.com/competitions/{evidence.slug}/overview/evaluation",
        f"# Every line marked TODO is a placeholder. Then save it as {USER_DIR / (evidence.slug + '.toml')}.",
    ]
    for name, why in evidence.unread.items():
        lines.extend(_comment(f"Could not read {name}: {why}"))

    def entry(key: str, name: str | None = None) -> None:
        if key not in d.values:
            return
        todo, note = d.todos.get(key), d.notes.get(key)
        if todo:
            lines.extend(_comment(todo, "TODO: "))
        line = f"{name or key.rsplit('.', 1)[-1]} = {_toml(d.values[key])}"
        if note and len(line) + len(note) + 4 > COMMENT_WIDTH:
            lines.extend([*_comment(note), line])
        else:
            lines.append(f"{line}  # {note}" if note else line)

    entry("kind")
    entry("files")
    entry("metric")
    entry("classes")
    for todo in d.open.values():
        lines.extend(_comment(todo, "TODO: "))
    lines += ["", "[train]"]
    entry("train.images")
    entry("train.labels")
    lines += ["", "[test]"]
    entry("test.images")
    lines += ["", "[images]"]
    policy = d.values["images"]
    if "images" in d.todos:
        lines.extend(_comment(d.todos["images"], "TODO: "))
    elif "images" in d.notes:
        lines.extend(_comment(d.notes["images"]))
    lines += [f"{k} = {_toml(v)}" for k, v in policy.items()]
    lines += ["", "[submission]"]
    entry("submission.sample")
    entry("submission.predict")
    entry("submission.positive")
    return "\n".join(lines) + "\n"


def _comment(text: str, lead: str = "") -> list[str]:
    """``text`` as TOML comment lines, wrapped; continuation lines indented under ``lead``."""
    import textwrap

    wrapped = textwrap.wrap(text, COMMENT_WIDTH - 2 - len(lead), break_on_hyphens=False, break_long_words=False)
    return [f"# {lead}{wrapped[0]}", *(f"# {' ' * len(lead)}{line}" for line in wrapped[1:])]


# -- a slug without a spec ------------------------------------------------------------------------


def describe_unknown(slug: str, api: KaggleApi | None = None) -> str:
    """For `fetch` of a slug kagglekit has no spec for: Kaggle's files, and what a spec must say (several lines)."""
    from kagglekit.kaggle import kaggle_api

    files = kaggle_api.list_files(slug, api)
    shown = _file_entries(Evidence(slug, slug, "", False, files))
    inside = {
        entry: [size for name, size in files.items() if name == entry or name.startswith(entry)] for entry in shown
    }
    width = max((len(n) for n in shown), default=0)
    listing = [
        f"  {n:<{width}}  {_size(sum(inside[n]))}"
        + (f"  (a folder tree of {len(inside[n]):,} files)" if n.endswith("/") else "")
        for n in shown
    ]
    return "\n".join(
        [
            f"kagglekit has no spec for {slug}; Kaggle lists {len(files)} file{'s' if len(files) != 1 else ''}:",
            *listing,
            "A spec says what those files cannot: which of them to fetch and how each is packed, where the training and",
            "test images are (archive members matching a pattern, a folder tree, or a CSV's pixel columns and their",
            "shape), where the training labels come from (CSV columns, the file name, the folder), the class list when",
            "it is fixed, the image size policy, what a submission row predicts (a label, one class's probability, or",
            "one probability per class), the metric, and whether it is a code competition. Draft one from what Kaggle",
            f"says, then check its TODOs:\n  {draft_command(slug)}",
        ]
    )


def _size(size: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:,} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1000
    raise AssertionError("unreachable")
