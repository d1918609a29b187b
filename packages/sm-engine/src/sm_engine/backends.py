"""Build the Backend a command runs against: the local executor (default) or AWS."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from .aws.session import aws_backend
from .config import ProjectConfig
from .images import LOCAL_ACCOUNT
from .local.client import LocalSageMakerClient
from .local.runtime import LocalSageMakerRuntimeClient
from .storage import LocalStorage
from .workflow import Backend


def local_root(config: ProjectConfig, project_root: Path) -> Path:
    """The folder that stands for S3 and for the jobs' /opt/ml (config `local.root`, relative to the project)."""
    return (project_root / config.local.root).resolve()


def local_backend(config: ProjectConfig, project_root: Path, log: Callable[[str], None]) -> Backend:
    """Everything runs on this machine; S3 is a folder, jobs are processes, endpoints are local servers."""
    root = local_root(config, project_root)
    own_images = {config.container.repository: str(project_root.resolve())} if config.container else {}
    client = LocalSageMakerClient(
        root,
        region=config.project.region,
        host=config.local.host,
        port=config.local.port,
        workers=config.local.workers,
        log=log,
        own_images=own_images,  # the project's own image runs from container/ (training.mode container)
    )
    return Backend(
        name="local",
        sagemaker=client,
        runtime=LocalSageMakerRuntimeClient(client.endpoint_url),
        storage=LocalStorage(root),
        bucket=config.project.bucket or f"sagemaker-{config.project.region}-{LOCAL_ACCOUNT}",
        role_arn=config.project.role_arn or f"arn:aws:iam::{LOCAL_ACCOUNT}:role/SageMakerLocalExecutionRole",
        describe_endpoint_url=client.endpoint_url,
    )


def make_backend(config: ProjectConfig, project_root: Path, log: Callable[[str], None], *, aws: bool) -> Backend:
    """The aws executor when `aws`, else the local one: both take the same requests."""
    return (aws_backend if aws else local_backend)(config, project_root, log)
