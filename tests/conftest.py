"""Shared helpers of the template's tests: where the template is, its hooks as modules, and baked-project checks."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

TEMPLATE = Path(__file__).resolve().parents[1]
PROJECT_TEMPLATE = TEMPLATE / "{{cookiecutter.project_slug}}"
SLUG_TOKEN = "{{cookiecutter.project_slug}}"
ENGINE = TEMPLATE / "packages" / "sm-engine"
IGNORED_PARTS = frozenset({"__pycache__", ".pytest_cache", ".ruff_cache", ".sagemaker-local", ".hypothesis"})

__all__ = [
    "ENGINE",
    "PROJECT_TEMPLATE",
    "TEMPLATE",
    "literal_choices",
    "load_hook",
    "project_files",
    "prompts",
    "rendered_answers",
    "tomllib",
]


def pytest_configure(config: pytest.Config) -> None:
    """Point pytest-cookies at this template (unless --template says otherwise), make the template's Jinja extension
    importable (cookiecutter does so while it bakes; pytest-cookies and rendered_answers render the prompts before
    that) and declare the markers."""
    if config.option.template == ".":
        config.option.template = str(TEMPLATE)
    if str(TEMPLATE) not in sys.path:
        sys.path.append(str(TEMPLATE))
    config.addinivalue_line("markers", "generated: runs the generated project's own test suite (slow)")
    config.addinivalue_line("markers", "heavy: a combination of the slowest framework (pytorch); CI runs it too")


def load_hook(name: str) -> ModuleType:
    """Import hooks/<name>.py as a module (unrendered it is plain Python; main() only runs as a script)."""
    spec = importlib.util.spec_from_file_location(f"template_hook_{name}", TEMPLATE / "hooks" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def prompts() -> dict[str, Any]:
    """cookiecutter.json without the private keys."""
    data = json.loads((TEMPLATE / "cookiecutter.json").read_text(encoding="utf-8"))
    return {key: value for key, value in data.items() if not key.startswith("_")}


def literal_choices() -> dict[str, list[str]]:
    """Each choice prompt's values as written, without the Jinja first choice that makes a default follow earlier
    answers (a user passes one of these)."""
    return {
        key: [value for value in values if "{{" not in value]
        for key, values in prompts().items()
        if isinstance(values, list)
    }


def rendered_answers(**overrides: str) -> dict[str, Any]:
    """The answers `cookiecutter --no-input <template> name=value ...` bakes with: cookiecutter.json rendered in order,
    each Jinja default following the answers before it; the private keys left out."""
    from cookiecutter.generate import generate_context
    from cookiecutter.prompt import prompt_for_config

    context = generate_context(str(TEMPLATE / "cookiecutter.json"), extra_context=overrides)
    answers = prompt_for_config(context, no_input=True)
    return {key: value for key, value in answers.items() if not key.startswith("_")}


def project_files(root: Path) -> set[str]:
    """Every file under root as a POSIX path relative to it, caches left out."""
    return {
        path.relative_to(root).as_posix()
        for path in root.rglob("*")
        if path.is_file() and not IGNORED_PARTS.intersection(path.relative_to(root).parts) and path.suffix != ".pyc"
    }
