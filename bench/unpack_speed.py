"""Benchmark: the seeds' way of unpacking (py7zr ``extractall`` to files) against kagglekit's.

    .venv/bin/python bench/unpack_speed.py [--shared ../shared/cifar10] [--out bench/out]

Builds, once, a full-size stand-in for Kaggle's test.7z: 300,000 PNGs, the
50,000 real CIFAR-10 training PNGs of ../shared/cifar10/train.7z each used six
times under shuffled ids (Kaggle's own is 300,000 PNGs, 610 MB). Then times,
each in a fresh child process with the peak RSS of its whole process tree
sampled every 50 ms:

  train.7z -> class folders   seeds: extractall + copy into class folders;  ours: unpack + folders
  test.7z  -> ready to predict seeds: extractall (300,000 files);            ours: unpack into the pixel cache

Absolute times on these shared machines are noisy: read the ratio.

``--baseline TREE`` times kagglekit's own variants side by side with an earlier
kagglekit, alternating them ``--rounds`` times on the same stand-in: TREE is a
copy of that commit's files (``git archive COMMIT | tar -x -C TREE``), run by its
own bench/unpack_speed.py importing kagglekit from TREE (measure.run_in_tree);
the seeds' variants are left out then::

    git archive main | tar -x -C /tmp/main-tree
    .venv/bin/python bench/unpack_speed.py --only test --baseline /tmp/main-tree
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
import py7zr
from measure import measure, parse_arguments

TEST_IMAGES = 300_000


def build_test_standin(shared: Path, out: Path) -> Path:
    """test.7z with 300,000 real PNGs (each train image 6 times, shuffled ids); cached."""
    archive = out / "standin" / "test.7z"
    if not archive.is_file():
        blobs = train_pngs(shared)
        write_standin([blobs[f"train/{n}.png"] for n in range(1, len(blobs) + 1)], archive)
    return archive


def build_validation_standin(shared: Path, split_csv: Path, out: Path) -> Path:
    """A Kaggle-sized competition folder whose test.7z is the 5,000 validation images of kagglekit's split, each
    60 times under shuffled ids (300,000 PNGs of real photographs, as unsure as real test images), beside the real
    train.7z and trainLabels.csv and a solution.csv to score against: `make submit` end to end, at full size."""
    import pandas as pd

    folder = out / "validation-standin"
    if (folder / "solution.csv").is_file():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    split = pd.read_csv(split_csv)
    valid = split[split["subset"] == "valid"].reset_index(drop=True)
    blobs = train_pngs(shared)
    ids = write_standin([blobs[f"train/{n}.png"] for n in valid["id"]], folder / "test.7z")
    position_of_id = np.empty(TEST_IMAGES, dtype=np.int64)
    position_of_id[ids - 1] = np.arange(TEST_IMAGES)
    labels = valid["label"].to_numpy()[position_of_id % len(valid)]
    pd.DataFrame({"id": np.arange(1, TEST_IMAGES + 1), "label": labels}).to_csv(folder / "solution.csv", index=False)
    for name in ("train.7z", "trainLabels.csv"):
        if not (folder / name).exists():
            (folder / name).symlink_to((shared / name).resolve())
    return folder


def train_pngs(shared: Path) -> dict[str, bytes]:
    """Every PNG of the real train.7z by its name in the archive, as bytes."""
    pngs: dict[str, Any] = {}

    class Collect(py7zr.io.WriterFactory):
        def create(self, filename: str) -> py7zr.io.Py7zIO:
            pngs[filename] = py7zr.io.Py7zBytesIO(filename, limit=1 << 20)
            return pngs[filename]

    with py7zr.SevenZipFile(shared / "train.7z") as seven_zip:
        seven_zip.extractall(factory=Collect())
    return {name: b.read() if hasattr(b, "read") else bytes(b) for name, b in pngs.items()}


def write_standin(blobs: list[bytes], archive: Path) -> np.ndarray:
    """test.7z of TEST_IMAGES PNGs, the blobs in turn under shuffled ids, and its sampleSubmission.csv; returns the ids."""
    archive.parent.mkdir(parents=True, exist_ok=True)
    ids = np.random.default_rng(0).permutation(TEST_IMAGES) + 1
    partial = archive.with_suffix(".partial")
    with py7zr.SevenZipFile(partial, "w") as seven_zip:
        for position, image_id in enumerate(ids):
            seven_zip.writestr(blobs[position % len(blobs)], f"test/{image_id}.png")
    (archive.parent / "sampleSubmission.csv").write_text(
        "id,label\n" + "".join(f"{i},cat\n" for i in range(1, TEST_IMAGES + 1))
    )
    os.replace(partial, archive)
    return ids


# ---- the four variants, each run in its own child process ------------------------------------


def seeds_train(shared: Path, work: Path) -> None:
    """Seed 000's way: unpack train.7z to files, then copy each into its class folder."""
    import pandas as pd

    with py7zr.SevenZipFile(shared / "train.7z") as seven_zip:
        seven_zip.extractall(work / "temp")
    labels = pd.read_csv(shared / "trainLabels.csv")
    for label in labels["label"].unique():
        (work / "classes" / label).mkdir(parents=True, exist_ok=True)
    for image_id, label in labels.itertuples(index=False):
        shutil.copyfile(work / "temp" / "train" / f"{image_id}.png", work / "classes" / label / f"{image_id}.png")


