"""Wall time and peak memory of one benchmark variant, run in a fresh child process.

A child per variant keeps one variant's caches and allocator from flattering
the next, and lets peak memory include every worker process it starts: the RSS
of the whole process tree is sampled every 50 ms.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path
from typing import Callable

import psutil

ROOT = Path(__file__).resolve().parents[1]


def parse_arguments(
    doc: str, only: list[str], variants: dict[str, Callable[[Path, Path], None]]
) -> argparse.Namespace | None:
    """The flags every benchmark shares. Returns None when this process was a
    child started by `measure` and has already run its one variant."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--shared", type=Path, default=ROOT.parent / "shared" / "cifar10", help="the real CIFAR-10 files"
    )
    parser.add_argument(
        "--out", type=Path, default=ROOT / "bench" / "out", help="stand-in archive, runs and scratch space"
    )
    parser.add_argument("--only", choices=only, help="run only this part")
    parser.add_argument("--run-variant", nargs=3, metavar=("VARIANT", "SOURCE", "WORK"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run_variant:
        variant, source, work = args.run_variant
        variants[variant](Path(source), Path(work))
        return None
    if not (args.shared / "train.7z").is_file():
        raise SystemExit(f"{args.shared}/train.7z not found: this benchmark needs the real CIFAR-10 files (--shared).")
    return args


def measure(script: str, variant: str, source: Path, work: Path, tree: Path | None = None) -> dict[str, float]:
    """Run ``script --run-variant VARIANT SOURCE WORK``; its seconds and peak GB. ``tree``: import kagglekit
    from that copy of another commit instead of this checkout (see ``run_in_tree``)."""
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    launcher = [__file__, "--in-tree", str(tree)] if tree else []
    child = psutil.Popen([sys.executable, *launcher, script, "--run-variant", variant, str(source), str(work)])
    peak = 0
    started = time.perf_counter()
    while child.poll() is None:
        peak = max(peak, tree_rss(child))
        time.sleep(0.05)
    seconds = time.perf_counter() - started
    if child.returncode != 0:
        raise SystemExit(f"{variant} failed with exit code {child.returncode}")
    shutil.rmtree(work, ignore_errors=True)
    return {"seconds": seconds, "peak_gb": peak / 1e9}


def tree_rss(process: psutil.Process) -> int:
    try:
        return sum(p.memory_info().rss for p in [process, *process.children(recursive=True)])
    except psutil.Error:
        return 0


def run_in_tree(tree: Path, script: str, arguments: list[str]) -> None:
    """Run ``script`` with kagglekit imported from ``tree``: this checkout's editable install answers
    imports before sys.path does, so its finder is dropped first."""
    import runpy

    sys.meta_path[:] = [
        f
        for f in sys.meta_path
        if "editable" not in type(f).__module__.lower() and "editable" not in getattr(f, "__name__", "").lower()
    ]
    sys.path[:0] = [str(Path(script).resolve().parent), str(tree)]
    sys.argv = [script, *arguments]
    runpy.run_path(script, run_name="__main__")


if __name__ == "__main__" and sys.argv[1:2] == ["--in-tree"]:
    run_in_tree(Path(sys.argv[2]), sys.argv[3], sys.argv[4:])
