"""Kernels on the local server see their attached datasets, and have no network with the internet off."""

from __future__ import annotations

import json

import pytest
from builders import kernel_folder

from kagglekit.kaggle import kaggle_api
from kagglekit.standin import offline

OWNER = "kagglekit-demo"
NAME_RESOLUTION = "Temporary failure in name resolution"


def run_kernel(server, api, tmp_path, code: str, internet: bool, **metadata) -> tuple[object, str]:
    """Push ``code`` as a new kernel, wait for it; (its version on the server, its log's text).

    The push's answer is kept on the version, as ``push_response``, for the tests that read it.
    """
    folder = kernel_folder(
        tmp_path / f"k{len(list(tmp_path.glob('k*')))}",
        f"{OWNER}/net-check",
        code,
        enable_internet=internet,
        **metadata,
    )
    response = api.kernels_push(str(folder))
    assert not response.error, response.error
    server.kernels.wait_idle()
    version = server.kernels.find(OWNER, "net-check", response.version_number)
    version.push_response = response
    return version, "".join(event["data"] for event in version.log)


def urlopen(url: str) -> str:
    return f"import urllib.request\nprint(urllib.request.urlopen({url!r}, timeout=5).status)\n"


@pytest.fixture(params=["as this machine allows", "without network namespaces"])
def isolation(request, monkeypatch) -> str:
    """Both ways an offline kernel is kept offline: the namespace where allowed, sitecustomize alone where not."""
    if request.param == "without network namespaces":
        monkeypatch.setattr("kagglekit.standin.kernel_server.namespace_prefix", lambda: ())
        return "sitecustomize"
    return "network namespace + sitecustomize" if offline.namespace_prefix() else "sitecustomize"


def test_an_offline_kernel_cannot_reach_the_stand_in_and_an_online_one_can(kaggle_server, tmp_path, isolation):
    api = kaggle_api.authenticate()
    url = f"{kaggle_server.proxy_url}/kernel-output/none"  # the server itself, on 127.0.0.1: answers 404

    version, log = run_kernel(kaggle_server, api, tmp_path, urlopen(url), internet=False)
    assert version.status == "ERROR" and NAME_RESOLUTION in log
    assert NAME_RESOLUTION in version.failure_message
    assert version.isolation == isolation
    version, log = run_kernel(kaggle_server, api, tmp_path, urlopen("https://pypi.org/simple/"), internet=False)
    assert version.status == "ERROR" and NAME_RESOLUTION in log

    version, log = run_kernel(kaggle_server, api, tmp_path, urlopen(url), internet=True)
    assert "HTTP Error 404" in log and NAME_RESOLUTION not in log  # it got there


def test_pip_in_an_offline_kernel_fails_as_on_kaggle(kaggle_server, tmp_path):
    api = kaggle_api.authenticate()
    pip = (
        "import subprocess, sys\n"
        f"subprocess.run([sys.executable, '-m', 'pip', 'install', '--retries', '1', '--no-cache-dir',"
        f" '--index-url', '{kaggle_server.proxy_url}/simple', 'not-a-package'], check=True)\n"
    )
    version, log = run_kernel(kaggle_server, api, tmp_path, pip, internet=False)
    assert version.status == "ERROR"
    assert "WARNING: Retrying" in log and f"[Errno -3] {NAME_RESOLUTION}" in log  # pip's urllib3 words it by version
    assert "Could not find a version that satisfies the requirement not-a-package" in log


@pytest.mark.skipif(not offline.namespace_prefix(), reason="network namespaces are not allowed here")
def test_an_offline_kernels_children_have_no_network_even_without_python(kaggle_server, tmp_path):
    api = kaggle_api.authenticate()
    code = (
        "import subprocess, sys\n"  # a Python that skips sitecustomize (-I) meets the namespace instead
        f"subprocess.run([sys.executable, '-I', '-c', {urlopen(kaggle_server.proxy_url)!r}], check=True)\n"
    )
    version, log = run_kernel(kaggle_server, api, tmp_path, code, internet=False)
    assert version.status == "ERROR" and "Network is unreachable" in log


