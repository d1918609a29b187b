"""The command line's shared options: `--verbose/--quiet` on every command that streams job logs, `--log-level`
configuring logging once for the run, and shell completion."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from rich.logging import RichHandler
from typer.testing import CliRunner

from sm_engine import cli

STREAMS_BY_DEFAULT = {"process": True, "train": True, "transform": True, "run": False, "tune": False, "deploy": False}
"""The commands that can stream job logs, and whether they do without --verbose or --quiet."""
STREAMING = sorted(STREAMS_BY_DEFAULT)


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """The `verbose` each command opens its workflow with; the command stops right there."""
    calls: list[bool] = []

    def open_workflow(_session: cli.Session, _config: Path, verbose: bool, _local: bool) -> Any:
        calls.append(verbose)
        raise typer.Exit(0)

    monkeypatch.setattr(cli.Session, "open", open_workflow)
    return calls


@pytest.fixture
def root_logging() -> Iterator[logging.Logger]:
    """The root logger, with its level and handlers restored afterwards."""
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    yield root
    root.handlers[:] = handlers
    root.setLevel(level)


def command(name: str) -> Any:
    """The click command typer builds for `name` (typer vendors its own click)."""
    return typer.main.get_command(cli.app).commands[name]  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", STREAMING)
def test_a_streaming_command_has_verbose_and_quiet(name: str) -> None:
    (verbose,) = [param for param in command(name).params if param.name == "verbose"]
    assert (verbose.opts, verbose.secondary_opts) == (["--verbose", "-v"], ["--quiet", "-q"])


@pytest.mark.parametrize("name", STREAMING)
def test_quiet_and_verbose_reach_the_workflow(name: str, opened: list[bool], root_logging: logging.Logger) -> None:
    runner = CliRunner()
    for arguments in ([], ["--quiet"], ["-q"], ["--verbose"], ["-v"]):
        result = runner.invoke(cli.app, [name, *arguments])
        assert result.exit_code == 0, result.output
    assert opened == [STREAMS_BY_DEFAULT[name], False, False, True, True]


def test_log_level_configures_one_rich_handler(opened: list[bool], root_logging: logging.Logger) -> None:
    result = CliRunner().invoke(cli.app, ["--log-level", "DEBUG", "process"])
    assert result.exit_code == 0, result.output
    assert root_logging.level == logging.DEBUG
    assert [type(handler) for handler in root_logging.handlers] == [RichHandler]
    CliRunner().invoke(cli.app, ["process"])
    assert root_logging.level == logging.WARNING
    assert len(root_logging.handlers) == 1


def test_an_unknown_log_level_is_a_usage_error(opened: list[bool], root_logging: logging.Logger) -> None:
    result = CliRunner().invoke(cli.app, ["--log-level", "loud", "process"])
    assert result.exit_code == 2
    assert "loud" in result.output and "Traceback" not in result.output
    assert opened == []


def test_shell_completion_is_available() -> None:
    result = CliRunner().invoke(cli.app, ["--show-completion", "bash"], prog_name="mpg-predictor")
    assert result.exit_code == 0, result.output
    assert "complete" in result.output and "mpg" in result.output.lower()
