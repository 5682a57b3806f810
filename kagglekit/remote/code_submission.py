"""submit-code: a code competition's submission, from a trained run here to a scored kernel version on Kaggle.

A code competition takes no CSV: Kaggle reruns a notebook version, with the internet off, on its hidden test
set. So everything the kernel needs comes in as private datasets (kagglekit's wheels and the trained run),
the offline inference kernel is pushed with those and the competition attached, and once that version has
run, its output is checked against the sample submission and the version is submitted (CreateCodeSubmission).

Every step is recorded when it is done, its record written last, and skipped on a rerun: a dataset whose
content hash is the one uploaded before (and which still exists on Kaggle) is not uploaded again
(``REMOTE/datasets/<slug>.json``); a pushed kernel version is waited for, not pushed again
(``REMOTE/<kernel-slug>/push.json``, as `remote` records its pushes); a version already submitted is not
submitted twice (the upload's entry in ``SUBMISSIONS/<version-id>/submission.json``, marked ``"kind": "code"``,
which `scores` and `compare` read like any other).
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kagglekit.exceptions import DataError, KaggleApiError, StillPendingError, UsageError
from kagglekit.jsonfiles import read_json_if_present, write_json
from kagglekit.kaggle import kaggle_api
from kagglekit.markers import fingerprint, is_complete, mark_complete
from kagglekit.paths import CompetitionPaths
from kagglekit.remote.accelerators import ACCELERATORS
from kagglekit.remote.kernels import (
    Log,
    check_quota,
    ensure_sample_submission,
    kernel_failed,
    push_folder,
    wait_for_version,
)
from kagglekit.submissions.formats import CSV, require_prediction, sha256_of, validate_prediction
from kagglekit.submissions.records import (
    CODE_KIND,
    add_submission,
    is_code_submission,
    new_entry,
    require_readable_record,
    submissions_of,
)

if TYPE_CHECKING:
    from kaggle.api.kaggle_api_extended import KaggleApi

DATASETS = "datasets"  # REMOTE/datasets/: one record per uploaded dataset, and what was uploaded
WHEELS_SLUG = "kagglekit-wheels"
SLUG_LIMIT = 50  # Kaggle's dataset slugs and titles: 6 to 50 characters
DATASET_METADATA = "dataset-metadata.json"
READY, FAILED = "ready", "failed"


@dataclass(frozen=True)
class CodeSubmission:
    """Which prediction's run to submit to which code competition, and how long to wait for Kaggle."""

    version_id: str
    accelerator: str = "t4x2"
    wait: float = 6 * 3600
    interval: float = 30.0
    push_again: bool = False
    tta: str | None = None  # predict's test-time augmentation in the kernel (default: the version's)
    timeout_seconds: int = 9 * 3600  # Kaggle stops a session after 12 hours (9 for a code competition's rerun)

    @property
    def machine_shape(self) -> str | None:
        return ACCELERATORS[self.accelerator]


def submit_code(
    request: CodeSubmission, paths: CompetitionPaths, submissions_dir: Path, remote_dir: Path, log: Log = print
) -> dict[str, Any] | None:
    """Upload what the kernel needs, run it, check its output and submit its version; the new entry, or None
    when this very version was submitted before (known from the records alone, before any request)."""
    from kagglekit.markers import dataset_hash

    if not paths.spec.code_competition:
        raise UsageError(
            f"{paths.slug} is a file competition: submit its CSV with `make submit COMPETITION={paths.slug}`"
        )
    prediction = require_prediction(submissions_dir, request.version_id)
    require_readable_record(submissions_dir, request.version_id)  # a submission that could not be recorded is not made
    datasets = Path(remote_dir) / DATASETS
    wheels = wheelhouse(datasets)
    run = export(_run_dir(prediction, request.version_id), datasets / run_slug(paths.slug), paths)
    hashes = {"wheels": dataset_hash(wheels), "run": dataset_hash(run)}
    folder = Path(remote_dir) / kernel_slug(paths.slug)
    state = read_json_if_present(folder / "push.json")
    digest = _digest(paths.slug, request, hashes)
    if state.get("digest") == digest and _submitted(submissions_dir, request.version_id, state):
        log(
            f"submit-code: {request.version_id} was already submitted as {state['ref']} version {state['version']} "
            "with these very datasets; skipping the uploads, the kernel and the submission"
        )
        return None
    api = kaggle_api.authenticate()
    owner = api.get_config_value("username") or ""
    if not owner:
        raise UsageError("the kaggle client knows no username to own the datasets and kernel: set KAGGLE_USERNAME")
    ensure_sample_submission(paths, api)
    refs = {
        "wheels": upload_dataset(api, f"{owner}/{WHEELS_SLUG}", wheels, hashes["wheels"], datasets, request, log),
        "run": upload_dataset(api, f"{owner}/{run_slug(paths.slug)}", run, hashes["run"], datasets, request, log),
    }
    state = kernel_version(api, request, paths, f"{owner}/{folder.name}", refs, state, digest, folder, log)
    output = checked_output(api, state, paths, prediction, folder, request, log)
    return submit_version(api, state, output, paths, submissions_dir, request.version_id, log)


