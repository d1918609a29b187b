"""Free-text answers with quotes, backslashes, unicode, Jinja markers and line breaks: a sound project or a clean no."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import jinja2
import pytest
import yaml
from conftest import load_hook, project_files, tomllib
from cookiecutter.exceptions import FailedHookException
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

pre_gen = load_hook("pre_gen_project")

TOKENS = ['"', "'", "\\", '"""', "'''", "{{", "}}", "{%", "%}", "{#", "\n", "\t", "é", "日本", "😀", "$", "#", ":", " "]
FREE_TEXT = st.lists(st.sampled_from(TOKENS) | st.text(max_size=4), max_size=8).map("".join)
FIELDS = ("project_name", "description", "author_name")


def check_project(project: Path, answers: dict[str, str]) -> None:
    """Python compiles without warnings, TOML/YAML/JSON parse, and the metadata holds the exact text."""
    for relative in project_files(project):
        path = project / relative
        if path.suffix == ".py":
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                compile(path.read_text(encoding="utf-8"), relative, "exec")
        elif path.suffix == ".toml":
            tomllib.loads(path.read_text(encoding="utf-8"))
        elif path.suffix in (".yaml", ".yml"):
            yaml.safe_load(path.read_text(encoding="utf-8"))
        elif path.suffix == ".json":
            json.loads(path.read_text(encoding="utf-8"))
    metadata = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert metadata["description"] == answers["description"]
    assert metadata["authors"][0]["name"] == answers["author_name"]
    recorded = json.loads((project / ".cookiecutter.json").read_text(encoding="utf-8"))
    assert {field: recorded[field] for field in FIELDS} == answers


@settings(
    max_examples=25,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(texts=st.tuples(FREE_TEXT, FREE_TEXT, FREE_TEXT))
def test_free_text_yields_a_sound_project_or_a_clean_rejection(
    texts: tuple[str, str, str], cookies_session: Any, capfd: pytest.CaptureFixture[str]
) -> None:
    capfd.readouterr()
    given_answers = dict(zip(FIELDS, texts, strict=True))
    result = cookies_session.bake(extra_context={**given_answers, "project_slug": "free_text"})
    if isinstance(result.exception, jinja2.TemplateError):
        # Cookiecutter renders every answer as a Jinja template before anything else: this text is not one.
        assert result.project_path is None
        return
    # What the hook and the files received: the answers as cookiecutter rendered them.
    answers = {field: result.context[field] for field in FIELDS}
    problems = pre_gen.problems_of({**pre_gen_defaults(), **answers})
    if problems:
        assert isinstance(result.exception, FailedHookException)
        errors = capfd.readouterr().err
        assert all(f"ERROR: {problem}" in errors for problem in problems)
        return
    assert result.exception is None, capfd.readouterr().err
    check_project(result.project_path, answers)


def pre_gen_defaults() -> dict[str, str]:
    """Valid answers for every prompt except the free text under test."""
    from conftest import rendered_answers

    return {**rendered_answers(), "project_slug": "free_text"}


@pytest.mark.parametrize(
    "answers",
    [
        {"project_name": 'Joe\'s "Best" Model', "description": 'Say "hi" \\ bye', "author_name": "Zoë O'Brien"},
        {"project_name": "日本 Predictor 😀", "description": "Prédire {x} et #1 : $5 😀", "author_name": "''' 𐀀"},
        {"project_name": 'ends with "', "description": "ends with \\", "author_name": '"""'},
    ],
    ids=["quotes-and-backslash", "unicode", "trailing-quote-and-backslash"],
)
def test_tricky_text_examples(cookies: Any, answers: dict[str, str]) -> None:
    result = cookies.bake(extra_context={**answers, "project_slug": "tricky"})
    assert result.exception is None
    check_project(result.project_path, answers)
