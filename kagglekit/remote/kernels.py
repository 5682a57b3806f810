"""remote: train on Kaggle's own accelerators from a laptop, and get the run back as if it were local.

Kaggle gives every user weekly GPU and TPU hours, but only inside notebooks.
The kaggle client's Kernels API can push a script, report its status and hand
back its output, so this module chains those: check the quota, build a kernel
folder (metadata plus one script with kagglekit itself inlined), push it, wait
with a bounded poll, pull the output, check that the device and the CSV are what
was asked for, and record the run under runs/ and its prediction under
submissions/, exactly where local ones go. `submit` then takes it as any other.

The push is recorded in ``REMOTE/<kernel-slug>/push.json`` before any waiting,
so Ctrl-C leaves the kernel running on Kaggle and the same command, run again,
picks up that version instead of pushing (and paying for) a new one. Kaggle's
status can lag behind a push; each pushed script carries a fresh token that its
output must repeat, so an older version's output is never taken for this one.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import tarfile
import time
import uuid
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Protocol

from kagglekit.exceptions import DataError, KaggleApiError, StillPendingError, UsageError
from kagglekit.jsonfiles import read_json, read_json_if_present, write_json
from kagglekit.kaggle import kaggle_api
from kagglekit.outputs import fresh_partial_dir, move_into_place, remove
from kagglekit.paths import DEFAULT_REMOTE_DIR, KAGGLE_TEMP_ENV, CompetitionPaths
from kagglekit.remote.accelerators import ACCELERATORS, QUOTA_KIND
from kagglekit.remote.kernel_entry import DEVICE_REPORT, RUN_ARCHIVE, device_mismatch

if TYPE_CHECKING:
    from kaggle.api.kaggle_api_extended import KaggleApi

Log = Callable[[str], None]
MAX_CODE_BYTES = 1_000_000  # Kaggle refuses a kernel whose source is larger
WAITING = ("QUEUED", "RUNNING", "NEW_SCRIPT")
CANCELLED = ("CANCEL_REQUESTED", "CANCEL_ACKNOWLEDGED")
LOG_TAIL_LINES = 3
CODE_FILE = "kagglekit_run.py"  # the one script of every kernel kagglekit pushes
STANDIN = "standin"  # kagglekit.standin stands in for Kaggle: a pushed kernel is on Kaggle and never needs it


@dataclass(frozen=True)
class RemoteSpec:
    """What to run on Kaggle: a model version and recipe, on a competition, on an accelerator."""

    competition: str
    model: str
    overrides: dict[str, Any] = field(default_factory=dict)
    accelerator: str = "t4x2"
    tta: str | None = None
    all_data: bool = False  # the final run on every labelled image (train --all-data)
    timeout_seconds: int = 9 * 3600  # Kaggle stops a session after 12 hours; keep margin

    @property
    def machine_shape(self) -> str | None:
        return ACCELERATORS[self.accelerator]

    @property
    def kernel_slug(self) -> str:
        return f"kagglekit-{self.competition}-{self.model}".lower().replace("_", "-")

    def digest(self) -> str:
        """Changes when anything that shapes the run changes: then a rerun pushes anew."""
        fields = {
            "competition": self.competition,
            "model": self.model,
            "overrides": self.overrides,
            "accelerator": self.accelerator,
            "tta": self.tta,
            **({"all_data": True} if self.all_data else {}),
        }
        return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:12]


@dataclass(frozen=True)
class RemoteResult:
    run_dir: Path
    version_id: str
    device: str


# -- the whole chain -----------------------------------------------------------------


def run_remote(
    spec: RemoteSpec,
    paths: CompetitionPaths,
    runs_dir: Path,
    submissions_dir: Path,
    remote_dir: Path = DEFAULT_REMOTE_DIR,
    *,
    wait: float = 6 * 3600,
    interval: float = 30.0,
    push_again: bool = False,
    log: Log = print,
) -> RemoteResult:
    """Push (or pick up) the kernel for ``spec``, wait for it, and record its run locally."""
    api = kaggle_api.authenticate()
    owner = api.get_config_value("username") or ""
    if not owner:
        raise UsageError(
            "the kaggle client knows no username to push kernels under: set KAGGLE_USERNAME "
            '(or use a kaggle.json with "username")'
        )
    folder = remote_dir / spec.kernel_slug
    state = read_json_if_present(folder / "push.json")
    if state.get("digest") != spec.digest() or push_again or state.get("failed"):
        if state.get("failed") and state.get("digest") == spec.digest():
            log(f"remote: version {state['version']} of {state['ref']} failed; pushing a new one")
        state = push(api, spec, owner, folder, log)
    elif state.get("run_dir") and Path(state["run_dir"]).is_dir():
        log(f"remote: {state['ref']} version {state['version']} was already pulled into {state['run_dir']}")
        return RemoteResult(Path(state["run_dir"]), state["version_id"], state["device"])
    else:
        log(
            f"remote: picking up {state['ref']} version {state['version']} pushed {state['pushed']} "
            "(not pushing again; --push-again starts a new version)"
        )
    ensure_sample_submission(paths, api)
    report = wait_for_output(api, state, folder, wait, interval, log)
    result = record(api, state, report, folder, paths, runs_dir, submissions_dir, log)
    write_json(
        folder / "push.json",
        {**state, "run_dir": str(result.run_dir), "version_id": result.version_id, "device": result.device},
    )
    return result


# -- push ----------------------------------------------------------------------------


def push(api: KaggleApi, spec: RemoteSpec, owner: str, folder: Path, log: Log) -> dict[str, Any]:
    """Check the quota, build the kernel folder and push it; the push record is saved before returning."""
    check_quota(api, spec, log)
    token = uuid.uuid4().hex
    build_kernel_folder(folder, spec, owner, token)
    response = push_folder(api, folder, spec.competition, spec.timeout_seconds)
    state = {
        "ref": f"{owner}/{spec.kernel_slug}",
        "version": response.version_number,
        "url": response.url,
        "token": token,
        "digest": spec.digest(),
        "accelerator": spec.accelerator,
        "machine_shape": spec.machine_shape,
        "spec": spec.__dict__,
        "pushed": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    write_json(folder / "push.json", state)
    log(
        f"remote: pushed {state['ref']} version {state['version']} ({spec.model} on "
        f"{spec.machine_shape or 'CPU'}): {response.url}"
    )
    return state


class OnAccelerator(Protocol):
    """What a quota check reads of a run: a RemoteSpec, or submit-code's CodeSubmission."""

    @property
    def machine_shape(self) -> str | None: ...

    @property
    def timeout_seconds(self) -> int: ...


