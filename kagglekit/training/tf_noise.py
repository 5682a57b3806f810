"""Keep TensorFlow's C++ start-up chatter off the terminal, unless the user asks for it.

Importing TensorFlow on a machine without a GPU prints absl's "All log messages
before absl::InitializeLog()" banner, ``cudart_stub`` and ``cpu_feature_guard``
notes and an ``E ... failed call to cuInit: INTERNAL: CUDA error`` line; Kaggle's
GPU image adds "Unable to register cuDNN factory" errors. To a newcomer they
read as failures, and none of them is one. ``TF_CPP_MIN_LOG_LEVEL`` no longer
silences them (XLA logs through absl before that variable is read), so the
process's stderr (file descriptor 2, where C++ writes) is passed through a
filter that drops exactly those lines and forwards everything else unchanged.

``KAGGLEKIT_TF_LOGS=1`` turns the filter off.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import threading
from typing import Iterator

SHOW_ENV = "KAGGLEKIT_TF_LOGS"

# One C++ log line: absl's "I0000 00:00:1795709273.756021    6763 port.cc:153] ..." or older
# TensorFlow's "2024-01-10 12:00:00.000000: E external/.../cuda_dnn.cc:9261] ...".
_CPP_LINE = (
    r"(?:\d{4}-\d\d-\d\d [\d:.]+: )?[IWE](?:\d{4} [\d:.]+\s+\d+)? (?:\S*/)?(?P<file>[\w.]+):\d+\] "
    r"(?P<text>.*)"
)
_CHATTY_FILES = frozenset(
    {
        "port.cc",
        "cudart_stub.cc",
        "cpu_feature_guard.cc",
        "cuda_platform.cc",
        "cuda_driver.cc",
        "cuda_executor.cc",
        "cuda_diagnostics.cc",
    }
)
_FACTORY_CLASH = re.compile(r"Unable to register cu(DNN|FFT|BLAS) factory|computation placer already registered")
_NOISE = (
    re.compile(r"WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"),
    re.compile(r"To enable the following instructions: .* rebuild TensorFlow with the appropriate compiler flags\."),
)


def is_noise(line: str) -> bool:
    """True for a start-up line that says nothing is wrong (or nothing the user can act on)."""
    text = line.rstrip("\r\n")
    if any(pattern.fullmatch(text) for pattern in _NOISE):
        return True
    match = re.fullmatch(_CPP_LINE, text)
    if match is None:
        return False
    return match["file"] in _CHATTY_FILES or bool(_FACTORY_CLASH.search(match["text"]))


# Where a noise line can start inside a segment: C++ writes it after a progress bar's unended line.
_NOISE_START = re.compile(
    r"\d{4}-\d\d-\d\d [\d:.]+: [IWE] |[IWE]\d{4} |WARNING: All log messages|To enable the following"
)


def strip_noise(segment: str) -> str:
    """``segment`` (one line, or a progress bar's unended text and then a line) without a noise line in it."""
    for start in _NOISE_START.finditer(segment):
        if is_noise(segment[start.start() :]):
            return segment[: start.start()]
    return segment


def wanted() -> bool:
    """The user asked to see TensorFlow's own start-up logs."""
    return os.environ.get(SHOW_ENV, "") not in ("", "0")


_active = threading.Lock()


@contextlib.contextmanager
def filtered_stderr() -> Iterator[None]:
    """Route fd 2 through :func:`is_noise` for the duration; nested uses are no-ops."""
    if wanted() or not _active.acquire(blocking=False):
        yield
        return
    try:
        sys.stderr.flush()
        original = os.dup(2)
        read_end, write_end = os.pipe()
        forwarder = threading.Thread(target=_forward, args=(read_end, original), name="tf-noise", daemon=True)
        forwarder.start()
        os.dup2(write_end, 2)
        os.close(write_end)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(original, 2)  # closes the last write end the pipe had: the forwarder sees EOF
            forwarder.join(timeout=5)
            os.close(original)
    finally:
        _active.release()


def _forward(read_end: int, target: int) -> None:
    """Copy lines (ended by \\n, or \\r for progress bars) from the pipe to ``target``, minus noise."""
    pending = b""
    with os.fdopen(read_end, "rb", buffering=0) as pipe:
        while chunk := pipe.read(65536):
            pending += chunk
            lines = re.split(rb"(?<=[\r\n])", pending)
            pending = lines.pop()
            _write(target, [_kept(line) for line in lines])
    _write(target, [_kept(pending)])


def _kept(segment: bytes) -> bytes:
    text = segment.decode("utf-8", "surrogateescape")
    kept = strip_noise(text)
    return segment if kept == text else kept.encode("utf-8", "surrogateescape")


def _write(target: int, lines: list[bytes]) -> None:
    data = b"".join(lines)
    while data:
        data = data[os.write(target, data) :]
