"""Kaggle's Kernels API for the local server: a pushed script really runs, on this machine.

`remote` must be testable end to end without kaggle.com, yet a fake that
merely claims a kernel ran would test nothing. So SaveKernel starts the pushed
script in a subprocess, under a temporary root laid out like a notebook's
(``kaggle/input/competitions/SLUG``, the attached datasets' current versions at
``kaggle/input/datasets/OWNER/SLUG``, ``kaggle/working``, ``kaggle/temp``), with
the variables a batch session sets, no Kaggle credentials, no proxy to this
server, a Python of its own (this environment's packages, its own installs)
and a timeout. A kernel pushed with ``enable_internet`` false has no
network at all (:mod:`kagglekit.standin.offline`): what reaches out fails the
run with Kaggle's words in its log. Status, output files and the log are what
that process did. The device it reports is the one it ran on (this machine's
CPU): a GPU asked for is never pretended.

Faults Kaggle has shown are switchable, for tests: a status that lags behind a
push (:meth:`KernelService.serve_stale_status`), a status name the client does
not know, an output URL that errors, and a used-up quota.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
import venv
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from kagglesdk.kernels.types.kernels_api_service import (
    ApiGetKernelRequest,
    ApiGetKernelResponse,
    ApiGetKernelSessionStatusRequest,
    ApiKernelBlob,
    ApiKernelMetadata,
    ApiKernelSessionOutputFile,
    ApiListKernelSessionOutputRequest,
    ApiListKernelSessionOutputResponse,
    ApiListKernelsRequest,
    ApiListKernelsResponse,
    ApiSaveKernelRequest,
    ApiSaveKernelResponse,
)
from kagglesdk.kernels.types.kernels_enums import KernelsListViewType
from werkzeug.utils import send_file
from werkzeug.wrappers import Request, Response

from kagglekit.data.fetch import CACHE_MOUNT_ENV
from kagglekit.paths import KAGGLE_TEMP_ENV, KAGGLE_WORKING_ENV
from kagglekit.standin.offline import namespace_prefix, offline_pythonpath
from kagglekit.standin.responses import ApiError, json_response, one_page, sdk_response

if TYPE_CHECKING:
    from kagglekit.standin.server import KaggleServer

SERVICE = "kernels.KernelsApiService"
MAX_CODE_BYTES = 1_000_000  # Kaggle refuses a kernel's source past 1 MB
OUTPUT_ROUTE = "/kernel-output/"
DEFAULT_RUN_TIMEOUT = 1800.0  # seconds a pushed script may run, unless the push asks for less
QUOTA_HOURS = {"gpu": 30.0, "tpu": 20.0}  # Kaggle's weekly allowance, as of 2025
# The variables of a Kaggle batch session (Save Version / kernels push), minus credentials.
SESSION_ENVIRONMENT = {
    "KAGGLE_KERNEL_RUN_TYPE": "Batch",
    "KAGGLE_URL_BASE": "https://www.kaggle.com",
    "KAGGLE_DOCKER_IMAGE": "local-stand-in",
}
# What must not leak from this process into the kernel: it has no credentials and no proxy to us.
WITHHELD = (
    "KAGGLE_USERNAME",
    "KAGGLE_KEY",
    "KAGGLE_API_TOKEN",
    "KAGGLE_CONFIG_DIR",
    "KAGGLE_API_ENVIRONMENT",
    "KAGGLE_API_V1_TOKEN",
    "KAGGLE_DATA_PROXY_URL",
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "PYTHONPATH",
)
# Withheld too when the internet is off: no proxy of any kind, no Python started without sitecustomize, and
# none of this machine's own package sources (a wheel folder Kaggle's image does not have would mask a missing one).
OFFLINE_WITHHELD = (
    "ALL_PROXY",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
    "PYTHONNOUSERSITE",
    "PYTHONSAFEPATH",
    "PIP_FIND_LINKS",
    "PIP_INDEX_URL",
    "PIP_EXTRA_INDEX_URL",
)


@dataclasses.dataclass
class KernelVersion:
    """One push of a kernel and the session that ran it."""

    owner: str
    slug: str
    number: int
    root: Path
    machine_shape: str | None
    status: str = "QUEUED"
    failure_message: str | None = None
    internet: bool = True
    isolation: str = "none"  # how the internet was kept off: "network namespace + sitecustomize", "sitecustomize"
    mounts: dict[str, Path] = dataclasses.field(default_factory=dict)  # input path -> a dataset version's folder
    pushed: ApiSaveKernelRequest | None = None  # what the push sent: the metadata GetKernel and ListKernels report
    pushed_at: datetime = dataclasses.field(default_factory=lambda: datetime.now(timezone.utc))
    kernel_id: int = 0
    log: list[dict] = dataclasses.field(default_factory=list)

    @property
    def working(self) -> Path:
        return self.root / "kaggle" / "working"


class KernelService:
    """The Kernels endpoints of :class:`~kagglekit.standin.server.KaggleServer`, one instance per server."""

    def __init__(self, server: KaggleServer, workdir: Path) -> None:
        self.server = server
        self.workdir = workdir
        self.versions: dict[tuple[str, str], list[KernelVersion]] = {}
        self.quota_used_hours = {"gpu": 0.0, "tpu": 0.0}
        self.run_timeout = DEFAULT_RUN_TIMEOUT
        self.broken_outputs: set[str] = set()  # output file names whose URL answers 500
        self.legacy_dataset_paths = False  # mount datasets at /kaggle/input/SLUG, as older notebooks do
        self._stale: list[str] = []  # statuses to show before the true one, one per poll
        self._lock = threading.RLock()
        self._counter = itertools.count(1)

    def handlers(self) -> dict[tuple[str, str], Callable[[Request], Response]]:
        return {
            (SERVICE, "SaveKernel"): self._save_kernel,
            (SERVICE, "GetKernelSessionStatus"): self._get_status,
            (SERVICE, "ListKernelSessionOutput"): self._list_output,
            (SERVICE, "GetAcceleratorQuotaStatistics"): self._quota,
            (SERVICE, "ListKernels"): self._list_kernels,
            (SERVICE, "GetKernel"): self._get_kernel,
        }

    # -- fault hooks -----------------------------------------------------------

    def serve_stale_status(self, *statuses: str) -> None:
        """The next status polls answer these (e.g. the previous version's COMPLETE) before the truth."""
        with self._lock:
            self._stale.extend(statuses)

    def use_quota(self, kind: str, hours: float) -> None:
        self.quota_used_hours[kind] = hours

    def latest(self, owner: str, slug: str) -> KernelVersion | None:
        return self.find(owner, slug)

    def find(self, owner: str, slug: str, number: int | None = None) -> KernelVersion | None:
        """Version ``number`` of OWNER/SLUG (the latest when None), or None."""
        with self._lock:
            versions = self.versions.get((owner, slug), [])
            if number is None:
                return versions[-1] if versions else None
            return next((v for v in versions if v.number == number), None)

    def submittable(self, owner: str, slug: str, number: int | None, user: str) -> KernelVersion:
        """The version a code submission names, or Kaggle's kind of refusal: only a completed run of one's own."""
        version = self.find(owner, slug, number) if owner == user else None
        named = f"{owner}/{slug}" + (f" version {number}" if number else "")
        if version is None:
            raise ApiError(404, f"Could not find provided notebook: {named}")
        if version.status in ("QUEUED", "RUNNING"):
            raise ApiError(400, f"Notebook {named} has not completed ({version.status}): submit it once it has run")
        if version.status != "COMPLETE":
            reason = f": {version.failure_message}" if version.failure_message else ""
            raise ApiError(
                400, f"Notebook {named} failed ({version.status}){reason}; only a completed run is submitted"
            )
        return version

    def wait_idle(self, timeout: float = 120.0) -> None:
        """Block until no pushed script is still running (tests, server shutdown)."""
        deadline = time.monotonic() + timeout
        while any(v.status in ("QUEUED", "RUNNING") for vs in self.versions.values() for v in vs):
            if time.monotonic() > deadline:
                return
            time.sleep(0.05)

    # -- endpoints -------------------------------------------------------------

    def _save_kernel(self, request: Request) -> Response:
        user = self.server._user(request)
        body = ApiSaveKernelRequest.from_dict(request.get_json(force=True))
        response = ApiSaveKernelResponse()
        owner, _, slug = (body.slug or "").partition("/")
        problem = self._refusal(body, owner, user)
        if problem:
            response.error = problem
            return sdk_response(response)
        unknown = [s for s in body.competition_data_sources or [] if s not in self.server.competitions]
        if unknown:
            response.invalid_competition_sources = unknown
        mounts, missing = self._dataset_mounts(body.dataset_data_sources or [])
        if missing:
            response.invalid_dataset_sources = missing
        if body.model_data_sources:
            response.invalid_model_sources = list(body.model_data_sources)  # the stand-in holds no models
        version = self._new_version(owner, slug, body)
        version.internet = bool(body.enable_internet)
        version.mounts = mounts
        version.pushed = body
        threading.Thread(
            target=self._run, args=(version, body), name=f"kernel-{slug}-{version.number}", daemon=True
        ).start()
        response.ref = f"{owner}/{slug}"
        response.url = f"https://www.kaggle.com/code/{owner}/{slug}"
        response.version_number = version.number
        response.kernel_id = version.kernel_id
        return sdk_response(response)

    def _refusal(self, body: ApiSaveKernelRequest, owner: str, user: str) -> str | None:
        """Why Kaggle would refuse this push (errors come back with HTTP 200, in ``error``)."""
        if owner != user:
            return f"You cannot push to {owner}'s kernels"
        if len((body.text or "").encode()) > MAX_CODE_BYTES:
            return "Kernel source is too large: the maximum is 1 MB"
        if body.language != "python" or body.kernel_type != "script":
            return "the local Kaggle server runs Python scripts only"
        return None

    def _new_version(self, owner: str, slug: str, body: ApiSaveKernelRequest) -> KernelVersion:
        with self._lock:
            versions = self.versions.setdefault((owner, slug), [])
            root = Path(tempfile.mkdtemp(prefix=f"kernel-{slug}-", dir=self.workdir))
            version = KernelVersion(owner, slug, len(versions) + 1, root, body.machine_shape)
            version.kernel_id = versions[0].kernel_id if versions else 1000 + next(self._counter)
            versions.append(version)
        return version

    def _get_status(self, request: Request) -> Response:
        self.server._user(request)
        body = ApiGetKernelSessionStatusRequest.from_dict(request.get_json(force=True))
        version = self._version(body.user_name, body.kernel_slug)
        with self._lock:
            status = self._stale.pop(0) if self._stale else version.status
        payload = {"status": status}
        if version.failure_message and status == version.status:
            payload["failureMessage"] = version.failure_message
        return json_response(payload)

    def _list_output(self, request: Request) -> Response:
        self.server._user(request)
        body = ApiListKernelSessionOutputRequest.from_dict(request.get_json(force=True))
        version = self._version(body.user_name, body.kernel_slug)
        names = sorted(str(p.relative_to(version.working)) for p in version.working.rglob("*") if p.is_file())
        shown, next_token = one_page(names, body.page_token, body.page_size)
        response = ApiListKernelSessionOutputResponse()
        response.files = [self._output_file(version, name) for name in shown]
        response.log = json.dumps(version.log)
        if next_token:
            response.next_page_token = next_token
        return sdk_response(response)

    def _output_file(self, version: KernelVersion, name: str) -> ApiKernelSessionOutputFile:
        item = ApiKernelSessionOutputFile()
        item.file_name = name
        item.url = f"http://localhost{OUTPUT_ROUTE}{version.owner}/{version.slug}/{version.number}/{name}"
        return item

    def serves(self, path: str) -> bool:
        """Whether ``path`` is one of the output file URLs this service hands out."""
        return path.startswith(OUTPUT_ROUTE)

    def send_output(self, request: Request) -> Response:
        """GET of an output file's URL (signed, so no auth): 500 for a file set to break."""
        parts = request.path[len(OUTPUT_ROUTE) :].split("/", 3)
        if len(parts) != 4:
            raise ApiError(404, f"no output file at {request.path}")
        owner, slug, number, name = parts
        versions = self.versions.get((owner, slug), [])
        version = next((v for v in versions if str(v.number) == number), None)
        path = version.working / name if version else None
        if name in self.broken_outputs:
            return Response("<html>backend error</html>", status=500, content_type="text/html")
        if path is None or not path.is_file() or version.working not in path.resolve().parents:
            raise ApiError(404, f"no output file {name!r}")
        return send_file(path, request.environ, mimetype="application/octet-stream", max_age=None)

    def _quota(self, request: Request) -> Response:
        """Durations written by hand: kagglesdk's TimeDeltaSerializer drops whole days."""
        self.server._user(request)
        refresh = (datetime.now(timezone.utc) + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ")

        def quota(kind: str) -> dict:
            return {
                "timeUsed": f"{int(self.quota_used_hours[kind] * 3600)}s",
                "totalTimeAllowed": f"{int(QUOTA_HOURS[kind] * 3600)}s",
                "hasEverRun": True,
            }

        return json_response({"quotaRefreshTime": refresh, "gpuQuota": quota("gpu"), "tpuQuota": quota("tpu")})

    def _list_kernels(self, request: Request) -> Response:
        """``kernels list --mine`` / ``--user U`` / ``-s TERM`` / ``--competition C`` / ``--dataset D``: latest versions."""
        user = self.server._user(request)
        body = ApiListKernelsRequest.from_dict(request.get_json(force=True))
        owner = user if body.group == KernelsListViewType.PROFILE else body.user
        with self._lock:
            latest = [versions[-1] for versions in self.versions.values()]
        found = [
            v
            for v in latest
            if (not owner or v.owner == owner)
            and (body.search or "").lower() in v.slug.lower()
            and (not body.competition or body.competition in (v.pushed.competition_data_sources or []))
            and (not body.dataset or body.dataset in (v.pushed.dataset_data_sources or []))
        ]
        ordered = sorted(found, key=lambda v: (v.owner, v.slug))
        shown, next_token = one_page(ordered, body.page_token, body.page_size, body.page)
        response = ApiListKernelsResponse()
        response.kernels = [_metadata(v) for v in shown]
        if next_token:
            response.next_page_token = next_token
        return sdk_response(response)

    def _get_kernel(self, request: Request) -> Response:
        """``kernels pull [-m] OWNER/SLUG[/VERSION]``: the source and metadata of that version (default: the latest)."""
        self.server._user(request)
        body = ApiGetKernelRequest.from_dict(request.get_json(force=True))
        slug, _, number = (body.kernel_slug or "").partition("/")
        version = self.find(body.user_name, slug, int(number) if number.isdigit() else None)
        if version is None or (number and not number.isdigit()):
            raise ApiError(404, f"Kernel {body.user_name}/{body.kernel_slug} not found")
        blob = ApiKernelBlob()
        blob.source = version.pushed.text or ""
        blob.language = version.pushed.language or "python"
        blob.kernel_type = version.pushed.kernel_type or "script"
        blob.slug = version.slug
        response = ApiGetKernelResponse()
        response.metadata = _metadata(version)
        response.blob = blob
        return sdk_response(response)

    def _version(self, owner: str, slug: str) -> KernelVersion:
        version = self.latest(owner, slug)
        if version is None:
            raise ApiError(404, f"Kernel {owner}/{slug} not found")
        return version

    # -- running a pushed script ------------------------------------------------

    def _run(self, version: KernelVersion, body: ApiSaveKernelRequest) -> None:
        script = self._lay_out(version, body)
        version.status = "RUNNING"
        timeout = min(self.run_timeout, body.session_timeout_seconds or self.run_timeout)
        started = time.monotonic()
        command = [str(_interpreter(version.root / "python")), str(script)]
        if not version.internet:
            command = [*namespace_prefix(), *command]
            version.isolation = "network namespace + sitecustomize" if namespace_prefix() else "sitecustomize"
        try:
            result = subprocess.run(
                command,
                cwd=version.working,
                env=self._environment(version),
                capture_output=True,
                text=True,
                timeout=timeout,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired as expired:
            self._log(version, expired.stdout, expired.stderr, started)
            version.failure_message = f"Your notebook hit the maximum run time ({timeout:.0f} seconds)"
            version.status = "ERROR"
            return
        self._log(version, result.stdout, result.stderr, started)
        if result.returncode:
            last = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
            version.failure_message = f"Your notebook tried to run a cell that failed: {last[0]}"
            version.status = "ERROR"
        else:
            version.status = "COMPLETE"

    def _lay_out(self, version: KernelVersion, body: ApiSaveKernelRequest) -> Path:
        """The notebook's filesystem: read-only inputs, working (the output) and temp (scratch)."""
        kaggle = version.root / "kaggle"
        for name in ("working", "temp", "src"):
            (kaggle / name).mkdir(parents=True)
        for slug in body.competition_data_sources or []:
            competition = self.server.competitions.get(slug)
            if competition is None:
                continue
            mount = kaggle / "input" / "competitions" / slug
            mount.mkdir(parents=True)
            for served in competition.files.values():
                (mount / served.name).symlink_to(served.source.resolve())
        for relative, source in version.mounts.items():
            for path in sorted(p for p in source.rglob("*") if p.is_file()):
                link = kaggle / "input" / relative / path.relative_to(source)
                link.parent.mkdir(parents=True, exist_ok=True)
                link.symlink_to(path.resolve())
        script = kaggle / "src" / "script.py"
        script.write_text(body.text or "")
        return script

    def _dataset_mounts(self, sources: list[str]) -> tuple[dict[str, Path], list[str]]:
        """Where each attached dataset appears under /kaggle/input (its current version, pinned at push); the unknown.

        Today's notebooks mount OWNER/SLUG at ``datasets/OWNER/SLUG``, as competitions
        at ``competitions/SLUG``; older ones at ``SLUG`` (:attr:`legacy_dataset_paths`).
        """
        mounts, missing = {}, []
        for source in sources:
            owner, _, slug = source.partition("/")
            dataset = self.server.datasets.get(owner, slug.split("/")[0])
            if dataset is None:
                missing.append(source)
                continue
            where = dataset.slug if self.legacy_dataset_paths else f"datasets/{dataset.owner}/{dataset.slug}"
            mounts[where] = dataset.current.directory
        return mounts, missing

    def _environment(self, version: KernelVersion) -> dict[str, str]:
        withheld = WITHHELD if version.internet else (*WITHHELD, *OFFLINE_WITHHELD)
        env = {k: v for k, v in os.environ.items() if k not in withheld and not k.startswith("KAGGLEKIT_")}
        kaggle = version.root / "kaggle"
        env.update(SESSION_ENVIRONMENT)
        env.update(
            {
                "HOME": str(kaggle / "temp"),
                CACHE_MOUNT_ENV: str(kaggle / "input"),
                KAGGLE_WORKING_ENV: str(kaggle / "working"),
                KAGGLE_TEMP_ENV: str(kaggle / "temp"),
                "KAGGLE_CONFIG_DIR": str(kaggle / "temp" / ".kaggle"),
                "PYTHONUNBUFFERED": "1",
            }
        )
        if not version.internet:
            env["PYTHONPATH"] = str(offline_pythonpath(version.root / "offline"))
            env["PIP_CONFIG_FILE"] = os.devnull  # pip reads no pip.conf of this machine's either
        return env

    def _log(
        self, version: KernelVersion, stdout: str | bytes | None, stderr: str | bytes | None, started: float
    ) -> None:
        """Kaggle's log: a JSON list of {stream_name, time, data} events."""
        elapsed = round(time.monotonic() - started, 3)
        for stream, text in (("stdout", stdout), ("stderr", stderr)):
            if isinstance(text, bytes):
                text = text.decode(errors="replace")
            for line in (text or "").splitlines():
                version.log.append({"stream_name": stream, "time": elapsed, "data": line + "\n"})


def _metadata(version: KernelVersion) -> ApiKernelMetadata:
    """What Kaggle reports of a kernel: its push's settings and ``currentVersionNumber``, the version to submit."""
    pushed = version.pushed or ApiSaveKernelRequest()
    view = ApiKernelMetadata()
    view.id = version.kernel_id
    view.ref = f"{version.owner}/{version.slug}"
    view.slug = version.slug
    view.author = version.owner
    view.title = pushed.new_title or version.slug
    view.language = pushed.language
    view.kernel_type = pushed.kernel_type
    view.is_private = pushed.is_private
    view.enable_gpu = pushed.enable_gpu
    view.enable_tpu = pushed.enable_tpu
    view.enable_internet = pushed.enable_internet
    view.dataset_data_sources = list(pushed.dataset_data_sources or [])
    view.competition_data_sources = list(pushed.competition_data_sources or [])
    view.kernel_data_sources = list(pushed.kernel_data_sources or [])
    view.model_data_sources = list(pushed.model_data_sources or [])
    view.category_ids = list(pushed.category_ids or [])
    view.machine_shape = pushed.machine_shape
    view.current_version_number = version.number
    view.last_run_time = version.pushed_at.replace(tzinfo=None)
    return view


def _interpreter(directory: Path) -> Path:
    """A Python of the kernel's own, as the image's is: it sees this one's packages, and installs into itself.

    A kernel that pip-installs (kagglekit from attached wheels, say) must not
    change the environment the server and the tests run in; its installs land
    in ``directory`` and shadow this environment's packages for that kernel only.
    """
    venv.EnvBuilder(symlinks=True, with_pip=False).create(directory)
    ours = dict.fromkeys(sysconfig.get_paths()[key] for key in ("purelib", "platlib"))
    theirs = Path(sysconfig.get_paths(vars={"base": str(directory), "platbase": str(directory)})["purelib"])
    lines = "".join(f"import site; site.addsitedir({path!r})\n" for path in ours)
    (theirs / "_kagglekit_standin_host.pth").write_text(lines)
    return directory / ("Scripts" if sys.platform == "win32" else "bin") / "python"
