"""Your own data, end to end (issue 12): bake a project, put another CSV in data/, let `data init` write the data
section, and run the whole local workflow (`run`) with no edit to any Python file; the deployed model's test metrics
(read from the batch transform's output, which joins every raw test row with its prediction) must be close to a
plain scikit-learn baseline (imputation, scaling, one-hot, a default random forest) fitted on the same training
split.

Close means: regression RMSE at most 15 % above the baseline's; classification accuracy at most 0.05 below it.
The data sets are generated (sklearn's make_regression / make_classification, nothing downloaded): 1,000 rows,
an ID column, 24 numeric columns (two with missing values), three string categorical columns (one with missing values)
that carry signal, a yes/no column, and a string target for the classifiers."""

from __future__ import annotations

import csv
import hashlib
import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.compose import ColumnTransformer
from sklearn.datasets import make_classification, make_regression
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.impute import SimpleImputer
from sklearn.metrics import accuracy_score, mean_squared_error
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

pytestmark = pytest.mark.generated

ROWS = 1000
NUMERIC = [f"x{index:02d}" for index in range(1, 25)]
CATEGORICAL = ["city", "segment", "channel"]
RMSE_TOLERANCE = 1.15
ACCURACY_TOLERANCE = 0.05


def own_data(problem_type: str) -> tuple[pd.DataFrame, str]:
    """A generated data set of the problem type, with its target column's name."""
    rng = np.random.default_rng(3)
    if problem_type == "regression":
        features, target = make_regression(ROWS, len(NUMERIC), n_informative=10, noise=10.0, random_state=0)
        hidden = rng.integers(0, 4, ROWS)
        target = target + 40.0 * hidden
    else:
        classes = 2 if problem_type == "binary_classification" else 3
        features, codes = make_classification(
            ROWS, len(NUMERIC), n_informative=8, n_classes=classes, class_sep=1.5, random_state=1
        )
        hidden = np.where(rng.random(ROWS) < 0.7, codes, rng.integers(0, classes, ROWS))
        target = np.array(["no", "yes"] if classes == 2 else ["low", "mid", "high"])[codes]
    frame = pd.DataFrame(features.round(4), columns=NUMERIC)
    frame.loc[rng.random(ROWS) < 0.05, "x01"] = np.nan
    frame.loc[rng.random(ROWS) < 0.05, "x02"] = np.nan
    frame.insert(0, "record_id", np.arange(100_000, 100_000 + ROWS))
    frame["city"] = np.array(["Lima", "Oslo", "Pune", "Rome"])[hidden]
    frame.loc[rng.random(ROWS) < 0.05, "city"] = ""
    frame["segment"] = rng.choice(["retail", "wholesale", "online"], ROWS)
    frame["channel"] = rng.choice(["web", "phone"], ROWS)
    frame["member"] = rng.choice(["yes", "no"], ROWS)
    frame["outcome"] = target
    return frame, "outcome"


def python_digests(project: Path) -> dict[str, str]:
    return {
        path.relative_to(project).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in project.rglob("*.py")
        if ".sagemaker-local" not in path.parts
    }


def command(project: Path, *arguments: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(str(project / folder) for folder in ("src", "jobs", "api"))}
    done = subprocess.run(
        [sys.executable, "-m", "sm_engine", *arguments],
        cwd=project,
        env={**env, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


def transform_output(project: Path) -> list[list[str]]:
    """The batch transform's rows: the raw test row (target first), then the prediction."""
    outputs = sorted((project / ".sagemaker-local").glob("s3/*/*/transform/*/*.out"))
    assert outputs, "the run wrote no batch transform output"
    with outputs[-1].open(newline="") as file:
        return [row for row in csv.reader(file) if row]


def baseline_score(project: Path, frame: pd.DataFrame, target: str, regression: bool) -> tuple[float, int]:
    """(test metric, test rows) of a plain scikit-learn model fitted on the run's own training split, which the
    project's preprocess.split draws again (same seed and fractions, stratified by class code for a classifier)."""
    spec = importlib.util.spec_from_file_location("own_data_preprocess", project / "jobs" / "preprocess.py")
    preprocess = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(project / "jobs"))
    try:
        spec.loader.exec_module(preprocess)
    finally:
        sys.path.remove(str(project / "jobs"))
    classes = yaml.safe_load((project / "config" / "project.yaml").read_text())["data"]["classes"]
    strata = None if regression else frame[target].map(classes.index)
    splits = preprocess.split(frame, 0.15, 0.15, 42, strata)
    encode = ColumnTransformer(
        [
            ("numeric", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), NUMERIC),
            ("categorical", OneHotEncoder(handle_unknown="ignore"), [*CATEGORICAL, "member"]),
        ]
    )
    forest = RandomForestRegressor if regression else RandomForestClassifier
    model = make_pipeline(encode, forest(random_state=0))
    columns = [*NUMERIC, *CATEGORICAL, "member"]
    train, test = (splits[name][columns].fillna({name: "" for name in CATEGORICAL}) for name in ("train", "test"))
    model.fit(train, splits["train"][target])
    truth, predicted = splits["test"][target], model.predict(test)
    score = mean_squared_error(truth, predicted) ** 0.5 if regression else accuracy_score(truth, predicted)
    return score, len(test)


@pytest.mark.parametrize("problem_type", ["regression", "binary_classification", "multiclass_classification"])
def test_a_generated_csv_runs_end_to_end_with_no_code_edit(
    problem_type: str, cookies: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = cookies.bake(extra_context={"problem_type": problem_type, "tuning_max_jobs": "4"})
    assert result.exit_code == 0, result.exception
    project = Path(result.project_path)
    frame, target = own_data(problem_type)
    frame.to_csv(project / "data" / "own.csv", index=False)
    before = python_digests(project)

    initialised = command(project, "data", "init", "data/own.csv", "--target", target)
    assert "record_id" in initialised.stdout  # reported as ignored: an ID
    command(project, "run")

    assert python_digests(project) == before
    rows = transform_output(project)
    assert len(rows) == round(ROWS * 0.15)
    regression = problem_type == "regression"
    truth = [row[0] for row in rows]
    predictions = [row[-1] for row in rows]
    baseline, test_rows = baseline_score(project, frame, target, regression)
    assert test_rows == len(rows)
    if regression:
        rmse = mean_squared_error(np.array(truth, dtype=float), np.array(predictions, dtype=float)) ** 0.5
        with capsys.disabled():
            print(f"\n{problem_type}: RMSE {rmse:.2f}, baseline {baseline:.2f}")
        assert rmse <= RMSE_TOLERANCE * baseline
    else:
        accuracy = accuracy_score(truth, predictions)
        with capsys.disabled():
            print(f"\n{problem_type}: accuracy {accuracy:.3f}, baseline {baseline:.3f}")
        assert accuracy >= baseline - ACCURACY_TOLERANCE
