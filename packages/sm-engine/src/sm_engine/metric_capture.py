"""MetricDefinitions applied to a job's output lines, as the service does (contract §1): one parser for the local
executor (the job's stdout and stderr) and the aws executor (the CloudWatch log lines as they arrive)."""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

# (metric name, value, how many values of that metric so far)
MetricListener = Callable[[str, float, int], None]


@dataclass
class Emission:
    """One metric value captured from the job's output."""

    name: str
    value: float
    timestamp: datetime


@dataclass
class MetricCapture:
    """Applies MetricDefinitions regexes to every output line; keeps every value with its time."""

    definitions: list[dict[str, str]]
    listener: MetricListener | None = None
    emissions: list[Emission] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._patterns = [(d["Name"], re.compile(d["Regex"])) for d in self.definitions]
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()

    def feed(self, line: str) -> None:
        for name, pattern in self._patterns:
            for match in pattern.finditer(line):
                try:
                    value = float(match.group(1))
                except (IndexError, TypeError, ValueError):
                    continue
                if not math.isfinite(value):
                    continue
                with self._lock:
                    self.emissions.append(Emission(name, value, datetime.now(timezone.utc)))
                    step = self._counts[name] = self._counts.get(name, 0) + 1
                if self.listener is not None:
                    self.listener(name, value, step)

    def final(self) -> list[dict[str, Any]]:
        """FinalMetricDataList: the last value of every metric, in definition order."""
        last = {emission.name: emission for emission in self.emissions}
        return [
            {"MetricName": name, "Value": last[name].value, "Timestamp": last[name].timestamp}
            for name, _pattern in self._patterns
            if name in last
        ]
