"""The one place kagglekit talks to Kaggle, through the official ``kaggle`` client.

Everything Kaggle can answer (bad credentials, rules not accepted, unknown slug,
rate limits, a dropped connection) is turned here into a one-line
:class:`~kagglekit.exceptions.KagglekitError` that says what to do, so the
stages never see an HTTP exception.

``kaggle`` is imported lazily, inside :func:`authenticate`: importing the package
authenticates at import time and prints a help page when no credentials exist,
and the client reads ``KAGGLE_API_ENVIRONMENT`` only then.

Retries are bounded and tunable through the environment, so tests run fast:
``KAGGLEKIT_API_TRIES`` (default 5 tries per call on HTTP 429),
``KAGGLEKIT_MAX_RETRY_WAIT`` (default 120 seconds of waiting per call, in total),
``KAGGLEKIT_DOWNLOAD_RETRIES`` (default 5 in-process resumes of a broken download).
"""

from __future__ import annotations

import contextlib
import email.utils
import io
import logging
import os
import shutil
import time
import zipfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, TypeVar

import requests
import urllib3

from kagglekit.exceptions import (
    CredentialsError,
    DataError,
    KaggleApiError,
    KagglekitError,
    NetworkError,
    NotebookOfflineError,
    RateLimitedError,
)
from kagglekit.kaggle import notebook
from kagglekit.outputs import partial_path
from kagglekit.paths import in_kaggle_notebook

if TYPE_CHECKING:
    from kaggle.api.kaggle_api_extended import KaggleApi

log = logging.getLogger(__name__)
T = TypeVar("T")

TOKEN_URL = "https://www.kaggle.com/settings"
COMPETITIONS_URL = "https://www.kaggle.com/competitions"
CREDENTIALS_HELP = (
    f"no Kaggle credentials found: create an API token at {TOKEN_URL} (API > Create New Token) and "
    "save it as ~/.kaggle/kaggle.json (chmod 600), or set KAGGLE_USERNAME and KAGGLE_KEY, or KAGGLE_API_TOKEN"
)
NOTEBOOK_CREDENTIALS_HELP = f"no Kaggle API credentials in this notebook: {notebook.SECRETS_HELP}"
# What the client raises when the network, not Kaggle, is the problem.
NETWORK_ERRORS = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    urllib3.exceptions.ProtocolError,
    urllib3.exceptions.TimeoutError,
)


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try before giving up; bounded so a rate limit never hangs a run."""

    tries: int = 5
    max_total_wait: float = 120.0
    download_retries: int = 5

    @classmethod
    def from_env(cls) -> RetryPolicy:
        return cls(
            tries=max(1, int(os.environ.get("KAGGLEKIT_API_TRIES", cls.tries))),
            max_total_wait=float(os.environ.get("KAGGLEKIT_MAX_RETRY_WAIT", cls.max_total_wait)),
            download_retries=max(0, int(os.environ.get("KAGGLEKIT_DOWNLOAD_RETRIES", cls.download_retries))),
        )


# -- credentials ---------------------------------------------------------------


def authenticate() -> KaggleApi:
    """A client with credentials loaded, or :class:`CredentialsError` saying where to put them.

    The client looks, in order, for an access token (in a notebook first its
    session token, then KAGGLE_API_TOKEN or ~/.kaggle/access_token), a legacy
    key (KAGGLE_USERNAME/KAGGLE_KEY or kaggle.json) and OAuth credentials; its
    own help text and ``exit(1)`` are replaced by one line. In a Kaggle notebook
    the notebook's secrets are loaded first (see :mod:`kagglekit.kaggle.notebook`), and
    a network failure is a :class:`NotebookOfflineError`. The key itself is
    never printed or logged.
    """
    in_notebook = in_kaggle_notebook()
    if in_notebook:
        notebook.load_secrets()
    with contextlib.redirect_stdout(io.StringIO()):  # import-time auth prints a help page
        from kaggle.api.kaggle_api_extended import KaggleApi

        _check_endpoint(KaggleApi)
        api = KaggleApi()
        if in_notebook:
            notebook.prefer_own_credentials(api)
        try:
            api.authenticate()
        except SystemExit:
            raise CredentialsError(NOTEBOOK_CREDENTIALS_HELP if in_notebook else CREDENTIALS_HELP) from None
        except (requests.RequestException, urllib3.exceptions.HTTPError) as error:
            raise translate_http_error(error, "") from None
    return api


def _check_endpoint(client_class: type) -> None:
    """Refuse to run if the client would talk to real Kaggle while we meant a local server."""
    wants_local = os.environ.get("KAGGLE_API_ENVIRONMENT") == "LOCALHOST"
    if wants_local and "--local" not in client_class.args:
        raise KaggleApiError(
            "KAGGLE_API_ENVIRONMENT=LOCALHOST was set after the kaggle client was imported; set it before Python starts"
        )


# -- errors --------------------------------------------------------------------


def translate_http_error(error: BaseException, slug: str, *, tries: int | None = None) -> KagglekitError:
    """The client's HTTP or network error as a one-line error that says what to do."""
    response = getattr(error, "response", None)
    status = getattr(response, "status_code", None)
    if isinstance(error, requests.HTTPError) and status is not None:
        return _status_error(status, slug, _server_message(error), tries)
    if isinstance(error, NETWORK_ERRORS) and in_kaggle_notebook():
        return NotebookOfflineError(
            f"this notebook cannot reach Kaggle's API ({type(error).__name__}): its internet is off "
            "(Settings > Internet) or the connection failed"
        )
    if isinstance(error, NETWORK_ERRORS):
        return NetworkError(
            f"lost the connection to Kaggle ({type(error).__name__}): check your network "
            "(and HTTP_PROXY/HTTPS_PROXY) and rerun; interrupted downloads resume where they stopped"
        )
    return KaggleApiError(f"Kaggle request failed ({type(error).__name__}): {_one_line(str(error))}")


