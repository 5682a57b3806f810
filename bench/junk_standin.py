"""A cifar-10 test.7z like Kaggle's: a few real held-out images at scattered ids among many junk images.

    .venv/bin/python bench/junk_standin.py [--images 300000] [--real-share 0.03] [--shared ../shared/cifar10]
                                           [--data bench/out/real-data] [--out bench/out/junk-standin-N]

Kaggle's test.7z holds 300,000 PNGs: the 10,000 real CIFAR-10 test images at
scattered ids among 290,000 images Kaggle added so that labelling by hand
would not pay, and it scores only the 10,000. Kaggle does not say how it made
the others; these are out-of-distribution images of five kinds, in equal
shares, each made from a random image of kagglekit's training split
(``--data``: the real train.7z through kagglekit's own unpack and folders,
seed 0, 10 % held out, as ``bench/shared_data.prepared_real_train`` leaves it):

  mirrored-bgr  mirrored left to right, its colour channels reversed (RGB -> BGR)
  rotated       turned by 90, 180 or 270 degrees
  blended       the mean of two training images
  inverted      255 - each value
  noise         uniform random values, no image at all

The real images are the split's 5,000 held-out validation images, never trained
on, in a shuffled order; at Kaggle's share (3 % of 300,000 = 9,000) each is used
once or twice, where Kaggle's 10,000 are distinct. A run measured on this
stand-in must be trained on that same split (it is what `make train` makes).

It writes, into ``--out``: test.7z (members ``test/<id>.png``, ids 1..N in
order), sampleSubmission.csv (every id, ``cat``), kinds.csv (``id,kind``: each
id's kind, ``real`` for the real ones) and, last, solution.csv (``id,label,Usage``
for every id, Usage ``Ignored`` on the junk ones: the local server wants them in a
submission but scores the real ids only, as Kaggle scores only its 10,000), plus
links to the real train.7z and trainLabels.csv, so the folder is a whole
competition. Each file is written under a temporary name and renamed; a
folder whose solution.csv exists is complete and is not rebuilt.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import py7zr  # noqa: E402
from shared_data import prepared_real_train  # noqa: E402

from kagglekit.data.pipeline import load_split  # noqa: E402
from kagglekit.standin.scoring import IGNORED  # noqa: E402
from kagglekit.standin.synthetic import png_bytes  # noqa: E402

KAGGLE_TEST_IMAGES = 300_000
KAGGLE_REAL_SHARE = 10_000 / 300_000  # ~3 %
Junk = Callable[[np.ndarray, np.random.Generator], np.ndarray]


def pick(train: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return train[rng.integers(len(train))]


JUNK: dict[str, Junk] = {
    "mirrored-bgr": lambda train, rng: pick(train, rng)[:, ::-1, ::-1],
    "rotated": lambda train, rng: np.rot90(pick(train, rng), k=int(rng.integers(1, 4))),
    "blended": lambda train, rng: ((pick(train, rng).astype(np.uint16) + pick(train, rng)) // 2).astype(np.uint8),
    "inverted": lambda train, rng: 255 - pick(train, rng),
    "noise": lambda train, rng: rng.integers(0, 256, train.shape[1:], dtype=np.uint8),
}


def plan(n: int, real: int, seed: int) -> pd.DataFrame:
    """Each id's kind: ``real`` at ``real`` scattered ids, the junk kinds in turn (shuffled) at the others."""
    rng = np.random.default_rng(seed)
    kinds = np.asarray(list(JUNK), dtype=object)[np.arange(n - real) % len(JUNK)]
    rng.shuffle(kinds)
    column = np.empty(n, dtype=object)
    real_at = np.sort(rng.choice(n, real, replace=False))
    column[real_at] = "real"
    column[np.setdiff1d(np.arange(n), real_at)] = kinds
    return pd.DataFrame({"id": np.arange(1, n + 1), "kind": column})


def build(data_dir: Path, shared: Path, out: Path, n: int, real_share: float, seed: int) -> Path:
    """The stand-in folder (see the module docstring); skipped when its solution.csv exists."""
    if (out / "solution.csv").is_file():
        print(f"{out} is complete (solution.csv exists); delete it to rebuild")
        return out
    out.mkdir(parents=True, exist_ok=True)
    data = load_split(prepared_real_train(shared, data_dir))
    kinds = plan(n, round(n * real_share), seed)
    rng = np.random.default_rng(seed + 1)
    order = rng.permutation(len(data.x_valid))  # the real images in a shuffled order, in turn
    real_rows = order[np.arange((kinds["kind"] == "real").sum()) % len(order)]
    write_archive(out / "test.7z", kinds["kind"].to_numpy(), data.x_valid[real_rows], data.x_train, rng)
    written(out / "sampleSubmission.csv", pd.DataFrame({"id": kinds["id"], "label": "cat"}))
    written(out / "kinds.csv", kinds)
    for name in ("train.7z", "trainLabels.csv"):
        if not (out / name).exists():
            (out / name).symlink_to((shared / name).resolve())
    real = kinds[kinds["kind"] == "real"]
    labels = np.asarray(data.classes)[data.y_valid[real_rows].astype(np.int64)]
    scored = pd.DataFrame({"id": real["id"], "label": labels, "Usage": ""})
    junk = kinds[kinds["kind"] != "real"]
    ignored = pd.DataFrame({"id": junk["id"], "label": "cat", "Usage": IGNORED})
    solution = pd.concat([scored, ignored]).sort_values("id", key=lambda ids: ids.astype(int))
    written(out / "solution.csv", solution)
    counts = kinds["kind"].value_counts()
    print(f"{out}: {n:,} images, " + ", ".join(f"{kind} {counts[kind]:,}" for kind in ["real", *JUNK]))
    return out


def write_archive(
    archive: Path, kinds: np.ndarray, real: np.ndarray, train: np.ndarray, rng: np.random.Generator
) -> None:
    """test.7z, one PNG per id in id order, made one at a time (memory stays one image)."""
    partial = archive.with_name(archive.name + ".partial")
    next_real = iter(real)
    with py7zr.SevenZipFile(partial, "w") as seven_zip:
        for image_id, kind in enumerate(kinds, start=1):
            pixels = next(next_real) if kind == "real" else JUNK[kind](train, rng)
            seven_zip.writestr(png_bytes(np.ascontiguousarray(pixels)), f"test/{image_id}.png")
    os.replace(partial, archive)


def written(path: Path, frame: pd.DataFrame) -> None:
    partial = path.with_name(path.name + ".partial")
    frame.to_csv(partial, index=False)
    os.replace(partial, path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=KAGGLE_TEST_IMAGES, help="test images in all")
    parser.add_argument("--real-share", type=float, default=KAGGLE_REAL_SHARE, help="the share that is real")
    parser.add_argument("--shared", type=Path, default=Path("../shared/cifar10"), help="the real train.7z's folder")
    parser.add_argument("--data", type=Path, default=Path("bench/out/real-data"), help="kagglekit's data dir for it")
    parser.add_argument("--out", type=Path, default=None, help="default: bench/out/junk-standin-N")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if not 0 < args.real_share <= 1 or args.images < 1:
        parser.error("--images must be 1 or more and --real-share from more than 0 to 1")
    out = args.out or Path(f"bench/out/junk-standin-{args.images}")
    build(args.data, args.shared, out, args.images, args.real_share, args.seed)


if __name__ == "__main__":
    main()
