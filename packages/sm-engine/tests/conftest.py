"""The engine's tests run against the default project baked from this repository's template (tests/helpers.py); its
jobs/ and api/ folders are importable, as in the project's own tests."""

from __future__ import annotations

import sys
from typing import Any

import pytest
import yaml
from helpers import PROJECT_ROOT, bake

from sm_engine.testing import ProjectUnderTest

sys.path[:0] = [str(PROJECT_ROOT / "jobs"), str(PROJECT_ROOT / "api")]


@pytest.fixture(scope="session")
def sm_project() -> ProjectUnderTest:
    """The default project baked from the template."""
    return ProjectUnderTest(PROJECT_ROOT)


@pytest.fixture(scope="session")
def own_image_config() -> dict[str, Any]:
    """The config/project.yaml (as a dict) of a project baked for the own-image mode: the additive model in a
    container of its own (sagemaker_mode container)."""
    root = bake(algorithm="additive", sagemaker_mode="container")
    return yaml.safe_load((root / "config" / "project.yaml").read_text(encoding="utf-8"))
