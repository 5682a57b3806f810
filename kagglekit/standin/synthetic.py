"""A small competition in a spec's exact format, made on the spot.

Tests and ``make demo`` need a competition without an account or a network,
and one a short training run can learn, so that a score "far above chance"
means the pipeline works. Each class gets its own colour and stripe direction,
drawn at a random phase under heavy noise: trivial for a CNN, impossible to
score on without reading the pixels.

:func:`make_from_spec` writes every file a :class:`~kagglekit.competitions.CompetitionSpec`
lists, as Kaggle would serve it: images as members of a 7z or a zip, or files
of a folder tree, named so that the spec's ``members`` pattern gives back their
id (and, for labels in paths, their label); or rows of a pixel CSV; PNG or
JPEG by the member's extension; all one size under ``size = "native"`` (the
pixel CSV's shape, else 32x32), else of varying sizes around the spec's size;
the labels CSV with the spec's id and label columns; the sample submission.
:func:`make_competition` is it applied to cifar-10's spec (byte for byte what it
wrote before specs), :func:`make_digit_recognizer` to digit-recognizer's.

What the spec leaves to the files, the generator takes from :data:`SAMPLE_FORMATS`
(Kaggle's real headers for the shipped specs) or its defaults: the sample
submission's id column (the labels CSV's id column, else ``id``), its value
column (the labels' column, else ``label``) and what it is filled with (the
first class; 0.5 for a probability; 1/classes for each class's probability).
Test ids are 1..n_test in the sample's order wherever the pattern takes digits.

``solution.csv``, the answers for the stand-in server (never served):

    <the sample's id column>,<the sample's value column>
    1,cat
    ...

one row per test image in the sample submission's id order, holding the true
class name: for ``predict = "label"`` the label a submission must give; for
``"probability"`` (the value column holds one class's probability) the class
the image is, which the server compares with ``positive``; for
``"probabilities"`` (one column per class) the single column is named
``label``. No ``Usage`` column: the server draws the public half of the ids
itself (seeded, ``KaggleServer.add_competition(public_fraction=0.5)``), as it
did before specs.
"""

from __future__ import annotations

import colorsys
import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
import py7zr
from PIL import Image

try:  # Python 3.11+
    from re import _constants as sre_constants  # type: ignore[attr-defined]
    from re import _parser as sre_parse  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - Python 3.10
    import sre_constants  # type: ignore[no-redef]
    import sre_parse  # type: ignore[no-redef]


from kagglekit.competitions import (
    CompetitionSpec,
    CsvLabels,
    GroupLabels,
    MemberImages,
    PixelImages,
    get_spec,
)
from kagglekit.competitions.metrics import LABEL, PROBABILITIES, PROBABILITY

# The opcodes of re's own parse tree that member_name reads (re's parser is private, but stable since 3.5).
(
    ANY,
    AT,
    BRANCH,
    CATEGORY,
    CATEGORY_DIGIT,
    CATEGORY_NOT_DIGIT,
    CATEGORY_NOT_SPACE,
    CATEGORY_NOT_WORD,
    CATEGORY_SPACE,
    CATEGORY_WORD,
    IN,
    LITERAL,
    MAX_REPEAT,
    MIN_REPEAT,
    NEGATE,
    NOT_LITERAL,
    RANGE,
    SUBPATTERN,
) = (
    getattr(sre_constants, name)
    for name in "ANY AT BRANCH CATEGORY CATEGORY_DIGIT CATEGORY_NOT_DIGIT CATEGORY_NOT_SPACE CATEGORY_NOT_WORD CATEGORY_SPACE CATEGORY_WORD IN LITERAL MAX_REPEAT MIN_REPEAT NEGATE NOT_LITERAL RANGE SUBPATTERN".split()
)

IMAGE_SIZE = 32
NOISE_SIGMA = 48.0  # on 0..255: enough that one pixel does not give the class away
DEFAULT_CLASSES = ("alpha", "beta", "gamma")  # when neither the spec nor its pattern names the classes
CIFAR10_CLASSES = tuple(get_spec("cifar-10").classes or ())
DIGIT_CLASSES = tuple(str(digit) for digit in range(10))
DIGIT_SIZE = 28

