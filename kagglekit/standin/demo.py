"""demo: the whole pipeline, fetch to compare, with no account and no network.

A small competition in one spec's exact format (cifar-10's by default) is
generated, served by the package's local Kaggle API server on 127.0.0.1, and
every stage then runs through the same CLI and the same official ``kaggle``
client that a real `make submit` uses. Only the server is ours.
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Iterator

from kagglekit.chain import Chain, run_chain, stages
from kagglekit.markers import fingerprint, is_complete, mark_complete
from kagglekit.training.recipes import RecipeChoice

DEFAULT_DIR = Path("demo")


@dataclass(frozen=True)
class DemoConfig:
    directory: Path = DEFAULT_DIR
    competition: str = "cifar-10"
    model: str = "seed-cifar10-modeling"
    epochs: int = 3
    train_images: int = 5000
    test_images: int = 2000
    seed: int = 0
    where: str = "local"  # "kaggle": train and predict in a kernel pushed to the local server


def make_demo_competition(config: DemoConfig) -> Path:
    """Generate the competition once; a rerun reuses it (and so skips every finished stage)."""
    from kagglekit.competitions import get_spec
    from kagglekit.standin.synthetic import make_from_spec

    target = config.directory / "competition"
    stamp = fingerprint(
        [], competition=config.competition, train=config.train_images, test=config.test_images, seed=config.seed
    )
    if not is_complete(target, stamp):
        make_from_spec(get_spec(config.competition), target, config.train_images, config.test_images, config.seed)
        mark_complete(target, stamp)
    return target


def demo_chain(config: DemoConfig) -> Chain:
    """`make submit`'s chain (kagglekit.chain), pointed at the demo's folders, polling the local server quickly."""
    recipe = RecipeChoice(config.model, {"epochs": config.epochs, "seed": config.seed}).flags()
    remote = [
        "--accelerator",
        "cpu",
        "--remote-dir",
        str(config.directory / "remote"),
        "--interval",
        "1",
        "--wait",
        "1200",
    ]
    return Chain(
        ["--competition", config.competition, "--data-dir", str(config.directory / "data")],
        recipe,
        config.directory / "runs",
        config.directory / "submissions",
        remote=remote,
        scores=["--interval", "1", "--timeout", "60"],
    )


def run_demo(config: DemoConfig, run_stage: Callable[[list[str]], int]) -> int:
    """Serve the generated competition and run each stage; stop at the first failure."""
    from kagglekit.standin.server import KaggleServer, kaggle_env

    competition = make_demo_competition(config)
    with KaggleServer(accept_any_credentials=True) as server, kaggle_env(server):
        server.add_competition(config.competition, competition, competition / "solution.csv", pending_polls=1)
        print(
            f"demo: a generated {config.competition} ({config.train_images:,} train / {config.test_images:,} test images) "
            f"served by the local Kaggle API at {server.proxy_url}"
        )
        started = time.perf_counter()
        code = run_chain(demo_chain(config), stages(config.where, "compare"), run_stage)
        if code:
            return code
    print(
        f"\ndemo: done in {time.perf_counter() - started:.0f} s. Everything it made is under {config.directory}/; "
        f"`{make_command(config)}` does the same against Kaggle."
    )
    return 0


def make_command(config: DemoConfig) -> str:
    """The make command the demo stood in for."""
    where = " WHERE=kaggle" if config.where == "kaggle" else ""
    competition = f" COMPETITION={config.competition}" if config.competition != DemoConfig.competition else ""
    return f"make submit{competition}{where}"


def default_directory(competition: str, where: str) -> Path:
    """demo/ for cifar-10, demo/<slug>/ for another competition; kaggle/ below it for a kernel's run."""
    base = DEFAULT_DIR if competition == DemoConfig.competition else DEFAULT_DIR / competition
    return base / "kaggle" if where == "kaggle" else base


# -- the generated code competition ----------------------------------------------------------------------

CODE_DIR = DEFAULT_DIR / "code"


def code_demo_config(directory: Path = CODE_DIR) -> DemoConfig:
    """Small: two epochs on 1,000 images here (far above chance), then the offline kernel predicts on the server."""
    from kagglekit.standin.synthetic import CODE_DEMO_SLUG

    return DemoConfig(Path(directory), CODE_DEMO_SLUG, epochs=2, train_images=1000, test_images=200, where="kaggle")


def run_code_demo(config: DemoConfig, run_stage: Callable[[list[str]], int]) -> int:
    """`make submit WHERE=kaggle` on a generated code competition: train and predict here, upload the wheels and
    the run as datasets, run the offline kernel on the server, submit its version, score, compare."""
    from kagglekit.competitions import get_spec
    from kagglekit.standin.server import KaggleServer, kaggle_env
    from kagglekit.standin.synthetic import write_code_spec

    config = replace(config, directory=config.directory.resolve())
    with working_directory(config.directory):  # its spec is in ./competitions/, where a user's own would be
        write_code_spec(Path("competitions"))
        competition = make_demo_competition(config)
        with KaggleServer(accept_any_credentials=True) as server, kaggle_env(server):
            spec = get_spec(config.competition)
            server.add_competition(
                config.competition,
                competition,
                competition / "solution.csv",
                pending_polls=1,
                kernels_only=True,
                spec=spec,
            )
            print(f"demo: a generated code competition {config.competition} served at {server.proxy_url}")
            code = run_chain(demo_chain(config), stages("kaggle", "compare", spec.kind, config.competition), run_stage)
    if not code:
        print(f"\ndemo: the code competition is done; everything it made is under {config.directory}/")
    return code


@contextlib.contextmanager
def working_directory(directory: Path) -> Iterator[None]:
    directory.mkdir(parents=True, exist_ok=True)
    before = Path.cwd()
    os.chdir(directory)
    try:
        yield
    finally:
        os.chdir(before)
