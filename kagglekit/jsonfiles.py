"""JSON records written atomically: a reader sees the old file or the new one, never half.

Records under runs/ and submissions/ are committed and merged by hand, so a
reader must expect a damaged one: ``read_json`` names the file and the line in
one message, and ``read_json_or_skip`` lets a listing say so and go on with the
others rather than stop at the first bad file.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any, Callable

from kagglekit.exceptions import DataError


def write_json(path: Path, payload: dict[str, Any]) -> None:
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    os.replace(tmp, path)


def read_json(path: Path) -> dict[str, Any]:
    """The record; a DataError naming file and line when it is not a JSON object (a merge conflict, an edit)."""
    path = Path(path)
    try:
        payload = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise DataError(f"{path}:{error.lineno}: not valid JSON ({error.msg}); fix or remove that file") from None
    except UnicodeDecodeError:
        raise DataError(f"{path}: not UTF-8 text; fix or remove that file") from None
    if not isinstance(payload, dict):
        raise DataError(f"{path}:1: holds a JSON {type(payload).__name__}, not an object; fix or remove that file")
    return payload


def read_json_if_present(path: Path) -> dict[str, Any]:
    """The record, or {} when it has not been written yet."""
    return read_json(path) if Path(path).is_file() else {}


def warn(line: str) -> None:
    print(line, file=sys.stderr)


def read_json_or_skip(path: Path, say: Callable[[str], None] = warn) -> dict[str, Any] | None:
    """The record, or None after one line saying why it is skipped: for listings that should show the rest."""
    try:
        return read_json(path)
    except DataError as error:
        say(f"kagglekit: skipping {error}")
        return None
