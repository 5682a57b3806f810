"""A local stand-in for Kaggle's competition API, spoken to by the real ``kaggle`` client.

Tests and ``make demo`` must run the whole pipeline without an account or a
network, yet through the exact client code a user runs. The client (kaggle
2.2.4) makes that possible with two documented switches and no patching:

* ``KAGGLE_API_ENVIRONMENT=LOCALHOST`` set *before* ``kaggle`` is imported makes
  it POST to ``http://localhost/api/v1/competitions.CompetitionApiService/<Method>``;
* ``HTTP_PROXY=http://127.0.0.1:PORT`` routes those requests (and the redirects to
  file and upload URLs, which are also on ``http://localhost``) to this server,
  which therefore sees absolute-URI proxy requests with ``Host: localhost``.

Requests and responses are (de)serialised with ``kagglesdk``'s own types, so the
field names are the client's, not a guess. Competition metadata (GetCompetition,
ListCompetitions) carries a deadline, as Kaggle's does. Faults (401/403/404/429,
a connection cut mid-file, a misreported size, submissions that stay pending, a
token that may read but not submit) can be switched on through
:class:`KaggleServer` so tests can drive every error path.

For the notebook tests it also answers what a Kaggle notebook's own services
answer: ``kaggle_secrets``' GetUserSecretByLabelRequest (on ``$KAGGLE_URL_BASE``)
and kagglehub's AttachDatasourceUsingJwtRequest (on ``$KAGGLE_DATA_PROXY_URL``),
whose ``mountSlug`` is ``competitions/SLUG``, the mount path notebooks use today.

Datasets (:mod:`kagglekit.standin.dataset_server`) and kernels
(:mod:`kagglekit.standin.kernel_server`) are served beside the competitions. A
code competition (``kernels_only``, by default its spec's ``kind = "code"``)
refuses uploaded files and takes a kernel version's output (CreateCodeSubmission).

Submissions are scored as Kaggle scores them (:mod:`kagglekit.standin.scoring`):
in the competition's metric (its kagglekit spec's, or the one
:meth:`KaggleServer.add_competition` is given), on the submission format that
metric implies, and refused with Kaggle's kind of error (a missing, extra or
repeated column or id, a label that is not a class, a probability that is not
a number in [0, 1]) as a scoring error on the submission. Log losses clip at
1e-15, as Kaggle does. The leaderboard ranks in the metric's direction.

solution.csv, the answers the server scores with, is two columns read by
position, one row per test id (each once), ids as text::

    <sample's id column>,<answer>
    label:          the true class name, as the sample's value column holds labels   (cifar-10: id,label / 1,frog)
    probability:    1 where the image is the positive class, 0 otherwise              (dogs-vs-cats: id,label / 1,1)
                    (or the true class name: 1 where it is the spec's positive)       (dogs-vs-cats: id,label / 1,dog)
    probabilities:  the true class name, one of the sample's value columns (header
                    <id column>,label)                                                 (dog breeds: id,label / 0a1b,beagle)

For label and probability the answer column is named as the sample's value
column (cifar-10 ``id,label``, digit-recognizer ``ImageId,Label``); only the
position is read. 30 % or 50 % of the ids count towards the public score
(``public_fraction``), the rest towards the private one. A third column,
``Usage``, marks the rows ``Ignored`` that a submission must hold and no score
counts (cifar-10's 290,000 junk images).

Run it for a CLI session with::

    python -m kagglekit.standin.server --competition-dir DIR --solution CSV [--slug SLUG] [--port N]
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import dataclasses
import hashlib
import itertools
import os
import random
import tempfile
import threading
import uuid
import zipfile
from collections import deque
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Iterator, Sequence

from kagglesdk.competitions.types.competition_api_service import (
    ApiCompetition,
    ApiCreateCodeSubmissionRequest,
    ApiCreateCodeSubmissionResponse,
    ApiCreateSubmissionRequest,
    ApiCreateSubmissionResponse,
    ApiDataFile,
    ApiDownloadDataFileRequest,
    ApiDownloadDataFilesRequest,
    ApiGetCompetitionRequest,
    ApiGetLeaderboardRequest,
    ApiGetLeaderboardResponse,
    ApiGetSubmissionLimitsRequest,
    ApiGetSubmissionRequest,
    ApiLeaderboardSubmission,
    ApiListCompetitionsRequest,
    ApiListCompetitionsResponse,
    ApiListDataFilesRequest,
    ApiListDataFilesResponse,
    ApiListSubmissionsRequest,
    ApiListSubmissionsResponse,
    ApiStartSubmissionUploadRequest,
    ApiStartSubmissionUploadResponse,
    ApiSubmission,
    ApiSubmissionLimits,
)
from kagglesdk.competitions.types.submission_status import SubmissionStatus
from kagglesdk.security.types.oauth_service import IntrospectTokenRequest, IntrospectTokenResponse
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.utils import send_file
from werkzeug.wrappers import Request, Response

from kagglekit.competitions.metrics import METRICS, Metric
from kagglekit.standin.dataset_server import DatasetService
from kagglekit.standin.kernel_server import KernelService
from kagglekit.standin.responses import ApiError, json_response, one_page, sdk_response
from kagglekit.standin.scoring import KAGGLE_METRIC_NAMES, Scoring, SubmissionRefused, better, make_scoring
from kagglekit.standin.scoring import score as score_submission

if TYPE_CHECKING:
    from kagglekit.competitions import CompetitionSpec

# What the client puts in front of every request when KAGGLE_API_ENVIRONMENT=LOCALHOST.
PUBLIC_HOST = "http://localhost"
API_PREFIX = "/api/v1/"
DEMO_USERNAME = "kagglekit-demo"
DEMO_KEY = "local-demo-key-not-a-secret"
BENCHMARK_TEAM = "Sample Submission Benchmark"
# Where kaggle_secrets' UserSecretsClient posts (on $KAGGLE_URL_BASE), in Kaggle's notebook image.
SECRETS_PATH = "/requests/GetUserSecretByLabelRequest"
# Where kagglehub's KaggleJwtClient asks the notebook's data proxy ($KAGGLE_DATA_PROXY_URL) to attach a competition.
ATTACH_PATH = "/kaggle-jwt-handler/AttachDatasourceUsingJwtRequest"
# The sample submission of a competition kagglekit has no spec for (cifar-10's name).
DEFAULT_SAMPLE = "sampleSubmission.csv"
# Files Kaggle hands out inside a .zip even when asked for one file.
ZIP_WRAPPED_SUFFIXES = (".csv",)
CODE_ONLY = (
    "only accepts submissions from notebooks: submit a notebook version's output with "
    "`kaggle competitions submit COMPETITION -k OWNER/KERNEL -v VERSION -f submission.csv -m MESSAGE`"
)


@dataclasses.dataclass
class ServedFile:
    """One competition file: what ListDataFiles reports and what the file URL sends."""

    name: str
    source: Path  # the file as the competition ships it
    payload: Path  # what the file URL sends: the source, or a .zip around it
    listed_size: int

    @property
    def served_name(self) -> str:
        return self.payload.name


@dataclasses.dataclass
class Submission:
    ref: int
    slug: str
    team: str
    file_name: str
    description: str
    date: datetime
    public_score: float | None
    private_score: float | None
    error: str | None
    polls_left: int
    kernel: str | None = None  # OWNER/SLUG/VERSION of a code submission's notebook

    @property
    def status(self) -> SubmissionStatus:
        if self.polls_left > 0:
            return SubmissionStatus.PENDING
        return SubmissionStatus.ERROR if self.error else SubmissionStatus.COMPLETE


@dataclasses.dataclass
class Competition:
    slug: str
    files: dict[str, ServedFile]
    scoring: Scoring
    public_ids: frozenset[str]
    daily_limit: int
    pending_polls: int
    rules_accepted: bool = True
    total_limit: int | None = None  # submissions allowed over the competition's life (some cap them)
    created: datetime = dataclasses.field(default_factory=lambda: datetime.now(timezone.utc))
    deadline: datetime = dataclasses.field(default_factory=lambda: datetime.now(timezone.utc) + timedelta(days=30))
    evaluation_metric: str = "Categorization Accuracy"  # Kaggle's name for it, as GetCompetition answers
    kernels_only: bool = False  # a code competition: submissions come from notebooks

    @property
    def solution(self) -> dict[str, str]:
        """id -> answer, as solution.csv gives it."""
        return self.scoring.answers

    @property
    def metric(self) -> Metric:
        return self.scoring.metric


@dataclasses.dataclass
class _Fault:
    status: int
    message: str
    retry_after: str | None
    path_part: str = ""  # "" matches every request
    date: str | None = None  # the response's Date header; None: the time it is sent


class KaggleServer:
    """Kaggle's competition endpoints, in memory, on 127.0.0.1 in a background thread.

    Use as a context manager (``with KaggleServer() as server:``) or call
    :meth:`start` / :meth:`stop`. Register competitions with
    :meth:`add_competition`; point the client at it with :meth:`environment`.
    """

    def __init__(
        self,
        port: int = 0,
        username: str = DEMO_USERNAME,
        key: str = DEMO_KEY,
        accept_any_credentials: bool = False,
        log_requests: bool = False,
    ) -> None:
        self.username = username
        self.log_requests = log_requests
        self.key = key
        self.accept_any_credentials = accept_any_credentials
        self.tokens: dict[str, str] = {}  # access token -> username, for KAGGLE_API_TOKEN
        self.tokens_refused_submitting: set[str] = set()  # tokens that may read but not submit (403)
        self.secrets: dict[str, str] = {}  # notebook secrets, for a kaggle_secrets stand-in (see below)
        self.attached: list[str] = []  # competitions kagglehub asked the data proxy to attach
        self.competitions: dict[str, Competition] = {}
        self.requests: list[tuple[str, str]] = []  # (method, path), for tests to inspect
        self.ranges: list[tuple[str, str]] = []  # (path, Range header) of resumed downloads
        self._requested_port = port
        self._lock = threading.RLock()
        self._faults: deque[_Fault] = deque()
        self._cuts: dict[str, int] = {}  # served file name -> bytes to send before cutting
        self._uploads: dict[str, tuple[str, bytes | None]] = {}  # token -> (file name, body)
        self._submissions: list[Submission] = []
        self._rerun_failures: deque[str] = deque()  # what the next code submissions' reruns fail with
        self._refs = itertools.count(1000001)
        self._workdir = tempfile.TemporaryDirectory(prefix="kagglekit-server-")
        self._http = None
        self._thread: threading.Thread | None = None
        self.datasets = DatasetService(self, Path(self._workdir.name))
        self.kernels = KernelService(self, Path(self._workdir.name))

    # -- lifecycle ------------------------------------------------------------

    def start(self) -> KaggleServer:
        handler = _Handler if self.log_requests else _QuietHandler
        self._http = make_server("127.0.0.1", self._requested_port, self._wsgi, threaded=True, request_handler=handler)
        self._thread = threading.Thread(
            target=self._http.serve_forever, kwargs={"poll_interval": 0.05}, name="kaggle-server", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self.kernels.wait_idle()
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
            self._http = None
        self._workdir.cleanup()

    def __enter__(self) -> KaggleServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._http is None:
            raise RuntimeError("server not started")
        return self._http.server_port

    @property
    def proxy_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def environment(self) -> dict[str, str]:
        """The variables that send the real client here (see :func:`kaggle_env`)."""
        return {
            "KAGGLE_API_ENVIRONMENT": "LOCALHOST",
            "HTTP_PROXY": self.proxy_url,
            "http_proxy": self.proxy_url,
            "KAGGLE_USERNAME": self.username,
            "KAGGLE_KEY": self.key,
        }

    # -- competitions ---------------------------------------------------------

    def add_competition(
        self,
        slug: str,
        directory: Path,
        solution_csv: Path,
        *,
        files: Sequence[str] | None = None,
        public_fraction: float = 0.5,
        daily_limit: int = 5,
        pending_polls: int = 0,
        score_sample_submission: bool = True,
        deadline: datetime | None = None,
        evaluation_metric: str | None = None,
        kernels_only: bool | None = None,
        spec: CompetitionSpec | str | None = None,
        metric: str | None = None,
        sample: str | None = None,
    ) -> Competition:
        """Serve ``files`` (default: every file in ``directory`` except the solution).

        ``public_fraction`` of the solution ids count towards the public score,
        the rest towards the private one, as on Kaggle. ``pending_polls`` is how
        many GetSubmission/ListSubmissions views a new submission stays PENDING.
        ``deadline`` is when entry closed (default: 30 days from now); later
        submissions are scored but, as on Kaggle, never join the leaderboard.
        ``evaluation_metric`` and ``kernels_only`` are what GetCompetition reports
        (Kaggle's metric name, by default the one for the metric scored; a code competition, by default
        what the spec's ``kind`` says): a code competition refuses file submissions as Kaggle does.

        Scoring: ``spec`` (a CompetitionSpec, or the slug of one; default: kagglekit's
        spec of ``slug``, if it has one) gives the metric, the sample submission's
        name and the classes; ``metric`` (a name in kagglekit.competitions.metrics)
        and ``sample`` (a file in ``directory``) override it. Without a spec: accuracy,
        with sampleSubmission.csv's columns. See the module docstring for solution.csv.
        """
        directory, solution_csv = Path(directory), Path(solution_csv)
        names = files or sorted(
            p.name for p in directory.iterdir() if p.is_file() and p.resolve() != solution_csv.resolve()
        )
        served = {name: self._serve_file(slug, directory / name) for name in names}
        spec = _spec_of(slug, spec)
        scored = METRICS[metric] if metric else spec.metric if spec else METRICS["accuracy"]
        sample = sample or (spec.submission.sample if spec else DEFAULT_SAMPLE)
        sample_bytes = (directory / sample).read_bytes() if (directory / sample).is_file() else None
        scoring = make_scoring(
            scored,
            solution_csv.read_bytes(),
            sample_bytes,
            spec.classes if spec else None,
            str(solution_csv),
            spec.submission.positive if spec else None,
        )
        ids = sorted(scoring.answers, key=_natural_key)
        public_ids = frozenset(random.Random(0).sample(ids, round(len(ids) * public_fraction)))
        competition = Competition(
            slug,
            served,
            scoring,
            public_ids,
            daily_limit,
            pending_polls,
            evaluation_metric=evaluation_metric or KAGGLE_METRIC_NAMES[scored.name],
            kernels_only=bool(spec and spec.code_competition) if kernels_only is None else kernels_only,
        )
        if deadline is not None:
            competition.deadline = deadline
        with self._lock:
            self.competitions[slug] = competition
        if score_sample_submission and sample in served:
            self._add_benchmark(competition, served[sample].source)
        return competition

    def _serve_file(self, slug: str, source: Path) -> ServedFile:
        if not source.is_file():
            raise FileNotFoundError(f"competition file missing: {source}")
        payload = source
        if source.suffix.lower() in ZIP_WRAPPED_SUFFIXES:
            payload = Path(self._workdir.name) / slug / (source.name + ".zip")
            payload.parent.mkdir(parents=True, exist_ok=True)
            _write_single_file_zip(source, payload)
        return ServedFile(source.name, source, payload, source.stat().st_size)

    def _add_benchmark(self, competition: Competition, sample: Path) -> None:
        public, private, error = _score(sample.read_bytes(), competition)
        with self._lock:
            self._submissions.append(
                Submission(
                    next(self._refs),
                    competition.slug,
                    BENCHMARK_TEAM,
                    sample.name,
                    "benchmark",
                    competition.created,
                    public,
                    private,
                    error,
                    polls_left=0,
                )
            )

    # -- faults ---------------------------------------------------------------

    def fail_next(
        self,
        status: int,
        times: int = 1,
        *,
        retry_after: float | str | None = None,
        message: str | None = None,
        path_part: str = "",
        date: datetime | None = None,
    ) -> None:
        """Answer the next ``times`` requests (of any kind, or those whose path contains ``path_part``) with ``status``.

        ``date`` is the answer's Date header, the server's clock when it answered: an
        HTTP-date Retry-After counts from it (RFC 9110), so a test can fix both.
        """
        text = message or {
            401: "Unauthenticated",
            403: "Permission denied",
            404: "Not found",
            429: "Too many requests",
        }.get(status, "Server error")
        after = None if retry_after is None else str(retry_after)
        sent = None if date is None else format_datetime(date.astimezone(timezone.utc), usegmt=True)
        with self._lock:
            self._faults.extend(_Fault(status, text, after, path_part, sent) for _ in range(times))

    def cut_next_download(self, served_name: str, after_bytes: int) -> None:
        """The next GET of ``served_name`` sends ``after_bytes`` of its body, then hangs up."""
        with self._lock:
            self._cuts[served_name] = after_bytes

    def require_rules(self, slug: str, accepted: bool = False) -> None:
        """Make ``slug`` answer 403 as Kaggle does until its rules are accepted."""
        self.competitions[slug].rules_accepted = accepted

    def misreport_size(self, slug: str, name: str, listed_size: int) -> None:
        """List ``name`` with a size it does not have, as a truncated upload on Kaggle's side would."""
        self.competitions[slug].files[name].listed_size = listed_size

    def fail_next_rerun(self, description: str = "Notebook Threw Exception") -> None:
        """The next code submission's rerun on the hidden test set fails: it ends in ERROR with ``description``.

        Kaggle shows such errors only once the rerun ends, hours after a submit that was
        accepted ("Notebook Threw Exception", "Notebook Timeout", "Submission Scoring Error").
        """
        with self._lock:
            self._rerun_failures.append(description)

    def set_pending_polls(self, slug: str, polls: int) -> None:
        """New submissions to ``slug`` stay PENDING for ``polls`` views before showing scores."""
        self.competitions[slug].pending_polls = polls

    # -- WSGI -----------------------------------------------------------------

    def _wsgi(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        request = Request(environ)
        with self._lock:
            self.requests.append((request.method, request.path))
            if "Range" in request.headers:
                self.ranges.append((request.path, request.headers["Range"]))
            fault = next((f for f in self._faults if f.path_part in request.path), None)
            if fault is not None:
                self._faults.remove(fault)
        try:
            if fault is not None:
                headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
                if fault.date is not None:
                    headers["Date"] = fault.date
                raise ApiError(fault.status, fault.message, headers)
            response = self._route(request)
        except ApiError as error:
            response = json_response({"code": error.status, "message": error.message}, error.status)
            response.headers.update(error.headers)
        return response(environ, start_response)

    def _route(self, request: Request) -> Response:
        path = request.path
        if request.method == "POST" and path.startswith(API_PREFIX):
            service, _, method = path[len(API_PREFIX) :].partition("/")
            handler = self._handlers().get((service, method))
            if handler is None:
                raise ApiError(404, f"{service}/{method} is not served by the local Kaggle server")
            return handler(request)
        if request.method in ("GET", "HEAD") and path.startswith("/files/"):
            return self._send_file(request)
        if request.method == "PUT" and path.startswith("/upload/"):
            return self._receive_upload(request)
        if request.method in ("GET", "HEAD") and self.kernels.serves(path):
            return self.kernels.send_output(request)
        if request.method in ("GET", "HEAD") and self.datasets.serves(path):
            return self.datasets.send_file(request)
        if request.method == "POST" and path == SECRETS_PATH:
            return self._get_secret(request)
        if request.method == "POST" and path == ATTACH_PATH:
            return self._attach_datasource(request)
        raise ApiError(404, f"no route for {request.method} {path}")

    def _handlers(self) -> dict[tuple[str, str], Callable[[Request], Response]]:
        api = "competitions.CompetitionApiService"
        return {
            (api, "ListCompetitions"): self._list_competitions,
            (api, "GetCompetition"): self._get_competition,
            (api, "ListDataFiles"): self._list_data_files,
            (api, "DownloadDataFile"): self._download_data_file,
            (api, "DownloadDataFiles"): self._download_data_files,
            (api, "StartSubmissionUpload"): self._start_submission_upload,
            (api, "CreateSubmission"): self._create_submission,
            (api, "CreateCodeSubmission"): self._create_code_submission,
            (api, "ListSubmissions"): self._list_submissions,
            (api, "GetSubmission"): self._get_submission,
            (api, "GetLeaderboard"): self._get_leaderboard,
            (api, "GetSubmissionLimits"): self._get_submission_limits,
            ("security.OAuthService", "IntrospectToken"): self._introspect_token,
            **self.kernels.handlers(),
            **self.datasets.handlers(),
        }

    # -- auth -----------------------------------------------------------------

    def _user(self, request: Request) -> str:
        """The caller's username, from Basic (legacy key) or Bearer (access token) auth."""
        header = request.headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme == "Basic":
            try:
                username, _, key = base64.b64decode(value).decode().partition(":")
            except ValueError:
                username, key = "", ""
            if username and (self.accept_any_credentials or (username, key) == (self.username, self.key)):
                return username
        elif scheme == "Bearer" and value in self.tokens:
            return self.tokens[value]
        raise ApiError(401, "Unauthenticated: invalid or missing credentials")

    def _submitter(self, request: Request) -> str:
        """The caller, if its credentials may submit (a restricted token may only read)."""
        user = self._user(request)
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        if scheme == "Bearer" and value in self.tokens_refused_submitting:
            raise ApiError(403, "Permission denied: this token may not create submissions")
        return user

    def _get_secret(self, request: Request) -> Response:
        """A notebook's UserSecretsClient.get_secret, for the kaggle_secrets stand-in the tests put on sys.path."""
        label = (request.get_json(force=True) or {}).get("Label", "")
        if label not in self.secrets:
            return json_response({"wasSuccessful": False, "errors": [f"No user secrets exist for label {label!r}"]})
        return json_response({"wasSuccessful": True, "result": {"secret": self.secrets[label]}})

    def _attach_datasource(self, request: Request) -> Response:
        """The data proxy's answer to kagglehub.competition_download: where under the mount root it appears."""
        if not request.headers.get("X-Kaggle-Authorization", "").startswith("Bearer "):
            raise ApiError(401, "A JWT Token is required")
        slug = ((request.get_json(force=True) or {}).get("competitionRef") or {}).get("CompetitionSlug", "")
        self._competition(slug)
        with self._lock:
            self.attached.append(slug)
        return json_response({"wasSuccessful": True, "result": {"mountSlug": f"competitions/{slug}"}})

    def _competition(self, slug: str, need_rules: bool = False) -> Competition:
        competition = self.competitions.get(slug)
        if competition is None:
            raise ApiError(404, f"Competition {slug!r} not found")
        if need_rules and not competition.rules_accepted:
            raise ApiError(403, "You must accept this competition's rules before you can do this")
        return competition

    # -- competition metadata -------------------------------------------------

    def _list_competitions(self, request: Request) -> Response:
        self._user(request)
        body = ApiListCompetitionsRequest.from_dict(request.get_json(force=True))
        term = (body.search or "").lower()
        response = ApiListCompetitionsResponse()
        response.competitions = [_competition_view(c) for c in self.competitions.values() if term in c.slug.lower()]
        return sdk_response(response)

    def _get_competition(self, request: Request) -> Response:
        self._user(request)
        body = ApiGetCompetitionRequest.from_dict(request.get_json(force=True))
        return sdk_response(_competition_view(self._competition(body.competition_name)))

    # -- data files -----------------------------------------------------------

    def _list_data_files(self, request: Request) -> Response:
        self._user(request)
        body = ApiListDataFilesRequest.from_dict(request.get_json(force=True))
        competition = self._competition(body.competition_name)
        files = sorted(competition.files.values(), key=lambda f: f.name)
        shown, next_token = one_page(files, body.page_token, body.page_size)
        response = ApiListDataFilesResponse()
        response.files = [_data_file(f, competition.created) for f in shown]
        if next_token:
            response.next_page_token = next_token
        return sdk_response(response)

    def _download_data_file(self, request: Request) -> Response:
        self._user(request)
        body = ApiDownloadDataFileRequest.from_dict(request.get_json(force=True))
        competition = self._competition(body.competition_name, need_rules=True)
        served = competition.files.get(body.file_name)
        if served is None:
            raise ApiError(404, f"File {body.file_name!r} not found in competition {competition.slug!r}")
        return _redirect(f"{PUBLIC_HOST}/files/{competition.slug}/{served.served_name}")

    def _download_data_files(self, request: Request) -> Response:
        self._user(request)
        body = ApiDownloadDataFilesRequest.from_dict(request.get_json(force=True))
        competition = self._competition(body.competition_name, need_rules=True)
        bundle = Path(self._workdir.name) / competition.slug / f"{competition.slug}.zip"
        if not bundle.exists():
            bundle.parent.mkdir(parents=True, exist_ok=True)
            with zipfile.ZipFile(bundle, "w", zipfile.ZIP_DEFLATED) as archive:
                for served in competition.files.values():
                    archive.write(served.source, served.name)
        return _redirect(f"{PUBLIC_HOST}/files/{competition.slug}/{bundle.name}")

    def _send_file(self, request: Request) -> Response:
        """A signed-URL download: no auth, Range/If-Range/ETag/Last-Modified as GCS serves them."""
        _, _, slug, served_name = request.path.split("/", 3)
        competition = self._competition(slug)
        candidates = [f.payload for f in competition.files.values()]
        candidates.append(Path(self._workdir.name) / slug / f"{slug}.zip")
        payload = next((p for p in candidates if p.name == served_name and p.exists()), None)
        if payload is None:
            raise ApiError(404, f"no file {served_name!r}")
        response = send_file(
            payload,
            request.environ,
            mimetype="application/octet-stream",
            download_name=served_name,
            conditional=True,
            etag=_etag(payload),
            max_age=None,
        )
        with self._lock:
            cut = self._cuts.pop(served_name, None) if request.method == "GET" else None
        response.response = _body(response.response, cut)
        return response

    # -- submissions ----------------------------------------------------------

    def _start_submission_upload(self, request: Request) -> Response:
        self._submitter(request)
        body = ApiStartSubmissionUploadRequest.from_dict(request.get_json(force=True))
        self._competition(body.competition_name or "", need_rules=True)
        response = ApiStartSubmissionUploadResponse()
        response.token, response.create_url = self.open_upload(body.file_name)
        return sdk_response(response)

    def open_upload(self, file_name: str) -> tuple[str, str]:
        """A token and the URL the client PUTs the bytes to, as a submission's or a blob's upload answers."""
        token = uuid.uuid4().hex
        with self._lock:
            self._uploads[token] = (file_name, None)
        return token, f"{PUBLIC_HOST}/upload/{token}"

    def take_upload(self, token: str) -> tuple[str, bytes]:
        """The file name and bytes uploaded under ``token``, used up: a token counts once, as on Kaggle."""
        with self._lock:
            file_name, data = self._uploads.pop(token, ("", None))
        if data is None:
            raise ApiError(400, "no uploaded file for this blob token")
        return file_name, data

    def _receive_upload(self, request: Request) -> Response:
        token = request.path.rsplit("/", 1)[-1]
        with self._lock:
            if token not in self._uploads:
                raise ApiError(404, "upload URL expired or unknown")
            self._uploads[token] = (self._uploads[token][0], request.get_data())
        return Response(status=200)

    def _create_submission(self, request: Request) -> Response:
        user = self._submitter(request)
        body = ApiCreateSubmissionRequest.from_dict(request.get_json(force=True))
        competition = self._competition(body.competition_name, need_rules=True)
        if competition.kernels_only:
            # kaggle.com answers 400 after the upload (kaggle-cli issue #400: a CSV sent to the code competition
            # jigsaw-toxic-severity-rating got "400 - Bad Request"); the words are ours, saying what to run instead.
            raise ApiError(400, f"Submission not allowed: {competition.slug} {CODE_ONLY}")
        file_name, data = self.take_upload(body.blob_file_tokens)
        submission = self._record(competition, user, file_name, body.submission_description, data)
        response = ApiCreateSubmissionResponse()
        response.ref = submission.ref
        response.message = f"Successfully submitted to {competition.slug}"
        return sdk_response(response)

    def _create_code_submission(self, request: Request) -> Response:
        """A kernel version's output file, submitted (``kaggle competitions submit -k OWNER/KERNEL -v N -f FILE``).

        Kaggle reruns the notebook on the hidden test set and scores that run's
        file. The stand-in scores the file of the version as it ran: its kernels
        already ran on the competition's test files, so the rerun would write the
        same file. A version that is not complete, failed, does not exist, or
        whose output lacks the file is refused before anything is recorded.
        """
        user = self._submitter(request)
        body = ApiCreateCodeSubmissionRequest.from_dict(request.get_json(force=True))
        competition = self._competition(body.competition_name, need_rules=True)
        if not body.file_name:
            raise ApiError(400, "A notebook submission needs the name of the output file to submit")
        version = self.kernels.submittable(body.kernel_owner, body.kernel_slug, body.kernel_version or None, user)
        path = version.working / body.file_name
        kernel = f"{version.owner}/{version.slug}/{version.number}"
        if not path.is_file() or version.working.resolve() not in path.resolve().parents:
            raise ApiError(400, f"Notebook {kernel}'s output has no file {body.file_name!r}")
        submission = self._record(competition, user, body.file_name, body.submission_description, path.read_bytes())
        submission.kernel = kernel
        with self._lock:
            if self._rerun_failures:
                submission.public_score = submission.private_score = None
                submission.error = self._rerun_failures.popleft()
        response = ApiCreateCodeSubmissionResponse()
        response.ref = submission.ref
        response.message = f"Successfully submitted to {competition.slug}"
        return sdk_response(response)

    def _record(
        self, competition: Competition, user: str, file_name: str, description: str | None, data: bytes
    ) -> Submission:
        """A new submission, scored now and shown PENDING for ``pending_polls`` views; refused past the day's limit."""
        with self._lock:
            if self._limits(competition, user).num_allowed_now <= 0:
                raise ApiError(400, f"daily submission limit ({competition.daily_limit}) reached")
            public, private, error = _score(data, competition)
            submission = Submission(
                next(self._refs),
                competition.slug,
                user,
                file_name,
                description or "",
                datetime.now(timezone.utc),
                public,
                private,
                error,
                competition.pending_polls,
            )
            self._submissions.append(submission)
        return submission

    def _list_submissions(self, request: Request) -> Response:
        user = self._user(request)
        body = ApiListSubmissionsRequest.from_dict(request.get_json(force=True))
        competition = self._competition(body.competition_name)
        with self._lock:
            mine = [s for s in self._submissions if s.slug == competition.slug and s.team == user]
            mine.sort(key=lambda s: s.date, reverse=True)
            response = ApiListSubmissionsResponse()
            response.submissions = [self._view(s) for s in mine]
        return sdk_response(response)

    def _get_submission(self, request: Request) -> Response:
        user = self._user(request)
        body = ApiGetSubmissionRequest.from_dict(request.get_json(force=True))
        with self._lock:
            found = next((s for s in self._submissions if s.ref == body.ref and s.team == user), None)
            if found is None:
                raise ApiError(404, f"Submission {body.ref} not found")
            return sdk_response(self._view(found))

    def _view(self, submission: Submission) -> ApiSubmission:
        """One poll: a pending submission gets one view closer to being scored."""
        shown = submission.status
        if submission.polls_left > 0:
            submission.polls_left -= 1
        view = ApiSubmission()
        view.ref = submission.ref
        view.date = submission.date.replace(tzinfo=None)
        view.description = submission.description
        view.file_name = submission.file_name
        view.status = shown
        view.submitted_by = submission.team
        view.team_name = submission.team
        if shown == SubmissionStatus.COMPLETE:
            view.public_score = _format_score(submission.public_score)
            view.private_score = _format_score(submission.private_score)
        if shown == SubmissionStatus.ERROR:
            view.error_description = submission.error
        return view

    def _get_leaderboard(self, request: Request) -> Response:
        self._user(request)
        body = ApiGetLeaderboardRequest.from_dict(request.get_json(force=True))
        competition = self._competition(body.competition_name)
        best: dict[str, Submission] = {}
        metric = competition.metric
        with self._lock:
            for s in self._submissions:
                if s.slug == competition.slug and s.status == SubmissionStatus.COMPLETE:
                    if s.team not in best or better(s.public_score, best[s.team].public_score, metric):
                        best[s.team] = s
        ranked = sorted(best.values(), key=lambda s: s.public_score, reverse=metric.higher_is_better)
        response = ApiGetLeaderboardResponse()
        response.submissions = [_leaderboard_row(i, s) for i, s in enumerate(ranked, start=1)]
        return sdk_response(response)

    def _get_submission_limits(self, request: Request) -> Response:
        user = self._user(request)
        body = ApiGetSubmissionLimitsRequest.from_dict(request.get_json(force=True))
        with self._lock:
            return sdk_response(self._limits(self._competition(body.competition_name), user))

    def _limits(self, competition: Competition, user: str) -> ApiSubmissionLimits:
        today = datetime.now(timezone.utc).date()
        mine = [s for s in self._submissions if s.slug == competition.slug and s.team == user]
        limits = ApiSubmissionLimits()
        limits.num_total = len(mine)
        limits.num_today = sum(s.date.date() == today for s in mine)
        limits.num_allowed_now = max(0, competition.daily_limit - limits.num_today)
        if competition.total_limit is not None and limits.num_total >= competition.total_limit:
            limits.num_allowed_now, limits.limited_by_total = 0, True
        return limits

    def _introspect_token(self, request: Request) -> Response:
        body = IntrospectTokenRequest.from_dict(request.get_json(force=True))
        response = IntrospectTokenResponse()
        if body.token in self.tokens:
            response.active = True
            response.username = self.tokens[body.token]
        return sdk_response(response)


# -- helpers -------------------------------------------------------------------


class _Handler(WSGIRequestHandler):
    """Sends the application's Date header when it gives one, the time of sending otherwise.

    http.server adds "Date: now" to every answer before the application's headers,
    so a fixed Date would arrive twice; it is held back here until the headers end.
    """

    def send_response(self, code: int, message: str | None = None) -> None:
        self.log_request(code)
        self.send_response_only(code, message)
        self.send_header("Server", self.version_string())
        self._dated = False

    def send_header(self, keyword: str, value: str) -> None:
        if keyword.lower() == "date":
            self._dated = True
        super().send_header(keyword, value)

    def end_headers(self) -> None:
        if not getattr(self, "_dated", True):
            super().send_header("Date", self.date_time_string())
        super().end_headers()


class _QuietHandler(_Handler):
    """No access log: tests assert on stderr, and it would drown the one-line errors."""

    def log_request(self, *args: object, **kwargs: object) -> None:
        pass


def _redirect(url: str) -> Response:
    return Response(status=302, headers={"Location": url})


def _competition_view(competition: Competition) -> ApiCompetition:
    """The fields the client's `competitions list` prints, the deadline compare reads, and what a draft spec reads."""
    view = ApiCompetition()
    view.ref = f"{PUBLIC_HOST}/competitions/{competition.slug}"
    view.title = competition.slug
    view.url = view.ref
    view.category = "Getting Started"
    view.reward = "Knowledge"
    view.deadline = competition.deadline.replace(tzinfo=None)
    view.enabled_date = competition.created.replace(tzinfo=None)
    view.max_daily_submissions = competition.daily_limit
    view.evaluation_metric = competition.evaluation_metric
    view.is_kernels_submissions_only = competition.kernels_only
    return view


def _data_file(served: ServedFile, created: datetime) -> ApiDataFile:
    data_file = ApiDataFile()
    data_file.ref = served.name
    data_file.name = served.name
    data_file.total_bytes = served.listed_size
    data_file.creation_date = created.replace(tzinfo=None)
    return data_file


def _leaderboard_row(rank: int, submission: Submission) -> ApiLeaderboardSubmission:
    row = ApiLeaderboardSubmission()
    row.team_id = rank
    row.team_name = submission.team
    row.submission_date = submission.date.replace(tzinfo=None)
    row.score = _format_score(submission.public_score)
    return row


def _format_score(score: float | None) -> str | None:
    return None if score is None else f"{score:.5f}"


def _etag(path: Path) -> str:
    stat = path.stat()
    return hashlib.sha256(f"{path.name}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()[:32]


def _body(chunks: Iterable[bytes], limit: int | None) -> Iterator[bytes]:
    """The file's chunks, closed even when the client hangs up (werkzeug may skip close()).

    With a ``limit``, stop after that many bytes: Content-Length is already sent,
    so the client sees the connection cut mid-file.
    """
    sent = 0
    try:
        for chunk in chunks:
            if limit is not None and sent + len(chunk) >= limit:
                yield chunk[: limit - sent]
                return
            sent += len(chunk)
            yield chunk
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()


def _write_single_file_zip(source: Path, target: Path) -> None:
    """A reproducible zip (fixed timestamp) so its ETag and size are stable across restarts."""
    info = zipfile.ZipInfo(source.name, date_time=(2020, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(target, "w") as archive:
        archive.writestr(info, source.read_bytes())


def _natural_key(value: str) -> tuple[int, str]:
    return (int(value), "") if value.isdigit() else (0, value)


def _spec_of(slug: str, spec: CompetitionSpec | str | None) -> CompetitionSpec | None:
    """The spec asked for, or kagglekit's spec of ``slug``; None for a competition kagglekit has no spec of."""
    from kagglekit.competitions import get_spec, spec_path

    if spec is None:
        return get_spec(slug) if spec_path(slug) is not None else None
    return get_spec(spec) if isinstance(spec, str) else spec


def _score(data: bytes, competition: Competition) -> tuple[float | None, float | None, str | None]:
    """The metric on the public and the private ids, or the error Kaggle would show."""
    try:
        public, private = score_submission(data, competition.scoring, competition.public_ids)
    except SubmissionRefused as error:
        return None, None, str(error)
    return public, private, None


# -- pointing the client here --------------------------------------------------


def _without_localhost(no_proxy: str) -> str:
    """NO_PROXY minus entries that would make requests bypass the proxy for ``localhost``."""
    keep = [e for e in no_proxy.split(",") if e.strip() and e.strip().lstrip(".") != "localhost" and e.strip() != "*"]
    return ",".join(keep)


def _check_client_not_imported_for_prod() -> None:
    """The client reads KAGGLE_API_ENVIRONMENT once, at import: too late means real Kaggle."""
    import sys

    module = sys.modules.get("kaggle.api.kaggle_api_extended")
    if module is not None and "--local" not in module.KaggleApi.args:
        raise RuntimeError(
            "kaggle was imported before KAGGLE_API_ENVIRONMENT=LOCALHOST was set; "
            "set it before the first import (e.g. at the top of conftest.py)"
        )


@contextlib.contextmanager
def kaggle_env(server: KaggleServer) -> Iterator[KaggleServer]:
    """Point this process's Kaggle client at ``server``, restoring the environment after.

    Sets KAGGLE_API_ENVIRONMENT, HTTP_PROXY/http_proxy and fake KAGGLE_USERNAME/KAGGLE_KEY,
    and drops localhost from NO_PROXY/no_proxy.
    """
    names = [*server.environment(), "NO_PROXY", "no_proxy"]
    saved = {name: os.environ.get(name) for name in names}
    os.environ.update(server.environment())
    for name in ("NO_PROXY", "no_proxy"):
        if name in os.environ:
            os.environ[name] = _without_localhost(os.environ[name])
    try:
        _check_client_not_imported_for_prod()
        yield server
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


# -- command line --------------------------------------------------------------


def served_files(slug: str, directory: Path) -> list[str] | None:
    """The files of ``slug``'s spec that ``directory`` holds; None (all of them) for a slug without a spec."""
    from kagglekit.competitions import get_spec, spec_path

    if spec_path(slug) is None:
        return None
    return [name for name in get_spec(slug).file_names if (directory / name).is_file()] or None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m kagglekit.standin.server",
        description="Serve a competition directory as Kaggle's API on 127.0.0.1, for the real kaggle client.",
    )
    parser.add_argument(
        "--competition-dir",
        type=Path,
        required=True,
        metavar="DIR",
        help="directory with the competition's files (cifar-10: train.7z, test.7z, trainLabels.csv, "
        "sampleSubmission.csv); a .csv is served zipped, as Kaggle does",
    )
    parser.add_argument(
        "--solution",
        type=Path,
        required=True,
        metavar="CSV",
        help="the answers: id column, then the true label (1/0 for one probability column)",
    )
    parser.add_argument(
        "--slug",
        default="cifar-10",
        help="competition slug to serve it as (default: cifar-10); its kagglekit spec says how submissions are scored",
    )
    parser.add_argument(
        "--metric",
        choices=sorted(METRICS),
        default=None,
        help="score in this metric instead of the spec's (default: the spec's; accuracy without one)",
    )
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    parser.add_argument("--pending-polls", type=int, default=1, help="views a submission stays PENDING (default: 1)")
    args = parser.parse_args(argv)

    server = KaggleServer(port=args.port, accept_any_credentials=True, log_requests=True)
    server.add_competition(
        args.slug,
        args.competition_dir,
        args.solution,
        files=served_files(args.slug, args.competition_dir),
        pending_polls=args.pending_polls,
        metric=args.metric,
    )
    with server:
        env = server.environment()
        for name in ("KAGGLE_API_ENVIRONMENT", "HTTP_PROXY", "KAGGLE_USERNAME", "KAGGLE_KEY"):
            print(f"export {name}={env[name]}")
        print("unset NO_PROXY no_proxy")
        print(f"# serving {args.slug} on {server.proxy_url}; Ctrl-C to stop", flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
