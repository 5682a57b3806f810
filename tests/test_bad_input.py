"""Bad command lines and unexpected errors, as a user meets them: one line, a non-zero exit, nothing left behind.

Every argument is checked where argparse parses it, so a bad one stops the
stage before it creates anything. An exception no stage expected is one line
too (exit 1), naming the file that holds its traceback; --debug and
KAGGLEKIT_DEBUG show the traceback instead.
"""

from __future__ import annotations

import errno
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from kagglekit import cli
from kagglekit.cli import DEBUG_ENV, main
from kagglekit.training import models

ROOT = Path(__file__).resolve().parents[1]
CORES = os.cpu_count() or 1

# stage and its arguments, then the argument named in the error and what it must say it wants
BAD_ARGUMENTS = [
    (["folders", "--seed", "-1"], "--seed", "'-1' must be 0 or more"),
    (["folders", "--seed", "ten"], "--seed", "'ten' is not a whole number"),
    (["folders", "--valid-fraction", "1"], "--valid-fraction", "'1' must be more than 0 and less than 1"),
    (["folders", "--valid-fraction", "0"], "--valid-fraction", "'0' must be more than 0 and less than 1"),
    (["folders", "--valid-fraction", "nan"], "--valid-fraction", "'nan' is not a finite number"),
    (["predict", "--batch-size", "0"], "--batch-size", "'0' must be 1 or more"),
    (["predict", "--tta-budget", "-1"], "--tta-budget", "'-1' must be a share of the images from 0 to 1, or 'all'"),
    (["predict", "--tta-budget", "nan"], "--tta-budget", "'nan' must be a share of the images from 0 to 1, or 'all'"),
    (["predict", "--tta-budget", "2"], "--tta-budget", "'2' must be a share of the images from 0 to 1, or 'all'"),
    (["predict", "--tta-budget", "x"], "--tta-budget", "'x' is not a share of the images (0 to 1) or 'all'"),
    (["predict", "--tta", "mirror"], "--tta", "invalid choice: 'mirror'"),
    (["predict", "--precision", "float8"], "--precision", "invalid choice: 'float8'"),
    (
        ["evaluate", "--tta-budget", "inf", "seed-cifar10-modeling"],
        "--tta-budget",
        "'inf' must be a share of the images from 0 to 1, or 'all'",
    ),
    (["unpack", "--workers", "-1"], "--workers", "'-1' must be 0 or more"),
    (["unpack", "--workers", str(CORES + 1)], "--workers", f"'{CORES + 1}' is more than the {CORES} cores here"),
    (["unpack", "--max-unpacked-gib", "0"], "--max-unpacked-gib", "'0' must be more than 0"),
    (["unpack", "--max-unpacked-gib", "inf"], "--max-unpacked-gib", "'inf' is not a finite number"),
    (["scores", "--timeout", "-1"], "--timeout", "'-1' must be 0 or more"),
    (["scores", "--interval", "nan"], "--interval", "'nan' is not a finite number"),
    (["demo", "--epochs", "0"], "--epochs", "'0' must be 1 or more"),
    (["demo", "--train-images", "10"], "--train-images", "'10' must be 100 or more"),
    (["demo", "--test-images", "0"], "--test-images", "'0' must be 1 or more"),
    (["fetch", "--competition", "../cifar-10"], "--competition", "'../cifar-10' is not a competition slug"),
    (["fetch", "--competition", ""], "--competition", "'' is not a competition slug"),
    (["train", "--model", "fast", "--competition", "a/b"], "--competition", "'a/b' is not a competition slug"),
]
# the folders each stage could write, given on its command line so that the test can see they stay absent
WHERE = {
    "fetch": ["--data-dir"],
    "unpack": ["--data-dir"],
    "folders": ["--data-dir"],
    "train": ["--data-dir", "--runs-dir"],
    "evaluate": ["--data-dir", "--runs-dir"],
    "predict": ["--data-dir", "--runs-dir", "--submissions-dir"],
    "scores": ["--data-dir", "--submissions-dir"],
    "demo": ["--dir"],
}


def with_folders(argv: list[str], tmp_path: Path) -> list[str]:
    return [*argv, *(part for flag in WHERE[argv[0]] for part in (flag, str(tmp_path / flag.strip("-"))))]


@pytest.fixture(autouse=True)
def tracebacks_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Traceback files go to this test's own folder; no debug setting leaks in from the developer's shell."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    monkeypatch.delenv(DEBUG_ENV, raising=False)
    return folder