def _status_error(status: int, slug: str, message: str, tries: int | None) -> KagglekitError:
    if status == 401 and in_kaggle_notebook():
        return CredentialsError(
            f"Kaggle rejected this notebook's credentials (HTTP 401: {message}): {notebook.SECRETS_HELP}"
        )
    if status == 401:
        return CredentialsError(
            f"Kaggle rejected your credentials (HTTP 401): create a new API token at {TOKEN_URL} "
            "(API > Create New Token) and save it as ~/.kaggle/kaggle.json"
        )
    if status == 403:
        return KaggleApiError(f"Kaggle refused access to {slug} (HTTP 403: {message}): {refused_help(slug)}")
    if status == 404:
        return KaggleApiError(f"unknown competition {slug!r} (HTTP 404): check the slug at {COMPETITIONS_URL}")
    if status == 429:
        after = f" after {tries} tries" if tries else ""
        return RateLimitedError(f"Kaggle is rate-limiting requests (HTTP 429){after}: wait a few minutes, then rerun")
    return KaggleApiError(f"Kaggle answered HTTP {status} for {slug}: {message}")


def refused_help(slug: str) -> str:
    """A 403 means rules not accepted, an unverified phone number or closed entry: Kaggle's reason says which."""
    return (
        f"accept the competition rules at {COMPETITIONS_URL}/{slug}/rules, verify your phone number at {TOKEN_URL} "
        f"(Phone verification), and check that {slug} still accepts submissions; then rerun"
    )


def _server_message(error: BaseException) -> str:
    """Kaggle's own explanation (JSON ``message``) when there is one."""
    try:
        return _one_line(str(error.response.json()["message"]))  # type: ignore[attr-defined]
    except (ValueError, KeyError, TypeError, AttributeError):
        return _one_line(str(error))


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _call(slug: str, request: Callable[[], T]) -> T:
    """Run one client call, retrying HTTP 429 as Kaggle asks (Retry-After), within bounds."""
    policy = RetryPolicy.from_env()
    waited = 0.0
    for attempt in range(1, policy.tries + 1):
        try:
            return request()
        except (requests.RequestException, urllib3.exceptions.HTTPError) as error:
            if getattr(getattr(error, "response", None), "status_code", None) != 429 or attempt == policy.tries:
                raise translate_http_error(error, slug, tries=attempt) from None
            delay = _retry_delay(error.response, attempt)  # type: ignore[attr-defined]
            if waited + delay > policy.max_total_wait:
                raise RateLimitedError(
                    f"Kaggle is rate-limiting requests (HTTP 429) and asks to wait {delay:.0f}s, longer than "
                    f"kagglekit waits ({policy.max_total_wait:.0f}s in all): wait a few minutes, then rerun"
                ) from None
            log.warning(
                "Kaggle is rate-limiting requests; retrying in %.1fs (try %d of %d)", delay, attempt + 1, policy.tries
            )
            time.sleep(delay)
            waited += delay
    raise AssertionError("unreachable")


