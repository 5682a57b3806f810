"""Reading Kaggle's label and id CSVs strictly; ids are text everywhere.

The training labels decide which image is which class and the sample submission
decides which ids a submission must contain; a silent mistake in either costs a
whole training run or a wasted daily submission, so every problem is reported
with the CSV line numbers it sits on. Every column is read as text
(``dtype=str``): an id is a name ("1", "0050f38b3", "cat.1"), never a number,
and cifar-10's "1".."50000" keep their natural order (:func:`natural_key`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Iterable

if TYPE_CHECKING:  # pandas takes 0.4 s to import: only when a CSV is really read
    import numpy as np
    import pandas as pd

from kagglekit.exceptions import DataError, StageNotReadyError, first_line

EXPECTED_HEADER = ["id", "label"]
MAX_ROWS_NAMED = 5  # enough to find the problem, short enough for one line
FETCH_HINT = "download it again with `python -m kagglekit fetch --force`"


def natural_key(value: object) -> tuple[int, int, str]:
    """Sort key for ids: all-digit ids by number ("2" before "10"), then every other id as text."""
    text = str(value)
    return (0, int(text), text) if text.isdigit() else (1, 0, text)


def natural_order(ids: Iterable[object]) -> list[str]:
    return sorted((str(i) for i in ids), key=natural_key)


def describe_rows(line_numbers: list[int] | pd.Index, what: str) -> str:
    """'3 rows with duplicate ids (lines 4, 9, 12)': the one-line form used in errors."""
    numbers = [int(n) for n in line_numbers]
    shown = ", ".join(str(n) for n in numbers[:MAX_ROWS_NAMED])
    more = f", … {len(numbers) - MAX_ROWS_NAMED} more" if len(numbers) > MAX_ROWS_NAMED else ""
    plural = "row" if len(numbers) == 1 else "rows"
    return f"{len(numbers)} {plural} {what} (line {shown}{more})"


def describe_ids(ids: Iterable[object], what: str) -> str:
    """'2 ids missing from the archive: 7, 12': the same shape, for ids instead of lines (in natural order)."""
    ordered = natural_order(ids)
    shown = ", ".join(ordered[:MAX_ROWS_NAMED])
    more = f", … {len(ordered) - MAX_ROWS_NAMED} more" if len(ordered) > MAX_ROWS_NAMED else ""
    return f"{len(ordered)} ids {what}: {shown}{more}"


def read_text_csv(path: Path, fix_hint: str = FETCH_HINT, first_only: bool = False) -> pd.DataFrame:
    """Every column (``first_only``: the first) as stripped text, indexed by CSV line number (line 1 is the header)."""
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise StageNotReadyError(f"{path} is missing; run `python -m kagglekit fetch` first.")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, usecols=[0] if first_only else None)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise DataError(f"{path} is not a readable CSV ({first_line(error)}); {fix_hint}.") from None
    frame.columns = [str(c).strip().lstrip("\ufeff") for c in frame.columns]
    frame.index = frame.index + 2
    for column in frame.columns:
        frame[column] = frame[column].str.strip()
    return frame


def read_id_label_csv(path: Path, fix_hint: str = FETCH_HINT) -> pd.DataFrame:
    """A frame with text ``id`` and ``label`` from an ``id,label`` CSV, indexed by CSV line number.

    Raises DataError naming the offending lines for a wrong header, empty or
    duplicate ids and empty labels: every kind found, in one line.
    """
    frame, problems = read_id_label_rows(path, fix_hint)
    raise_if_problems(path, problems, fix_hint)
    return frame


def read_id_label_rows(path: Path, fix_hint: str) -> tuple[pd.DataFrame, list[str]]:
    """``read_label_rows`` of a CSV whose header must be exactly ``id,label``."""
    return read_label_rows(path, "id", "label", fix_hint, exact=True)


def read_label_rows(
    path: Path, id_column: str, label_column: str, fix_hint: str, exact: bool = False
) -> tuple[pd.DataFrame, list[str]]:
    """Columns ``id`` and ``label`` (text) from the CSV's ``id_column`` and ``label_column``, and a description
    of each kind of bad row, for callers that check more. ``exact``: the header must be just those two.

    An unreadable file or a missing column still raises at once: nothing else can be checked then.
    """
    frame = read_text_csv(path, fix_hint)
    header = ",".join(map(str, frame.columns))
    wanted = [id_column, label_column]
    if (exact and list(frame.columns) != wanted) or not set(wanted) <= set(frame.columns):
        expected = f"'{id_column},{label_column}'" if exact else f"columns {id_column!r} and {label_column!r}"
        raise DataError(f"{path} has header {header!r}, expected {expected}; {fix_hint}.")
    frame = frame[wanted].set_axis(EXPECTED_HEADER, axis=1)
    problems = id_problems(frame)
    frame = frame[frame["id"] != ""]
    empty = frame.index[frame["label"] == ""]
    if len(empty):
        problems.append(describe_rows(empty, "with an empty label"))
    return frame, problems


def id_problems(frame: pd.DataFrame) -> list[str]:
    """Rows whose ``id`` is empty or repeats an earlier row's."""
    problems = []
    empty = frame.index[frame["id"] == ""]
    if len(empty):
        problems.append(describe_rows(empty, "with an empty id"))
    named = frame[frame["id"] != ""]
    duplicated = named.index[named["id"].duplicated(keep="first")]
    if len(duplicated):
        problems.append(describe_rows(duplicated, "with duplicate ids"))
    return problems


def read_ids(path: Path, column: str | None = None, fix_hint: str = FETCH_HINT) -> np.ndarray:
    """The ids a CSV lists, as text in file order: ``column``, or the first column (a sample submission's)."""
    import numpy as np

    frame = read_text_csv(path, fix_hint, first_only=column is None)
    if len(frame.columns) == 0:
        raise DataError(f"{path} has no columns; {fix_hint}.")
    column = frame.columns[0] if column is None else column
    if column not in frame.columns:
        raise DataError(
            f"{path} has header {','.join(map(str, frame.columns))!r}, expected a column {column!r}; {fix_hint}."
        )
    ids = frame[[column]].set_axis(["id"], axis=1)
    raise_if_problems(path, id_problems(ids), fix_hint)
    return np.asarray(ids["id"].to_numpy(dtype=str))


def raise_if_problems(path: Path, problems: list[str], fix_hint: str) -> None:
    if problems:
        raise DataError(f"{path}: {'; '.join(problems)}; {fix_hint}.")
