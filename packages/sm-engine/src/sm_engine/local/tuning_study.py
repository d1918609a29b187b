"""The optuna side of a local tuning job: a study asks for trials, TuningRun runs up to MaxParallelTrainingJobs of
them at once as real training jobs and tells the study their objective (strategies: tuning.py)."""

from __future__ import annotations

import itertools
import threading
import traceback
from collections.abc import Callable
from typing import Any

import optuna

from ..names import trial_job_name
from . import training
from .state import StateStore, now
from .tuning import KIND, grid, max_jobs, objective_value, range_bounds, summarize, trial_request

RunTraining = Callable[[dict[str, Any], training.MetricListener | None, dict[str, Any]], dict[str, Any]]
Log = Callable[[str], None]

optuna.logging.set_verbosity(optuna.logging.WARNING)


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
        low, high = range_bounds(item, int)
        log = item.get("ScalingType") == "Logarithmic"
        tuned[item["Name"]] = str(trial.suggest_int(item["Name"], low, high, log=log))
    for item in ranges.get("ContinuousParameterRanges", []):
        low, high = range_bounds(item, float)
        scaling = item.get("ScalingType", "Auto")
        if scaling == "ReverseLogarithmic":
            complement = trial.suggest_float(f"1-{item['Name']}", 1 - high, 1 - low, log=True)
            tuned[item["Name"]] = str(1 - complement)
        else:
            tuned[item["Name"]] = str(trial.suggest_float(item["Name"], low, high, log=scaling == "Logarithmic"))
    for item in ranges.get("CategoricalParameterRanges", []):
        tuned[item["Name"]] = str(trial.suggest_categorical(item["Name"], list(item["Values"])))
    return tuned


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
