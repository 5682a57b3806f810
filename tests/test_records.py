"""Records under submissions/ survive ordinary edits: merges, hand edits, predicting a version again.

Through the CLI, the real kaggle client and the local Kaggle server, with
versions written by the predict stage's own `write_submission` (test_submit's
``ws``): a damaged JSON is named in one line (file:line) and the rest still
works; an upload belongs to the CSV it sent, so a new CSV for a version starts
unsubmitted and the old score stays with the old CSV.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
from test_submit import SLUG, UPLOADS, Workspace, one_line_error, uploads, wrong, ws  # noqa: F401 (ws: the fixture)

from kagglekit.cli import main
from kagglekit.jsonfiles import read_json
from kagglekit.submissions.formats import CSV, EARLIER, PREDICTION, RECORD, version_dir

CONFLICT = ("<<<<<<< HEAD", "=======", ">>>>>>> other-branch")


def merge_conflict(path: Path) -> int:
    """Wrap one line in the middle of ``path`` in git's conflict markers; returns the 1-based line JSON stops at."""
    lines = path.read_text().splitlines()
    middle = len(lines) // 2
    ours, theirs = lines[middle], lines[middle].replace('"', '"edited ', 1)
    path.write_text(
        "\n".join([*lines[:middle], CONFLICT[0], ours, CONFLICT[1], theirs, CONFLICT[2], *lines[middle + 1 :]]) + "\n"
    )
    return middle + 1


def table(out: str) -> dict[str, list[str]]:
    """compare's rows by version label (split on the two-space column gaps), from its header on."""
    lines = out.split("\n\n")[0].splitlines()
    header = next(n for n, line in enumerate(lines) if line.startswith("version  "))
    rows = [re.split(r"\s{2,}", line.strip()) for line in lines[header + 2 :]]
    return {row[0]: row for row in rows}


def creates(server) -> int:
    return uploads(server).count("CreateSubmission")


def csv_sha256(ws: Workspace, version_id: str) -> str:
    return hashlib.sha256((version_dir(ws.submissions, version_id) / CSV).read_bytes()).hexdigest()


def scored(kaggle_server, ws: Workspace, capsys) -> tuple[str, str, str]:
    """alpha (right) and gamma (wrong) submitted and scored, beta predicted only; the leaderboard saved."""
    kaggle_server.set_pending_polls(SLUG, 0)
    alpha = ws.predict("alpha", ws.answers)
    beta = ws.predict("beta", {i: "cat" for i in ws.answers})
    gamma = ws.predict("gamma", wrong(ws.answers))
    for version in (alpha, gamma):
        assert main(["submit", version, *ws.where]) == 0
    assert main(["scores", *ws.where, "--interval", "0"]) == 0
    capsys.readouterr()
    return alpha, beta, gamma


def damage(ws: Workspace, which: str, version_id: str) -> tuple[Path, int]:
    path = (
        ws.submissions / "leaderboard.json"
        if which == "leaderboard"
        else version_dir(ws.submissions, version_id) / which
    )
    return path, merge_conflict(path)


# -- a damaged record is named and the rest still show ------------------------------------------------


@pytest.mark.parametrize("which", [PREDICTION, RECORD, "leaderboard"])
def test_compare_names_a_merge_conflicted_record_and_shows_the_rest(kaggle_server, ws, capsys, which):
    alpha, beta, gamma = scored(kaggle_server, ws, capsys)
    path, line = damage(ws, which, gamma)

    assert main(["compare", *ws.where]) == 0

    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1, captured.err
    assert captured.err.startswith(f"kagglekit: skipping {path}:{line}: not valid JSON (")
    assert captured.err.rstrip().endswith("; fix or remove that file")
    rows = table(captured.out)
    assert rows[beta][-4:] == ["0.8000", "not submitted", "-", "n/a"]
    if which == PREDICTION:
        assert set(rows) == {alpha, beta}  # nothing to show of gamma but its name, which the line gave
    elif which == RECORD:
        assert rows[gamma][-3:] == ["unreadable", "-", "n/a"]  # not "not submitted": it may well have been
    if which == "leaderboard":
        assert rows[alpha][-3:] == ["1.00000", "1.00000", "n/a"]  # scores kept, rank unknown without the board
    else:
        assert rows[alpha][-3:] == ["1.00000", "1.00000", "1"]
    assert (ws.submissions / "leaderboard.md").is_file()


@pytest.mark.parametrize("which", [PREDICTION, RECORD])
def test_submit_refuses_a_damaged_version_in_one_line_and_submits_a_healthy_one(kaggle_server, ws, capsys, which):
    alpha, beta, gamma = scored(kaggle_server, ws, capsys)
    path, line = damage(ws, which, gamma)
    before = path.read_text()

    assert main(["submit", gamma, *ws.where, "--force"]) == 1

    assert f"{path}:{line}: not valid JSON" in one_line_error(capsys)
    assert creates(kaggle_server) == 2  # alpha's and gamma's first: nothing uploaded that could not be recorded
    assert path.read_text() == before  # the user's merge left as it was

    assert main(["submit", beta, *ws.where]) == 0

    assert creates(kaggle_server) == 3 and ws.entries(beta)[0]["status"] == "complete"
    # the duplicate check reads every submission.json: it names the damaged one once and goes on
    assert capsys.readouterr().err.count(f"{path}:{line}") == (1 if which == RECORD else 0)


