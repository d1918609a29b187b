"""The engine's tests run against a project baked from this repository's template (the default answers), once per
test process: its config, data and job scripts are the realistic inputs the executors are built for."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import pytest
from cookiecutter.main import cookiecutter

from sm_engine.testing import ProjectUnderTest

TEMPLATE = Path(__file__).resolve().parents[3]
_BAKED = Path(tempfile.mkdtemp(prefix="sm-engine-tests-"))
PROJECT_ROOT = Path(cookiecutter(str(TEMPLATE), no_input=True, output_dir=str(_BAKED)))
sys.path[:0] = [str(PROJECT_ROOT / "jobs"), str(PROJECT_ROOT / "api")]


@pytest.fixture(scope="session")
def sm_project() -> ProjectUnderTest:
    """The default project baked from the template."""
    return ProjectUnderTest(PROJECT_ROOT)
