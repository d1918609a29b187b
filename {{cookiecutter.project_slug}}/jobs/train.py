"""Training job entry point (contract §1): a scikit-learn regressor or classifier on the preprocessed features.

The training toolkit runs `python train.py --algorithm random_forest --max_depth 10 ...` in /opt/ml/code with the
paths in SM_* variables (see sm_runtime.training). `--algorithm` picks the estimator (estimators.ALGORITHMS), whose own
hyperparameters follow; `--classes` (a JSON list of labels, set from data.classes of the config) makes it a classifier
of the class codes 0..K-1 that the processing job wrote, and is saved as classes.json beside model.joblib so that
serving answers labels. An optional `preprocessor` channel (the processing job's model.tar.gz) puts
preprocessor.joblib beside model.joblib, so that model_inference.py can serve raw rows without an inference pipeline.

Prints one metrics line per split (`train_mae=...; train_rmse=...; train_r2=...;`, or the classification metrics, see
metrics.py), saves model.joblib in SM_MODEL_DIR and metrics.json in SM_OUTPUT_DATA_DIR. On failure: the cause on the
first line of <SM_OUTPUT_DIR>/failure, exit 1.
"""

from __future__ import annotations

import argparse
import sys

import joblib
from estimators import ALGORITHMS
from metrics import score_model
from sm_runtime.archives import MODEL_FILE
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
    """`--algorithm` and `--classes`, then the chosen algorithm's hyperparameters; unknown ones are noted, not fatal."""
    parser = ArgumentParser(description="Train a scikit-learn regressor or classifier.")
    parser.add_argument("--algorithm", choices=sorted(ALGORITHMS), default="random_forest")
    chosen, _ = parser.parse_known_args(argv)
    ALGORITHMS[chosen.algorithm].add_arguments(parser, chosen.classes is not None)
    return parser.parse_hyperparameters(argv)


def train(args: argparse.Namespace) -> dict[str, dict[str, float]]:
    classes = args.classes
    n_classes = None if classes is None else len(classes)
    splits = read_splits(n_classes)
    print(describe_splits(splits), flush=True)
    model = ALGORITHMS[args.algorithm].build(args, n_classes is not None)
    print(f"estimator: {type(model).__name__}" + (f", classes {classes}" if classes else ""), flush=True)
    try:
        model.fit(*splits["train"])
    except ValueError as error:  # scikit-learn's answer to a hyperparameter out of range or unusable data
        raise TrainingError(f"cannot fit the model: {' '.join(str(error).split())}") from None
    results = {name: score_model(model, x, y, n_classes) for name, (x, y) in splits.items()}
    report_metrics(results)
    directory = model_dir()
    joblib.dump(model, directory / MODEL_FILE)
    save_beside_model(directory, classes)
    return results


def main(argv: list[str] | None = None) -> int:
    return run_job(lambda: train(parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
