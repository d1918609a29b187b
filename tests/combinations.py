"""The answer sets the template supports today; test_bake bakes and checks each. Later issues add rows."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Combination:
    """One supported answer set: the answers that differ from cookiecutter.json's defaults."""

    id: str
    answers: dict[str, str] = field(default_factory=dict)


COMBINATIONS: list[Combination] = [
    Combination("default"),
    Combination("no-tuning-no-api-no-ci", {"tuning": "no", "api": "no", "ci": "none"}),
    Combination("python-3.13-random-search", {"python_version": "3.13", "tuning_strategy": "Random"}),
]
