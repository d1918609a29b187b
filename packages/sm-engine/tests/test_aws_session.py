"""The aws executor's setup, offline with moto: default bucket, role resolution, S3 uploads and code packaging."""

from __future__ import annotations

import io
import sys
import tarfile
import types
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import NoCredentialsError
from moto import mock_aws

from sm_engine.aws import session as aws_session
from sm_engine.aws.images import SdkImages
from sm_engine.aws.session import AwsBackend, AwsSetupError, aws_backend, default_bucket, resolve_role
from sm_engine.config import ProjectConfig
from sm_engine.workflow import Deployment, ProcessingResult, TrainingResult, Workflow

ROLE = "arn:aws:iam::123456789012:role/SageMakerExecutionRole"
MOTO_ACCOUNT = "123456789012"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fake credentials and moto in place of every AWS endpoint."""
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        yield


def with_project(config: ProjectConfig, **changes: object) -> ProjectConfig:
    return config.model_copy(update={"project": config.project.model_copy(update=changes)})


@pytest.mark.parametrize(("region", "constraint"), [("eu-west-1", "eu-west-1"), ("us-east-1", None)])
def test_default_bucket_is_created_in_the_region(aws: None, region: str, constraint: str | None) -> None:
    session = boto3.session.Session(region_name=region)
    logged: list[str] = []
    bucket = default_bucket(session, logged.append)
    assert bucket == f"sagemaker-{region}-{MOTO_ACCOUNT}"
    location = session.client("s3").get_bucket_location(Bucket=bucket)["LocationConstraint"]
    assert location == constraint
    assert logged == [f"created the default bucket {bucket}"]
    assert default_bucket(session, logged.append) == bucket
    assert len(logged) == 1


def test_backend_resolves_region_role_and_bucket(aws: None, config: ProjectConfig, project_root: Path) -> None:
    settings = with_project(config, region="eu-west-1", role_arn=ROLE, bucket=None)
    backend = aws_backend(settings, project_root, lambda _line: None)
    assert isinstance(backend, AwsBackend)
    assert backend.name == "aws"
    assert backend.role_arn == ROLE
    assert backend.bucket == f"sagemaker-eu-west-1-{MOTO_ACCOUNT}"
    assert backend.account_id == MOTO_ACCOUNT
    assert backend.sagemaker.meta.region_name == "eu-west-1"
    assert backend.endpoint_url("any") == "https://runtime.sagemaker.eu-west-1.amazonaws.com"
    assert isinstance(backend.images, SdkImages)  # image URIs through the SDK's lookup (or its fallback)
    image = Workflow(settings, backend, project_root, print).requests.processing_job("p")["AppSpecification"]
    assert image["ImageUri"] == "141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-scikit-learn:1.9-0-cpu-py3"


def test_configured_bucket_is_used_as_is(aws: None, config: ProjectConfig, project_root: Path) -> None:
    settings = with_project(config, role_arn=ROLE, bucket="my-own-bucket")
    backend = aws_backend(settings, project_root, lambda _line: None)
    assert backend.bucket == "my-own-bucket"
    assert boto3.client("s3", region_name="us-east-1").list_buckets()["Buckets"] == []


def test_uploads_data_and_packed_code_to_s3(
    aws: None, config: ProjectConfig, project_root: Path, tmp_path: Path
) -> None:
    settings = with_project(config, role_arn=ROLE, bucket=None)
    backend = aws_backend(settings, project_root, lambda _line: None)
    workflow = Workflow(settings, backend, project_root, lambda _line: None)
    data_uri = workflow.upload_inputs()
    prefix = f"s3://{backend.bucket}/{config.project.prefix}"
    assert data_uri.startswith(f"{prefix}/{config.storage.raw}/")
    assert data_uri == workflow.locations.raw_data_object(project_root / config.data.local_path)
    assert backend.storage.read_bytes(data_uri) == (project_root / config.data.local_path).read_bytes()
    assert backend.storage.exists(f"{prefix}/{config.storage.code}/jobs/preprocess.py")
    archive = backend.storage.read_bytes(workflow.locations.sourcedir)
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        names = tar.getnames()
    assert {"preprocess.py", "features.py", "preprocessor_inference.py"} <= set(names)
    downloaded = backend.storage.download_file(data_uri, tmp_path / "copy" / "data.csv")
    assert downloaded.read_bytes() == (project_root / config.data.local_path).read_bytes()


def test_no_role_outside_sagemaker_says_how_to_set_one(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(aws_session, "SAGEMAKER_METADATA_FILE", tmp_path / "absent.json")
    with pytest.raises(AwsSetupError, match=r"set project\.role_arn"):
        resolve_role(None)


def test_role_inside_sagemaker_without_the_sdk_names_the_extra(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    metadata = tmp_path / "resource-metadata.json"
    metadata.write_text("{}")
    monkeypatch.setattr(aws_session, "SAGEMAKER_METADATA_FILE", metadata)
    for module in ("sagemaker", "sagemaker.core", "sagemaker.core.helper", "sagemaker.core.helper.session_helper"):
        monkeypatch.setitem(sys.modules, module, None)  # not installed, even where another test imported it
    with pytest.raises(AwsSetupError, match=r"`aws` extra"):
        resolve_role(None)


def fake_sdk(monkeypatch: pytest.MonkeyPatch, get_execution_role: object) -> None:
    """The SDK's session_helper module with the given get_execution_role."""
    names = ["sagemaker", "sagemaker.core", "sagemaker.core.helper", "sagemaker.core.helper.session_helper"]
    for name in names:
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    sys.modules[names[-1]].get_execution_role = get_execution_role  # type: ignore[attr-defined]


