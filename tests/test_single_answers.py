"""Each answer on its own (`cookiecutter --no-input <template> name=value`) bakes a sound project: the other defaults
follow it, the earlier ones too (cookiecutter.json's Jinja first choices; sm_template_prompts.py exposes the answers
given before prompting as `given`). The interactive menus list each choice once."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import TEMPLATE, literal_choices, load_hook, rendered_answers
from jinja2 import Environment
from sm_engine.config import load_config

from sm_template_prompts import GivenAnswersExtension, given_answers, listing_each_choice_once

pre_gen = load_hook("pre_gen_project")

SINGLE = [(field, value) for field, values in literal_choices().items() for value in values]
MENU = re.compile(r"^ {4}(\d+) - (.+)$")


def bake_on_the_command_line(output: Path, *answers: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """`cookiecutter [--no-input] -o <output> <template> name=value ...`, prompting (from stdin) when stdin is given."""
    no_input = [] if stdin is not None else ["--no-input"]
    command = [sys.executable, "-m", "cookiecutter", *no_input, "-o", str(output), str(TEMPLATE), *answers]
    return subprocess.run(command, input=stdin or "", capture_output=True, text=True, timeout=120, check=False)


def recorded_answers(project: Path) -> dict[str, Any]:
    return json.loads((project / ".cookiecutter.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize(("field", "value"), SINGLE, ids=[f"{field}={value}" for field, value in SINGLE])
def test_each_answer_on_its_own_bakes_a_clean_project(tmp_path: Path, field: str, value: str) -> None:
    done = bake_on_the_command_line(tmp_path, f"{field}={value}")
    assert done.returncode == 0, done.stdout + done.stderr  # the pre_gen hook accepted every answer
    (project,) = tmp_path.iterdir()
    answers = recorded_answers(project)
    assert answers[field] == value
    assert pre_gen.problems_of(answers) == []
    for command in (["check", "."], ["format", "--check", "."]):
        linted = subprocess.run(
            [sys.executable, "-m", "ruff", *command, "--no-cache"], cwd=project, capture_output=True, text=True
        )
        assert linted.returncode == 0, linted.stdout + linted.stderr
    config = load_config(project / "config" / "project.yaml")
    assert (config.endpoint.type, config.tuning.enabled) == (answers["deployment_target"], answers["tuning"] == "yes")


@pytest.mark.parametrize(
    ("answer", "followed"),
    [
        ({"framework": "xgboost"}, {"algorithm": "gbtree", "sagemaker_mode": "script"}),
        ({"framework": "pytorch"}, {"algorithm": "mlp"}),
        ({"algorithm": "additive"}, {"framework": "sklearn", "sagemaker_mode": "container"}),
        ({"algorithm": "gbtree"}, {"framework": "xgboost", "sagemaker_mode": "script"}),
        ({"algorithm": "mlp"}, {"framework": "pytorch"}),
        ({"sagemaker_mode": "builtin"}, {"framework": "xgboost", "algorithm": "gbtree"}),
        ({"sagemaker_mode": "container"}, {"framework": "sklearn", "algorithm": "additive"}),
        ({"algorithm": "gbtree", "sagemaker_mode": "builtin"}, {"framework": "xgboost"}),
        ({"deployment_target": "batch"}, {"api": "no", "production_variants": "1"}),
        ({"deployment_target": "serverless"}, {"inference_pipeline": "no", "production_variants": "1"}),
    ],
    ids=lambda answers: ",".join(f"{field}={value}" for field, value in answers.items()),
)
def test_the_python_api_bakes_with_the_defaults_that_follow_the_answers(
    cookies: Any, answer: dict[str, str], followed: dict[str, str]
) -> None:
    """cookiecutter(template, no_input=True, extra_context=...), as pytest-cookies calls it."""
    result = cookies.bake(extra_context=answer)
    assert result.exception is None, result.exception
    recorded = recorded_answers(result.project_path)
    assert {field: recorded[field] for field in followed} == followed


def test_an_earlier_answer_given_wins_over_the_default_a_later_one_implies() -> None:
    answers = rendered_answers(framework="sklearn", algorithm="gbtree")
    assert answers["framework"] == "sklearn"
    assert any(problem.startswith("algorithm:") for problem in pre_gen.problems_of(answers))


def menus(prompting: str) -> list[list[str]]:
    """The option labels of each choice menu an interactive session printed, in order."""
    found: list[list[str]] = []
    in_menu = False
    for line in prompting.splitlines():
        option = MENU.match(line)
        if option and not in_menu:
            found.append([])
        if option:
            found[-1].append(option.group(2))
        in_menu = option is not None
    return found


@pytest.mark.parametrize("answers", [(), ("algorithm=mlp",)], ids=["defaults", "algorithm=mlp"])
def test_interactive_menus_list_each_choice_once_the_default_first(tmp_path: Path, answers: tuple[str, ...]) -> None:
    done = bake_on_the_command_line(tmp_path, *answers, stdin="\n" * 40)
    assert done.returncode == 0, done.stdout + done.stderr
    found = menus(done.stdout)
    choices = literal_choices()
    assert [len(labels) for labels in found] == [len(values) for values in choices.values()], found
    assert all(len(labels) == len(set(labels)) for labels in found), found
    first = {name: labels[0] for name, labels in zip(choices, found, strict=True)}
    assert first["framework"] == ("PyTorch" if answers else "scikit-learn")
    (project,) = tmp_path.iterdir()
    expected = {"framework": "pytorch", "algorithm": "mlp"} if answers else {"framework": "sklearn"}
    assert {field: recorded_answers(project)[field] for field in expected} == expected


def test_given_holds_the_answers_moved_in_front_of_a_jinja_default() -> None:
    raw = {
        "framework": ["{{ jinja }}", "sklearn", "xgboost"],
        "algorithm": ["gbtree", "{{ jinja }}", "random_forest", "gbtree"],
        "license": ["Apache-2.0", "MIT", "Apache-2.0"],  # no Jinja default: whether it was given cannot be told
        "project_name": "MPG Predictor",
    }
    assert given_answers(raw) == {"algorithm": "gbtree"}


def test_without_the_raw_context_the_defaults_are_the_static_ones() -> None:
    raw = json.loads((TEMPLATE / "cookiecutter.json").read_text(encoding="utf-8"))
    environment = Environment(extensions=[GivenAnswersExtension])
    assert environment.globals["given"] == {}
    framework = environment.from_string(raw["framework"][0]).render(cookiecutter={})
    assert framework == "sklearn"
    assert environment.from_string(raw["algorithm"][0]).render(cookiecutter={"framework": framework}) == "random_forest"


def test_the_menu_keeps_the_first_of_repeated_choices() -> None:
    def menu(var_name: str, options: list[str], prompts: object = None, prefix: str = "") -> list[str]:
        return options

    unique_menu = listing_each_choice_once(menu)
    assert unique_menu("algorithm", ["mlp", "random_forest", "mlp", "gbtree"]) == ["mlp", "random_forest", "gbtree"]
    assert listing_each_choice_once(unique_menu) is unique_menu