def check_quota(api: KaggleApi, spec: OnAccelerator, log: Log) -> None:
    """Say what the run may use of the weekly quota, and refuse when none is left."""
    kind = QUOTA_KIND.get(spec.machine_shape or "")
    if kind is None:
        return  # the CPU image costs no accelerator quota
    statistics = kaggle_api.accelerator_quota(api)
    quota = getattr(statistics, f"{kind}_quota")
    if quota is None:
        log(f"remote: Kaggle reported no {kind.upper()} quota; pushing anyway")
        return
    used = quota.time_used.total_seconds() / 3600
    total = quota.total_time_allowed.total_seconds() / 3600
    refresh = statistics.quota_refresh_time
    when = f"; it refreshes {refresh:%Y-%m-%d %H:%M} UTC" if refresh else ""
    if used >= total:
        raise KaggleApiError(
            f"your weekly {kind.upper()} quota is used up ({used:.1f} of {total:.0f} h){when}: "
            "wait for it, or train locally with `make submit`"
        )
    log(
        f"remote: {kind.upper()} quota {used:.1f} of {total:.0f} h used this week; this run may use up to "
        f"{min(spec.timeout_seconds / 3600, total - used):.1f} h{when}"
    )


def build_kernel_folder(folder: Path, spec: RemoteSpec, owner: str, token: str) -> Path:
    """kernel-metadata.json and one self-contained script (push_folder refuses one Kaggle would refuse)."""
    return write_kernel_folder(
        folder,
        f"{owner}/{spec.kernel_slug}",
        kernel_script(spec, token),
        competition=spec.competition,
        machine_shape=spec.machine_shape,
        internet=True,
        models=tuple(model_sources(spec)),
    )


