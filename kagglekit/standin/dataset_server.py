"""Kaggle's Datasets API for the local server: datasets created and versioned through the client's own uploads.

A code competition's kernel runs with the internet off, so everything it needs
(wheels, trained weights) must reach it as a dataset the product uploads with
``kaggle datasets create`` / ``kaggle datasets version`` (or
``KaggleApi.dataset_create_new`` / ``dataset_create_version``). Those calls
upload each file with StartBlobUpload and a PUT of its bytes to the returned
``createUrl`` (the server's one upload route, shared with submissions), then
name the tokens in CreateDataset or CreateDatasetVersion. Each version is kept
on disk, under the server's state directory, as Kaggle keeps it: an uploaded
``.zip`` or ``.tar`` (what ``--dir-mode zip|tar`` makes of a folder) is
extracted into a folder of its name; a dataset whose only file is an archive
holds the archive's contents at its top (why kaggleupload's ``--keep_folder``
adds an empty file beside the archive).

What a product reads to decide "unchanged, skip the upload" is served as the
client reads it: ``datasets status`` (GetDatasetStatus; 404 for a dataset that
does not exist, which is how ``dataset_create_new`` tells a new slug),
``datasets status --format json`` (GetDataset's ``currentVersionNumber``),
``datasets files`` (ListDatasetFiles: names and sizes, of the current version or
``OWNER/SLUG/N``), ``datasets metadata`` (GetDatasetMetadata: the description,
where a product may keep a content hash) and ``datasets download`` of one file
or the whole version (DownloadDataset). Versions are ready as soon as they are
created: Kaggle's minutes of processing are not stood in for.
"""

from __future__ import annotations

import dataclasses
import itertools
import shutil
import tarfile
import tempfile
import threading
import zipfile
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from kagglesdk.blobs.types.blob_api_service import ApiStartBlobUploadRequest, ApiStartBlobUploadResponse
from kagglesdk.datasets.types.dataset_api_service import (
    ApiCreateDatasetRequest,
    ApiCreateDatasetResponse,
    ApiCreateDatasetVersionByIdRequest,
    ApiCreateDatasetVersionRequest,
    ApiCreateDatasetVersionRequestBody,
    ApiDataset,
    ApiDatasetFile,
    ApiDatasetNewFile,
    ApiDatasetVersion,
    ApiDownloadDatasetRequest,
    ApiGetDatasetMetadataRequest,
    ApiGetDatasetMetadataResponse,
    ApiGetDatasetRequest,
    ApiGetDatasetStatusRequest,
    ApiGetDatasetStatusResponse,
    ApiListDatasetFilesRequest,
    ApiListDatasetFilesResponse,
    ApiListDatasetsRequest,
    ApiListDatasetsResponse,
)
from kagglesdk.datasets.types.dataset_enums import DatabundleVersionStatus, DatasetSelectionGroup
from kagglesdk.datasets.types.dataset_types import DatasetInfo, SettingsLicense
from werkzeug.utils import send_file
from werkzeug.wrappers import Request, Response

from kagglekit.standin.responses import ApiError, one_page, sdk_response

if TYPE_CHECKING:
    from kagglekit.standin.server import KaggleServer

SERVICE = "datasets.DatasetApiService"
BLOBS = "blobs.BlobApiService"
FILE_ROUTE = "/dataset-files/"
ARCHIVE_SUFFIXES = (".zip", ".tar")


@dataclasses.dataclass
class DatasetVersion:
    number: int
    notes: str
    created: datetime
    directory: Path  # the version's files as Kaggle holds them (archives extracted)
    polls_left: int = 0  # status polls it still shows as being processed

    def files(self) -> list[Path]:
        return sorted(p for p in self.directory.rglob("*") if p.is_file())


@dataclasses.dataclass
class Dataset:
    id: int
    owner: str
    slug: str
    title: str
    license_name: str
    is_private: bool
    subtitle: str
    description: str
    keywords: list[str]
    versions: list[DatasetVersion] = dataclasses.field(default_factory=list)

    @property
    def ref(self) -> str:
        return f"{self.owner}/{self.slug}"

    @property
    def current(self) -> DatasetVersion:
        return self.versions[-1]

    def version(self, number: int | None) -> DatasetVersion:
        if not number:
            return self.current
        found = next((v for v in self.versions if v.number == number), None)
        if found is None:
            raise ApiError(404, f"Dataset {self.ref} has no version {number}")
        return found


