"""JSON records written atomically: a reader sees the old file or the new one, never half."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def write_json(path: Path, payload: dict[str, Any]) -> None:
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    os.replace(tmp, path)


def read_json(path: Path) -> dict[str, Any]:
    return json.loads(Path(path).read_text())


def read_json_if_present(path: Path) -> dict[str, Any]:
    """The record, or {} when it has not been written yet."""
    return read_json(path) if Path(path).is_file() else {}
