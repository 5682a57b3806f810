"""Wall time and peak memory of one benchmark variant, run in a fresh child process.

A child per variant keeps one variant's caches and allocator from flattering
the next, and lets peak memory include every worker process it starts: the RSS
of the whole process tree is sampled every 50 ms.
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

import psutil


def measure(script: str, variant: str, source: Path, work: Path) -> dict[str, float]:
    """Run ``script --run-variant VARIANT SOURCE WORK``; its seconds and peak GB."""
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    child = psutil.Popen([sys.executable, script, "--run-variant", variant, str(source), str(work)])
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
