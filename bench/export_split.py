"""Write kagglekit's train/validation split as one .npz, so outside code trains on exactly the same images.

    python bench/export_split.py --data-dir data --out bench/out/split.npz
    python bench/export_split.py --data-dir DATA --xz --out real.npz.xz  # bench/device_check.sh: all of it, ~100 MB

Why: to tell a porting slip from a property of the data, airbench's own
PyTorch script was run on the split that ``fast`` is measured on
(bench/RESULTS.md, "airbench94's own code on the same split"). This hands
such code ``pipeline.load_split``'s arrays: the seeded 45,000 / 5,000 split
that ``folders`` wrote, images as uint8 NHWC, labels as class indices.

Arrays: ``x_train`` (N, 32, 32, 3) uint8, ``y_train`` (N,) int32, ``x_valid``,
``y_valid``, and ``classes`` (the class names, in label order).
"""

from __future__ import annotations

import argparse
import io
import lzma
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kagglekit.data.pipeline import load_split  # noqa: E402
from kagglekit.exceptions import KagglekitError  # noqa: E402
from kagglekit.outputs import move_into_place, partial_path  # noqa: E402
from kagglekit.paths import CompetitionPaths  # noqa: E402

# Neighbouring pixels' same channel sits 3 bytes apart: coding the differences saves 12 % over plain LZMA2.
XZ_FILTERS = [{"id": lzma.FILTER_DELTA, "dist": 3}, {"id": lzma.FILTER_LZMA2, "preset": 6}]


def load_npz(path: Path) -> dict[str, np.ndarray]:
    """An export, plain or ``--xz``."""
    data = Path(path).read_bytes()
    if data[:6] == b"\xfd7zXZ\x00":
        data = lzma.decompress(data)
    with np.load(io.BytesIO(data)) as arrays:
        return {name: arrays[name] for name in arrays.files}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data-dir", type=Path, default=Path("data"), help="holds COMPETITION/cache and COMPETITION/folders"
    )
    parser.add_argument("--competition", default="cifar-10", help="Kaggle slug under --data-dir")
    parser.add_argument("--out", type=Path, default=Path("bench/out/split.npz"), help="the .npz to write")
    parser.add_argument("--train", type=int, metavar="N", help="only the first N training images (default: all)")
    parser.add_argument("--valid", type=int, metavar="N", help="only the first N validation images (default: all)")
    parser.add_argument("--compress", action="store_true", help="zlib-compress the arrays (2.8 KB an image)")
    parser.add_argument(
        "--xz",
        action="store_true",
        help="write the .npz through xz with a delta filter (2.0 KB an image, for carrying; read with load_npz)",
    )
    args = parser.parse_args()
    try:
        data = load_split(CompetitionPaths(args.data_dir, args.competition))
    except KagglekitError as error:
        sys.exit(f"export_split: {error}")
    partial = partial_path(args.out)
    partial.parent.mkdir(parents=True, exist_ok=True)
    train, valid = slice(args.train), slice(args.valid)
    save = np.savez_compressed if args.compress else np.savez
    buffer = io.BytesIO()  # numpy appends ".npz" to a path without it, so write to memory
    save(
        buffer,
        x_train=data.x_train[train],
        y_train=data.y_train[train],
        x_valid=data.x_valid[valid],
        y_valid=data.y_valid[valid],
        classes=np.array(data.classes),
    )
    payload = lzma.compress(buffer.getvalue(), filters=XZ_FILTERS) if args.xz else buffer.getvalue()
    partial.write_bytes(payload)
    move_into_place(partial, args.out)
    print(
        f"{args.out}: {len(data.x_train[train]):,} train and {len(data.x_valid[valid]):,} validation images, "
        f"{len(data.classes)} classes"
    )


if __name__ == "__main__":
    main()