def write_kernel_folder(
    folder: Path,
    kernel_id: str,
    script: str,
    *,
    competition: str,
    machine_shape: str | None,
    internet: bool,
    datasets: tuple[str, ...] = (),
    models: tuple[str, ...] = (),
) -> Path:
    """A private script kernel's folder, as kernels_push reads it: ``script`` and its kernel-metadata.json
    (the title is the slug in words, so Kaggle derives the same slug from it)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / CODE_FILE).write_text(script)
    slug = kernel_id.split("/")[1]
    write_json(
        folder / "kernel-metadata.json",
        {
            "id": kernel_id,
            "title": slug.replace("-", " "),
            "code_file": CODE_FILE,
            "language": "python",
            "kernel_type": "script",
            "is_private": True,
            "enable_gpu": machine_shape in ("NvidiaTeslaT4", "NvidiaTeslaP100"),
            "enable_tpu": machine_shape == "TpuV5E8",
            "enable_internet": internet,
            "competition_sources": [competition],
            "dataset_sources": list(datasets),
            "kernel_sources": [],
            "model_sources": list(models),
            "machine_shape": machine_shape,
        },
    )
    return folder


def model_sources(spec: RemoteSpec) -> list[str]:
    """The Kaggle Models the recipe loads, attached so the kernel reads them from /kaggle/input, not the network."""
    from kagglekit.training.models.pretrained import kaggle_model_sources
    from kagglekit.training.recipes import RecipeChoice

    return kaggle_model_sources(RecipeChoice(spec.model, spec.overrides, spec.all_data).recipe)


def kernel_script(spec: RemoteSpec, token: str) -> str:
    """The pushed script: the spec, kagglekit zipped in base64, and a call of kernel_entry.main."""
    payload = {
        "competition": spec.competition,
        "model": spec.model,
        "overrides": spec.overrides,
        "all_data": spec.all_data,
        "machine_shape": spec.machine_shape,
        "tta": spec.tta,
        "token": token,
    }
    return SCRIPT_TEMPLATE.format(
        model=spec.model,
        competition=spec.competition,
        shape=spec.machine_shape or "no accelerator",
        spec=json.dumps(payload),
        package=package_base64(),
        temp_env=KAGGLE_TEMP_ENV,
    )


SCRIPT_TEMPLATE = """\
# kagglekit remote run of {model} on {competition} ({shape}), written by `python -m kagglekit remote`.
# kagglekit's own code travels below, zipped: the notebook needs nothing but the competition's data.
import base64, io, json, os, sys, zipfile
SPEC = json.loads({spec!r})
PACKAGE = "{package}"
source = os.path.join(os.environ.get("{temp_env}", "/kaggle/temp"), "kagglekit-src")
zipfile.ZipFile(io.BytesIO(base64.b64decode(PACKAGE))).extractall(source)
sys.path.insert(0, source)
from kagglekit.cli import main as run_stage
from kagglekit.remote.kernel_entry import main
sys.exit(main(SPEC, run_stage))
"""


def package_base64() -> str:
    """Every .py file of the kagglekit package but the stand-in for Kaggle, and the shipped competition specs
    (every stage reads its competition's), zipped (deterministically), base64-encoded."""
    root = Path(__file__).resolve().parent.parent  # the kagglekit package
    files = [*root.rglob("*.py"), *(root / "competitions").glob("*.toml")]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for path in sorted(p for p in files if p.relative_to(root).parts[0] != STANDIN):
            info = zipfile.ZipInfo(str(Path("kagglekit") / path.relative_to(root)), date_time=(2020, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())
    return base64.b64encode(buffer.getvalue()).decode()


def push_folder(api: KaggleApi, folder: Path, slug: str, timeout_seconds: int) -> Any:
    """kernels_push, with Kaggle's refusals (HTTP 200 with ``error``) turned into one line."""
    code = folder / CODE_FILE
    if code.is_file() and code.stat().st_size > MAX_CODE_BYTES:
        raise DataError(f"{code} is {code.stat().st_size:,} bytes, over Kaggle's 1 MB limit for a kernel's source")
    response = kaggle_api.push_kernel(api, folder, timeout_seconds)
    if response.error:
        raise KaggleApiError(f"Kaggle refused the kernel push: {response.error}")
    if response.invalid_competition_sources:
        raise KaggleApiError(
            f"Kaggle cannot attach competition {', '.join(response.invalid_competition_sources)} "
            f"to the kernel: accept its rules at {kaggle_api.COMPETITIONS_URL}/{slug}/rules"
        )
    if response.invalid_model_sources:
        raise KaggleApiError(
            f"Kaggle cannot attach model {', '.join(response.invalid_model_sources)} to the kernel: "
            "check the recipe's preset against https://www.kaggle.com/models (OWNER/MODEL/"
            "FRAMEWORK/VARIATION/VERSION)"
        )
    return response


# -- wait ----------------------------------------------------------------------------


def wait_for_output(
    api: KaggleApi, state: dict[str, Any], folder: Path, wait: float, interval: float, log: Log
) -> dict[str, Any]:
    """Poll until this very version completes; returns its device report, which repeats the push's token."""

    def own_report(files: dict[str, str], log_text: str) -> dict[str, Any] | None:
        report = fetch_device_report(files, folder)
        return report if report.get("token") == state["token"] else None

    return wait_for_version(api, state, folder, wait, interval, log, own_report)


def wait_for_version(
    api: KaggleApi,
    state: dict[str, Any],
    folder: Path,
    wait: float,
    interval: float,
    log: Log,
    finished: Callable[[dict[str, str], str], dict[str, Any] | None],
    stage: str = "remote",
) -> dict[str, Any]:
    """Poll until the pushed version completes and ``finished`` (given its output files and its log) says the
    output is its own, not an earlier version's; returns what ``finished`` returned. One line per status change."""
    ref, version = state["ref"], state["version"]
    started, deadline = time.monotonic(), time.monotonic() + wait
    shown = None
    while True:
        status, failure = kaggle_api.kernel_status(api, ref)
        if status != shown:
            log(f"{stage}: {ref} version {version}: {status} ({_elapsed(time.monotonic() - started)})")
            shown = status
        if status == "COMPLETE":
            report = finished(*kaggle_api.kernel_output(api, ref))
            if report is not None:
                return report
            status = "COMPLETE (of an earlier version)"
        elif status == "ERROR":
            write_json(folder / "push.json", {**state, "failed": True})  # a rerun pushes anew
            raise kernel_failed(api, state, folder, failure)
        elif status in CANCELLED:
            raise KaggleApiError(f"{ref} version {version} was cancelled on Kaggle; rerun with --push-again")
        elif status not in WAITING:
            raise KaggleApiError(
                f"{ref} version {version} is in state {status}, which kagglekit does not expect; "
                f"see https://www.kaggle.com/code/{ref}"
            )
        if time.monotonic() >= deadline:
            raise StillPendingError(
                f"{ref} version {version} is still {status} after {_elapsed(wait)}; it keeps "
                "running on Kaggle: rerun the same command later to pick it up"
            )
        time.sleep(interval)


def kernel_failed(api: KaggleApi, state: dict[str, Any], folder: Path, failure: str | None) -> KaggleApiError:
    """ERROR, as one line: the wrong device if that was it, else Kaggle's message and the log's last lines."""
    files, log_text = kaggle_api.kernel_output(api, state["ref"])
    log_path = save_log(log_text, folder)
    report = fetch_device_report(files, folder)
    mismatch = device_mismatch(state["machine_shape"], report["device"]) if report.get("device") else None
    if mismatch:
        return KaggleApiError(
            f"{state['ref']} version {state['version']}: {mismatch}, so it stopped before training; "
            "rerun to push a new version (Kaggle may have had none free), or choose another --accelerator"
        )
    lines = [line for line in log_path.read_text().splitlines() if line.strip()]
    tail = " | ".join(lines[-LOG_TAIL_LINES:]) or "the log is empty"
    return KaggleApiError(
        f"{state['ref']} version {state['version']} failed on Kaggle: {failure or 'no message'}; "
        f"last log lines: {tail}; full log: {log_path}; fix the cause and rerun to push a new version"
    )


# -- pull ----------------------------------------------------------------------------


def fetch_device_report(files: dict[str, str], folder: Path) -> dict[str, Any]:
    """The kernel's own report of its device and token, from its output ``files`` ({name: URL}); {} if absent."""
    if DEVICE_REPORT not in files:
        return {}
    try:
        return read_json(kaggle_api.download_output(files[DEVICE_REPORT], folder / DEVICE_REPORT))
    except ValueError:
        return {}


def save_log(log_text: str, folder: Path) -> Path:
    """The kernel's log as plain lines (Kaggle serves a JSON list of stream events)."""
    try:
        text = "".join(event.get("data", "") for event in json.loads(log_text or "[]"))
    except (ValueError, AttributeError):
        text = log_text
    path = folder / "kernel.log"
    path.write_text(text)
    return path


def ensure_sample_submission(paths: CompetitionPaths, api: KaggleApi) -> Path:
    """submit validates against the sample submission; a remote run needs only that file here, not the images."""
    target = paths.sample_submission
    if not target.is_file():
        kaggle_api.download_file(paths.slug, paths.spec.submission.sample, paths.raw, progress=False, api=api)
    return target


# -- record --------------------------------------------------------------------------


def record(
    api: KaggleApi,
    state: dict[str, Any],
    report: dict[str, Any],
    folder: Path,
    paths: CompetitionPaths,
    runs_dir: Path,
    submissions_dir: Path,
    log: Log,
) -> RemoteResult:
    """Pull the run archive, check device and CSV, then put run and prediction where local ones go."""
    from kagglekit.submissions.formats import CSV, PREDICTION, replace_keeping_records, validate_prediction

    files, log_text = kaggle_api.kernel_output(api, state["ref"])
    if RUN_ARCHIVE not in files:
        raise KaggleApiError(
            f"{state['ref']} version {state['version']} completed without {RUN_ARCHIVE}; "
            f"see its log at https://www.kaggle.com/code/{state['ref']}"
        )
    archive = kaggle_api.download_output(files[RUN_ARCHIVE], folder / RUN_ARCHIVE)
    log_path = save_log(log_text, folder)
    mismatch = device_mismatch(state["machine_shape"], report["trained_on"])
    if mismatch:
        raise KaggleApiError(
            f"{state['ref']} version {state['version']}: {mismatch.replace('kernel ran', 'run trained')}; "
            f"its output is in {folder}, not recorded as a run"
        )
    unpacked = fresh_partial_dir(folder / "output")
    _extract(archive, unpacked)
    version_id, run_name = report["version_id"], report["run"]
    prediction_dir = unpacked / "submissions" / version_id
    prediction = read_json(prediction_dir / PREDICTION)
    validate_prediction(prediction_dir / CSV, paths, prediction)
    run_dir = Path(runs_dir) / run_name
    remote = {
        "kernel": state["ref"],
        "version": state["version"],
        "url": state["url"],
        "requested": state["machine_shape"],
        "device": report["device"],
        "trained_on": report["trained_on"],
        "pulled": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    write_json(unpacked / "runs" / run_name / "remote.json", remote)
    (unpacked / "runs" / run_name / "kernel.log").write_text(log_path.read_text())
    write_json(
        prediction_dir / PREDICTION,
        {**prediction, "run_dir": str(run_dir), "trained_where": f"kaggle: {report['trained_on']['name']}"},
    )
    move_into_place(unpacked / "runs" / run_name, run_dir)
    replace_keeping_records(prediction_dir, Path(submissions_dir) / version_id)
    remove(unpacked)
    trained_on = str(report["trained_on"]["name"])
    log(
        f"remote: recorded {run_dir} and {Path(submissions_dir) / version_id} "
        f"(val accuracy {prediction.get('val_accuracy')}, trained on {trained_on})"
    )
    return RemoteResult(run_dir, version_id, trained_on)


def _extract(archive: Path, target: Path) -> None:
    """Only runs/ and submissions/ members, through tarfile's 'data' filter (no links out, no devices)."""
    try:
        with tarfile.open(archive) as tar:
            members = [m for m in tar.getmembers() if m.name.split("/", 1)[0] in ("runs", "submissions")]
            tar.extractall(target, members=members, filter="data")
    except (tarfile.TarError, OSError) as error:
        raise DataError(
            f"{archive} from Kaggle is not a readable run archive ({error}); rerun to download it again"
        ) from None


def _elapsed(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