def _run_dir(prediction: dict[str, Any], version_id: str) -> Path:
    """The run the prediction was made with: what the kernel predicts with, on the hidden test set."""
    run_dir = Path(str(prediction.get("run_dir") or ""))
    if not (run_dir / "best.keras").is_file():
        raise DataError(f"{version_id}'s run {run_dir} has no best.keras; train and predict it again (make predict)")
    return run_dir


def _submitted(submissions_dir: Path, version_id: str, state: dict[str, Any]) -> dict[str, Any] | None:
    """The recorded code submission of exactly the pushed version ``state`` names, if there is one."""
    return next(
        (
            e
            for e in reversed(submissions_of(submissions_dir, version_id))
            if is_code_submission(e)
            and e.get("kernel") == state.get("ref")
            and e.get("kernel_version") == state.get("version")
        ),
        None,
    )


# -- datasets ---------------------------------------------------------------------------------------------


def wheelhouse(datasets: Path) -> Path:
    """kagglekit's wheel and those its image lacks, built once per kagglekit source (a .complete marker)."""
    from kagglekit.remote.offline import build_wheelhouse

    target = datasets / WHEELS_SLUG
    files = target / "files"
    if not is_complete(target, wheelhouse_stamp()):
        build_wheelhouse(files)
        mark_complete(target, wheelhouse_stamp())
    return files


def wheelhouse_stamp() -> str:
    """What the wheelhouse was built from: kagglekit's source (as a pushed kernel carries it)."""
    from kagglekit.remote.kernels import package_base64

    return fingerprint([], source=hashlib.sha256(package_base64().encode()).hexdigest())


def export(run_dir: Path, target: Path, paths: CompetitionPaths) -> Path:
    """The run's best.keras, config and metrics, and the competition's spec (``<slug>.toml``: the kernel's
    kagglekit ships only its own specs), exported afresh each time: their hash decides the upload."""
    from kagglekit.competitions import spec_path
    from kagglekit.remote.offline import export_run

    files = export_run(run_dir, target / "files")
    spec = spec_path(paths.slug)
    if spec is not None:
        shutil.copyfile(spec, files / f"{paths.slug}.toml")
    return files


def upload_dataset(
    api: KaggleApi, ref: str, files: Path, digest: str, datasets: Path, request: CodeSubmission, log: Log
) -> str:
    """Dataset ``ref`` (OWNER/SLUG) holding ``files``, uploaded only when ``digest``, their hash, is not the one
    recorded, or Kaggle no longer has it; the record is written once Kaggle took the upload. Returns ``ref``."""
    record_path = datasets / f"{ref.split('/')[1]}.json"
    record = read_json_if_present(record_path)
    status = kaggle_api.dataset_status(api, ref)
    if record.get("ref") == ref and record.get("sha256") == digest and status not in (None, FAILED):
        log(f"submit-code: {ref} already holds this content (sha256 {digest[:12]}); not uploading it again")
        wait_until_ready(api, ref, request, log)
        return ref
    title = ref.split("/")[1].replace("-", " ")
    write_json(files / DATASET_METADATA, {"id": ref, "title": title, "licenses": [{"name": "CC0-1.0"}]})
    try:
        if status is None:
            log(f"submit-code: creating the private dataset {ref} from {files}")
            kaggle_api.create_dataset(api, files)
        else:
            log(f"submit-code: uploading a new version of {ref} (its content changed: sha256 {digest[:12]})")
            kaggle_api.create_dataset_version(api, files, f"kagglekit: sha256 {digest[:12]}")
    finally:
        (files / DATASET_METADATA).unlink(missing_ok=True)
    record_path.parent.mkdir(parents=True, exist_ok=True)
    write_json(record_path, {"ref": ref, "sha256": digest, "uploaded": _now()})  # a rerun then only waits
    wait_until_ready(api, ref, request, log)
    return ref


def wait_until_ready(api: KaggleApi, ref: str, request: CodeSubmission, log: Log) -> None:
    """Kaggle processes an upload before a kernel can mount it: wait (bounded) for "ready"."""
    waits = kaggle_api.poll_waits(request.wait, request.interval)
    while True:
        status = kaggle_api.dataset_status(api, ref)
        if status == READY:
            return
        if status in (FAILED, None):
            raise KaggleApiError(
                f"Kaggle could not process the dataset {ref} ({status or 'it is gone'}); rerun to upload it again"
            )
        wait = next(waits, None)
        if wait is None:
            raise StillPendingError(f"the dataset {ref} is still {status} on Kaggle; rerun the same command later")
        time.sleep(wait)


def run_slug(competition: str) -> str:
    """One private dataset per competition holds the run submitted last; a new run is a new version of it."""
    return slug_of(f"kagglekit-run-{competition}")


def kernel_slug(competition: str) -> str:
    return slug_of(f"kagglekit-{competition}-inference")


def slug_of(text: str) -> str:
    """Lower case, letters, digits and dashes, at most 50 characters: what Kaggle accepts."""
    return re.sub(r"-+", "-", re.sub(r"[^a-z0-9]", "-", text.lower()))[:SLUG_LIMIT].strip("-")


