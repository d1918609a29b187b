"""`endpoints` on the local executor lists every endpoint of the project, across the service's pages of 10 (it once
showed the newest 10 with no hint of more), and says so in one line when there is none (it once printed an empty
table first). The endpoints are records in the local store: listing reads nothing else."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from helpers import copy_project
from typer.testing import CliRunner

from sm_engine import backends, cli
from sm_engine.config import load_config
from sm_engine.local.client import LocalSageMakerClient
from sm_engine.names import job_name

ENDPOINTS = 13  # more than ListEndpoints' default page of 10
CREATED = datetime(2026, 1, 1, tzinfo=timezone.utc)


def endpoints_command(project: Path) -> Any:
    config_path = str(project / "config" / "project.yaml")
    return CliRunner().invoke(cli.app, ["endpoints", "--config", config_path], env={"COLUMNS": "200"})


def local_client(project: Path) -> LocalSageMakerClient:
    config = load_config(project / "config" / "project.yaml")
    client = backends.local_backend(config, project, lambda _line: None).sagemaker
    assert isinstance(client, LocalSageMakerClient)
    return client


def add_endpoint_record(client: LocalSageMakerClient, name: str, created: datetime) -> None:
    """An endpoint as the store keeps it, without a server (it shows with no URL)."""
    description = {
        "EndpointName": name,
        "EndpointArn": f"arn:aws:sagemaker:us-east-1:000000000000:endpoint/{name}",
        "EndpointConfigName": f"{name}-config",
        "EndpointStatus": "InService",
        "CreationTime": created,
        "LastModifiedTime": created,
    }
    client.store.write("endpoints", name, {"description": description, "private": {}})


def listed_names(output: str) -> list[str]:
    return [line.split()[1] for line in output.splitlines() if "InService" in line]


def test_endpoints_lists_every_endpoint_of_the_project_newest_first(project_root: Path, tmp_path: Path) -> None:
    project = copy_project(project_root, tmp_path / "project")
    client = local_client(project)
    base = load_config(project / "config" / "project.yaml").project.name
    ours = [job_name(base, "endpoint") for _ in range(ENDPOINTS)]
    for minutes, name in enumerate(ours):
        add_endpoint_record(client, name, CREATED + timedelta(minutes=minutes))
    add_endpoint_record(client, "another-project-endpoint", CREATED + timedelta(hours=1))

    result = endpoints_command(project)

    assert result.exit_code == 0, result.output
    assert listed_names(result.output) == ours[::-1]
    assert f"Endpoints ({ENDPOINTS})" in result.output


def test_endpoints_without_any_prints_one_line_and_no_table(project_root: Path, tmp_path: Path) -> None:
    project = copy_project(project_root, tmp_path / "project")

    result = endpoints_command(project)

    assert result.exit_code == 0, result.output
    assert result.output.strip() == "No endpoints."
