"""The stage chain, defined once: `make submit` (through `kagglekit chain`), `make demo` and the Kaggle kernel run it.

Each stage is still its own command (`python -m kagglekit STAGE`); the chain only says which stages run
in which order and which flags each gets. Every recipe-taking stage gets the same recipe flags, so the
run `train` trains or reuses is the run `predict` predicts and `submit` submits. Rerunning a chain skips
what is complete: each stage checks its own outputs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from kagglekit.exceptions import UsageError

# Where training happens decides the stages before submit: here, or in a Kaggle kernel (`remote`).
HERE = ("fetch", "unpack", "folders", "train", "predict")
ON_KAGGLE = ("remote",)
AFTER = ("submit", "scores", "compare")
WHERE = {"local": HERE, "kaggle": ON_KAGGLE}
RECIPE_STAGES = frozenset({"train", "predict", "remote", "submit"})


@dataclass(frozen=True)
class Chain:
    """The flags a chain's stages share; ``argv(stage)`` gives each stage its own command line."""

    competition: list[str]  # --competition SLUG --data-dir DIR
    recipe: list[str]  # RecipeChoice.flags(): --model NAME [--set KEY=JSON ...] [--all-data]
    runs_dir: Path
    submissions_dir: Path
    tta: str | None = None
    remote: list[str] = field(default_factory=list)  # remote's own flags: --accelerator, --remote-dir, --wait ...
    scores: list[str] = field(default_factory=list)  # scores' own flags: --timeout, --interval

    def argv(self, stage: str) -> list[str]:
        runs, subs = ["--runs-dir", str(self.runs_dir)], ["--submissions-dir", str(self.submissions_dir)]
        tta = ["--tta", self.tta] if self.tta else []
        own = {
            "fetch": [],
            "unpack": [],
            "folders": [],
            "train": [*self.recipe, *runs, "--reuse"],
            "predict": [*self.recipe, *runs, *subs, *tta],
            "remote": [*self.recipe, *runs, *subs, *tta, *self.remote],
            "submit": [*self.recipe, *subs, "--skip-if-submitted"],
            "scores": [*subs, *self.scores],
            "compare": [*subs],
        }
        return [stage, *self.competition, *own[stage]]


def stages(where: str, to: str) -> tuple[str, ...]:
    """The stages up to and including ``to``, training ``where`` (local or kaggle)."""
    chain = (*WHERE[where], *AFTER)
    if to not in chain:
        raise UsageError(f"a chain training {where} has no stage {to!r}; its stages: {', '.join(chain)}")
    return chain[: chain.index(to) + 1]


def needs_recipe(names: tuple[str, ...]) -> bool:
    """Whether any of these stages takes the recipe flags (fetch, unpack and folders do not)."""
    return bool(set(names) & RECIPE_STAGES)


def run_chain(chain: Chain, names: tuple[str, ...], run_stage: Callable[[list[str]], int]) -> int:
    """Each stage in order, as ``run_stage(argv)`` (the CLI's ``main``); stop at the first that fails."""
    for name in names:
        argv = chain.argv(name)
        print(f"\n== kagglekit {' '.join(argv)}", flush=True)
        code = run_stage(argv)
        if code:
            return code
    return 0
