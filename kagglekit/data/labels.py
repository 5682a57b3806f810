"""Reading Kaggle's ``id,label`` CSVs strictly.

trainLabels.csv decides which image is which class and sampleSubmission.csv
decides which ids a submission must contain; a silent mistake in either costs a
whole training run or a wasted daily submission, so every problem is reported
with the CSV line numbers it sits on.
"""

from __future__ import annotations

from pathlib import Path

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pandas takes 0.4 s to import: only when a CSV is really read
    import pandas as pd

from kagglekit.exceptions import DataError, StageNotReadyError, first_line

EXPECTED_HEADER = ["id", "label"]
MAX_ROWS_NAMED = 5  # enough to find the problem, short enough for one line


def describe_rows(line_numbers: list[int] | pd.Index, what: str) -> str:
    """'3 rows with duplicate ids (lines 4, 9, 12)': the one-line form used in errors."""
    numbers = [int(n) for n in line_numbers]
    shown = ", ".join(str(n) for n in numbers[:MAX_ROWS_NAMED])
    more = f", … {len(numbers) - MAX_ROWS_NAMED} more" if len(numbers) > MAX_ROWS_NAMED else ""
    plural = "row" if len(numbers) == 1 else "rows"
    return f"{len(numbers)} {plural} {what} (line {shown}{more})"


def describe_ids(ids: list[int] | set[int], what: str) -> str:
    """'2 ids missing from the archive: 7, 12': the same shape, for ids instead of lines."""
    ordered = sorted(int(i) for i in ids)
    shown = ", ".join(str(i) for i in ordered[:MAX_ROWS_NAMED])
    more = f", … {len(ordered) - MAX_ROWS_NAMED} more" if len(ordered) > MAX_ROWS_NAMED else ""
    return f"{len(ordered)} ids {what}: {shown}{more}"


def read_id_label_csv(path: Path, fix_hint: str = "download it again with `python -m kagglekit fetch --force`") -> pd.DataFrame:
    """A frame with int ``id`` and str ``label``, indexed by CSV line number.

    Raises DataError naming the offending lines for a wrong header, non-integer
    or duplicate ids and empty labels: every kind found, in one line.
    """
    frame, problems = read_id_label_rows(path, fix_hint)
    raise_if_problems(path, problems, fix_hint)
    return frame


def read_id_label_rows(path: Path, fix_hint: str) -> tuple[pd.DataFrame, list[str]]:
    """The rows with a usable id, and a description of each kind of bad row, for callers that check more.

    An unreadable file or a wrong header still raises at once: nothing else can be checked then.
    """
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise StageNotReadyError(f"{path} is missing; run `python -m kagglekit fetch` first.")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise DataError(f"{path} is not a readable CSV ({first_line(error)}); {fix_hint}.") from None
    if list(frame.columns) != EXPECTED_HEADER:
        raise DataError(f"{path} has header {','.join(map(str, frame.columns))!r}, expected 'id,label'; {fix_hint}.")
    frame.index = frame.index + 2  # CSV line numbers: line 1 is the header
    frame["id"] = frame["id"].str.strip()
    frame["label"] = frame["label"].str.strip()

    integer = frame["id"].str.fullmatch(r"\d+")
    problems = []
    if not integer.all():
        problems.append(describe_rows(frame.index[~integer], "whose id is not a positive integer"))
    frame = frame[integer].astype({"id": "int64"})
    duplicated = frame.index[frame["id"].duplicated(keep="first")]
    if len(duplicated):
        problems.append(describe_rows(duplicated, "with duplicate ids"))
    empty = frame.index[frame["label"] == ""]
    if len(empty):
        problems.append(describe_rows(empty, "with an empty label"))
    return frame, problems


def raise_if_problems(path: Path, problems: list[str], fix_hint: str) -> None:
    if problems:
        raise DataError(f"{path}: {'; '.join(problems)}; {fix_hint}.")
