"""Data for bench/device_check.sh, laid out as `kagglekit unpack` + `folders` leave it, so the real CLI trains on it.

    python bench/export_split.py --data-dir DATA --xz --out bench/out/device/real.npz.xz
    python bench/device_data.py build --real real.npz.xz --out DIR/real
    python bench/device_data.py build --random 50000 --out DIR/speed

The whole real split (45,000 / 5,000) crosses to the device machine as a
delta-coded xz export, ~100 MB, in two calls (bench/device_check.sh); a
random-pixel set of any size can be made there for speed alone. Each built set
also gets a test cache (its validation images under new ids) and a
sampleSubmission.csv, so `predict` runs too.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from export_split import load_npz  # noqa: E402

from kagglekit.jsonfiles import write_json  # noqa: E402
from kagglekit.paths import CompetitionPaths  # noqa: E402
from kagglekit.standin.synthetic import CIFAR10_CLASSES  # noqa: E402


def build(
    x_train: np.ndarray, y_train: np.ndarray, x_valid: np.ndarray, y_valid: np.ndarray, classes: list[str], out: Path
) -> None:
    """Cache, split.csv, classes.json, and a test set (the validation images again) with its sampleSubmission.csv."""
    paths = CompetitionPaths(out)
    for folder in (paths.cache, paths.folders, paths.raw):
        folder.mkdir(parents=True, exist_ok=True)
    images, labels = np.concatenate([x_train, x_valid]), np.concatenate([y_train, y_valid])
    ids = np.arange(1, len(images) + 1)
    np.save(paths.cache_images("train"), images)
    np.save(paths.cache_ids("train"), ids.astype(str))  # ids are text, as unpack writes them
    subset = ["train"] * len(x_train) + ["valid"] * len(x_valid)
    pd.DataFrame({"id": ids, "label": np.asarray(classes)[labels], "subset": subset}).to_csv(
        paths.split_csv, index=False
    )
    paths.classes_json.write_text(json.dumps({"classes": list(classes)}))
    test_ids = np.arange(1, len(x_valid) + 1)
    np.save(paths.cache_images("test"), x_valid)
    np.save(paths.cache_ids("test"), test_ids.astype(str))
    pd.DataFrame({"id": test_ids, "label": classes[0]}).to_csv(paths.sample_submission, index=False)
    write_json(paths.unpacked_marker("test"), {"built_by": "bench/device_data.py", "images": len(x_valid)})
    print(f"built {paths.root}: {len(x_train)} train / {len(x_valid)} valid / {len(x_valid)} test images")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    bd = commands.add_parser(
        "build", help="lay out a data directory for the CLI (there; bench/export_split.py writes --real here)"
    )
    source = bd.add_mutually_exclusive_group(required=True)
    source.add_argument("--real", type=Path, help="an exported .npz")
    source.add_argument("--random", type=int, metavar="N", help="N random-pixel images (90 %% train), for speed only")
    bd.add_argument("--out", type=Path, required=True, help="the data directory to lay out")
    args = parser.parse_args()
    if args.real:
        real = load_npz(args.real)
        build(
            real["x_train"],
            real["y_train"],
            real["x_valid"],
            real["y_valid"],
            [str(c) for c in real["classes"]],
            args.out,
        )
    else:
        rng = np.random.default_rng(0)
        images = rng.integers(0, 256, (args.random, 32, 32, 3), dtype=np.uint8)
        labels = rng.integers(0, len(CIFAR10_CLASSES), args.random).astype(np.int32)
        cut = args.random * 9 // 10
        build(images[:cut], labels[:cut], images[cut:], labels[cut:], list(CIFAR10_CLASSES), args.out)


if __name__ == "__main__":
    main()