# Kaggle's sample submissions, which a spec does not describe: (id column, value column, fill value)
SAMPLE_FORMATS: dict[str, tuple[str, str, str]] = {
    "cifar-10": ("id", "label", "cat"),
    "digit-recognizer": ("ImageId", "Label", "0"),
}


@dataclass(frozen=True)
class CompetitionFiles:
    """The files a spec lists (by name, under ``directory``), plus the hidden answers for the local server."""

    directory: Path
    spec: CompetitionSpec
    files: dict[str, Path]
    sample_submission: Path
    solution_csv: Path
    classes: tuple[str, ...]
    test_ids: tuple[str, ...] = field(default=())

    @property
    def train_archive(self) -> Path:
        """The file the training images are in (an archive, a folder tree or a pixel CSV)."""
        return self.files[self.spec.train_images.file]

    @property
    def test_archive(self) -> Path:
        return self.files[self.spec.test_images.file]

    train_csv = train_archive
    test_csv = test_archive

    @property
    def train_labels(self) -> Path:
        """The labels CSV (for labels in paths there is none: the training images' file)."""
        labels = self.spec.train_labels
        return self.files[labels.file] if isinstance(labels, CsvLabels) else self.train_archive


DigitRecognizerFiles = CompetitionFiles


# -- images ----------------------------------------------------------------------------


def class_images(
    labels: np.ndarray,
    rng: np.random.Generator,
    size: int | tuple[int, int] = IMAGE_SIZE,
    n_classes: int = 10,
    channels: int = 3,
) -> np.ndarray:
    """uint8 images (N, height, width, channels) whose colour and stripe angle encode the label.

    Grey images (``channels`` 1) are the colour ones averaged, so the stripe angle still gives the class away.
    """
    height, width = (size, size) if isinstance(size, int) else size
    palette = np.stack([_hue_to_rgb(k / n_classes) for k in range(n_classes)])  # (n_classes, 3) in 0..1
    angles = np.pi * np.arange(n_classes) / n_classes
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    direction = np.cos(angles[labels])[:, None, None] * xx + np.sin(angles[labels])[:, None, None] * yy
    phase = rng.uniform(0, 2 * np.pi, size=(len(labels), 1, 1))
    stripes = 0.5 + 0.5 * np.sin(direction * (2 * np.pi / 8) + phase)  # (N, height, width)
    colour = palette[labels][:, None, None, :] * 200 + 25
    images = stripes[..., None] * colour + rng.normal(0, NOISE_SIGMA, size=(len(labels), height, width, 3))
    images = np.clip(images, 0, 255).astype(np.uint8)
    if channels == 1:
        return images.mean(axis=-1).round().astype(np.uint8)[..., None]
    return images


def png_bytes(image: np.ndarray) -> bytes:
    return encoded(image, ".png")


def encoded(image: np.ndarray, suffix: str) -> bytes:
    """The image as a file of that extension: JPEG for .jpg/.jpeg, else PNG."""
    buffer = io.BytesIO()
    picture = Image.fromarray(image[..., 0] if image.ndim == 3 and image.shape[-1] == 1 else image)
    if suffix.lower() in (".jpg", ".jpeg"):
        picture.save(buffer, format="JPEG", quality=92)
    else:
        picture.save(buffer, format="PNG")
    return buffer.getvalue()


def write_png_archive(archive: Path, folder: str, ids: np.ndarray, images: np.ndarray) -> None:
    """A solid 7z of ``folder/<id>.png``, laid out as Kaggle's train.7z and test.7z are."""
    write_members(archive, {f"{folder}/{i}.png": png_bytes(image) for i, image in zip(ids, images)})


