"""The metrics of each problem type, printed in the fixed format that the MetricDefinitions regexes read.

Each split is one line, e.g. `validation_mae=1.234567; validation_rmse=2.345678; validation_r2=0.876543;`, matched by
`validation_mae=([-+0-9.eE]+);` and its siblings in config/project.yaml (contract §1, Metrics). A metric that is not a
number (R² of one row, ROC AUC of a split with one class) prints as `nan`, which no regex captures.

- regression: mae, rmse, r2
- binary classification (class code 1 is the positive class): accuracy, precision, recall, f1, roc_auc, log_loss
- multiclass classification: accuracy, macro_f1, log_loss
"""

from __future__ import annotations

import math

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.metrics import (
    accuracy_score,
    f1_score,
    log_loss,
    mean_absolute_error,
    mean_squared_error,
    precision_score,
    r2_score,
    recall_score,
    roc_auc_score,
)

METRIC_NAMES: dict[str, tuple[str, ...]] = {
    "regression": ("mae", "rmse", "r2"),
    "binary_classification": ("accuracy", "precision", "recall", "f1", "roc_auc", "log_loss"),
    "multiclass_classification": ("accuracy", "macro_f1", "log_loss"),
}


def problem_type(n_classes: int | None) -> str:
    """regression without classes, binary_classification with two, multiclass_classification with more."""
    if n_classes is None:
        return "regression"
    return "binary_classification" if n_classes == 2 else "multiclass_classification"


def regression_metrics(y_true: object, y_pred: object) -> dict[str, float]:
    """MAE, RMSE and R² of predictions against the true values."""
    truth = np.asarray(y_true, dtype=float)
    predictions = np.asarray(y_pred, dtype=float)
    return {
        "mae": float(mean_absolute_error(truth, predictions)),
        "rmse": math.sqrt(float(mean_squared_error(truth, predictions))),
        "r2": float(r2_score(truth, predictions)) if len(truth) > 1 else float("nan"),
    }


def classification_metrics(y_true: object, probabilities: np.ndarray) -> dict[str, float]:
    """The binary or multiclass metrics of class codes against a (rows, K) probability matrix (K = 2: binary)."""
    truth = np.asarray(y_true, dtype=int)
    n_classes = probabilities.shape[1]
    predicted = probabilities.argmax(axis=1)
    loss = float(log_loss(truth, probabilities, labels=list(range(n_classes))))
    if n_classes > 2:
        return {
            "accuracy": float(accuracy_score(truth, predicted)),
            "macro_f1": float(
                f1_score(truth, predicted, average="macro", labels=list(range(n_classes)), zero_division=0)
            ),
            "log_loss": loss,
        }
    both_classes = len(np.unique(truth)) == 2
    return {
        "accuracy": float(accuracy_score(truth, predicted)),
        "precision": float(precision_score(truth, predicted, zero_division=0)),
        "recall": float(recall_score(truth, predicted, zero_division=0)),
        "f1": float(f1_score(truth, predicted, zero_division=0)),
        "roc_auc": float(roc_auc_score(truth, probabilities[:, 1])) if both_classes else float("nan"),
        "log_loss": loss,
    }


def class_probabilities(model: BaseEstimator, features: np.ndarray, n_classes: int) -> np.ndarray:
    """(rows, n_classes) probabilities of a fitted classifier trained on class codes, column i = class code i; codes
    the model never saw (absent from its training split) get probability 0."""
    known = np.asarray(model.classes_, dtype=int)
    probabilities = np.zeros((len(features), n_classes))
    probabilities[:, known] = model.predict_proba(features)
    return probabilities


def score_model(model: BaseEstimator, features: np.ndarray, target: np.ndarray, n_classes: int | None) -> dict:
    """The problem type's metrics of a fitted model on one split (n_classes None: a regressor)."""
    if n_classes is None:
        return regression_metrics(target, model.predict(features))
    return classification_metrics(target, class_probabilities(model, features, n_classes))
