"""Code competitions: a CSV refused, and submit-code's flow through the real kaggle client and the stand-in.

A code competition here is cifar-10's spec with kind = "code", put where a user's own spec goes
(competitions/ under the directory the stages run in), so the session's tiny run and prediction of cifar-10
serve as the run to submit. The server serves it as Kaggle serves a code competition (kernels only).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from builders import kernel_folder

from kagglekit.cli import main
from kagglekit.exceptions import KaggleApiError
from kagglekit.jsonfiles import read_json
from kagglekit.kaggle import kaggle_api
from kagglekit.markers import dataset_hash
from kagglekit.paths import CompetitionPaths
from kagglekit.remote import code_submission
from kagglekit.standin.synthetic import write_code_spec

SLUG = "cifar-10"
MODEL = "seed-cifar10-modeling"


@pytest.fixture
def code_competition(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """cifar-10 made a code competition by a spec of the user's own, in ./competitions/ of a fresh directory."""
    write_code_spec(tmp_path / "competitions", SLUG)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def code_server(kaggle_server, competition_files, code_competition: Path):
    """The server with cifar-10 served as a code competition (kernels only): it refuses CSVs, as Kaggle does."""
    kaggle_server.add_competition(SLUG, competition_files.directory, competition_files.solution_csv, kernels_only=True)
    return kaggle_server


def calls(server, *methods: str) -> int:
    return sum(path.rsplit("/", 1)[-1] in methods for _, path in server.requests)


UPLOADS = ("StartBlobUpload", "CreateDataset", "CreateDatasetVersion", "CreateDatasetVersionById")


def one_error_line(capsys: pytest.CaptureFixture[str], stage: str) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith(f"kagglekit {stage}: error: ")
    return err[0]


