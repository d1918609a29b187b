"""End to end: the `run` command on the sample data, then each step on its own, on the local executor."""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from {{ cookiecutter.project_slug }}.local.client import LocalSageMakerClient

pytestmark = pytest.mark.slow

PACKAGE = "{{ cookiecutter.project_slug }}"
COPIED = ("config", "data", "jobs", "api", "src")


def cli(project: Path, *arguments: str) -> subprocess.CompletedProcess:
    """The project's command line, as a user runs it from the project folder."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(str(project / folder) for folder in ("src", "jobs", "api"))}
    env["COLUMNS"] = "200"
    return subprocess.run(
        [sys.executable, "-m", PACKAGE, *arguments], cwd=project, env=env, capture_output=True, text=True, timeout=600
    )


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, project_root: Path) -> Path:
    """A copy of this project, so the run's .sagemaker-local folder stays out of the source tree."""
    copy = tmp_path_factory.mktemp("project")
    for folder in COPIED:
        if (project_root / folder).exists():
            shutil.copytree(project_root / folder, copy / folder, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


@pytest.fixture(scope="module")
def client(project: Path) -> Iterator[LocalSageMakerClient]:
    yield LocalSageMakerClient(project / ".sagemaker-local")


@pytest.fixture(scope="module")
def kept_run(project: Path) -> subprocess.CompletedProcess:
    done = cli(project, "run", "--keep")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


def test_run_prints_the_summary(kept_run: subprocess.CompletedProcess) -> None:
    output = kept_run.stdout
    for expected in ("Processing", "Metrics", "Hyperparameters", "Sample predictions", "Artefacts", "Done in"):
        assert expected in output
    assert "Traceback" not in output + kept_run.stderr


def test_batch_transform_joins_every_test_row_with_a_sane_prediction(
    kept_run: subprocess.CompletedProcess, client: LocalSageMakerClient
) -> None:
    jobs = client.list_transform_jobs(StatusEquals="Completed")["TransformJobSummaries"]
    assert jobs
    output = client.describe_transform_job(TransformJobName=jobs[0]["TransformJobName"])["TransformOutput"]
    [uri] = client.storage.list_uris(output["S3OutputPath"])
    rows = list(csv.reader(io.StringIO(client.storage.read_bytes(uri).decode())))
    assert len(rows) == 60
    errors = [abs(float(row[0]) - float(row[-1])) for row in rows]
    assert sum(errors) / len(errors) < 4.0  # mean absolute error in mpg: a model that learned something


def test_the_real_boto3_runtime_client_gets_predictions_from_the_kept_endpoint(
    kept_run: subprocess.CompletedProcess, client: LocalSageMakerClient
) -> None:
    [endpoint] = client.list_endpoints()["Endpoints"]
    runtime = boto3.client(
        "sagemaker-runtime",
        endpoint_url=client.endpoint_url(endpoint["EndpointName"]),
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    response = runtime.invoke_endpoint(
        EndpointName=endpoint["EndpointName"],
        ContentType="text/csv",
        Accept="text/csv",
        Body=b"8,307.0,130.0,3504,12.0,70,1\n4,97.0,88.0,2130,14.5,71,3\n",
    )
    predictions = [float(line) for line in response["Body"].read().decode().split()]
    assert len(predictions) == 2 and predictions[0] < predictions[1]  # the V8 drinks more than the small 4-cylinder
    assert response["InvokedProductionVariant"] == "AllTraffic"
    with pytest.raises(runtime.exceptions.ModelError) as error:
        runtime.invoke_endpoint(EndpointName=endpoint["EndpointName"], ContentType="text/csv", Body=b"1,2,3\n")
    assert error.value.response["OriginalStatusCode"] == 400


def test_each_step_on_its_own(
    kept_run: subprocess.CompletedProcess, project: Path, client: LocalSageMakerClient
) -> None:
    [endpoint] = client.list_endpoints()["Endpoints"]
    name = endpoint["EndpointName"]
    listed = cli(project, "endpoints")
    assert listed.returncode == 0 and name in listed.stdout
    predicted = cli(project, "predict", name, "--row", "4,97.0,88.0,2130,14.5,71,3")
    assert predicted.returncode == 0, predicted.stdout + predicted.stderr
    trained = cli(project, "train", "--hyperparameter", "n_estimators=20")
    assert trained.returncode == 0, trained.stdout + trained.stderr
    assert "validation" in trained.stdout
    job = client.list_training_jobs(SortBy="CreationTime", SortOrder="Descending")["TrainingJobSummaries"][0]
    logs = cli(project, "logs", job["TrainingJobName"])
    assert logs.returncode == 0 and "validation_rmse=" in logs.stdout
    torn_down = cli(project, "teardown", name)
    assert torn_down.returncode == 0, torn_down.stdout + torn_down.stderr
    assert client.list_endpoints()["Endpoints"] == []


def test_a_failing_step_says_which_job_failed_and_why(kept_run: subprocess.CompletedProcess, project: Path) -> None:
    done = cli(project, "train", "--hyperparameter", "max_features=-3")
    assert done.returncode == 1
    assert "failed" in done.stdout.lower() and "Reason" in done.stdout and "Logs:" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr


def test_an_invalid_config_is_reported_without_a_traceback(project: Path, tmp_path: Path) -> None:
    config = tmp_path / "config" / "project.yaml"
    config.parent.mkdir()
    text = (project / "config" / "project.yaml").read_text().replace("instance_count: 1", "instance_count: -1", 1)
    config.write_text(text)
    done = cli(project, "process", "--config", str(config))
    assert done.returncode == 1
    assert "processing.instance_count" in done.stdout and "Traceback" not in done.stdout + done.stderr
