"""What kagglekit knows about particular competitions.

Only what cannot be read from the competition's own files belongs here: the
class list lets `folders` reject a typo in trainLabels.csv before it becomes an
eleventh class that a model is then trained on.
"""

from __future__ import annotations

CIFAR10_CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer",
    "dog", "frog", "horse", "ship", "truck",
)

KNOWN_CLASSES: dict[str, tuple[str, ...]] = {
    "cifar-10": CIFAR10_CLASSES,
}


def known_classes(slug: str) -> tuple[str, ...] | None:
    """The fixed class list of ``slug``, or None when any label is acceptable."""
    return KNOWN_CLASSES.get(slug)
