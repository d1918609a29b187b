"""The local client's API surface: validation, errors as the service words them, records, lists, models, endpoints."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from botocore.validate import ParamValidator
from test_local_helpers import BUCKET, ROLE, SKLEARN_IMAGE, make_client, settle, training_request, upload_code

from sm_engine.errors import ResourceInUse, ValidationException
from sm_engine.local.client import LocalSageMakerClient
from sm_engine.local.state import StateStore, process_alive
from sm_engine.local.validation import operation_model

pytestmark = pytest.mark.executor  # the local executor itself, the same whatever the answers


def _error(call, **params) -> dict:
    with pytest.raises(ClientError) as error:
        call(**params)
    return error.value.response["Error"]


@pytest.fixture
def client(tmp_path: Path) -> Iterator[LocalSageMakerClient]:
    client = make_client(tmp_path / "root")
    yield client
    for endpoint in client.list_endpoints()["Endpoints"]:  # never leave a server behind, even after a failure
        client.delete_endpoint(EndpointName=endpoint["EndpointName"])


@pytest.fixture
def source(client: LocalSageMakerClient, tmp_path: Path) -> str:
    return upload_code(client, {"train.py": "print('loss=0.5;')\n"}, tmp_path / "code")


def test_service_errors_become_client_errors_shaped_like_botocore() -> None:
    error = ValidationException("bad").client_error("CreateTrainingJob")
    assert error.response["Error"] == {"Code": "ValidationException", "Message": "bad"}
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert str(error) == "An error occurred (ValidationException) when calling the CreateTrainingJob operation: bad"
    assert ResourceInUse("taken").client_error("CreateModel").response["Error"]["Code"] == "ResourceInUse"


def test_missing_parameter_and_wrong_type_are_validation_errors(client: LocalSageMakerClient, source: str) -> None:
    request = training_request("job-bad", source)
    del request["RoleArn"]
    error = _error(client.create_training_job, **request)
    assert error["Code"] == "ValidationException"
    assert 'Missing required parameter in input: "RoleArn"' in error["Message"]
    request = training_request("job-bad", source)
    request["ResourceConfig"]["InstanceCount"] = "two"
    error = _error(client.create_training_job, **request)
    assert "Invalid type for parameter ResourceConfig.InstanceCount" in error["Message"]
    error = _error(client.create_training_job, **training_request("bad_name!", source))
    assert error["Message"].startswith("1 validation error detected: Value 'bad_name!' at 'trainingJobName'")
    assert not client.list_training_jobs()["TrainingJobSummaries"]


def test_duplicate_name_is_resource_in_use(client: LocalSageMakerClient, source: str) -> None:
    client.create_training_job(**training_request("job-dup", source))
    error = _error(client.create_training_job, **training_request("job-dup", source))
    assert error["Code"] == "ResourceInUse"
    assert error["Message"] == (
        "Training job names must be unique within an AWS account and region, and a training job with this name "
        "already exists (arn:aws:sagemaker:us-east-1:000000000000:training-job/job-dup)"
    )
    settle(client, "training", "job-dup")


def test_describe_unknown_resources(client: LocalSageMakerClient) -> None:
    for call, key in [
        (client.describe_training_job, "TrainingJobName"),
        (client.describe_processing_job, "ProcessingJobName"),
        (client.describe_transform_job, "TransformJobName"),
    ]:
        assert _error(call, **{key: "nope"}) == {
            "Code": "ValidationException",
            "Message": "Requested resource not found.",
        }
    arn = "arn:aws:sagemaker:us-east-1:000000000000"
    assert (
        _error(client.describe_endpoint, EndpointName="nope")["Message"]
        == f'Could not find endpoint "{arn}:endpoint/nope".'
    )
    assert _error(client.describe_model, ModelName="nope")["Message"] == f'Could not find model "{arn}:model/nope".'
    message = _error(client.describe_endpoint_config, EndpointConfigName="nope")["Message"]
    assert message == f'Could not find endpoint configuration "{arn}:endpoint-config/nope".'
    assert _error(client.stop_training_job, TrainingJobName="nope")["Code"] == "ValidationException"


def test_responses_fit_the_service_model(client: LocalSageMakerClient, source: str) -> None:
    response = client.create_training_job(**training_request("job-shape", source))
    assert set(response) == {"TrainingJobArn", "ResponseMetadata"}
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
    description = settle(client, "training", "job-shape")
    assert isinstance(description["CreationTime"], datetime) and description["CreationTime"].tzinfo is not None
    for operation, body in [
        ("DescribeTrainingJob", description),
        ("ListTrainingJobs", client.list_training_jobs()),
        ("CreateTrainingJob", response),
    ]:
        body = {key: value for key, value in body.items() if key != "ResponseMetadata"}
        report = ParamValidator().validate(body, operation_model(operation).output_shape)
        assert not report.has_errors(), report.generate_report()


def test_a_second_client_on_the_same_root_sees_the_records(
    tmp_path: Path, client: LocalSageMakerClient, source: str
) -> None:
    client.create_training_job(**training_request("job-shared", source))
    settle(client, "training", "job-shared")
    other = LocalSageMakerClient(tmp_path / "root")
    assert other.describe_training_job(TrainingJobName="job-shared")["TrainingJobStatus"] == "Completed"
    assert [s["TrainingJobName"] for s in other.list_training_jobs()["TrainingJobSummaries"]] == ["job-shared"]
    process = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from sm_engine.local.client import LocalSageMakerClient as C; "
            "print(C(sys.argv[1]).describe_training_job(TrainingJobName='job-shared')['TrainingJobStatus'])",
            str(tmp_path / "root"),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert process.stdout.strip() == "Completed"


def test_job_of_a_dead_runner_is_reported_failed(client: LocalSageMakerClient) -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    now = datetime.now(timezone.utc)
    description = {
        "TrainingJobName": "orphan",
        "TrainingJobArn": "arn",
        "TrainingJobStatus": "InProgress",
        "CreationTime": now,
        "LastModifiedTime": now,
    }
    StateStore(client.root).write(
        "training-jobs", "orphan", {"description": description, "private": {"runner_pid": dead.pid}}
    )
    described = client.describe_training_job(TrainingJobName="orphan")
    assert described["TrainingJobStatus"] == "Failed"
    assert "the local runner stopped" in described["FailureReason"]


def test_state_round_trips_datetimes_atomically(tmp_path: Path) -> None:
    store = StateStore(tmp_path)
    moment = datetime(2026, 1, 2, 3, 4, 5, 6000, tzinfo=timezone.utc)
    store.write("things", "a", {"description": {"When": moment, "Nested": [{"At": moment}]}, "private": {}})
    record = store.read("things", "a")
    assert record["description"] == {"When": moment, "Nested": [{"At": moment}]}
    assert sorted(p.name for p in (tmp_path / "state" / "things").iterdir()) == ["a.json"]
    assert store.read("things", "missing") is None


def test_list_filters_sorting_and_pages(client: LocalSageMakerClient, source: str) -> None:
    for name in ("alpha-1", "beta-1", "alpha-2"):
        client.create_training_job(**training_request(name, source))
        settle(client, "training", name)
    names = lambda response: [s["TrainingJobName"] for s in response["TrainingJobSummaries"]]  # noqa: E731
    assert names(client.list_training_jobs(NameContains="ALPHA")) == ["alpha-1", "alpha-2"]
    assert names(client.list_training_jobs(SortBy="Name", SortOrder="Descending")) == ["beta-1", "alpha-2", "alpha-1"]
    assert names(client.list_training_jobs(SortOrder="Descending", MaxResults=1)) == ["alpha-2"]
    first = client.list_training_jobs(MaxResults=2)
    assert names(first) == ["alpha-1", "beta-1"]
    assert names(client.list_training_jobs(MaxResults=2, NextToken=first["NextToken"])) == ["alpha-2"]
    assert client.list_training_jobs(StatusEquals="Failed")["TrainingJobSummaries"] == []
    future = datetime.now(timezone.utc) + timedelta(hours=1)
    assert client.list_training_jobs(CreationTimeAfter=future)["TrainingJobSummaries"] == []


def _model_request(name: str) -> dict:
    return {
        "ModelName": name,
        "ExecutionRoleArn": ROLE,
        "PrimaryContainer": {
            "Image": SKLEARN_IMAGE,
            "ModelDataUrl": f"s3://{BUCKET}/model.tar.gz",
            "Environment": {"SAGEMAKER_PROGRAM": "inference.py"},
        },
    }


def test_models_and_endpoint_configs(client: LocalSageMakerClient) -> None:
    response = client.create_model(**_model_request("model-a"))
    assert response["ModelArn"] == "arn:aws:sagemaker:us-east-1:000000000000:model/model-a"
    assert client.describe_model(ModelName="model-a")["PrimaryContainer"]["Environment"] == {
        "SAGEMAKER_PROGRAM": "inference.py"
    }
    error = _error(client.create_model, **_model_request("model-a"))
    assert (
        error["Message"]
        == 'Cannot create already existing model "arn:aws:sagemaker:us-east-1:000000000000:model/model-a".'
    )
    variant = {
        "VariantName": "AllTraffic",
        "ModelName": "model-a",
        "InstanceType": "ml.m5.large",
        "InitialInstanceCount": 1,
    }
    config = client.create_endpoint_config(EndpointConfigName="config-a", ProductionVariants=[variant])
    assert config["EndpointConfigArn"].endswith(":endpoint-config/config-a")
    assert (
        client.describe_endpoint_config(EndpointConfigName="config-a")["ProductionVariants"][0]["ModelName"]
        == "model-a"
    )
    missing = {**variant, "ModelName": "model-missing"}
    error = _error(client.create_endpoint_config, EndpointConfigName="config-b", ProductionVariants=[missing])
    assert error["Message"].startswith('Could not find model "')
    assert [m["ModelName"] for m in client.list_models()["Models"]] == ["model-a"]
    assert [c["EndpointConfigName"] for c in client.list_endpoint_configs()["EndpointConfigs"]] == ["config-a"]
    client.delete_endpoint_config(EndpointConfigName="config-a")
    client.delete_model(ModelName="model-a")
    assert client.list_models()["Models"] == []
    assert _error(client.delete_model, ModelName="model-a")["Code"] == "ValidationException"
    assert _error(client.create_model, ModelName="m", ExecutionRoleArn=ROLE)["Message"].startswith(
        "Either PrimaryContainer"
    )


def test_endpoint_that_cannot_start_is_failed(client: LocalSageMakerClient) -> None:
    client.create_model(**_model_request("model-broken"))
    variant = {
        "VariantName": "AllTraffic",
        "ModelName": "model-broken",
        "InstanceType": "ml.m5.large",
        "InitialInstanceCount": 1,
    }
    client.create_endpoint_config(EndpointConfigName="config-broken", ProductionVariants=[variant])
    response = client.create_endpoint(EndpointName="endpoint-broken", EndpointConfigName="config-broken")
    assert response["EndpointArn"].endswith(":endpoint/endpoint-broken")
    client.wait_idle(timeout=60)
    description = client.describe_endpoint(EndpointName="endpoint-broken")
    assert description["EndpointStatus"] == "Failed" and description["FailureReason"]
    assert client.endpoint_url("endpoint-broken") is None
    assert [e["EndpointName"] for e in client.list_endpoints()["Endpoints"]] == ["endpoint-broken"]
    client.delete_endpoint(EndpointName="endpoint-broken")
    assert _error(client.describe_endpoint, EndpointName="endpoint-broken")["Code"] == "ValidationException"
    error = _error(client.create_endpoint, EndpointName="endpoint-x", EndpointConfigName="config-missing")
    assert error["Message"].startswith('Could not find endpoint configuration "')


INFERENCE = """
import json
import os

