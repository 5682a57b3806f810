"""The TTA budget's curve: accuracy and minutes against budget, on the validation split and on a junk stand-in.

    .venv/bin/python bench/budget_curve.py RUN [--budgets 0 0.05 0.1 0.16 0.25 0.5 1]
                                           [--standin bench/out/junk-standin-300000] [--precision auto]

RUN is a finished run with a TTA recipe (e.g. `fast`), trained on kagglekit's
split of the real training set. Budget 0 (the plain view alone) is always
measured, first, and every other row is set against it, in the same process.

Part 1, the run's validation split (the data directory in its config.json),
through ``kagglekit.training.evaluate.score_validation``, the code `evaluate`
and predict's ``val_score`` run: the images the budget gave the extra views,
views per image, accuracy, and seconds (model loaded and compiled outside the
clock); the last column scales them to Kaggle's 300,000 test images.

Part 2, with ``--standin`` (a folder bench/junk_standin.py built): its test.7z
is unpacked once by kagglekit's own unpack, then `predict` itself
(``predict_submission``, no validation split, ``--force``) runs at each budget;
its CSV is scored on the stand-in's real ids (solution.csv) as Kaggle scores
its 10,000. ``real given views`` is how many real images were among those the
budget reached, ranked by the budget-0 prediction's stored (float16) top
probabilities, so ties at the cut-off may move it by one or two. The minutes
are predict's own wall time at the stand-in's size.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from kagglekit.data.unpack import unpack_split  # noqa: E402
from kagglekit.paths import CompetitionPaths  # noqa: E402
from kagglekit.standin.scoring import IGNORED  # noqa: E402
from kagglekit.submissions.formats import competition_spec  # noqa: E402
from kagglekit.training.evaluate import score_validation, validation_split  # noqa: E402
from kagglekit.training.precision import cpu_flags, cpu_model  # noqa: E402
from kagglekit.training.predict import predict_submission  # noqa: E402
from kagglekit.training.runs import budgeted_images, load_run  # noqa: E402

KAGGLE_TEST_IMAGES = 300_000
DEFAULT_BUDGETS = [0, 0.05, 0.1, 0.16, 0.25, 0.5, 1.0]


def validation_curve(run_dir: Path, budgets: list[float], precision: str) -> None:
    run = load_run(run_dir, precision)
    paths, data = validation_split(run, CompetitionPaths(Path(run.config["data"]["root"]).parent))
    spec = competition_spec(paths)
    run.predict_proba(data.x_valid[:600], run.tta)  # load and compile (a whole batch and a part one) off the clock
    print(f"\nvalidation split: {len(data.x_valid):,} images, {run.tta} TTA, {run.compute_precision().policy}\n")
    print("| budget | images given views | views per image | accuracy | vs budget 0 | seconds | min for 300,000 |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    base = None
    for budget in budgets:
        start = time.perf_counter()
        measured = score_validation(run, spec, data, run.tta, budget)
        seconds = time.perf_counter() - start
        base = measured.accuracy if base is None else base
        print(
            f"| {budget:g} | {measured.spend.images:,} | {measured.spend.views / measured.images:.2f} | "
            f"{measured.accuracy:.4f} | {measured.accuracy - base:+.4f} | {seconds:.1f} | "
            f"{seconds * KAGGLE_TEST_IMAGES / measured.images / 60:.1f} |",
            flush=True,
        )


def standin_paths(standin: Path, scratch: Path) -> CompetitionPaths:
    """A cifar-10 data directory holding the stand-in's test.7z and sample, its test split unpacked by kagglekit."""
    paths = CompetitionPaths(scratch / "data")
    paths.raw.mkdir(parents=True, exist_ok=True)
    for name in ("test.7z", "sampleSubmission.csv"):
        if not (paths.raw / name).exists():
            (paths.raw / name).symlink_to((standin / name).resolve())
    unpack_split(paths, "test", False, progress=False)
    return paths


def standin_curve(run_dir: Path, standin: Path, budgets: list[float], precision: str) -> None:
    scratch = Path(__file__).parent / "out" / "budget-curve" / standin.name
    paths = standin_paths(standin, scratch)
    solution = pd.read_csv(standin / "solution.csv", dtype=str, keep_default_na=False)
    if "Usage" in solution:  # the ids Kaggle would not score are not counted here either
        solution = solution[solution["Usage"] != IGNORED]
    kinds = pd.read_csv(standin / "kinds.csv", dtype=str)
    n = len(kinds)
    print(f"\njunk stand-in {standin}: {n:,} test images, {len(solution):,} real (scored)\n")
    print(
        "| budget | images given views | real given views | views per image | accuracy on real ids | vs budget 0 | min |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|")
    base, ranking = None, None
    for budget in budgets:
        summary = predict_submission(
            run_dir,
            paths,
            scratch / f"submissions-{budget:g}",
            progress=False,
            force=True,
            precision=precision,
            budget=budget,
            validate=False,
        )
        submission = pd.read_csv(summary.csv, dtype=str).set_index("id")["label"]
        accuracy = float((submission.loc[solution["id"]].to_numpy() == solution["label"].to_numpy()).mean())
        if ranking is None:  # budget 0: the plain view's confidence, in the sample's id order
            confidence = np.load(summary.csv.parent / "probabilities.npy").astype(np.float32).max(axis=1)
            ranking = np.argsort(confidence, kind="stable")
        reached = ranking[: budgeted_images(n, budget)] if summary.spend.images else ranking[:0]
        real = int((kinds["kind"].to_numpy()[reached] == "real").sum())
        base = accuracy if base is None else base
        print(
            f"| {budget:g} | {summary.spend.images:,} | {real:,} | {summary.spend.views / n:.2f} | "
            f"{accuracy:.4f} | {accuracy - base:+.4f} | {summary.seconds / 60:.1f} |",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", type=Path, help="a finished run directory with a TTA recipe (e.g. fast)")
    parser.add_argument("--budgets", type=float, nargs="+", default=DEFAULT_BUDGETS, help="shares of the images")
    parser.add_argument("--standin", type=Path, default=None, help="a folder bench/junk_standin.py built")
    parser.add_argument("--precision", default="auto", help="as predict --precision")
    args = parser.parse_args()
    if any(not 0 <= b <= 1 for b in args.budgets):
        parser.error("each budget is a share of the images, from 0 to 1")
    budgets = sorted({0.0, *args.budgets})
    if args.standin is not None and not (args.standin / "solution.csv").is_file():
        parser.error(f"{args.standin} has no solution.csv: build it with bench/junk_standin.py")
    print(f"CPU: {cpu_model()} | {' '.join(sorted(cpu_flags())) or 'no AVX-512/AMX'} | {os.cpu_count()} cores")
    print(f"run: {args.run}")
    validation_curve(args.run, budgets, args.precision)
    if args.standin is not None:
        standin_curve(args.run, args.standin, budgets, args.precision)


if __name__ == "__main__":
    main()
