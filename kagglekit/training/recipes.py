"""One version of a model, named the same way by every stage: a model name, typed overrides, and whether
it is the final run on all the data.

`make submit` hands the same recipe flags to train, predict, remote and submit; each turns them into a
``RecipeChoice`` and so into the same version id, which is how the chain carries the run it trained
through every stage instead of guessing "the newest run of that name". ``flags`` writes a choice back
as command-line flags (overrides as JSON), so config.json's command and the command a Kaggle kernel
runs reproduce the very same version id, booleans, floats and dicts included.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from kagglekit.training.models import ALL_DATA, get_version, version_id


@dataclass(frozen=True)
class RecipeChoice:
    model: str
    overrides: dict[str, Any] = field(default_factory=dict)
    all_data: bool = False

    @property
    def recipe(self) -> dict[str, Any]:
        """The full recipe (checked: an unknown key, a wrong type or a value out of range is a UsageError)."""
        return get_version(self.model).recipe(self.overrides, self.all_data)

    @property
    def version_id(self) -> str:
        return version_id(self.recipe)

    @classmethod
    def of_recipe(cls, recipe: dict[str, Any]) -> RecipeChoice:
        """The choice that yields ``recipe``: only the keys that differ from the version's defaults."""
        defaults = get_version(recipe["model"]).recipe()
        overrides = {
            key: value for key, value in recipe.items() if key not in ("model", ALL_DATA) and value != defaults.get(key)
        }
        return cls(recipe["model"], overrides, bool(recipe.get(ALL_DATA)))

    def flags(self) -> list[str]:
        """``--model NAME --set KEY=JSON ... [--all-data]``: what train, predict, remote and submit all accept."""
        settings = [
            arg
            for key, value in sorted(self.overrides.items())
            for arg in ("--set", f"{key}={json.dumps(value, separators=(',', ':'))}")
        ]
        return ["--model", self.model, *settings, *(["--all-data"] if self.all_data else [])]
