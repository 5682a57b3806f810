"""Credentials inside a Kaggle notebook: notebook secrets and the notebook's session token.

A notebook has no ``~/.kaggle/kaggle.json``. Its secrets (*Add-ons → Secrets*)
are not environment variables: they are read with
``kaggle_secrets.UserSecretsClient().get_secret(NAME)`` from the module Kaggle's
image ships. kagglekit reads the names the ``kaggle`` client itself looks for
(``KAGGLE_API_TOKEN``, or ``KAGGLE_USERNAME`` with ``KAGGLE_KEY``) and puts them
in this process's environment, where the client finds them.

The client (kaggle 2.2.4 / kagglesdk) also uses a notebook session token: when
``KAGGLE_KERNEL_RUN_TYPE`` and ``KAGGLE_DATA_PROXY_URL`` are set, the file that
``KAGGLE_API_V1_TOKEN`` names is tried before anything else, and its HTTP layer
sends it even when a legacy username/key was loaded. A user who added their own
credentials meant them, so then the session token is taken out of this
process's environment.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from kagglesdk.kaggle_env import KAGGLE_API_V1_TOKEN_PATH, get_access_token_from_env

if TYPE_CHECKING:
    from kaggle.api.kaggle_api_extended import KaggleApi

TOKEN_SECRET = "KAGGLE_API_TOKEN"
KEY_SECRETS = ("KAGGLE_USERNAME", "KAGGLE_KEY")
SECRETS_HELP = f"add your Kaggle API token as the notebook secret {TOKEN_SECRET} (Add-ons > Secrets)"


def load_secrets() -> list[str]:
    """Copy the notebook's Kaggle secrets into the environment (never over a set variable); returns their names.

    Any failure of the secrets service (the secret is not attached, or the
    internet is off) means that secret is absent: ``kaggle_secrets`` raises its
    own exception types, which is why every exception is caught here.
    """
    client = _secrets_client()
    if client is None:
        return []
    loaded: list[str] = []
    for name in (TOKEN_SECRET, *KEY_SECRETS):
        if os.environ.get(name):
            continue
        try:
            value = client.get_secret(name)
        except ConnectionError:
            break  # the service is unreachable: asking for the next name would only wait again
        except Exception:  # noqa: BLE001 - not attached, or refused: that secret is simply absent
            continue
        if value and value.strip():
            os.environ[name] = value.strip()
            loaded.append(name)
    return loaded


def _secrets_client() -> Any:
    """Kaggle's UserSecretsClient, or None outside Kaggle's image (or in a session without a secrets token)."""
    try:
        from kaggle_secrets import UserSecretsClient

        return UserSecretsClient()
    except Exception:  # noqa: BLE001 - ImportError, or the module's own CredentialError
        return None


def uses_session_token() -> bool:
    """The client would authenticate with the notebook's session token."""
    _, source = get_access_token_from_env()
    return source == KAGGLE_API_V1_TOKEN_PATH


def prefer_own_credentials(api: KaggleApi) -> None:
    """Drop the session token when the user supplied credentials (env, secrets, kaggle.json)."""
    if not uses_session_token():
        return
    config = api.read_config_environment(api.read_config_file(quiet=True))
    has_key = api.CONFIG_NAME_USER in config and api.CONFIG_NAME_KEY in config
    if has_key or os.environ.get(TOKEN_SECRET):
        os.environ.pop(KAGGLE_API_V1_TOKEN_PATH, None)
