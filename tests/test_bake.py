"""Bake every supported combination and check the generated project: files, rendering, syntax, lint, config, the
engine's pin, tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import pytest
import yaml
from combinations import COMBINATIONS, Combination
from conftest import ENGINE, PROJECT_TEMPLATE, SLUG_TOKEN, TEMPLATE, load_hook, project_files, rendered_answers, tomllib
from sm_engine.config import load_config

SLUG = "mpg_predictor"
TEXT_SUFFIXES = {".py", ".toml", ".yaml", ".yml", ".json", ".md", ".cfg", ".txt", ".ini", ".sh", ""}
# Files every generated project has, whatever the answers (the rest of the manifest comes from the template tree).
CORE_FILES = {
    ".cookiecutter.json",
    ".gitignore",
    "Makefile",
    "README.md",
    "config/project.yaml",
    "pyproject.toml",
    f"src/{SLUG}/__init__.py",
    f"src/{SLUG}/__main__.py",
}
# The one sample data file each problem type keeps (hooks/post_gen_project.py prunes the others).
SAMPLE_DATA = {
    "regression": "data/auto_mpg.csv",
    "binary_classification": "data/auto_mpg_efficient.csv",
    "multiclass_classification": "data/auto_mpg_class.csv",
}


def answers_of(combination: Combination) -> dict[str, Any]:
    """Every answer of the combination, as cookiecutter renders them (the defaults follow the row's answers)."""
    return rendered_answers(**combination.answers)


def expected_files(answers: dict[str, Any]) -> set[str]:
    """The template tree's files with the slug rendered, minus what post_gen_project prunes for these answers."""
    pruned = load_hook("post_gen_project").paths_to_prune(answers)
    files = {path.replace(SLUG_TOKEN, answers["project_slug"]) for path in project_files(PROJECT_TEMPLATE)}
    return {path for path in files if not any(path == p or path.startswith(f"{p}/") for p in pruned)}


def slowest_first(combination: Combination) -> tuple[bool, bool, bool]:
    """Sort key of the rows: pytorch, then the own image (container mode), then xgboost, then the rest. xdist deals
    the tests out in this order, so the slowest projects to test start first and the workers do not end on one long
    row while the other waits."""
    answers = combination.answers
    return (not combination.heavy, answers.get("sagemaker_mode") != "container", answers.get("framework") != "xgboost")


@pytest.fixture(
    scope="module",
    params=[
        pytest.param(c, id=c.id, marks=[pytest.mark.heavy] if c.heavy else [])
        for c in sorted(COMBINATIONS, key=slowest_first)
    ],
)
def baked(request: pytest.FixtureRequest, cookies_session: Any) -> tuple[Combination, Path]:
    """The combination and the folder of its baked project (baked once per module and combination)."""
    combination: Combination = request.param
    result = cookies_session.bake(extra_context=combination.answers)
    assert result.exception is None, f"baking {combination.id} failed: {result.exception!r}"
    return combination, result.project_path


def text_files(project: Path) -> list[Path]:
    """The project's text files (the sample data is copied verbatim and left out)."""
    return [project / p for p in sorted(project_files(project)) if Path(p).suffix in TEXT_SUFFIXES]


UNUSED_PLUGINS = ("-p", "no:hypothesispytest", "-p", "no:cookies")
"""Plugins of the template's test environment that a project's suite does not use (not in the project's dev extra);
hypothesis's imports all of hypothesis at the end of each session (~1 s)."""


def clean_env() -> dict[str, str]:
    """This environment without the outer pytest/xdist variables, so a nested pytest starts fresh."""
    return {key: value for key, value in os.environ.items() if not key.startswith(("PYTEST_", "PYTHONPATH"))}


def test_files_match_the_template_minus_pruning(baked: tuple[Combination, Path]) -> None:
    combination, project = baked
    answers = answers_of(combination)
    files = project_files(project)
    assert files == expected_files(answers)
    assert files >= CORE_FILES
    assert [path for path in files if path.startswith("data/")] == [SAMPLE_DATA[answers["problem_type"]]]
    for pruned in load_hook("post_gen_project").paths_to_prune(answers):
        assert not (project / pruned).exists()


def test_nothing_left_unrendered(baked: tuple[Combination, Path]) -> None:
    _, project = baked
    for path in text_files(project):
        text = path.read_text(encoding="utf-8")
        if path.parent.name == "workflows":
            text = text.replace("${{", "$")
        assert "{{" not in text and "{%" not in text, f"{path.relative_to(project)} has unrendered Jinja"


def test_every_python_file_compiles_without_warnings(baked: tuple[Combination, Path]) -> None:
    _, project = baked
    for path in project.rglob("*.py"):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            compile(path.read_text(encoding="utf-8"), str(path), "exec")


def test_structured_files_parse(baked: tuple[Combination, Path]) -> None:
    _, project = baked
    for path in text_files(project):
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".toml":
            tomllib.loads(text)
        elif path.suffix in (".yaml", ".yml"):
            yaml.safe_load(text)
        elif path.suffix == ".json":
            json.loads(text)


def test_ci_workflow_follows_the_answer(baked: tuple[Combination, Path]) -> None:
    combination, project = baked
    answers = answers_of(combination)
    workflow = project / ".github" / "workflows" / "ci.yml"
    if answers["ci"] == "none":
        assert not workflow.exists()
        return
    document = yaml.safe_load(workflow.read_text(encoding="utf-8"))
    steps = document["jobs"]["test"]["steps"]
    python = next(step for step in steps if step.get("uses", "").startswith("actions/setup-python"))
    assert python["with"]["python-version"] == "${{ matrix.python-version }}"
    assert document["jobs"]["test"]["strategy"]["matrix"]["python-version"][0] == answers["python_version"]
    commands = " ".join(step.get("run", "") for step in steps)
    for command in ("pip install -e '.[dev]'", "ruff check", "ruff format --check", "pytest -n 2"):
        assert command in commands
    assert "${{ github.ref }}" in workflow.read_text(encoding="utf-8")


def test_ci_stops_at_a_pin_that_exists_only_on_the_baking_machine(
    baked: tuple[Combination, Path], tmp_path: Path
) -> None:
    _, project = baked
    workflow = project / ".github" / "workflows" / "ci.yml"
    if not workflow.exists():
        return
    steps = yaml.safe_load(workflow.read_text(encoding="utf-8"))["jobs"]["test"]["steps"]
    check = next(step["run"] for step in steps if step.get("name") == "Engine pin")
    done = subprocess.run(["bash", "-c", check], cwd=project, capture_output=True, text=True)
    assert done.returncode == 1 and "::error file=pyproject.toml::" in done.stdout  # baked from this folder
    pinned = (project / "pyproject.toml").read_text(encoding="utf-8")
    git_pin = "sm-template-engine @ git+https://example.com/sm-template.git@0123abc#subdirectory=packages/sm-engine"
    (tmp_path / "pyproject.toml").write_text(pinned.replace(f"sm-template-engine @ {ENGINE.as_uri()}", git_pin))
    assert subprocess.run(["bash", "-c", check], cwd=tmp_path).returncode == 0


def test_cookiecutter_json_holds_the_answers_and_no_path_of_the_baking_machine(baked: tuple[Combination, Path]) -> None:
    combination, project = baked
    text = (project / ".cookiecutter.json").read_text(encoding="utf-8")
    recorded = json.loads(text)
    for key, value in answers_of(combination).items():
        assert recorded[key] == value, key
    assert "_output_dir" not in recorded and "_repo_dir" not in recorded
    assert str(project.parent) not in text
    assert recorded["_template"] == str(TEMPLATE)  # what cruft link and a re-bake need


def test_pyproject_metadata(baked: tuple[Combination, Path]) -> None:
    combination, project = baked
    answers = answers_of(combination)
    metadata = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert metadata["name"] == SLUG.replace("_", "-")
    assert metadata["description"] == answers["description"]
    assert metadata["authors"] == [{"name": answers["author_name"], "email": answers["author_email"]}]
    floor = "3.10.12" if answers["python_version"] == "3.10" else answers["python_version"]  # tarfile.data_filter
    assert metadata["requires-python"] == f">={floor}"


def test_the_engine_is_pinned_to_this_checkout(baked: tuple[Combination, Path]) -> None:
    """Baked from a local folder: the engine in that checkout, as a file:// URL; the published version in a comment."""
    _, project = baked
    text = (project / "pyproject.toml").read_text(encoding="utf-8")
    dependencies = tomllib.loads(text)["project"]["dependencies"]
    assert f"sm-template-engine @ {ENGINE.as_uri()}" in dependencies
    assert not [dependency for dependency in dependencies if dependency.startswith("sm-template-engine==")]
    version = json.loads((TEMPLATE / "cookiecutter.json").read_text(encoding="utf-8"))["_engine_version"]
    assert f"# on a package index: sm-template-engine=={version}" in text


def test_config_loads_with_the_engines_schema(baked: tuple[Combination, Path]) -> None:
    combination, project = baked
    answers = answers_of(combination)
    config = load_config(project / "config" / "project.yaml")
    assert (config.tuning.enabled, config.api.enabled, config.project.region, config.endpoint.type) == (
        answers["tuning"] == "yes",
        answers["api"] == "yes",
        answers["aws_region"],
        answers["deployment_target"],
    )


@pytest.mark.parametrize("command", [["check", "."], ["format", "--check", "."]], ids=["check", "format"])
def test_ruff_is_clean(baked: tuple[Combination, Path], command: list[str]) -> None:
    _, project = baked
    done = subprocess.run(
        [sys.executable, "-m", "ruff", *command, "--no-cache"], cwd=project, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.generated
def test_generated_project_tests_pass(baked: tuple[Combination, Path]) -> None:
    """The project's own suite, its end-to-end `run` included (tests/test_workflow.py); the engine's own tests run once,
    in packages/sm-engine/tests."""
    _, project = baked
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *UNUSED_PLUGINS],
        cwd=project,
        env=clean_env(),
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
