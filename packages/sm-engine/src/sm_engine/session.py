"""`local_session()`: a boto3 Session whose SageMaker clients are the local executor's.

Code written against boto3 sessions, SDK v3 (`sagemaker-core`) resources among them, runs on this machine unchanged:
`session.client("sagemaker")` is a LocalSageMakerClient and `session.client("sagemaker-runtime")` its
LocalSageMakerRuntimeClient; any other service is boto3's own. sagemaker-core checks that `session=` is a real
`boto3.session.Session`, which this is.

    from sagemaker.core.resources import TrainingJob
    from sm_engine.session import local_session

    session = local_session(root=".sagemaker-local")
    TrainingJob.create(..., session=session, region="us-east-1").wait()
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3

from .local.client import LocalSageMakerClient
from .local.runtime import LocalSageMakerRuntimeClient


class LocalSession(boto3.session.Session):
    """A boto3 Session that answers `client("sagemaker")` and `client("sagemaker-runtime")` with the local clients."""

    def __init__(self, sagemaker: LocalSageMakerClient) -> None:
        super().__init__(region_name=sagemaker.region)
        self.sagemaker = sagemaker
        self.runtime = LocalSageMakerRuntimeClient(sagemaker.endpoint_url, region=sagemaker.region)

    def client(self, service_name: str, *args: Any, **kwargs: Any) -> Any:
        """The local client of the two SageMaker services (their region and config arguments do not apply)."""
        if service_name == "sagemaker":
            return self.sagemaker
        if service_name == "sagemaker-runtime":
            return self.runtime
        return super().client(service_name, *args, **kwargs)


def local_session(root: str | Path = ".sagemaker-local", region: str = "us-east-1", **options: Any) -> LocalSession:
    """A session on the local executor rooted at `root` (S3 under `<root>/s3`); `options` go to LocalSageMakerClient
    (host, port, workers, log, own_images)."""
    return LocalSession(LocalSageMakerClient(Path(root), region=region, **options))