def test_scores_names_a_damaged_submission_json_and_polls_the_rest(kaggle_server, ws, capsys):
    alpha, beta, gamma = scored(kaggle_server, ws, capsys)
    kaggle_server.set_pending_polls(SLUG, 2)
    assert main(["submit", beta, *ws.where]) == 0
    assert ws.entries(beta)[0]["status"] == "pending"
    path, line = damage(ws, RECORD, gamma)
    before = path.read_text()
    capsys.readouterr()

    assert main(["scores", *ws.where, "--interval", "0"]) == 0

    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and f"kagglekit: skipping {path}:{line}: not valid JSON" in captured.err
    assert ws.entries(beta)[0]["status"] == "complete"
    assert f"{beta} ref " in captured.out
    assert path.read_text() == before


def test_scores_writes_a_damaged_leaderboard_snapshot_anew(kaggle_server, ws, capsys):
    """The snapshot is Kaggle's leaderboard, fetched whole each time: nothing of the user's is lost by rewriting it."""
    scored(kaggle_server, ws, capsys)
    path, _ = damage(ws, "leaderboard", None)

    assert main(["scores", *ws.where]) == 0

    assert read_json(path)["competition"] == SLUG
    assert capsys.readouterr().err == ""


def test_a_damaged_earlier_prediction_is_named_and_the_current_one_shows(kaggle_server, ws, capsys):
    alpha = ws.predict("alpha", ws.answers)
    assert main(["submit", alpha, *ws.where]) == 0
    ws.predict("alpha", wrong(ws.answers))
    [kept] = (version_dir(ws.submissions, alpha) / EARLIER).glob("*.json")
    line = merge_conflict(kept)
    capsys.readouterr()

    assert main(["compare", *ws.where]) == 0

    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and f"kagglekit: skipping {kept}:{line}: not valid JSON" in captured.err
    assert list(table(captured.out)) == [alpha]
    assert table(captured.out)[alpha][-3:] == ["not submitted", "-", "n/a"]


# -- an upload belongs to the CSV it sent ---------------------------------------------------------------


def test_a_new_csv_for_a_submitted_version_starts_unsubmitted_and_the_old_score_stays_with_the_old_csv(
    kaggle_server, ws, capsys
):
    kaggle_server.set_pending_polls(SLUG, 1)
    version = ws.predict("alpha", ws.answers, val_accuracy=0.91)
    old_sha256 = csv_sha256(ws, version)
    assert main(["submit", version, *ws.where]) == 0
    [old_upload] = ws.entries(version)
    assert old_upload["status"] == "pending"

    again = ws.predict("alpha", wrong(ws.answers), val_accuracy=0.42)  # retrained: same version id, another CSV

    assert again == version
    new_sha256 = csv_sha256(ws, version)
    assert new_sha256 != old_sha256
    assert [e for e in ws.entries(version) if e["csv_sha256"] == new_sha256] == []  # nothing uploaded of the new CSV
    assert ws.entries(version) == [old_upload]  # the old upload is still on record, still to be scored
    kept = read_json(version_dir(ws.submissions, version) / EARLIER / f"{old_sha256[:12]}.json")
    assert (kept["csv_sha256"], kept["val_accuracy"]) == (old_sha256, 0.91)

    assert main(["scores", *ws.where, "--interval", "0"]) == 0  # the old CSV's pending upload is polled all the same
    assert main(["compare", *ws.where]) == 0
    earlier = f"{version} (earlier CSV {old_sha256[:8]})"
    rows = table(capsys.readouterr().out)
    assert list(rows) == [earlier, version]  # best first
    assert rows[earlier][-4:] == ["0.9100", "1.00000", "1.00000", "1"]  # the old score beside the old model
    assert rows[version][-4:] == ["0.4200", "not submitted", "-", "n/a"]

    assert main(["submit", version, *ws.where, "--wait", "10"]) == 0  # a new CSV: not refused as a duplicate
    assert creates(kaggle_server) == 2
    assert [e["csv_sha256"] for e in ws.entries(version)] == [old_sha256, new_sha256]
    assert main(["compare", *ws.where]) == 0
    rows = table(capsys.readouterr().out)
    assert rows[earlier][-3:] == ["1.00000", "1.00000", "1"]
    assert rows[version][-4:] == ["0.4200", "0.00000", "0.00000", "3"]  # behind us and the benchmark


def test_predicting_the_same_csv_again_keeps_its_uploads(kaggle_server, ws, capsys):
    kaggle_server.set_pending_polls(SLUG, 0)
    version = ws.predict("alpha", ws.answers, val_accuracy=0.91)
    assert main(["submit", version, *ws.where]) == 0
    uploaded = ws.entries(version)

    ws.predict("alpha", ws.answers, val_accuracy=0.93)  # another run, the very same predictions

    assert ws.entries(version) == uploaded
    assert not (version_dir(ws.submissions, version) / EARLIER).exists()
    assert main(["compare", *ws.where]) == 0
    rows = table(capsys.readouterr().out)
    assert list(rows) == [version] and rows[version][-4:] == ["0.9300", "1.00000", "1.00000", "n/a"]
    assert main(["submit", version, *ws.where]) == 1
    assert "already submitted" in one_line_error(capsys)
    assert creates(kaggle_server) == 1


def test_only_superseded_csvs_that_were_uploaded_are_kept(kaggle_server, ws, capsys):
    kaggle_server.set_pending_polls(SLUG, 0)
    version = ws.predict("alpha", ws.answers)
    first = csv_sha256(ws, version)
    assert main(["submit", version, *ws.where]) == 0
    ws.predict("alpha", wrong(ws.answers))  # never uploaded
    ws.predict("alpha", {i: "cat" for i in ws.answers})

    earlier = version_dir(ws.submissions, version) / EARLIER
    assert sorted(p.name for p in earlier.iterdir()) == [f"{first[:12]}.json"]
    assert main(["compare", *ws.where]) == 0
    assert list(table(capsys.readouterr().out)) == [f"{version} (earlier CSV {first[:8]})", version]
