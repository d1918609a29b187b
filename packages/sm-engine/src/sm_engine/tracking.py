"""Experiment tracking with MLflow (config `tracking.mlflow`), opt-in: each `run` becomes one MLflow run with the
jobs' parameters and final metrics, one nested run per tuning trial (its hyperparameters and objective) and the HTML
report as an artifact. MLflow is an optional extra, imported only when tracking is configured.

Without `tracking_uri` the runs go to a SQLite store under the local root (`mlflow ui` opens it); on AWS the training
jobs themselves log to `tracking_server_arn` (sagemaker_requests: MlflowConfig, sm_runtime.tracking).
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import UserError

if TYPE_CHECKING:
    from mlflow import MlflowClient

    from .config import ProjectConfig
    from .workflow import RunResult, TuningResult, Workflow

MLFLOW_URI_VARIABLE = "MLFLOW_TRACKING_URI"
MLFLOW_EXPERIMENT_VARIABLE = "MLFLOW_EXPERIMENT_NAME"
INSTALL_HINT = "pip install 'sm-template-engine[mlflow]'"
STORE_FILE = "mlflow.db"
ARTIFACTS_DIR = "mlartifacts"
REPORT_ARTIFACT_DIR = "report"
MAX_PARAM_LENGTH = 500
NOT_IN_NAMES = re.compile(r"[^\w\-. :/]")
"""What MLflow refuses in metric and parameter names."""


class TrackingError(UserError):
    """Tracking is configured but cannot be used (MLflow missing, a deleted experiment)."""


def mlflow_experiment(config: ProjectConfig) -> str:
    """The MLflow experiment: tracking.mlflow.experiment, else the project name."""
    mlflow = config.tracking.mlflow if config.tracking else None
    return (mlflow.experiment if mlflow else None) or config.project.name


def local_store(config: ProjectConfig, root: Path) -> tuple[str, str | None]:
    """The tracking URI and, for the default SQLite store, where its artifacts go (under the local root)."""
    mlflow = config.tracking.mlflow if config.tracking else None
    if mlflow is not None and mlflow.tracking_uri:
        return mlflow.tracking_uri, None
    local_root = (root / config.local.root).resolve()
    return f"sqlite:///{local_root / STORE_FILE}", (local_root / ARTIFACTS_DIR).as_uri()


def _name(text: str) -> str:
    return NOT_IN_NAMES.sub("_", text)


def _params(values: dict[str, Any], prefix: str = "") -> dict[str, str]:
    return {_name(f"{prefix}{key}"): str(value)[:MAX_PARAM_LENGTH] for key, value in values.items()}


def _metrics(values: dict[str, float], prefix: str = "") -> dict[str, float]:
    return {_name(f"{prefix}{key}"): float(value) for key, value in values.items()}


def _processing_params(config: ProjectConfig) -> dict[str, Any]:
    """What the processing job was asked: the target, the problem, the split and processing.arguments."""
    data = config.data
    return {
        "target": data.target,
        "problem_type": data.problem_type,
        "validation_fraction": data.split.validation_fraction,
        "test_fraction": data.split.test_fraction,
        "seed": data.split.seed,
        **config.processing.arguments,
    }


class RunTracker:
    """Logs one workflow run to an MLflow tracking store."""

    def __init__(self, client: MlflowClient, tracking_uri: str, experiment_id: str) -> None:
        self.client = client
        self.tracking_uri = tracking_uri
        self.experiment_id = experiment_id

    @property
    def ui_command(self) -> str:
        """The command that opens the store in the MLflow UI."""
        return f"mlflow ui --backend-store-uri {self.tracking_uri}"

    def log_run(self, workflow: Workflow, result: RunResult, report: Path | None) -> str:
        """The parent run (the config's and the jobs' parameters, the final and test metrics, the report), a nested
        run per tuning trial; return the parent run's id."""
        config = workflow.config
        name = f"{config.project.name}-run-{time.strftime('%Y%m%d-%H%M%S')}"
        tags = {
            "backend": workflow.backend.name,
            "processing_job": result.processing.job_name,
            "training_job": result.training.job_name,
        }
        if result.tuning is not None:
            tags["tuning_job"] = result.tuning.job_name
        run_id = self.client.create_run(self.experiment_id, run_name=name, tags=tags).info.run_id
        params = {
            **_params(_processing_params(config), "processing."),
            **_params({"framework": config.training.framework, "instance_type": config.training.instance_type}),
            **_params(result.training.hyperparameters, "training."),
        }
        if result.tuning is not None:
            tuning = config.tuning
            params.update(_params({"strategy": tuning.strategy, "objective": tuning.objective.metric}, "tuning."))
        self._log(run_id, params, {**_metrics(result.training.metrics), **_metrics(result.evaluation.metrics, "test_")})
        if result.tuning is not None:
            self._log_trials(run_id, result.tuning)
        if report is not None:
            self.client.log_artifact(run_id, str(report), REPORT_ARTIFACT_DIR)
        self.client.set_terminated(run_id)
        return run_id

    def _log_trials(self, parent_id: str, tuning: TuningResult) -> None:
        """One nested run per trial: its tuned hyperparameters, its objective, its status; the best one tagged."""
        for trial in tuning.trials:
            job = trial["TrainingJobName"]
            tags = {
                "mlflow.parentRunId": parent_id,
                "training_job": job,
                "status": trial.get("TrainingJobStatus", ""),
                "best": str(job == tuning.best.job_name).lower(),
            }
            run_id = self.client.create_run(self.experiment_id, run_name=job, tags=tags).info.run_id
            objective = trial.get("FinalHyperParameterTuningJobObjectiveMetric")
            metrics = {objective["MetricName"]: objective["Value"]} if objective else {}
            self._log(run_id, _params(trial.get("TunedHyperParameters", {})), _metrics(metrics))
            self.client.set_terminated(
                run_id, "FINISHED" if trial.get("TrainingJobStatus") == "Completed" else "FAILED"
            )

    def _log(self, run_id: str, params: dict[str, str], metrics: dict[str, float]) -> None:
        from mlflow.entities import Metric, Param

        stamp = int(time.time() * 1000)
        self.client.log_batch(
            run_id,
            metrics=[Metric(key, value, stamp, 0) for key, value in metrics.items()],
            params=[Param(key, value) for key, value in params.items()],
        )


def run_tracker(config: ProjectConfig, root: Path) -> RunTracker | None:
    """The tracker of `run` with tracking.mlflow configured, else None; TrackingError when MLflow is missing or the
    experiment is deleted. Call it before the run, so that a missing MLflow stops it at once."""
    if config.tracking is None or config.tracking.mlflow is None:
        return None
    try:
        from mlflow import MlflowClient
    except ImportError:
        raise TrackingError(f"tracking.mlflow is set but MLflow is not installed: {INSTALL_HINT}") from None
    tracking_uri, artifact_location = local_store(config, root)
    if tracking_uri.startswith("sqlite:///"):
        Path(tracking_uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    client = MlflowClient(tracking_uri)
    name = mlflow_experiment(config)
    experiment = client.get_experiment_by_name(name)
    if experiment is None:
        return RunTracker(client, tracking_uri, client.create_experiment(name, artifact_location=artifact_location))
    if experiment.lifecycle_stage == "deleted":
        raise TrackingError(
            f"MLflow experiment {name!r} is deleted in {tracking_uri}: restore it (mlflow experiments restore) or "
            "set tracking.mlflow.experiment to another name"
        )
    return RunTracker(client, tracking_uri, experiment.experiment_id)
