"""The scikit-learn estimator of each algorithm, for regression and classification, with its hyperparameters.

| algorithm         | regression                  | classification (binary and multiclass) |
| ----------------- | --------------------------- | -------------------------------------- |
| random_forest     | RandomForestRegressor       | RandomForestClassifier                 |
| gradient_boosting | GradientBoostingRegressor   | GradientBoostingClassifier             |
| linear            | Ridge (`alpha`)             | LogisticRegression (`C`, `max_iter`)   |

Each algorithm declares its command-line hyperparameters (as the training toolkit renders them, contract §1) and
builds its estimator from the parsed values. Classifiers train on class codes 0..K-1 (metrics.class_probabilities gives
their (rows, K) probability matrix whatever classes the training split happened to contain).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass

from sklearn.base import BaseEstimator
from sklearn.ensemble import (
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import LogisticRegression, Ridge
from sm_runtime.training import NONE_TEXTS, count_or_fraction, integer, number, optional_integer


def max_features(text: str) -> int | float | str | None:
    """`sqrt`, `log2`, None, an int literal (a count) or a float (a fraction: `1.0` = all features)."""
    cleaned = text.strip()
    if cleaned.lower() in NONE_TEXTS:
        return None
    if cleaned in ("sqrt", "log2"):
        return cleaned
    try:
        return int(cleaned)
    except ValueError:
        return number(cleaned)


@dataclass(frozen=True)
class Algorithm:
    """How to read one algorithm's hyperparameters and build its estimator (regression or classification)."""

    add_arguments: Callable[[argparse.ArgumentParser, bool], None]
    build: Callable[[argparse.Namespace, bool], BaseEstimator]


def _forest_arguments(parser: argparse.ArgumentParser, classification: bool) -> None:
    parser.add_argument("--n_estimators", type=integer, default=100)
    parser.add_argument("--max_depth", type=optional_integer, default=None)
    parser.add_argument("--min_samples_leaf", type=count_or_fraction, default=1)
    parser.add_argument("--max_features", type=max_features, default=1.0)
    parser.add_argument("--random_state", type=optional_integer, default=42)


def _forest(args: argparse.Namespace, classification: bool) -> BaseEstimator:
    forest = RandomForestClassifier if classification else RandomForestRegressor
    return forest(
        n_estimators=args.n_estimators,
        max_depth=args.max_depth,
        min_samples_leaf=args.min_samples_leaf,
        max_features=args.max_features,
        random_state=args.random_state,
        n_jobs=1,
    )


def _boosting_arguments(parser: argparse.ArgumentParser, classification: bool) -> None:
    parser.add_argument("--n_estimators", type=integer, default=100)
    parser.add_argument("--learning_rate", type=number, default=0.1)
    parser.add_argument("--max_depth", type=optional_integer, default=3)
    parser.add_argument("--min_samples_leaf", type=count_or_fraction, default=1)
    parser.add_argument("--subsample", type=number, default=1.0)
    parser.add_argument("--random_state", type=optional_integer, default=42)


def _boosting(args: argparse.Namespace, classification: bool) -> BaseEstimator:
    boosting = GradientBoostingClassifier if classification else GradientBoostingRegressor
    return boosting(
        n_estimators=args.n_estimators,
        learning_rate=args.learning_rate,
        max_depth=args.max_depth,
        min_samples_leaf=args.min_samples_leaf,
        subsample=args.subsample,
        random_state=args.random_state,
    )


def _linear_arguments(parser: argparse.ArgumentParser, classification: bool) -> None:
    if classification:
        # a one-letter hyperparameter reaches the script as `-C` (contract §1)
        parser.add_argument("-C", "--C", dest="C", type=number, default=1.0, help="inverse regularisation strength")
        parser.add_argument("--max_iter", type=integer, default=1000)
    else:
        parser.add_argument("--alpha", type=number, default=1.0, help="L2 regularisation strength")


def _linear(args: argparse.Namespace, classification: bool) -> BaseEstimator:
    if classification:
        return LogisticRegression(C=args.C, max_iter=args.max_iter)
    return Ridge(alpha=args.alpha)


ALGORITHMS: dict[str, Algorithm] = {
    "random_forest": Algorithm(_forest_arguments, _forest),
    "gradient_boosting": Algorithm(_boosting_arguments, _boosting),
    "linear": Algorithm(_linear_arguments, _linear),
}
