"""Facts about the SageMaker built-in XGBoost algorithm (the `sagemaker-xgboost` image run without a training script).

In algorithm mode the container reads its hyperparameters as plain strings, trains on label-first headerless CSV
channels, and logs one line per boosting round, `[12]#011train-rmse:2.1#011validation-rmse:2.9` as CloudWatch shows
the tabs. The service captures its predefined metrics (`validation:rmse`, `validation:auc`, ...) from those lines
with the regexes below (the algorithm's metric definitions, cf. aws/sagemaker-xgboost-container
`algorithm_mode/metrics.py`); a CreateTrainingJob request of the algorithm carries no MetricDefinitions of its own.
The local executor's stand-in (local/emulators/xgboost_algorithm.py) prints the same lines and applies the same
definitions; its serving stand-in is local/emulators/xgboost_serving.py.
"""

from __future__ import annotations

EVAL_METRICS = ("rmse", "mae", "logloss", "error", "auc", "aucpr", "mlogloss", "merror")
"""The evaluation metrics the emulation supports (xgboost's own; the real container adds a few of its own)."""

# The algorithm's hyperparameters by the type it reads them as (its hyperparameter validation).
INTEGER = ("num_round", "max_depth", "num_class", "early_stopping_rounds", "seed", "max_bin", "num_parallel_tree")
INTEGER += ("max_leaves", "verbosity", "nthread")
FLOAT = ("eta", "gamma", "min_child_weight", "max_delta_step", "subsample", "colsample_bytree", "colsample_bylevel")
FLOAT += ("colsample_bynode", "lambda", "alpha", "scale_pos_weight", "base_score", "tweedie_variance_power")
FLOAT += ("sketch_eps", "rate_drop", "skip_drop", "lambda_bias")
TEXT = ("objective", "eval_metric", "booster", "tree_method", "grow_policy", "sampling_method", "process_type")
TEXT += ("normalize_type", "sample_type", "updater", "dsplit", "prob_buffer_row", "_tuning_objective_metric")
TEXT += ("save_model_on_termination", "interaction_constraints", "monotone_constraints", "one_drop")
HYPERPARAMETERS = frozenset(INTEGER + FLOAT + TEXT)

NUMBER = r"([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)"


def metric_regex(split: str, metric: str) -> str:
    """The predefined regex of `<split>:<metric>`: `.*\\[[0-9]+\\].*#011validation-rmse:<number>.*` (the number
    pattern stops at the next `#011`, so every metric of a round's line is read, not only the last)."""
    return rf".*\[[0-9]+\].*#011{split}-{metric}:{NUMBER}.*"


def metric_definitions() -> list[dict[str, str]]:
    """The algorithm's predefined metrics: `train:<metric>` and `validation:<metric>` for each evaluation metric."""
    return [
        {"Name": f"{split}:{metric}", "Regex": metric_regex(split, metric)}
        for split in ("train", "validation")
        for metric in EVAL_METRICS
    ]


METRIC_NAMES = tuple(definition["Name"] for definition in metric_definitions())
