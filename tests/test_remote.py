"""remote: push a kernel, wait, pull the run, submit — through the real kaggle client.

The local server runs each pushed script for real, in a subprocess under a
notebook-shaped temporary root, on this machine's CPU. So the successful chain
below trains a tiny model inside the "kernel", and the failures are real
failures of real runs (a corrupt archive, a GPU that is not there), not
switched-on answers. Only the lagging or unknown status, the quota and a broken
output URL are fault hooks, since no honest run produces them here.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kagglekit.cli import main
from kagglekit.exceptions import DataError
from kagglekit.jsonfiles import read_json
from kagglekit.kaggle import kaggle_api
from kagglekit.remote import kernels as remote
from kagglekit.remote.kernel_entry import DEVICE_REPORT, device_mismatch
from kagglekit.submissions.formats import validate_csv

MODEL = "seed-cifar10-modeling"


def remote_cli(tmp_path: Path, *extra: str) -> int:
    return main(
        [
            "remote",
            "--model",
            MODEL,
            "--data-dir",
            str(tmp_path / "data"),
            "--runs-dir",
            str(tmp_path / "runs"),
            "--submissions-dir",
            str(tmp_path / "subs"),
            "--remote-dir",
            str(tmp_path / "remote"),
            "--epochs",
            "1",
            "--interval",
            "0.2",
            *extra,
        ]
    )


def saves(server) -> int:
    return sum(path.endswith("/SaveKernel") for _, path in server.requests)


def one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("kagglekit remote: error: ")
    return err[0]


@pytest.mark.slow
def test_push_wait_pull_submit_with_a_lagging_status_and_an_interrupted_wait(kaggle_server, tmp_path, capsys):
    kaggle_server.kernels.serve_stale_status("COMPLETE")  # what Kaggle showed right after a push: the last version's

    assert remote_cli(tmp_path, "--accelerator", "cpu", "--wait", "0") == 1  # gave up waiting, kernel left running
    assert "still COMPLETE (of an earlier version)" in one_error_line(capsys)
    assert saves(kaggle_server) == 1
    assert not (tmp_path / "runs").exists()

    assert remote_cli(tmp_path, "--accelerator", "cpu", "--wait", "300") == 0  # the same command picks it up
    out = capsys.readouterr().out
    assert "picking up" in out and saves(kaggle_server) == 1

    [run_dir] = (tmp_path / "runs").iterdir()
    config, metrics, record = (read_json(run_dir / name) for name in ("config.json", "metrics.json", "remote.json"))
    assert config["version"] == MODEL and config["recipe"]["epochs"] == 1
    assert metrics["device_kind"] == "CPU" and record["requested"] is None
    assert record["trained_on"]["name"] == metrics["device"] and record["version"] == 1
    assert "== kagglekit train" in (run_dir / "kernel.log").read_text()
    [prediction_dir] = (tmp_path / "subs").iterdir()
    prediction = read_json(prediction_dir / "prediction.json")
    assert prediction["run_dir"] == str(run_dir) and prediction["trained_where"].startswith("kaggle: CPU")
    sample = tmp_path / "data" / "cifar-10" / "raw" / "sampleSubmission.csv"
    assert validate_csv(prediction_dir / "submission.csv", sample, prediction["classes"]) == 40

    assert remote_cli(tmp_path, "--accelerator", "cpu") == 0  # a third run finds the run recorded
    assert "already pulled" in capsys.readouterr().out and saves(kaggle_server) == 1
    where = ["--data-dir", str(tmp_path / "data"), "--submissions-dir", str(tmp_path / "subs")]
    assert main(["submit", MODEL, *where]) == 0
    assert main(["scores", *where, "--interval", "0.1", "--timeout", "10"]) == 0
    assert main(["compare", *where]) == 0
    table = capsys.readouterr().out
    assert prediction_dir.name in table and "kaggle: CPU" in table


def test_a_kernel_on_the_wrong_device_stops_and_says_so(kaggle_server, tmp_path, capsys):
    assert remote_cli(tmp_path, "--accelerator", "t4x2", "--wait", "120") == 1
    line = one_error_line(capsys)
    assert "asked Kaggle for NvidiaTeslaT4 but the kernel ran on CPU" in line and "stopped before training" in line
    assert not (tmp_path / "runs").exists() and not (tmp_path / "subs").exists()
    report = read_json(tmp_path / "remote" / f"kagglekit-cifar-10-{MODEL}" / DEVICE_REPORT)
    assert report["device"]["kind"] == "CPU" and report["requested"] == "NvidiaTeslaT4"

    assert remote_cli(tmp_path, "--accelerator", "t4x2", "--wait", "120") == 1  # a failed version is not picked up
    assert "version 1 of" in capsys.readouterr().out and saves(kaggle_server) == 2


def test_a_failed_run_quotes_kaggles_message_and_the_log(kaggle_server, competition_files, tmp_path, capsys):
    broken = tmp_path / "broken"
    shutil.copytree(competition_files.directory, broken)
    archive = broken / "train.7z"
    archive.write_bytes(archive.read_bytes()[:200])  # Kaggle serves what it was given: a truncated archive
    kaggle_server.add_competition("cifar-10", broken, competition_files.solution_csv)

    assert remote_cli(tmp_path, "--accelerator", "cpu", "--wait", "120") == 1
    line = one_error_line(capsys)
    assert "failed on Kaggle: Your notebook tried to run a cell that failed" in line
    assert "kagglekit unpack: error:" in line and "full log:" in line


def test_a_used_up_quota_is_refused_before_pushing(kaggle_server, tmp_path, capsys):
    kaggle_server.kernels.use_quota("gpu", 30.0)
    assert remote_cli(tmp_path, "--accelerator", "t4x2") == 1
    assert "weekly GPU quota is used up (30.0 of 30 h)" in one_error_line(capsys)
    assert saves(kaggle_server) == 0


def test_a_status_the_client_does_not_know_is_one_line(kaggle_server, tmp_path, capsys):
    kaggle_server.kernels.serve_stale_status("PAUSED_FOR_MIGRATION")
    assert remote_cli(tmp_path, "--accelerator", "t4x2", "--wait", "60") == 1
    assert "a status for kernel" in one_error_line(capsys)


def test_an_output_url_that_errors_is_not_saved(kaggle_server, tmp_path, capsys):
    kaggle_server.kernels.broken_outputs.add(DEVICE_REPORT)
    assert remote_cli(tmp_path, "--accelerator", "t4x2", "--wait", "60") == 1
    assert f"downloading {DEVICE_REPORT} from Kaggle failed (HTTP 500)" in one_error_line(capsys)
    folder = tmp_path / "remote" / f"kagglekit-cifar-10-{MODEL}"
    assert not (folder / DEVICE_REPORT).exists() and not list(folder.glob("*.partial"))


def test_code_over_one_megabyte_is_refused_here_and_by_the_server(kaggle_server, tmp_path):
    spec = remote.RemoteSpec("cifar-10", MODEL, accelerator="cpu")
    folder = remote.build_kernel_folder(tmp_path / "kernel", spec, "kagglekit-demo", "token")
    (folder / "kagglekit_run.py").write_text("#" * 1_000_001)
    api = kaggle_api.authenticate()
    with pytest.raises(DataError, match="over Kaggle's 1 MB limit"):
        remote.push_folder(api, folder, "cifar-10", 60)
    assert saves(kaggle_server) == 0
    response = kaggle_api.push_kernel(api, folder, 60)  # past our own check, the server refuses as Kaggle does
    assert "too large" in response.error and not response.version_number


def test_the_pushed_script_carries_kagglekit_within_the_limit(tmp_path):
    spec = remote.RemoteSpec("cifar-10", "fast", {"epochs": 12}, "t4x2")
    folder = remote.build_kernel_folder(tmp_path / "kernel", spec, "someone", "token")
    metadata = read_json(folder / "kernel-metadata.json")
    assert metadata["id"] == "someone/kagglekit-cifar-10-fast" and metadata["machine_shape"] == "NvidiaTeslaT4"
    assert metadata["competition_sources"] == ["cifar-10"] and metadata["enable_gpu"] is True
    assert len(metadata["title"]) >= 5
    script = (folder / "kagglekit_run.py").read_text()
    assert len(script.encode()) < remote.MAX_CODE_BYTES
    assert '"epochs": 12' in script and "kagglekit.remote.kernel_entry" in script
    assert spec.digest() != remote.RemoteSpec("cifar-10", "fast", {"epochs": 13}, "t4x2").digest()


@pytest.mark.parametrize(
    "requested, device, wrong",
    [
        ("NvidiaTeslaT4", {"kind": "GPU", "name": "2x Tesla T4", "count": 2}, False),
        ("NvidiaTeslaT4", {"kind": "GPU", "name": "Tesla P100-PCIE-16GB", "count": 1}, True),
        ("NvidiaTeslaT4", {"kind": "GPU", "name": "Tesla T4", "count": 1}, True),
        ("TpuV5E8", {"kind": "CPU", "name": "CPU (96 cores, x86_64)", "count": 1}, True),
        ("TpuV5E8", {"kind": "TPU", "name": "TPU v5 lite", "count": 8}, False),
        (None, {"kind": "CPU", "name": "CPU (4 cores, x86_64)", "count": 1}, False),
    ],
)
def test_device_check(requested, device, wrong):
    assert bool(device_mismatch(requested, device)) is wrong
