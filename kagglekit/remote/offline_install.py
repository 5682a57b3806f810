"""The first step of an offline kernel: install kagglekit from the attached wheels, keeping the image's own stack.

A code competition reruns the kernel with the internet off, so pip can only use
the wheels dataset (``--no-index --find-links``) and what the image already has.
That dataset holds no TensorFlow, JAX or Keras, so pip cannot replace them; the
image's versions of them, and of what they are compiled against, are also
passed to pip as constraints, so that a wheel in the dataset needing another
version of one of them makes pip stop with its own message instead of quietly
changing the image (Kaggle's TPU image has ``tensorflow-cpu`` and JAX, its GPU
image ``tensorflow`` and JAX's CUDA build: each stays as it is).

Standard library only, because it runs before kagglekit exists: its source is
copied into the pushed script (``kagglekit.remote.offline``), and run as a file
it is the same step for a test or by hand:
``python offline_install.py WHEELS_DIR SCRATCH_DIR``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

# kagglehub's name for the root Kaggle mounts inputs under (kagglekit.data.fetch reads the same variable).
MOUNT_ROOT_ENV = "KAGGLE_CACHE_MOUNT_FOLDER"
DEFAULT_MOUNT_ROOT = "/kaggle/input"
# The image's deep-learning stack: never changed by the install, whichever of them this image has.
KEPT = (
    "tensorflow",
    "tensorflow-cpu",
    "tensorflow-tpu",
    "tf-keras",
    "keras",
    "jax",
    "jaxlib",
    "libtpu",
    "jax-cuda12-plugin",
    "jax-cuda12-pjrt",
    "numpy",
    "ml-dtypes",
    "protobuf",
)
PACKAGE = "kagglekit"


def mounted_dataset(ref: str) -> Path:
    """Where the notebook mounts dataset ``ref`` (OWNER/SLUG, optionally /VERSION): datasets/OWNER/SLUG today,
    SLUG in older notebooks. Exits with one line when it is not attached."""
    owner, slug = ref.split("/")[:2]
    root = Path(os.environ.get(MOUNT_ROOT_ENV) or DEFAULT_MOUNT_ROOT)
    for candidate in (root / "datasets" / owner / slug, root / slug):
        if candidate.is_dir():
            return candidate
    sys.exit(
        f"kagglekit: dataset {owner}/{slug} is not mounted under {root}/datasets/{owner}/ or {root}/: "
        f"attach it (Add Input > Datasets > {slug}) and run again"
    )


def kept_versions() -> list[str]:
    """``NAME==VERSION`` for each of KEPT this image has: pip's constraints."""
    pins = []
    for name in KEPT:
        try:
            pins.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            continue
    return pins


def pip_install_command(wheels: Path, constraints: Path) -> list[str]:
    """The pip line: only the wheels in ``wheels`` and what is installed; nothing fetched, nothing upgraded."""
    return [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--no-index",
        "--find-links",
        str(wheels),
        "--constraint",
        str(constraints),
        "--disable-pip-version-check",
        "--no-input",
        "--root-user-action=ignore",
        PACKAGE,
    ]


def install_kagglekit(wheels: Path, scratch: Path) -> None:
    """pip-install kagglekit from ``wheels`` (the constraints file goes to ``scratch``, not the kept output)."""
    scratch.mkdir(parents=True, exist_ok=True)
    constraints = scratch / "kagglekit-kept-packages.txt"
    constraints.write_text("".join(f"{pin}\n" for pin in kept_versions()))
    if subprocess.run(pip_install_command(wheels, constraints)).returncode != 0:
        sys.exit(
            f"kagglekit: pip could not install {PACKAGE} from {wheels} with no index (its message is above); "
            "rebuild the wheels dataset (make wheelhouse) for this image's Python, "
            f"{sys.version_info.major}.{sys.version_info.minor}"
        )


if __name__ == "__main__":
    install_kagglekit(Path(sys.argv[1]), Path(sys.argv[2]))
