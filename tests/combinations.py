"""The answer sets test_bake bakes and checks: named rows, then the covering array's rows (covering.py), which bake
every valid framework x sagemaker_mode x problem_type and every valid pair of answers at least once."""

from __future__ import annotations

from dataclasses import dataclass, field

from covering import covering_rows

HEAVY_FRAMEWORKS = ("pytorch",)
"""Combinations of these frameworks are the slowest to test; their rows carry the `heavy` marker (CI runs them too)."""


@dataclass(frozen=True)
class Combination:
    """One supported answer set: the answers that differ from cookiecutter.json's defaults."""

    id: str
    answers: dict[str, str] = field(default_factory=dict)

    @property
    def heavy(self) -> bool:
        return self.answers.get("framework") in HEAVY_FRAMEWORKS


NAMED: list[Combination] = [
    Combination("default"),
    Combination("container-regression", {"algorithm": "additive", "sagemaker_mode": "container"}),
]
"""The rows named for what they stand for: the default project, and the own image (the container mode)."""


def row_id(number: int, answers: dict[str, str]) -> str:
    """A readable id: the row's number, then its framework, mode, problem type and deployment target."""
    problem = {"binary_classification": "binary", "multiclass_classification": "multiclass"}
    parts = [
        answers.get("framework", "sklearn"),
        answers.get("sagemaker_mode", "script"),
        problem.get(answers.get("problem_type", ""), "regression"),
        answers.get("deployment_target", "realtime"),
    ]
    return f"{number:02d}-{'-'.join(parts)}"


COMBINATIONS: list[Combination] = NAMED + [
    Combination(row_id(number, answers), answers)
    for number, answers in enumerate(covering_rows([row.answers for row in NAMED]), start=1)
]