class DatasetService:
    """The Datasets and Blobs endpoints of :class:`~kagglekit.standin.server.KaggleServer`, one per server."""

    def __init__(self, server: KaggleServer, workdir: Path) -> None:
        self.server = server
        self.root = workdir / "datasets"
        self.datasets: dict[tuple[str, str], Dataset] = {}
        self.processing_polls = (
            0  # status polls a new version shows BLOBS_RECEIVED before READY, as Kaggle processes it
        )
        self._ids = itertools.count(9000001)
        self._lock = threading.RLock()

    def handlers(self) -> dict[tuple[str, str], Callable[[Request], Response]]:
        return {
            (BLOBS, "StartBlobUpload"): self._start_blob_upload,
            (SERVICE, "CreateDataset"): self._create_dataset,
            (SERVICE, "CreateDatasetVersion"): self._create_version,
            (SERVICE, "CreateDatasetVersionById"): self._create_version_by_id,
            (SERVICE, "GetDatasetStatus"): self._get_status,
            (SERVICE, "GetDataset"): self._get_dataset,
            (SERVICE, "ListDatasetFiles"): self._list_files,
            (SERVICE, "GetDatasetMetadata"): self._get_metadata,
            (SERVICE, "DownloadDataset"): self._download,
            (SERVICE, "ListDatasets"): self._list_datasets,
        }

    def get(self, owner: str, slug: str) -> Dataset | None:
        with self._lock:
            return self.datasets.get((owner, slug))

    # -- uploads --------------------------------------------------------------

    def _start_blob_upload(self, request: Request) -> Response:
        self.server._user(request)
        body = ApiStartBlobUploadRequest.from_dict(request.get_json(force=True))
        if not body.name:
            raise ApiError(400, "A blob upload needs a file name")
        response = ApiStartBlobUploadResponse()
        response.token, response.create_url = self.server.open_upload(body.name)
        return sdk_response(response)

    def _create_dataset(self, request: Request) -> Response:
        user = self.server._user(request)
        body = ApiCreateDatasetRequest.from_dict(request.get_json(force=True))
        owner = body.owner_slug or user
        response = ApiCreateDatasetResponse()
        problem = self._refusal(owner, user, body.files)
        if problem is None and self.get(owner, body.slug) is not None:
            problem = f"The dataset slug {body.slug!r} is already in use by one of your datasets"
        if problem:
            return _error(response, problem)
        dataset = Dataset(
            next(self._ids),
            owner,
            body.slug,
            body.title,
            body.license_name,
            body.is_private,
            body.subtitle,
            body.description,
            list(body.category_ids or []),
        )
        with self._lock:
            dataset.versions.append(self._store(dataset, body.files, "Initial release"))
            self.datasets[(owner, body.slug)] = dataset
        return _created(response, dataset)

    def _create_version(self, request: Request) -> Response:
        user = self.server._user(request)
        body = ApiCreateDatasetVersionRequest.from_dict(request.get_json(force=True))
        return self._new_version(self._dataset(body.owner_slug, body.dataset_slug), user, body.body)

    def _create_version_by_id(self, request: Request) -> Response:
        user = self.server._user(request)
        body = ApiCreateDatasetVersionByIdRequest.from_dict(request.get_json(force=True))
        with self._lock:
            dataset = next((d for d in self.datasets.values() if d.id == body.id), None)
        if dataset is None:
            raise ApiError(404, f"Dataset {body.id} not found")
        return self._new_version(dataset, user, body.body)

    def _new_version(self, dataset: Dataset, user: str, body: ApiCreateDatasetVersionRequestBody | None) -> Response:
        body = body or ApiCreateDatasetVersionRequestBody()
        response = ApiCreateDatasetResponse()
        problem = self._refusal(dataset.owner, user, body.files)
        if problem:
            return _error(response, problem)
        with self._lock:
            version = self._store(dataset, body.files, body.version_notes)
            if body.delete_old_versions:
                for old in dataset.versions:
                    shutil.rmtree(old.directory, ignore_errors=True)
                dataset.versions.clear()
            dataset.versions.append(version)
            dataset.subtitle = body.subtitle or dataset.subtitle
            dataset.description = body.description or dataset.description
        return _created(response, dataset)

    def _refusal(self, owner: str, user: str, files: list[ApiDatasetNewFile] | None) -> str | None:
        """Why Kaggle would refuse this dataset or version (answered with HTTP 200, in ``error``)."""
        if owner != user:
            return f"You do not have permission to create datasets for {owner}"
        if not files:
            return "A dataset version needs at least one file"
        return None

    def _store(self, dataset: Dataset, files: list[ApiDatasetNewFile], notes: str) -> DatasetVersion:
        """The uploaded files as the next version's folder, written under a temporary name and renamed whole."""
        number = dataset.versions[-1].number + 1 if dataset.versions else 1
        home = self.root / dataset.owner / dataset.slug
        home.mkdir(parents=True, exist_ok=True)
        uploads = [self.server.take_upload(f.token) for f in files]
        staging = Path(tempfile.mkdtemp(prefix=f".version-{number}-", dir=home))
        for name, data in uploads:
            _place(staging, name, data, alone=len(uploads) == 1)
        target = home / str(number)
        staging.rename(target)
        return DatasetVersion(number, notes or "", datetime.now(timezone.utc), target, self.processing_polls)

    # -- reading --------------------------------------------------------------

    def _dataset(self, owner: str, slug: str) -> Dataset:
        dataset = self.get(owner, slug)
        if dataset is None:
            raise ApiError(404, f"Dataset {owner}/{slug} not found")
        return dataset

    def _get_status(self, request: Request) -> Response:
        self.server._user(request)
        body = ApiGetDatasetStatusRequest.from_dict(request.get_json(force=True))
        current = self._dataset(body.owner_slug, body.dataset_slug).current
        response = ApiGetDatasetStatusResponse()
        with self._lock:
            processing, current.polls_left = current.polls_left > 0, max(0, current.polls_left - 1)
        response.status = DatabundleVersionStatus.BLOBS_RECEIVED if processing else DatabundleVersionStatus.READY
        return sdk_response(response)

    def _get_dataset(self, request: Request) -> Response:
        self.server._user(request)
        body = ApiGetDatasetRequest.from_dict(request.get_json(force=True))
        return sdk_response(_dataset_view(self._dataset(body.owner_slug, body.dataset_slug)))

    def _list_datasets(self, request: Request) -> Response:
        """``datasets list --mine`` / ``--user U`` / ``-s TERM``: one's own private datasets included, as on Kaggle."""
        user = self.server._user(request)
        body = ApiListDatasetsRequest.from_dict(request.get_json(force=True))
        owner = user if body.group == DatasetSelectionGroup.DATASET_SELECTION_GROUP_MY else body.user
        term = (body.search or "").lower()
        with self._lock:
            found = [
                d
                for d in sorted(self.datasets.values(), key=lambda d: d.ref)
                if (not owner or d.owner == owner)
                and (d.owner == user or not d.is_private)
                and (term in d.slug.lower() or term in d.title.lower())
            ]
        shown, next_token = one_page(found, body.page_token, body.page_size, body.page)
        response = ApiListDatasetsResponse()
        response.datasets = [_dataset_view(d) for d in shown]
        if next_token:
            response.next_page_token = next_token
        return sdk_response(response)

    def _list_files(self, request: Request) -> Response:
        self.server._user(request)
        body = ApiListDatasetFilesRequest.from_dict(request.get_json(force=True))
        dataset = self._dataset(body.owner_slug, body.dataset_slug)
        version = dataset.version(body.dataset_version_number)
        shown, next_token = one_page(version.files(), body.page_token, body.page_size)
        response = ApiListDatasetFilesResponse()
        response.dataset_files = [_file_view(dataset, version, p) for p in shown]
        if next_token:
            response.next_page_token = next_token
        return sdk_response(response)

    def _get_metadata(self, request: Request) -> Response:
        self.server._user(request)
        body = ApiGetDatasetMetadataRequest.from_dict(request.get_json(force=True))
        dataset = self._dataset(body.owner_slug, body.dataset_slug)
        info = DatasetInfo()
        info.dataset_id = dataset.id
        info.dataset_slug = dataset.slug
        info.owner_user = dataset.owner
        info.title = dataset.title
        info.subtitle = dataset.subtitle
        info.description = dataset.description
        info.is_private = dataset.is_private
        info.keywords = dataset.keywords
        license_ = SettingsLicense()
        license_.name = dataset.license_name
        info.licenses = [license_]
        response = ApiGetDatasetMetadataResponse()
        response.info = info
        return sdk_response(response)

    def _download(self, request: Request) -> Response:
        """A redirect to the file's URL, or to the whole version zipped (built once), as Kaggle answers."""
        self.server._user(request)
        body = ApiDownloadDatasetRequest.from_dict(request.get_json(force=True))
        dataset = self._dataset(body.owner_slug, body.dataset_slug)
        version = dataset.version(body.dataset_version_number)
        if body.file_name:
            if not (version.directory / body.file_name).is_file():
                raise ApiError(404, f"File {body.file_name!r} not found in dataset {dataset.ref}")
            name = body.file_name
        else:
            name = _bundle(version, dataset.slug).name
        location = f"http://localhost{FILE_ROUTE}{dataset.owner}/{dataset.slug}/{version.number}/{name}"
        return Response(status=302, headers={"Location": location})

    def serves(self, path: str) -> bool:
        return path.startswith(FILE_ROUTE)

    def send_file(self, request: Request) -> Response:
        """A signed-URL download of a version's file or bundle: no auth, ranges and validators as GCS serves them."""
        parts = request.path[len(FILE_ROUTE) :].split("/", 3)
        if len(parts) != 4:
            raise ApiError(404, f"no dataset file at {request.path}")
        owner, slug, number, name = parts
        dataset = self._dataset(owner, slug)
        version = dataset.version(int(number) if number.isdigit() else -1)
        folders = (version.directory, version.directory.parent / f"{version.number}.bundle")
        path = next((f / name for f in folders if (f / name).is_file()), None)
        if path is None or not any(f.resolve() in path.resolve().parents for f in folders):
            raise ApiError(404, f"no file {name!r}")
        return send_file(path, request.environ, mimetype="application/octet-stream", conditional=True, max_age=None)