def test_a_csv_is_refused_for_a_code_competition_before_any_request(
    code_competition: Path, kaggle_server, tiny_prediction: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    subs = code_competition / "subs"
    shutil.copytree(tiny_prediction, subs / tiny_prediction.name)
    assert main(["submit", tiny_prediction.name, "--submissions-dir", str(subs), "--data-dir", "data"]) == 2
    line = one_error_line(capsys, "submit")
    assert "code competition" in line and f"make submit WHERE=kaggle COMPETITION={SLUG}" in line
    assert kaggle_server.requests == []
    assert not (subs / tiny_prediction.name / "submission.json").exists()


def test_the_local_chain_of_a_code_competition_stops_before_anything_runs(
    code_competition: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["chain", "--to", "compare", "--data-dir", "data"]) == 2
    assert "make submit WHERE=kaggle" in one_error_line(capsys, "chain")
    assert not (code_competition / "data").exists()


def test_the_kaggle_chain_of_a_code_competition_submits_a_kernel_not_a_csv() -> None:
    from kagglekit.chain import stages

    assert stages("kaggle", "compare", "code", SLUG) == (
        "fetch",
        "unpack",
        "folders",
        "train",
        "predict",
        "submit-code",
        "scores",
        "compare",
    )
    assert stages("local", "predict", "code", SLUG)[-1] == "predict"
    assert "submit" not in stages("kaggle", "compare", "code", SLUG)


def test_an_unchanged_dataset_is_not_uploaded_again_and_a_changed_one_is_a_new_version(
    code_server, tmp_path: Path
) -> None:
    api = kaggle_api.authenticate()
    owner = api.get_config_value("username")
    files = tmp_path / "files"
    files.mkdir()
    (files / "best.keras").write_bytes(b"weights")
    request = code_submission.CodeSubmission("v", wait=5, interval=0.05)
    said: list[str] = []

    ref, records = f"{owner}/kagglekit-run-test", tmp_path / "records"

    def upload() -> str:
        return code_submission.upload_dataset(api, ref, files, dataset_hash(files), records, request, said.append)

    assert upload() == ref and calls(code_server, "CreateDataset") == 1
    uploads = calls(code_server, *UPLOADS)
    assert upload() == ref
    assert calls(code_server, *UPLOADS) == uploads  # not a byte sent again
    assert "not uploading it again" in said[-1]
    assert not (files / "dataset-metadata.json").exists()  # the upload's metadata is not left in the content
    first = read_json(records / "kagglekit-run-test.json")["sha256"]

    (files / "best.keras").write_bytes(b"better weights")
    code_server.datasets.processing_polls = 2  # Kaggle processes a new version before a kernel can mount it
    statuses = calls(code_server, "GetDatasetStatus")
    upload()
    assert calls(code_server, "GetDatasetStatus") - statuses >= 4  # before the upload, then until it was ready
    assert read_json(records / "kagglekit-run-test.json")["sha256"] != first
    assert calls(code_server, "CreateDataset") == 1 and calls(code_server, "CreateDatasetVersion") == 1


def push_by_hand(api, folder: Path, code: str) -> dict:
    """A kernel version pushed as submit-code pushes one (internet off, the competition attached): its push record."""
    owner, token = api.get_config_value("username"), "0123456789abcdef"
    ref = f"{owner}/kagglekit-cifar-10-inference"
    kernel_folder(
        folder, ref, f"print({token!r}, flush=True)\n{code}", competition_sources=[SLUG], enable_internet=False
    )
    response = kaggle_api.push_kernel(api, folder, 600)
    assert not response.error, response.error
    return {"ref": ref, "version": response.version_number, "url": response.url, "machine_shape": None, "token": token}


@pytest.mark.parametrize(
    ("code", "said"),
    [
        ("raise SystemExit('the model file is missing')", "failed on Kaggle"),
        ("print('predicted, but wrote nothing')", "without submission.csv"),
    ],
)
def test_a_version_that_failed_or_wrote_no_submission_csv_is_refused_before_the_call(
    code_server, tmp_path: Path, tiny_prediction: Path, code: str, said: str
) -> None:
    api = kaggle_api.authenticate()
    folder = tmp_path / "kernel"
    state = push_by_hand(api, folder, code)
    request = code_submission.CodeSubmission("v", wait=120, interval=0.1)
    prediction = read_json(tiny_prediction / "prediction.json")
    paths = CompetitionPaths(tmp_path / "data", SLUG)
    with pytest.raises(KaggleApiError, match=said):
        code_submission.checked_output(api, state, paths, prediction, folder, request, lambda line: None)
    assert calls(code_server, "CreateCodeSubmission") == 0
    assert read_json(folder / "push.json")["failed"]  # a rerun pushes a new version instead of waiting on this one


def seed_wheelhouse(remote_dir: Path) -> None:
    """The wheels dataset with kagglekit's own wheel only: the stand-in's kernels run in this environment, which
    has kagglekit's requirements (so pip, with no index, finds them installed), and no test downloads from PyPI."""
    from kagglekit.markers import mark_complete
    from kagglekit.remote.offline import build_kagglekit_wheel

    target = remote_dir / "datasets" / code_submission.WHEELS_SLUG
    build_kagglekit_wheel(target / "files")
    mark_complete(target, code_submission.wheelhouse_stamp())


def submit_code_cli(root: Path, *extra: str) -> int:
    return main(
        [
            "submit-code",
            "--model",
            MODEL,
            "--epochs",
            "1",
            "--data-dir",
            str(root / "data"),
            "--submissions-dir",
            str(root / "subs"),
            "--remote-dir",
            str(root / "remote"),
            "--accelerator",
            "cpu",
            "--interval",
            "0.2",
            *extra,
        ]
    )


@pytest.mark.slow
def test_an_interrupted_wait_is_picked_up_on_rerun_and_a_third_run_repeats_nothing(
    code_server, code_competition: Path, tiny_prediction: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    subs = code_competition / "subs"
    shutil.copytree(tiny_prediction, subs / tiny_prediction.name)
    seed_wheelhouse(code_competition / "remote")
    # what Kaggle can show right after a push: COMPLETE, of no output of this version (the token is not in its log)
    code_server.kernels.serve_stale_status("COMPLETE")

    assert submit_code_cli(code_competition, "--wait", "0") == 1  # gave up waiting: the kernel keeps running
    line = one_error_line(capsys, "submit-code")
    assert "still COMPLETE (of an earlier version)" in line and "rerun the same command later" in line
    assert calls(code_server, "SaveKernel") == 1 and calls(code_server, "CreateCodeSubmission") == 0
    uploads = calls(code_server, *UPLOADS)

    assert submit_code_cli(code_competition, "--wait", "300") == 0
    out = capsys.readouterr().out
    assert "picking up" in out and "not uploading it again" in out
    assert calls(code_server, "SaveKernel") == 1 and calls(code_server, *UPLOADS) == uploads
    [entry] = read_json(subs / tiny_prediction.name / "submission.json")["submissions"]
    assert entry["kind"] == "code" and entry["kernel_version"] == 1 and entry["competition"] == SLUG

    assert submit_code_cli(code_competition, "--wait", "300") == 0
    assert "already submitted" in capsys.readouterr().out
    assert calls(code_server, "SaveKernel", "CreateCodeSubmission") == 2 and calls(code_server, *UPLOADS) == uploads


def test_compare_shows_a_code_submission_beside_the_others_marked_code(
    code_competition: Path, tiny_prediction: Path
) -> None:
    from kagglekit.submissions.compare import build_comparison, text_table
    from kagglekit.submissions.records import add_submission, new_entry

    subs = code_competition / "subs"
    shutil.copytree(tiny_prediction, subs / tiny_prediction.name)
    scored = {"ref": 7, "status": "complete", "publicScore": 0.61, "privateScore": 0.6, "date": "2026-01-02T03:04:05"}
    # the kernel's rerun wrote its own CSV: a code submission belongs to the version, whatever that CSV's hash
    entry = {**new_entry(scored, SLUG, "kernel", "0" * 64), "kind": "code", "kernel": "me/k", "kernel_version": 3}
    add_submission(subs, tiny_prediction.name, entry)

    [row] = build_comparison(subs, SLUG).rows
    assert row.version_id == f"{tiny_prediction.name} (code)" and row.public == 0.61
    assert f"{tiny_prediction.name} (code)" in text_table(build_comparison(subs, SLUG))


@pytest.mark.slow
def test_the_code_competition_demo_submits_a_kernel_version_and_a_rerun_skips_every_step(
    tmp_path: Path, no_kaggle_credentials: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    demo = tmp_path / "code"
    seed_wheelhouse(demo / "remote")
    argv = ["demo", "--code-competition", "--dir", str(demo), "--train-images", "300", "--test-images", "60"]
    assert main([*argv, "--epochs", "1"]) == 0
    out = capsys.readouterr().out
    assert "pushed" in out and "(code)" in out.split("== kagglekit compare")[1]
    [version] = [p for p in (demo / "submissions").iterdir() if p.is_dir()]
    [entry] = json.loads((version / "submission.json").read_text())["submissions"]
    assert entry["kind"] == "code" and entry["status"] == "complete" and entry["public_score"] is not None

    assert main([*argv, "--epochs", "1"]) == 0
    again = capsys.readouterr().out
    assert "reusing finished run" in again and "already predicted" in again
    assert "skipping the uploads, the kernel and the submission" in again and "pushed" not in again
    assert len(json.loads((version / "submission.json").read_text())["submissions"]) == 1
