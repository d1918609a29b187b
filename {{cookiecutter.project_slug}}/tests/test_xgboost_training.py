"""The XGBoost training script (jobs/train_xgboost.py), run as the framework container runs it: /opt/ml-like folder,
SM_* variables, CLI arguments; early stopping on the validation channel and metrics per round."""

from __future__ import annotations

import json
import re
from pathlib import Path

import boosters
import pytest
from conftest import CONFIG, REQUESTS, JobRun, hyperparameter_args, run_job, training_env

HYPERPARAMETERS = {
    **{key: json.loads(value) for key, value in REQUESTS.hyperparameters().items() if not key.startswith("sagemaker_")},
    "num_round": 400,
    "early_stopping_rounds": 5,
    "eta": 0.3,
}
"""The config's hyperparameters (and `classes` of a classifier) with a fast learning rate and a short patience."""
CLASSIFICATION = CONFIG.data.classes is not None
# the metric early stopping watches: the last of boosters.EVAL_METRICS, under its metrics.py name
WATCHED = boosters.METRIC_NAMES[boosters.EVAL_METRICS[CONFIG.data.problem_type][-1]]
HIGHER_IS_BETTER = WATCHED == "roc_auc"


def run_script(base: Path, processed: Path, hyperparameters: dict[str, object]):
    channels = {name: processed / name / f"{name}.csv" for name in ("train", "validation")}
    env = training_env(base, channels, hyperparameters)
    return run_job("train_xgboost.py", hyperparameter_args(hyperparameters), env, cwd=base)


@pytest.fixture(scope="module")
def xgboost_run(tmp_path_factory: pytest.TempPathFactory, processed: Path) -> JobRun:
    base = tmp_path_factory.mktemp("opt_ml_xgboost")
    return JobRun(base, run_script(base, processed, HYPERPARAMETERS))


def round_values(stdout: str) -> list[float]:
    """The watched validation metric of every `[round] ...` line."""
    return [float(value) for value in re.findall(rf"^\[\d+\] .*validation_{WATCHED}=([-0-9.e]+);", stdout, re.M)]


def test_metrics_per_round_then_final_metrics_that_the_regexes_read(xgboost_run: JobRun) -> None:
    result = xgboost_run.result
    assert result.returncode == 0, result.stderr
    per_round = round_values(result.stdout)
    assert 5 < len(per_round) < 400
    captured = {
        definition.name: [float(value) for value in re.findall(definition.regex, result.stdout + result.stderr)]
        for definition in CONFIG.training.metric_definitions
    }
    final = json.loads((xgboost_run.base / "output" / "data" / "metrics.json").read_text())
    for name, values in captured.items():
        split, metric = name.split(":")
        assert values, f"{name}: no line matched"
        # the last value (the tuning objective) is the final metric of the saved model
        assert values[-1] == pytest.approx(final[split][metric], abs=1e-6), name
    if WATCHED != "roc_auc":  # xgboost's own per-round figure agrees with metrics.py's at the best round
        best = max(per_round) if HIGHER_IS_BETTER else min(per_round)
        assert final["validation"][WATCHED] == pytest.approx(best, rel=1e-3, abs=1e-4)


def test_early_stopping_keeps_the_best_round_only(xgboost_run: JobRun) -> None:
    per_round = round_values(xgboost_run.result.stdout)
    best = per_round.index(max(per_round) if HIGHER_IS_BETTER else min(per_round))
    assert len(per_round) == best + 1 + HYPERPARAMETERS["early_stopping_rounds"]
    booster = boosters.load(xgboost_run.base / "model" / boosters.MODEL_FILE)
    assert booster.num_boosted_rounds() == best + 1
    assert f"early stop: best round {best}" in xgboost_run.result.stdout
    files = {path.name for path in (xgboost_run.base / "model").iterdir()}
    assert files == ({"xgboost-model", "classes.json"} if CLASSIFICATION else {"xgboost-model"})
    if CLASSIFICATION:
        assert json.loads((xgboost_run.base / "model" / "classes.json").read_text()) == CONFIG.data.classes


def test_objective_fits_the_problem_type(xgboost_run: JobRun) -> None:
    objective = {
        "regression": "reg:squarederror",
        "binary_classification": "binary:logistic",
        "multiclass_classification": "multi:softprob",
    }[CONFIG.data.problem_type]
    assert f"objective: {objective}" in xgboost_run.result.stdout
    config = json.loads(boosters.load(xgboost_run.base / "model" / boosters.MODEL_FILE).save_config())
    assert config["learner"]["objective"]["name"] == objective


@pytest.mark.parametrize(
    ("override", "reason"),
    [
        ({"eta": "fast"}, "TrainingError: bad hyperparameter: argument --eta: 'fast' is not a number"),
        ({"num_round": 0}, "TrainingError: bad hyperparameter: num_round must be 1 or more"),
        ({"max_depth": -2}, "TrainingError: cannot train the booster:"),
    ],
)
def test_bad_hyperparameters_write_the_failure_file(tmp_path: Path, processed: Path, override, reason) -> None:
    result = run_script(tmp_path, processed, {**HYPERPARAMETERS, **override})
    assert result.returncode == 1
    failure = (tmp_path / "output" / "failure").read_text()
    assert failure.startswith(reason), failure
    assert "Traceback" not in failure


def test_a_missing_validation_channel_is_a_clear_failure(tmp_path: Path, processed: Path) -> None:
    env = training_env(tmp_path, {"train": processed / "train" / "train.csv"}, HYPERPARAMETERS)
    result = run_job("train_xgboost.py", hyperparameter_args(HYPERPARAMETERS), env, cwd=tmp_path)
    assert result.returncode == 1
    assert (tmp_path / "output" / "failure").read_text().startswith("TrainingError: channel 'validation' is missing")