def write_members(target: Path, members: dict[str, bytes]) -> None:
    """Members into a .7z (solid, in order), a .zip, or a folder tree whose files sit at their paths under
    ``target``'s parent (a folder tree ``train/`` holds members ``train/...``)."""
    suffix = target.suffix.lower()
    if suffix == ".7z":
        with py7zr.SevenZipFile(target, "w") as seven_zip:
            for name, data in members.items():
                seven_zip.writestr(data, name)
    elif suffix == ".zip":
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, data in members.items():
                archive.writestr(zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0)), data)
    else:
        for name, data in members.items():
            path = target.parent / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)


# -- member names from the spec's pattern ---------------------------------------------


class PatternError(ValueError):
    """The generator cannot write a path the spec's pattern matches (lookarounds, backreferences...)."""


def member_name(pattern: str, values: dict[str, str], serial: int) -> str:
    """A path ``pattern`` matches in full, its named groups holding ``values`` where given; digit runs
    that are not a given group spell ``serial`` (so names differ), other free characters are letters."""
    return _sample(sre_parse.parse(pattern), values, serial, _group_names(pattern))


def _group_names(pattern: str) -> dict[int, str]:
    return {number: name for name, number in re.compile(pattern).groupindex.items()}


def _sample(parsed: Any, values: dict[str, str], serial: int, names: dict[int, str]) -> str:
    out = []
    for op, argument in parsed:
        if op == LITERAL:
            out.append(chr(argument))
        elif op == AT:
            continue
        elif op == SUBPATTERN:
            group, _, _, inner = argument
            name = names.get(group)
            out.append(values[name] if name in values else _sample(inner, values, serial, names))
        elif op == BRANCH:
            out.append(_sample(argument[1][0], values, serial, names))
        elif op in (MAX_REPEAT, MIN_REPEAT):
            low, high, inner = argument
            out.append(_repeat(low, high, inner, values, serial, names))
        elif op in (IN, ANY, NOT_LITERAL):
            out.append(_one_char(op, argument, prefer_digit=False))
        else:
            raise PatternError(f"cannot write a name for a pattern using {op}")
    return "".join(out)


def _repeat(low: int, high: int, inner: Any, values: dict[str, str], serial: int, names: dict[int, str]) -> str:
    items = list(inner)
    if len(items) == 1 and items[0][0] in (IN, ANY, NOT_LITERAL):
        op, argument = items[0]
        if _allows(op, argument, "1") and _allows(op, argument, "0"):
            digits = str(serial)
            if low <= len(digits) <= high:
                return digits
        return _one_char(op, argument, prefer_digit=False) * max(low, 1)
    return _sample(inner, values, serial, names) * max(low, 1)


def _one_char(op: Any, argument: Any, prefer_digit: bool) -> str:
    candidates = "0123456789abcdefghijklmnopqrstuvwxyz" if prefer_digit else "abcdefghijklmnopqrstuvwxyz0123456789_-"
    for char in candidates:
        if _allows(op, argument, char):
            return char
    raise PatternError("no letter or digit fits a character class of the pattern")


def _allows(op: Any, argument: Any, char: str) -> bool:
    if op == ANY:
        return char != "\n"
    if op == NOT_LITERAL:
        return ord(char) != argument
    negate, found = False, False
    for kind, value in argument:
        if kind == NEGATE:
            negate = True
        elif kind == LITERAL:
            found |= ord(char) == value
        elif kind == RANGE:
            found |= value[0] <= ord(char) <= value[1]
        elif kind == CATEGORY:
            found |= {
                CATEGORY_DIGIT: char.isdigit(),
                CATEGORY_NOT_DIGIT: not char.isdigit(),
                CATEGORY_WORD: char.isalnum() or char == "_",
                CATEGORY_NOT_WORD: not (char.isalnum() or char == "_"),
                CATEGORY_SPACE: char.isspace(),
                CATEGORY_NOT_SPACE: not char.isspace(),
            }.get(value, False)
    return found != negate


