"""compare reads only submissions/: records written here by hand, no server, no network."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
from competition_specs import dogs_vs_cats, write_spec

from kagglekit.cli import main
from kagglekit.jsonfiles import write_json
from kagglekit.submissions.compare import leaderboard_rank
from kagglekit.submissions.formats import PREDICTION, RECORD

SLUG = "cifar-10"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def version(
    submissions: Path,
    version_id: str,
    val_accuracy: float | None,
    *scored: tuple,
    competition: str = SLUG,
    created: str = "2024-05-01T10:00:00",
    **record: object,
) -> None:
    """A predicted version; each of ``scored`` is an upload of its CSV (status, public, private), oldest first."""
    folder = submissions / version_id
    folder.mkdir(parents=True)
    csv_sha256 = hashlib.sha256(version_id.encode()).hexdigest()  # no CSV here: uploads match the recorded hash
    write_json(
        folder / PREDICTION,
        {
            "version": version_id.rsplit("-", 1)[0],
            "version_id": version_id,
            "competition": competition,
            "parameters": 1_234_567,
            "epochs": 10,
            "training_seconds": 3725.0,
            "val_accuracy": val_accuracy,
            "created": created,
            "csv_sha256": csv_sha256,
            **record,
        },
    )
    if scored:
        write_json(
            folder / RECORD,
            {
                "version_id": version_id,
                "submissions": [
                    {
                        "ref": 1000 + n,
                        "competition": competition,
                        "message": "m",
                        "date": "2024-05-01T11:00:00",
                        "csv_sha256": csv_sha256,
                        "status": status,
                        "public_score": public,
                        "private_score": private,
                        "error": "bad CSV" if status == "error" else None,
                    }
                    for n, (status, public, private) in enumerate(scored)
                ],
            },
        )


def snapshot(submissions: Path, scores: list[float], *, competition: str = SLUG, truncated: bool = False) -> None:
    write_json(
        submissions / "leaderboard.json",
        {
            "competition": competition,
            "fetched": "2024-05-02T09:00:00+0000",
            "truncated": truncated,
            "scores": [{"team": f"team {n}", "score": s} for n, s in enumerate(scores)],
        },
    )


@pytest.fixture
def offline(no_kaggle_credentials, unreachable_proxy) -> None:
    """No credentials and no network: compare must not need either."""


def rows(text: str) -> list[list[str]]:
    """The table's data rows, split on the two-space column gaps."""
    lines = text.split("\n\n")[0].splitlines()[2:]
    return [re.split(r"\s{2,}", line.strip()) for line in lines]


def test_versions_best_first_with_ranks_from_the_snapshot(tmp_path, offline, capsys):
    subs = tmp_path / "submissions"
    version(subs, "small-aaaa1111", 0.80, ("complete", 0.9, 0.88))
    version(subs, "wide-bbbb2222", 0.85, ("complete", 0.9, 0.89))  # same public, better validation: first
    version(subs, "deep-cccc3333", 0.70, ("complete", 0.5, 0.52), ("complete", 0.6, 0.61), ("pending", None, None))
    version(subs, "fresh-dddd4444", 0.99, ("pending", None, None))
    version(subs, "broken-eeee5555", 0.75, ("error", None, None))
    version(subs, "unsent-ffff6666", 0.60)
    version(subs, "other-gggg7777", 0.99, ("complete", 0.99, 0.99), competition="another-competition")
    snapshot(subs, [0.95, 0.9, 0.9, 0.5])

    assert main(["compare", "--submissions-dir", str(subs)]) == 0

    out = capsys.readouterr().out
    assert out.splitlines()[0].split("  ")[0] == "version"
    assert rows(out) == [
        ["wide-bbbb2222", "wide", "1.23M", "10", "1h 02m", "-", "-", "0.8500", "0.90000", "0.89000", "2"],
        ["small-aaaa1111", "small", "1.23M", "10", "1h 02m", "-", "-", "0.8000", "0.90000", "0.88000", "2"],
        ["deep-cccc3333", "deep", "1.23M", "10", "1h 02m", "-", "-", "0.7000", "0.60000", "0.61000", "4"],
        ["fresh-dddd4444", "fresh", "1.23M", "10", "1h 02m", "-", "-", "0.9900", "pending", "-", "n/a"],
        ["broken-eeee5555", "broken", "1.23M", "10", "1h 02m", "-", "-", "0.7500", "error", "-", "n/a"],
        ["unsent-ffff6666", "unsent", "1.23M", "10", "1h 02m", "-", "-", "0.6000", "not submitted", "-", "n/a"],
    ]