# -- the kernel ---------------------------------------------------------------------------------------------


def kernel_version(
    api: KaggleApi,
    request: CodeSubmission,
    paths: CompetitionPaths,
    ref: str,
    datasets: dict[str, str],
    state: dict[str, Any],
    digest: str,
    folder: Path,
    log: Log,
) -> dict[str, Any]:
    """The push record of the inference kernel for exactly these datasets: ``state``, picked up, or a new push."""
    if state.get("digest") == digest and not state.get("failed") and not request.push_again:
        log(
            f"submit-code: picking up {state['ref']} version {state['version']} pushed {state['pushed']} "
            "(not pushing again; --push-again starts a new version)"
        )
        return state
    if state.get("failed") and state.get("digest") == digest:
        log(f"submit-code: version {state['version']} of {state['ref']} failed; pushing a new one")
    return push(api, request, paths, ref, datasets, folder, digest, log)


def push(
    api: KaggleApi,
    request: CodeSubmission,
    paths: CompetitionPaths,
    ref: str,
    datasets: dict[str, str],
    folder: Path,
    digest: str,
    log: Log,
) -> dict[str, Any]:
    """Write the offline kernel's folder and push it; the push record is saved before any waiting."""
    from kagglekit.remote.offline import write_inference_kernel

    folder.mkdir(parents=True, exist_ok=True)
    check_quota(api, request, log)  # the version runs now, on the accelerator asked for, and at each rerun
    token = uuid.uuid4().hex  # the script prints it: its log tells this version's output from an earlier one's
    write_inference_kernel(
        folder,
        competition=paths.slug,
        kernel_id=ref,
        wheels_dataset=datasets["wheels"],
        run_dataset=datasets["run"],
        accelerator=request.accelerator,
        tta=request.tta,
        token=token,
    )
    response = push_folder(api, folder, paths.slug, request.timeout_seconds)
    state = {
        "ref": ref,
        "version": response.version_number,
        "url": response.url,
        "digest": digest,
        "token": token,
        "machine_shape": request.machine_shape,
        "datasets": [datasets["wheels"], datasets["run"]],
        "pushed": _now(),
    }
    write_json(folder / "push.json", state)
    log(
        f"submit-code: pushed {ref} version {state['version']} (internet off, on {request.machine_shape or 'CPU'}): "
        f"{response.url}"
    )
    return state


def _digest(competition: str, request: CodeSubmission, hashes: dict[str, str]) -> str:
    """Changes when anything the kernel would run with changes: then a rerun pushes a new version."""
    fields = {
        "competition": competition,
        "version_id": request.version_id,
        "accelerator": request.accelerator,
        "tta": request.tta,
        **hashes,
    }
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:12]


def checked_output(
    api: KaggleApi,
    state: dict[str, Any],
    paths: CompetitionPaths,
    prediction: dict[str, Any],
    folder: Path,
    request: CodeSubmission,
    log: Log,
) -> Path:
    """Wait for the version, then its submission.csv, downloaded and checked against the sample submission.

    A version that failed, or completed without submission.csv, is refused here, before CreateCodeSubmission:
    Kaggle would only refuse it (or, worse, accept it and fail its rerun hours later).
    """

    def own(files: dict[str, str], log_text: str) -> dict[str, str] | None:
        return files if state.get("token", "") in log_text else None  # the script prints the push's token

    files = wait_for_version(api, state, folder, request.wait, request.interval, log, own, "submit-code")
    if CSV not in files:
        write_json(folder / "push.json", {**state, "failed": True})
        raise kernel_failed(api, state, folder, f"it completed without {CSV}, so it cannot be submitted")
    csv = kaggle_api.download_output(files[CSV], folder / CSV)
    rows = validate_prediction(csv, paths, prediction)  # the format and classes the local prediction used
    log(f"submit-code: {state['ref']} version {state['version']} wrote {CSV}: {rows:,} rows, as the sample's")
    return csv


# -- the submission ----------------------------------------------------------------------------------------


def submit_version(
    api: KaggleApi,
    state: dict[str, Any],
    csv: Path,
    paths: CompetitionPaths,
    submissions_dir: Path,
    version_id: str,
    log: Log,
) -> dict[str, Any] | None:
    """CreateCodeSubmission of the kernel version, recorded at once; a version submitted before is skipped."""
    ref, version = state["ref"], int(state["version"])
    earlier = _submitted(submissions_dir, version_id, state)
    if earlier:
        log(f"submit-code: {ref} version {version} was already submitted as ref {earlier['ref']}; skipping")
        return None
    message = f"kagglekit {version_id} (kernel {ref} version {version})"
    submitted = kaggle_api.submit_code(api, paths.slug, ref, version, CSV, message)
    entry = {
        **new_entry(submitted, paths.slug, message, sha256_of(csv)),
        "kind": CODE_KIND,
        "kernel": ref,
        "kernel_version": version,
    }
    add_submission(submissions_dir, version_id, entry)
    log(
        f"submit-code: {ref} version {version} -> {paths.slug} as ref {entry['ref']} ({entry['status']}); "
        "`scores` polls its score"
    )
    return entry


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