def branch_literals(pattern: str, group: str) -> tuple[str, ...] | None:
    """The alternatives of a named group that is a plain alternation of words, e.g. ``(?P<label>cat|dog)``."""
    number = re.compile(pattern).groupindex[group]

    def find(parsed: Any) -> Any:
        for op, argument in parsed:
            if op == SUBPATTERN:
                if argument[0] == number:
                    return argument[3]
                found = find(argument[3])
                if found is not None:
                    return found
        return None

    inner = find(sre_parse.parse(pattern))
    if inner is None:
        return None
    items = list(inner)
    if len(items) == 1 and items[0][0] == BRANCH:
        words = []
        for alternative in items[0][1][1]:
            if not all(op == LITERAL for op, _ in alternative):
                return None
            words.append("".join(chr(c) for _, c in alternative))
        return tuple(words)
    if items and all(op == LITERAL for op, _ in items):
        return ("".join(chr(c) for _, c in items),)
    if len(items) == 1 and items[0][0] == IN and all(kind == LITERAL for kind, _ in items[0][1]):
        return tuple(chr(c) for _, c in items[0][1])  # [ab]: one letter each
    return None


@dataclass(frozen=True)
class Named:
    name: str
    id: str


def member_names(source: MemberImages, labels: list[str | None], group: str | None, split: str) -> list[Named]:
    """One path per image that ``source`` matches, giving back id 1..N (or a unique one the pattern allows)
    and, with ``group``, the image's label."""
    named = []
    for serial, label in enumerate(labels, start=1):
        values = {group: label} if group and label is not None else {}
        name = None
        for attempt in ({**values, "id": str(serial)}, values):
            try:
                candidate = member_name(source.members, attempt, serial)
            except PatternError:
                continue
            match = source.match(candidate)
            if match and (not group or match.group(group) == label) and match.group("id"):
                name = candidate
                break
        if name is None:
            raise PatternError(
                f"cannot write a {split} member name that {source.members!r} matches with the label {label!r}"
            )
        named.append(Named(name, source.match(name).group("id")))
    ids = [n.id for n in named]
    if len(set(ids)) != len(ids):
        raise PatternError(f"{source.members!r}: generated names repeat an id; give the id group digits")
    return named


# -- the generator -----------------------------------------------------------------------


def spec_classes(spec: CompetitionSpec) -> tuple[str, ...]:
    """The spec's classes, else those its label pattern spells out, else DEFAULT_CLASSES (with ``positive``)."""
    if spec.classes is not None:
        return spec.classes
    classes: tuple[str, ...] | None = None
    if isinstance(spec.train_labels, GroupLabels) and isinstance(spec.train_images, MemberImages):
        classes = branch_literals(spec.train_images.members, spec.train_labels.group)
    classes = classes or DEFAULT_CLASSES
    positive = spec.submission.positive
    if positive is not None and positive not in classes:
        classes = (*classes[1:], positive) if len(classes) > 2 else (classes[0], positive)
    return tuple(classes)


def image_size(spec: CompetitionSpec, source: Any) -> tuple[int, int]:
    if isinstance(source, PixelImages):
        return source.shape[0], source.shape[1]
    return spec.images.size or (IMAGE_SIZE, IMAGE_SIZE)


def draw_images(
    spec: CompetitionSpec, source: Any, labels: np.ndarray, n_classes: int, rng: np.random.Generator
) -> list[np.ndarray]:
    """The images of one split: all one size under "native" (one batch), else each its own size around the spec's."""
    channels = source.shape[2] if isinstance(source, PixelImages) else spec.images.channels
    height, width = image_size(spec, source)
    if spec.images.native or isinstance(source, PixelImages):
        return list(class_images(labels, rng, (height, width), n_classes, channels))
    sizes = rng.uniform(0.75, 1.6, size=(len(labels), 2))
    return [
        class_images(
            labels[i : i + 1],
            rng,
            (max(8, int(height * sizes[i, 0])), max(8, int(width * sizes[i, 1]))),
            n_classes,
            channels,
        )[0]
        for i in range(len(labels))
    ]


def draw_labels(n: int, n_classes: int, rng: np.random.Generator, every_class: bool) -> np.ndarray:
    if not every_class:
        return rng.integers(0, n_classes, size=n)
    labels = np.concatenate([np.arange(min(n, n_classes)), rng.integers(0, n_classes, size=max(0, n - n_classes))])
    rng.shuffle(labels)
    return labels


