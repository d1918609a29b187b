"""CloudWatch logs of SageMaker jobs and endpoints, streamed while they run (as the SDK's `logs=True`)."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from ..algorithms import metric_definitions
from ..metric_capture import MetricCapture
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
    """A `waiting.observing` observer: reports status changes and the training metrics as they arrive (the
    MetricDefinitions regexes applied to the new CloudWatch log lines, then FinalMetricDataList) and, given `emit`,
    streams each resource's new log lines."""

    def __init__(self, client: Any, emit: Callable[[str], None] | None, status: Callable[[str], None]) -> None:
        self.client = client
        self.emit = emit
        self.status = status
        self.streaming = True
        self.streamers: dict[tuple[str, str], LogStreamer] = {}
        self.captures: dict[tuple[str, str], MetricCapture | None] = {}
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
        self._stream(resource, name, description)
        metrics = ", ".join(f"{m['MetricName']}={m['Value']:.4g}" for m in description.get("FinalMetricDataList", []))
        if metrics and self.metrics.get(key) != metrics:
            self.metrics[key] = metrics
            self.status(f"{resource.kind} {name} metrics: {metrics}")

    def _capture(self, resource: Resource, name: str, description: dict[str, Any]) -> MetricCapture | None:
        """The job's MetricDefinitions as a MetricCapture that reports each value; None for a job without any."""
        key = (resource.kind, name)
        if key not in self.captures:
            definitions = metric_definitions(description)  # a built-in algorithm's: its predefined metrics

            def report(metric: str, value: float, _count: int) -> None:
                self.status(f"{resource.kind} {name} {metric} = {value:.4g}")

            self.captures[key] = MetricCapture(definitions, report) if definitions else None
        return self.captures[key]

    def _stream(self, resource: Resource, name: str, description: dict[str, Any]) -> None:
        """Read the new log lines when there is someone to show them to or metrics to find in them."""
        location = log_location(resource, name)
        capture = self._capture(resource, name, description)
        if location is None or not self.streaming or (self.emit is None and capture is None):
            return
        key = (resource.kind, name)
        if key not in self.streamers:

            def line(text: str) -> None:
                if capture is not None:
                    capture.feed(text)
                if self.emit is not None:
                    self.emit(text)

            self.streamers[key] = LogStreamer(self.client, *location, line)
        try:
            self.streamers[key].poll()
        except ClientError as error:  # e.g. no logs:FilterLogEvents permission: keep waiting, without logs
            self.streaming = False
            (self.emit or self.status)(f"CloudWatch logs unavailable, not streaming them: {error}")
