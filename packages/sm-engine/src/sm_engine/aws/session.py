"""Resolve what a run on AWS needs: a boto3 session for the region, the execution role and the bucket."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from ..backends import FailureLogs
from ..errors import UserError
from ..images import ImageResolver
from ..storage import S3Storage, Storage
from ..waiting import PROCESSING_JOB, TRAINING_JOB, TRANSFORM_JOB, Observer, Resource
from ..workflow import WorkflowError
from .autoscaling import ApplicationAutoScaling
from .cloudwatch import JobWatcher, LogStreamer, last_lines, log_location
from .images import SdkImages

if TYPE_CHECKING:
    from ..config import ProjectConfig

# Present on SageMaker notebook instances and in Studio: the SDK reads its execution role from there.
SAGEMAKER_METADATA_FILE = Path("/opt/ml/metadata/resource-metadata.json")

NO_ROLE = (
    "no SageMaker execution role: set project.role_arn in the config to the ARN of an IAM role that SageMaker can "
    "assume (e.g. arn:aws:iam::<account>:role/SageMakerExecutionRole with AmazonSageMakerFullAccess and access to "
    "your bucket)"
)


class AwsSetupError(UserError):
    """The account settings a run needs cannot be resolved; the message says what to set."""


@dataclass
class AwsBackend:
    """The `Backend` on Amazon SageMaker, with the boto3 session for the other clients it needs (CloudWatch logs,
    application-autoscaling)."""

    sagemaker: Any
    runtime: Any
    storage: Storage
    bucket: str
    role_arn: str
    session: Any
    images: ImageResolver
    account_id: str
    name: str = field(default="aws", init=False)

    def client(self, service: str) -> Any:
        return self.session.client(service)

    @cached_property
    def autoscaling(self) -> ApplicationAutoScaling:
        return ApplicationAutoScaling(self.client("application-autoscaling"))

    @cached_property
    def logs(self) -> Any:
        """The CloudWatch Logs client."""
        return self.client("logs")

    def endpoint_url(self, endpoint_name: str) -> str | None:
        del endpoint_name  # one runtime URL serves every endpoint of the region
        return self.runtime.meta.endpoint_url

    def job_watcher(self, emit: Callable[[str], None] | None, status: Callable[[str], None]) -> Observer:
        return JobWatcher(self.logs, emit, status)

    def failure_logs(self, resource: Resource, name: str) -> FailureLogs:
        try:
            return FailureLogs(last_lines=last_lines(self.logs, resource, name))
        except (ClientError, BotoCoreError) as error:
            return FailureLogs(last_lines=[f"(CloudWatch logs unavailable: {error})"])

    def job_log(self, job_name: str) -> list[str]:
        """The log lines of the job, whichever kind it is (the first kind whose log group has them)."""
        for resource in (TRAINING_JOB, PROCESSING_JOB, TRANSFORM_JOB):
            location = log_location(resource, job_name)
            lines: list[str] = []
            if location is not None and LogStreamer(self.logs, *location, lines.append).poll():
                return lines
        raise WorkflowError(f"no CloudWatch logs for {job_name!r}: check the job name (it may not have started)")

    def remove_orphan_endpoints(self) -> list[str]:
        """None on SageMaker: DeleteEndpoint removes the instances with the endpoint."""
        return []


def aws_backend(config: ProjectConfig, project_root: Path, log: Callable[[str], None]) -> AwsBackend:
    """boto3 clients for `project.region`; the role and bucket from the config, else resolved as the SDK does;
    image URIs through the SDK when it is installed.

    `project_root` is unused on AWS (everything lives in S3); it keeps the signature of `local_backend`.
    """
    del project_root
    session = boto3.session.Session(region_name=config.project.region)
    if session.get_credentials() is None:
        raise NoCredentialsError()
    role_arn = resolve_role(config.project.role_arn)
    bucket = config.project.bucket or default_bucket(session, log)
    return AwsBackend(
        sagemaker=session.client("sagemaker"),
        runtime=session.client("sagemaker-runtime"),
        storage=S3Storage(session.client("s3")),
        bucket=bucket,
        role_arn=role_arn,
        images=SdkImages(log),
        account_id=session.client("sts").get_caller_identity()["Account"],  # the registry of the project's own image
        session=session,
    )


def resolve_role(role_arn: str | None) -> str:
    """The configured role; inside SageMaker Studio or a notebook instance, the SDK's `get_execution_role()`."""
    if role_arn:
        return role_arn
    if not SAGEMAKER_METADATA_FILE.is_file():
        raise AwsSetupError(NO_ROLE)
    try:  # the SDK is the optional `aws` extra: imported only here, inside SageMaker
        from sagemaker.core.helper.session_helper import get_execution_role
    except ImportError as error:
        raise AwsSetupError(
            f"{NO_ROLE}; or install the SageMaker Python SDK (the project's `aws` extra) to use the notebook's role"
        ) from error
    try:
        return get_execution_role()
    except (ValueError, BotoCoreError, ClientError) as error:
        raise AwsSetupError(f"{NO_ROLE} ({error})") from error


def default_bucket(session: Any, log: Callable[[str], None]) -> str:
    """`sagemaker-<region>-<account>`, created (in the session's region) when it does not exist yet."""
    region = session.region_name
    account = session.client("sts").get_caller_identity()["Account"]
    bucket = f"sagemaker-{region}-{account}"
    s3 = session.client("s3")
    try:
        s3.head_bucket(Bucket=bucket)
        return bucket
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code")
        if code not in {"404", "NoSuchBucket", "NotFound"}:
            raise AwsSetupError(
                f"the default bucket {bucket} exists but this account cannot use it ({code}): set project.bucket"
            ) from error
    location = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    try:
        s3.create_bucket(Bucket=bucket, **location)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "BucketAlreadyOwnedByYou":
            raise
    log(f"created the default bucket {bucket}")
    return bucket