def test_leaderboard_md_and_compare_png_are_written(tmp_path, offline, capsys):
    subs = tmp_path / "submissions"
    version(subs, "small-aaaa1111", 0.80, ("complete", 0.81, 0.79))
    version(subs, "wide-bbbb2222", 0.85, ("complete", 0.86, 0.84))
    snapshot(subs, [0.9, 0.85])

    assert main(["compare", "--submissions-dir", str(subs)]) == 0

    lines = (subs / "leaderboard.md").read_text().splitlines()
    assert re.fullmatch(rf"# {SLUG}: kagglekit versions, \d{{4}}-\d\d-\d\d \d\d:\d\d", lines[0])
    assert "fetched 2024-05-02T09:00:00+0000 (2 teams)" in lines[2]
    assert (
        lines[4]
        == "| version | model | parameters | epochs | train time | trained on | data | val accuracy | public | private | rank |"
    )
    assert lines[6:] == [
        "| wide-bbbb2222 | wide | 1.23M | 10 | 1h 02m | - | - | 0.8500 | 0.86000 | 0.84000 | 2 |",
        "| small-aaaa1111 | small | 1.23M | 10 | 1h 02m | - | - | 0.8000 | 0.81000 | 0.79000 | 3 |",
    ]
    assert (subs / "compare.png").read_bytes()[:8] == PNG_MAGIC
    assert f"wrote {subs / 'leaderboard.md'}; {subs / 'compare.png'}" in capsys.readouterr().out


def test_without_public_scores_the_plot_waits_and_says_why(tmp_path, offline, capsys):
    subs = tmp_path / "submissions"
    version(subs, "small-aaaa1111", 0.80, ("pending", None, None))
    version(subs, "ensemble-12345678", None, parameters=None, epochs=None, training_seconds=None)

    assert main(["compare", "--submissions-dir", str(subs)]) == 0

    out = capsys.readouterr().out
    assert rows(out)[1] == ["ensemble-12345678", "ensemble", "-", "-", "-", "-", "-", "-", "not submitted", "-", "n/a"]
    assert "no compare.png yet" in out and "kagglekit scores" in out
    assert not (subs / "compare.png").exists()
    assert "no leaderboard snapshot yet" in (subs / "leaderboard.md").read_text()


def test_no_predictions_is_one_clear_line(tmp_path, offline, capsys):
    assert main(["compare", "--submissions-dir", str(tmp_path / "submissions")]) == 1
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "no predicted versions of cifar-10" in err and "kagglekit predict" in err


@pytest.mark.parametrize(
    "public, board, truncated, expected",
    [
        (0.9, [0.95, 0.9, 0.9, 0.5], False, "2"),  # ties share the better place
        (0.99, [0.95, 0.9], False, "1"),
        (0.1, [0.95, 0.9], False, "3"),
        (0.1, [0.95, 0.9], True, ">2"),  # below the saved top of a longer board: place unknown
        (None, [0.95], False, "n/a"),
    ],
)
def test_rank_is_the_place_the_public_score_takes(public, board, truncated, expected):
    saved = {"scores": [{"team": "t", "score": s} for s in board], "truncated": truncated}
    assert leaderboard_rank(public, saved) == expected


