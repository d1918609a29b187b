"""The `report` command and the report at the end of `run`. The engine's app registers `report` (wrapped in its
user_errors) in sm_engine/cli.py; nothing here imports that module, so either can be imported first."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ..config import DEFAULT_CONFIG_PATH

if TYPE_CHECKING:
    from ..cli import Session
    from ..workflow import RunResult, Workflow
    from .collect import RunJobs


def report(
    ctx: typer.Context,
    config: Annotated[Path, typer.Option("--config", "-c", help="The project config file.")] = DEFAULT_CONFIG_PATH,
    local: Annotated[
        bool, typer.Option("--local/--aws", help="Read the local executor's run (default) or Amazon SageMaker's.")
    ] = True,
) -> None:
    """Write the HTML report of the latest run: metrics, plots, tuning trials, feature importance, data schema."""
    from .collect import latest_run

    session: Session = ctx.obj
    workflow = session.open(config, False, local)
    _write(session, workflow, latest_run(workflow))


def report_of_run(session: Session, workflow: Workflow, result: RunResult) -> Path:
    """At the end of `run`: the report of the run just made; return its path."""
    from .collect import RunJobs

    return _write(session, workflow, RunJobs.of(result))


def _write(session: Session, workflow: Workflow, jobs: RunJobs) -> Path:
    from .writer import write_report

    with session.step("Writing the report"):
        path = write_report(workflow, jobs)
    session.console.print(f"Report: {path}", markup=False, soft_wrap=True)
    return path
