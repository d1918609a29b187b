"""Helpers of the local executor's tests: a client on a temporary root, stand-in scripts, request builders."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from sm_engine.local.client import LocalSageMakerClient
from sm_engine.packaging import pack_directory

BUCKET = "bucket"
ROLE = "arn:aws:iam::000000000000:role/SageMakerRole"
SKLEARN_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
DONE = {"Completed", "Failed", "Stopped", "InService"}


def make_client(root: Path) -> LocalSageMakerClient:
    return LocalSageMakerClient(root)


def upload_code(client: LocalSageMakerClient, scripts: dict[str, str], folder: Path, key: str = "code") -> str:
    """Write scripts to `folder`, pack them as sourcedir.tar.gz in the local S3; return its URI."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in scripts.items():
        (folder / name).write_text(text, encoding="utf-8")
    uri = f"s3://{BUCKET}/{key}/sourcedir.tar.gz"
    client.storage.upload_bytes(pack_directory(folder), uri)
    return uri


def upload_data(client: LocalSageMakerClient, files: dict[str, str]) -> None:
    """Objects by key under the test bucket."""
    for key, text in files.items():
        client.storage.upload_bytes(text.encode("utf-8"), f"s3://{BUCKET}/{key}")


def training_request(
    name: str,
    source: str,
    program: str = "train.py",
    hyperparameters: dict[str, str] | None = None,
    channels: dict[str, str] | None = None,
    metrics: list[dict[str, str]] | None = None,
    instance_count: int = 1,
) -> dict[str, Any]:
    """A CreateTrainingJob request shaped like the SDK's framework estimators (JSON-encoded reserved values)."""
    request: dict[str, Any] = {
        "TrainingJobName": name,
        "AlgorithmSpecification": {
            "TrainingImage": SKLEARN_IMAGE,
            "TrainingInputMode": "File",
            "MetricDefinitions": metrics or [],
        },
        "RoleArn": ROLE,
        "HyperParameters": {
            "sagemaker_program": f'"{program}"',
            "sagemaker_submit_directory": f'"{source}"',
            **(hyperparameters or {}),
        },
        "OutputDataConfig": {"S3OutputPath": f"s3://{BUCKET}/output"},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": instance_count, "VolumeSizeInGB": 1},
        "StoppingCondition": {"MaxRuntimeInSeconds": 120},
    }
    if channels:
        request["InputDataConfig"] = [
            {
                "ChannelName": channel,
                "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": uri}},
                "ContentType": "text/csv",
            }
            for channel, uri in channels.items()
        ]
    return request


def settle(client: LocalSageMakerClient, kind: str, name: str, timeout: float = 60.0) -> dict[str, Any]:
    """Describe until the status is terminal; return the description."""
    describe, name_key, status_key = {
        "training": ("describe_training_job", "TrainingJobName", "TrainingJobStatus"),
        "processing": ("describe_processing_job", "ProcessingJobName", "ProcessingJobStatus"),
        "tuning": (
            "describe_hyper_parameter_tuning_job",
            "HyperParameterTuningJobName",
            "HyperParameterTuningJobStatus",
        ),
    }[kind]
    deadline = time.monotonic() + timeout
    while True:
        description = getattr(client, describe)(**{name_key: name})
        if description[status_key] in DONE:
            return description
        assert time.monotonic() < deadline, f"{name} still {description[status_key]}"
        time.sleep(0.05)
