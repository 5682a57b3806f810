"""No network for a kernel pushed with the internet off, as a code competition's rerun has none.

Kaggle's offline kernel cannot resolve or reach any host; what reaches out
fails, and pip says so in the log the way the tests look for::

    WARNING: Retrying (...) after connection broken by 'NewConnectionError(...:
    Failed to establish a new connection: [Errno -3] Temporary failure in name resolution')'
    ERROR: Could not find a version that satisfies the requirement ...

Two layers, so it holds as root and not, for Python and for what it starts:

* a network namespace of its own (``unshare -n`` as root, ``unshare -rn``
  without), where the kernel's process and all its children have no interface
  but a loopback that is down: nothing, the stand-in on 127.0.0.1 included,
  can be reached. Where namespaces are not allowed this layer is absent;
* a ``sitecustomize`` on the kernel's PYTHONPATH that makes every Python
  process it starts (pip included) fail name resolution with Kaggle's
  ``[Errno -3] Temporary failure in name resolution`` and an IP connection
  with ``[Errno 101] Network is unreachable``, the same words with or without
  the namespace. A sitecustomize the image already has still runs after it.

A Python started with ``-I``/``-E`` skips the second layer; only the first
stops it.
"""

from __future__ import annotations

import functools
import subprocess
from pathlib import Path

# What every Python process of an offline kernel runs first (see the module docstring).
SITECUSTOMIZE = '''"""The local Kaggle stand-in's offline kernel: no host resolves, no address is reachable."""
import errno as _errno
import importlib.machinery as _machinery
import importlib.util as _util
import os as _os
import socket as _socket
import sys as _sys


def _no_name_resolution(*args, **kwargs):
    raise _socket.gaierror(_socket.EAI_AGAIN, "Temporary failure in name resolution")


def _unreachable():
    return OSError(_errno.ENETUNREACH, "Network is unreachable")


_INET = (_socket.AF_INET, _socket.AF_INET6)
_connect, _connect_ex, _sendto = _socket.socket.connect, _socket.socket.connect_ex, _socket.socket.sendto


def _guarded_connect(self, address):
    if self.family in _INET:
        raise _unreachable()
    return _connect(self, address)


def _guarded_connect_ex(self, address):
    return _errno.ENETUNREACH if self.family in _INET else _connect_ex(self, address)


def _guarded_sendto(self, *args):
    if self.family in _INET:
        raise _unreachable()
    return _sendto(self, *args)


for _name in ("getaddrinfo", "gethostbyname", "gethostbyname_ex", "gethostbyaddr"):
    setattr(_socket, _name, _no_name_resolution)
_socket.socket.connect, _socket.socket.connect_ex = _guarded_connect, _guarded_connect_ex
_socket.socket.sendto = _guarded_sendto

# The image's own sitecustomize, if it has one, runs too.
_here = _os.path.dirname(_os.path.abspath(__file__))
_spec = _machinery.PathFinder.find_spec(
    "sitecustomize", [p for p in _sys.path if _os.path.abspath(p or ".") != _here]
)
if _spec is not None and _spec.loader is not None:
    _spec.loader.exec_module(_util.module_from_spec(_spec))
'''


@functools.lru_cache(maxsize=1)
def namespace_prefix() -> tuple[str, ...]:
    """The command that runs a program in a network namespace of its own here, or () where none is allowed."""
    for prefix in (("unshare", "-n"), ("unshare", "-rn")):
        try:
            probe = subprocess.run([*prefix, "true"], capture_output=True, timeout=10, stdin=subprocess.DEVNULL)
        except (OSError, subprocess.TimeoutExpired):
            return ()
        if probe.returncode == 0:
            return prefix
    return ()


def offline_pythonpath(directory: Path) -> Path:
    """``directory`` holding the offline sitecustomize, for the kernel's PYTHONPATH (outside what it outputs)."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "sitecustomize.py").write_text(SITECUSTOMIZE)
    return directory
