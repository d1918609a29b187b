"""Write a run's report: collect, render, and save it as `reports/<batch transform job>.html` in the project."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from .collect import RunJobs, collect
from .render import render

if TYPE_CHECKING:
    from ..workflow import Workflow

REPORTS_FOLDER = "reports"


def write_report(workflow: Workflow, jobs: RunJobs) -> Path:
    """The report of the run made of `jobs`, written under the project's reports/ folder; its path."""
    page = render(collect(workflow, jobs))
    target = workflow.root / REPORTS_FOLDER / f"{jobs.name}.html"
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    partial.write_text(page, encoding="utf-8")
    partial.replace(target)
    return target
