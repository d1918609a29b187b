"""Evaluation step of the pipeline (a processing job in the scikit-learn container): score the test split.

Inputs (contract §2): `/opt/ml/processing/input/model/model.tar.gz` (the training job's artefact, model.joblib) and
`/opt/ml/processing/input/test/` (the processing job's test features: headerless CSV, target first). Writes
`/opt/ml/processing/evaluation/evaluation.json` in the shape of SageMaker's model quality report,
`{"regression_metrics": {"mae": {"value": ...}, "rmse": {"value": ...}, "r2": {"value": ...}}}`, which the pipeline
reads as a PropertyFile. SAGEMAKER_BASE_DIR replaces /opt/ml where the local executor cannot mount it.
"""

from __future__ import annotations

import json
import math
import os
import sys
import tarfile
from pathlib import Path

import joblib
import numpy as np
from metrics import regression_metrics

MODEL_ARCHIVE = "model.tar.gz"
MODEL_FILE = "model.joblib"
REPORT_FILE = "evaluation.json"


class EvaluationError(Exception):
    """A problem with the inputs; reported in one line, without a traceback."""


def base_dir() -> Path:
    return Path(os.environ.get("SAGEMAKER_BASE_DIR", "/opt/ml"))


def load_model(model_dir: Path) -> object:
    """The model.joblib inside model.tar.gz (or lying in the folder as is)."""
    archive = model_dir / MODEL_ARCHIVE
    if archive.is_file():
        with tarfile.open(archive) as tar:
            try:
                member = tar.extractfile(MODEL_FILE)
            except KeyError:
                member = None
            if member is None:
                raise EvaluationError(f"{archive} has no {MODEL_FILE} file")
            return joblib.load(member)
    if (model_dir / MODEL_FILE).is_file():
        return joblib.load(model_dir / MODEL_FILE)
    raise EvaluationError(f"no {MODEL_ARCHIVE} or {MODEL_FILE} in {model_dir}")


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


def report(metrics: dict[str, float]) -> dict[str, dict[str, dict[str, float | None]]]:
    """The model quality report shape; a metric that is not a number (R² of one row) becomes null."""
    return {
        "regression_metrics": {
            name: {"value": value if math.isfinite(value) else None} for name, value in metrics.items()
        }
    }


def run(base: Path) -> dict[str, float]:
    """Score the model on the test split and write evaluation.json; returns the metrics."""
    processing = base / "processing"
    model = load_model(processing / "input" / "model")
    features, target = read_test_split(processing / "input" / "test")
    metrics = regression_metrics(target, model.predict(features))
    output = processing / "evaluation"
    output.mkdir(parents=True, exist_ok=True)
    (output / REPORT_FILE).write_text(json.dumps(report(metrics), indent=2) + "\n")
    return metrics


def main() -> int:
    try:
        metrics = run(base_dir())
    except EvaluationError as error:
        print(f"evaluate.py: error: {error}", file=sys.stderr)
        return 1
    print(" ".join(f"test_{name}={value:.6f};" for name, value in metrics.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
