"""Local hyperparameter tuning jobs (contract §6): the checks of a request, each trial's training request, and the
summaries that describe and list report. tuning_study.py runs the job with optuna (imported with the first tuning job).

Strategies: Bayesian = TPESampler, Random = RandomSampler, Grid = every combination of the categorical ranges,
Hyperband = RandomSampler with optuna's HyperbandPruner fed every emitted value of the objective metric (one step per
emission); a pruned trial's training job is stopped (status Stopped). This is optuna's Hyperband, not SageMaker's own
resource allocation: it decides early stopping only. Each trial's objective is the LAST emitted value of the metric.
"""

from __future__ import annotations

import math
from typing import Any

from ..errors import ValidationException
from . import training
from .state import StateStore

KIND = "tuning-jobs"
TRAINING_KIND = training.KIND
OBJECTIVE_METRIC_KEY = "_tuning_objective_metric"


def range_bounds(item: dict[str, str], cast: type) -> tuple[Any, Any]:
    """MinValue and MaxValue of an Integer or Continuous range as `cast` values; ValidationException when they are
    not, or when MinValue is greater."""
    try:
        low, high = cast(item["MinValue"]), cast(item["MaxValue"])
    except ValueError:
        raise ValidationException(f"range {item['Name']}: MinValue/MaxValue must be {cast.__name__} values") from None
    if low > high:
        raise ValidationException(f"range {item['Name']}: MinValue {low} is greater than MaxValue {high}")
    return low, high


def check_ranges(config: dict[str, Any]) -> None:
    """Raise ValidationException for what the service rejects at creation: bad bounds, log scales, Grid misuse."""
    ranges = config.get("ParameterRanges", {})
    for item in ranges.get("IntegerParameterRanges", []):
        low, _high = range_bounds(item, int)
        if item.get("ScalingType") == "Logarithmic" and low <= 0:
            raise ValidationException(f"range {item['Name']}: Logarithmic scaling needs MinValue > 0")
        if item.get("ScalingType") == "ReverseLogarithmic":
            raise ValidationException(f"range {item['Name']}: ReverseLogarithmic applies to continuous ranges only")
    for item in ranges.get("ContinuousParameterRanges", []):
        low, high = range_bounds(item, float)
        if item.get("ScalingType") == "Logarithmic" and low <= 0:
            raise ValidationException(f"range {item['Name']}: Logarithmic scaling needs MinValue > 0")
        if item.get("ScalingType") == "ReverseLogarithmic" and not (low >= 0 and high < 1):
            raise ValidationException(f"range {item['Name']}: ReverseLogarithmic needs 0 <= MinValue <= MaxValue < 1")
    if config["Strategy"] == "Grid":
        if ranges.get("IntegerParameterRanges") or ranges.get("ContinuousParameterRanges"):
            raise ValidationException("the Grid strategy takes categorical parameter ranges only")
        if not ranges.get("CategoricalParameterRanges"):
            raise ValidationException("the Grid strategy needs at least one categorical parameter range")


def grid(config: dict[str, Any]) -> dict[str, list[str]]:
    return {item["Name"]: list(item["Values"]) for item in config["ParameterRanges"]["CategoricalParameterRanges"]}


def max_jobs(config: dict[str, Any]) -> int:
    """MaxNumberOfTrainingJobs, or the number of grid combinations when absent with Grid."""
    limits = config.get("ResourceLimits", {})
    if "MaxNumberOfTrainingJobs" in limits:
        return limits["MaxNumberOfTrainingJobs"]
    if config["Strategy"] == "Grid":
        return math.prod(len(values) for values in grid(config).values())
    raise ValidationException("ResourceLimits.MaxNumberOfTrainingJobs is required unless the strategy is Grid")


def trial_request(request: dict[str, Any], name: str, tuned: dict[str, str]) -> dict[str, Any]:
    """The CreateTrainingJob request of one trial: static + tuned hyperparameters + the objective metric name."""
    definition = request["TrainingJobDefinition"]
    objective = request["HyperParameterTuningJobConfig"]["HyperParameterTuningJobObjective"]
    static = dict(definition.get("StaticHyperParameters", {}))
    static.setdefault(OBJECTIVE_METRIC_KEY, objective["MetricName"])
    algorithm = {
        key: value
        for key, value in definition["AlgorithmSpecification"].items()
        if key in {"TrainingImage", "AlgorithmName", "TrainingInputMode", "MetricDefinitions"}
    }
    trial = {
        "TrainingJobName": name,
        "HyperParameters": {**static, **tuned},
        "AlgorithmSpecification": algorithm,
        "RoleArn": definition["RoleArn"],
        "OutputDataConfig": definition["OutputDataConfig"],
        "ResourceConfig": definition["ResourceConfig"],
        "StoppingCondition": definition["StoppingCondition"],
    }
    for key in ("InputDataConfig", "VpcConfig", "Environment", "EnableNetworkIsolation", "CheckpointConfig"):
        if key in definition:
            trial[key] = definition[key]
    return trial


