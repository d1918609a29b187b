"""Run a hyperparameter tuning job locally with optuna: real training jobs, several at once (contract §6).

Strategies: Bayesian = TPESampler, Random = RandomSampler, Grid = every combination of the categorical ranges,
Hyperband = RandomSampler with optuna's HyperbandPruner fed every emitted value of the objective metric (one step per
emission); a pruned trial's training job is stopped (status Stopped). This is optuna's Hyperband, not SageMaker's own
resource allocation: it decides early stopping only. Each trial's objective is the LAST emitted value of the metric.
"""

from __future__ import annotations

import itertools
import math
import threading
import traceback
from collections.abc import Callable
from typing import Any

import optuna

from ..errors import ValidationException
from ..names import trial_job_name
from . import training
from .state import StateStore, now

KIND = "tuning-jobs"
TRAINING_KIND = training.KIND
OBJECTIVE_METRIC_KEY = "_tuning_objective_metric"

RunTraining = Callable[[dict[str, Any], training.MetricListener | None, dict[str, Any]], dict[str, Any]]
Log = Callable[[str], None]

optuna.logging.set_verbosity(optuna.logging.WARNING)


def _bounds(item: dict[str, str], cast: type) -> tuple[Any, Any]:
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
        low, _high = _bounds(item, int)
        if item.get("ScalingType") == "Logarithmic" and low <= 0:
            raise ValidationException(f"range {item['Name']}: Logarithmic scaling needs MinValue > 0")
        if item.get("ScalingType") == "ReverseLogarithmic":
            raise ValidationException(f"range {item['Name']}: ReverseLogarithmic applies to continuous ranges only")
    for item in ranges.get("ContinuousParameterRanges", []):
        low, high = _bounds(item, float)
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


def sampler_for(config: dict[str, Any]) -> optuna.samplers.BaseSampler:
    seed = config.get("RandomSeed")
    strategy = config["Strategy"]
    if strategy == "Bayesian":
        return optuna.samplers.TPESampler(seed=seed)
    return optuna.samplers.RandomSampler(seed=seed)


def suggest(trial: optuna.Trial, config: dict[str, Any]) -> dict[str, str]:
    """The tuned hyperparameters of a trial, as the strings SageMaker passes to the training job."""
    ranges = config.get("ParameterRanges", {})
    tuned: dict[str, str] = {}
    for item in ranges.get("IntegerParameterRanges", []):
        low, high = _bounds(item, int)
        log = item.get("ScalingType") == "Logarithmic"
        tuned[item["Name"]] = str(trial.suggest_int(item["Name"], low, high, log=log))
    for item in ranges.get("ContinuousParameterRanges", []):
        low, high = _bounds(item, float)
        scaling = item.get("ScalingType", "Auto")
        if scaling == "ReverseLogarithmic":
            complement = trial.suggest_float(f"1-{item['Name']}", 1 - high, 1 - low, log=True)
            tuned[item["Name"]] = str(1 - complement)
        else:
            tuned[item["Name"]] = str(trial.suggest_float(item["Name"], low, high, log=scaling == "Logarithmic"))
    for item in ranges.get("CategoricalParameterRanges", []):
        tuned[item["Name"]] = str(trial.suggest_categorical(item["Name"], list(item["Values"])))
    return tuned


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


