"""Scoring the batch transform's predictions against the true values, for the summary of a run.

The transform output joins each raw test row (true target first) with the model's answer (last): a number for a
regression, a class label for a classifier. Label predictions give the label-based metrics (accuracy, precision,
recall and F1 of the positive class, the second of data.classes; macro F1 for multiclass); ROC AUC and log loss need
probabilities, which the training job and the pipeline's evaluation step report instead.
"""

from __future__ import annotations

import math

from sklearn.metrics import (
    accuracy_score,
    f1_score,
    mean_absolute_error,
    mean_squared_error,
    precision_score,
    r2_score,
    recall_score,
)

from .config import DataSection


def regression_metrics(truth: list[float], predictions: list[float]) -> dict[str, float]:
    """MAE, RMSE and R² of predictions against the true values."""
    return {
        "mae": float(mean_absolute_error(truth, predictions)),
        "rmse": math.sqrt(mean_squared_error(truth, predictions)),
        "r2": float(r2_score(truth, predictions)),
    }


def label_metrics(truth: list[str], predictions: list[str], classes: list[str]) -> dict[str, float]:
    """Binary (two classes, the second positive): accuracy, precision, recall, f1; multiclass: accuracy, macro_f1."""
    accuracy = float(accuracy_score(truth, predictions))
    if len(classes) > 2:
        macro = f1_score(truth, predictions, labels=classes, average="macro", zero_division=0)
        return {"accuracy": accuracy, "macro_f1": float(macro)}
    positive = {"pos_label": classes[1], "labels": classes, "zero_division": 0}
    return {
        "accuracy": accuracy,
        "precision": float(precision_score(truth, predictions, **positive)),
        "recall": float(recall_score(truth, predictions, **positive)),
        "f1": float(f1_score(truth, predictions, **positive)),
    }


def split_joined_rows(rows: list[list[str]]) -> tuple[list[str], list[str]]:
    """Batch transform output joined with its input (target first, prediction last) -> (truth, predictions)."""
    return [row[0].strip() for row in rows], [row[-1].strip() for row in rows]


def labels_of_scores(scores: list[str], classes: list[str]) -> list[str]:
    """The built-in XGBoost algorithm's answers as labels: with two classes P(second label), above 0.5 the second
    label (the algorithm's own predicted_label rule); with more, the class code (multi:softmax), a position in
    `classes`."""
    if len(classes) == 2:
        return [classes[int(float(score) > 0.5)] for score in scores]
    return [classes[min(max(round(float(score)), 0), len(classes) - 1)] for score in scores]


def transform_metrics(data: DataSection, rows: list[list[str]], scores: bool = False) -> dict[str, float]:
    """The problem type's metrics of the joined batch transform output (`scores`: a classifier's answers are the
    built-in algorithm's numbers, read by labels_of_scores)."""
    truth, predictions = split_joined_rows(rows)
    if data.classes is None:
        return regression_metrics([float(value) for value in truth], [float(value) for value in predictions])
    if scores:
        predictions = labels_of_scores(predictions, data.classes)
    return label_metrics(truth, predictions, data.classes)
