"""A failed job loses nothing: through the CLI on the local executor, a processing job and a training job fail on bad
input with the cause on the `Reason:` line, and the artefacts of the earlier successful jobs stay as they were."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from helpers import CONFIG_PATH, cli, copy_project

from sm_engine.local.client import LocalSageMakerClient

pytestmark = pytest.mark.slow

TRAINING = yaml.safe_load(CONFIG_PATH.read_text())["training"]
FAST = [
    argument
    for name, value in (("num_round", 20), ("n_estimators", 20), ("epochs", 5))
    if name in TRAINING["hyperparameters"]
    for argument in ("-p", f"{name}={value}")
]
"""Fewer rounds, trees or epochs, where the config's hyperparameters have them."""
OWN_READERS = TRAINING.get("mode") != "container"
"""Whether jobs/ or the built-in stand-in reads the channels (a container's own `train` program words its errors)."""


def newest(client: LocalSageMakerClient, kind: str) -> dict:
    """The description of the newest processing or training job."""
    if kind == "processing":
        summary = client.list_processing_jobs(SortBy="CreationTime", SortOrder="Descending")["ProcessingJobSummaries"]
        return client.describe_processing_job(ProcessingJobName=summary[0]["ProcessingJobName"])
    summary = client.list_training_jobs(SortBy="CreationTime", SortOrder="Descending")["TrainingJobSummaries"]
    return client.describe_training_job(TrainingJobName=summary[0]["TrainingJobName"])


def snapshot(client: LocalSageMakerClient, prefix: str) -> dict[str, bytes]:
    """Every object under an S3 prefix of the local storage, with its bytes."""
    return {uri: client.storage.read_bytes(uri) for uri in client.storage.list_uris(prefix)}


def reason_line(stdout: str) -> str:
    return next(line for line in stdout.splitlines() if line.startswith("Reason:"))


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, project_root: Path) -> Path:
    return copy_project(project_root, tmp_path_factory.mktemp("failing"))


def test_failed_jobs_report_their_cause_and_leave_earlier_artefacts_alone(project: Path, config) -> None:
    client = LocalSageMakerClient(project / ".sagemaker-local")
    processed = cli(project, "process")
    assert processed.returncode == 0, processed.stdout + processed.stderr
    outputs = {
        output["OutputName"]: output["S3Output"]["S3Uri"]
        for output in newest(client, "processing")["ProcessingOutputConfig"]["Outputs"]
    }
    features = {name: snapshot(client, uri) for name, uri in outputs.items()}
    assert all(features.values())
    trained = cli(project, "train", *FAST)
    assert trained.returncode == 0, trained.stdout + trained.stderr
    model_uri = newest(client, "training")["ModelArtifacts"]["S3ModelArtifacts"]
    model = client.storage.read_bytes(model_uri)

    data = project / config.data.local_path
    data.write_text(data.read_text().splitlines()[0] + "\n")  # the header row only
    failed = cli(project, "process")
    assert failed.returncode == 1
    assert "has a header row but no data rows: add the data rows" in reason_line(failed.stdout)
    assert "Traceback" not in failed.stdout + failed.stderr
    description = newest(client, "processing")
    assert description["ProcessingJobStatus"] == "Failed"
    assert description["ExitMessage"].startswith("preprocess.py: error: ")
    assert {name: snapshot(client, uri) for name, uri in outputs.items()} == features

    train_uri = next(uri for uri in features["train"] if uri.endswith(".csv"))
    rows = features["train"][train_uri]
    header = ",".join(f"column{index}" for index in range(rows.split(b"\n", 1)[0].count(b",") + 1))
    client.storage.upload_bytes(header.encode() + b"\n" + rows, train_uri)
    failed = cli(project, "train", *FAST)
    assert failed.returncode == 1
    assert "header row" in reason_line(failed.stdout) or not OWN_READERS
    assert "Traceback" not in failed.stdout + failed.stderr
    description = newest(client, "training")
    assert description["TrainingJobStatus"] == "Failed"
    cause = description["FailureReason"].splitlines()[0]
    assert cause.startswith(("TrainingError: ", "ClientError: ")) or not OWN_READERS
    assert "ModelArtifacts" not in description
    output_path = model_uri.rsplit("/", 3)[0]  # <S3OutputPath>/<job>/output/model.tar.gz
    assert not client.storage.list_uris(f"{output_path}/{description['TrainingJobName']}/")
    assert client.storage.read_bytes(model_uri) == model
