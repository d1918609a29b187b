"""Which training jobs run an image's built-in algorithm, and the metrics the service predefines for them.

A job of a built-in algorithm's image (`sagemaker-xgboost`) that names no training program runs the algorithm itself;
its CreateTrainingJob request carries no MetricDefinitions (the service refuses its own for an algorithm), and the
service captures the algorithm's predefined metrics from the log lines instead. Both executors read a job's metrics
through `metric_definitions`: the local one from the request it runs, the aws one (live metrics from CloudWatch) from
the DescribeTrainingJob answer, which has the same AlgorithmSpecification and HyperParameters.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import builtin_xgboost

# image repository -> the predefined metrics of its built-in algorithm; built-in algorithms are more rows.
ALGORITHM_METRICS: dict[str, Callable[[], list[dict[str, str]]]] = {
    "sagemaker-xgboost": builtin_xgboost.metric_definitions,
}


def image_repository(image: str) -> str:
    """`<account>.dkr.ecr.<region>.amazonaws.com/sagemaker-xgboost:1.7-1` -> `sagemaker-xgboost`."""
    return image.rpartition("/")[2].partition(":")[0].partition("@")[0]


def has_program(job: dict[str, Any]) -> bool:
    """Whether the job names a training script (script mode) rather than running the image's own algorithm."""
    hyperparameters = job.get("HyperParameters") or {}
    return bool((job.get("Environment") or {}).get("SAGEMAKER_PROGRAM") or hyperparameters.get("sagemaker_program"))


def metric_definitions(job: dict[str, Any]) -> list[dict[str, str]]:
    """The MetricDefinitions of a training job (request or description), or, for a built-in algorithm's job without
    definitions of its own, the algorithm's predefined metrics."""
    specification = job.get("AlgorithmSpecification") or {}
    own = list(specification.get("MetricDefinitions") or [])
    predefined = ALGORITHM_METRICS.get(image_repository(specification.get("TrainingImage") or ""))
    if own or predefined is None or has_program(job):
        return own
    return predefined()