def _retry_delay(response: requests.Response, attempt: int) -> float:
    """Retry-After in seconds or as an HTTP date; exponential backoff when absent.

    An HTTP date counts from the answer's own Date header (RFC 9110, 10.2.3), the
    server's clock, so a skewed local clock neither shortens nor stretches the
    wait; only an answer without a readable Date falls back to this machine's.
    """
    value = response.headers.get("Retry-After")
    if value is not None:
        try:
            return max(0.0, float(value))
        except ValueError:
            retry_at = _http_date(value)
            if retry_at is not None:
                sent = _http_date(response.headers.get("Date")) or datetime.now(timezone.utc)
                return max(0.0, (retry_at - sent).total_seconds())
    return float(min(2 ** (attempt - 1), 60))


def _http_date(value: str | None) -> datetime | None:
    """An HTTP date as an aware datetime; None when absent or unreadable."""
    if not value:
        return None
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment


# -- data files ----------------------------------------------------------------


def list_files(slug: str, api: KaggleApi | None = None) -> dict[str, int]:
    """Every data file of ``slug`` with its size in bytes, as Kaggle lists it."""
    api = api or authenticate()
    sizes: dict[str, int] = {}
    token: str | None = None
    while True:
        page = _call(slug, lambda token=token: api.competition_list_files(slug, page_token=token, page_size=200))
        sizes.update({f.name: int(f.total_bytes) for f in page.files})
        token = page.next_page_token
        if not token:
            return sizes


def download_file(
    slug: str,
    name: str,
    dest_dir: Path,
    progress: bool = True,
    *,
    expected_size: int | None = None,
    api: KaggleApi | None = None,
) -> Path:
    """Download ``name`` into ``dest_dir/name``, resuming a previous partial download.

    Bytes land in ``<served name>.part`` (the client's resumable download, which
    keeps a ``.kaggle-partial`` marker beside it) and only a file whose size
    matches Kaggle's listing is renamed to ``name``; a .zip wrapper around a
    single file is removed on the way.
    """
    api = api or authenticate()
    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    if expected_size is None:
        expected_size = _listed_size(slug, name, api)
    payload = _download_payload(slug, name, dest_dir, progress, api)
    unwrapped = _unwrap(payload, name, expected_size)
    actual = unwrapped.stat().st_size
    if actual != expected_size:
        unwrapped.unlink()
        raise DataError(
            f"{name} from Kaggle has {actual} bytes but {slug} lists {expected_size}; "
            "deleted it: rerun to download it again"
        )
    target = dest_dir / name
    os.replace(unwrapped, target)
    return target


def _listed_size(slug: str, name: str, api: KaggleApi) -> int:
    sizes = list_files(slug, api)
    if name not in sizes:
        raise DataError(f"{slug} has no file {name!r} (it lists: {', '.join(sorted(sizes)) or 'nothing'})")
    return sizes[name]


def _download_payload(slug: str, name: str, dest_dir: Path, progress: bool, api: KaggleApi) -> Path:
    """The served bytes (maybe a .zip around ``name``) in a ``.part`` file, complete."""
    from kagglesdk.competitions.types.competition_api_service import ApiDownloadDataFileRequest

    request = ApiDownloadDataFileRequest()
    request.competition_name = slug
    request.file_name = name
    with api.build_kaggle_client() as kaggle:
        response = _call(slug, lambda: kaggle.competitions.competition_api_client.download_data_file(request))
        served_name = response.url.split("?")[0].rsplit("/", 1)[-1] or name
        part = dest_dir / f"{served_name}.part"
        if progress:
            resumed = f", resuming at {part.stat().st_size} bytes" if part.exists() else ""
            print(f"Downloading {slug}/{name}{resumed}", flush=True)
        try:
            with contextlib.redirect_stdout(io.StringIO()):  # the client narrates; tqdm (stderr) stays
                api.download_file(
                    response,
                    str(part),
                    kaggle.http_client(),
                    quiet=not progress,
                    resume=True,
                    max_retries=RetryPolicy.from_env().download_retries,
                )
        except (requests.RequestException, urllib3.exceptions.HTTPError) as error:
            raise translate_http_error(error, slug) from None
        except ValueError as error:  # the client's own size check against Content-Length
            part.unlink(missing_ok=True)
            raise DataError(
                f"download of {name} came out the wrong size ({error}); rerun to download it again"
            ) from None
        except OSError as error:
            raise KagglekitError(f"could not write {part}: {error.strerror or error}") from None
        finally:
            response.close()
    return part


