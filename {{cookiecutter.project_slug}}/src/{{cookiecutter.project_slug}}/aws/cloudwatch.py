"""CloudWatch logs of SageMaker jobs and endpoints, streamed while they run (as the SDK's `logs=True`)."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from ..waiting import ENDPOINT, PROCESSING_JOB, TRAINING_JOB, TRANSFORM_JOB, Resource

JOB_LOG_GROUPS = {
    PROCESSING_JOB.kind: "/aws/sagemaker/ProcessingJobs",
    TRAINING_JOB.kind: "/aws/sagemaker/TrainingJobs",
    TRANSFORM_JOB.kind: "/aws/sagemaker/TransformJobs",
}


def log_location(resource: Resource, name: str) -> tuple[str, str | None] | None:
    """(log group, log stream prefix) of a resource; None for kinds without logs of their own (tuning jobs).

    Job streams are named `<job name>/<host>...`; an endpoint has a group of its own, one stream per instance.
    """
    if resource.kind == ENDPOINT.kind:
        return f"/aws/sagemaker/Endpoints/{name}", None
    group = JOB_LOG_GROUPS.get(resource.kind)
    return None if group is None else (group, f"{name}/")


class LogStreamer:
    """Fetch the events that are new since the last call, oldest first, and hand each message to `emit`."""

    def __init__(self, client: Any, group: str, prefix: str | None, emit: Callable[[str], None]) -> None:
        self.client = client
        self.group = group
        self.prefix = prefix
        self.emit = emit
        self.start_time = 0
        self.seen: set[str] = set()

    def poll(self) -> int:
        """Emit the new events; return how many. A group or stream that does not exist yet has none."""
        request: dict[str, Any] = {"logGroupName": self.group, "startTime": self.start_time}
        if self.prefix:
            request["logStreamNamePrefix"] = self.prefix
        count = 0
        while True:
            try:
                page = self.client.filter_log_events(**request)
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                    return count
                raise
            for event in page.get("events", []):
                count += self._emit(event)
            if not page.get("nextToken"):
                return count
            request["nextToken"] = page["nextToken"]

    def _emit(self, event: dict[str, Any]) -> int:
        """Events at the last timestamp come again on the next call (startTime is inclusive): skip those seen."""
        if event["eventId"] in self.seen:
            return 0
        if event["timestamp"] > self.start_time:
            self.start_time = event["timestamp"]
            self.seen.clear()
        self.seen.add(event["eventId"])
        self.emit(event["message"].rstrip("\n"))
        return 1


def last_lines(client: Any, resource: Resource, name: str, count: int = 20) -> list[str]:
    """The last `count` log lines of a resource (empty when it has none)."""
    location = log_location(resource, name)
    if location is None:
        return []
    lines: deque[str] = deque(maxlen=count)
    LogStreamer(client, *location, lines.append).poll()
    return list(lines)


class JobWatcher:
    """A `waiting.observing` observer: reports status changes and the training metrics (MetricDefinitions values)
    as they arrive and, given `emit`, streams each resource's new log lines."""

    def __init__(self, client: Any, emit: Callable[[str], None] | None, status: Callable[[str], None]) -> None:
        self.client = client
        self.emit = emit
        self.status = status
        self.streamers: dict[tuple[str, str], LogStreamer] = {}
        self.states: dict[tuple[str, str], str] = {}
        self.metrics: dict[tuple[str, str], str] = {}

    def __call__(self, resource: Resource, name: str, description: dict[str, Any]) -> None:
        key = (resource.kind, name)
        state = description.get(resource.status_key, "")
        secondary = description.get("SecondaryStatus")
        label = f"{state} ({secondary})" if secondary and secondary != state else state
        if self.states.get(key) != label:
            self.states[key] = label
            self.status(f"{resource.kind} {name}: {label}")
        metrics = ", ".join(f"{m['MetricName']}={m['Value']:.4g}" for m in description.get("FinalMetricDataList", []))
        if metrics and self.metrics.get(key) != metrics:
            self.metrics[key] = metrics
            self.status(f"{resource.kind} {name} metrics: {metrics}")
        location = log_location(resource, name)
        if self.emit is not None and location is not None:
            if key not in self.streamers:
                self.streamers[key] = LogStreamer(self.client, *location, self.emit)
            try:
                self.streamers[key].poll()
            except ClientError as error:  # e.g. no logs:FilterLogEvents permission: keep waiting, without logs
                self.emit(f"CloudWatch logs unavailable, not streaming them: {error}")
                self.emit = None
