"""``python -m kagglekit STAGE``: one sub-command per module in ``kagglekit.commands``.

Each command module exposes ``HELP`` (one line), ``DESCRIPTION`` (what it does
and what it writes where), ``configure(parser)`` and ``run(args)``. Modules keep
their top level free of TensorFlow so that ``--help`` and the data stages start
instantly; heavy imports happen inside ``run``.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import NoReturn, Sequence

from kagglekit.arguments import competition_slug, non_negative_float, positive_float, tta_budget
from kagglekit.exceptions import KagglekitError, MissingPackageError, UsageError, first_line
from kagglekit.paths import DEFAULT_COMPETITION, default_data_dir, default_runs_dir, default_submissions_dir
from kagglekit.training import backend
from kagglekit.training.tf_noise import filtered_stderr

# Order is the pipeline's order; it is also the order `--help` lists them in.
COMMANDS = (
    "fetch",
    "unpack",
    "folders",
    "models",
    "train",
    "evaluate",
    "predict",
    "ensemble",
    "remote",
    "submit",
    "submit-code",
    "scores",
    "compare",
    "chain",
    "demo",
    "competitions",
)
# The commands that import TensorFlow, and so print its C++ start-up chatter.
TENSORFLOW_COMMANDS = frozenset({"train", "evaluate", "predict", "chain", "demo"})
# The commands that run Keras themselves (chain and demo run them as stages), and so need a backend.
KERAS_COMMANDS = frozenset({"train", "evaluate", "predict"})
# Set to anything but "" or "0": an unexpected exception shows its traceback instead of the one-line report.
DEBUG_ENV = "KAGGLEKIT_DEBUG"
# OS errors that are the machine's state, not a bug: said in one line with the file and what to do.
ENVIRONMENT_ERRNOS = {
    errno.ENOSPC: "free some disk space and rerun",
    errno.EDQUOT: "free some disk space (quota) and rerun",
    errno.EACCES: "fix its permissions or choose another directory",
    errno.EPERM: "fix its permissions or choose another directory",
    errno.EROFS: "it is on a read-only file system; choose another directory",
    errno.ENOTDIR: "a file is where a directory should be: move it or choose another directory",
    errno.EISDIR: "a directory is where a file should be: move it or choose another directory",
    errno.EEXIST: "a file is where a directory should be: move it or choose another directory",
}


class CommandLineError(UsageError):
    """A command line argparse refused, reported as one line under the (sub)command it belongs to."""

    def __init__(self, prog: str, message: str) -> None:
        super().__init__(f"{message} (see {prog} --help)")
        self.prog = prog


class OneLineParser(argparse.ArgumentParser):
    """argparse prints its whole usage block on an error; one line that names the argument is easier to act on."""

    def error(self, message: str) -> NoReturn:
        raise CommandLineError(self.prog, message)


def add_competition_arguments(parser: argparse.ArgumentParser) -> None:
    """The two flags every stage shares."""
    parser.add_argument(
        "--competition",
        type=competition_slug,
        default=DEFAULT_COMPETITION,
        metavar="SLUG",
        help=f"Kaggle competition slug (default: {DEFAULT_COMPETITION})",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=default_data_dir(),
        metavar="DIR",
        help=f"where competition data lives, one folder per slug (default: {_shown(default_data_dir())})",
    )


def add_runs_dir_argument(parser: argparse.ArgumentParser, purpose: str) -> None:
    """--runs-dir; in a Kaggle notebook it defaults to the kept output, /kaggle/working/runs."""
    parser.add_argument(
        "--runs-dir",
        type=Path,
        default=default_runs_dir(),
        metavar="DIR",
        help=f"{purpose} (default: {_shown(default_runs_dir())})",
    )


def add_precision_argument(parser: argparse.ArgumentParser) -> None:
    """--precision (``kagglekit.training.precision`` imports no Keras, so --help stays instant)."""
    from kagglekit.training.precision import CHOICES

    parser.add_argument(
        "--precision",
        choices=CHOICES,
        default="auto",
        help="compute precision: auto = bfloat16 on CPUs with AVX512_BF16 or AMX, float32 on other "
        "CPUs, float16 on GPUs with tensor cores, bfloat16 on TPUs (default: auto)",
    )


def add_tta_budget_argument(parser: argparse.ArgumentParser) -> None:
    """--tta-budget: the share of the images that get TTA's extra views, so that the cost is known beforehand."""
    from kagglekit.training.runs import DEFAULT_TTA_BUDGET

    parser.add_argument(
        "--tta-budget",
        type=tta_budget,
        default=DEFAULT_TTA_BUDGET,
        metavar="SHARE",
        help="the share of the images (0-1, or 'all') that get the TTA views after the first, the least "
        "confident first: 0 = the plain view alone, all = every view on every image; fixed before "
        f"prediction starts, whatever the images hold (default: {DEFAULT_TTA_BUDGET}, what the 0.6 "
        "confidence threshold measured on fast's validation split spent; issue 21 will measure its own curve)",
    )