def test_attached_datasets_appear_under_kaggle_input(kaggle_server, tmp_path):
    api = kaggle_api.authenticate()
    folder = tmp_path / "data"
    (folder / "weights").mkdir(parents=True)
    (folder / "weights" / "best.keras").write_bytes(b"weights")
    (folder / "config.json").write_text("{}")
    metadata = {"title": "kagglekit run", "id": f"{OWNER}/kagglekit-run", "licenses": [{"name": "CC0-1.0"}]}
    (folder / "dataset-metadata.json").write_text(json.dumps(metadata))
    assert api.dataset_create_new(str(folder), quiet=True, dir_mode="zip").status == "ok"

    code = (
        "import os, pathlib\n"
        "root = pathlib.Path(os.environ['KAGGLE_CACHE_MOUNT_FOLDER'])\n"
        "print(sorted(str(p.relative_to(root)) for p in root.rglob('*') if p.is_file()))\n"
    )
    version, log = run_kernel(
        kaggle_server,
        api,
        tmp_path,
        code,
        internet=False,
        dataset_sources=[f"{OWNER}/kagglekit-run", f"{OWNER}/not-there"],
        model_sources=["someone/model/keras/v1/1"],
    )
    assert version.status == "COMPLETE", log
    expected = [
        "datasets/kagglekit-demo/kagglekit-run/config.json",
        "datasets/kagglekit-demo/kagglekit-run/weights/best.keras",
    ]
    assert str(expected) in log
    assert version.push_response.invalid_dataset_sources == [f"{OWNER}/not-there"]
    assert version.push_response.invalid_model_sources == ["someone/model/keras/v1/1"]


def write_wheel(folder, name: str = "standin_probe", version: str = "1.0"):
    """The smallest wheel pip installs: one module, its METADATA, WHEEL and RECORD."""
    import zipfile

    info = f"{name}-{version}.dist-info"
    members = {
        f"{name}.py": "ANSWER = 42\n",
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name.replace('_', '-')}\nVersion: {version}\n",
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    members[f"{info}/RECORD"] = "".join(f"{m},,\n" for m in members) + f"{info}/RECORD,,\n"
    path = folder / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        for member, text in members.items():
            archive.writestr(member, text)
    return path


def test_an_offline_kernel_installs_from_attached_wheels_into_its_own_python(kaggle_server, tmp_path):
    api = kaggle_api.authenticate()
    folder = tmp_path / "wheels"
    folder.mkdir()
    write_wheel(folder)
    metadata = {"title": "probe wheels", "id": f"{OWNER}/probe-wheels", "licenses": [{"name": "CC0-1.0"}]}
    (folder / "dataset-metadata.json").write_text(json.dumps(metadata))
    assert api.dataset_create_new(str(folder), quiet=True).status == "ok"

    code = (
        "import os, subprocess, sys\n"
        "wheels = os.path.join(os.environ['KAGGLE_CACHE_MOUNT_FOLDER'], 'datasets/kagglekit-demo/probe-wheels')\n"
        "subprocess.run([sys.executable, '-m', 'pip', 'install', '--no-index', '--find-links', wheels,"
        " 'standin-probe'], check=True)\n"
        "import standin_probe; print('answer', standin_probe.ANSWER)\n"
    )
    version, log = run_kernel(kaggle_server, api, tmp_path, code, internet=False, dataset_sources=[metadata["id"]])
    assert version.status == "COMPLETE", log
    assert "answer 42" in log
    with pytest.raises(ImportError):  # the kernel's install stayed in the kernel's Python
        import standin_probe  # noqa: F401


def test_the_offline_sitecustomize_lets_the_images_own_one_run_too(tmp_path):
    import subprocess
    import sys

    image = tmp_path / "image"
    image.mkdir()
    (image / "sitecustomize.py").write_text("print('the image sitecustomize ran')\n")
    ours = offline.offline_pythonpath(tmp_path / "offline")
    probe = "import socket\ntry:\n    socket.getaddrinfo('pypi.org', 443)\nexcept OSError as e:\n    print(e)\n"
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": f"{ours}:{image}"}
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.splitlines() == ["the image sitecustomize ran", f"[Errno -3] {NAME_RESOLUTION}"], out.stderr