def _unwrap(payload: Path, name: str, expected_size: int) -> Path:
    """Kaggle wraps single CSVs in a .zip: take ``name`` out of it, into ``name.part``."""
    if not payload.name.endswith(".zip.part") or name.endswith(".zip"):
        return payload
    target = payload.with_name(f"{name}.part")
    try:
        with zipfile.ZipFile(payload) as archive:
            members = [m for m in archive.infolist() if not m.is_dir()]
            member = next((m for m in members if Path(m.filename).name == name), None)
            if member is None and len(members) == 1:
                member = members[0]
            if member is None:
                raise DataError(f"the .zip Kaggle sent for {name} does not contain it; rerun to download it again")
            with archive.open(member) as source, open(target, "wb") as sink:
                shutil.copyfileobj(_capped(source, expected_size + 1), sink)  # a zip bomb stops here
    except zipfile.BadZipFile:
        payload.unlink()
        raise DataError(f"the .zip Kaggle sent for {name} is corrupt; deleted it: rerun to download it again") from None
    payload.unlink()
    return target


class _capped(io.RawIOBase):
    """A reader that ends after ``limit`` bytes, so a lying zip cannot fill the disk."""

    def __init__(self, source: Any, limit: int) -> None:
        self._source, self._left = source, limit

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        chunk = self._source.read(min(len(buffer), self._left))
        buffer[: len(chunk)] = chunk
        self._left -= len(chunk)
        return len(chunk)


# -- submissions ----------------------------------------------------------------


def submit(slug: str, csv_path: Path, message: str, api: KaggleApi | None = None) -> dict[str, Any]:
    """Upload ``csv_path`` as a submission; returns its ``ref``, ``date`` and ``status``."""
    api = api or authenticate()
    csv_path = Path(csv_path)
    if not csv_path.is_file():
        raise DataError(f"no submission file at {csv_path}")
    with contextlib.redirect_stdout(io.StringIO()) as narration:
        result = _call(slug, lambda: api.competition_submit(str(csv_path), message, slug, quiet=True))
    if not result.ref:
        detail = _one_line(narration.getvalue()) or result.message
        raise NetworkError(f"upload of {csv_path.name} to Kaggle failed ({detail}); rerun to try again")
    return get_submission(slug, result.ref, api)


def get_submission(slug: str, ref: int, api: KaggleApi | None = None) -> dict[str, Any]:
    """One submission's current state (pending until Kaggle has scored it)."""
    from kagglesdk.competitions.types.competition_api_service import ApiGetSubmissionRequest

    api = api or authenticate()
    request = ApiGetSubmissionRequest()
    request.ref = int(ref)
    with api.build_kaggle_client() as kaggle:
        submission = _call(slug, lambda: kaggle.competitions.competition_api_client.get_submission(request))
    return _submission_dict(submission)


# An interval under this counts as this when the polls are counted: a 0 s interval would poll without end.
MIN_POLL_INTERVAL = 0.01


def poll_waits(timeout: float, interval: float) -> Iterator[float]:
    """The waits between polls for a score: ``interval`` each, the last one cut short, adding up to ``timeout``.

    Counted, not timed: the first poll comes before any wait, however small the
    timeout, and then one poll follows each wait; a slow machine or a slow Kaggle
    makes the wait longer in wall time but never costs a poll. Waits are rounded
    to the nanosecond, so 0.3 s by 0.05 s is six waits of 0.05 s.
    """
    step = max(interval, MIN_POLL_INTERVAL)
    waited = 0.0
    while round(timeout - waited, 9) > 0:
        wait = round(min(step, timeout - waited), 9)
        yield wait
        waited += wait


def wait_for_score(
    slug: str, ref: int, *, timeout: float = 600.0, interval: float = 5.0, api: KaggleApi | None = None
) -> dict[str, Any]:
    """Poll until Kaggle has scored (or rejected) ``ref`` or the waits of ``poll_waits`` run out."""
    api = api or authenticate()
    submission = get_submission(slug, ref, api)
    for wait in poll_waits(timeout, interval):
        if submission["status"] != "pending":
            break
        time.sleep(wait)
        submission = get_submission(slug, ref, api)
    return submission


def list_submissions(slug: str, api: KaggleApi | None = None) -> list[dict[str, Any]]:
    """Your submissions to ``slug``, newest first, with public/private scores when scored."""
    api = api or authenticate()
    submissions = _call(slug, lambda: api.competition_submissions(slug, page_size=100))
    return [_submission_dict(s) for s in submissions or []]