def make_from_spec(
    spec: CompetitionSpec,
    directory: Path,
    n_train: int = 200,
    n_test: int = 100,
    seed: int = 0,
    every_class: bool = True,
) -> CompetitionFiles:
    """Every file ``spec`` lists, in its exact format, under ``directory``, and solution.csv (see the module).

    ``every_class``: every class appears in the training images when n_train allows (labels then shuffled);
    off, labels are drawn independently (cifar-10's generator always did, and keeps doing).
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    classes = spec_classes(spec)
    n = len(classes)
    train_labels = draw_labels(n_train, n, rng, every_class)
    test_labels = rng.integers(0, n, size=n_test)
    train_images = draw_images(spec, spec.train_images, train_labels, n, rng)
    test_images = draw_images(spec, spec.test_images, test_labels, n, rng)
    train_names = [classes[k] for k in train_labels]
    group = spec.train_labels.group if isinstance(spec.train_labels, GroupLabels) else None

    contents: dict[str, dict[str, bytes]] = {}  # archive or folder tree -> members, in order
    written: dict[str, Path] = {}

    def split_ids(split: str, source: Any, images: list[np.ndarray], names: list[str] | None) -> list[str]:
        if isinstance(source, PixelImages):
            ids = [str(i) for i in range(1, len(images) + 1)]
            own_labels = (
                names
                if split == "train" and isinstance(spec.train_labels, CsvLabels) and spec.train_labels.id is None
                else None
            )
            label_column = spec.train_labels.column if own_labels is not None else None
            _write_pixel_csv(directory / source.file, source, images, ids, own_labels, label_column)
            written[source.file] = directory / source.file
            return ids
        labels_in_path = names if split == "train" and group else [None] * len(images)
        named = member_names(source, labels_in_path, group if split == "train" else None, split)
        members = contents.setdefault(source.file, {})
        for entry, image in zip(named, images):
            members[entry.name] = encoded(image, PurePosixPath(entry.name).suffix)
        return [entry.id for entry in named]

    train_ids = split_ids("train", spec.train_images, train_images, train_names)
    test_ids = split_ids("test", spec.test_images, test_images, None)
    for name, members in contents.items():
        target = directory / name.rstrip("/")
        write_members(target, members)
        written[name] = target

    labels = spec.train_labels
    if isinstance(labels, CsvLabels) and labels.id is not None:
        _write_csv(directory / labels.file, [labels.id, labels.column], zip(train_ids, train_names))
        written[labels.file] = directory / labels.file

    id_column, value_column, fill = sample_format(spec, classes)
    sample = directory / spec.submission.sample
    truth = [classes[k] for k in test_labels]
    if spec.submission.predict == PROBABILITIES:
        header = [id_column, *classes]
        _write_csv(sample, header, ([i, *[fill] * n] for i in test_ids))
        solution_header = [id_column, "label"]
    else:
        _write_csv(sample, [id_column, value_column], ((i, fill) for i in test_ids))
        solution_header = [id_column, value_column]
    written[spec.submission.sample] = sample
    solution = directory / "solution.csv"
    _write_csv(solution, solution_header, zip(test_ids, truth))
    missing = [name for name in spec.file_names if name not in written]
    if missing:
        raise PatternError(f"{spec.slug}: the generator wrote no {', '.join(missing)}")
    return CompetitionFiles(
        directory, spec, {name: written[name] for name in spec.file_names}, sample, solution, classes, tuple(test_ids)
    )


def sample_format(spec: CompetitionSpec, classes: tuple[str, ...]) -> tuple[str, str, str]:
    """(id column, value column, fill value) of the sample submission."""
    if spec.slug in SAMPLE_FORMATS:
        return SAMPLE_FORMATS[spec.slug]
    labels = spec.train_labels
    id_column = labels.id if isinstance(labels, CsvLabels) and labels.id else "id"
    value_column = labels.column if isinstance(labels, CsvLabels) else "label"
    predict = spec.submission.predict
    fill = classes[0] if predict == LABEL else "0.5" if predict == PROBABILITY else f"{1 / len(classes):.6g}"
    return id_column, value_column, fill


def make_competition(directory: Path, n_train: int = 1000, n_test: int = 500, seed: int = 0) -> CompetitionFiles:
    """cifar-10: train.7z, test.7z, trainLabels.csv, sampleSubmission.csv and solution.csv."""
    return make_from_spec(get_spec("cifar-10"), directory, n_train, n_test, seed, every_class=False)


def make_digit_recognizer(directory: Path, n_train: int = 200, n_test: int = 100, seed: int = 0) -> CompetitionFiles:
    """digit-recognizer: train.csv (``label,pixel0..pixel783``, a 28x28 grey image a row, pixel<x> at row
    x // 28, column x % 28), test.csv (``pixel0..pixel783``), sample_submission.csv (``ImageId,Label``,
    ImageId 1..n_test, every Label 0, as Kaggle ships it) and solution.csv (``ImageId,Label``). Every
    digit appears in train.csv when n_train >= 10."""
    return make_from_spec(get_spec("digit-recognizer"), directory, n_train, n_test, seed)


def _write_csv(path: Path, header: list[str], rows: Any) -> None:
    lines = [",".join(header)] + [",".join(str(v) for v in row) for row in rows]
    path.write_text("\n".join(lines) + "\n")


def _write_pixel_csv(
    path: Path,
    source: PixelImages,
    images: list[np.ndarray],
    ids: list[str],
    labels: list[str] | None,
    label_column: str | None,
) -> None:
    """``[label,]pixel0..`` (or ``id,pixel0..`` with the spec's id column), one image a row, row-major."""
    pixels = np.stack(images).reshape(len(images), -1).astype(str)
    header = list(source.columns)
    if labels is not None and label_column:
        pixels = np.column_stack([np.asarray(labels, dtype=str), pixels])
        header = [label_column, *header]
    if source.id is not None:
        pixels = np.column_stack([np.asarray(ids, dtype=str), pixels])
        header = [source.id, *header]
    path.write_text(",".join(header) + "\n" + "".join(",".join(row) + "\n" for row in pixels))


def _hue_to_rgb(hue: float) -> np.ndarray:
    return np.array(colorsys.hsv_to_rgb(hue, 0.9, 1.0))


# -- a generated code competition (make demo's code-competition run) --------------------------------------

CODE_DEMO_SLUG = "code-cifar"  # no shipped spec: the run dataset carries it into the kernel, as a user's own
CODE_DEMO_LAYOUT = "cifar-10"  # whose files it has


def code_competition_spec_text(layout: str = CODE_DEMO_LAYOUT) -> str:
    """A shipped spec as a code competition's: Kaggle takes a kernel version, and reruns it on the test set."""
    from kagglekit.competitions import SHIPPED_DIR

    text = (SHIPPED_DIR / f"{layout}.toml").read_text(encoding="utf-8")  # kagglekit's own, not an override of it
    if 'kind = "file"' not in text:
        raise PatternError(f"{layout}'s spec no longer says kind = \"file\"; the code demo's spec is made from it")
    header = f"# A code competition in {layout}'s layout (kagglekit's make demo): Kaggle takes a kernel version.\n"
    return header + text.replace('kind = "file"', 'kind = "code"', 1)


def write_code_spec(spec_dir: Path, slug: str = CODE_DEMO_SLUG, layout: str = CODE_DEMO_LAYOUT) -> Path:
    """That spec as ``spec_dir/<slug>.toml``: where the stages find a user's own spec (found before a shipped
    one) when ``spec_dir`` is ``competitions/`` under the directory they run in. Its files are make_from_spec's."""
    path = Path(spec_dir) / f"{slug}.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    text = code_competition_spec_text(layout)
    if not path.is_file() or path.read_text(encoding="utf-8") != text:  # a rerun leaves it, and its time, alone
        path.write_text(text, encoding="utf-8")
    return path
