"""Each answer on its own (`cookiecutter --no-input <template> name=value`) bakes: the answers that depend on an
earlier one default to what fits it (cookiecutter.json's Jinja first choices)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from conftest import literal_choices, load_hook, rendered_answers

pre_gen = load_hook("pre_gen_project")

IMPLIED: dict[tuple[str, str], dict[str, str]] = {
    ("algorithm", "gbtree"): {"framework": "xgboost"},
    ("algorithm", "mlp"): {"framework": "pytorch"},
    ("sagemaker_mode", "builtin"): {"framework": "xgboost"},
    ("sagemaker_mode", "container"): {"algorithm": "additive"},
}
"""Answers that imply an answer asked before them. Cookiecutter renders the prompts in order, so an earlier default
cannot follow a later answer: these need the earlier answer too, and alone get the hook's error naming it."""

SINGLE = [(field, value) for field, values in literal_choices().items() for value in values]


@pytest.mark.parametrize(("field", "value"), SINGLE, ids=[f"{field}={value}" for field, value in SINGLE])
def test_each_answer_on_its_own_is_accepted(field: str, value: str) -> None:
    answers = rendered_answers(**IMPLIED.get((field, value), {}), **{field: value})
    assert answers[field] == value
    assert pre_gen.problems_of(answers) == []


@pytest.mark.parametrize(("answer", "implied"), IMPLIED.items(), ids=[f"{f}={v}" for f, v in IMPLIED])
def test_an_answer_that_implies_an_earlier_one_alone_is_told_which(
    answer: tuple[str, str], implied: dict[str, str]
) -> None:
    assert answer in SINGLE
    problems = pre_gen.problems_of(rendered_answers(**dict([answer])))
    assert problems, f"{answer} alone now bakes: drop it from IMPLIED"
    assert all(any(field in problem for problem in problems) for field in implied), problems


@pytest.mark.parametrize(
    ("answer", "followed"),
    [
        ({"framework": "xgboost"}, {"algorithm": "gbtree", "sagemaker_mode": "script"}),
        ({"framework": "pytorch"}, {"algorithm": "mlp"}),
        ({"algorithm": "additive"}, {"sagemaker_mode": "container"}),
        ({"deployment_target": "batch"}, {"api": "no", "production_variants": "1"}),
        ({"deployment_target": "serverless"}, {"inference_pipeline": "no", "production_variants": "1"}),
    ],
    ids=["xgboost", "pytorch", "additive", "batch", "serverless"],
)
def test_a_single_answer_bakes_with_the_answers_that_follow_it(
    cookies: Any, answer: dict[str, str], followed: dict[str, str]
) -> None:
    result = cookies.bake(extra_context=answer)
    assert result.exception is None, result.exception
    recorded = json.loads((result.project_path / ".cookiecutter.json").read_text(encoding="utf-8"))
    assert {field: recorded[field] for field in followed} == followed
