"""Training job entry point of the XGBoost framework container (contract §1): a gbtree booster, script mode.

The training toolkit runs `python train_xgboost.py --num_round 200 --eta 0.1 ...` in /opt/ml/code with the paths in SM_*
variables (see sm_runtime.training). The booster trains on the `train` channel with the `validation` channel as its eval
set and stops early when the validation metric has not improved for `--early_stopping_rounds` rounds; the model is cut
to its best round. `--classes` (a JSON list of labels, from data.classes of the config) makes it a classifier of the
class codes 0..K-1 that the processing job wrote (binary:logistic for two classes, multi:softprob for more), saved as
classes.json beside the model. An optional `preprocessor` channel puts preprocessor.joblib beside it, so that
xgboost_inference.py serves raw rows without an inference pipeline.

Prints one line per round, `[12] train_rmse=2.1; validation_rmse=2.9; ...` (boosters.EVAL_METRICS under the names of
metrics.py), then the final metrics of the best round per split in the format of metrics.py, which the
MetricDefinitions regexes read (the last value of a metric is the tuning objective). Saves `xgboost-model` in
SM_MODEL_DIR and metrics.json in SM_OUTPUT_DATA_DIR. On failure: the cause on the first line of
<SM_OUTPUT_DIR>/failure, exit 1.
"""

from __future__ import annotations

import argparse
import sys

import boosters
import numpy as np
import xgboost as xgb
from metrics import classification_metrics, regression_metrics
from sm_runtime.training import (
    ArgumentParser,
    TrainingError,
    describe_splits,
    model_dir,
    read_splits,
    report_metrics,
    run_job,
    save_beside_model,
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The booster's hyperparameters and `--classes`; unknown ones are noted, not fatal."""
    parser = ArgumentParser(description="Train an XGBoost gbtree regressor or classifier.")
    boosters.add_arguments(parser)
    args = parser.parse_hyperparameters(argv)
    if args.num_round < 1:
        raise TrainingError(f"bad hyperparameter: num_round must be 1 or more, not {args.num_round}")
    return args


class RoundPrinter(xgb.callback.TrainingCallback):
    """After each round: `[round] <split>_<metric>=<value>; ...` with the metric names of metrics.py."""

    def after_iteration(self, model: xgb.Booster, epoch: int, evals_log: dict) -> bool:
        fields = [
            f"{split}_{boosters.METRIC_NAMES.get(metric, metric)}={history[-1]:.6f};"
            for split, metrics in evals_log.items()
            for metric, history in metrics.items()
        ]
        print(f"[{epoch}] " + " ".join(fields), flush=True)
        return False


def score(booster: xgb.Booster, features: np.ndarray, target: np.ndarray, n_classes: int | None) -> dict:
    """The problem type's metrics (metrics.py) of the booster on one split."""
    if n_classes is None:
        return regression_metrics(target, boosters.values(booster, features))
    return classification_metrics(target, boosters.probabilities(booster, features, n_classes))


def fit(args: argparse.Namespace, splits: dict, n_classes: int | None) -> xgb.Booster:
    """xgboost.train with the validation split as eval set and early stopping; the booster cut to its best round."""
    matrices = {name: xgb.DMatrix(x, label=y) for name, (x, y) in splits.items()}
    try:
        booster = xgb.train(
            boosters.booster_params(args, n_classes),
            matrices["train"],
            num_boost_round=args.num_round,
            evals=[(matrices["train"], "train"), (matrices["validation"], "validation")],
            early_stopping_rounds=args.early_stopping_rounds,
            callbacks=[RoundPrinter()],
            verbose_eval=False,
        )
    except xgb.core.XGBoostError as error:  # xgboost's answer to a hyperparameter out of range
        raise TrainingError(f"cannot train the booster: {boosters.error_text(error)}") from None
    rounds = booster.num_boosted_rounds()
    if args.early_stopping_rounds and rounds > booster.best_iteration + 1:
        print(f"early stop: best round {booster.best_iteration} of {rounds}", flush=True)
        booster = booster[: booster.best_iteration + 1]
    return booster


def train(args: argparse.Namespace) -> dict[str, dict[str, float]]:
    classes = args.classes
    n_classes = None if classes is None else len(classes)
    splits = read_splits(n_classes)
    print(describe_splits(splits), flush=True)
    print(f"objective: {boosters.booster_params(args, n_classes)['objective']}", flush=True)
    booster = fit(args, splits, n_classes)
    results = {name: score(booster, x, y, n_classes) for name, (x, y) in splits.items()}
    report_metrics(results)
    directory = model_dir()
    boosters.save(booster, directory)
    save_beside_model(directory, classes)
    return results


def main(argv: list[str] | None = None) -> int:
    return run_job(lambda: train(parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
