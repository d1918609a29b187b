"""Evaluation step of the pipeline (a processing job in the scikit-learn container): score the test split.

Inputs (contract §2): `/opt/ml/processing/input/model/model.tar.gz` (the training job's artefact: model.joblib, and
classes.json for a classifier) and `/opt/ml/processing/input/test/` (the processing job's test features: headerless
CSV, target first). Writes `/opt/ml/processing/evaluation/evaluation.json` in the shape of SageMaker's model quality
report, one section named after the problem type, e.g.
`{"regression_metrics": {"mae": {"value": ...}, "rmse": {"value": ...}, "r2": {"value": ...}}}` or
`{"binary_classification_metrics": {"accuracy": {"value": ...}, ..., "roc_auc": {"value": ...}}}` (metrics.py lists
each problem type's metrics), which the pipeline reads as a PropertyFile. SAGEMAKER_BASE_DIR replaces /opt/ml where
the local executor cannot mount it.
"""

from __future__ import annotations

import io
import json
import math
import os
import sys
from pathlib import Path

import joblib
import numpy as np
from archives import CLASSES_FILE, MODEL_FILE, ArtefactError, read_artefact, read_optional
from metrics import format_metrics, problem_type, score_model

REPORT_FILE = "evaluation.json"


class EvaluationError(Exception):
    """A problem with the inputs; reported in one line, without a traceback."""


def base_dir() -> Path:
    return Path(os.environ.get("SAGEMAKER_BASE_DIR", "/opt/ml"))


def load_model(model_dir: Path) -> tuple[object, list[str] | None]:
    """model.joblib from model.tar.gz (or lying in the folder as is), and the class labels of a classifier."""
    try:
        model = joblib.load(io.BytesIO(read_artefact(model_dir, MODEL_FILE)))
    except ArtefactError as error:
        raise EvaluationError(str(error)) from None
    classes = read_optional(model_dir, CLASSES_FILE)
    return model, None if classes is None else json.loads(classes)


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


def run(base: Path) -> dict[str, float]:
    """Score the model on the test split and write evaluation.json; returns the metrics."""
    processing = base / "processing"
    model, classes = load_model(processing / "input" / "model")
    features, target = read_test_split(processing / "input" / "test")
    n_classes = None if classes is None else len(classes)
    if n_classes is not None and not np.isin(target, np.arange(n_classes)).all():
        raise EvaluationError(f"the test split's target must be class codes 0..{n_classes - 1}")
    metrics = score_model(model, features, target, n_classes)
    output = processing / "evaluation"
    output.mkdir(parents=True, exist_ok=True)
    (output / REPORT_FILE).write_text(json.dumps(report(problem_type(n_classes), metrics), indent=2) + "\n")
    return metrics


def main() -> int:
    try:
        metrics = run(base_dir())
    except EvaluationError as error:
        print(f"evaluate.py: error: {error}", file=sys.stderr)
        return 1
    print(format_metrics("test", metrics))
    return 0


if __name__ == "__main__":
    sys.exit(main())
