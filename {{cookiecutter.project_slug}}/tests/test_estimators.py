"""Every algorithm for every problem type (jobs/estimators.py, jobs/train.py) and the metrics of each (jobs/metrics.py),
on small synthetic data: whatever this project's own config chose, the other combinations keep working."""

from __future__ import annotations

import json
import math
from pathlib import Path

import evaluate
import joblib
import numpy as np
import pytest
from estimators import ALGORITHMS
from metrics import (
    METRIC_NAMES,
    class_probabilities,
    classification_metrics,
    problem_type,
    score_model,
)
from sklearn.ensemble import (
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import accuracy_score, f1_score, log_loss, precision_score, recall_score, roc_auc_score
from sm_engine.sagemaker_requests import encode_hyperparameters
from sm_runtime.training import format_metrics
from train import main, parse_args

ESTIMATORS = {
    ("random_forest", False): RandomForestRegressor,
    ("random_forest", True): RandomForestClassifier,
    ("gradient_boosting", False): GradientBoostingRegressor,
    ("gradient_boosting", True): GradientBoostingClassifier,
    ("linear", False): Ridge,
    ("linear", True): LogisticRegression,
}
SMALL = {
    "random_forest": ["--n_estimators", "7", "--max_depth", "4", "--max_features", "0.8", "--min_samples_leaf", "2"],
    "gradient_boosting": ["--n_estimators", "7", "--learning_rate", "0.2", "--max_depth", "2", "--subsample", "0.9"],
    "linear": ["--alpha", "0.5", "-C", "2.0", "--max_iter", "500"],
}
CLASSES = {None: None, 2: ["no", "yes"], 3: ["low", "medium", "high"]}


def synthetic(n_classes: int | None, rows: int = 90, seed: int = 0) -> np.ndarray:
    """Target first, then 4 features; the target is a value (regression) or a class code 0..n_classes-1."""
    generator = np.random.RandomState(seed)
    features = generator.normal(size=(rows, 4))
    signal = features @ np.array([1.5, -1.0, 0.5, 0.0]) + 0.3 * generator.normal(size=rows)
    if n_classes is None:
        return np.column_stack([signal, features])
    codes = np.digitize(signal, np.quantile(signal, np.linspace(0, 1, n_classes + 1)[1:-1]))
    return np.column_stack([codes, features])


def stage_channels(base: Path, n_classes: int | None, monkeypatch: pytest.MonkeyPatch) -> None:
    """train/ and validation/ channels of synthetic data and the SM_* paths of a training container under `base`."""
    for name, seed in (("train", 0), ("validation", 1)):
        directory = base / "input" / "data" / name
        directory.mkdir(parents=True)
        np.savetxt(directory / f"{name}.csv", synthetic(n_classes, seed=seed), delimiter=",")
        monkeypatch.setenv(f"SM_CHANNEL_{name.upper()}", str(directory))
    monkeypatch.setenv("SM_MODEL_DIR", str(base / "model"))
    monkeypatch.setenv("SM_OUTPUT_DIR", str(base / "output"))
    monkeypatch.setenv("SM_OUTPUT_DATA_DIR", str(base / "output" / "data"))


def classes_argument(n_classes: int | None) -> list[str]:
    """`--classes` as the toolkit passes it: str() of the decoded hyperparameter, i.e. the JSON text."""
    if n_classes is None:
        return []
    encoded = encode_hyperparameters({"classes": json.dumps(CLASSES[n_classes])})["classes"]
    return ["--classes", str(json.loads(encoded))]


@pytest.mark.parametrize("algorithm", sorted(ALGORITHMS))
@pytest.mark.parametrize("n_classes", [None, 2, 3], ids=["regression", "binary", "multiclass"])
def test_every_algorithm_trains_for_every_problem_type(
    algorithm: str, n_classes: int | None, tmp_path: Path, monkeypatch, capsys
) -> None:
    stage_channels(tmp_path, n_classes, monkeypatch)
    assert main(["--algorithm", algorithm, *SMALL[algorithm], *classes_argument(n_classes)]) == 0
    out = capsys.readouterr().out
    model = joblib.load(tmp_path / "model" / "model.joblib")
    assert type(model) is ESTIMATORS[(algorithm, n_classes is not None)]
    names = METRIC_NAMES[problem_type(n_classes)]
    for split in ("train", "validation"):
        assert f"{split}_{names[0]}=" in out and f"{split}_{names[-1]}=" in out
    metrics = json.loads((tmp_path / "output" / "data" / "metrics.json").read_text())
    assert list(metrics["validation"]) == list(names)
    classes_file = tmp_path / "model" / "classes.json"
    if n_classes is None:
        assert not classes_file.exists()
        assert metrics["validation"]["r2"] > 0.5
    else:
        assert json.loads(classes_file.read_text()) == CLASSES[n_classes]
        assert metrics["validation"]["accuracy"] > 0.6


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (
            ["--algorithm", "gradient_boosting", "--learning_rate", "0.05", "--max_depth", "None"],
            {"learning_rate": 0.05},
        ),
        (["--algorithm", "linear", "--alpha", "3"], {"alpha": 3.0}),
        (["--algorithm", "linear", "-C", "0.5", "--classes", '["a", "b"]'], {"C": 0.5}),
    ],
)
def test_each_algorithm_reads_its_own_hyperparameters(argv: list[str], expected: dict[str, float]) -> None:
    args = parse_args(argv)
    model = ALGORITHMS[args.algorithm].build(args, args.classes is not None)
    assert {key: model.get_params()[key] for key in expected} == expected


