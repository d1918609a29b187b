"""A classifier behind the model container (jobs/model_inference.py): labels as CSV, labels and probabilities as JSON;
and the transform's label metrics (src evaluation.py). Synthetic models, so every project checks both shapes."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import joblib
import model_inference
import numpy as np
import pytest
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.metrics import f1_score
from sm_engine.config import DataSection
from sm_engine.evaluation import transform_metrics
from sm_engine.summary import prediction_cell
from sm_runtime import serving_io

LABELS = ["low", "medium, but thirsty", 'high "eco"']  # labels that CSV has to quote


def invoke(model, body: bytes, accept: str) -> tuple[bytes, str]:
    return model_inference.transform_fn(model, body, "text/csv", accept)


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    generator = np.random.RandomState(0)
    features = generator.normal(size=(120, 3))
    return features, np.digitize(features[:, 0], [-0.4, 0.4])


@pytest.fixture(scope="module")
def classifier_dir(tmp_path_factory: pytest.TempPathFactory, data) -> Path:
    """What train.py saves for a classifier: model.joblib and classes.json."""
    directory = tmp_path_factory.mktemp("classifier")
    features, codes = data
    joblib.dump(RandomForestClassifier(n_estimators=8, random_state=0).fit(features, codes), directory / "model.joblib")
    (directory / "classes.json").write_text(json.dumps(LABELS))
    return directory


def test_a_classifier_answers_labels_as_csv_and_labels_with_probabilities_as_json(classifier_dir: Path, data) -> None:
    model = model_inference.model_fn(str(classifier_dir))
    assert model.classes == tuple(LABELS)
    features = data[0][:6]
    expected = [LABELS[code] for code in model.model.predict(features)]
    body, content_type = invoke(model, serving_io.encode_csv(features), "text/csv")
    assert content_type == "text/csv"
    assert [row[0] for row in csv.reader(io.StringIO(body.decode()))] == expected
    assert body.decode().count("\n") == 6  # one line per row, quoted where a label needs it
    body, content_type = invoke(model, serving_io.encode_csv(features), "application/json")
    answer = json.loads(body)
    assert content_type == "application/json"
    assert answer["predictions"] == expected
    assert answer["classes"] == LABELS
    np.testing.assert_allclose(answer["probabilities"], model.model.predict_proba(features))
    np.testing.assert_allclose(np.sum(answer["probabilities"], axis=1), 1)


def test_a_regressor_keeps_numbers_and_the_exact_forest_path(tmp_path: Path, data) -> None:
    features, codes = data
    forest = RandomForestRegressor(n_estimators=8, random_state=0).fit(features, codes * 1.5)
    joblib.dump(forest, tmp_path / "model.joblib")
    model = model_inference.model_fn(str(tmp_path))
    assert model.classes is None
    body, _ = invoke(model, serving_io.encode_csv(features[:4]), "application/json")
    assert json.loads(body) == {"predictions": forest.predict(features[:4]).tolist()}


def test_transform_metrics_of_labels_equal_sklearns() -> None:
    data = DataSection.model_validate(
        {
            "local_path": "data/x.csv",
            "problem_type": "multiclass_classification",
            "target": "mpg_class",
            "classes": ["low", "medium", "high"],
            "columns": {"a": "numeric"},
            "split": {"validation_fraction": 0.1, "test_fraction": 0.1},
        }
    )
    truth, predicted = ["low", "high", "medium", "high"], ["low", "medium", "medium", "high"]
    rows = [[label, "4", "97.0", prediction] for label, prediction in zip(truth, predicted, strict=True)]
    metrics = transform_metrics(data, rows)
    assert metrics == pytest.approx(
        {"accuracy": 0.75, "macro_f1": f1_score(truth, predicted, average="macro", labels=data.classes)}
    )
    binary = data.model_copy(update={"problem_type": "binary_classification", "classes": ["no", "yes"]})
    rows = [["yes", "1", "yes"], ["no", "1", "yes"], ["yes", "1", "no"], ["no", "1", "no"]]
    assert transform_metrics(binary, rows) == {"accuracy": 0.5, "precision": 0.5, "recall": 0.5, "f1": 0.5}
    regression = data.model_copy(update={"problem_type": "regression", "classes": None})
    assert transform_metrics(regression, [["18.0", "8", "17.0"], ["30", "4", "31"]])["mae"] == pytest.approx(1.0)


def test_summary_cells_show_numbers_rounded_and_labels_as_they_are() -> None:
    assert [prediction_cell(value) for value in (17.12345, "18.5", "yes")] == ["17.123", "18.500", "yes"]
