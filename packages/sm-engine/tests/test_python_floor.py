"""A project baked for Python 3.10 asks for 3.10.12, the first 3.10 with tarfile.data_filter, which extracting
archives safely needs (issue 16, item 13)."""

from __future__ import annotations

from helpers import bake


def test_a_python_3_10_project_requires_the_release_with_tarfile_data_filter() -> None:
    project = bake(python_version="3.10")
    lines = (project / "pyproject.toml").read_text(encoding="utf-8").splitlines()
    assert any(line.startswith('requires-python = ">=3.10.12"') for line in lines)
