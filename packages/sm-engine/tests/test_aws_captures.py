"""Endpoint data capture read back through the Storage abstraction: the files of the local endpoint server, and the
same layout on S3 (moto), as SageMaker writes it; the `captures` command on either backend."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from moto import mock_aws
from typer.testing import CliRunner

from sm_engine import backends, cli
from sm_engine.captures import latest_records, payload_text
from sm_engine.config import ProjectConfig
from sm_engine.local.endpoint_server import DataCapture
from sm_engine.sagemaker_requests import ProjectLocations
from sm_engine.storage import LocalStorage, S3Storage

BUCKET = "example-bucket"
CAPTURE = f"s3://{BUCKET}/captures-test/capture"


def record(time: str, row: str, prediction: float) -> str:
    """One line as SageMaker writes it (contract §7)."""
    return json.dumps(
        {
            "captureData": {
                "endpointInput": {"observedContentType": "text/csv", "mode": "INPUT", "data": row, "encoding": "CSV"},
                "endpointOutput": {
                    "observedContentType": "application/json",
                    "mode": "OUTPUT",
                    "data": base64.b64encode(json.dumps({"predictions": [prediction]}).encode()).decode(),
                    "encoding": "BASE64",
                },
            },
            "eventMetadata": {"eventId": f"id-{time}", "inferenceTime": time},
            "eventVersion": "0",
        }
    )


def fill(storage: Any, root: str = CAPTURE) -> None:
    """Two endpoints; one with two variants whose files of the same hour interleave in time."""

    def write(key: str, *lines: str) -> None:
        storage.upload_bytes(("\n".join(lines) + "\n").encode(), f"{root}/{key}")

    write("ep/A/2026/01/01/09/00-00-000-a.jsonl", record("2026-01-01T09:00:00Z", "1,2", 10.0))
    write(
        "ep/A/2026/01/01/10/05-00-000-a.jsonl",
        record("2026-01-01T10:05:00Z", "3,4", 11.0),
        record("2026-01-01T10:20:00Z", "5,6", 12.0),
    )
    write("ep/B/2026/01/01/10/10-00-000-b.jsonl", record("2026-01-01T10:10:00Z", "7,8", 13.0), "not json")
    write("other/AllTraffic/2026/01/01/11/00-00-000-c.jsonl", record("2026-01-01T11:00:00Z", "9,9", 14.0))
    storage.upload_bytes(b"ignored", f"{root}/ep/A/notes.txt")


@pytest.fixture
def s3() -> Iterator[S3Storage]:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
        client.create_bucket(Bucket=BUCKET)
        yield S3Storage(client)


@pytest.fixture(params=["local", "s3"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    return LocalStorage(tmp_path) if request.param == "local" else request.getfixturevalue("s3")


def test_latest_records_of_one_endpoint_in_time_order(storage: Any) -> None:
    fill(storage)
    records = latest_records(storage, CAPTURE, "ep", limit=2)
    assert [(r.variant, r.time, r.input) for r in records] == [
        ("B", "2026-01-01T10:10:00Z", "7,8"),
        ("A", "2026-01-01T10:20:00Z", "5,6"),
    ]
    assert json.loads(records[-1].output or "") == {"predictions": [12.0]}
    assert len(latest_records(storage, CAPTURE, "ep", limit=10)) == 4
    assert [r.endpoint for r in latest_records(storage, CAPTURE, limit=1)] == ["other"]
    assert latest_records(storage, CAPTURE, "e", limit=10) == []  # a name prefix is not an endpoint


def test_reads_what_the_local_endpoint_server_captures(tmp_path: Path) -> None:
    config = {
        "EnableCapture": True,
        "InitialSamplingPercentage": 100,
        "DestinationS3Uri": CAPTURE,
        "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
    }
    capture = DataCapture(config, tmp_path, "ep")
    for row in ("1,2,3", "4,5,6"):
        response = SimpleNamespace(body=b'{"predictions": [20.5]}', content_type="application/json")
        capture.capture("AllTraffic", row.encode(), "text/csv", response)
    records = latest_records(LocalStorage(tmp_path), CAPTURE, "ep")
    assert [(r.variant, r.input, r.output) for r in records] == [
        ("AllTraffic", "1,2,3", '{"predictions": [20.5]}'),
        ("AllTraffic", "4,5,6", '{"predictions": [20.5]}'),
    ]


def test_binary_payloads_are_described_not_printed() -> None:
    binary = {"observedContentType": "application/x-npy", "data": base64.b64encode(b"\x93NUMPY\xff").decode()}
    assert payload_text({**binary, "encoding": "BASE64"}) == "<7 bytes of application/x-npy>"
    assert payload_text(None) is None


@pytest.fixture
def invoke(monkeypatch: pytest.MonkeyPatch, project_root: Path, tmp_path: Path, config: ProjectConfig) -> Any:
    """The CLI against a backend whose storage is a folder; `run.root` is the config's capture root."""
    storage = LocalStorage(tmp_path)
    backend = backends.LocalBackend(None, None, storage, bucket=BUCKET, role_arn="r", root=tmp_path)
    monkeypatch.setattr(backends, "make_backend", lambda *_args, aws: backend)
    config_path = str(project_root / "config" / "project.yaml")

    def run(*arguments: str) -> Any:
        return CliRunner().invoke(cli.app, [*arguments, "--config", config_path], env={"COLUMNS": "200"})

    run.storage = storage  # type: ignore[attr-defined]
    run.root = ProjectLocations.from_config(config, BUCKET).capture  # type: ignore[attr-defined]
    return run


@pytest.mark.parametrize("backend", ["--local", "--aws"])
def test_captures_command_prints_the_latest_records(invoke: Any, backend: str) -> None:
    fill(invoke.storage, invoke.root)
    result = invoke("captures", "ep", "--limit", "2", backend)
    assert result.exit_code == 0, result.output
    assert "5,6" in result.output and "7,8" in result.output
    assert "1,2" not in result.output
    assert '{"predictions": [12.0]}' in result.output


def test_captures_command_without_records_says_what_to_do(invoke: Any) -> None:
    result = invoke("captures", "nothing-here")
    assert result.exit_code == 1
    output = " ".join(result.output.split())  # rich wraps lines at the terminal's width
    assert f"no captured records under {invoke.root}/nothing-here" in output
    assert "endpoint.data_capture.enabled" in output
    assert "Traceback" not in result.output
