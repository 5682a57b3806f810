"""The offline inference kernel of a code competition: its wheels, its run, its install, its script.

The install is tried in simulated Kaggle images: plain venvs holding tiny fake
distributions (a version and a marker module each) of what each image ships:
TensorFlow and Keras (GPU), tensorflow-cpu, JAX and Keras (TPU), both backends
(CPU), with numpy, pandas and the rest, and an old kaggle client. The real
install step then runs there with no index against the wheelhouse
``build_wheelhouse`` makes (kagglekit's real wheel; the rest taken from a
folder of fakes standing in for PyPI); the image's TensorFlow, JAX and Keras
must come out byte for byte as they were.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from kagglekit.cli import main
from kagglekit.data import fetch
from kagglekit.exceptions import StageNotReadyError, UsageError
from kagglekit.markers import dataset_hash
from kagglekit.remote import offline_install
from kagglekit.remote.offline import (
    INSTALL_STEP,
    RUN_FILES,
    build_kagglekit_wheel,
    build_wheelhouse,
    export_run,
    inference_steps,
    wheelhouse_requirements,
    write_inference_kernel,
)
from kagglekit.standin.synthetic import CompetitionFiles
from kagglekit.submissions.formats import validate_csv
from kagglekit.training import backend

OWNER = "someone"
WHEELS, RUN = f"{OWNER}/kagglekit-wheels", f"{OWNER}/kagglekit-run-cifar-10"
# What every simulated image ships besides its backends: kagglekit's requirements that Kaggle's images have.
STOCK = {
    "numpy": "1.26.4",
    "pandas": "2.2.3",
    "pillow": "11.0.0",
    "matplotlib": "3.9.2",
    "six": "1.17.0",
    "tqdm": "4.67.1",
    "werkzeug": "3.1.3",
    "protobuf": "3.20.3",
    "kaggle": "1.6.17",
}
IMAGES = {
    "gpu": {"tensorflow": "2.18.0", "keras": "3.8.0"},
    "tpu": {"tensorflow-cpu": "2.18.0", "jax": "0.4.38", "jaxlib": "0.4.38", "keras": "3.8.0"},
    "cpu": {"tensorflow": "2.18.0", "jax": "0.4.38", "jaxlib": "0.4.38", "keras": "3.8.0"},
}
# What `make wheelhouse` downloads beside kagglekit's wheel (at constraints.txt's pins), faked: kagglekit's own
# requirements but what every image ships, and theirs (a fake needs none but kaggle's kagglesdk).
DOWNLOADED = {
    "py7zr": ("1.1.4", []),
    "kaggle": ("2.2.4", ["kagglesdk>=0.1.35"]),
    "kagglesdk": ("0.1.38", []),
    "six": ("1.17.0", []),
    "tqdm": ("4.70.1", []),
    "werkzeug": ("3.1.9", []),
}
MODULES = {"pillow": "PIL", "tensorflow-cpu": "tensorflow", "protobuf": "google_protobuf_marker"}


def fake_wheel(folder: Path, name: str, version: str, requires: list[str] | None = None) -> Path:
    """A real, installable wheel of ``name`` holding one marker module that records name and version."""
    dist = f"{name.replace('-', '_')}-{version}"
    module = MODULES.get(name, name.replace("-", "_"))
    files = {
        f"{module}/__init__.py": f"DISTRIBUTION = {name!r}\n__version__ = {version!r}\n".encode(),
        f"{dist}.dist-info/METADATA": "".join(
            [
                f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
                *(f"Requires-Dist: {r}\n" for r in requires or []),
            ]
        ).encode(),
        f"{dist}.dist-info/WHEEL": b"Wheel-Version: 1.0\nGenerator: kagglekit-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = "".join(f"{path},sha256={_urlsafe_sha256(data)},{len(data)}\n" for path, data in files.items())
    files[f"{dist}.dist-info/RECORD"] = (record + f"{dist}.dist-info/RECORD,,\n").encode()
    wheel = folder / f"{dist}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, data in files.items():
            archive.writestr(path, data)
    return wheel


def _urlsafe_sha256(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


# Run inside an image's Python: every installed distribution, its version and the sha256 of each of its files.
SNAPSHOT = """
import hashlib, importlib.metadata as m, json
print(json.dumps({d.metadata["Name"].lower(): [d.version, {str(f): hashlib.sha256(f.locate().read_bytes()).hexdigest()
                  for f in d.files or []}] for d in m.distributions()}))