def submission_limits(slug: str, api: KaggleApi | None = None) -> dict[str, Any]:
    """How many submissions are left today (Kaggle caps them per day)."""
    api = api or authenticate()
    limits = _call(slug, lambda: api.competition_get_submission_limits(slug))
    return {
        "today": limits.num_today,
        "total": limits.num_total,
        "remaining_today": limits.num_allowed_now,
        "limited_by_total": limits.limited_by_total,
    }


def leaderboard(slug: str, api: KaggleApi | None = None, max_rows: int = 200) -> list[tuple[str, float]]:
    """(team, public score) from the top of the public leaderboard, best first."""
    from kagglesdk.competitions.types.competition_api_service import ApiGetLeaderboardRequest

    api = api or authenticate()
    rows: list[tuple[str, float]] = []
    token: str | None = None
    with api.build_kaggle_client() as kaggle:
        while len(rows) < max_rows:
            request = ApiGetLeaderboardRequest()
            request.competition_name = slug
            request.page_size = min(100, max_rows - len(rows))
            if token:
                request.page_token = token
            page = _call(
                slug, lambda request=request: kaggle.competitions.competition_api_client.get_leaderboard(request)
            )
            rows += [(s.team_name or "", _score(s.score)) for s in page.submissions if _score(s.score) is not None]
            token = page.next_page_token
            if not token or not page.submissions:
                break
    return rows


def competition_deadline(slug: str, api: KaggleApi | None = None) -> datetime | None:
    """When entry to ``slug`` closes or closed (UTC), from Kaggle's competition metadata; None if it has none.

    Metadata only labels ranks, so a refusal to serve it costs the label, not the command.
    """
    from kagglesdk.competitions.types.competition_api_service import ApiGetCompetitionRequest

    api = api or authenticate()
    request = ApiGetCompetitionRequest()
    request.competition_name = slug
    try:
        with api.build_kaggle_client() as kaggle:
            competition = _call(slug, lambda: kaggle.competitions.competition_api_client.get_competition(request))
    except KaggleApiError as error:
        log.warning("no deadline for %s (%s); ranks are shown as if it were open", slug, error)
        return None
    deadline = competition.deadline
    return deadline.replace(tzinfo=timezone.utc) if deadline and deadline.tzinfo is None else deadline


def _submission_dict(submission: Any) -> dict[str, Any]:
    return {
        "ref": submission.ref,
        "fileName": submission.file_name,
        "date": submission.date.isoformat() if submission.date else None,
        "description": submission.description or "",
        "status": submission.status.name.lower(),
        "publicScore": _score(submission.public_score),
        "privateScore": _score(submission.private_score),
        "errorDescription": submission.error_description or "",
    }