def test_an_unknown_algorithm_or_bad_classes_fail_cleanly(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("SM_OUTPUT_DIR", str(tmp_path))
    assert main(["--algorithm", "lasagna"]) == 1
    assert (
        "TrainingError: bad hyperparameter: argument --algorithm: invalid choice: 'lasagna'"
        in (tmp_path / "failure").read_text()
    )
    assert main(["--classes", '["only"]']) == 1
    assert "is not a JSON list of at least two labels" in (tmp_path / "failure").read_text()


def test_a_target_that_is_not_a_class_code_fails_cleanly(tmp_path: Path, monkeypatch) -> None:
    stage_channels(tmp_path, None, monkeypatch)  # regression values where a classifier expects codes
    assert main(["--algorithm", "linear", "--classes", '["a", "b"]']) == 1
    failure = (tmp_path / "output" / "failure").read_text()
    assert failure.startswith("TrainingError: channel 'train': target") and "is not a class code 0..1" in failure


# -- metrics -------------------------------------------------------------------------------------------------------


def test_binary_metrics_equal_sklearns() -> None:
    truth = [0, 1, 1, 0, 1, 0]
    positive = np.array([0.2, 0.9, 0.4, 0.6, 0.8, 0.1])
    probabilities = np.column_stack([1 - positive, positive])
    predicted = (positive > 0.5).astype(int)
    assert classification_metrics(truth, probabilities) == pytest.approx(
        {
            "accuracy": accuracy_score(truth, predicted),
            "precision": precision_score(truth, predicted),
            "recall": recall_score(truth, predicted),
            "f1": f1_score(truth, predicted),
            "roc_auc": roc_auc_score(truth, positive),
            "log_loss": log_loss(truth, probabilities),
        }
    )
    assert classification_metrics(truth, probabilities)["accuracy"] == pytest.approx(4 / 6)


def test_multiclass_metrics_equal_sklearns_and_cover_an_absent_class() -> None:
    truth = [0, 1, 1, 0]  # class 2 never occurs
    probabilities = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6], [0.2, 0.7, 0.1], [0.5, 0.4, 0.1]])
    predicted = probabilities.argmax(axis=1)
    metrics = classification_metrics(truth, probabilities)
    assert list(metrics) == list(METRIC_NAMES["multiclass_classification"])
    assert metrics["accuracy"] == pytest.approx(0.75)
    assert metrics["macro_f1"] == pytest.approx(f1_score(truth, predicted, average="macro", labels=[0, 1, 2]))
    assert metrics["log_loss"] == pytest.approx(log_loss(truth, probabilities, labels=[0, 1, 2]))


def test_roc_auc_of_one_class_is_not_printed() -> None:
    metrics = classification_metrics([1, 1], np.array([[0.3, 0.7], [0.4, 0.6]]))
    assert math.isnan(metrics["roc_auc"])
    assert "validation_roc_auc=nan;" in format_metrics("validation", metrics)


def test_probabilities_have_a_column_for_every_class_even_unseen_ones() -> None:
    data = synthetic(2)
    model = LogisticRegression().fit(data[:, 1:], data[:, 0].astype(int) * 2)  # codes 0 and 2 only
    probabilities = class_probabilities(model, data[:5, 1:], 3)
    assert probabilities.shape == (5, 3)
    np.testing.assert_array_equal(probabilities[:, 1], 0)
    np.testing.assert_allclose(probabilities[:, [0, 2]], model.predict_proba(data[:5, 1:]))
    assert score_model(model, data[:, 1:], data[:, 0] * 2, 3)["accuracy"] > 0.6


def test_evaluate_reports_a_classifier_under_its_problem_type(tmp_path: Path) -> None:
    data = synthetic(3)
    model_dir = tmp_path / "processing" / "input" / "model"
    test_dir = tmp_path / "processing" / "input" / "test"
    model_dir.mkdir(parents=True)
    test_dir.mkdir(parents=True)
    joblib.dump(
        RandomForestClassifier(n_estimators=5, random_state=0).fit(data[:, 1:], data[:, 0]), model_dir / "model.joblib"
    )
    (model_dir / "classes.json").write_text(json.dumps(CLASSES[3]))
    np.savetxt(test_dir / "test.csv", synthetic(3, seed=2), delimiter=",")
    metrics = evaluate.run(tmp_path)
    report = json.loads((tmp_path / "processing" / "evaluation" / "evaluation.json").read_text())
    assert list(report) == ["multiclass_classification_metrics"]
    assert report["multiclass_classification_metrics"]["macro_f1"]["value"] == pytest.approx(metrics["macro_f1"])
    np.savetxt(test_dir / "test.csv", np.column_stack([np.full(3, 7.0), data[:3, 1:]]), delimiter=",")
    with pytest.raises(evaluate.EvaluationError, match=r"class codes 0\.\.2"):
        evaluate.run(tmp_path)
