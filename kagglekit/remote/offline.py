"""Code competitions: what an inference kernel with the internet off needs, and the kernel itself.

Kaggle reruns a code competition's kernel on the hidden test set with no
internet, so pip reaches nothing and every byte the kernel needs comes in as an
attached input: kagglekit and the wheels a Kaggle image lacks (a dataset built
by ``build_wheelhouse``), the trained run (a dataset made by ``export_run``),
and the competition itself. ``write_inference_kernel`` writes the kernel folder
that attaches the three; its script installs kagglekit with
``kagglekit.remote.offline_install`` and runs ``infer``.

Both datasets are built so that their content hash (``markers.dataset_hash``)
changes only when what they carry changes: the wheels are pinned
(constraints.txt) and kagglekit's own wheel is built with fixed timestamps from
a clean copy of the source; the run is only the files predict reads.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any, Callable

from kagglekit.exceptions import KagglekitError, UsageError
from kagglekit.markers import dataset_hash
from kagglekit.outputs import fresh_partial_dir, move_into_place
from kagglekit.paths import KAGGLE_TEMP_ENV, kaggle_temp, kaggle_working
from kagglekit.remote import offline_install
from kagglekit.remote.accelerators import ACCELERATORS
from kagglekit.remote.kernels import write_kernel_folder
from kagglekit.submissions.formats import CSV
from kagglekit.training.runs import BEST_MODEL, CONFIG, METRICS, load_run

SOURCE_ROOT = Path(__file__).resolve().parents[2]  # the checkout kagglekit runs from (pyproject.toml beside it)
SOURCE_FILES = ("pyproject.toml", "README.md")  # what setuptools reads beside the package
# What every Kaggle image ships, compiled against its own stack: never in the wheelhouse (nor are the Keras
# backends, which kagglekit's wheel names only as extras).
IMAGE_SHIPS = frozenset({"numpy", "pandas", "pillow", "matplotlib"})
WHEEL_PYTHON = "3.12"  # Kaggle's notebook image
WHEEL_PLATFORMS = ("manylinux2014_x86_64", "manylinux_2_17_x86_64", "manylinux_2_28_x86_64")
FIXED_WHEEL_TIME = "315532800"  # 1980-01-01, the earliest a zip can record: the same bytes at every build
INSTALL_STEP = "offline_install.py"  # beside the wheels; pip's --find-links passes over it
RUN_FILES = (CONFIG, METRICS, BEST_MODEL)  # what `predict RUN` reads of a run: recipe and classes, metrics, model


# -- the wheels dataset ---------------------------------------------------------------


def build_wheelhouse(
    dest: Path,
    *,
    python_version: str = WHEEL_PYTHON,
    platforms: tuple[str, ...] = WHEEL_PLATFORMS,
    find_links: Path | None = None,
) -> Path:
    """kagglekit's wheel and the pinned wheels of what it needs that a Kaggle image may lack, for that image's
    Python and platform (from PyPI, or only from the wheels in ``find_links``: a mirror, no network), and the
    install step as a file (a notebook cell runs it: README); built beside ``dest`` and swapped in whole."""
    partial = fresh_partial_dir(dest)
    wheel = build_kagglekit_wheel(partial)
    download_dependencies(wheel, partial, python_version, platforms, find_links)
    shutil.copyfile(offline_install.__file__, partial / INSTALL_STEP)
    move_into_place(partial, dest)
    return dest


def build_kagglekit_wheel(dest: Path) -> Path:
    """kagglekit's own wheel, from a clean copy of the source (no stale build/ or stray caches), with fixed
    timestamps, without network (the venv's setuptools builds it); returns the wheel's path."""
    if not (SOURCE_ROOT / "pyproject.toml").is_file():
        raise UsageError(
            f"kagglekit runs from {SOURCE_ROOT}, which is not its source tree (no pyproject.toml); "
            "build the wheelhouse from a clone of kagglekit"
        )
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="kagglekit-wheel-") as scratch:
        source = Path(scratch) / "kagglekit-source"
        shutil.copytree(
            SOURCE_ROOT / "kagglekit", source / "kagglekit", ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
        )
        for name in SOURCE_FILES:
            shutil.copy2(SOURCE_ROOT / name, source / name)
        built = Path(scratch) / "wheel"
        _pip(
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--wheel-dir",
            str(built),
            str(source),
            env={"SOURCE_DATE_EPOCH": FIXED_WHEEL_TIME},
        )
        [wheel] = built.glob("kagglekit-*.whl")
        return Path(shutil.move(wheel, dest / wheel.name))


def download_dependencies(
    wheel: Path, dest: Path, python_version: str, platforms: tuple[str, ...], find_links: Path | None = None
) -> None:
    """Binary wheels, with their own dependencies, of what ``wheel`` requires but IMAGE_SHIPS, at
    constraints.txt's pins (which name every one of them, so the set does not drift as PyPI moves on)."""
    requirements = wheelhouse_requirements(wheel, python_version)
    _pip(
        "download",
        "--only-binary=:all:",
        "--python-version",
        python_version,
        *[flag for platform in platforms for flag in ("--platform", platform)],
        "--constraint",
        str(SOURCE_ROOT / "constraints.txt"),
        "--dest",
        str(dest),
        *(["--no-index", "--find-links", str(find_links)] if find_links else []),
        *requirements,
    )


def wheelhouse_requirements(wheel: Path, python_version: str) -> list[str]:
    """``wheel``'s own requirements (Requires-Dist, no extras) for ``python_version``, but what IMAGE_SHIPS."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    with zipfile.ZipFile(wheel) as archive:
        [name] = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        lines = archive.read(name).decode().splitlines()
    environment = {"python_version": python_version, "extra": ""}
    wanted = []
    for line in lines:
        if not line.startswith("Requires-Dist:"):
            continue
        requirement = Requirement(line.partition(":")[2].strip())
        if requirement.marker is not None and not requirement.marker.evaluate(environment):
            continue  # an extra (tensorflow, jax, test, bench), or another Python's
        if canonicalize_name(requirement.name) not in IMAGE_SHIPS:
            requirement.marker = None
            wanted.append(str(requirement))
    return wanted


def _pip(*arguments: str, env: dict[str, str] | None = None) -> None:
    """pip in this interpreter; its own message, then one line, when it fails."""
    command = [sys.executable, "-m", "pip", *arguments, "--quiet", "--disable-pip-version-check"]
    if subprocess.run(command, env={**os.environ, **(env or {})}).returncode != 0:
        raise KagglekitError(f"pip {arguments[0]} failed (its message is above): {' '.join(command[3:])}")


# -- the run dataset ------------------------------------------------------------------


def export_run(run_dir: Path, dest: Path) -> Path:
    """The files of a finished run that `predict RUN` reads, and nothing else (no history, plots or resume
    point), so the dataset's hash changes only with the model; built beside ``dest``, swapped in whole."""
    load_run(run_dir)  # a finished run with its model, or one line saying what it lacks
    partial = fresh_partial_dir(dest)
    for name in RUN_FILES:
        shutil.copyfile(Path(run_dir) / name, partial / name)
    move_into_place(partial, dest)
    return dest


# -- the kernel -----------------------------------------------------------------------


def write_inference_kernel(
    folder: Path,
    *,
    competition: str,
    kernel_id: str,
    wheels_dataset: str,
    run_dataset: str,
    accelerator: str = "cpu",
    tta: str | None = None,
    token: str = "",
) -> Path:
    """A script kernel with the internet off, the two datasets (OWNER/SLUG) and the competition attached,
    whose script installs kagglekit from the wheels and writes /kaggle/working/submission.csv."""
    if accelerator not in ACCELERATORS:
        raise UsageError(f"unknown accelerator {accelerator!r}; known: {', '.join(sorted(ACCELERATORS))}")
    spec = {"competition": competition, "wheels": wheels_dataset, "run": run_dataset, "tta": tta, "token": token}
    return write_kernel_folder(
        folder,
        kernel_id,
        inference_script(spec),
        competition=competition,
        machine_shape=ACCELERATORS[accelerator],
        internet=False,
        datasets=(wheels_dataset, run_dataset),
    )


def inference_script(spec: dict[str, Any]) -> str:
    """The install step's source (before its __main__ block), then the call of ``infer``."""
    install = Path(offline_install.__file__).read_text().split('\nif __name__ == "__main__":')[0]
    return SCRIPT_TEMPLATE.format(
        competition=spec["competition"],
        wheels=spec["wheels"],
        run=spec["run"],
        install=install.strip(),
        spec=json.dumps(spec),
        temp_env=KAGGLE_TEMP_ENV,
    )


SCRIPT_TEMPLATE = """\
# kagglekit offline inference for {competition}, written by kagglekit (kagglekit.remote.offline).
# Kaggle reruns it on the hidden test set with the internet off: kagglekit comes from the wheels dataset
# {wheels}, the trained run from {run}, the images from the competition's mount.
{install}


import importlib
import json

SPEC = json.loads({spec!r})
install_kagglekit(mounted_dataset(SPEC["wheels"]), Path(os.environ.get("{temp_env}") or "/kaggle/temp"))
importlib.invalidate_caches()  # kagglekit was installed after this interpreter started
from kagglekit.cli import main as run_stage
from kagglekit.remote.offline import infer

sys.exit(infer(SPEC, run_stage))
"""


def inference_steps(competition: str, run: Path, temp: Path, tta: str | None = None) -> list[list[str]]:
    """The stages an offline kernel runs (the notebook cells of README): the mounted competition linked (no
    kagglehub: no network), its test images unpacked, predicted by the attached run with no validation split
    (the kernel has none), the records in scratch, so /kaggle/working gets submission.csv alone."""
    on = ["--competition", competition, "--data-dir", str(temp / "data")]
    return [
        ["fetch", *on, "--no-attach"],
        ["unpack", *on, "--split", "test"],
        [
            "predict",
            str(run),
            *on,
            "--submissions-dir",
            str(temp / "submissions"),
            "--no-validation",
            *(["--tta", tta] if tta else []),
        ],
    ]


def infer(spec: dict[str, Any], run_stage: Callable[[list[str]], int]) -> int:
    """In the kernel, once kagglekit is installed: each of ``inference_steps`` as ``run_stage(argv)`` (the CLI's
    ``main``); 0 when /kaggle/working/submission.csv is written."""
    run = offline_install.mounted_dataset(spec["run"])
    use_carried_spec(spec["competition"], run, kaggle_temp())
    for argv in inference_steps(spec["competition"], run, kaggle_temp(), spec.get("tta")):
        print(f"\n== kagglekit {' '.join(argv)}", flush=True)
        code = run_stage(argv)
        if code:
            return code
    csv = kaggle_working() / CSV
    if not csv.is_file():
        print(
            f"kagglekit: predict finished but wrote no {csv}: is this a Kaggle notebook (KAGGLE_KERNEL_RUN_TYPE "
            "unset)?",
            file=sys.stderr,
        )
        return 1
    print(f"kagglekit: wrote {csv}")
    if spec.get("token"):  # last: the log then tells this version's finished output from an earlier version's
        print(f"kagglekit: inference run {spec['token']} finished", flush=True)
    return 0


def use_carried_spec(competition: str, run: Path, temp: Path) -> None:
    """The spec the run dataset carries (``<slug>.toml``, a user's own: no shipped spec is a code competition's),
    put where the stages look first, ./competitions/, under ``temp`` made the working directory, so that
    /kaggle/working still gets submission.csv alone. Without one, kagglekit's shipped specs serve."""
    carried = run / f"{competition}.toml"
    if not carried.is_file():
        return
    (temp / "competitions").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(carried, temp / "competitions" / carried.name)
    os.chdir(temp)


def main(argv: list[str] | None = None) -> int:
    """``python -m kagglekit.remote.offline DEST [--python X.Y] [--platform TAG ...]``: what `make wheelhouse` runs."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m kagglekit.remote.offline", description=main.__doc__)
    parser.add_argument("dest", type=Path, help="the wheelhouse folder (replaced whole)")
    parser.add_argument("--python", default=WHEEL_PYTHON, help=f"the notebook's Python (default: {WHEEL_PYTHON})")
    parser.add_argument(
        "--platform", action="append", help=f"wheel platform tags (default: {' '.join(WHEEL_PLATFORMS)})"
    )
    parser.add_argument("--find-links", type=Path, help="take the wheels from this folder only, not from PyPI")
    args = parser.parse_args(argv)
    try:
        platforms = tuple(args.platform or WHEEL_PLATFORMS)
        dest = build_wheelhouse(args.dest, python_version=args.python, platforms=platforms, find_links=args.find_links)
    except KagglekitError as error:
        print(f"wheelhouse: error: {error}", file=sys.stderr)
        return error.exit_code
    wheels = sorted(path.name for path in dest.glob("*.whl"))
    print(f"wheelhouse: {dest}: {len(wheels)} wheels, content hash {dataset_hash(dest)[:16]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
