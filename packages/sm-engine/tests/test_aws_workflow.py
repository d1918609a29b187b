"""The workflow's steps and the CLI with `--aws`, offline: a real boto3 SageMaker client behind a botocore Stubber
answers with canned responses (create -> describe InProgress -> Completed, or Failed with a FailureReason)."""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber
from typer.testing import CliRunner

from sm_engine import backends, cli, waiting
from sm_engine.aws.autoscaling import ApplicationAutoScaling
from sm_engine.aws.session import AwsBackend
from sm_engine.config import ProjectConfig
from sm_engine.images import image_uri
from sm_engine.names import job_name
from sm_engine.sagemaker_requests import RequestFactory
from sm_engine.storage import LocalStorage
from sm_engine.waiting import TRAINING_JOB, ResourceFailed, WaitInterrupted, wait_for
from sm_engine.workflow import ProcessingResult, Workflow

REGION = "us-east-1"
BUCKET = "sagemaker-us-east-1-123456789012"
ROLE = "arn:aws:iam::123456789012:role/SageMakerExecutionRole"
NOW = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
REASON = "AlgorithmError: ValueError: Input contains NaN"
PROCESSED = ProcessingResult("mpg-predictor-process-1", {})


def client(service: str) -> Any:
    return boto3.client(service, region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")


@dataclass
class Clients:
    """Stubbed clients by service name; stands for the boto3 session of an AwsBackend."""

    stubbers: dict[str, Stubber] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        if service not in self.stubbers:
            self.stubbers[service] = Stubber(client(service))
            self.stubbers[service].activate()
        return self.stubbers[service].client

    def __getitem__(self, service: str) -> Stubber:
        self.client(service)
        return self.stubbers[service]


@pytest.fixture
def clients() -> Iterator[Clients]:
    stubs = Clients()
    yield stubs
    for stubber in stubs.stubbers.values():
        stubber.assert_no_pending_responses()
        stubber.deactivate()


@pytest.fixture
def backend(clients: Clients, tmp_path: Path) -> AwsBackend:
    return AwsBackend(
        sagemaker=clients.client("sagemaker"),
        runtime=clients.client("sagemaker-runtime"),
        storage=LocalStorage(tmp_path),
        bucket=BUCKET,
        role_arn=ROLE,
        session=clients,
        images=image_uri,
        account_id="123456789012",
    )


@pytest.fixture
def workflow(config: ProjectConfig, backend: AwsBackend, project_root: Path) -> Workflow:
    return Workflow(config, backend, project_root, lambda _line: None)


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(waiting.time, "sleep", lambda _seconds: None)


def description(operation: str, request: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """A Describe* response made of the Create* request's fields that the output shape has, plus `extra`."""
    members = client("sagemaker").meta.service_model.operation_model(operation).output_shape.members
    return {key: value for key, value in {**request, **extra}.items() if key in members}


def training_description(request: dict[str, Any], status: str, **extra: Any) -> dict[str, Any]:
    name = request["TrainingJobName"]
    return description(
        "DescribeTrainingJob",
        request,
        TrainingJobArn=f"arn:aws:sagemaker:{REGION}:123456789012:training-job/{name}",
        TrainingJobStatus=status,
        SecondaryStatus={"InProgress": "Training", "Completed": "Completed", "Failed": "Failed"}[status],
        ModelArtifacts={"S3ModelArtifacts": f"s3://{BUCKET}/models/{name}/output/model.tar.gz"},
        CreationTime=NOW,
        **extra,
    )


def expect_training(clients: Clients, workflow: Workflow, final: str, **extra: Any) -> dict[str, Any]:
    """create_training_job with the factory's exact request (any name), then InProgress, then `final`."""
    request = {**workflow.requests.training_job("placeholder"), "TrainingJobName": ANY}
    stub = clients["sagemaker"]
    stub.add_response(
        "create_training_job", {"TrainingJobArn": "arn:aws:sagemaker:us-east-1:1:training-job/x"}, request
    )
    named = {**request, "TrainingJobName": "mpg-predictor-train-20260101-000000-000"}
    stub.add_response("describe_training_job", training_description(named, "InProgress"), {"TrainingJobName": ANY})
    stub.add_response("describe_training_job", training_description(named, final, **extra), {"TrainingJobName": ANY})
    return named


def test_training_runs_until_completed(clients: Clients, workflow: Workflow) -> None:
    metrics = [{"MetricName": "validation:rmse", "Value": 2.5, "Timestamp": NOW}]
    named = expect_training(clients, workflow, "Completed", FinalMetricDataList=metrics)
    result = workflow.train(PROCESSED)
    assert result.model_data_url == f"s3://{BUCKET}/models/{named['TrainingJobName']}/output/model.tar.gz"
    assert result.metrics == {"validation:rmse": 2.5}
    assert not any(key.startswith("sagemaker_") for key in result.hyperparameters)
    assert workflow.backend.storage.exists(workflow.locations.sourcedir)


def test_failed_training_raises_with_the_reason(clients: Clients, workflow: Workflow) -> None:
    expect_training(clients, workflow, "Failed", FailureReason=REASON)
    with pytest.raises(ResourceFailed) as failure:
        workflow.train(PROCESSED)
    assert failure.value.reason == REASON
    assert failure.value.status == "Failed"


def test_processing_returns_its_outputs(clients: Clients, workflow: Workflow) -> None:
    request = {**workflow.requests.processing_job("placeholder"), "ProcessingJobName": ANY}
    named = {**request, "ProcessingJobName": "mpg-predictor-process-1"}
    stub = clients["sagemaker"]
    stub.add_response("create_processing_job", {"ProcessingJobArn": "arn:aws:sagemaker:us-east-1:1:processing-job/x"})
    for status in ("InProgress", "Completed"):
        stub.add_response(
            "describe_processing_job",
            description(
                "DescribeProcessingJob",
                named,
                ProcessingJobArn="arn:aws:sagemaker:us-east-1:1:processing-job/x",
                ProcessingJobStatus=status,
                CreationTime=NOW,
            ),
        )
    result = workflow.process()
    assert result.job_name == "mpg-predictor-process-1"
    assert result.outputs == workflow.locations.processing_outputs()


def test_deploy_waits_for_in_service(clients: Clients, workflow: Workflow) -> None:
    stub = clients["sagemaker"]
    stub.add_response(
        "create_endpoint_config", {"EndpointConfigArn": "arn:aws:sagemaker:us-east-1:1:endpoint-config/c"}
    )
    stub.add_response(
        "create_endpoint",
        {"EndpointArn": "arn:aws:sagemaker:us-east-1:1:endpoint/e"},
        {**workflow.requests.endpoint("placeholder", "placeholder"), "EndpointName": ANY, "EndpointConfigName": ANY},
    )
    for status in ("Creating", "InService"):
        stub.add_response(
            "describe_endpoint",
            {
                "EndpointName": "e",
                "EndpointArn": "arn:aws:sagemaker:us-east-1:1:endpoint/e",
                "EndpointConfigName": "c",
                "EndpointStatus": status,
                "CreationTime": NOW,
                "LastModifiedTime": NOW,
            },
        )
    deployment = workflow.deploy("mpg-predictor-model-1")
    assert deployment.model_name == "mpg-predictor-model-1"
    assert deployment.endpoint_name.startswith("mpg-predictor-endpoint")


def test_interrupted_wait_can_stop_the_job(
    clients: Clients, workflow: Workflow, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupt(_seconds: float) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(waiting.time, "sleep", interrupt)
    stub = clients["sagemaker"]
    request = workflow.requests.training_job("job")
    stub.add_response("describe_training_job", training_description(request, "InProgress"))
    stub.add_response("stop_training_job", {}, {"TrainingJobName": "job"})
    with pytest.raises(WaitInterrupted) as interrupted:
        wait_for(clients.client("sagemaker"), TRAINING_JOB, "job")
    assert interrupted.value.stoppable
    interrupted.value.stop()


def autoscaled(config: ProjectConfig) -> RequestFactory:
    endpoint = config.endpoint.model_copy(
        update={"autoscaling": config.endpoint.autoscaling.model_copy(update={"enabled": True})}
    )
    return RequestFactory(config.model_copy(update={"endpoint": endpoint}), bucket=BUCKET, role_arn=ROLE)


def test_deploy_applies_the_configured_autoscaling_once_in_service(
    clients: Clients, backend: AwsBackend, config: ProjectConfig, project_root: Path
) -> None:
    """Register the variants' scalable targets and their policy after InService, not before (the service refuses a
    variant that does not exist yet)."""
    scaling = config.endpoint.autoscaling.model_copy(update={"enabled": True})
    endpoint = config.endpoint.model_copy(update={"type": "realtime", "autoscaling": scaling})
    workflow = Workflow(config.model_copy(update={"endpoint": endpoint}), backend, project_root, lambda _line: None)
    stub = clients["sagemaker"]
    stub.add_response(
        "create_endpoint_config", {"EndpointConfigArn": "arn:aws:sagemaker:us-east-1:1:endpoint-config/c"}
    )
    stub.add_response("create_endpoint", {"EndpointArn": "arn:aws:sagemaker:us-east-1:1:endpoint/e"})
    stub.add_response("describe_endpoint", endpoint_description("e", "c", "InService"))
    for method, request in workflow.requests.autoscaling_requests("e"):  # the generated name is not known yet
        response = {"PolicyARN": "arn:aws:autoscaling:policy", "Alarms": []} if method == "put_scaling_policy" else {}
        named = {key: ANY if key in {"ResourceId", "PolicyName"} else value for key, value in request.items()}
        clients["application-autoscaling"].add_response(method, response, named)
    deployment = workflow.deploy("mpg-predictor-model-1")
    assert deployment.endpoint_name.startswith("mpg-predictor-endpoint")


def test_autoscaling_requests_are_sent_in_order(clients: Clients, config: ProjectConfig) -> None:
    requests = autoscaled(config).autoscaling_requests("ep")
    stub = clients["application-autoscaling"]
    for method, request in requests:
        response = {"PolicyARN": "arn:aws:autoscaling:policy", "Alarms": []} if method == "put_scaling_policy" else {}
        stub.add_response(method, response, request)
    ApplicationAutoScaling(clients.client("application-autoscaling")).apply(requests)


def test_remove_autoscaling_deregisters_the_endpoints_targets(clients: Clients) -> None:
    stub = clients["application-autoscaling"]
    target = {
        "ServiceNamespace": "sagemaker",
        "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
        "MinCapacity": 1,
        "MaxCapacity": 4,
        "RoleARN": ROLE,
        "CreationTime": NOW,
    }
    stub.add_response(
        "describe_scalable_targets",
        {
            "ScalableTargets": [
                {**target, "ResourceId": "endpoint/ep/variant/AllTraffic"},
                {**target, "ResourceId": "endpoint/other/variant/AllTraffic"},
            ]
        },
        {"ServiceNamespace": "sagemaker"},
    )
    stub.add_response(
        "deregister_scalable_target",
        {},
        {
            "ServiceNamespace": "sagemaker",
            "ResourceId": "endpoint/ep/variant/AllTraffic",
            "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
        },
    )
    assert ApplicationAutoScaling(clients.client("application-autoscaling")).remove("ep") == 1


# -- the CLI with --aws ------------------------------------------------------------------------------------------------


@pytest.fixture
def run_cli(monkeypatch: pytest.MonkeyPatch, backend: AwsBackend, project_root: Path) -> Iterator[Any]:
    monkeypatch.setattr(backends, "make_backend", lambda *_args, aws: backend if aws else pytest.fail("not --aws"))
    config_path = str(project_root / "config" / "project.yaml")

    def invoke(*arguments: str, stdin: str | None = None) -> Any:
        return CliRunner().invoke(
            cli.app, [*arguments, "--aws", "--config", config_path], input=stdin, env={"COLUMNS": "200"}
        )

    yield invoke


def expect_latest_processing(clients: Clients, workflow: Workflow) -> None:
    stub = clients["sagemaker"]
    arn = "arn:aws:sagemaker:us-east-1:1:processing-job/p"
    summary = {
        "ProcessingJobName": "p",
        "ProcessingJobArn": arn,
        "CreationTime": NOW,
        "ProcessingJobStatus": "Completed",
    }
    stub.add_response("list_processing_jobs", {"ProcessingJobSummaries": [summary]})
    request = {**workflow.requests.processing_job("p")}
    stub.add_response(
        "describe_processing_job",
        description(
            "DescribeProcessingJob", request, ProcessingJobArn=arn, ProcessingJobStatus="Completed", CreationTime=NOW
        ),
        {"ProcessingJobName": "p"},
    )


def log_events(*messages: str) -> dict[str, Any]:
    return {
        "events": [
            {"eventId": str(i), "timestamp": i, "message": message, "logStreamName": "job/algo-1"}
            for i, message in enumerate(messages, start=1)
        ]
    }


def test_cli_failed_job_prints_the_reason_and_last_log_lines(
    clients: Clients, workflow: Workflow, run_cli: Any
) -> None:
    expect_latest_processing(clients, workflow)
    expect_training(clients, workflow, "Failed", FailureReason=REASON)
    logs = clients["logs"]
    logs.add_response("filter_log_events", log_events("Invoking script train.py"))
    logs.add_response("filter_log_events", log_events("Invoking script train.py", "train.py line 42: bad input"))
    logs.add_response("filter_log_events", log_events("Invoking script train.py", "train.py line 42: bad input"))
    result = run_cli("train")
    assert result.exit_code == 1, result.output
    assert re.search(r"Training job mpg-predictor-train-\S+ failed", result.output)
    assert f"Reason: {REASON}" in result.output
    assert "Last log lines:" in result.output
    assert result.output.count("train.py line 42: bad input") == 2  # streamed live, then in the failure tail
    assert "InProgress (Training)" in result.output
    assert "Traceback" not in result.output


def test_cli_ctrl_c_asks_and_stops_the_remote_job(
    clients: Clients, workflow: Workflow, run_cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupt(_seconds: float) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(waiting.time, "sleep", interrupt)
    expect_latest_processing(clients, workflow)
    request = {**workflow.requests.training_job("placeholder"), "TrainingJobName": ANY}
    stub = clients["sagemaker"]
    stub.add_response(
        "create_training_job", {"TrainingJobArn": "arn:aws:sagemaker:us-east-1:1:training-job/x"}, request
    )
    named = {**request, "TrainingJobName": "job"}
    stub.add_response("describe_training_job", training_description(named, "InProgress"))
    stub.add_response("stop_training_job", {}, {"TrainingJobName": ANY})
    clients["logs"].add_response("filter_log_events", log_events("Invoking script train.py"))
    result = run_cli("train", stdin="y\n")
    assert result.exit_code == 130, result.output
    assert "Stop the training job" in result.output
    assert "Stop requested" in result.output


def expect_endpoint_teardown(clients: Clients, name: str) -> None:
    """describe the endpoint and its config, deregister its scalable targets, delete endpoint, config and model."""
    stub = clients["sagemaker"]
    stub.add_response(
        "describe_endpoint",
        {
            "EndpointName": name,
            "EndpointArn": f"arn:aws:sagemaker:us-east-1:1:endpoint/{name}",
            "EndpointConfigName": f"{name}-cfg",
            "EndpointStatus": "InService",
            "CreationTime": NOW,
            "LastModifiedTime": NOW,
        },
        {"EndpointName": name},
    )
    stub.add_response(
        "describe_endpoint_config",
        {
            "EndpointConfigName": f"{name}-cfg",
            "EndpointConfigArn": f"arn:aws:sagemaker:us-east-1:1:endpoint-config/{name}-cfg",
            "ProductionVariants": [{"VariantName": "AllTraffic", "ModelName": f"{name}-model"}],
            "CreationTime": NOW,
        },
        {"EndpointConfigName": f"{name}-cfg"},
    )
    clients["application-autoscaling"].add_response("describe_scalable_targets", {"ScalableTargets": []})
    stub.add_response("delete_endpoint", {}, {"EndpointName": name})
    stub.add_response("delete_endpoint_config", {}, {"EndpointConfigName": f"{name}-cfg"})
    stub.add_response("delete_model", {}, {"ModelName": f"{name}-model"})


def test_cli_teardown_deletes_endpoint_config_and_model(clients: Clients, run_cli: Any) -> None:
    expect_endpoint_teardown(clients, "ep")
    result = run_cli("teardown", "ep")
    assert result.exit_code == 0, result.output
    assert "Deleted ep" in result.output
    assert "kept (`teardown --delete-data` deletes it)" in " ".join(result.output.split())


def expect_two_pages_of_endpoints(clients: Clients, config: ProjectConfig) -> list[str]:
    """ListEndpoints answers two pages, each with one endpoint of this project and one of another project whose name
    contains this project's; returns this project's endpoints."""
    ours = [job_name(config.project.name, "endpoint") for _ in range(2)]
    base = ours[0].rsplit("-endpoint-", 1)[0]
    others = [f"x-{ours[0]}"[:63], f"{base}-other"]
    summaries = [
        {
            "EndpointName": endpoint,
            "EndpointArn": f"arn:aws:sagemaker:us-east-1:1:endpoint/{endpoint}",
            "CreationTime": NOW,
            "LastModifiedTime": NOW,
            "EndpointStatus": "InService",
        }
        for endpoint in (ours[0], others[0], ours[1], others[1])
    ]
    listing = {"NameContains": base, "SortBy": "CreationTime", "SortOrder": "Descending", "MaxResults": 100}
    stub = clients["sagemaker"]
    stub.add_response("list_endpoints", {"Endpoints": summaries[:2], "NextToken": "page2"}, listing)
    stub.add_response("list_endpoints", {"Endpoints": summaries[2:]}, {**listing, "NextToken": "page2"})
    return ours


def test_cli_endpoints_lists_this_projects_endpoints_from_every_page(
    clients: Clients, run_cli: Any, config: ProjectConfig
) -> None:
    ours = expect_two_pages_of_endpoints(clients, config)
    result = run_cli("endpoints")
    assert result.exit_code == 0, result.output
    listed = [line.split()[1] for line in result.output.splitlines() if "InService" in line]
    assert listed == ours
    assert "Endpoints (2)" in result.output


def test_cli_teardown_of_all_deletes_only_this_projects_endpoints(
    clients: Clients, run_cli: Any, config: ProjectConfig
) -> None:
    """Other endpoints of the account, even those whose name contains the project's, are left alone."""
    ours = expect_two_pages_of_endpoints(clients, config)
    for endpoint in ours:
        expect_endpoint_teardown(clients, endpoint)
    result = run_cli("teardown")
    assert result.exit_code == 0, result.output
    assert [line for line in result.output.splitlines() if line.startswith("Deleted")] == [
        f"Deleted {endpoint}" for endpoint in ours
    ]


@pytest.mark.parametrize(("answer", "kept"), [("n\n", True), ("y\n", False)])
def test_cli_teardown_asks_before_deleting_the_data(
    clients: Clients, run_cli: Any, workflow: Workflow, answer: str, kept: bool
) -> None:
    clients["sagemaker"].add_response("list_endpoints", {"Endpoints": []})
    storage = workflow.backend.storage
    inside = [f"{workflow.locations.raw_data}/auto_mpg.csv", f"{workflow.locations.models}/job/output/model.tar.gz"]
    outside = f"s3://{BUCKET}/another-project/data.csv"
    for uri in (*inside, outside):
        storage.upload_bytes(b"x", uri)
    result = run_cli("teardown", "--delete-data", stdin=answer)
    assert result.exit_code == 0, result.output
    assert f"Delete the 2 objects under {workflow.locations.root}/" in " ".join(result.output.split())
    assert all(storage.exists(uri) for uri in inside) is kept
    assert storage.exists(outside)
    assert ("Kept the data" in result.output) is kept
    assert ("Deleted 2 objects" in result.output) is not kept


def test_cli_train_rejects_a_malformed_hyperparameter(run_cli: Any) -> None:
    result = run_cli("train", "--hyperparameter", "max_depth")
    assert result.exit_code == 1
    message = "--hyperparameter 'max_depth': expected name=value, e.g. --hyperparameter max_depth=8"
    assert message in " ".join(result.output.split())  # rich wraps lines at the terminal's width
    assert "Traceback" not in result.output


def test_deploy_with_data_capture_sends_a_valid_config(
    clients: Clients, backend: AwsBackend, config: ProjectConfig, project_root: Path
) -> None:
    """The Stubber validates the request against the service model; the captures land under the project."""
    capture = config.endpoint.data_capture.model_copy(update={"enabled": True, "sampling_percentage": 50})
    endpoint = config.endpoint.model_copy(update={"type": "realtime", "data_capture": capture})  # serverless has none
    captured = config.model_copy(update={"endpoint": endpoint})
    workflow = Workflow(captured, backend, project_root, lambda _line: None)
    request = workflow.requests.endpoint_config("placeholder", "mpg-predictor-model-1")
    assert request["DataCaptureConfig"]["DestinationS3Uri"] == workflow.locations.capture
    assert workflow.locations.capture.startswith(f"{workflow.locations.root}/")
    stub = clients["sagemaker"]
    stub.add_response(
        "create_endpoint_config",
        {"EndpointConfigArn": "arn:aws:sagemaker:us-east-1:1:endpoint-config/c"},
        {**request, "EndpointConfigName": ANY},
    )
    stub.add_response("create_endpoint", {"EndpointArn": "arn:aws:sagemaker:us-east-1:1:endpoint/e"})
    stub.add_response("describe_endpoint", endpoint_description("e", "c", "InService"))
    workflow.deploy("mpg-predictor-model-1")


def test_cli_without_credentials_is_a_clean_error(project_root: Path) -> None:
    env = {
        "AWS_ACCESS_KEY_ID": "",
        "AWS_SECRET_ACCESS_KEY": "",
        "AWS_SESSION_TOKEN": "",
        "AWS_PROFILE": None,
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": None,
        "AWS_CONTAINER_CREDENTIALS_FULL_URI": None,
        "COLUMNS": "200",
    }
    config_path = str(project_root / "config" / "project.yaml")
    for command in (["train"], ["run"], ["teardown"], ["endpoints"]):
        result = CliRunner().invoke(cli.app, [*command, "--aws", "--config", config_path], env=env)
        assert result.exit_code == 1, result.output
        assert "aws configure" in result.output
        assert "AWS_PROFILE" in result.output
        assert "Traceback" not in result.output


def endpoint_description(name: str, config_name: str, status: str) -> dict[str, Any]:
    return {
        "EndpointName": name,
        "EndpointArn": f"arn:aws:sagemaker:us-east-1:1:endpoint/{name}",
        "EndpointConfigName": config_name,
        "EndpointStatus": status,
        "CreationTime": NOW,
        "LastModifiedTime": NOW,
    }


@pytest.fixture
def with_endpoint(config: ProjectConfig) -> None:
    if config.endpoint.type == "batch":
        pytest.skip("endpoint.type batch: this project deploys no endpoint")


@pytest.mark.usefixtures("with_endpoint")
def test_cli_deploy_update_is_blue_green(clients: Clients, workflow: Workflow, run_cli: Any) -> None:
    expect_latest_processing(clients, workflow)
    stub = clients["sagemaker"]
    stub.add_response("describe_endpoint", endpoint_description("ep", "old-cfg", "InService"), {"EndpointName": "ep"})
    stub.add_response(
        "describe_endpoint_config",
        {
            "EndpointConfigName": "old-cfg",
            "EndpointConfigArn": "arn:aws:sagemaker:us-east-1:1:endpoint-config/old-cfg",
            "ProductionVariants": [{"VariantName": "AllTraffic", "ModelName": "old-model"}],
            "CreationTime": NOW,
        },
    )
    trained = training_description(workflow.requests.training_job("t"), "Completed")
    stub.add_response("describe_training_job", trained, {"TrainingJobName": "t"})
    stub.add_response("create_model", {"ModelArn": "arn:aws:sagemaker:us-east-1:1:model/m"})
    stub.add_response(
        "create_endpoint_config", {"EndpointConfigArn": "arn:aws:sagemaker:us-east-1:1:endpoint-config/n"}
    )
    clients["application-autoscaling"].add_response("describe_scalable_targets", {"ScalableTargets": []})
    stub.add_response("update_endpoint", {"EndpointArn": "arn:aws:sagemaker:us-east-1:1:endpoint/ep"})
    stub.add_response("describe_endpoint", endpoint_description("ep", "new-cfg", "Updating"))
    stub.add_response("describe_endpoint", endpoint_description("ep", "new-cfg", "InService"))
    stub.add_response("delete_endpoint_config", {}, {"EndpointConfigName": "old-cfg"})
    stub.add_response("delete_model", {}, {"ModelName": "old-model"})
    result = run_cli("deploy", "--training-job", "t", "--update", "ep")
    assert result.exit_code == 0, result.output
    assert "Endpoint ep is InService" in result.output
    assert "endpoint ep: Updating" in result.output


@pytest.mark.usefixtures("with_endpoint")
def test_cli_update_of_a_missing_endpoint_is_a_clean_error(clients: Clients, workflow: Workflow, run_cli: Any) -> None:
    expect_latest_processing(clients, workflow)
    stub = clients["sagemaker"]
    stub.add_client_error(
        "describe_endpoint",
        service_error_code="ValidationException",
        service_message='Could not find endpoint "arn:aws:sagemaker:us-east-1:1:endpoint/nope".',
    )
    result = run_cli("deploy", "--training-job", "t", "--update", "nope")
    assert result.exit_code == 1
    assert "ValidationException: Could not find endpoint" in result.output
    assert "Traceback" not in result.output
