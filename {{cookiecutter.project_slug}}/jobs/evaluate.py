"""Evaluation step of the pipeline (a processing job in the scikit-learn container): score the test split.

Inputs (contract §2): `/opt/ml/processing/input/model/model.tar.gz` (the training job's artefact: model.joblib, or
xgboost-model, and classes.json for a classifier, else `--classes '["no", "yes"]'`) and
`/opt/ml/processing/input/test/` (the processing job's test features: headerless CSV, target first).
Writes `/opt/ml/processing/evaluation/evaluation.json` in the shape of SageMaker's model quality
report, one section named after the problem type, e.g.
`{"regression_metrics": {"mae": {"value": ...}, "rmse": {"value": ...}, "r2": {"value": ...}}}` or
`{"binary_classification_metrics": {"accuracy": {"value": ...}, ..., "roc_auc": {"value": ...}}}` (metrics.py lists
each problem type's metrics), which the pipeline reads as a PropertyFile. SAGEMAKER_BASE_DIR replaces /opt/ml where
the local executor cannot mount it.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import joblib
import numpy as np
from metrics import classification_metrics, problem_type, regression_metrics, score_model
from sm_runtime.archives import CLASSES_FILE, MODEL_FILE, ArtefactError, read_artefact, read_optional
from sm_runtime.training import format_metrics

REPORT_FILE = "evaluation.json"
XGBOOST_MODEL_FILE = "xgboost-model"
NETWORK_FILE = "model.json"
"""The architecture file of the pytorch MLP (mlp.ARCHITECTURE_FILE), how its artefact is told apart."""


class EvaluationError(Exception):
    """A problem with the inputs; reported in one line, without a traceback."""


def base_dir() -> Path:
    return Path(os.environ.get("SAGEMAKER_BASE_DIR", "/opt/ml"))


def load_model(model_dir: Path, given: list[str] | None = None) -> tuple[object, list[str] | None]:
    """model.joblib from model.tar.gz (or lying in the folder as is), or the pytorch MLP (model.json + model.pth:
    this step then runs in the pytorch image), or an XGBoost booster (xgboost-model: the XGBoost image), and the
    class labels of a classifier (classes.json, else `given`: the built-in XGBoost algorithm writes none)."""
    classes = read_optional(model_dir, CLASSES_FILE)
    labels = given if classes is None else json.loads(classes)
    if read_optional(model_dir, NETWORK_FILE) is not None:
        return load_network(model_dir), labels
    booster = read_optional(model_dir, XGBOOST_MODEL_FILE)
    if booster is not None:
        return BoosterModel(booster, None if labels is None else len(labels)), labels
    try:
        model = joblib.load(io.BytesIO(read_artefact(model_dir, MODEL_FILE)))
    except ArtefactError as error:
        raise EvaluationError(str(error)) from None
    return model, labels


class BoosterModel:
    """An XGBoost booster (train_xgboost.py's or the built-in algorithm's) as the estimator score_model expects:
    `predict`, and `predict_proba` with `classes_` (binary:logistic answers P(code 1); multi:softmax, the built-in
    algorithm's class codes, gives one-hot probabilities)."""

    def __init__(self, data: bytes, n_classes: int | None) -> None:
        import xgboost as xgb  # only where a booster is evaluated (the XGBoost image has it)

        self.booster = xgb.Booster()
        self.booster.load_model(bytearray(data))
        self.objective = json.loads(self.booster.save_config())["learner"]["objective"]["name"]
        self.classes_ = np.arange(n_classes or 0)

    def _raw(self, features: np.ndarray) -> np.ndarray:
        return np.asarray(self.booster.inplace_predict(np.ascontiguousarray(features, dtype=np.float32)), dtype=float)

    def predict(self, features: np.ndarray) -> np.ndarray:
        return self._raw(features).ravel()

    def predict_proba(self, features: np.ndarray) -> np.ndarray:
        raw = self._raw(features)
        if self.objective == "multi:softmax":
            return np.eye(len(self.classes_))[raw.astype(int).ravel()]
        return np.column_stack([1.0 - raw, raw]) if raw.ndim == 1 else raw


class Network(NamedTuple):
    """The pytorch MLP: `predict(features)` gives regression values or class probabilities (mlp.predict)."""

    predict: Callable[[np.ndarray], np.ndarray]


def load_network(model_dir: Path) -> Network:
    """The MLP of model.tar.gz (or of the folder), on the CPU."""
    import mlp  # torch: only in the pytorch image

    with tempfile.TemporaryDirectory() as folder:
        for name in (mlp.ARCHITECTURE_FILE, mlp.WEIGHTS_FILE):
            (Path(folder) / name).write_bytes(read_artefact(model_dir, name))
        network, architecture = mlp.load(Path(folder))
    return Network(lambda features: mlp.predict(network, architecture, features))


def score(model: object, features: np.ndarray, target: np.ndarray, n_classes: int | None) -> dict[str, float]:
    """The problem type's metrics of a fitted estimator, or of the MLP's predictions."""
    if not isinstance(model, Network):
        return score_model(model, features, target, n_classes)
    predictions = model.predict(features)
    return regression_metrics(target, predictions) if n_classes is None else classification_metrics(target, predictions)


def read_test_split(test_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    """(features, target) of every CSV file of the test input: headerless, numeric, target first."""
    files = sorted(path for path in test_dir.rglob("*") if path.is_file() and not path.name.startswith("."))
    if not files:
        raise EvaluationError(f"no test files in {test_dir}")
    try:
        matrix = np.vstack([np.loadtxt(path, delimiter=",", ndmin=2) for path in files])
    except ValueError as error:
        raise EvaluationError(f"the test split is not a numeric CSV: {error}") from None
    if matrix.shape[1] < 2 or len(matrix) == 0:
        raise EvaluationError("the test split needs the target then at least one feature column")
    return matrix[:, 1:], matrix[:, 0]


def report(problem: str, metrics: dict[str, float]) -> dict[str, dict[str, dict[str, float | None]]]:
    """The model quality report shape; a metric that is not a number (R² of one row) becomes null."""
    return {
        f"{problem}_metrics": {
            name: {"value": value if math.isfinite(value) else None} for name, value in metrics.items()
        }
    }


def run(base: Path, given_classes: list[str] | None = None) -> dict[str, float]:
    """Score the model on the test split and write evaluation.json; returns the metrics."""
    processing = base / "processing"
    model, classes = load_model(processing / "input" / "model", given_classes)
    features, target = read_test_split(processing / "input" / "test")
    n_classes = None if classes is None else len(classes)
    if n_classes is not None and not np.isin(target, np.arange(n_classes)).all():
        raise EvaluationError(f"the test split's target must be class codes 0..{n_classes - 1}")
    metrics = score(model, features, target, n_classes)
    output = processing / "evaluation"
    output.mkdir(parents=True, exist_ok=True)
    (output / REPORT_FILE).write_text(json.dumps(report(problem_type(n_classes), metrics), indent=2) + "\n")
    return metrics


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Score the model on the test split.")
    parser.add_argument("--classes", type=json.loads, default=None, help="labels (JSON) when there is no classes.json")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        metrics = run(base_dir(), args.classes)
    except EvaluationError as error:
        print(f"evaluate.py: error: {error}", file=sys.stderr)
        return 1
    print(format_metrics("test", metrics))
    return 0


if __name__ == "__main__":
    sys.exit(main())