def test_role_inside_sagemaker_comes_from_the_sdk(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    metadata = tmp_path / "resource-metadata.json"
    metadata.write_text("{}")
    monkeypatch.setattr(aws_session, "SAGEMAKER_METADATA_FILE", metadata)
    fake_sdk(monkeypatch, lambda: ROLE)
    assert resolve_role(None) == ROLE
    assert resolve_role("arn:aws:iam::1:role/Configured") == "arn:aws:iam::1:role/Configured"


def test_sdk_role_error_becomes_a_setup_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    metadata = tmp_path / "resource-metadata.json"
    metadata.write_text("{}")
    monkeypatch.setattr(aws_session, "SAGEMAKER_METADATA_FILE", metadata)

    def not_a_role() -> str:
        raise ValueError("The current AWS identity is not a role")

    fake_sdk(monkeypatch, not_a_role)
    with pytest.raises(AwsSetupError, match="not a role"):
        resolve_role(None)


def test_no_credentials_raises_before_any_call(
    monkeypatch: pytest.MonkeyPatch, config: ProjectConfig, project_root: Path
) -> None:
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    for key in ("AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.setenv(key, "/dev/null")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", raising=False)
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", raising=False)
    with pytest.raises(NoCredentialsError):
        aws_backend(with_project(config, role_arn=ROLE), project_root, lambda _line: None)


def test_model_endpoint_create_describe_delete_on_moto(aws: None, config: ProjectConfig, project_root: Path) -> None:
    """The workflow's CreateModel / CreateEndpointConfig / CreateEndpoint requests accepted by moto's SageMaker,
    described back, and all deleted by the teardown."""
    settings = with_project(config, role_arn=ROLE, bucket="my-bucket")
    backend = aws_backend(settings, project_root, lambda _line: None)
    workflow = Workflow(settings, backend, project_root, lambda _line: None)
    models = workflow.locations.models
    training = TrainingResult("job", f"{models}/job/output/model.tar.gz", {}, {})
    processing = ProcessingResult("process", workflow.locations.processing_outputs())
    model_name = workflow.create_model(training, processing)
    described = backend.sagemaker.describe_model(ModelName=model_name)
    assert described["ExecutionRoleArn"] == ROLE
    if settings.endpoint.type == "batch":
        workflow.teardown(Deployment(model_name))
    else:
        deployment = workflow.deploy(model_name)
        assert workflow.endpoint_deployment(str(deployment.endpoint_name)) == deployment
        workflow.teardown(deployment)
        assert backend.sagemaker.list_endpoints()["Endpoints"] == []
        assert backend.sagemaker.list_endpoint_configs()["EndpointConfigs"] == []
    assert backend.sagemaker.list_models()["Models"] == []
