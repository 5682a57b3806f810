"""argparse types that check a number where it is parsed, so a bad one never reaches a stage.

Each is a ``type=`` callable: it returns the parsed value or raises
``argparse.ArgumentTypeError`` with what was wanted, which the CLI prints as one
line (exit 2) before anything is created. NaN and infinities are refused
everywhere: ``float("nan")`` compares false with every bound, so a range check
alone would let it through and silently switch a feature off.
"""

from __future__ import annotations

import argparse
import math
import os
import re
from typing import Callable

# One path component: Kaggle's slugs are letters, digits and hyphens; nothing that climbs out of DATA/.
_SLUG = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def _number(text: str, kind: type) -> float | int:
    try:
        value = kind(text)
    except (TypeError, ValueError):
        wanted = "a whole number" if kind is int else "a number"
        raise argparse.ArgumentTypeError(f"{text!r} is not {wanted}") from None
    if kind is float and not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def _whole_number_from(text: str, minimum: int) -> int:
    value = int(_number(text, int))
    if value < minimum:
        raise argparse.ArgumentTypeError(f"{text!r} must be {minimum} or more")
    return value


def positive_int(text: str) -> int:
    """A count or a size: 1 or more."""
    return _whole_number_from(text, 1)


def int_at_least(minimum: int) -> Callable[[str], int]:
    """A count with a floor below which the stage cannot work (the help says why)."""

    def parse(text: str) -> int:
        return _whole_number_from(text, minimum)

    parse.__name__ = f"int_at_least_{minimum}"
    return parse


def non_negative_int(text: str) -> int:
    """A seed or an index: 0 or more."""
    return _whole_number_from(text, 0)


def positive_float(text: str) -> float:
    """A rate or a size in real units: more than 0, finite."""
    value = float(_number(text, float))
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be more than 0")
    return value


def non_negative_float(text: str) -> float:
    """A duration in seconds: 0 or more, finite."""
    value = float(_number(text, float))
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be 0 or more")
    return value


def tta_budget(text: str) -> float:
    """A share of the images, from 0 to 1, or ``all`` (= 1): the images that get TTA's extra views."""
    if text.strip().lower() == "all":
        return 1.0
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a share of the images (0 to 1) or 'all'") from None
    if not math.isfinite(value) or not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be a share of the images from 0 to 1, or 'all'")
    return value


def open_fraction(text: str) -> float:
    """A share that must leave something on both sides: more than 0, less than 1."""
    value = float(_number(text, float))
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be more than 0 and less than 1")
    return value


def process_count(text: str) -> int:
    """Worker processes: 0 (do it inline) up to the cores here; more would only fork processes that wait."""
    value = non_negative_int(text)
    cores = os.cpu_count() or 1
    if value > cores:
        raise argparse.ArgumentTypeError(f"{text!r} is more than the {cores} cores here")
    return value


def competition_slug(text: str) -> str:
    """A Kaggle competition slug, which names a folder under DATA/, so never a path."""
    if not _SLUG.fullmatch(text):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a competition slug (letters, digits and hyphens, as in kaggle.com/competitions/SLUG)"
        )
    return text
