"""Scoring predictions against true values, for the summary of a run."""

from __future__ import annotations

import math

from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score


def regression_metrics(truth: list[float], predictions: list[float]) -> dict[str, float]:
    """MAE, RMSE and R² of predictions against the true values."""
    return {
        "mae": float(mean_absolute_error(truth, predictions)),
        "rmse": math.sqrt(mean_squared_error(truth, predictions)),
        "r2": float(r2_score(truth, predictions)),
    }


def split_joined_rows(rows: list[list[str]]) -> tuple[list[float], list[float]]:
    """Batch transform output joined with its input (target first, prediction last) -> (truth, predictions)."""
    truth = [float(row[0]) for row in rows]
    predictions = [float(row[-1]) for row in rows]
    return truth, predictions