def test_a_snapshot_of_another_competition_is_not_used(tmp_path, offline, capsys):
    subs = tmp_path / "submissions"
    version(subs, "small-aaaa1111", 0.80, ("complete", 0.81, 0.79))
    snapshot(subs, [0.9], competition="another-competition")

    assert main(["compare", "--submissions-dir", str(subs)]) == 0
    assert rows(capsys.readouterr().out)[0][-1] == "n/a"


def test_the_data_column_tells_runs_on_different_data_apart(tmp_path, offline, capsys):
    subs = tmp_path / "submissions"
    version(subs, "small-aaaa1111", 0.80, data_fingerprint="0123456789abcdef" * 4)
    version(subs, "small-bbbb2222", 0.81)  # predicted before predict recorded a fingerprint

    assert main(["compare", "--submissions-dir", str(subs)]) == 0

    assert [row[6] for row in rows(capsys.readouterr().out)] == ["-", "01234567"]


@pytest.mark.parametrize(
    "public, board, expected",
    [
        (0.2, [0.1, 0.25, 0.5], "2"),  # one team lower (better), two higher
        (0.05, [0.1, 0.25], "1"),
        (0.25, [0.1, 0.25, 0.25], "2"),  # ties share the better place
    ],
)
def test_for_a_loss_a_better_team_has_a_lower_score(public, board, expected):
    saved = {"scores": [{"team": "t", "score": s} for s in board], "truncated": False}
    assert leaderboard_rank(public, saved, higher_is_better=False) == expected


def test_a_log_loss_competition_ranks_lowest_first_in_its_own_units(tmp_path, offline, capsys, monkeypatch):
    slug = "dogs-vs-cats-redux-kernels-edition"
    monkeypatch.chdir(tmp_path)
    write_spec(tmp_path, slug, dogs_vs_cats())
    subs = tmp_path / "submissions"
    loss = {"competition": slug, "metric": "binary-log-loss"}
    version(subs, "worse-aaaa1111", 0.97, ("complete", 0.31, 0.30), **loss, val_score=0.29)
    version(subs, "better-bbbb2222", 0.95, ("complete", 0.20, 0.22), **loss, val_score=0.19)
    version(subs, "unsent-cccc3333", 0.99, **loss, val_score=0.15)  # no public score: after every scored one
    version(subs, "unsent-dddd4444", 0.99, **loss, val_score=0.40)
    snapshot(subs, [0.1, 0.25, 0.5], competition=slug)

    assert main(["compare", "--competition", slug, "--submissions-dir", str(subs)]) == 0

    out = capsys.readouterr().out
    assert out.splitlines()[0].split()[-5:] == ["log", "loss", "public", "private", "rank"]  # "val log loss"
    assert [(row[0], row[7], row[8], row[-1]) for row in rows(out)] == [
        ("better-bbbb2222", "0.1900", "0.20000", "2"),
        ("worse-aaaa1111", "0.2900", "0.31000", "3"),
        ("unsent-cccc3333", "0.1500", "not submitted", "n/a"),
        ("unsent-dddd4444", "0.4000", "not submitted", "n/a"),
    ]
    markdown = (subs / "leaderboard.md").read_text()
    assert "| val log loss | public |" in markdown and "Scores are log loss (lower is better)" in markdown
    assert (subs / "compare.png").read_bytes()[:8] == PNG_MAGIC


def test_the_validation_column_is_the_score_predict_measured_else_plain_accuracy(tmp_path, offline, capsys):
    subs = tmp_path / "submissions"
    version(subs, "tta-aaaa1111", 0.9344, ("complete", 0.944, 0.943), metric="accuracy", val_score=0.9421)
    version(subs, "old-bbbb2222", 0.9, ("complete", 0.91, 0.90))  # predicted before val_score was recorded
    version(subs, "final-cccc3333", None, metric="accuracy", val_score=None)  # an all-data run: no split

    assert main(["compare", "--submissions-dir", str(subs)]) == 0

    assert [(row[0], row[7]) for row in rows(capsys.readouterr().out)] == [
        ("tta-aaaa1111", "0.9421"),
        ("old-bbbb2222", "0.9000"),
        ("final-cccc3333", "-"),
    ]
