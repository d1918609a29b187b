"""Regression metrics of the training job, printed in the fixed format that the MetricDefinitions regexes read.

Each split is one line, e.g. `validation_mae=1.234567; validation_rmse=2.345678; validation_r2=0.876543;`, matched by
`validation_mae=([-+0-9.eE]+);` and its siblings in config/project.yaml (contract §1, Metrics).
"""

from __future__ import annotations

import math

import numpy as np
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

METRIC_NAMES: tuple[str, ...] = ("mae", "rmse", "r2")


def regression_metrics(y_true: object, y_pred: object) -> dict[str, float]:
    """MAE, RMSE and R² of predictions against the true values."""
    truth = np.asarray(y_true, dtype=float)
    predictions = np.asarray(y_pred, dtype=float)
    return {
        "mae": float(mean_absolute_error(truth, predictions)),
        "rmse": math.sqrt(float(mean_squared_error(truth, predictions))),
        "r2": float(r2_score(truth, predictions)) if len(truth) > 1 else float("nan"),
    }


def format_metrics(split: str, metrics: dict[str, float]) -> str:
    """`<split>_<name>=<value>;` for each metric, space-separated, on one line."""
    return " ".join(f"{split}_{name}={metrics[name]:.6f};" for name in METRIC_NAMES)
