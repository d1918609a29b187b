"""Where a command's requests go: the `Backend` interface, its local implementation and `make_backend`.

The executors themselves are imported when a backend is made, not with this module, so the command line starts
without them.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from .images import LOCAL_ACCOUNT, ImageResolver, image_uri
from .storage import LocalStorage, Storage, StorageError
from .workflow import WorkflowError

if TYPE_CHECKING:
    from .config import ProjectConfig
    from .waiting import Observer, Resource


@dataclass(frozen=True)
class FailureLogs:
    """Where to read why a job failed: its kept log file (local) or its last log lines (AWS CloudWatch)."""

    path: Path | None = None
    last_lines: list[str] = field(default_factory=list)


class EndpointScaling(Protocol):
    """Auto scaling of endpoint variants (application-autoscaling on AWS)."""

    def apply(self, requests: list[tuple[str, dict[str, Any]]]) -> None:
        """Send `RequestFactory.autoscaling_requests` in order."""

    def remove(self, endpoint_name: str) -> int:
        """Deregister the endpoint's scalable targets; return how many."""


class Backend(Protocol):
    """The SageMaker and runtime clients, the storage and the account settings the workflow's requests go to, and
    what differs between the executors: auto scaling, endpoint URLs, job logs and live job status."""

    name: str
    sagemaker: Any
    runtime: Any
    storage: Storage
    bucket: str
    role_arn: str
    images: ImageResolver
    account_id: str

    @property
    def autoscaling(self) -> EndpointScaling | None:
        """None where endpoints are not scaled (the local executor serves each variant from one server)."""

    def endpoint_url(self, endpoint_name: str) -> str | None:
        """The base URL that serves the endpoint's invocations."""

    def job_watcher(self, emit: Callable[[str], None] | None, status: Callable[[str], None]) -> Observer | None:
        """A `waiting.observing` observer that reports remote status (and, given `emit`, log lines); None when jobs
        report nothing beyond their status."""

    def failure_logs(self, resource: Resource, name: str) -> FailureLogs:
        """Where to read the log of a failed job or endpoint."""

    def job_log(self, job_name: str) -> list[str]:
        """Every log line of a processing, training or transform job; WorkflowError when it has none."""

    def remove_orphan_endpoints(self) -> list[str]:
        """Stop what still serves endpoints that no longer exist (a deletion interrupted) and remove their files;
        return their names."""


def local_root(config: ProjectConfig, project_root: Path) -> Path:
    """The folder that stands for S3 and for the jobs' /opt/ml (config `local.root`, relative to the project)."""
    return (project_root / config.local.root).resolve()


def writable_root(root: Path) -> Path:
    """`root`, created if absent; StorageError when nothing can be written there (a read-only disk, no permission,
    a file in the way), before a job or an endpoint fails halfway with that error."""
    try:
        root.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=root):
            pass
    except OSError as error:
        raise StorageError(
            f"local.root {root}: cannot write there ({error.strerror or error}); make it writable, or point "
            "local.root in config/project.yaml at a writable folder"
        ) from None
    return root


@dataclass
class LocalBackend:
    """Everything on this machine: S3 is a folder (`root`), jobs are processes, endpoints are local servers."""

    sagemaker: Any
    runtime: Any
    storage: Storage
    bucket: str
    role_arn: str
    root: Path
    images: ImageResolver = image_uri
    account_id: str = LOCAL_ACCOUNT
    autoscaling: None = None
    name: str = field(default="local", init=False)

    def endpoint_url(self, endpoint_name: str) -> str | None:
        return self.sagemaker.endpoint_url(endpoint_name)

    def job_watcher(self, emit: Callable[[str], None] | None, status: Callable[[str], None]) -> Observer | None:
        del emit, status  # local jobs settle in seconds and keep their log in a file
        return None

    def failure_logs(self, resource: Resource, name: str) -> FailureLogs:
        del resource  # every kind keeps its log under jobs/<kind>/<name>/
        return FailureLogs(path=self.log_file(name))

    def job_log(self, job_name: str) -> list[str]:
        path = self.log_file(job_name)
        if path is None:
            raise WorkflowError(f"no log for {job_name!r}: check the name with `endpoints` or the run's output")
        return path.read_text(encoding="utf-8", errors="replace").splitlines()

    def remove_orphan_endpoints(self) -> list[str]:
        return self.sagemaker.remove_orphan_endpoints()

    def log_file(self, name: str) -> Path | None:
        """The kept log of a local job, whatever its kind."""
        matches = sorted(self.root.glob(f"jobs/*/{name}/logs.txt"))
        return matches[0] if matches else None


def local_backend(config: ProjectConfig, project_root: Path, log: Callable[[str], None]) -> LocalBackend:
    """The local executor for the project at `project_root`."""
    from .local.client import LocalSageMakerClient
    from .local.runtime import LocalSageMakerRuntimeClient

    root = writable_root(local_root(config, project_root))
    own_images = {config.container.repository: str(project_root.resolve())} if config.container else {}
    client = LocalSageMakerClient(
        root,
        region=config.project.region,
        host=config.local.host,
        port=config.local.port,
        workers=config.local.workers,
        environments=config.local.environments,  # pinned: each image's versions in a cached virtualenv
        log=log,
        own_images=own_images,  # the project's own image runs from container/ (training.mode container)
    )
    return LocalBackend(
        sagemaker=client,
        runtime=LocalSageMakerRuntimeClient(client.endpoint_url),
        storage=LocalStorage(root),
        bucket=config.project.bucket or f"sagemaker-{config.project.region}-{LOCAL_ACCOUNT}",
        role_arn=config.project.role_arn or f"arn:aws:iam::{LOCAL_ACCOUNT}:role/SageMakerLocalExecutionRole",
        root=root,
    )


def make_backend(config: ProjectConfig, project_root: Path, log: Callable[[str], None], *, aws: bool) -> Backend:
    """The aws executor when `aws`, else the local one: both take the same requests."""
    if not aws:
        return local_backend(config, project_root, log)
    from .aws.session import aws_backend

    return aws_backend(config, project_root, log)
