"""Competition specs for formats kagglekit ships no spec of: one probability, one probability per class."""

from __future__ import annotations

from pathlib import Path

# dogs-vs-cats-redux-kernels-edition as its Data page describes it: P(dog) in sample_submission.csv's label column;
# cat.N and dog.N share N, so a training image's id is its whole stem.
DOGS_VS_CATS = """\
kind = "file"
files = ["train.zip", "test.zip", "sample_submission.csv"]
metric = "{metric}"
classes = ["cat", "dog"]

[train]
images = {{ file = "train.zip", members = 'train/(?P<id>(?P<label>cat|dog)\\.\\d+)\\.jpg' }}
labels = {{ group = "label" }}

[test]
images = {{ file = "test.zip", members = 'test/(?P<id>\\d+)\\.jpg' }}

[images]
{images}

[submission]
sample = "sample_submission.csv"
predict = "probability"
positive = "dog"
"""
SQUEEZED_64 = 'size = [64, 64]\nresize = "squeeze"\nchannels = 3'

# A dog-breed-identification-like competition: one probability column per class, scored in multi-class log loss.
BREEDS = """\
kind = "file"
files = ["train.zip", "test.zip", "labels.csv", "sample_submission.csv"]
metric = "multiclass-log-loss"

[train]
images = { file = "train.zip", members = 'train/(?P<id>[0-9a-f]+)\\.jpg' }
labels = { file = "labels.csv", id = "id", column = "breed" }

[test]
images = { file = "test.zip", members = 'test/(?P<id>[0-9a-f]+)\\.jpg' }

[images]
size = [64, 64]
resize = "squeeze"
channels = 3

[submission]
sample = "sample_submission.csv"
predict = "probabilities"
"""


def write_spec(directory: Path, slug: str, text: str) -> Path:
    """``directory/competitions/SLUG.toml``: where kagglekit looks for a user's own spec (run from ``directory``)."""
    path = Path(directory) / "competitions" / f"{slug}.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def dogs_vs_cats(metric: str = "binary-log-loss", images: str = SQUEEZED_64) -> str:
    """The spec's text; ``images`` is the body of its [images] table."""
    return DOGS_VS_CATS.format(metric=metric, images=images)