def objective_value(description: dict[str, Any], metric: str) -> float | None:
    for item in description.get("FinalMetricDataList", []):
        if item["MetricName"] == metric:
            return item["Value"]
    return None


def trial_summary(record: dict[str, Any], objective: dict[str, str]) -> dict[str, Any]:
    """A HyperParameterTrainingJobSummary of one trial's training record."""
    description = record["description"]
    private = record["private"]
    summary: dict[str, Any] = {
        "TrainingJobName": description["TrainingJobName"],
        "TrainingJobArn": description["TrainingJobArn"],
        "TuningJobName": private["tuning_job"],
        "CreationTime": description["CreationTime"],
        "TrainingJobStatus": description["TrainingJobStatus"],
        "TunedHyperParameters": private["tuned"],
    }
    for key in ("TrainingStartTime", "TrainingEndTime", "FailureReason"):
        if key in description:
            summary[key] = description[key]
    value = objective_value(description, objective["MetricName"])
    finished = description["TrainingJobStatus"] in {"Completed", "Failed", "Stopped"}
    if value is not None and finished and description["TrainingJobStatus"] != "Failed":
        summary["FinalHyperParameterTuningJobObjectiveMetric"] = {
            "Type": objective["Type"],
            "MetricName": objective["MetricName"],
            "Value": value,
        }
        summary["ObjectiveStatus"] = "Succeeded"
    else:
        summary["ObjectiveStatus"] = "Failed" if finished else "Pending"
    return summary


def summarize(store: StateStore, name: str) -> dict[str, Any]:
    """Counters, BestTrainingJob and the trial summaries of a tuning job, from its trials' records."""
    record = store.read(KIND, name)
    objective = record["description"]["HyperParameterTuningJobConfig"]["HyperParameterTuningJobObjective"]
    trials = (store.read(TRAINING_KIND, trial) for trial in record["private"]["trials"])
    summaries = [trial_summary(trial, objective) for trial in trials if trial is not None]
    status_counters = dict.fromkeys(("Completed", "InProgress", "RetryableError", "NonRetryableError", "Stopped"), 0)
    objective_counters = dict.fromkeys(("Succeeded", "Pending", "Failed"), 0)
    for summary in summaries:
        status = summary["TrainingJobStatus"]
        key = {"Failed": "NonRetryableError", "Stopping": "InProgress"}.get(status, status)
        status_counters[key] += 1
        objective_counters[summary["ObjectiveStatus"]] += 1
    result: dict[str, Any] = {
        "TrainingJobStatusCounters": status_counters,
        "ObjectiveStatusCounters": objective_counters,
        "summaries": summaries,
    }
    scored = [s for s in summaries if "FinalHyperParameterTuningJobObjectiveMetric" in s]
    if scored:
        sign = -1 if objective["Type"] == "Maximize" else 1
        best = min(scored, key=lambda s: sign * s["FinalHyperParameterTuningJobObjectiveMetric"]["Value"])
        result["BestTrainingJob"] = best
    return result


def sort_summaries(summaries: list[dict[str, Any]], sort_by: str, descending: bool) -> list[dict[str, Any]]:
    """ListTrainingJobsForHyperParameterTuningJob ordering; jobs without an objective value come last."""
    if sort_by == "FinalObjectiveMetricValue":
        scored = [s for s in summaries if "FinalHyperParameterTuningJobObjectiveMetric" in s]
        unscored = [s for s in summaries if "FinalHyperParameterTuningJobObjectiveMetric" not in s]
        scored.sort(key=lambda s: s["FinalHyperParameterTuningJobObjectiveMetric"]["Value"], reverse=descending)
        return scored + unscored
    keys = {"Name": "TrainingJobName", "CreationTime": "CreationTime", "Status": "TrainingJobStatus"}
    return sorted(summaries, key=lambda s: s[keys[sort_by]], reverse=descending)
