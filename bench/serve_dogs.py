"""Serve dogs-vs-cats-redux-kernels-edition as Kaggle serves it, with a labelled test.zip, for `make submit` end to end.

Kaggle's test labels are not public, so the stand-in's test set is made of real, labelled Kaggle
training photographs that ../shared's train.zip does not hold:

- train.zip and sample_submission.csv: ../shared/dogs-vs-cats-redux-kernels-edition's, as they are
  (12,000 photographs, cat.1001..7000 and dog.1001..7000, each 200x200);
- test.zip: ``test/1.jpg`` ... ``test/12500.jpg``, 6,250 cats and 6,250 dogs in a shuffled order, drawn
  from the other 13,000 photographs of the same public copy (``4GeeksAcademy/Deep-Learning-CarlosFS``,
  folder ``train/``; bring it in with the search tool's ``fetch``), each resized to a size of its own as
  Kaggle's test photographs vary: the longer side 120..500 pixels (Kaggle's are at most 500), the aspect
  one of 4:3, 3:4, 1:1, 3:2, 2:3, 16:9, re-encoded as JPEG at quality 85..95. The copy had squeezed every
  photograph to 200x200, so most of these are upscaled: sharper photographs would be no harder;
- solution.csv: id,label with 1 for a dog, what the stand-in scores log loss against.

    .venv/bin/python bench/serve_dogs.py /tmp/dogs-standin      # builds once, prints export lines, serves until Ctrl-C
    # in another shell, after pasting them:
    make submit COMPETITION=dogs-vs-cats-redux-kernels-edition DATA=/tmp/dogs-data RUNS=/tmp/dogs-runs SUBS=/tmp/dogs-subs
"""

from __future__ import annotations

import argparse
import io
import shutil
import subprocess
import zipfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SLUG = "dogs-vs-cats-redux-kernels-edition"
SHARED = ROOT.parent / "shared" / SLUG
MIRROR = Path("/work/.mirror/4GeeksAcademy+Deep-Learning-CarlosFS/repo")
N_TEST = 12_500
ASPECTS = (4 / 3, 3 / 4, 1.0, 3 / 2, 2 / 3, 16 / 9)


def photographs_not_in_train(mirror: Path, train_names: set[str]) -> dict[str, list[str]]:
    """The mirror's train/ photographs by class, less those ../shared's train.zip holds."""
    listing = subprocess.run(
        ["git", "--git-dir", str(mirror), "ls-tree", "--name-only", "HEAD", "train/"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    unseen = [name for name in listing if name.endswith(".jpg") and name not in train_names]
    return {label: sorted(n for n in unseen if Path(n).name.startswith(label + ".")) for label in ("cat", "dog")}


def read_blobs(mirror: Path, names: list[str]) -> list[bytes]:
    """The files' bytes at HEAD, through one ``git cat-file --batch``."""
    request = "".join(f"HEAD:{name}\n" for name in names).encode()
    out = subprocess.run(
        ["git", "--git-dir", str(mirror), "cat-file", "--batch"], input=request, check=True, capture_output=True
    ).stdout
    blobs, at = [], 0
    for _ in names:
        header_end = out.index(b"\n", at)
        size = int(out[at:header_end].split()[2])
        blobs.append(out[header_end + 1 : header_end + 1 + size])
        at = header_end + 1 + size + 1
    return blobs


def resized_jpeg(data: bytes, rng: np.random.Generator) -> bytes:
    """The photograph at a size and JPEG quality of its own (module docstring)."""
    from PIL import Image

    image = Image.open(io.BytesIO(data)).convert("RGB")
    longer = int(rng.integers(120, 501))
    aspect = float(rng.choice(ASPECTS))
    width, height = (longer, round(longer / aspect)) if aspect >= 1 else (round(longer * aspect), longer)
    out = io.BytesIO()
    image.resize((width, height), Image.Resampling.BICUBIC).save(out, "JPEG", quality=int(rng.integers(85, 96)))
    return out.getvalue()


def build(target: Path, mirror: Path = MIRROR, seed: int = 0) -> Path:
    """The stand-in's files under ``target`` (once; solution.csv is written last, as the mark of a whole build)."""
    if (target / "solution.csv").is_file():
        return target
    target.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(SHARED / "train.zip", target / "train.zip")
    shutil.copyfile(SHARED / "sample_submission.csv", target / "sample_submission.csv")
    with zipfile.ZipFile(SHARED / "train.zip") as archive:
        train_names = set(archive.namelist())
    rng = np.random.default_rng(seed)
    pool = photographs_not_in_train(mirror, train_names)
    chosen = [(name, label) for label in ("cat", "dog") for name in rng.choice(pool[label], N_TEST // 2, replace=False)]
    order = rng.permutation(len(chosen))
    blobs = read_blobs(mirror, [chosen[index][0] for index in order])
    labels = [int(chosen[index][1] == "dog") for index in order]
    with zipfile.ZipFile(target / "test.zip.partial", "w", zipfile.ZIP_STORED) as archive:
        for image_id, blob in enumerate(blobs, start=1):
            archive.writestr(f"test/{image_id}.jpg", resized_jpeg(blob, rng))
    (target / "test.zip.partial").rename(target / "test.zip")
    solution = "id,label\n" + "".join(f"{i},{y}\n" for i, y in enumerate(labels, start=1))
    (target / "solution.csv").write_text(solution)
    return target


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path, help="where the stand-in's files go")
    parser.add_argument("--mirror", type=Path, default=MIRROR, help="the git directory of the public copy")
    parser.add_argument("--build-only", action="store_true", help="build the files and stop")
    args = parser.parse_args()
    directory = build(args.directory, args.mirror)
    if args.build_only:
        return 0
    from kagglekit.standin.server import main as serve

    return serve(["--competition-dir", str(directory), "--solution", str(directory / "solution.csv"), "--slug", SLUG])


if __name__ == "__main__":
    raise SystemExit(main())
