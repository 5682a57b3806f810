"""The `competitions` command: the competition specs kagglekit knows, and drafting one it does not."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kagglekit.competitions import CompetitionSpec

HELP = "list the competitions kagglekit has a spec for, show one, or draft a spec from what Kaggle says"
DESCRIPTION = """\
A competition spec (one small TOML file) says what Kaggle's files cannot: the
files and their packing, where the images and training labels are, the class
list when it is fixed, the image size policy, the submission format, the metric
and whether it is a code competition. kagglekit ships some; yours go in
competitions/SLUG.toml under the directory you run kagglekit from, and win.

  competitions                  every spec: files, labels, submission, metric
  competitions --verbose        every spec in full
  competitions show SLUG        one spec in full, and where its file is
  competitions draft SLUG       a draft spec from what Kaggle says about SLUG (its file
                                list, the sample submission, the label file's header, the
                                archives' member names, the evaluation metric); printed,
                                or written with --out FILE. Lines marked TODO are guesses
                                to check against the competition's Data and Evaluation pages.

`draft` needs Kaggle credentials, as `fetch` does; it downloads no archive."""


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--verbose", action="store_true", help="print every spec in full")
    actions = parser.add_subparsers(dest="action", metavar="[show SLUG | draft SLUG]")
    show = actions.add_parser("show", help="print one spec in full", description="Print one spec in full.")
    show.add_argument("slug", metavar="SLUG", help="Kaggle competition slug")
    draft = actions.add_parser(
        "draft",
        help="draft a spec from what Kaggle says",
        description="Draft a spec for SLUG from what Kaggle says about it, for you to review (lines marked TODO).",
    )
    draft.add_argument("slug", metavar="SLUG", help="Kaggle competition slug")
    draft.add_argument(
        "--out",
        type=Path,
        metavar="FILE",
        help="write the draft to FILE (e.g. competitions/SLUG.toml) instead of printing it",
    )
    draft.add_argument("--force", action="store_true", help="overwrite FILE if it exists")


def run(args: argparse.Namespace) -> int:
    if getattr(args, "action", None) == "draft":
        return _draft(args)
    from kagglekit.competitions import all_specs, get_spec, spec_path

    if getattr(args, "action", None) == "show":
        spec = get_spec(args.slug)
        print("\n".join(describe(spec, full=True, path=spec_path(args.slug))))
        return 0
    specs = all_specs()
    for number, spec in enumerate(specs):
        if number:
            print()
        print("\n".join(describe(spec, full=args.verbose, path=spec_path(spec.slug))))
    return 0


def describe(spec: CompetitionSpec, full: bool = False, path: Path | None = None) -> list[str]:
    """A few lines on ``spec`` (``full``: every field)."""
    kind = "code competition: submissions come from a notebook" if spec.code_competition else "file competition"
    rows = [
        ("files", ", ".join(f"{f.name} ({f.packing})" for f in spec.files)),
        ("labels", _labels(spec)),
        ("submission", _submission(spec)),
        ("metric", f"{spec.metric.name} ({spec.metric.direction})"),
    ]
    if full:
        rows += [
            ("train", _images(spec.train_images)),
            ("test", _images(spec.test_images)),
            (
                "classes",
                f"{', '.join(spec.classes)} ({len(spec.classes)}, fixed)"
                if spec.classes
                else "whatever the training labels hold"
                + (", the sample's columns" if spec.submission.predict == "probabilities" else ""),
            ),
            ("images", _policy(spec)),
        ]
        if path is not None:
            rows.append(("spec", str(path)))
    width = max(len(name) for name, _ in rows)
    return [f"{spec.slug}  ({kind})", *(f"  {name:<{width}}  {text}" for name, text in rows)]


def _labels(spec: CompetitionSpec) -> str:
    from kagglekit.competitions import CsvLabels

    labels = spec.train_labels
    if isinstance(labels, CsvLabels):
        by = f"by its {labels.id} column" if labels.id else "one per pixel row"
        return f"column {labels.column} of {labels.file}, {by}"
    return f"the (?P<{labels.group}>...) group of each training image's path"


def _images(source: object) -> str:
    from kagglekit.competitions import MemberImages

    if isinstance(source, MemberImages):
        return f"members of {source.file} matching {source.members}"
    shape = "x".join(str(n) for n in source.shape)
    ids = f"ids in column {source.id}" if source.id else "ids are row numbers from 1"
    return f"rows of {source.file}, columns {source.pixels}0..{source.pixels}{len(source.columns) - 1} ({shape}); {ids}"


def _submission(spec: CompetitionSpec) -> str:
    submission = spec.submission
    what = {
        "label": "one label per image",
        "probability": f"the probability of {submission.positive} per image",
        "probabilities": "one probability column per class",
    }[submission.predict]
    return f"{what}, in {submission.sample}'s columns and id order"


def _policy(spec: CompetitionSpec) -> str:
    policy = spec.images
    channels = "1 channel (grey)" if policy.channels == 1 else "3 channels (RGB)"
    if policy.native:
        return f"native size, {channels}"
    return f"resized to {policy.size[0]}x{policy.size[1]} ({policy.resize}), {channels}"


def _draft(args: argparse.Namespace) -> int:
    from kagglekit.competitions import spec_path
    from kagglekit.competitions.draft import draft
    from kagglekit.exceptions import UsageError

    out: Path | None = args.out
    if out is not None and out.exists() and not args.force:
        raise UsageError(f"{out} exists: pass --force to overwrite it, or choose another --out")
    result = draft(args.slug)
    existing = spec_path(args.slug)
    if existing is not None:
        print(
            f"kagglekit already has a spec for {args.slug} ({existing}); compare this draft with it.", file=sys.stderr
        )
    if out is None:
        sys.stdout.write(result.text)
    else:
        from kagglekit.outputs import move_into_place, partial_path

        out.parent.mkdir(parents=True, exist_ok=True)
        partial = partial_path(out)
        partial.write_text(result.text, encoding="utf-8")
        move_into_place(partial, out)
        print(f"{args.slug}: wrote a draft spec to {out}")
    count = len(result.todos)
    print(f"{args.slug}: {count} TODO{'s' if count != 1 else ''} to check" + (":" if count else ""), file=sys.stderr)
    for todo in result.todos:
        print(f"  {todo}", file=sys.stderr)
    return 0