"""


def snapshot(python: Path) -> dict[str, list]:
    return json.loads(subprocess.run([python, "-c", SNAPSHOT], capture_output=True, text=True, check=True).stdout)


@pytest.fixture(scope="module")
def kagglekit_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_kagglekit_wheel(tmp_path_factory.mktemp("kagglekit-wheel"))


def test_kagglekit_wheel_is_the_same_bytes_at_every_build_and_names_no_backend(kagglekit_wheel, tmp_path):
    again = build_kagglekit_wheel(tmp_path)
    assert again.read_bytes() == kagglekit_wheel.read_bytes()
    with zipfile.ZipFile(kagglekit_wheel) as archive:
        names = archive.namelist()
        metadata = archive.read(next(n for n in names if n.endswith("METADATA"))).decode()
    assert "kagglekit/competitions/cifar-10.toml" in names and not any("__pycache__" in n for n in names)
    required = [line for line in metadata.splitlines() if line.startswith("Requires-Dist:") and "extra ==" not in line]
    assert not [line for line in required if any(b in line for b in ("tensorflow", "jax", "keras"))], required
    assert 'Requires-Dist: tensorflow<3,>=2.16; extra == "tensorflow"' in metadata
    wanted = {r.split("<")[0].split(">")[0].split("=")[0] for r in wheelhouse_requirements(kagglekit_wheel, "3.12")}
    assert wanted == {"kaggle", "six", "py7zr", "tqdm", "werkzeug"}  # numpy, pandas, pillow, matplotlib: the image's


@pytest.mark.slow
def test_offline_install_leaves_each_images_tensorflow_jax_and_keras_as_they_were(kagglekit_wheel, tmp_path):
    pypi, image_wheels = tmp_path / "pypi", tmp_path / "image-wheels"  # what PyPI serves; what the images ship
    pypi.mkdir(), image_wheels.mkdir()
    for name, (version, requires) in DOWNLOADED.items():
        fake_wheel(pypi, name, version, requires)
    fake_wheel(pypi, "tqdm", "4.0.0")  # not the pinned version: never taken
    wheelhouse = build_wheelhouse(tmp_path / "wheelhouse", find_links=pypi)
    assert sorted(p.name for p in wheelhouse.iterdir()) == sorted(
        [kagglekit_wheel.name, INSTALL_STEP, *(f"{n}-{v}-py3-none-any.whl" for n, (v, _) in DOWNLOADED.items())]
    )
    for name, version in {**STOCK, **{n: v for image in IMAGES.values() for n, v in image.items()}}.items():
        fake_wheel(image_wheels, name, version)
    base = tmp_path / "base"
    subprocess.run([sys.executable, "-m", "venv", base], check=True)  # one pip, copied into each image
    for image, backends in IMAGES.items():
        root = tmp_path / image
        shutil.copytree(base, root, symlinks=True)
        python = root / "bin" / "python"
        subprocess.run(
            [
                python,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--no-index",
                "--disable-pip-version-check",
                "--find-links",
                image_wheels,
                *[f"{n}=={v}" for n, v in {**STOCK, **backends}.items()],
            ],
            check=True,
        )
        before = snapshot(python)
        install = subprocess.run(
            [python, wheelhouse / INSTALL_STEP, wheelhouse, tmp_path / f"scratch-{image}"],
            capture_output=True,
            text=True,
            env={**os.environ, "PIP_INDEX_URL": "http://127.0.0.1:9/"},
        )
        assert install.returncode == 0, f"{image}: {install.stdout}{install.stderr}"
        after = snapshot(python)
        for name in backends:
            assert after[name] == before[name], f"{image}: {name} changed"
        assert after["kaggle"][0] == "2.2.4" and after["py7zr"][0] == "1.1.4"  # what the image lacked came in
        assert after["numpy"] == before["numpy"]
        imported = subprocess.run(
            [python, "-c", "import kagglekit, importlib.metadata as m; print(m.version('kagglekit'))"],
            capture_output=True,
            text=True,
        )
        assert imported.stdout.strip() == "0.1.0", f"{image}: {imported.stderr}"

    # A wheelhouse whose kaggle needs a newer protobuf than the image's: pip stops, and protobuf stays.
    clashing = tmp_path / "clashing-wheelhouse"
    shutil.copytree(wheelhouse, clashing)
    fake_wheel(clashing, "kaggle", "2.2.4", ["kagglesdk>=0.1.35", "protobuf>=5"])
    fake_wheel(clashing, "protobuf", "5.29.0")
    python = tmp_path / "gpu" / "bin" / "python"
    subprocess.run([python, "-m", "pip", "uninstall", "--quiet", "--yes", "kagglekit", "kaggle"], check=True)
    before = snapshot(python)
    install = subprocess.run(
        [python, clashing / INSTALL_STEP, clashing, tmp_path / "scratch-clash"], capture_output=True, text=True
    )
    assert install.returncode != 0 and snapshot(python) == before
    assert install.stderr.strip().splitlines()[-1].startswith("kagglekit: pip could not install kagglekit from")


@pytest.mark.parametrize("layout", ["datasets/someone/kagglekit-wheels", "kagglekit-wheels"])
def test_a_dataset_is_found_where_kaggle_mounts_it(tmp_path, monkeypatch, layout):
    (tmp_path / layout).mkdir(parents=True)
    monkeypatch.setenv("KAGGLE_CACHE_MOUNT_FOLDER", str(tmp_path))
    assert offline_install.mounted_dataset(WHEELS) == tmp_path / layout
    assert offline_install.mounted_dataset(f"{WHEELS}/3") == tmp_path / layout  # a pinned version mounts alike


def test_a_dataset_not_attached_is_one_line_saying_how_to_attach_it(tmp_path, monkeypatch):
    monkeypatch.setenv("KAGGLE_CACHE_MOUNT_FOLDER", str(tmp_path))
    with pytest.raises(SystemExit) as stopped:
        offline_install.mounted_dataset(RUN)
    assert "not mounted" in str(stopped.value) and "Add Input" in str(stopped.value)
    assert "\n" not in str(stopped.value)


def _fake_run(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({"version": "fast", "version_id": "fast-0123abcd"}))
    (folder / "metrics.json").write_text(json.dumps({"best_val_accuracy": 0.5}))
    (folder / "best.keras").write_bytes(b"model bytes")
    for name in ("history.csv", "curves.png", "confusion.png"):
        (folder / name).write_bytes(name.encode())
    (folder / "state").mkdir()
    (folder / "state" / "weights.npz").write_bytes(b"resume point")
    return folder


def test_export_run_carries_only_what_predict_reads_and_its_hash_moves_only_with_the_model(tmp_path):
    run = _fake_run(tmp_path / "runs" / "fast-0123abcd-20260101-000000")
    exported = export_run(run, tmp_path / "dataset")
    assert sorted(p.name for p in exported.iterdir()) == sorted(RUN_FILES)
    first = dataset_hash(exported)
    (run / "history.csv").write_text("another epoch")
    (run / "curves.png").write_bytes(b"another plot")
    assert dataset_hash(export_run(run, tmp_path / "elsewhere")) == first  # another folder, same content
    (exported / "dataset-metadata.json").write_text("{}")  # what the upload adds beside the files
    assert dataset_hash(exported) == first
    (run / "best.keras").write_bytes(b"a better model")
    assert dataset_hash(export_run(run, tmp_path / "dataset")) != first


def test_export_run_refuses_an_unfinished_run_in_one_line(tmp_path):
    run = _fake_run(tmp_path / "run")
    (run / "metrics.json").unlink()
    with pytest.raises(StageNotReadyError, match="incomplete"):
        export_run(run, tmp_path / "dataset")
    assert not (tmp_path / "dataset").exists()


def test_inference_kernel_has_the_internet_off_and_the_datasets_and_competition_attached(tmp_path):
    folder = write_inference_kernel(
        tmp_path / "kernel",
        competition="cifar-10",
        kernel_id=f"{OWNER}/kagglekit-infer",
        wheels_dataset=WHEELS,
        run_dataset=RUN,
    )
    metadata = json.loads((folder / "kernel-metadata.json").read_text())
    assert metadata["enable_internet"] is False and metadata["is_private"] is True
    assert metadata["dataset_sources"] == [WHEELS, RUN] and metadata["competition_sources"] == ["cifar-10"]
    assert (metadata["kernel_type"], metadata["language"]) == ("script", "python")
    script = (folder / metadata["code_file"]).read_text()
    compile(script, metadata["code_file"], "exec")
    assert "--no-index" in offline_install.pip_install_command(Path("w"), Path("c")) and "install_kagglekit(" in script
    with pytest.raises(UsageError, match="unknown accelerator"):
        write_inference_kernel(
            tmp_path / "k2",
            competition="cifar-10",
            kernel_id=f"{OWNER}/k",
            wheels_dataset=WHEELS,
            run_dataset=RUN,
            accelerator="h100",
        )


@pytest.mark.slow
def test_the_kernel_script_writes_submission_csv_alone_in_working(
    tiny_run, competition_files: CompetitionFiles, kagglekit_wheel, tmp_path
):
    kaggle = tmp_path / "kaggle"
    competition = kaggle / "input" / "competitions" / "cifar-10"
    competition.mkdir(parents=True)
    for name, source in competition_files.files.items():
        shutil.copyfile(source, competition / name)
    wheels = kaggle / "input" / "datasets" / WHEELS
    wheels.mkdir(parents=True)
    shutil.copy(kagglekit_wheel, wheels)  # already installed here (editable): pip keeps it
    export_run(tiny_run, kaggle / "input" / "datasets" / RUN)
    for folder in ("working", "temp", "home"):
        (kaggle / folder).mkdir()
    folder = write_inference_kernel(
        tmp_path / "kernel",
        competition="cifar-10",
        kernel_id=f"{OWNER}/kagglekit-infer",
        wheels_dataset=WHEELS,
        run_dataset=RUN,
    )
    dead = "http://127.0.0.1:9"  # the internet is off: anything that reaches out fails
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KAGGLE", "http", "HTTP"))}
    env.update(
        {
            "KAGGLE_KERNEL_RUN_TYPE": "Batch",
            "KAGGLE_CACHE_MOUNT_FOLDER": str(kaggle / "input"),
            "KAGGLEKIT_KAGGLE_WORKING": str(kaggle / "working"),
            "KAGGLEKIT_KAGGLE_TEMP": str(kaggle / "temp"),
            "HOME": str(kaggle / "home"),
            "HTTP_PROXY": dead,
            "HTTPS_PROXY": dead,
            "PIP_INDEX_URL": dead,
        }
    )
    result = subprocess.run(
        [sys.executable, folder / "kagglekit_run.py"],
        cwd=kaggle / "working",
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert [p.name for p in (kaggle / "working").iterdir()] == ["submission.csv"]
    csv = kaggle / "working" / "submission.csv"
    [record] = (kaggle / "temp" / "submissions").glob("*/prediction.json")
    prediction = json.loads(record.read_text())
    assert prediction["run_dir"] == str(kaggle / "input" / "datasets" / RUN) and prediction["val_score"] is None
    assert csv.read_bytes() == (record.parent / "submission.csv").read_bytes()
    assert validate_csv(csv, competition / "sampleSubmission.csv", prediction["classes"]) == 40
    cache = kaggle / "temp" / "data" / "cifar-10" / "cache"
    assert (cache / "test_images.npy").is_file() and not (cache / "train_images.npy").exists()  # test split only
    steps = inference_steps("cifar-10", kaggle / "input" / "datasets" / RUN, kaggle / "temp")
    assert [f"== kagglekit {' '.join(step)}" in result.stdout for step in steps] == [True] * 3


def test_fetch_no_attach_never_asks_kagglehub(tmp_path, monkeypatch):
    def reach_out(slug: str) -> Path:
        raise AssertionError("kagglehub reaches Kaggle's data proxy: an offline kernel has no network")

    monkeypatch.setattr(fetch, "_kagglehub_mount", reach_out)
    monkeypatch.setenv("KAGGLE_CACHE_MOUNT_FOLDER", str(tmp_path))
    (tmp_path / "competitions" / "cifar-10").mkdir(parents=True)
    assert fetch.mounted_competition_dir("cifar-10", attach=False) == tmp_path / "competitions" / "cifar-10"


def test_no_keras_backend_is_one_line_saying_what_to_install(monkeypatch, capsys):
    monkeypatch.setattr(backend, "find_spec", lambda name: None)
    assert main(["predict", "fast"]) == 1
    [line] = capsys.readouterr().err.splitlines()
    assert "no Keras backend is installed" in line and "pip install 'kagglekit[tensorflow]'" in line


def test_a_named_backend_that_is_absent_or_keras_missing_is_said_too():
    only_tensorflow = {"tensorflow": object()}.get
    message = backend.missing(only_tensorflow, {"KERAS_BACKEND": "jax"})
    assert message is not None and "KERAS_BACKEND=jax" in message and "kagglekit[jax]" in message
    assert "Keras is not installed" in str(backend.missing(only_tensorflow, {}))
    assert backend.missing({"jax": 1, "keras": 1}.get, {}) is None