def only_line(err: str) -> str:
    assert err.count("\n") == 1 and err.endswith("\n"), err
    return err.rstrip("\n")


def created(tmp_path: Path) -> list[str]:
    """What is in the test's folder besides the traceback folder."""
    return sorted(
        str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.relative_to(tmp_path).parts[0] != "tmp"
    )


@pytest.mark.parametrize(
    ("argv", "argument", "wanted"), BAD_ARGUMENTS, ids=[" ".join(case[0]) for case in BAD_ARGUMENTS]
)
def test_a_bad_argument_is_one_line_exit_2_and_creates_nothing(
    argv: list[str],
    argument: str,
    wanted: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture,
) -> None:
    assert main(with_folders(argv, tmp_path)) == 2
    captured = capsys.readouterr()
    line = only_line(captured.err)
    assert line.startswith(f"kagglekit {argv[0]}: error: argument {argument}: {wanted}"), line
    assert line.endswith(f"(see kagglekit {argv[0]} --help)")
    assert captured.out == "" and created(tmp_path) == []


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ([], "kagglekit: error: the following arguments are required: STAGE (see kagglekit --help)"),
        (["trian"], "kagglekit: error: argument STAGE: invalid choice: 'trian'"),
        (
            ["folders", "--valid-fraktion", "0.2"],
            "kagglekit folders: error: unrecognized arguments: --valid-fraktion 0.2",
        ),
        (["evaluate"], "kagglekit evaluate: error: the following arguments are required: RUN"),
    ],
    ids=["no-stage", "misspelt-stage", "unknown-option", "missing-positional"],
)
def test_a_command_line_argparse_refuses_is_one_line_under_the_stage_it_names(
    argv: list[str],
    expected: str,
    capsys: pytest.CaptureFixture,
) -> None:
    assert main(argv) == 2
    assert only_line(capsys.readouterr().err).startswith(expected)


