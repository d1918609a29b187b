"""The command line starts without the heavy libraries: `--help`, `--version`, importing the CLI and listing the local
endpoints load none of numpy, scikit-learn, pandas and optuna. Each check runs in a fresh interpreter, where nothing
else has imported them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from helpers import cli_command, copy_project

from sm_engine import __version__

HEAVY = ("numpy", "sklearn", "pandas", "optuna")
PRINT_HEAVY = f"print(sorted(name for name in {HEAVY!r} if name in sys.modules))"


def python(code: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


def test_help_lists_the_commands() -> None:
    result = subprocess.run(cli_command("--help"), capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    for command in ("run", "deploy", "endpoints", "teardown", "pipeline"):
        assert command in result.stdout


def test_version_prints_the_engine_version() -> None:
    result = subprocess.run(cli_command("--version"), capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"sm-template-engine {__version__}"


def test_importing_the_cli_loads_no_heavy_library() -> None:
    result = python(f"import sys\nimport sm_engine.cli\n{PRINT_HEAVY}")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_listing_local_endpoints_loads_no_heavy_library(project_root: Path, tmp_path: Path) -> None:
    project = copy_project(project_root, tmp_path / "project")
    code = (
        "import sys\nfrom sm_engine.cli import app\n"
        f"try:\n    app(['endpoints'])\nexcept SystemExit as end:\n    assert end.code == 0, end.code\n{PRINT_HEAVY}"
    )
    result = python(code, cwd=project)
    assert result.returncode == 0, result.stderr
    assert "No endpoints." in result.stdout
    assert result.stdout.strip().splitlines()[-1] == "[]"
