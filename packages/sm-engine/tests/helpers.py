"""What the engine's tests share: projects baked from this repository's template, and the engine's command line run on
a copy of one, as a user runs it from the project folder.

The default project is baked once per test process, at import: its config, data and job scripts are the realistic
inputs the executors are built for, and module-level constants of the tests (skip marks, the shipped config) read it.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from cookiecutter.main import cookiecutter

TEMPLATE = Path(__file__).resolve().parents[3]
COPIED = ("config", "data", "jobs", "api", "src", "container")
"""The folders of a project that a run reads."""


@contextlib.contextmanager
def _quiet_stdout() -> Iterator[None]:
    """File descriptor 1 on /dev/null: the post-generation hook runs as a subprocess and prints its next steps."""
    saved = os.dup(1)
    with open(os.devnull, "wb") as null:
        os.dup2(null.fileno(), 1)
    try:
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def _remove_at_exit(folder: Path) -> None:
    """Remove `folder` when this process exits (not when a child forked from it does)."""
    owner = os.getpid()

    def remove() -> None:
        if os.getpid() == owner:
            shutil.rmtree(folder, ignore_errors=True)

    atexit.register(remove)


def bake(**answers: str) -> Path:
    """A project baked from the template with these answers (the defaults for the rest), removed at exit."""
    output = Path(tempfile.mkdtemp(prefix="sm-engine-tests-"))
    _remove_at_exit(output)
    with _quiet_stdout():
        return Path(cookiecutter(str(TEMPLATE), no_input=True, extra_context=answers, output_dir=str(output)))


PROJECT_ROOT = bake()
CONFIG_PATH = PROJECT_ROOT / "config" / "project.yaml"


def copy_project(source: Path, target: Path) -> Path:
    """The folders of the project at `source` that a run needs, copied to `target` (so a run's .sagemaker-local
    folder stays out of the baked project)."""
    for folder in COPIED:
        if (source / folder).exists():
            shutil.copytree(source / folder, target / folder, ignore=shutil.ignore_patterns("__pycache__"))
    return target


def cli_command(*arguments: str) -> list[str]:
    """The engine's command line with these arguments."""
    return [sys.executable, "-m", "sm_engine", *arguments]


def cli(project: Path, *arguments: str) -> subprocess.CompletedProcess:
    """The engine's command line run in the project folder, as a user runs it; wide, so lines do not wrap."""
    return subprocess.run(
        cli_command(*arguments),
        cwd=project,
        env={**os.environ, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