# -- helpers -------------------------------------------------------------------


def _place(directory: Path, name: str, data: bytes, alone: bool) -> None:
    """One uploaded file into a version's folder: an archive extracted, as Kaggle does, anything else as sent."""
    suffix = Path(name).suffix.lower()
    if suffix not in ARCHIVE_SUFFIXES:
        (directory / Path(name).name).write_bytes(data)
        return
    target = directory if alone else directory / Path(name).stem
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile() as spool:
        spool.write(data)
        spool.seek(0)
        if suffix == ".zip":
            with zipfile.ZipFile(spool) as archive:
                archive.extractall(target)
        else:
            with tarfile.open(fileobj=spool) as archive:
                archive.extractall(target, filter="data")


def _bundle(version: DatasetVersion, slug: str) -> Path:
    """The whole version as one zip, as ``datasets download`` gets it; built once, under a temporary name."""
    bundle = version.directory.parent / f"{version.number}.bundle" / f"{slug}.zip"
    if not bundle.exists():
        bundle.parent.mkdir(exist_ok=True)
        partial = bundle.with_suffix(".partial")
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in version.files():
                archive.write(path, path.relative_to(version.directory).as_posix())
        partial.rename(bundle)
    return bundle


def _dataset_view(dataset: Dataset) -> ApiDataset:
    """What GetDataset and ListDatasets report: the current version's number, files and size, and every version."""
    view = ApiDataset()
    view.id = dataset.id
    view.ref = dataset.ref
    view.url = _url(dataset)
    view.title = dataset.title
    view.subtitle = dataset.subtitle
    view.description = dataset.description
    view.owner_ref = view.creator_name = dataset.owner
    view.is_private = dataset.is_private
    view.license_name = dataset.license_name
    view.current_version_number = dataset.current.number
    view.last_updated = dataset.current.created.replace(tzinfo=None)
    view.total_bytes = sum(p.stat().st_size for p in dataset.current.files())
    view.files = [_file_view(dataset, dataset.current, p) for p in dataset.current.files()]
    view.versions = [_version_view(dataset, v) for v in reversed(dataset.versions)]
    return view


def _url(dataset: Dataset) -> str:
    return f"https://www.kaggle.com/datasets/{dataset.ref}"


def _file_view(dataset: Dataset, version: DatasetVersion, path: Path) -> ApiDatasetFile:
    view = ApiDatasetFile()
    view.name = view.ref = path.relative_to(version.directory).as_posix()
    view.dataset_ref = dataset.ref
    view.owner_ref = dataset.owner
    view.total_bytes = path.stat().st_size
    view.creation_date = version.created.replace(tzinfo=None)
    return view


def _version_view(dataset: Dataset, version: DatasetVersion) -> ApiDatasetVersion:
    view = ApiDatasetVersion()
    view.version_number = version.number
    view.version_notes = version.notes
    view.creation_date = version.created.replace(tzinfo=None)
    view.creator_name = view.creator_ref = dataset.owner
    view.status = "ready"
    return view


def _error(response: ApiCreateDatasetResponse, message: str) -> Response:
    response.status = "error"
    response.error = message
    return sdk_response(response)


def _created(response: ApiCreateDatasetResponse, dataset: Dataset) -> Response:
    response.status = "ok"
    response.ref = dataset.ref
    response.url = _url(dataset)
    return sdk_response(response)
