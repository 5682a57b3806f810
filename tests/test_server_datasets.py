"""The local server's datasets, created and versioned through the real client's own upload calls."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from requests.exceptions import HTTPError

from kagglekit.kaggle import kaggle_api

OWNER = "kagglekit-demo"
REF = f"{OWNER}/kagglekit-wheels"


def dataset_folder(path: Path, text: str = "first") -> Path:
    """A dataset folder as a product writes it: metadata, a file, and a folder uploaded with --dir-mode zip."""
    (path / "wheels").mkdir(parents=True, exist_ok=True)
    metadata = {"title": "kagglekit wheels", "id": REF, "licenses": [{"name": "CC0-1.0"}], "description": "sha256:abc"}
    (path / "dataset-metadata.json").write_text(json.dumps(metadata))
    (path / "notes.txt").write_text(text)
    (path / "wheels" / "kagglekit-0.1-py3-none-any.whl").write_bytes(b"PK-not-really-a-wheel")
    return path


def names_and_sizes(api, dataset: str) -> dict[str, int]:
    return {f.name: f.total_bytes for f in api.dataset_list_files(dataset).files}


def test_create_then_version_keeps_each_version_and_lists_what_was_uploaded(kaggle_server, tmp_path):
    api = kaggle_api.authenticate()
    folder = dataset_folder(tmp_path / "upload")

    created = api.dataset_create_new(str(folder), quiet=True, dir_mode="zip")
    assert created.status == "ok" and created.ref == REF and not created.error
    assert api.dataset_status(REF) == "ready"
    assert json.loads(api.dataset_status(REF, format="json(current_version_number)")) == {"current_version_number": 1}
    first = {"notes.txt": 5, "wheels/kagglekit-0.1-py3-none-any.whl": 21}
    assert names_and_sizes(api, REF) == first
    assert "sha256:abc" in Path(api.dataset_metadata(REF, str(tmp_path / "meta"))).read_text()

    (folder / "notes.txt").write_text("second, longer")
    versioned = api.dataset_create_version(str(folder), "new notes", quiet=True, dir_mode="zip")
    assert versioned.status == "ok"
    assert json.loads(api.dataset_status(REF, format="json"))["current_version_number"] == 2
    assert names_and_sizes(api, REF)["notes.txt"] == 14
    assert names_and_sizes(api, f"{REF}/1") == first  # the first version is kept as it was

    assert api.dataset_download_file(REF, "notes.txt", path=str(tmp_path / "got"), force=True)
    assert (tmp_path / "got" / "notes.txt").read_text() == "second, longer"
    dataset = kaggle_server.datasets.get(OWNER, "kagglekit-wheels")
    assert [v.notes for v in dataset.versions] == ["Initial release", "new notes"]
    assert (dataset.versions[0].directory / "wheels" / "kagglekit-0.1-py3-none-any.whl").is_file()


def test_a_dataset_that_does_not_exist_is_a_404_and_an_existing_slug_is_refused(kaggle_server, tmp_path):
    api = kaggle_api.authenticate()
    with pytest.raises(HTTPError) as missing:
        api.dataset_status(REF)
    assert missing.value.response.status_code == 404
    with pytest.raises(HTTPError):
        api.dataset_create_version(str(dataset_folder(tmp_path / "v")), "notes", quiet=True)

    assert api.dataset_create_new(str(dataset_folder(tmp_path / "a")), quiet=True).status == "ok"
    again = api.dataset_create_new(str(dataset_folder(tmp_path / "b")), quiet=True)
    assert again.status == "error" and "already in use" in again.error
    assert len(kaggle_server.datasets.get(OWNER, "kagglekit-wheels").versions) == 1


def test_a_lone_archive_is_extracted_at_the_top_and_folders_skipped_without_dir_mode(kaggle_server, tmp_path):
    api = kaggle_api.authenticate()
    folder = dataset_folder(tmp_path / "upload")
    (folder / "notes.txt").unlink()
    assert api.dataset_create_new(str(folder), quiet=True, dir_mode="zip").status == "ok"
    assert names_and_sizes(api, REF) == {"kagglekit-0.1-py3-none-any.whl": 21}

    response = api.dataset_create_version(str(folder), "no folders", quiet=True)  # dir_mode skip: nothing to send
    assert response.status == "error" and "at least one file" in response.error


def test_a_new_version_is_processed_before_it_is_ready_and_datasets_list_shows_ones_own(kaggle_server, tmp_path):
    api = kaggle_api.authenticate()
    kaggle_server.datasets.processing_polls = 2
    assert api.dataset_create_new(str(dataset_folder(tmp_path / "a")), quiet=True).status == "ok"
    assert [api.dataset_status(REF) for _ in range(3)] == ["blobs_received", "blobs_received", "ready"]

    [mine] = api.dataset_list(mine=True)
    assert mine.ref == REF and mine.current_version_number == 1 and mine.is_private
    assert api.dataset_list(search="wheels", user=OWNER)[0].ref == REF
    assert api.dataset_list(user="someone-else") == []