def _score(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None


# -- kernels (remote runs) -----------------------------------------------------------


def kernel_call(ref: str, request: Callable[[], T]) -> T:
    """A Kernels API call: as :func:`_call`, plus the client's own ValueErrors (bad metadata, 401/403 on a kernel)."""
    try:
        return _call(ref, request)
    except ValueError as error:
        raise KaggleApiError(f"Kaggle kernel {ref}: {_one_line(str(error))}") from None


def accelerator_quota(api: KaggleApi) -> Any:
    """This week's GPU and TPU hours: used, allowed, and when they refresh."""
    return kernel_call("quota", api.quota_view)


def push_kernel(api: KaggleApi, folder: Path, timeout_seconds: int) -> Any:
    """kernels_push of ``folder``; Kaggle's refusals come back in the response's ``error``, with HTTP 200."""
    return kernel_call(str(folder), lambda: api.kernels_push(str(folder), str(timeout_seconds)))


def kernel_status(api: KaggleApi, ref: str) -> tuple[str, str | None]:
    """(status name, failure message); a status this client does not know is an error, not a hang."""
    try:
        response = kernel_call(ref, lambda: api.kernels_status(ref))
    except KeyError as error:  # kagglesdk cannot map the status name onto its enum
        raise KaggleApiError(
            f"Kaggle reported a status for kernel {ref} that this kaggle client does not know "
            f"({error}); see https://www.kaggle.com/code/{ref}"
        ) from None
    return response.status.name, response.failure_message


def kernel_output(api: KaggleApi, ref: str) -> tuple[dict[str, str], str]:
    """{file name: URL} of a kernel's output, every page, and its log (a JSON list of stream events)."""
    from kagglesdk.kernels.types.kernels_api_service import ApiListKernelSessionOutputRequest

    owner, _, slug = ref.partition("/")
    files: dict[str, str] = {}
    token, log_text = None, ""
    with api.build_kaggle_client() as kaggle:
        while True:
            request = ApiListKernelSessionOutputRequest()
            request.user_name, request.kernel_slug, request.page_size = owner, slug, 100
            if token:
                request.page_token = token
            page = kernel_call(
                ref, lambda request=request: kaggle.kernels.kernels_api_client.list_kernel_session_output(request)
            )
            files.update({item.file_name: item.url for item in page.files or []})
            log_text = log_text or page.log or ""
            token = page.next_page_token
            if not token:
                return files, log_text


def download_output(url: str, target: Path) -> Path:
    """One kernel output file, kept only if the answer was 200 and every announced byte arrived.

    The client's own kernels_output saves whatever body comes back, so an error
    page could become submission.csv; this checks first, and writes under a
    partial name until the file is whole.
    """
    partial = partial_path(target)
    try:
        with requests.get(url, stream=True, timeout=60) as response:
            if response.status_code != 200:
                raise KaggleApiError(
                    f"downloading {target.name} from Kaggle failed (HTTP {response.status_code}); "
                    "rerun the same command to try again"
                )
            announced = response.headers.get("Content-Length")
            with open(partial, "wb") as sink:
                for chunk in response.iter_content(1 << 20):
                    sink.write(chunk)
    except (requests.RequestException, urllib3.exceptions.HTTPError) as error:
        partial.unlink(missing_ok=True)
        raise translate_http_error(error, "") from None
    size = partial.stat().st_size
    if announced is not None and size != int(announced):
        partial.unlink()
        raise KaggleApiError(
            f"{target.name} from Kaggle came with {size:,} of {int(announced):,} bytes; "
            "rerun the same command to try again"
        )
    os.replace(partial, target)
    return target


# -- what a spec is drafted from (kagglekit.competitions.draft) -------------------------------


@dataclass(frozen=True)
class CompetitionMetadata:
    """What Kaggle's competition record says that a competition spec needs."""

    title: str
    evaluation_metric: str  # Kaggle's display name, e.g. "Categorization Accuracy"; "" when it gives none
    kernels_only: bool  # a code competition: submissions come from a notebook's output


def competition_metadata(slug: str, api: KaggleApi | None = None) -> CompetitionMetadata:
    """``slug``'s title, evaluation metric and whether it only takes notebook submissions (GetCompetition)."""
    from kagglesdk.competitions.types.competition_api_service import ApiGetCompetitionRequest

    api = api or authenticate()
    request = ApiGetCompetitionRequest()
    request.competition_name = slug
    with api.build_kaggle_client() as kaggle:
        competition = _call(slug, lambda: kaggle.competitions.competition_api_client.get_competition(request))
    return CompetitionMetadata(
        competition.title or slug, competition.evaluation_metric or "", bool(competition.is_kernels_submissions_only)
    )


def read_file_start(slug: str, name: str, max_bytes: int = 1 << 20, api: KaggleApi | None = None) -> tuple[bytes, bool]:
    """The first ``max_bytes`` of data file ``name`` and whether that is all of it, without downloading the rest.

    Kaggle sends a CSV inside a .zip; its first member is decompressed as it
    streams in and the download is dropped once ``max_bytes`` have come out,
    so the header and first rows of a 100 MB CSV cost a few hundred kilobytes.
    """
    api = api or authenticate()
    with api.build_kaggle_client() as kaggle:
        response = _call(slug, lambda: _data_file_response(kaggle, slug, name))
        try:
            chunks = response.iter_content(1 << 16)
            if _served_name(response, name).endswith(".zip") and not name.endswith(".zip"):
                return _unzip_start(chunks, name, max_bytes)
            return _take(chunks, max_bytes)
        except (requests.RequestException, urllib3.exceptions.HTTPError) as error:
            raise translate_http_error(error, slug) from None
        finally:
            response.close()


def archive_members(slug: str, name: str, max_bytes: int = 64 << 20, api: KaggleApi | None = None) -> list[str]:
    """The member paths of archive ``name`` (.zip or .7z), from ranged reads of its index, never the whole file.

    A zip's central directory and a 7z's header sit at the end of the file, so
    listing even a 300,000-member archive reads a few megabytes. A server that
    ignores ranges is read whole only when the file is under ``max_bytes``;
    otherwise, as when more than ``max_bytes`` would be read, a DataError.
    """
    import py7zr

    from kagglekit.exceptions import first_line

    if not name.lower().endswith((".zip", ".7z")):
        raise DataError(f"{name} is neither a .zip nor a .7z: kagglekit lists the members of those two only")
    api = api or authenticate()
    with api.build_kaggle_client() as kaggle:
        response = _call(slug, lambda: _data_file_response(kaggle, slug, name))
        try:
            served = _served_name(response, name)
            if served != name and served.endswith(".zip"):
                raise DataError(
                    f"Kaggle sends {name} inside {served}: its members cannot be listed without downloading all of it"
                )
            size = int(response.headers.get("Content-Length") or 0)
            if response.headers.get("Accept-Ranges") == "bytes" and size:
                headers = dict(getattr(response.request, "headers", {}) or {})
                source: io.RawIOBase = _RangeReader(slug, response.url, size, headers, max_bytes)
            elif size <= max_bytes:
                data, complete = _take(response.iter_content(1 << 20), max_bytes)
                if not complete:
                    raise DataError(f"{name} is larger than Kaggle said; its members cannot be listed")
                source = io.BytesIO(data)
            else:
                raise DataError(
                    f"Kaggle serves {name} without ranged reads; its members cannot be listed without "
                    f"downloading all {size:,} bytes"
                )
        except (requests.RequestException, urllib3.exceptions.HTTPError) as error:
            raise translate_http_error(error, slug) from None
        finally:
            response.close()
    reader = io.BufferedReader(source, buffer_size=1 << 16) if isinstance(source, _RangeReader) else source
    try:
        if name.lower().endswith(".zip"):
            with zipfile.ZipFile(reader) as archive:
                return [member.filename for member in archive.infolist() if not member.is_dir()]
        with py7zr.SevenZipFile(reader, "r") as archive:
            return [member.filename for member in archive.list() if not member.is_directory]
    except (zipfile.BadZipFile, py7zr.exceptions.ArchiveError, py7zr.exceptions.Bad7zFile, EOFError) as error:
        raise DataError(f"{name} from {slug} is not a readable archive ({first_line(error)})") from None


def _data_file_response(kaggle: Any, slug: str, name: str) -> requests.Response:
    """The streaming answer of DownloadDataFile (redirected to the file's URL); nothing is read yet."""
    from kagglesdk.competitions.types.competition_api_service import ApiDownloadDataFileRequest

    request = ApiDownloadDataFileRequest()
    request.competition_name = slug
    request.file_name = name
    return kaggle.competitions.competition_api_client.download_data_file(request)


def _served_name(response: requests.Response, name: str) -> str:
    return response.url.split("?")[0].rsplit("/", 1)[-1] or name


def _take(chunks: Any, max_bytes: int) -> tuple[bytes, bool]:
    data = bytearray()
    for chunk in chunks:
        data += chunk
        if len(data) > max_bytes:
            return bytes(data[:max_bytes]), False
    return bytes(data), True


def _unzip_start(chunks: Any, name: str, max_bytes: int) -> tuple[bytes, bool]:
    """The first ``max_bytes`` of the first member of a streamed zip (stored or deflated), and whether that is all."""
    import itertools
    import struct
    import zlib

    stream = iter(chunks)
    buffer = bytearray()

    def fill(count: int) -> None:
        while len(buffer) < count:
            chunk = next(stream, None)
            if chunk is None:
                raise DataError(f"the .zip Kaggle sent for {name} ends inside its first header")
            buffer.extend(chunk)

    fill(30)
    if buffer[:4] != b"PK\x03\x04":
        raise DataError(f"the .zip Kaggle sent for {name} does not start with a zip member")
    flags, method = struct.unpack("<HH", buffer[6:10])
    (stored_size,) = struct.unpack("<I", buffer[18:22])
    name_length, extra_length = struct.unpack("<HH", buffer[26:30])
    fill(30 + name_length + extra_length)
    rest = [bytes(buffer[30 + name_length + extra_length :])]
    if method == 0 and not flags & 0x08:
        data, _ = _take(itertools.chain(rest, stream), min(max_bytes, stored_size))
        return data, stored_size <= max_bytes
    if method != 8:
        raise DataError(
            f"the .zip Kaggle sent for {name} uses compression method {method}; "
            "kagglekit reads stored and deflated members"
        )
    inflate = zlib.decompressobj(-zlib.MAX_WBITS)
    out = bytearray()
    for chunk in itertools.chain(rest, stream):
        while chunk and not inflate.eof:
            out += inflate.decompress(chunk, max_bytes + 1 - len(out))
            if len(out) > max_bytes:
                return bytes(out[:max_bytes]), False
            chunk = inflate.unconsumed_tail
        if inflate.eof:
            return bytes(out), True
    raise DataError(f"the .zip Kaggle sent for {name} ends before its first member does")


class _RangeReader(io.RawIOBase):
    """A seekable view of a remote file that fetches what is read with HTTP Range requests, up to a budget."""

    def __init__(self, slug: str, url: str, size: int, headers: dict[str, str], budget: int) -> None:
        self._slug, self._url, self._size, self._budget = slug, url, size, budget
        self._headers = {k: v for k, v in headers.items() if k.lower() not in ("content-length", "content-type")}
        self._position = self._fetched = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}[whence]
        self._position = max(0, base + offset)
        return self._position

    def readinto(self, buffer: Any) -> int:
        count = min(len(buffer), self._size - self._position)
        if count <= 0:
            return 0
        if self._fetched + count > self._budget:
            raise DataError(
                f"listing the archive would read more than {self._budget:,} bytes of it; download it instead"
            )
        headers = {**self._headers, "Range": f"bytes={self._position}-{self._position + count - 1}"}
        try:
            with requests.get(self._url, headers=headers, timeout=60) as response:
                if response.status_code != 206:
                    raise DataError(
                        f"Kaggle answered HTTP {response.status_code} to a ranged read of an archive; "
                        "download it instead"
                    )
                data = response.content[:count]
        except (requests.RequestException, urllib3.exceptions.HTTPError) as error:
            raise translate_http_error(error, self._slug) from None
        buffer[: len(data)] = data
        self._position += len(data)
        self._fetched += len(data)
        return len(data)


