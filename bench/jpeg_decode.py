"""Benchmark: dogs-vs-cats-redux's photographs into the pixel cache, kagglekit's unpack beside a plain decode.

    .venv/bin/python bench/jpeg_decode.py [--standin /work/exp/dogs-standin] [--work DIR] [--sample 2000]

``--standin`` is a folder with the competition's train.zip, test.zip and sample_submission.csv (as
bench/serve_dogs.py builds it: 12,000 photographs of 200x200 and 12,500 of 120..500 px). Both are timed
in this one process, one after the other, on the same archives:

  product  kagglekit's unpack (unpack_split of train, then of test) into WORK/data's cache at the spec's
           size with the spec's resize; once more for train as `make unpack` runs it, writing the
           training files to images/train/ as well
  plain    the same members read by the same zip reader and handed to as many worker processes as the
           product used, each decoded in full by Pillow (open, convert to RGB) then resized to the spec's
           size with the same filter: what a first version of a decoder would do

Then it prints how far the product's pixels are from the plain ones (mean absolute difference over a
``--sample`` of each split, 0..255): the product decodes JPEGs at a reduced scale (draft), which is
where its speed comes from, so it must not change much what the model sees. The CPU's model and
bfloat16/AVX-512 flags and the load average before and after go with the table: the machine is shared.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import re
import resource
import shutil
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

from kagglekit.competitions import MemberImages
from kagglekit.data.unpack import (
    DECODE_CHUNK,
    DEFAULT_MAX_UNPACKED_GIB,
    choose_members,
    decoder_workers,
    open_reader,
    split_source,
    unpack_split,
)
from kagglekit.paths import CompetitionPaths

SLUG = "dogs-vs-cats-redux-kernels-edition"
FILES = ("train.zip", "test.zip", "sample_submission.csv")


def cpu_description() -> str:
    """The CPU's model and the flags that decide its speed here (the same grep RESULTS.md quotes)."""
    text = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = next((line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("model name")), "?")
    flags = sorted(set(re.findall(r"\b(avx512[a-z_0-9]*|amx[a-z_]*)", text)))
    return f"{model}, {os.cpu_count()} cores, flags: {' '.join(flags) or 'none of avx512*/amx*'}"


def cpu_seconds() -> float:
    """User + system time of this process and of its finished children (the decoding workers, once reaped)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def prepared(standin: Path, work: Path) -> CompetitionPaths:
    """A fresh data directory whose raw/ links to the stand-in's files."""
    paths = CompetitionPaths(work / "data", SLUG)
    shutil.rmtree(paths.root, ignore_errors=True)
    paths.raw.mkdir(parents=True)
    for name in FILES:
        (paths.raw / name).symlink_to((standin / name).resolve())
    return paths


def product(paths: CompetitionPaths, split: str, write_files: bool = False) -> tuple[float, float]:
    """Wall and CPU seconds of kagglekit's own unpack of a split into the cache (``write_files``: and the
    training images to images/train/, as `make unpack` does, which the plain decoder does not)."""
    cpu = cpu_seconds()
    seconds = unpack_split(paths, split, write_files=write_files, force=True, progress=False).seconds
    return seconds, cpu_seconds() - cpu


def plain_decode(blobs: list[bytes], size: tuple[int, int]) -> np.ndarray:
    """Full decode, then one resize: no draft, no reduce."""
    height, width = size
    out = np.empty((len(blobs), height, width, 3), np.uint8)
    for position, blob in enumerate(blobs):
        image = Image.open(io.BytesIO(blob)).convert("RGB")
        out[position] = np.asarray(image.resize((width, height), Image.Resampling.BILINEAR))
    return out


def plain(paths: CompetitionPaths, split: str) -> tuple[float, np.ndarray, np.ndarray]:
    """The same members through the same reader, decoded the plain way in as many workers as the product used."""
    started = time.perf_counter()
    spec = paths.spec
    source = split_source(spec, split)
    assert isinstance(source, MemberImages)
    archive = paths.raw_file(source.file)
    max_bytes = int(DEFAULT_MAX_UNPACKED_GIB * 2**30)
    with open_reader(archive, source, max_bytes) as reader:
        members = reader.members()
        group = "label" if split == "train" else None
        chosen = choose_members(members, source, group, archive, split)
        workers = decoder_workers(len(chosen), sum(m.size for m in members)) or 1
        wanted = {c.name for c in chosen}
        chunks, batch = [], []
        with ProcessPoolExecutor(workers) as pool:
            for _, data in reader.stream(wanted):
                batch.append(data)
                if len(batch) == DECODE_CHUNK:
                    chunks.append(pool.submit(plain_decode, batch, spec.images.size))
                    batch = []
            if batch:
                chunks.append(pool.submit(plain_decode, batch, spec.images.size))
            images = np.concatenate([chunk.result() for chunk in chunks])
    return time.perf_counter() - started, images, np.array([c.id for c in chosen])


def difference(paths: CompetitionPaths, split: str, images: np.ndarray, ids: np.ndarray, sample: int) -> float:
    """Mean absolute difference (0..255) between the product's cache and the plain pixels, over a sample."""
    cached, cached_ids = np.load(paths.cache_images(split), mmap_mode="r"), np.load(paths.cache_ids(split))
    assert np.array_equal(cached_ids, ids), "the product and the plain decoder read the members in one order"
    rows = np.random.default_rng(0).choice(len(ids), min(sample, len(ids)), replace=False)
    rows.sort()
    return float(np.abs(cached[rows].astype(np.int16) - images[rows].astype(np.int16)).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--standin", type=Path, default=Path("/work/exp/dogs-standin"))
    parser.add_argument("--work", type=Path, default=Path(__file__).resolve().parent / "out" / "jpeg-decode")
    parser.add_argument("--sample", type=int, default=2000, help="images per split in the pixel comparison")
    args = parser.parse_args()
    paths = prepared(args.standin, args.work)
    height, width = paths.spec.images.size
    print(f"# {SLUG} photographs -> {height}x{width} cache ({paths.spec.images.resize})  {platform.node()}")
    print(f"# CPU: {cpu_description()}")
    print(f"# load average before: {load()}")
    with_files = product(paths, "train", write_files=True)
    measured = {split: product(paths, split) for split in ("train", "test")}
    rows, differences = [], {}
    for split in ("train", "test"):
        cpu = cpu_seconds()
        plain_seconds, images, ids = plain(paths, split)
        rows.append((split, len(ids), *measured[split], plain_seconds, cpu_seconds() - cpu))
        differences[split] = difference(paths, split, images, ids, args.sample)
    rows.append(("both", *(sum(row[k] for row in rows) for k in range(1, 6))))
    print(f"# load average after: {load()}\n")
    print(
        "| archive | images | product s | product CPU s | product images/s | plain s | plain CPU s | plain images/s "
        "| plain / product (wall) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for split, count, ours, our_cpu, theirs, their_cpu in rows:
        print(
            f"| {split} | {count:,} | {ours:.1f} | {our_cpu:.1f} | {count / ours:,.0f} | {theirs:.1f} | {their_cpu:.1f} "
            f"| {count / theirs:,.0f} | {theirs / ours:.2f} |"
        )
    print(f"\nmake unpack's train, writing images/train/ too: {with_files[0]:.1f} s, {with_files[1]:.1f} CPU s")
    shown = ", ".join(f"{split} {value:.2f}" for split, value in differences.items())
    print(f"\nmean |product - plain| per pixel channel (0..255, {args.sample} images a split): {shown}")


if __name__ == "__main__":
    main()