class TuningRun:
    """Asks optuna for trials and runs up to MaxParallelTrainingJobs training jobs at once; `run()` never raises."""

    def __init__(self, request: dict[str, Any], *, store: StateStore, run_training: RunTraining, log: Log) -> None:
        self.request = request
        self.name = request["HyperParameterTuningJobName"]
        self.config = request["HyperParameterTuningJobConfig"]
        self.objective = self.config["HyperParameterTuningJobObjective"]
        self.store = store
        self.run_training = run_training
        self.log = log
        self.total = max_jobs(self.config)
        self.arn = store.read(KIND, self.name)["description"]["HyperParameterTuningJobArn"]
        pruner = optuna.pruners.HyperbandPruner() if self.config["Strategy"] == "Hyperband" else None
        direction = "maximize" if self.objective["Type"] == "Maximize" else "minimize"
        self.study = optuna.create_study(
            study_name=self.name, direction=direction, sampler=sampler_for(self.config), pruner=pruner
        )
        if (
            self.config["Strategy"] == "Grid"
        ):  # every combination once, in order (optuna's GridSampler needs optimize())
            values = grid(self.config)
            for combination in itertools.product(*values.values()):
                self.study.enqueue_trial(dict(zip(values, combination, strict=True)))
        self._lock = threading.Lock()
        self._launched = 0

    def _status(self) -> str:
        record = self.store.read(KIND, self.name)
        return "" if record is None else record["description"]["HyperParameterTuningJobStatus"]

    def run(self) -> None:
        try:
            limits = self.config.get("ResourceLimits", {})
            parallel = max(1, min(limits.get("MaxParallelTrainingJobs", 1), self.total))
            workers = [threading.Thread(target=self._worker, daemon=True) for _ in range(parallel)]
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join()
            self._finish()
        except Exception as error:  # the record must never stay InProgress
            self.log(traceback.format_exc())
            self.store.update_description(
                KIND, self.name, HyperParameterTuningJobStatus="Failed", FailureReason=str(error)
            )

    def _next(self) -> tuple[int, optuna.Trial, dict[str, str]] | None:
        with self._lock:
            if self._launched >= self.total or self._status() == "Stopping":
                return None
            self._launched += 1
            trial = self.study.ask()
            return self._launched, trial, suggest(trial, self.config)

    def _worker(self) -> None:
        while (task := self._next()) is not None:
            index, trial, tuned = task
            name = trial_job_name(self.name, index)
            self.store.update(KIND, self.name, lambda record, name=name: record["private"]["trials"].append(name))
            self.log(f"[{self.name}] trial {index}/{self.total}: {name} {tuned}")
            tuning = {"tuning_job": self.name, "tuned": tuned, "tuning_job_arn": self.arn}
            description = self.run_training(
                trial_request(self.request, name, tuned), self._listener(trial, name), tuning
            )
            self._tell(trial, description)

    def _listener(self, trial: optuna.Trial, name: str) -> training.MetricListener | None:
        if self.config["Strategy"] != "Hyperband":
            return None
        metric = self.objective["MetricName"]

        def listen(metric_name: str, value: float, step: int) -> None:
            if metric_name != metric:
                return
            with self._lock:
                trial.report(value, step)
                prune = trial.should_prune()
            if prune:
                self.log(f"[{self.name}] Hyperband stops {name} at step {step} ({metric}={value})")
                training.request_stop(self.store, name)

        return listen

    def _tell(self, trial: optuna.Trial, description: dict[str, Any]) -> None:
        value = objective_value(description, self.objective["MetricName"])
        status = description["TrainingJobStatus"]
        with self._lock:
            if status == "Stopped" and self.config["Strategy"] == "Hyperband":
                self.study.tell(trial, state=optuna.trial.TrialState.PRUNED)
            elif value is None or status == "Failed":
                self.study.tell(trial, state=optuna.trial.TrialState.FAIL)
            else:
                self.study.tell(trial, value)

    def _finish(self) -> None:
        stopped = self._status() == "Stopping"
        summary = summarize(self.store, self.name)
        fields: dict[str, Any] = {"HyperParameterTuningEndTime": now()}
        if stopped:
            fields["HyperParameterTuningJobStatus"] = "Stopped"
        elif "BestTrainingJob" not in summary:
            fields["HyperParameterTuningJobStatus"] = "Failed"
            fields["FailureReason"] = (
                f"None of the {self._launched} training jobs reported the objective metric "
                f"{self.objective['MetricName']}: see their logs"
            )
        else:
            fields["HyperParameterTuningJobStatus"] = "Completed"
        self.store.update_description(KIND, self.name, **fields)
        self.log(f"[{self.name}] tuning job {fields['HyperParameterTuningJobStatus'].lower()}")


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
