"""`Workflow.newest_completed`: the one lookup of "the newest completed job of this kind" behind `train`, `tune`,
`deploy`, `transform` and `report`, against a SageMaker client that lists canned job summaries as the service does
(NameContains, StatusEquals, newest first)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from sm_engine.backends import LocalBackend
from sm_engine.config import ProjectConfig
from sm_engine.names import job_name
from sm_engine.storage import LocalStorage
from sm_engine.waiting import PROCESSING_JOB, TRAINING_JOB, TRANSFORM_JOB, TUNING_JOB, Resource
from sm_engine.workflow import Workflow, WorkflowError

START = datetime(2026, 1, 1, tzinfo=timezone.utc)
LONG_NAME = "a-project-name-of-the-longest-kind-40-ch"


class Lister:
    """The List*Jobs calls of a SageMaker client over summaries kept by operation; records each request."""

    def __init__(self, summaries: dict[str, list[dict[str, Any]]]) -> None:
        self.summaries = summaries
        self.requests: list[dict[str, Any]] = []

    def __getattr__(self, operation: str) -> Any:
        if operation not in SUMMARIES:
            raise AttributeError(operation)

        def list_jobs(**request: Any) -> dict[str, Any]:
            self.requests.append(request)
            name_key, key = SUMMARIES[operation]
            found = [
                summary
                for summary in self.summaries.get(operation, [])
                if request["NameContains"] in summary[name_key] and summary["Status"] == request["StatusEquals"]
            ]
            return {key: sorted(found, key=lambda summary: summary["CreationTime"], reverse=True)}

        return list_jobs


SUMMARIES = {
    "list_processing_jobs": ("ProcessingJobName", "ProcessingJobSummaries"),
    "list_training_jobs": ("TrainingJobName", "TrainingJobSummaries"),
    "list_hyper_parameter_tuning_jobs": ("HyperParameterTuningJobName", "HyperParameterTuningJobSummaries"),
    "list_transform_jobs": ("TransformJobName", "TransformJobSummaries"),
}


def summary(resource: Resource, name: str, minutes: int, status: str = "Completed") -> dict[str, Any]:
    return {resource.name_key: name, "CreationTime": START + timedelta(minutes=minutes), "Status": status}


def workflow_over(config: ProjectConfig, lister: Lister, tmp_path: Path, name: str | None = None) -> Workflow:
    if name is not None:
        config = config.model_copy(update={"project": config.project.model_copy(update={"name": name})})
    backend = LocalBackend(lister, None, LocalStorage(tmp_path), "bucket", "arn:aws:iam::0:role/r", tmp_path)
    return Workflow(config, backend, tmp_path, lambda _line: None)


@pytest.mark.parametrize(
    ("resource", "operation", "kind", "length"),
    [
        (PROCESSING_JOB, "list_processing_jobs", "process", 63),
        (TUNING_JOB, "list_hyper_parameter_tuning_jobs", "tune", 32),
        (TRANSFORM_JOB, "list_transform_jobs", "transform", 63),
    ],
)
def test_the_newest_completed_job_of_a_long_named_project(
    config: ProjectConfig, tmp_path: Path, resource: Resource, operation: str, kind: str, length: int
) -> None:
    """Names shortened to fit (a 40-character project name) are found, the newest completed one."""
    names = [job_name(LONG_NAME, kind, max_length=length) for _ in range(3)]
    assert not names[0].startswith(LONG_NAME)
    jobs = [summary(resource, names[0], 1), summary(resource, names[1], 2), summary(resource, names[2], 3, "Failed")]
    lister = Lister({operation: jobs})
    assert workflow_over(config, lister, tmp_path, LONG_NAME).newest_completed(resource) == names[1]
    assert {request["SortOrder"] for request in lister.requests} == {"Descending"}


def test_the_newest_training_job_counts_a_tuning_jobs_trials(config: ProjectConfig, tmp_path: Path) -> None:
    trained = job_name(LONG_NAME, "train")
    trial = f"{job_name(LONG_NAME, 'tune', max_length=32)}-001-0a1b2c3d"
    jobs = [summary(TRAINING_JOB, trained, 1), summary(TRAINING_JOB, trial, 2)]
    workflow = workflow_over(config, Lister({"list_training_jobs": jobs}), tmp_path, LONG_NAME)
    assert workflow.newest_completed(TRAINING_JOB) == trial


def test_no_completed_job_is_none_and_the_steps_say_what_to_run(config: ProjectConfig, tmp_path: Path) -> None:
    failed = summary(PROCESSING_JOB, job_name(config.project.name, "process"), 1, "Failed")
    workflow = workflow_over(config, Lister({"list_processing_jobs": [failed]}), tmp_path)
    assert workflow.newest_completed(PROCESSING_JOB) is None
    with pytest.raises(WorkflowError, match="run the `process` step first"):
        workflow.latest_processing()
