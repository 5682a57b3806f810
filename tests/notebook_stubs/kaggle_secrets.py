"""A stand-in for the ``kaggle_secrets`` module of Kaggle's notebook image, for the notebook tests.

Same interface and wire behaviour as the image's: ``UserSecretsClient().get_secret(label)``
POSTs ``{"Label": label}`` to ``$KAGGLE_URL_BASE/requests/GetUserSecretByLabelRequest``
with the session's ``KAGGLE_USER_SECRETS_TOKEN``; a connection failure raises
``ConnectionError`` and an unsuccessful answer ``BackendError``. The answers come
from kagglekit's local server (``KaggleServer.secrets``), so only Kaggle's service
is stood in for.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request


class CredentialError(Exception):
    pass


class BackendError(Exception):
    pass


class UserSecretsClient:
    GET_USER_SECRET_BY_LABEL_ENDPOINT = "/requests/GetUserSecretByLabelRequest"

    def __init__(self) -> None:
        self.url_base = os.getenv("KAGGLE_URL_BASE") or "https://www.kaggle.com"
        token = os.getenv("KAGGLE_USER_SECRETS_TOKEN")
        if token is None:
            raise CredentialError("A JWT Token is required to call Kaggle, but none found in KAGGLE_USER_SECRETS_TOKEN")
        self.headers = {"Content-type": "application/json", "X-Kaggle-Authorization": f"Bearer {token}"}

    def get_secret(self, label: str) -> str:
        request = urllib.request.Request(
            self.url_base + self.GET_USER_SECRET_BY_LABEL_ENDPOINT,
            headers=self.headers,
            data=json.dumps({"Label": label}).encode(),
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                answer = json.loads(response.read())
        except urllib.error.HTTPError as error:
            raise BackendError(f"Unexpected response from the service (HTTP {error.code}).") from error
        except (urllib.error.URLError, TimeoutError) as error:
            raise ConnectionError("Connection error trying to communicate with service.") from error
        if not answer.get("wasSuccessful") or "secret" not in answer.get("result", {}):
            raise BackendError(f"Unexpected response from the service. Response: {answer}.")
        return answer["result"]["secret"]
