"""Every error a user can cause, flat, one class per kind of remedy.

The CLI prints ``str(error)`` as one line and exits non-zero, so each message
must say what is wrong *and* what to do about it.
"""


def first_line(error: BaseException) -> str:
    """An underlying error's first line (or its type), to quote inside a one-line message."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


class KagglekitError(Exception):
    """Base class: a problem the user can fix, reported without a traceback."""

    exit_code = 1


class CredentialsError(KagglekitError):
    """No usable Kaggle credentials."""


class KaggleApiError(KagglekitError):
    """Kaggle answered with an error (rules not accepted, unknown competition, ...)."""


class RateLimitedError(KaggleApiError):
    """Kaggle kept answering 429 after every retry."""


class NoSubmissionsLeftError(KaggleApiError):
    """Kaggle's daily (or total) submission limit is used up."""


class AlreadySubmittedError(KagglekitError):
    """The same CSV bytes were uploaded before: a second upload scores the same and costs a slot."""


class StillPendingError(KagglekitError):
    """Kaggle had not scored everything when the bounded wait ran out."""


class NetworkError(KagglekitError):
    """Kaggle could not be reached or the connection broke."""


class NotebookOfflineError(NetworkError):
    """Inside a Kaggle notebook, Kaggle's API is out of reach (internet off): submit the notebook's output."""


class DataError(KagglekitError):
    """An input file (archive, CSV, image) is missing, corrupt or inconsistent."""


class UnsafeArchiveError(DataError):
    """An archive tries to write outside its target or is a decompression bomb."""


class StageNotReadyError(KagglekitError):
    """A stage needs the output of an earlier stage that has not run."""


class MissingPackageError(KagglekitError):
    """A package a stage needs is not installed (py7zr in a Kaggle notebook)."""


class UsageError(KagglekitError):
    """A command-line argument names something that does not exist."""

    exit_code = 2


class HardwareError(KagglekitError):
    """An accelerator is here but the chosen backend cannot use it (never a silent fall-back to the CPU)."""
