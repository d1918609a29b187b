"""The XGBoost booster of each problem type: its training parameters, its predictions, and its file (script mode).

| problem type              | objective         | evaluated each round  | prediction                     |
| ------------------------- | ----------------- | --------------------- | ------------------------------ |
| regression                | reg:squarederror  | mae, rmse             | the value                      |
| binary classification     | binary:logistic   | logloss, auc          | P(class code 1) -> (rows, 2)   |
| multiclass classification | multi:softprob    | mlogloss              | (rows, K) probabilities        |

Early stopping watches the LAST evaluated metric on the validation channel (xgboost's rule), so each list ends with
the one the default tuning objective uses. The model is saved as `xgboost-model` (the built-in algorithm's file name)
in xgboost's JSON format, cut to its best round.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import numpy as np
import xgboost as xgb
from sm_runtime.training import integer, number, optional_integer

MODEL_FILE = "xgboost-model"
EVAL_METRICS: dict[str, tuple[str, ...]] = {
    "regression": ("mae", "rmse"),
    "binary_classification": ("logloss", "auc"),
    "multiclass_classification": ("mlogloss",),
}
METRIC_NAMES = {"mae": "mae", "rmse": "rmse", "logloss": "log_loss", "auc": "roc_auc", "mlogloss": "log_loss"}
"""xgboost's evaluation metric -> the name metrics.py prints it under (one set of names for every framework)."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The booster's hyperparameters, as the training toolkit renders them on the command line (contract §1)."""
    parser.add_argument("--num_round", type=integer, default=200, help="boosting rounds at most")
    parser.add_argument("--early_stopping_rounds", type=optional_integer, default=20, help="None: no early stop")
    parser.add_argument("--eta", type=number, default=0.1, help="learning rate")
    parser.add_argument("--max_depth", type=integer, default=4)
    parser.add_argument("--min_child_weight", type=number, default=1.0)
    parser.add_argument("--subsample", type=number, default=1.0)
    parser.add_argument("--colsample_bytree", type=number, default=1.0)
    parser.add_argument("--gamma", type=number, default=0.0, help="minimum loss reduction of a split")
    parser.add_argument("--reg_lambda", type=number, default=1.0, help="L2 regularisation of the leaf weights")
    parser.add_argument("--seed", type=integer, default=42)


def error_text(error: Exception, limit: int = 500) -> str:
    """An XGBoostError's message on one line, without its `[time] source.cu:83:` prefix and native stack trace."""
    text = " ".join(str(error).split("Stack trace:")[0].split())
    return re.sub(r"^\[[0-9:]+\] \S+:[0-9]+: ", "", text)[:limit]


def problem_of(n_classes: int | None) -> str:
    if n_classes is None:
        return "regression"
    return "binary_classification" if n_classes == 2 else "multiclass_classification"


def booster_params(args: argparse.Namespace, n_classes: int | None) -> dict[str, object]:
    """xgboost.train's params for the problem type (objective, num_class, eval_metric) and the hyperparameters."""
    problem = problem_of(n_classes)
    objective = {
        "regression": "reg:squarederror",
        "binary_classification": "binary:logistic",
        "multiclass_classification": "multi:softprob",
    }[problem]
    params: dict[str, object] = {
        "objective": objective,
        "eval_metric": list(EVAL_METRICS[problem]),
        "eta": args.eta,
        "max_depth": args.max_depth,
        "min_child_weight": args.min_child_weight,
        "subsample": args.subsample,
        "colsample_bytree": args.colsample_bytree,
        "gamma": args.gamma,
        "lambda": args.reg_lambda,
        "seed": args.seed,
        "nthread": 1,
        "verbosity": 1,
    }
    if problem == "multiclass_classification":
        params["num_class"] = n_classes
    return params


def probabilities(booster: xgb.Booster, features: np.ndarray, n_classes: int) -> np.ndarray:
    """(rows, n_classes) class probabilities; column i = class code i (binary: [1 - p, p])."""
    raw = booster.inplace_predict(np.ascontiguousarray(features, dtype=np.float32))
    if n_classes == 2:
        positive = np.asarray(raw, dtype=float).ravel()
        return np.column_stack([1.0 - positive, positive])
    return np.asarray(raw, dtype=float).reshape(len(features), n_classes)


def values(booster: xgb.Booster, features: np.ndarray) -> np.ndarray:
    """A regressor's predictions."""
    return np.asarray(booster.inplace_predict(np.ascontiguousarray(features, dtype=np.float32)), dtype=float).ravel()


def save(booster: xgb.Booster, directory: Path) -> Path:
    """`xgboost-model` in xgboost's JSON format (readable by any xgboost >= 1.0, no pickle)."""
    path = directory / MODEL_FILE
    path.write_bytes(bytes(booster.save_raw("json")))
    return path


def load(path: Path) -> xgb.Booster:
    """A booster saved by `save` (or by the built-in algorithm in xgboost's own formats)."""
    booster = xgb.Booster()
    booster.load_model(bytearray(path.read_bytes()))
    booster.set_param({"nthread": 1})
    return booster