def test_an_unknown_demo_model_is_refused_before_the_demo_writes_anything(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    assert main(["demo", "--dir", str(tmp_path / "demo"), "--model", "no-such-model"]) == 2
    assert "kagglekit demo: error: unknown model 'no-such-model'" in only_line(capsys.readouterr().err)
    assert created(tmp_path) == []


def test_the_real_entry_point_exits_with_mains_code_and_one_line(tmp_path: Path) -> None:
    data = tmp_path / "data"
    done = subprocess.run(
        [sys.executable, "-m", "kagglekit", "folders", "--seed", "-1", "--data-dir", str(data)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2 and done.stdout == ""
    assert only_line(done.stderr) == (
        "kagglekit folders: error: argument --seed: '-1' must be 0 or more (see kagglekit folders --help)"
    )
    assert not data.exists()


def test_a_closed_stdout_ends_quietly_as_sigpipe_would(tmp_path: Path) -> None:
    """`kagglekit models --verbose | head -1` is not a bug: no traceback, no report, 141 like other programs."""
    child = subprocess.Popen(
        [sys.executable, "-m", "kagglekit", "models", "--verbose"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    child.stdout.close()  # before the child has started Python, let alone written
    _, err = child.communicate(timeout=120)
    assert (child.returncode, err) == (141, b"")


def raising(error: BaseException):
    def leaf(*args: object, **kwargs: object) -> None:
        raise error

    return leaf


def test_an_unexpected_exception_is_one_line_naming_its_traceback_file(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
    tracebacks_in_tmp: Path,
) -> None:
    monkeypatch.setattr(models, "version_id", raising(RuntimeError("the leaf broke\nwith a second line")))

    assert main(["models", "--verbose"]) == 1

    line = only_line(capsys.readouterr().err)
    match = re.fullmatch(
        r"kagglekit models: internal error: RuntimeError: the leaf broke; full traceback in (\S+); "
        r"this is a bug in kagglekit, please report it with that file",
        line,
    )
    assert match, line
    saved = Path(match.group(1))
    assert saved.parent == tracebacks_in_tmp
    assert re.fullmatch(rf"kagglekit-models-\d{{8}}-\d{{6}}-{os.getpid()}\.traceback", saved.name), saved.name
    text = saved.read_text()
    assert "command line: kagglekit models --verbose" in text
    assert "Traceback (most recent call last):" in text and "commands/models.py" in text
    assert "RuntimeError: the leaf broke\nwith a second line" in text


@pytest.mark.parametrize("how", ["--debug before the stage", "--debug after it", DEBUG_ENV])
def test_debug_shows_the_exception_itself(how: str, monkeypatch: pytest.MonkeyPatch, tracebacks_in_tmp: Path) -> None:
    monkeypatch.setattr(models, "version_id", raising(RuntimeError("the leaf broke")))
    argv = {
        "--debug before the stage": ["--debug", "models", "--verbose"],
        "--debug after it": ["models", "--verbose", "--debug"],
    }.get(how, ["models", "--verbose"])
    if how == DEBUG_ENV:
        monkeypatch.setenv(DEBUG_ENV, "1")
    with pytest.raises(RuntimeError, match="the leaf broke"):
        main(argv)
    assert list(tracebacks_in_tmp.iterdir()) == []


def test_debug_off_in_the_environment_means_off(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setattr(models, "version_id", raising(RuntimeError("the leaf broke")))
    monkeypatch.setenv(DEBUG_ENV, "0")
    assert main(["models", "--verbose"]) == 1
    assert "internal error: RuntimeError" in only_line(capsys.readouterr().err)


def test_a_traceback_that_cannot_be_saved_says_to_rerun_with_debug(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
) -> None:
    monkeypatch.setattr(models, "version_id", raising(KeyError("recipe")))
    monkeypatch.setattr(cli, "write_traceback", raising(OSError(errno.ENOSPC, "No space left on device")))
    assert main(["models", "--verbose"]) == 1
    line = only_line(capsys.readouterr().err)
    assert line.startswith("kagglekit models: internal error: KeyError: 'recipe'; the traceback could not be saved (")
    assert line.endswith(
        "; this is a bug in kagglekit, please report it with what the same command prints with --debug"
    )


def test_a_file_where_the_data_directory_should_be_is_the_users_to_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """A real mistake, not a stand-in: not "a bug in kagglekit", and no traceback file."""
    in_the_way = tmp_path / "data"
    in_the_way.write_text("not a directory")
    assert main(["fetch", "--data-dir", str(in_the_way)]) == 1
    line = only_line(capsys.readouterr().err)
    assert line == (
        f"kagglekit fetch: error: {in_the_way}/cifar-10/raw: Not a directory; "
        "a file is where a directory should be: move it or choose another directory."
    )
    assert created(tmp_path) == ["data"]


@pytest.mark.parametrize(
    ("code", "remedy"),
    [
        (errno.ENOSPC, "free some disk space and rerun"),
        (errno.EACCES, "fix its permissions or choose another directory"),
    ],
)
def test_a_full_disk_or_a_refused_write_is_the_machines_state_not_a_bug(
    code: int,
    remedy: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
    tracebacks_in_tmp: Path,
) -> None:
    monkeypatch.setattr(models, "version_id", raising(OSError(code, os.strerror(code), "runs/x/best.keras")))
    assert main(["models", "--verbose"]) == 1
    assert (
        only_line(capsys.readouterr().err)
        == f"kagglekit models: error: runs/x/best.keras: {os.strerror(code)}; {remedy}."
    )
    assert list(tracebacks_in_tmp.iterdir()) == []


BROKEN_PREDICT = """
import sys
import kagglekit.training.runs as runs
def resolve_run(*args, **kwargs):
    raise RuntimeError("the leaf broke")
runs.resolve_run = resolve_run
from kagglekit.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize("debug", [False, True], ids=["reported", "debug"])
def test_an_internal_error_in_a_tensorflow_stage_passes_the_stderr_filter_whole(
    debug: bool,
    tmp_path: Path,
    tracebacks_in_tmp: Path,
) -> None:
    """predict routes fd 2 through the TensorFlow-noise filter; the report (or the traceback) comes out after it, intact."""
    env = {key: value for key, value in os.environ.items() if key != DEBUG_ENV}
    env.update(PYTHONPATH=str(ROOT), TMPDIR=str(tracebacks_in_tmp), **({DEBUG_ENV: "1"} if debug else {}))
    done = subprocess.run(
        [sys.executable, "-c", BROKEN_PREDICT, "predict", "--data-dir", str(tmp_path / "data")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    if debug:
        assert "Traceback (most recent call last):" in done.stderr and done.stderr.endswith(
            "RuntimeError: the leaf broke\n"
        )
        assert list(tracebacks_in_tmp.iterdir()) == []
    else:
        report = only_line(done.stderr)
        assert report.startswith("kagglekit predict: internal error: RuntimeError: the leaf broke; full traceback in ")
        assert [p.name.split("-")[1] for p in tracebacks_in_tmp.iterdir()] == ["predict"]
    assert created(tmp_path) == []