def model_fn(model_dir):
    return open(os.path.join(model_dir, "value.txt")).read()

def transform_fn(model, data, content_type, accept):
    return model, "text/plain"
"""


def _served_model(client: LocalSageMakerClient, tmp_path: Path, name: str, value: str) -> None:
    from sm_engine.packaging import pack_directory

    model_dir = tmp_path / name
    model_dir.mkdir()
    (model_dir / "value.txt").write_text(value)
    client.storage.upload_bytes(pack_directory(model_dir), f"s3://{BUCKET}/{name}/model.tar.gz")
    source = upload_code(client, {"inference.py": INFERENCE}, tmp_path / f"{name}-code", key=f"{name}-code")
    request = _model_request(name)
    request["PrimaryContainer"]["ModelDataUrl"] = f"s3://{BUCKET}/{name}/model.tar.gz"
    request["PrimaryContainer"]["Environment"]["SAGEMAKER_SUBMIT_DIRECTORY"] = source
    client.create_model(**request)
    variant = {"VariantName": "AllTraffic", "ModelName": name, "InstanceType": "ml.m5.large", "InitialInstanceCount": 1}
    client.create_endpoint_config(EndpointConfigName=f"{name}-config", ProductionVariants=[variant])


def _invoke(url: str) -> bytes:
    request = urllib.request.Request(f"{url}/invocations", data=b"1", headers={"Content-Type": "text/csv"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.read()


def _in_service(client: LocalSageMakerClient, name: str) -> dict:
    deadline = time.monotonic() + 60
    while (description := client.describe_endpoint(EndpointName=name))["EndpointStatus"] in {"Creating", "Updating"}:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    return description


def test_endpoint_create_update_blue_green_and_delete(client: LocalSageMakerClient, tmp_path: Path) -> None:
    _served_model(client, tmp_path, "blue", "1")
    _served_model(client, tmp_path, "green", "2")
    client.create_endpoint(EndpointName="live", EndpointConfigName="blue-config")
    description = _in_service(client, "live")
    assert description["EndpointStatus"] == "InService", description.get("FailureReason")
    assert description["ProductionVariants"][0]["VariantName"] == "AllTraffic"
    blue_url = client.endpoint_url("live")
    assert blue_url is not None and _invoke(blue_url) == b"1"
    blue_pid = client.store.read("endpoints", "live")["private"]["pid"]
    assert LocalSageMakerClient(client.root).endpoint_url("live") == blue_url
    client.update_endpoint(EndpointName="live", EndpointConfigName="green-config")
    description = _in_service(client, "live")
    assert description["EndpointStatus"] == "InService" and description["EndpointConfigName"] == "green-config"
    green_url = client.endpoint_url("live")
    assert _invoke(green_url) == b"2"
    assert not process_alive(blue_pid)
    green_pid = client.store.read("endpoints", "live")["private"]["pid"]
    client.delete_endpoint(EndpointName="live")
    assert not process_alive(green_pid)
    assert client.endpoint_url("live") is None


def test_a_process_exiting_mid_job_stops_it_and_records_the_failure(tmp_path: Path) -> None:
    client = make_client(tmp_path / "root")
    source = upload_code(client, {"train.py": "import time\ntime.sleep(60)\n"}, tmp_path / "code")
    request = training_request("job-abandoned", source)
    script = (
        "import json, sys, time\n"
        "from sm_engine.local.client import LocalSageMakerClient\n"
        "client = LocalSageMakerClient(sys.argv[1])\n"
        "client.create_training_job(**json.loads(sys.argv[2]))\n"
        "while not client.store.read('training-jobs', 'job-abandoned')['private'].get('pids'):\n"
        "    time.sleep(0.05)\n"
    )
    subprocess.run([sys.executable, "-c", script, str(client.root), json.dumps(request)], check=True, timeout=60)
    description = client.describe_training_job(TrainingJobName="job-abandoned")
    assert description["TrainingJobStatus"] == "Failed"
    assert "the local runner stopped" in description["FailureReason"]
    pid = client.store.read("training-jobs", "job-abandoned")["private"]["pids"][0]
    assert not process_alive(pid)
