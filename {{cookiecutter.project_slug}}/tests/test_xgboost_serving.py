"""The XGBoost model container in script mode (jobs/xgboost_inference.py): the payload contract of model_inference.py,
and the requests that train and serve it (the sagemaker-xgboost framework image, botocore-valid)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import boosters
import numpy as np
import pytest
import xgboost_inference
from conftest import CONFIG, REQUESTS
from sm_engine.local import validation
from sm_runtime.serving_io import PayloadError
from test_xgboost_training import HYPERPARAMETERS, run_script

CLASSES = CONFIG.data.classes


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory, processed: Path) -> Path:
    base = tmp_path_factory.mktemp("opt_ml_serving")
    result = run_script(base, processed, HYPERPARAMETERS)
    assert result.returncode == 0, result.stderr
    return base / "model"


@pytest.fixture(scope="module")
def features(processed: Path) -> np.ndarray:
    return np.loadtxt(processed / "test" / "test.csv", delimiter=",", ndmin=2)[:5, 1:]


def invoke(model, body: str, content_type: str, accept: str) -> tuple[bytes, str]:
    return xgboost_inference.transform_fn(model, body, content_type, accept)


def test_answers_the_boosters_predictions_as_csv_and_json(model_dir: Path, features: np.ndarray) -> None:
    model = xgboost_inference.model_fn(str(model_dir))
    body = "\n".join(",".join(repr(float(value)) for value in row) for row in features)
    csv_body, csv_type = invoke(model, body, "text/csv", "text/csv")
    json_body, json_type = invoke(model, json.dumps({"instances": features.tolist()}), "application/json", "*/*")
    assert (csv_type, json_type) == ("text/csv", "application/json")
    answer = json.loads(json_body)
    booster = boosters.load(model_dir / boosters.MODEL_FILE)
    if CLASSES is None:
        expected = boosters.values(booster, features)
        assert [float(line) for line in csv_body.decode().splitlines()] == pytest.approx(expected.tolist())
        assert answer["predictions"] == pytest.approx(expected.tolist())
        return
    probabilities = boosters.probabilities(booster, features, len(CLASSES))
    labels = [CLASSES[code] for code in probabilities.argmax(axis=1)]
    assert csv_body.decode().splitlines() == labels
    assert answer["predictions"] == labels and answer["classes"] == CLASSES
    assert np.allclose(answer["probabilities"], probabilities) and np.allclose(probabilities.sum(axis=1), 1)


def test_bad_payloads_get_their_http_status(model_dir: Path) -> None:
    model = xgboost_inference.model_fn(str(model_dir))
    width = model.booster.num_features()
    for body, content_type, status in [
        ("1,2", "text/csv", 400),
        (",".join(["x"] * width), "text/csv", 400),
        (",".join(["1"] * width), "text/plain", 415),
    ]:
        with pytest.raises(PayloadError) as raised:
            invoke(model, body, content_type, "text/csv")
        assert raised.value.status == status
    with pytest.raises(PayloadError) as raised:
        invoke(model, ",".join(["1"] * width), "text/csv", "image/png")
    assert raised.value.status == 406


def test_with_the_preprocessor_it_serves_raw_rows(
    tmp_path: Path, model_dir: Path, preprocessor_dir: Path, processed: Path
) -> None:
    shutil.copytree(model_dir, tmp_path / "model")
    shutil.copy(preprocessor_dir / "preprocessor.joblib", tmp_path / "model")
    model = xgboost_inference.model_fn(str(tmp_path / "model"))
    raw = (processed / "test_raw" / "test_raw.csv").read_text().splitlines()[:3]
    rows = "\n".join(line.split(",", 1)[1] for line in raw)  # without the target
    body, _ = invoke(model, rows, "text/csv", "application/json")
    assert len(json.loads(body)["predictions"]) == 3


def test_training_and_model_requests_use_the_xgboost_framework_image() -> None:
    request = REQUESTS.training_job("xgboost-request")
    validation.validate("CreateTrainingJob", request)
    assert request["AlgorithmSpecification"]["TrainingImage"].endswith("/sagemaker-xgboost:3.2-0")
    assert json.loads(request["HyperParameters"]["sagemaker_program"]) == "train_xgboost.py"
    assert request["AlgorithmSpecification"]["MetricDefinitions"]
    model = REQUESTS.model("xgboost-model", "s3://b/model.tar.gz", "s3://b/preprocessor/model.tar.gz")
    validation.validate("CreateModel", model)
    container = model["Containers"][-1] if CONFIG.model.inference_pipeline else model["PrimaryContainer"]
    assert container["Image"].endswith("/sagemaker-xgboost:3.2-0")
    assert container["Environment"]["SAGEMAKER_PROGRAM"] == "xgboost_inference.py"
