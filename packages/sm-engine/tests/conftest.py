"""The engine's tests run against the default project baked from this repository's template (tests/helpers.py); its
jobs/ and api/ folders are importable, as in the project's own tests."""

from __future__ import annotations

import sys
from pathlib import Path
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
def own_image_project() -> Path:
    """A project baked for the own-image mode: the additive model in a container of its own (sagemaker_mode
    container), with its container/train and container/serve programs."""
    return bake(algorithm="additive", sagemaker_mode="container")


@pytest.fixture(scope="session")
def own_image_config(own_image_project: Path) -> dict[str, Any]:
    """The config/project.yaml (as a dict) of the own-image project."""
    return yaml.safe_load((own_image_project / "config" / "project.yaml").read_text(encoding="utf-8"))
