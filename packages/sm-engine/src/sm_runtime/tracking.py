"""MLflow logging from inside a training job, when the engine configured it (config `tracking.mlflow`
.tracking_server_arn sets MLFLOW_TRACKING_URI and MLFLOW_EXPERIMENT_NAME on the job) and the image has MLflow (with
the sagemaker-mlflow plugin for a SageMaker managed server); otherwise nothing. Logging never fails the job."""

from __future__ import annotations

import importlib.util
import json
import os
import sys

TRACKING_URI_VARIABLE = "MLFLOW_TRACKING_URI"
JOB_NAME_VARIABLE = "TRAINING_JOB_NAME"  # set by SageMaker in every training container
HYPERPARAMETERS_VARIABLE = "SM_HPS"  # the training toolkit's JSON of the hyperparameters
SAGEMAKER_SERVER_PREFIX = "arn:"  # a managed server's ARN as the tracking URI: the sagemaker-mlflow plugin reads it
SAGEMAKER_PLUGIN = "sagemaker_mlflow"


def _can_log(tracking_uri: str) -> bool:
    """MLflow is installed, with the sagemaker-mlflow plugin for a SageMaker managed server."""
    needed = ["mlflow", SAGEMAKER_PLUGIN] if tracking_uri.startswith(SAGEMAKER_SERVER_PREFIX) else ["mlflow"]
    return all(importlib.util.find_spec(name) is not None for name in needed)


def log_metrics(results: dict[str, dict[str, float]]) -> bool:
    """Log `<split>_<metric>` and the job's hyperparameters as one MLflow run named after the training job; return
    whether it was logged."""
    tracking_uri = os.environ.get(TRACKING_URI_VARIABLE)
    if not tracking_uri or not _can_log(tracking_uri):
        return False
    import mlflow

    metrics = {f"{split}_{name}": float(value) for split, values in results.items() for name, value in values.items()}
    try:
        hyperparameters = json.loads(os.environ.get(HYPERPARAMETERS_VARIABLE) or "{}")
        with mlflow.start_run(run_name=os.environ.get(JOB_NAME_VARIABLE)):
            mlflow.log_params({key: str(value)[:500] for key, value in hyperparameters.items()})
            mlflow.log_metrics(metrics)
    except Exception as error:  # tracking is a side channel: the model and its metrics stand without it
        reason = next(iter(str(error).strip().splitlines()), "")
        print(f"MLflow logging skipped: {type(error).__name__}: {reason}", file=sys.stderr, flush=True)
        return False
    return True
