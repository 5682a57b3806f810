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
# A code competition takes no CSV: a kernel version is submitted, so its chain always ends on Kaggle. It trains
# and predicts here (the local prediction checks the run and the format before a kernel is spent on it), then
# `submit-code` uploads the run and kagglekit's wheels, runs the offline inference kernel and submits its version.
CODE = (*HERE, "submit-code")
AFTER_CODE = ("scores", "compare")
RECIPE_STAGES = frozenset({"train", "predict", "remote", "submit", "submit-code"})


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
            "submit-code": [*self.recipe, *runs, *subs, *tta, *self.remote],
            "scores": [*subs, *self.scores],
            "compare": [*subs],
        }
        return [stage, *self.competition, *own[stage]]


def stages(where: str, to: str, kind: str = "file", slug: str = "") -> tuple[str, ...]:
    """The stages up to and including ``to``, training ``where`` (local or kaggle), for a ``kind`` competition."""
    if kind == "code":
        return _code_stages(where, to, slug)
    chain = (*WHERE[where], *AFTER)
    if to not in chain:
        raise UsageError(f"a chain training {where} has no stage {to!r}; its stages: {', '.join(chain)}")
    return chain[: chain.index(to) + 1]


def _code_stages(where: str, to: str, slug: str) -> tuple[str, ...]:
    """A code competition's chain; only WHERE=kaggle gets past predict, since only a kernel can submit."""
    chain = (*CODE, *AFTER_CODE)
    if where == "local" and to not in HERE:
        raise UsageError(code_competition_refusal(slug))
    if to not in chain:
        raise UsageError(f"the chain of code competition {slug} has no stage {to!r}; its stages: {', '.join(chain)}")
    return chain[: chain.index(to) + 1]


def code_competition_refusal(slug: str) -> str:
    """What submit and the chain say for a code competition: why no CSV goes, and the one command that submits."""
    return (
        f"{slug} is a code competition: Kaggle takes a kernel's version, not an uploaded CSV; run "
        f"`make submit WHERE=kaggle COMPETITION={slug}` instead (it trains here, then submits an offline kernel)"
    )


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