def add_kernel_arguments(parser: argparse.ArgumentParser, runs: str, waits_for: str, records: str) -> None:
    """What every command that pushes a Kaggle kernel and waits for it takes: the accelerator, the wait and the
    folders, each worded by the caller (``runs``: what the kernel is for, ``waits_for``, ``records``)."""
    from kagglekit.paths import DEFAULT_REMOTE_DIR
    from kagglekit.remote.accelerators import ACCELERATORS

    parser.add_argument(
        "--accelerator",
        choices=sorted(ACCELERATORS),
        default="t4x2",
        help=f"what {runs} runs on: t4x2 = two T4 GPUs, p100 = one P100, tpu = TPU v5e-8, cpu = none (default: t4x2)",
    )
    parser.add_argument(
        "--wait",
        type=non_negative_float,
        default=6 * 3600,
        metavar="SECONDS",
        help=f"how long to wait for {waits_for} (default: 21600 = 6 h)",
    )
    parser.add_argument(
        "--interval", type=positive_float, default=30.0, metavar="SECONDS", help="seconds between polls (default: 30)"
    )
    parser.add_argument("--push-again", action="store_true", help="push a new kernel version even if one was pushed")
    add_runs_dir_argument(parser, "where runs live")
    add_submissions_dir_argument(parser, "where submission folders are")
    parser.add_argument(
        "--remote-dir",
        type=Path,
        default=DEFAULT_REMOTE_DIR,
        metavar="DIR",
        help=f"{records} (default: {DEFAULT_REMOTE_DIR}/)",
    )


def add_submissions_dir_argument(parser: argparse.ArgumentParser, purpose: str) -> None:
    """--submissions-dir; in a Kaggle notebook it defaults to /kaggle/working/submissions."""
    parser.add_argument(
        "--submissions-dir",
        type=Path,
        default=default_submissions_dir(),
        metavar="DIR",
        help=f"{purpose} (default: {_shown(default_submissions_dir())})",
    )


def _shown(directory: Path) -> str:
    return f"{directory}/" + ("" if directory.is_absolute() else ", or under /kaggle/ in a Kaggle notebook")


def _command_modules() -> dict[str, object]:
    return {name: importlib.import_module(f"kagglekit.commands.{name.replace('-', '_')}") for name in COMMANDS}


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="kagglekit",
        description="From a Kaggle image competition to a scored submission.",
    )
    parser.add_argument(
        "--debug",
        action="store_true",
        help=f"show the traceback of an unexpected error instead of a one-line report (or set {DEBUG_ENV}=1)",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="STAGE", required=True)
    for name, module in _command_modules().items():
        sub = subparsers.add_parser(
            name,
            help=module.HELP,
            description=module.DESCRIPTION,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.configure(sub)
        # also after the stage's name; SUPPRESS keeps `kagglekit --debug STAGE` from being reset to False
        sub.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
        sub.set_defaults(handler=module.run)
    return parser


def parse_arguments(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse, and name the stage when refusing an argument it does not know (argparse blames `kagglekit`)."""
    args, unknown = build_parser().parse_known_args(argv)
    if unknown:
        raise CommandLineError(f"kagglekit {args.command}", f"unrecognized arguments: {' '.join(unknown)}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = parse_arguments(argv)
    except CommandLineError as error:
        print(f"{error.prog}: error: {error}", file=sys.stderr)
        return error.exit_code
    try:
        return _run(args)
    except KagglekitError as error:
        print(f"kagglekit {args.command}: error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print(f"kagglekit {args.command}: interrupted; rerun the same command to resume.", file=sys.stderr)
        return 130
    except (
        BrokenPipeError
    ):  # a broken connection to Kaggle is a NetworkError by now: this is stdout's reader gone (`| head`)
        _silence_stdout()
        return 128 + 13  # as if killed by SIGPIPE, like any other program in a pipe
    except Exception as error:
        if args.debug or _debug_from_environment():
            raise
        print(f"kagglekit {args.command}: {_unexpected(error, args.command, argv)}", file=sys.stderr)
        return 1


def _run(args: argparse.Namespace) -> int:
    if args.command in KERAS_COMMANDS:
        problem = backend.missing()
        if problem:
            raise MissingPackageError(problem)
    if args.command not in TENSORFLOW_COMMANDS:
        return int(args.handler(args) or 0)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow is imported; the user's own value wins
    with filtered_stderr():
        return int(args.handler(args) or 0)


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so that flushing it at exit does not fail a second time."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError):  # a stdout without a file descriptor (captured): nothing is flushed at exit
        pass


def _debug_from_environment() -> bool:
    return os.environ.get(DEBUG_ENV, "") not in ("", "0")


def _unexpected(error: Exception, command: str, argv: Sequence[str] | None) -> str:
    """One line for an exception no stage expected: the machine's fault when the OS says so, else our bug."""
    if isinstance(error, OSError) and error.errno in ENVIRONMENT_ERRNOS:
        where = f"{error.filename}: " if error.filename else ""
        return f"error: {where}{error.strerror}; {ENVIRONMENT_ERRNOS[error.errno]}."
    described = type(error).__name__ + (f": {first_line(error)}" if str(error).strip() else "")
    try:
        saved = f"full traceback in {write_traceback(error, command, argv)}"
        attach = "that file"
    except OSError as reason:
        saved = f"the traceback could not be saved ({reason})"
        attach = "what the same command prints with --debug"
    return f"internal error: {described}; {saved}; this is a bug in kagglekit, please report it with {attach}"


def write_traceback(error: BaseException, command: str, argv: Sequence[str] | None) -> Path:
    """The traceback the one-line report leaves out, in a file named for the stage, time and process."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = Path(tempfile.gettempdir()) / f"kagglekit-{command}-{stamp}-{os.getpid()}.traceback"
    command_line = list(sys.argv[1:] if argv is None else argv)
    lines = [
        f"kagglekit {command}: internal error at {time.strftime('%Y-%m-%dT%H:%M:%S')}",
        f"command line: kagglekit {' '.join(command_line)}",
        f"python {sys.version.split()[0]} on {sys.platform}",
        "",
        *traceback.format_exception(error),
    ]
    path.write_text("\n".join(line.rstrip("\n") for line in lines) + "\n")
    return path
