"""Polling a SageMaker resource until it settles: one loop for the local and the aws executor."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from .errors import JobError, SmEngineError

TERMINAL = {"Completed", "Failed", "Stopped", "InService", "OutOfService"}


@dataclass(frozen=True)
class Resource:
    """How to describe (and stop) one kind of resource and read its status."""

    kind: str
    describe: str
    name_key: str
    status_key: str
    stop: str | None = None


PROCESSING_JOB = Resource(
    "processing job", "describe_processing_job", "ProcessingJobName", "ProcessingJobStatus", "stop_processing_job"
)
TRAINING_JOB = Resource(
    "training job", "describe_training_job", "TrainingJobName", "TrainingJobStatus", "stop_training_job"
)
TUNING_JOB = Resource(
    "tuning job",
    "describe_hyper_parameter_tuning_job",
    "HyperParameterTuningJobName",
    "HyperParameterTuningJobStatus",
    "stop_hyper_parameter_tuning_job",
)
TRANSFORM_JOB = Resource(
    "transform job", "describe_transform_job", "TransformJobName", "TransformJobStatus", "stop_transform_job"
)
ENDPOINT = Resource("endpoint", "describe_endpoint", "EndpointName", "EndpointStatus")

SUCCESS = {"Completed", "InService"}

Observer = Callable[[Resource, str, dict[str, Any]], None]
_observers: list[Observer] = []


class ResourceFailed(JobError):
    """A job or endpoint ended in a state other than success; the message says which and why."""

    def __init__(self, resource: Resource, name: str, description: dict[str, Any]) -> None:
        self.resource = resource
        self.name = name
        self.description = description
        self.status = description.get(resource.status_key, "unknown")
        # a processing script says what went wrong in its ExitMessage; FailureReason then only gives the exit code
        reasons = [description.get("ExitMessage"), description.get("FailureReason")]
        self.reason = "\n".join(str(reason).strip() for reason in reasons if reason) or "no reason given"
        super().__init__(f"{resource.kind} {name} {self.status.lower()}: {self.reason}")


class WaitInterrupted(SmEngineError):
    """Ctrl-C while waiting: the resource keeps running unless `stop()` is called."""

    def __init__(self, client: Any, resource: Resource, name: str) -> None:
        self.client = client
        self.resource = resource
        self.name = name
        super().__init__(f"stopped waiting for {resource.kind} {name}")

    @property
    def stoppable(self) -> bool:
        return self.resource.stop is not None and hasattr(self.client, self.resource.stop)

    def stop(self) -> None:
        """Send Stop*Job for the resource (StopTrainingJob, StopProcessingJob, ...)."""
        if self.resource.stop is None:
            raise ValueError(f"a {self.resource.kind} cannot be stopped")
        getattr(self.client, self.resource.stop)(**{self.resource.name_key: self.name})


@contextmanager
def observing(observer: Observer) -> Iterator[None]:
    """Call `observer(resource, name, description)` on every poll of every wait inside the block."""
    _observers.append(observer)
    try:
        yield
    finally:
        _observers.remove(observer)


def wait_for(
    client: Any,
    resource: Resource,
    name: str,
    *,
    poll_seconds: float = 0.05,
    max_poll_seconds: float = 30.0,
    timeout_seconds: float | None = None,
    on_poll: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Describe `name` until its status is terminal; return the description or raise ResourceFailed.

    The delay grows from `poll_seconds` to `max_poll_seconds`, and stays under a tenth of the time waited so far (local
    jobs settle in milliseconds or seconds, AWS ones in minutes).
    Ctrl-C raises WaitInterrupted, which can stop the resource.
    """
    try:
        return _poll(client, resource, name, poll_seconds, max_poll_seconds, timeout_seconds, on_poll)
    except KeyboardInterrupt:
        raise WaitInterrupted(client, resource, name) from None


def _poll(
    client: Any,
    resource: Resource,
    name: str,
    poll_seconds: float,
    max_poll_seconds: float,
    timeout_seconds: float | None,
    on_poll: Callable[[dict[str, Any]], None] | None,
) -> dict[str, Any]:
    describe = getattr(client, resource.describe)
    started = time.monotonic()
    deadline = None if timeout_seconds is None else started + timeout_seconds
    delay = poll_seconds
    while True:
        description = describe(**{resource.name_key: name})
        for observer in _observers:
            observer(resource, name, description)
        if on_poll is not None:
            on_poll(description)
        status = description[resource.status_key]
        if status in TERMINAL:
            if status not in SUCCESS:
                raise ResourceFailed(resource, name, description)
            return description
        if deadline is not None and time.monotonic() > deadline:
            raise TimeoutError(f"{resource.kind} {name} still {status} after {timeout_seconds:.0f} s")
        time.sleep(delay)
        # at most ~10 % of the time waited so far: a local job is seen done soon after it is (not 50 % later)
        delay = min(delay * 1.5, max_poll_seconds, max(poll_seconds, 0.1 * (time.monotonic() - started)))