def seeds_test(standin: Path, work: Path) -> None:
    with py7zr.SevenZipFile(standin) as seven_zip:
        seven_zip.extractall(work / "temp")


def ours_train(shared: Path, work: Path) -> None:
    from kagglekit.data.folders import build_folders
    from kagglekit.data.unpack import unpack_split

    paths = _raw_layout(work, {"train.7z": shared / "train.7z", "trainLabels.csv": shared / "trainLabels.csv"})
    unpack_split(paths, "train", True, progress=False)
    build_folders(paths)


def ours_test(standin: Path, work: Path) -> None:
    from kagglekit.data.unpack import unpack_split

    paths = _raw_layout(work, {"test.7z": standin, "sampleSubmission.csv": standin.parent / "sampleSubmission.csv"})
    unpack_split(paths, "test", False, progress=False)


def _raw_layout(work: Path, files: dict[str, Path]):
    from kagglekit.paths import CompetitionPaths

    paths = CompetitionPaths(work / "data")
    paths.raw.mkdir(parents=True, exist_ok=True)
    for name, source in files.items():
        (paths.raw / name).symlink_to(source.resolve())
    return paths


VARIANTS = {"seeds-train": seeds_train, "seeds-test": seeds_test, "ours-train": ours_train, "ours-test": ours_test}


def side_by_side(args: Any, baseline: Path, rounds: int) -> None:
    """kagglekit's variants, this tree's against ``baseline``'s, alternating on the same inputs."""
    jobs = []
    if args.only in (None, "train"):
        jobs.append(("ours-train", args.shared))
    if args.only in (None, "test"):
        jobs.append(("ours-test", build_test_standin(args.shared, args.out)))
    print("\n| variant | round | baseline s | this tree s | ratio |\n|---|---:|---:|---:|---:|")
    for variant, source in jobs:
        for round_ in range(1, rounds + 1):
            old = measure(str(baseline / "bench" / "unpack_speed.py"), variant, source, args.out / "work", baseline)
            new = measure(__file__, variant, source, args.out / "work")
            print(
                f"| {variant} | {round_} | {old['seconds']:.1f} | {new['seconds']:.1f} | "
                f"{new['seconds'] / old['seconds']:.3f} |",
                flush=True,
            )


def main() -> None:
    import sys

    baseline, rounds = None, 2
    if "--baseline" in sys.argv:  # parsed here: measure.parse_arguments holds the flags every benchmark shares
        at = sys.argv.index("--baseline")
        baseline = Path(sys.argv[at + 1])
        del sys.argv[at : at + 2]
    if "--rounds" in sys.argv:
        at = sys.argv.index("--rounds")
        rounds = int(sys.argv[at + 1])
        del sys.argv[at : at + 2]
    args = parse_arguments(__doc__, ["train", "test"], VARIANTS)
    if args is None:
        return
    if baseline is not None:
        print(f"# unpack side by side  {platform.node()}  {os.cpu_count()} cores  baseline {baseline}")
        side_by_side(args, baseline, rounds)
        return
    print(
        f"# unpack benchmark  {platform.node()}  {os.cpu_count()} cores  python {platform.python_version()}  py7zr {py7zr.__version__}"
    )
    rows = []
    if args.only in (None, "train"):
        for variant in ("seeds-train", "ours-train"):
            rows.append(
                (
                    variant,
                    "train.7z (50,000) -> class folders",
                    measure(__file__, variant, args.shared, args.out / "work"),
                )
            )
    if args.only in (None, "test"):
        started = time.perf_counter()
        standin = build_test_standin(args.shared, args.out)
        print(
            f"# test.7z stand-in: {standin} ({standin.stat().st_size / 1e6:.0f} MB; ready in {time.perf_counter() - started:.0f} s)"
        )
        for variant in ("seeds-test", "ours-test"):
            rows.append(
                (
                    variant,
                    "test.7z (300,000) -> ready to predict",
                    measure(__file__, variant, standin, args.out / "work"),
                )
            )
    print("\n| way | task | seconds | peak memory (GB) |\n|---|---|---:|---:|")
    for variant, task, result in rows:
        print(f"| {variant} | {task} | {result['seconds']:.1f} | {result['peak_gb']:.2f} |")
    print("\n" + json.dumps({variant: result for variant, _, result in rows}))


if __name__ == "__main__":
    main()
