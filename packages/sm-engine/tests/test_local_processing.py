"""Processing jobs on the local executor: inputs, outputs, config files, sharding, exit message, failures (§2)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from test_local_helpers import BUCKET, ROLE, make_client, settle, upload_data

from sm_engine.local import isolation

SCRIPT = """
import json, os, sys
base = os.environ.get("SAGEMAKER_BASE_DIR", "/opt/ml")
config = json.load(open(os.path.join(base, "config", "resourceconfig.json")))
host = config["current_host"]
inputs = os.path.join(base, "processing", "input", "data")
names = sorted(os.listdir(inputs))
out = os.path.join(base, "processing", "output", "result")
with open(os.path.join(out, f"{host}.json"), "w") as handle:
    json.dump({"names": names, "argv": sys.argv[1:], "env": os.environ.get("MY_SETTING"),
               "sm": sorted(k for k in os.environ if k.startswith("SM_"))}, handle)
os.makedirs(os.path.join(out, "nested"), exist_ok=True)
open(os.path.join(out, "nested", f"{host}.txt"), "w").write(host)
open(os.path.join(base, "output", "message"), "w").write("all good")
if os.environ.get("FAIL"):
    print("broken input", file=sys.stderr)
    sys.exit(4)
"""


def processing_request(name: str, instances: int = 1, distribution: str = "FullyReplicated", **extra: Any) -> dict:
    return {
        "ProcessingJobName": name,
        "ProcessingResources": {
            "ClusterConfig": {"InstanceCount": instances, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 1}
        },
        "AppSpecification": {
            "ImageUri": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3",
            "ContainerEntrypoint": ["python3", "/opt/ml/processing/input/code/process.py"],
            "ContainerArguments": ["--split", "0.2"],
        },
        "ProcessingInputs": [
            {
                "InputName": "data",
                "S3Input": {
                    "S3Uri": f"s3://{BUCKET}/raw/",
                    "LocalPath": "/opt/ml/processing/input/data",
                    "S3DataType": "S3Prefix",
                    "S3InputMode": "File",
                    "S3DataDistributionType": distribution,
                },
            },
            {
                "InputName": "code",
                "S3Input": {
                    "S3Uri": f"s3://{BUCKET}/code/process.py",
                    "LocalPath": "/opt/ml/processing/input/code",
                    "S3DataType": "S3Prefix",
                    "S3InputMode": "File",
                },
            },
        ],
        "ProcessingOutputConfig": {
            "Outputs": [
                {
                    "OutputName": "result",
                    "S3Output": {
                        "S3Uri": f"s3://{BUCKET}/processed/result",
                        "LocalPath": "/opt/ml/processing/output/result",
                        "S3UploadMode": "EndOfJob",
                    },
                }
            ]
        },
        "RoleArn": ROLE,
        "Environment": {"MY_SETTING": "on"},
        **extra,
    }


@pytest.fixture(params=["isolated", "mapped"])
def mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("SM_LEAKED", "x")
    if request.param == "mapped":
        monkeypatch.setenv(isolation.SWITCH, "off")
    elif not isolation.isolation_enabled():
        pytest.skip("user namespaces are not available here")
    return request.param


def _prepare(client) -> None:
    upload_data(client, {"raw/a.csv": "1\n", "raw/b.csv": "2\n", "raw/c.csv": "3\n", "code/process.py": SCRIPT})


def _read(client, key: str) -> dict:
    return json.loads(client.storage.read_bytes(f"s3://{BUCKET}/{key}"))


def test_single_instance_inputs_outputs_config_and_message(tmp_path: Path, mode: str) -> None:
    client = make_client(tmp_path / "root")
    _prepare(client)
    request = processing_request("proc-one")
    response = client.create_processing_job(**request)
    assert response["ProcessingJobArn"].endswith(":processing-job/proc-one")
    description = settle(client, "processing", "proc-one")
    assert description["ProcessingJobStatus"] == "Completed", description.get("FailureReason")
    assert description["ExitMessage"] == "all good"
    assert description["ProcessingOutputConfig"] == request["ProcessingOutputConfig"]
    assert description["ProcessingEndTime"] >= description["ProcessingStartTime"] >= description["CreationTime"]
    result = _read(client, "processed/result/algo-1.json")
    assert result == {"names": ["a.csv", "b.csv", "c.csv"], "argv": ["--split", "0.2"], "env": "on", "sm": []}
    assert client.storage.read_bytes(f"s3://{BUCKET}/processed/result/nested/algo-1.txt") == b"algo-1"
    job_dir = tmp_path / "root" / "jobs" / "processing" / "proc-one"
    assert json.loads((job_dir / "config" / "processingjobconfig.json").read_text()) == request
    assert json.loads((job_dir / "config" / "resourceconfig.json").read_text()) == {
        "current_host": "algo-1",
        "hosts": ["algo-1"],
    }


def test_sharded_inputs_over_two_instances(tmp_path: Path) -> None:
    client = make_client(tmp_path / "root")
    _prepare(client)
    client.create_processing_job(**processing_request("proc-two", instances=2, distribution="ShardedByS3Key"))
    description = settle(client, "processing", "proc-two")
    assert description["ProcessingJobStatus"] == "Completed", description.get("FailureReason")
    assert _read(client, "processed/result/algo-1.json")["names"] == ["a.csv", "c.csv"]
    assert _read(client, "processed/result/algo-2.json")["names"] == ["b.csv"]
    assert client.storage.read_bytes(f"s3://{BUCKET}/processed/result/nested/algo-2.txt") == b"algo-2"


def test_replicated_inputs_over_two_instances(tmp_path: Path) -> None:
    client = make_client(tmp_path / "root")
    _prepare(client)
    client.create_processing_job(**processing_request("proc-replicated", instances=2))
    settle(client, "processing", "proc-replicated")
    assert _read(client, "processed/result/algo-2.json")["names"] == ["a.csv", "b.csv", "c.csv"]


def test_nonzero_exit_fails_with_the_exit_code_and_stderr(tmp_path: Path) -> None:
    client = make_client(tmp_path / "root")
    _prepare(client)
    request = processing_request("proc-fail")
    request["Environment"]["FAIL"] = "1"
    client.create_processing_job(**request)
    description = settle(client, "processing", "proc-fail")
    assert description["ProcessingJobStatus"] == "Failed"
    assert description["FailureReason"].startswith("AlgorithmError: ")
    assert "ExitCode 4" in description["FailureReason"] and "broken input" in description["FailureReason"]
    assert description["ExitMessage"] == "all good"
    assert not client.storage.exists(f"s3://{BUCKET}/processed/result/algo-1.json")


def test_missing_input_fails_with_a_clear_reason(tmp_path: Path) -> None:
    client = make_client(tmp_path / "root")
    client.create_processing_job(**processing_request("proc-no-data"))
    description = settle(client, "processing", "proc-no-data")
    assert description["ProcessingJobStatus"] == "Failed"
    assert f"no objects under s3://{BUCKET}/raw/" in description["FailureReason"]


def test_stop_processing_job(tmp_path: Path) -> None:
    client = make_client(tmp_path / "root")
    upload_data(client, {"raw/a.csv": "1\n", "code/process.py": "import time\ntime.sleep(60)\n"})
    client.create_processing_job(**processing_request("proc-stop"))
    client.stop_processing_job(ProcessingJobName="proc-stop")
    assert settle(client, "processing", "proc-stop", timeout=20)["ProcessingJobStatus"] == "Stopped"


def test_python_entrypoint_is_this_interpreter() -> None:
    from sm_engine.local.processing import container_command

    command = container_command({"ContainerEntrypoint": ["python3", "x.py"], "ContainerArguments": ["-a"]})
    assert command == [sys.executable, "x.py", "-a"]
    assert container_command({"ContainerEntrypoint": ["/bin/bash", "run.sh"]}) == ["/bin/bash", "run.sh"]
