"""How the stand-in answers: Kaggle's JSON error bodies and kagglesdk objects, shared by its services."""

from __future__ import annotations

import json
from typing import Any, Mapping, Sequence, TypeVar

from werkzeug.wrappers import Response

Item = TypeVar("Item")
DEFAULT_PAGE_SIZE = 20  # what a list call returns when its request names no page size


class ApiError(Exception):
    """An error answered as Kaggle does: a JSON body with ``code`` and ``message``."""

    def __init__(self, status: int, message: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers or {})


def json_response(payload: Any, status: int = 200) -> Response:
    return Response(json.dumps(payload), status=status, content_type="application/json")


def sdk_response(obj: Any) -> Response:
    return json_response(type(obj).to_dict(obj))


def one_page(
    items: Sequence[Item], page_token: str | None, page_size: int | None, page: int | None = None
) -> tuple[Sequence[Item], str | None]:
    """A list call's page and the next page's token (None on the last), as every list call of the stand-in pages.

    Its tokens are offsets, so the client's next request starts where this page ended; a request with
    no token may name the older 1-based ``page`` instead.
    """
    size = page_size or DEFAULT_PAGE_SIZE
    start = int(page_token) if (page_token or "").isdigit() else ((page or 1) - 1) * size
    end = start + size
    return items[start:end], str(end) if end < len(items) else None