# -- datasets and code submissions (code competitions) ------------------------------------


def dataset_call(ref: str, request: Callable[[], T]) -> T:
    """A Datasets API call: as :func:`_call`, plus the client's own ValueErrors (its checks of the metadata)."""
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # the client narrates its uploads
            return _call(ref, request)
    except ValueError as error:
        raise KaggleApiError(f"Kaggle dataset {ref}: {_one_line(str(error))}") from None


def dataset_status(api: KaggleApi, ref: str) -> str | None:
    """The status of dataset ``ref`` ("ready", "failed", ...: DatabundleVersionStatus in lower case); None if absent."""

    def request() -> str | None:
        try:
            return str(api.dataset_status(ref))
        except requests.HTTPError as error:
            if getattr(error.response, "status_code", None) == 404:
                return None
            raise

    return dataset_call(ref, request)


def create_dataset(api: KaggleApi, folder: Path) -> str:
    """A new private dataset of ``folder``'s files (its dataset-metadata.json names it); returns its ref."""
    response = dataset_call(str(folder), lambda: api.dataset_create_new(str(folder), public=False, quiet=True))
    return _dataset_answer(response, folder)


def create_dataset_version(api: KaggleApi, folder: Path, notes: str) -> str:
    """A new version of the dataset ``folder``'s dataset-metadata.json names, holding ``folder``'s files."""
    response = dataset_call(str(folder), lambda: api.dataset_create_version(str(folder), notes, quiet=True))
    return _dataset_answer(response, folder)


def _dataset_answer(response: Any, folder: Path) -> str:
    """Kaggle refuses an upload with HTTP 200 and ``error``, as it does a kernel push."""
    if getattr(response, "error", None):
        raise KaggleApiError(f"Kaggle refused the dataset upload of {folder}: {_one_line(str(response.error))}")
    return str(response.ref or "")


def submit_code(api: KaggleApi, slug: str, kernel: str, version: int, file_name: str, message: str) -> dict[str, Any]:
    """Submit version ``version`` of ``kernel`` (owner/slug), its output ``file_name`` (CreateCodeSubmission)."""
    response = _call(
        slug,
        lambda: api.competition_submit_code(
            file_name, message, slug, kernel=kernel, kernel_version=version, quiet=True
        ),
    )
    if not response.ref:
        raise KaggleApiError(
            f"Kaggle did not accept {kernel} version {version} for {slug}: {_one_line(response.message or 'no reason given')}"
        )
    return get_submission(slug, response.ref, api)
