"""jobs/evaluate.py as the pipeline's evaluation step runs it: model.tar.gz and test split in, evaluation.json out."""

from __future__ import annotations

import json
import os
import shutil
import tarfile
from collections.abc import Callable
from pathlib import Path

import joblib
import numpy as np
import pytest
from metrics import class_probabilities, classification_metrics, problem_type, regression_metrics
from sm_runtime.training import format_metrics


def stage(base: Path, model_dir: Path, processed: Path) -> None:
    """/opt/ml/processing/input/{model,test} of the evaluation job, under `base`."""
    model_input = base / "processing" / "input" / "model"
    model_input.mkdir(parents=True)
    with tarfile.open(model_input / "model.tar.gz", "w:gz") as tar:
        for artefact in model_dir.iterdir():  # model.joblib, and classes.json of a classifier
            tar.add(artefact, arcname=artefact.name)
    shutil.copytree(processed / "test", base / "processing" / "input" / "test")


def evaluation_env(base: Path, config) -> dict[str, str]:
    """The evaluation job's variables: an own image's job (training.mode container) finds jobs/ and src/ on its
    PYTHONPATH, as container/Dockerfile sets it (the model is the additive_model package's)."""
    env = {"SAGEMAKER_BASE_DIR": str(base)}
    if config.training.mode == "container":
        project = Path(__file__).resolve().parents[1]
        env["PYTHONPATH"] = os.pathsep.join(str(project / folder) for folder in ("jobs", "src"))
    return env


def test_writes_the_model_quality_report(
    tmp_path: Path, trained_model_dir: Path, processed: Path, job_runner: Callable, config
) -> None:
    stage(tmp_path, trained_model_dir, processed)
    result = job_runner("evaluate.py", [], evaluation_env(tmp_path, config), tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "processing" / "evaluation" / "evaluation.json").read_text())

    matrix = np.loadtxt(processed / "test" / "test.csv", delimiter=",", ndmin=2)
    classes = config.data.classes
    if (trained_model_dir / "model.json").is_file():  # the pytorch MLP
        import mlp

        predictions = mlp.predict(*mlp.load(trained_model_dir), matrix[:, 1:])
    elif (trained_model_dir / "xgboost-model").is_file():  # the XGBoost booster of train_xgboost.py
        import boosters

        booster = boosters.load(trained_model_dir / "xgboost-model")
        features = matrix[:, 1:]
        if classes is None:
            predictions = boosters.values(booster, features)
        else:
            predictions = boosters.probabilities(booster, features, len(classes))
    elif classes is None:
        predictions = joblib.load(trained_model_dir / "model.joblib").predict(matrix[:, 1:])
    else:
        predictions = class_probabilities(joblib.load(trained_model_dir / "model.joblib"), matrix[:, 1:], len(classes))
    if classes is None:
        expected = regression_metrics(matrix[:, 0], predictions)
    else:
        expected = classification_metrics(matrix[:, 0], predictions)
    section = f"{problem_type(None if classes is None else len(classes))}_metrics"
    assert section == f"{config.data.problem_type}_metrics"
    assert set(report) == {section}
    assert list(report[section]) == list(expected)
    for name, value in expected.items():
        assert report[section][name]["value"] == pytest.approx(value)
    assert format_metrics("test", expected) in result.stdout


def test_missing_model_is_a_clean_error(tmp_path: Path, processed: Path, job_runner: Callable, config) -> None:
    shutil.copytree(processed / "test", tmp_path / "processing" / "input" / "test")
    (tmp_path / "processing" / "input" / "model").mkdir(parents=True)
    result = job_runner("evaluate.py", [], evaluation_env(tmp_path, config), tmp_path)
    assert result.returncode == 1
    assert "evaluate.py: error: no model.joblib in " in result.stderr
    assert "Traceback" not in result.stderr


def test_non_numeric_test_split_is_a_clean_error(
    tmp_path: Path, trained_model_dir: Path, job_runner: Callable, config
) -> None:
    stage_dir = tmp_path / "processing" / "input"
    (stage_dir / "test").mkdir(parents=True)
    (stage_dir / "test" / "test.csv").write_text("18.0,a,b\n")
    shutil.copytree(trained_model_dir, stage_dir / "model")
    result = job_runner("evaluate.py", [], evaluation_env(tmp_path, config), tmp_path)
    assert result.returncode == 1
    assert "not a numeric CSV" in result.stderr
    assert "Traceback" not in result.stderr
