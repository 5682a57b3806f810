"""How the stand-in answers: Kaggle's JSON error bodies and kagglesdk objects, shared by its services."""

from __future__ import annotations

import json
from typing import Any, Mapping

from werkzeug.wrappers import Response


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
