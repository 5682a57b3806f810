"""A code competition on the local server: file submissions refused, a kernel version's output submitted and scored."""

from __future__ import annotations

import json

import pytest
from builders import kernel_folder
from requests.exceptions import HTTPError

from kagglekit.kaggle import kaggle_api

SLUG = "cifar-10"
OWNER = "kagglekit-demo"
# Writes the sample submission (a real, scorable file) from the competition attached to the kernel.
WRITES_SAMPLE = """
import os, shutil
inputs = os.environ["KAGGLE_CACHE_MOUNT_FOLDER"]
shutil.copy(os.path.join(inputs, "competitions", "cifar-10", "sampleSubmission.csv"), "submission.csv")
"""


@pytest.fixture
def code_competition(kaggle_server, competition_files):
    kaggle_server.add_competition(SLUG, competition_files.directory, competition_files.solution_csv, kernels_only=True)
    kaggle_server.set_pending_polls(SLUG, 0)
    return kaggle_server


def push(api, tmp_path, slug: str, code: str) -> int:
    """Push a new version of OWNER/SLUG with the internet off and the competition attached; its version number."""
    folder = tmp_path / f"{slug}-{len(list(tmp_path.glob(f'{slug}-*')))}"
    kernel_folder(folder, f"{OWNER}/{slug}", code, competition_sources=[SLUG], enable_internet=False)
    response = api.kernels_push(str(folder))
    assert not response.error, response.error
    return response.version_number


def refusal(call) -> tuple[int, str]:
    with pytest.raises(HTTPError) as refused:
        call()
    return refused.value.response.status_code, refused.value.response.json()["message"]


def test_a_code_competition_refuses_a_csv_and_scores_a_kernel_versions_output(code_competition, tmp_path):
    api = kaggle_api.authenticate()
    csv = tmp_path / "submission.csv"
    csv.write_bytes((code_competition.competitions[SLUG].files["sampleSubmission.csv"].source).read_bytes())
    status, message = refusal(lambda: api.competition_submit(str(csv), "a csv", SLUG, quiet=True))
    assert status == 400 and "only accepts submissions from notebooks" in message and "-k OWNER/KERNEL" in message

    assert push(api, tmp_path, "code-sub", WRITES_SAMPLE) == 1
    code_competition.kernels.wait_idle()
    response = api.competition_submit_code("submission.csv", "version 1", SLUG, f"{OWNER}/code-sub", 1, quiet=True)
    assert response.ref and "Successfully submitted" in response.message
    [submission] = [s for s in api.competition_submissions(SLUG) if s.ref == response.ref]
    assert submission.status.name == "COMPLETE" and submission.file_name == "submission.csv"
    assert submission.description == "version 1" and float(submission.public_score) >= 0
    recorded = next(s for s in code_competition._submissions if s.ref == response.ref)
    assert recorded.kernel == f"{OWNER}/code-sub/1"

    code_competition.fail_next_rerun("Notebook Timeout")  # accepted now, failed when the hidden rerun ends
    failed = api.competition_submit_code("submission.csv", "again", SLUG, f"{OWNER}/code-sub", 1, quiet=True).ref
    [rerun] = [s for s in api.competition_submissions(SLUG) if s.ref == failed]
    assert rerun.status.name == "ERROR" and rerun.error_description == "Notebook Timeout" and not rerun.public_score


def test_versions_that_cannot_be_submitted_are_refused_as_kaggle_does(code_competition, tmp_path):
    api = kaggle_api.authenticate()
    flag = tmp_path / "go"
    waits = f"import pathlib, time\nwhile not pathlib.Path({str(flag)!r}).exists(): time.sleep(0.05)\n" + WRITES_SAMPLE
    assert push(api, tmp_path, "slow-run", waits) == 1
    status, message = refusal(lambda: api.competition_submit_code("submission.csv", "", SLUG, f"{OWNER}/slow-run", 1))
    assert status == 400 and "has not completed" in message
    flag.touch()
    code_competition.kernels.wait_idle()

    assert push(api, tmp_path, "slow-run", "raise SystemExit('no model found')") == 2
    code_competition.kernels.wait_idle()
    status, message = refusal(lambda: api.competition_submit_code("submission.csv", "", SLUG, f"{OWNER}/slow-run", 2))
    assert status == 400 and "failed (ERROR)" in message and "no model found" in message
    status, message = refusal(lambda: api.competition_submit_code("submission.csv", "", SLUG, f"{OWNER}/slow-run", 9))
    assert status == 404 and "Could not find provided notebook" in message
    status, message = refusal(lambda: api.competition_submit_code("preds.csv", "", SLUG, f"{OWNER}/slow-run", 1))
    assert status == 400 and "has no file 'preds.csv'" in message
    submitted = [s for s in code_competition._submissions if s.slug == SLUG and s.team == OWNER]
    assert not submitted
    assert api.competition_submit_code("submission.csv", "", SLUG, f"{OWNER}/slow-run", 1, quiet=True).ref


def test_the_server_reports_the_version_just_pushed_where_the_client_reads_it(code_competition, tmp_path):
    api = kaggle_api.authenticate()
    assert push(api, tmp_path, "code-sub", "print('one')") == 1
    assert push(api, tmp_path, "code-sub", "print('two')") == 2  # SaveKernel's versionNumber
    code_competition.kernels.wait_idle()

    [listed] = api.kernels_list(mine=True)
    assert listed.ref == f"{OWNER}/code-sub" and listed.current_version_number == 2
    assert [k.ref for k in api.kernels_list(competition=SLUG)] == [listed.ref]
    assert api.kernels_list(user="someone-else") == []

    pulled = tmp_path / "pulled"
    api.kernels_pull(f"{OWNER}/code-sub/1", str(pulled), metadata=True)
    assert (pulled / "code-sub.py").read_text() == "print('one')"
    metadata = json.loads((pulled / "kernel-metadata.json").read_text())
    assert metadata["competition_sources"] == [SLUG] and metadata["enable_internet"] is False
